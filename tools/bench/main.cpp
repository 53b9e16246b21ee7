// icegate-bench: the end-to-end benchmarks (bench_cli.hpp), an executable of
// its own so that the production `icegate` links only what it uses; the
// broker client libraries the peer targets need live here alone.
#include <CLI/CLI.hpp>

#include "tools/bench/bench_cli.hpp"
#include "tools/icegate/commands.hpp"
#include "tools/icegate/entry.hpp"

int main(int argc, char** argv) {
  CLI::App app{"icegate-bench - end-to-end benchmarks W0..W5 over mutual TLS on loopback: icegate, the raw relay, "
               "Mosquitto, NATS"};
  // The same log escaping, error wording and exit codes as `icegate`.
  icegate::cli::prepare(app, std::string("icegate-bench ") + ICEGATE_VERSION);
  int exit_code = icegate::cli::exit_ok;
  icegate::cli::add_bench_options(app, exit_code);
  return icegate::cli::run(app, argc, argv, exit_code);
}

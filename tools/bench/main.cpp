// icegate-bench: the end-to-end benchmarks (bench_cli.hpp), an executable of
// its own so that the production `icegate` links only what it uses; the
// broker client libraries the peer targets need live here alone.
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <spdlog/spdlog.h>

#include "gateway/server/logging.hpp"
#include "tools/bench/bench_cli.hpp"
#include "tools/icegate/commands.hpp"

int main(int argc, char** argv) {
  // The relay's log escapes what peers wrote, as every icegate log does.
  spdlog::set_formatter(icegate::server::safe_log_formatter("[%Y-%m-%d %H:%M:%S.%e] [%l] %v"));
  CLI::App app{"icegate-bench - end-to-end benchmarks W0..W5 over mutual TLS on loopback: icegate, the raw relay, "
               "Mosquitto, NATS"};
  app.set_version_flag("--version", std::string("icegate-bench ") + ICEGATE_VERSION);
  app.failure_message([](const CLI::App*, const CLI::Error& error) {
    return fmt::format("error: {}\nRun with --help for more information.\n", error.what());
  });
  int exit_code = icegate::cli::exit_ok;
  icegate::cli::add_bench_options(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // As in `icegate`: --help and --version exit 0, every argument error 1.
    return app.exit(error) == 0 ? icegate::cli::exit_ok : icegate::cli::exit_error;
  } catch (const std::exception& error) {
    fmt::print(std::cerr, "error: {}\n", error.what());
    return icegate::cli::exit_error;
  }
  return exit_code;
}

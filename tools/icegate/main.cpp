// icegate: one executable, many subcommands; each is a thin layer in its own file.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "gateway/server/logging.hpp"
#include "tools/icegate/commands.hpp"

int main(int argc, char** argv) {
  // Every subcommand's log escapes what peers wrote (`serve` sets its own pattern).
  spdlog::set_formatter(icegate::server::safe_log_formatter("[%Y-%m-%d %H:%M:%S.%e] [%l] %v"));
  CLI::App app{"icegate - an information-sharing gateway simulator for the iceberg model"};
  app.set_version_flag("--version", std::string("icegate ") + ICEGATE_VERSION);
  app.require_subcommand(1);
  int exit_code = icegate::cli::exit_ok;
  icegate::cli::add_pki_command(app, exit_code);
  icegate::cli::add_audit_command(app, exit_code);
  icegate::cli::add_serve_command(app, exit_code);
  icegate::cli::add_node_command(app, exit_code);
  icegate::cli::add_exercise_command(app, exit_code);
  icegate::cli::add_policy_command(app, exit_code);
  icegate::cli::add_label_command(app, exit_code);
  icegate::cli::add_bench_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  return exit_code;
}

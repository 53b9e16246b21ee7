// icegate: one executable, many subcommands; each is a thin layer in its own file.
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <spdlog/spdlog.h>

#include "gateway/server/logging.hpp"
#include "tools/icegate/commands.hpp"

int main(int argc, char** argv) {
  // Every subcommand's log escapes what peers wrote (`serve` sets its own pattern).
  spdlog::set_formatter(icegate::server::safe_log_formatter("[%Y-%m-%d %H:%M:%S.%e] [%l] %v"));
  CLI::App app{"icegate - an information-sharing gateway simulator for the iceberg model"};
  app.set_version_flag("--version", std::string("icegate ") + ICEGATE_VERSION);
  app.require_subcommand(1);
  // Argument errors read like every other icegate error.
  app.failure_message([](const CLI::App*, const CLI::Error& error) {
    return fmt::format("error: {}\nRun with --help for more information.\n", error.what());
  });
  int exit_code = icegate::cli::exit_ok;
  icegate::cli::add_pki_command(app, exit_code);
  icegate::cli::add_audit_command(app, exit_code);
  icegate::cli::add_serve_command(app, exit_code);
  icegate::cli::add_node_command(app, exit_code);
  icegate::cli::add_exercise_command(app, exit_code);
  icegate::cli::add_policy_command(app, exit_code);
  icegate::cli::add_label_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // CLI11 gives each kind of argument error an exit code of its own (105 a
    // failed check, 106 a missing argument, 109 an unknown option, ...), and
    // --help and --version arrive here too, with 0. The documented codes are
    // 0 and 1: app.exit prints the help, version or message, and its code is
    // only used to tell the two apart.
    return app.exit(error) == 0 ? icegate::cli::exit_ok : icegate::cli::exit_error;
  } catch (const std::exception& error) {
    // A subcommand's run_* reports its own failures; this is the last resort,
    // so that nothing ends in std::terminate.
    fmt::print(std::cerr, "error: {}\n", error.what());
    return icegate::cli::exit_error;
  }
  return exit_code;
}

#include "tools/icegate/entry.hpp"

#include <exception>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <spdlog/spdlog.h>

#include "gateway/server/logging.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {

void prepare(CLI::App& app, const std::string& version_text) {
  // Every subcommand's log escapes what peers wrote (`serve` sets its own pattern).
  spdlog::set_formatter(server::safe_log_formatter("[%Y-%m-%d %H:%M:%S.%e] [%l] %v"));
  app.set_version_flag("--version", version_text);
  // Argument errors read like every other icegate error.
  app.failure_message([](const CLI::App*, const CLI::Error& error) {
    return fmt::format("error: {}\nRun with --help for more information.\n", error.what());
  });
}

int run(CLI::App& app, int argc, char** argv, const int& exit_code) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // CLI11 gives each kind of argument error an exit code of its own (105 a
    // failed check, 106 a missing argument, 109 an unknown option, ...), and
    // --help and --version arrive here too, with 0. The documented codes are
    // 0 and 1: app.exit prints the help, version or message, and its code is
    // only used to tell the two apart.
    return app.exit(error) == 0 ? exit_ok : exit_error;
  } catch (const std::exception& error) {
    // A subcommand's run_* reports its own failures; this is the last resort,
    // so that nothing ends in std::terminate.
    fmt::print(std::cerr, "error: {}\n", error.what());
    return exit_error;
  }
  return exit_code;
}

}  // namespace icegate::cli

// What every icegate executable does around its CLI11 app: logs that escape
// what peers wrote, argument errors worded like every other icegate error,
// and the documented exit codes (0 for --help and --version, 1 for any
// argument error, whatever code CLI11 gives it).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace icegate::cli {

// Sets the log formatter, the version flag and the failure message.
void prepare(CLI::App& app, const std::string& version_text);

// Parses and runs; returns the exit code to end the process with.
// `exit_code` is what the chosen subcommand set.
int run(CLI::App& app, int argc, char** argv, const int& exit_code);

}  // namespace icegate::cli

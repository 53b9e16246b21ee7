// The `icegate` subcommands. Each lives in its own cmd_*.cpp and follows one
// pattern: a params struct, a run_* core function that writes to injected
// streams and returns an exit code (tests call it directly), and an add_*
// function that declares the CLI11 options and calls run_* from its callback.
#pragma once

#include <CLI/CLI.hpp>

namespace icegate::cli {

// Documented exit codes, shared by every subcommand.
enum ExitCode : int {
  exit_ok = 0,
  exit_error = 1,           // bad arguments, I/O, a peer refused us
  exit_denied = 2,          // a denial, or a test/expectation failure
  exit_invalid_policy = 3,  // the policy file has errors
};

void add_pki_command(CLI::App& root, int& exit_code);
void add_audit_command(CLI::App& root, int& exit_code);
void add_serve_command(CLI::App& root, int& exit_code);
void add_node_command(CLI::App& root, int& exit_code);
void add_exercise_command(CLI::App& root, int& exit_code);
void add_policy_command(CLI::App& root, int& exit_code);
void add_label_command(CLI::App& root, int& exit_code);

}  // namespace icegate::cli

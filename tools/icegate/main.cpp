// icegate: one executable, many subcommands; each is a thin layer in its own file.
#include <CLI/CLI.hpp>

#include "tools/icegate/commands.hpp"
#include "tools/icegate/entry.hpp"

int main(int argc, char** argv) {
  CLI::App app{"icegate - an information-sharing gateway simulator for the iceberg model"};
  icegate::cli::prepare(app, std::string("icegate ") + ICEGATE_VERSION);
  app.require_subcommand(1);
  int exit_code = icegate::cli::exit_ok;
  icegate::cli::add_pki_command(app, exit_code);
  icegate::cli::add_audit_command(app, exit_code);
  icegate::cli::add_serve_command(app, exit_code);
  icegate::cli::add_node_command(app, exit_code);
  icegate::cli::add_exercise_command(app, exit_code);
  icegate::cli::add_policy_command(app, exit_code);
  icegate::cli::add_label_command(app, exit_code);
  return icegate::cli::run(app, argc, argv, exit_code);
}

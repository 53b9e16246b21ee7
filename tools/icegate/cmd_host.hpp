// `icegate exercise host SCENARIO`: an exercise with people in it (docs/HOSTING.md).
//   exercise host SCENARIO [--policy P] [--compare P2] [--gateway G] [--play NODES|all] [--http HOST:PORT]
//                 [--http-name NAME]... [--https] [--speed N] [--out DIR] [--evaluators N]
// It prints the facilitator's link and each seat's and evaluator's, starts the
// run(s) paused, and ends when the facilitator finishes (or q / Ctrl-C at the
// terminal): the reports go into --out, and the exit code is `exercise run`'s
// (0 every expectation met, 1 error, 2 an expectation unmet, 3 invalid policy).
#pragma once

#include <filesystem>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace icegate::cli {

struct ExerciseHostParams {
  std::filesystem::path scenario;
  std::filesystem::path policy;
  std::filesystem::path compare;
  std::string gateway;                    // several gateways: whose policy --policy and --compare replace
  std::string play;                       // "a,b", "all"; empty: the scenario's players
  std::string http = "127.0.0.1:8080";
  std::vector<std::string> http_names;    // certificate names beyond the bind address
  bool https = false;                     // TLS on loopback too
  double speed = 60;
  std::filesystem::path out = "exercise-reports";
  std::optional<int> evaluators;
  double linger_seconds = 600;            // finished from the page: it still serves the reports this long
};

int run_exercise_host(const ExerciseHostParams& params, std::istream& in, std::ostream& out, std::ostream& err);

// Adds `host` to the `exercise` command.
void add_exercise_host_command(CLI::App& exercise, int& exit_code);

}  // namespace icegate::cli

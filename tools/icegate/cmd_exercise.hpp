// `icegate exercise`: table-top exercises.
//   exercise run SCENARIO [--policy P] [--compare P2] [--real-time [--speed N]] [--out DIR]
//                [--html F] [--json F] [--mermaid F] [--bundle F] [--quiet]
//                [--http HOST:PORT [--http-token T] [--http-keep-open]]   the dashboard; implies --real-time
//                [--nodes-per-process N]         more nodes than N go to worker processes
//   exercise check SCENARIO [--policy P]          load and check a scenario, run nothing
//   exercise import-csv FILE.csv                   the injects of a spreadsheet, as scenario YAML
//   exercise report BUNDLE [--compare BUNDLE2] [--html F] [--json F] [--mermaid F]
//   exercise unbundle BUNDLE DIR                   write a bundle's scenario and policies back out
//   exercise generate-national DIR [--forces N --regions N --councils N --neighbourhoods N --arrests N]
// Exit codes: 0 every expectation met (under both policies with --compare);
// 1 error; 2 an expectation unmet; 3 the policy is invalid.
#pragma once

#include <cstddef>
#include <filesystem>
#include <istream>
#include <ostream>
#include <string>

#include "clients/exercise/national.hpp"

namespace icegate::cli {

struct ExerciseRunParams {
  std::filesystem::path scenario;
  std::filesystem::path policy;
  std::filesystem::path compare;
  // Several gateways: the gateway whose policy --policy (or --compare) replaces.
  std::string gateway;
  bool real_time = false;
  double speed = 60;
  std::filesystem::path out;  // a directory for every report, with default names
  std::filesystem::path html, json, mermaid, bundle;
  bool quiet = false;
  std::string http;         // the dashboard's address; empty: none
  std::string http_token;   // as for serve: needed beyond loopback, made up when not given
  bool http_keep_open = false;  // after the run, keep the gateway and dashboard up until q or Ctrl-C
  std::size_t nodes_per_process = 0;  // RunOptions::nodes_per_process; 0: as the descriptor limit allows
};

int run_exercise_run(const ExerciseRunParams& params, std::istream& in, std::ostream& out, std::ostream& err);
// `gateway`: with several gateways, the one whose policy `policy` replaces.
int run_exercise_check(const std::filesystem::path& scenario, const std::filesystem::path& policy, std::ostream& out,
                       std::ostream& err, const std::string& gateway = {});
int run_exercise_import_csv(const std::filesystem::path& csv, std::ostream& out, std::ostream& err);

struct ExerciseReportParams {
  std::filesystem::path bundle;
  std::filesystem::path compare;  // a second one-result bundle of the same scenario
  std::filesystem::path html, json, mermaid;
};
int run_exercise_report(const ExerciseReportParams& params, std::ostream& out, std::ostream& err);
int run_exercise_unbundle(const std::filesystem::path& bundle, const std::filesystem::path& dir, std::ostream& out,
                          std::ostream& err);

struct NationalParams {
  std::filesystem::path dir;
  exercise::NationalParameters sizes;
  std::filesystem::path scheme;
};
int run_exercise_generate_national(const NationalParams& params, std::ostream& out, std::ostream& err);

}  // namespace icegate::cli

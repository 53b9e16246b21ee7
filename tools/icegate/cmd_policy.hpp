// `icegate policy ...`: the analyst's tools for a policy file, thin wrappers
// over gateway/policy (check.hpp, testing.hpp, explain.hpp, format.hpp). The
// diff, matrix and import-spif subcommands are in cmd_policy_analysis.cpp.
//
//   policy check FILE [--strict] [--json]
//       every error (P0xx) and warning (W0xx), `file:line:col: severity[code]: message`, sorted.
//       exit 0 no errors (warnings allowed); 3 errors (or, with --strict, warnings); 1 unreadable
//   policy test [FILE] TESTS... [--run REGEX] [--format text|json] [--json]
//       TESTS are policy test files or directories (every *.test.yaml below them).
//       FILE, when given, is the policy every test file is run against; without
//       it each test file's own `policy:` is used. The first argument is taken
//       as FILE unless it is a directory or a YAML mapping with a `tests:` key.
//       PASS/FAIL per case with expected-vs-actual lines, then rule coverage;
//       or, with --format json (--json), one JSON object. The runner is
//       policy_test_runner.hpp, the reporters policy_test_report.hpp.
//       A case with an error is not run; the file's other cases are.
//       exit 0 all passed; 2 a case failed; 3 a policy is invalid; 1 a test
//       file or case has an error (T0xx), a path is missing, or --run
//       matches no case
//   policy explain FILE (--from N --to N --category C [--purpose P] --portion LABEL...
//                        [--occasional] | --request FILE.yaml) [--json]
//       the decision, step by step; no --purpose is a request without one.
//       exit 0 something is (or would be, once reviewed) released; 2 DENY;
//       3 invalid policy; 1 bad request (--occasional included, under a
//       policy that allows no occasional releases)
//   policy fmt FILE... [--check] [--diff]
//       canonical formatting, in place. --check: list the files that are not
//       canonical and change nothing; --diff: print what would change.
//       exit 0; 1 --check found an unformatted file, or I/O error; 3 a file is
//       not well-formed YAML
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace icegate::cli {

struct PolicyCheckParams {
  std::filesystem::path file;
  bool strict = false;  // warnings fail too
  bool json = false;
};

struct PolicyTestParams {
  // [FILE] TESTS...: see the header comment for how FILE is told apart.
  std::vector<std::filesystem::path> paths;
  std::string run;  // ECMAScript regex searched for in case names; "" = every case
  bool json = false;            // the same as format "json"
  std::string format = "text";  // the reporter (policy_test_report.hpp): "text" or "json"
};

struct PolicyExplainParams {
  std::filesystem::path file;
  std::string from;
  std::string to;
  std::string category;
  std::string purpose;  // "" for a request without a purpose
  std::vector<std::string> portions;  // labels, "SECRET/UK EYES ONLY"
  bool occasional = false;            // an occasional release is available
  std::filesystem::path request;      // a request file instead of the flags
  bool json = false;
  // Across gateways (docs/FEDERATION.md): `file` is the sender's gateway's
  // policy, `via` those of any gateways in between, in order, and `at` the
  // recipient's; `addressee` is how the sender addresses it (default: node:TO).
  std::vector<std::filesystem::path> via;
  std::filesystem::path at;
  std::string addressee;
};

struct PolicyFmtParams {
  std::vector<std::filesystem::path> files;
  bool check = false;
  bool diff = false;
};

int run_policy_check(const PolicyCheckParams& params, std::ostream& out, std::ostream& err);
int run_policy_test(const PolicyTestParams& params, std::ostream& out, std::ostream& err);
int run_policy_explain(const PolicyExplainParams& params, std::ostream& out, std::ostream& err);
int run_policy_fmt(const PolicyFmtParams& params, std::ostream& out, std::ostream& err);

}  // namespace icegate::cli

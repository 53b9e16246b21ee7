// The runner behind `icegate policy test`: runs policy test files against
// their policies and returns what happened, writing nothing. The reporters
// (policy_test_report.hpp) render the result as text or JSON, as OPA's
// `opa test` separates its runner (tester) from its pretty and JSON reporters.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "gateway/policy/diagnostics.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/test_coverage.hpp"
#include "gateway/policy/testing.hpp"

namespace icegate::cli {

// What to run. The command checks its arguments before it builds one.
struct PolicyTestInputs {
  // The policy every file is run against; empty: each file's own `policy:`.
  std::filesystem::path policy;
  std::vector<std::filesystem::path> test_files;  // in the order to run them
  // Which cases to run, by name (`--run`); empty: every case.
  std::function<bool(std::string_view case_name)> selects;
};

// One test file, run.
struct PolicyTestFileRun {
  std::filesystem::path file;
  std::filesystem::path policy;
  policy::PolicyTestRun run;
};

// One policy's rule coverage, over every file run against it.
struct PolicyTestCoverage {
  std::filesystem::path file;
  std::shared_ptr<const policy::CompiledPolicy> policy;  // null: the policy is invalid
  std::vector<int> rule_cases;  // by rule index, summed over every file run against it
  std::vector<policy::PolicyTestCase> cases;  // every case run against it, for why a rule was not exercised
  std::vector<policy::RuleCoverageGap> gaps;  // one per rule no case exercised
};

struct PolicyTestResults {
  std::vector<PolicyTestFileRun> runs;  // the files that ran, in order
  std::vector<PolicyTestCoverage> coverage;  // one per policy named, in order of first use
  policy::Diagnostics problems;  // T0xx and P0xx from loading and running
  std::size_t selected = 0;       // cases chosen to run
  std::size_t cases_not_run = 0;  // cases with a problem, left out of otherwise runnable files
  std::size_t files_not_run = 0;  // files with nothing to run: unreadable, not YAML, no policy
  bool bad_test_file = false;     // some test file has errors
  bool invalid_policy = false;    // some policy named could not be loaded

  std::size_t passed() const;
  std::size_t failed() const;
  // exit_ok; exit_denied when a case failed; exit_error for a test file with
  // errors; exit_invalid_policy for an invalid policy (the worst wins).
  int exit_code() const;
  // The coverage of the policy `run` ran against; null if it is not there.
  const PolicyTestCoverage* coverage_of(const PolicyTestFileRun& run) const;
};

// Loads each test file and its policy (each policy once), runs the selected
// cases, and sums and explains rule coverage per policy. Never throws for
// bad input: problems are in `problems`.
PolicyTestResults run_policy_test_files(const PolicyTestInputs& inputs);

}  // namespace icegate::cli

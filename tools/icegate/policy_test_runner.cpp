// The runner behind `icegate policy test` (policy_test_runner.hpp): results,
// not output.
#include "tools/icegate/policy_test_runner.hpp"

#include <utility>

#include "tools/icegate/commands.hpp"

namespace icegate::cli {

namespace fs = std::filesystem;

std::size_t PolicyTestResults::passed() const {
  std::size_t count = 0;
  for (const PolicyTestFileRun& run : runs) count += run.run.passed();
  return count;
}

std::size_t PolicyTestResults::failed() const {
  std::size_t count = 0;
  for (const PolicyTestFileRun& run : runs) count += run.run.failed();
  return count;
}

int PolicyTestResults::exit_code() const {
  int code = exit_ok;
  if (failed() > 0) code = exit_denied;
  if (bad_test_file) code = exit_error;
  if (invalid_policy) code = exit_invalid_policy;
  return code;
}

const PolicyTestCoverage* PolicyTestResults::coverage_of(const PolicyTestFileRun& run) const {
  const PolicyTestCoverage* target = nullptr;
  for (const PolicyTestCoverage& entry : coverage) {
    if (entry.file == run.policy) target = &entry;
  }
  return target;
}

PolicyTestResults run_policy_test_files(const PolicyTestInputs& inputs) {
  PolicyTestResults results;
  auto policy_for = [&results](const fs::path& file) -> PolicyTestCoverage* {
    for (PolicyTestCoverage& entry : results.coverage) {
      if (entry.file == file) return entry.policy ? &entry : nullptr;
    }
    policy::LoadResult loaded = policy::load_policy(file);
    results.problems.append(loaded.diagnostics);
    PolicyTestCoverage entry{file, loaded.policy, {}, {}, {}};
    if (entry.policy) entry.rule_cases.assign(entry.policy->source().rules.size(), 0);
    results.coverage.push_back(std::move(entry));
    if (!results.coverage.back().policy) {
      results.invalid_policy = true;
      return nullptr;
    }
    return &results.coverage.back();
  };
  for (const fs::path& file : inputs.test_files) {
    policy::PolicyTestFile tests = policy::load_policy_tests(file, inputs.policy.empty());
    results.problems.append(tests.diagnostics);
    // A case with a problem is left out and the others run (policies/README.md,
    // "Policy test files"); the run still exits 1 for the file's errors.
    if (tests.diagnostics.has_errors()) results.bad_test_file = true;
    results.cases_not_run += tests.cases_not_run;
    if (tests.cases.empty() && tests.diagnostics.has_errors()) {
      ++results.files_not_run;
      continue;
    }
    std::vector<policy::PolicyTestCase> cases;
    for (const policy::PolicyTestCase& test : tests.cases) {
      if (!inputs.selects || inputs.selects(test.name)) cases.push_back(test);
    }
    results.selected += cases.size();
    const fs::path policy_file = inputs.policy.empty() ? tests.policy : inputs.policy;
    if (policy_file.empty()) {
      // Reported already (T004) when the file had to name one.
      if (!tests.diagnostics.has_errors()) {
        results.problems.error(policy::Code::T004, policy::SourceLocation{file.string(), 1, 1},
                               "the test file names no 'policy:' and no policy file was given");
      }
      results.bad_test_file = true;
      ++results.files_not_run;
      continue;
    }
    PolicyTestCoverage* target = policy_for(policy_file);
    if (!target) continue;
    PolicyTestFileRun run{file, policy_file, policy::run_policy_tests(*target->policy, cases)};
    results.problems.append(run.run.diagnostics);
    for (std::size_t r = 0; r < run.run.rule_cases.size(); ++r) target->rule_cases[r] += run.run.rule_cases[r];
    target->cases.insert(target->cases.end(), cases.begin(), cases.end());
    results.runs.push_back(std::move(run));
  }
  for (PolicyTestCoverage& entry : results.coverage) {
    if (entry.policy) entry.gaps = policy::explain_uncovered_rules(*entry.policy, entry.cases, entry.rule_cases);
  }
  return results;
}

}  // namespace icegate::cli

// The runner behind `icegate policy test` (tools/icegate/policy_test_runner):
// what it returns for small test files written here, with no output involved.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "tests/gateway/policy/policy_test_support.hpp"
#include "tests/tools/small_policy.hpp"
#include "tools/icegate/cmd_policy.hpp"
#include "tools/icegate/commands.hpp"
#include "tools/icegate/policy_test_runner.hpp"

namespace icegate::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using icegate::testing::kSmallPolicy;
using icegate::testing::kSmallTests;
using policy::testing::TempDir;

constexpr std::string_view kReverseTest = R"(policy: small.yaml
tests:
  - name: b tells a
    request: {from: b, to: a, category: info, purpose: p, portions: [LOW]}
    expect: {decision: RELEASE}
)";

std::vector<std::string> diagnostic_lines(const policy::Diagnostics& diagnostics) {
  std::vector<std::string> lines;
  for (const policy::Diagnostic& diagnostic : diagnostics.sorted()) lines.push_back(to_string(diagnostic));
  return lines;
}

TEST(PolicyTestRunner, ReturnsEachCaseItsDifferencesAndTheRuleCoverage) {
  TempDir dir("runner-results");
  const auto policy_file = dir.write("small.yaml", kSmallPolicy);
  const auto tests = dir.write("small.test.yaml", kSmallTests);

  const PolicyTestResults results = run_policy_test_files({{}, {tests}, {}});

  ASSERT_EQ(results.runs.size(), 1u);
  EXPECT_EQ(results.runs[0].file, tests);
  EXPECT_EQ(results.runs[0].policy, policy_file);
  const auto& cases = results.runs[0].run.results;
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].name, "a tells b");
  EXPECT_TRUE(cases[0].passed);
  EXPECT_EQ(cases[1].name, "a tells b something too high");
  EXPECT_FALSE(cases[1].passed);
  EXPECT_THAT(cases[1].differences, ElementsAre("decision: expected RELEASE, got DENY"));
  EXPECT_EQ(results.selected, 2u);
  EXPECT_EQ(results.passed(), 1u);
  EXPECT_EQ(results.failed(), 1u);
  EXPECT_EQ(results.exit_code(), exit_denied);
  EXPECT_TRUE(results.problems.empty()) << ::testing::PrintToString(diagnostic_lines(results.problems));

  ASSERT_EQ(results.coverage.size(), 1u);
  const PolicyTestCoverage& coverage = results.coverage[0];
  EXPECT_EQ(coverage.file, policy_file);
  ASSERT_NE(coverage.policy, nullptr);
  EXPECT_THAT(coverage.rule_cases, ElementsAre(2, 0));
  ASSERT_EQ(coverage.gaps.size(), 1u);
  EXPECT_EQ(coverage.gaps[0].rule, 1) << "b-to-a is the rule no case exercised";
}

TEST(PolicyTestRunner, RunsOnlyTheSelectedCases) {
  TempDir dir("runner-selects");
  dir.write("small.yaml", kSmallPolicy);
  const auto tests = dir.write("small.test.yaml", kSmallTests);

  PolicyTestInputs inputs{{}, {tests}, [](std::string_view name) { return name == "a tells b"; }};
  const PolicyTestResults results = run_policy_test_files(inputs);

  ASSERT_EQ(results.runs.size(), 1u);
  ASSERT_EQ(results.runs[0].run.results.size(), 1u);
  EXPECT_EQ(results.runs[0].run.results[0].name, "a tells b");
  EXPECT_EQ(results.selected, 1u);
  EXPECT_EQ(results.exit_code(), exit_ok);
}

TEST(PolicyTestRunner, SumsCoverageOverTheFilesRunAgainstOnePolicy) {
  TempDir dir("runner-two-files");
  dir.write("small.yaml", kSmallPolicy);
  const auto forward = dir.write("forward.test.yaml", kSmallTests);
  const auto reverse = dir.write("reverse.test.yaml", kReverseTest);

  const PolicyTestResults results = run_policy_test_files({{}, {forward, reverse}, {}});

  EXPECT_EQ(results.runs.size(), 2u);
  ASSERT_EQ(results.coverage.size(), 1u) << "the policy is loaded once";
  EXPECT_THAT(results.coverage[0].rule_cases, ElementsAre(2, 1));
  EXPECT_TRUE(results.coverage[0].gaps.empty());
  EXPECT_EQ(results.passed(), 2u);
  EXPECT_EQ(results.failed(), 1u);
}

TEST(PolicyTestRunner, AFileWithNoPolicyIsNotRunAndIsAnError) {
  TempDir dir("runner-no-policy");
  dir.write("small.yaml", kSmallPolicy);
  const auto good = dir.write("good.test.yaml", kReverseTest);
  const auto orphan = dir.write("orphan.test.yaml", R"(tests:
  - name: nowhere
    request: {from: a, to: b, category: info, purpose: p, portions: [LOW]}
    expect: {decision: RELEASE}
)");

  const PolicyTestResults results = run_policy_test_files({{}, {orphan, good}, {}});

  EXPECT_EQ(results.files_not_run, 1u);
  EXPECT_TRUE(results.bad_test_file);
  ASSERT_EQ(results.runs.size(), 1u) << "the other file still runs";
  EXPECT_EQ(results.runs[0].file, good);
  EXPECT_EQ(results.exit_code(), exit_error) << "an error in a test file outranks the passing cases";
  EXPECT_THAT(diagnostic_lines(results.problems), ElementsAre(HasSubstr("error[T004]")));
}

TEST(PolicyTestRunner, AnInvalidPolicyOutranksEveryOtherOutcome) {
  TempDir dir("runner-invalid");
  const auto broken = dir.write("broken.yaml", "policy: broken\nscheme: {scheme: s, classifications: [{name: LOW}]}\n"
                                               "nodes:\n  - {id: n, organisation: nowhere, role: r, vetting: v}\n");
  const auto tests = dir.write("small.test.yaml", kSmallTests);

  const PolicyTestResults results = run_policy_test_files({broken, {tests}, {}});

  EXPECT_TRUE(results.invalid_policy);
  EXPECT_TRUE(results.runs.empty());
  ASSERT_EQ(results.coverage.size(), 1u);
  EXPECT_EQ(results.coverage[0].policy, nullptr);
  EXPECT_TRUE(results.problems.has_errors());
  EXPECT_EQ(results.exit_code(), exit_invalid_policy);
}

// `icegate policy test --format`: the flag picks the reporter; an unknown
// format is an argument error, reported before anything runs.
TEST(PolicyTestCommand, FormatChoosesTheReporter) {
  TempDir dir("runner-format");
  dir.write("small.yaml", kSmallPolicy);
  const auto tests = dir.write("small.test.yaml", kSmallTests);

  std::ostringstream json_out, json_err;
  EXPECT_EQ(run_policy_test({{tests}, "", false, "json"}, json_out, json_err), exit_denied);
  EXPECT_EQ(json_out.str().rfind(R"({"files":[)", 0), 0u) << json_out.str();

  std::ostringstream text_out, text_err;
  EXPECT_EQ(run_policy_test({{tests}, "", false, "text"}, text_out, text_err), exit_denied);
  EXPECT_THAT(text_out.str(), HasSubstr("  FAIL  a tells b something too high\n"));

  std::ostringstream bad_out, bad_err;
  EXPECT_EQ(run_policy_test({{tests}, "", false, "yaml"}, bad_out, bad_err), exit_error);
  EXPECT_THAT(bad_err.str(), HasSubstr("--format \"yaml\": the formats are text and json"));
  EXPECT_EQ(bad_out.str(), "");
}

}  // namespace
}  // namespace icegate::cli

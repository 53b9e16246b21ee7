// The reporters of `icegate policy test` (tools/icegate/policy_test_report),
// each on one fixed PolicyTestResults built here: no test file is run.
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/utf8.hpp"
#include "tests/tools/small_policy.hpp"
#include "tools/icegate/commands.hpp"
#include "tools/icegate/policy_test_report.hpp"

namespace icegate::cli {
namespace {

using icegate::testing::kSmallPolicy;
using ::testing::HasSubstr;
// One file with a passing case and a failing row of a table, against a
// policy with one rule exercised and one not; a warning, and a case not run.
PolicyTestResults fixed_results() {
  policy::LoadResult loaded = policy::load_policy_text(kSmallPolicy, "small.yaml");
  EXPECT_NE(loaded.policy, nullptr);

  policy::PolicyTestResult passing;
  passing.name = "a tells b";
  passing.location = {"cases.test.yaml", 3, 5};
  passing.passed = true;
  passing.rules = {0};
  passing.decision.decision = Decision::release;
  passing.decision.reason = "released in full under a-to-b";

  policy::PolicyTestResult failing;
  failing.name = "too high[2]";
  failing.location = {"cases.test.yaml", 9, 9};
  failing.table = "too high";
  failing.row = "2";
  failing.passed = false;
  failing.differences = {"decision: expected RELEASE, got DENY"};
  failing.decision.decision = Decision::deny;
  failing.decision.reason = "HIGH is above low's ceiling LOW";

  PolicyTestFileRun run;
  run.file = "cases.test.yaml";
  run.policy = "small.yaml";
  run.run.results = {passing, failing};
  run.run.rule_cases = {1, 0};

  policy::RuleCoverageGap gap;
  gap.rule = 1;
  gap.kind = policy::CoverageGapKind::unmet_condition;
  gap.condition = "from";
  gap.message = "no case sent from a node matching from: {nodes: [b]}";
  gap.reached = 1;
  gap.nearest = {"a tells b"};

  PolicyTestResults results;
  results.runs = {run};
  results.coverage.push_back({"small.yaml", loaded.policy, {1, 0}, {}, {gap}});
  results.problems.warning(policy::Code::W006, {"small.yaml", 5, 1}, "a warning");
  results.selected = 2;
  results.cases_not_run = 1;
  results.bad_test_file = true;
  return results;
}

TEST(PolicyTestReport, TextShowsFailuresCoverageAndTotals) {
  std::ostringstream out;
  write_policy_test_text(out, fixed_results());
  EXPECT_EQ(out.str(),
            "small.yaml:5:1: warning[W006]: a warning\n"
            "\n"
            "cases.test.yaml (policy small.yaml)\n"
            "  PASS  a tells b\n"
            "  FAIL  too high[2]\n"
            "        at cases.test.yaml:9:9\n"
            "        decision: expected RELEASE, got DENY\n"
            "        (the policy decided DENY: HIGH is above low's ceiling LOW)\n"
            "\n"
            "coverage of small.yaml: 1 of 2 rules exercised (50.0%)\n"
            "  cases  rule    where\n"
            "      1  a-to-b  small.yaml:14:5\n"
            "      0  b-to-a  small.yaml:15:5  NOT EXERCISED\n"
            "  why not exercised:\n"
            "    b-to-a: no case sent from a node matching from: {nodes: [b]}\n"
            "      1 case met the conditions before that: \"a tells b\"\n"
            "\n"
            "1 passed, 1 failed; 1 case has errors and was not run\n");
}

TEST(PolicyTestReport, TextSaysWhatWasNotRun) {
  PolicyTestResults results = fixed_results();
  results.cases_not_run = 0;
  results.files_not_run = 2;
  results.invalid_policy = true;
  std::ostringstream out;
  write_policy_test_text(out, results);
  EXPECT_THAT(out.str(), HasSubstr("\n1 passed, 1 failed; 2 test files were not run; a policy is invalid\n"));
}

TEST(PolicyTestReport, JsonHoldsCasesCoverageTotalsAndTheExitCode) {
  std::ostringstream out;
  write_policy_test_json(out, fixed_results());
  const std::string json = out.str();
  EXPECT_TRUE(icegate::testing::is_valid_utf8(json));
  ASSERT_FALSE(json.empty());
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.find('\n'), json.size() - 1) << "one line";
  EXPECT_THAT(json, HasSubstr(R"({"files":[{"file":"cases.test.yaml","policy":"small.yaml","cases":[)"));
  EXPECT_THAT(json, HasSubstr(R"({"name":"a tells b","location":{"file":"cases.test.yaml","line":3,"column":5},)"
                              R"("passed":true,"differences":[],"decision":"RELEASE",)"
                              R"("reason":"released in full under a-to-b","rules":["a-to-b"]})"));
  EXPECT_THAT(json, HasSubstr(R"("name":"too high[2]",)"));
  EXPECT_THAT(json, HasSubstr(R"("passed":false,"differences":["decision: expected RELEASE, got DENY"],)"
                              R"("decision":"DENY","reason":"HIGH is above low's ceiling LOW","rules":[],)"
                              R"("table":"too high","row":"2"})"));
  EXPECT_THAT(json, HasSubstr(R"({"id":"a-to-b","location":{"file":"small.yaml","line":14,"column":5},"cases":1})"));
  EXPECT_THAT(json, HasSubstr(R"("cases":0,"not_exercised":{"kind":"unmet_condition","condition":"from",)"
                              R"("message":"no case sent from a node matching from: {nodes: [b]}","reached":1,)"
                              R"("nearest":["a tells b"],"decided_by":[]}})"));
  EXPECT_THAT(json, HasSubstr(R"("covered":1,"total":2,"percent":50.0})"));
  EXPECT_THAT(json, HasSubstr(R"("passed":1,"failed":1,"not_run":1,"diagnostics":[{"severity":"warning",)"
                              R"("code":"W006","title":"vetting level no node holds","file":"small.yaml","line":5,"column":1,"message":"a warning"}],)"
                              R"("exit_code":1})"));
}

TEST(PolicyTestReport, JsonExitCodeFollowsTheResults) {
  PolicyTestResults results = fixed_results();
  results.bad_test_file = false;
  std::ostringstream out;
  write_policy_test_json(out, results);
  EXPECT_THAT(out.str(), HasSubstr(R"("exit_code":2})")) << "a failed case, and nothing worse";
}

}  // namespace
}  // namespace icegate::cli

// `icegate policy check | test | explain | fmt` through their run_* functions,
// on the shipped policies and on small broken files written here, asserting
// output and exit codes.
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/pki/pki.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"
#include "tests/support/files.hpp"
#include "tests/support/utf8.hpp"
#include "tests/tools/small_policy.hpp"
#include "tools/icegate/cmd_policy.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using icegate::testing::kSmallTests;
using icegate::testing::read_file;
using policy::testing::TempDir;

const std::filesystem::path kPolicies = ICEGATE_SOURCE_DIR "/policies";

std::size_t count(const std::string& text, std::string_view needle) {
  std::size_t found = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++found;
  return found;
}

// The shared small policy with one warning: a vetting level nobody holds.
const std::string kSmallPolicy = [] {
  std::string text(icegate::testing::kSmallPolicy);
  const std::string_view high = "{name: high, regular: HIGH}";
  text.insert(text.find(high) + high.size(), ", {name: spare, regular: HIGH}");
  return text;
}();

// ---- check ----------------------------------------------------------------------------------

TEST(CliPolicyCheck, AShippedPolicyIsValid) {
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_check({kPolicies / "need-to-share.yaml"}, out, err), exit_ok) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("need-to-share.yaml: valid, no warnings\n"));
}

TEST(CliPolicyCheck, WarningsPassUnlessStrict) {
  TempDir dir("cli-check-warn");
  const auto file = dir.write("small.yaml", kSmallPolicy);
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_check({file}, out, err), exit_ok);
  EXPECT_THAT(out.str(), HasSubstr("small.yaml:5:67: warning[W006]: vetting level 'spare' is held by no node\n"));
  EXPECT_THAT(out.str(), HasSubstr("small.yaml: valid, 1 warning\n"));

  std::ostringstream strict_out, strict_err;
  EXPECT_EQ(run_policy_check({file, true}, strict_out, strict_err), exit_invalid_policy);
  EXPECT_THAT(strict_out.str(), HasSubstr("(--strict: failing)"));
}

TEST(CliPolicyCheck, EveryErrorIsListedInOrderAndExitIs3) {
  TempDir dir("cli-check-errors");
  const auto file = dir.write("broken.yaml", R"(policy: broken
scheme: {scheme: s, classifications: [{name: LOW}]}
nodes:
  - {id: n, organisation: nowhere, role: nobody, vetting: none}
)");
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_check({file}, out, err), exit_invalid_policy);
  const std::string text = out.str();
  const std::size_t organisation = text.find("error[P011]: undefined organisation 'nowhere'");
  const std::size_t role = text.find("error[P011]: undefined role 'nobody'");
  const std::size_t vetting = text.find("error[P011]: undefined vetting level 'none'");
  ASSERT_NE(organisation, std::string::npos) << text;
  ASSERT_NE(role, std::string::npos) << text;
  ASSERT_NE(vetting, std::string::npos) << text;
  EXPECT_LT(organisation, role);
  EXPECT_LT(role, vetting);
  EXPECT_THAT(text, HasSubstr("broken.yaml: invalid policy: 3 errors, 0 warnings\n"));
}

TEST(CliPolicyCheck, JsonAndAMissingFile) {
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_check({kPolicies / "need-to-know.yaml", false, true}, out, err), exit_ok);
  EXPECT_THAT(out.str(), HasSubstr(R"("valid":true,"errors":0,"warnings":1)"));
  EXPECT_THAT(out.str(), HasSubstr(R"("code":"W005")"));

  std::ostringstream missing_out, missing_err;
  EXPECT_EQ(run_policy_check({kPolicies / "missing.yaml"}, missing_out, missing_err), exit_error);
  EXPECT_THAT(missing_err.str(), HasSubstr("cannot read policy file"));
}

TEST(CliPolicyCheck, JsonCarriesEachDiagnosticsTitleAndSuggestion) {
  TempDir dir("cli-check-json-details");
  const auto file = dir.write("misspelt.yaml", R"(policy: misspelt
scheme: {scheme: s, classifications: [{name: LOW}]}
levels: [tactical]
roles:
  - {id: r, level: tactcal}
)");
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_check({file, false, true}, out, err), exit_invalid_policy);
  EXPECT_THAT(out.str(), HasSubstr(R"("code":"P011","title":"undefined reference",)"));
  EXPECT_THAT(out.str(), HasSubstr(R"(,"suggestion":"tactical")"));
}

// Issue 13 (9): a file name is bytes, not text; JSON output must still be
// valid UTF-8, with each byte that is not part of a UTF-8 sequence shown as
// U+FFFD.
TEST(CliPolicyCheck, JsonIsValidUtf8WhateverTheFileName) {
  TempDir dir("cli-check-utf8");
  const auto file = dir.write("bad\xff" "name.yaml", kSmallPolicy);
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_check({file, false, true}, out, err), exit_ok) << err.str();
  EXPECT_TRUE(icegate::testing::is_valid_utf8(out.str())) << out.str();
  EXPECT_THAT(out.str(), HasSubstr("bad\xef\xbf\xbdname.yaml\""));
  EXPECT_THAT(out.str(), HasSubstr(R"("valid":true,"errors":0,"warnings":1)"));
}

// ---- test ------------------------------------------------------------------------------------

TEST(CliPolicyTest, TheShippedTestsPassWithFullCoverage) {
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_test({{kPolicies / "tests"}}, out, err), exit_ok) << err.str() << out.str();
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("  PASS  the council Prevent coordinator gets the problem profile\n"));
  EXPECT_THAT(text, ::testing::ContainsRegex("coverage of [^ ]*need-to-share.yaml: 17 of 17 rules exercised "
                                             "\\(100.0%\\)"));
  EXPECT_THAT(text, Not(HasSubstr("FAIL")));
  EXPECT_THAT(text, Not(HasSubstr("NOT EXERCISED")));
  EXPECT_THAT(text, ::testing::ContainsRegex("\n[0-9]+ passed, 0 failed\n$"));
}

TEST(CliPolicyTest, AFailingCaseShowsExpectedAgainstActualAndUncoveredRules) {
  TempDir dir("cli-test-fail");
  dir.write("small.yaml", kSmallPolicy);
  const auto tests = dir.write("small.test.yaml", kSmallTests);
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_test({{tests}}, out, err), exit_denied) << err.str();
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("  PASS  a tells b\n"));
  EXPECT_THAT(text, HasSubstr("  FAIL  a tells b something too high\n"));
  EXPECT_THAT(text, HasSubstr("small.test.yaml:6:5\n"));
  EXPECT_THAT(text, HasSubstr("        decision: expected RELEASE, got DENY\n"));
  EXPECT_THAT(text, HasSubstr("(the policy decided DENY: HIGH is above low's ceiling LOW)"));
  EXPECT_THAT(text, HasSubstr("coverage of " + (dir.path() / "small.yaml").string() +
                              ": 1 of 2 rules exercised (50.0%)\n"));
  EXPECT_THAT(text, ::testing::ContainsRegex("      0  b-to-a +[^ ]*small.yaml:15:5  NOT EXERCISED\n"));
  EXPECT_THAT(text, HasSubstr("\n1 passed, 1 failed\n"));
}

TEST(CliPolicyTest, RunSelectsCasesByRegex) {
  TempDir dir("cli-test-run");
  dir.write("small.yaml", kSmallPolicy);
  const auto tests = dir.write("small.test.yaml", kSmallTests);
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_test({{tests}, "b$"}, out, err), exit_ok) << out.str();
  EXPECT_EQ(count(out.str(), "PASS"), 1u);
  EXPECT_THAT(out.str(), HasSubstr("\n1 passed, 0 failed\n"));

  std::ostringstream none_out, none_err;
  EXPECT_EQ(run_policy_test({{tests}, "^nothing"}, none_out, none_err), exit_error);
  EXPECT_THAT(none_err.str(), HasSubstr("matches no test case"));

  std::ostringstream bad_out, bad_err;
  EXPECT_EQ(run_policy_test({{tests}, "(unclosed"}, bad_out, bad_err), exit_error);
  EXPECT_THAT(bad_err.str(), HasSubstr("is not a regular expression"));
}

TEST(CliPolicyTest, AGivenPolicyOverridesTheTestFiles) {
  // need-to-share's cases against need-to-know: the compared policies differ.
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_test({{kPolicies / "need-to-know.yaml", kPolicies / "tests" / "need-to-share.test.yaml"}}, out,
                            err),
            exit_denied);
  EXPECT_THAT(out.str(), HasSubstr("(policy " + (kPolicies / "need-to-know.yaml").string() + ")"));
  EXPECT_THAT(out.str(), HasSubstr("  FAIL  the council Prevent coordinator gets the problem profile\n"));
  EXPECT_THAT(out.str(), HasSubstr("decision: expected HOLD, got DENY"));
}

TEST(CliPolicyTest, ATestFileWithoutPolicyNeedsOneGiven) {
  TempDir dir("cli-test-nopolicy");
  const auto policy = dir.write("small.yaml", kSmallPolicy);
  std::string text(kSmallTests);
  text.erase(0, text.find('\n') + 1);  // drop `policy:`
  const auto tests = dir.write("anonymous.test.yaml", text);
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_test({{policy, tests}, "b$"}, out, err), exit_ok) << out.str();
  std::ostringstream without_out, without_err;
  EXPECT_EQ(run_policy_test({{tests}}, without_out, without_err), exit_error);
  EXPECT_THAT(without_out.str(), HasSubstr("error[T004]: the test file is missing required key 'policy'"));
}

TEST(CliPolicyTest, BadTestFilesAndInvalidPolicies) {
  TempDir dir("cli-test-bad");
  dir.write("small.yaml", kSmallPolicy);
  const auto bad = dir.write("bad.test.yaml", "policy: small.yaml\ntests:\n  - name: x\n    requst: {}\n");
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_test({{bad}}, out, err), exit_error);
  EXPECT_THAT(out.str(), HasSubstr("bad.test.yaml:4:5: error[T002]: unknown key 'requst' in test; did you mean "
                                   "'request'?"));

  dir.write("invalid.yaml", "policy: invalid\n");
  const auto against_invalid = dir.write("invalid.test.yaml", std::string("policy: invalid.yaml\n") +
                                                                  std::string(kSmallTests).substr(kSmallTests.find("tests:")));
  std::ostringstream invalid_out, invalid_err;
  EXPECT_EQ(run_policy_test({{against_invalid}}, invalid_out, invalid_err), exit_invalid_policy);
  EXPECT_THAT(invalid_out.str(), HasSubstr("error[P004]: the policy is missing required key 'scheme'"));

  std::ostringstream missing_out, missing_err;
  EXPECT_EQ(run_policy_test({{dir.path() / "nope.test.yaml"}}, missing_out, missing_err), exit_error);
  EXPECT_THAT(missing_err.str(), HasSubstr("cannot read test file"));
}

// Issue 13 (15): a case with an error is not run; the file's other cases are
// (policies/README.md, "Policy test files"), and the exit code still says the
// file has errors.
TEST(CliPolicyTest, ACaseWithAnErrorIsNotRunAndTheOthersAre) {
  TempDir dir("cli-test-bad-case");
  dir.write("small.yaml", kSmallPolicy);
  const auto tests = dir.write("small.test.yaml", R"(policy: small.yaml
tests:
  - name: a tells b
    request: {from: a, to: b, category: info, purpose: p, portions: [LOW]}
    expect: {decision: RELEASE, rules: [a-to-b]}
  - name: a typo
    requst: {from: a, to: b, category: info, purpose: p, portions: [LOW]}
    expect: {decision: RELEASE}
  - name: b tells a
    request: {from: b, to: a, category: info, purpose: p, portions: [{classification: HIGH}]}
    expect: {decision: RELEASE, rules: [b-to-a]}
)");
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_test({{tests}}, out, err), exit_error) << err.str();
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("small.test.yaml:7:5: error[T002]: unknown key 'requst' in test; did you mean "
                              "'request'?"));
  EXPECT_THAT(text, HasSubstr("  PASS  a tells b\n"));
  EXPECT_THAT(text, HasSubstr("  PASS  b tells a\n"));
  EXPECT_THAT(text, Not(HasSubstr("a typo\n")));
  EXPECT_THAT(text, HasSubstr("2 of 2 rules exercised (100.0%)"));
  EXPECT_THAT(text, HasSubstr("\n2 passed, 0 failed; 1 case has errors and was not run\n"));

  std::ostringstream json_out, json_err;
  EXPECT_EQ(run_policy_test({{tests}, "", true}, json_out, json_err), exit_error);
  EXPECT_THAT(json_out.str(), HasSubstr(R"("passed":2,"failed":0,"not_run":1,"diagnostics":[{)"));
  EXPECT_THAT(json_out.str(), HasSubstr(R"("exit_code":1})"));
}

TEST(CliPolicyTest, Json) {
  TempDir dir("cli-test-json");
  dir.write("small.yaml", kSmallPolicy);
  const auto tests = dir.write("small.test.yaml", kSmallTests);
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_test({{tests}, "", true}, out, err), exit_denied);
  const std::string json = out.str();
  EXPECT_EQ(json.front(), '{');
  EXPECT_THAT(json, HasSubstr(R"("name":"a tells b something too high",)"));
  EXPECT_THAT(json, HasSubstr(R"("passed":false,"differences":["decision: expected RELEASE, got DENY"])"));
  EXPECT_THAT(json, HasSubstr(R"({"id":"b-to-a","location":{"file":)"));
  EXPECT_THAT(json, HasSubstr(R"("covered":1,"total":2,"percent":50.0})"));
  EXPECT_THAT(json, HasSubstr(R"("passed":1,"failed":1,"not_run":0,"diagnostics":[],"exit_code":2})"));
}

TEST(CliPolicyTest, JsonIsValidUtf8WhateverTheFileNames) {
  TempDir dir("cli-test-utf8");
  const auto policy = dir.write("small\xc3.yaml", kSmallPolicy);  // a lone lead byte
  std::string tests(kSmallTests);
  tests.erase(0, tests.find('\n') + 1);  // no `policy:`: it is given
  const auto file = dir.write("small\xc0\xaf.test.yaml", tests);  // an overlong '/'
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_test({{policy, file}, "", true}, out, err), exit_denied) << err.str() << out.str();
  EXPECT_TRUE(icegate::testing::is_valid_utf8(out.str())) << out.str();
  EXPECT_THAT(out.str(), HasSubstr("small\xef\xbf\xbd\xef\xbf\xbd.test.yaml\""));
  EXPECT_THAT(out.str(), HasSubstr("small\xef\xbf\xbd.yaml\""));
}

// Issue 17 (4): a table-driven case runs each row as a case of its own,
// reported by "<case>[<row>]" at the row's place.
TEST(CliPolicyTest, TableRowsPassOrFailOnTheirOwnAtTheirPlace) {
  TempDir dir("cli-test-table");
  dir.write("small.yaml", kSmallPolicy);
  const auto tests = dir.write("small.test.yaml", R"(policy: small.yaml
tests:
  - name: a tells b
    request: {from: a, to: b, category: info, purpose: p}
    expect: {decision: RELEASE, rules: [a-to-b]}
    each:
      - {name: low, portions: [LOW]}
      - {name: high, portions: [HIGH]}
      - {portions: [LOW, LOW]}
)");
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_test({{tests}}, out, err), exit_denied) << err.str();
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("  PASS  a tells b[low]\n  FAIL  a tells b[high]\n        at " + tests.string() +
                              ":8:9\n        decision: expected RELEASE, got DENY\n"));
  EXPECT_THAT(text, HasSubstr("  PASS  a tells b[3]\n"));
  EXPECT_THAT(text, HasSubstr("\n2 passed, 1 failed\n"));

  std::ostringstream selected_out, selected_err;
  EXPECT_EQ(run_policy_test({{tests}, "\\[low\\]"}, selected_out, selected_err), exit_ok) << selected_out.str();
  EXPECT_THAT(selected_out.str(), HasSubstr("\n1 passed, 0 failed\n")) << "--run matches a row's full name";

  std::ostringstream json_out, json_err;
  EXPECT_EQ(run_policy_test({{tests}, "", true}, json_out, json_err), exit_denied);
  EXPECT_THAT(json_out.str(), HasSubstr(R"("name":"a tells b[high]","location":{"file":)"));
  EXPECT_THAT(json_out.str(), HasSubstr(R"("rules":["a-to-b"],"table":"a tells b","row":"high"})"));
}

// Issue 17 (4): coverage names, for each rule no case exercised, the first
// of its conditions no case met, and the cases that came closest.
TEST(CliPolicyTest, CoverageSaysWhyARuleWasNotExercised) {
  TempDir dir("cli-test-why");
  dir.write("small.yaml", kSmallPolicy);
  const auto tests = dir.write("small.test.yaml", std::string(kSmallTests) + R"(  - name: b tells itself
    request: {from: b, to: b, category: info, purpose: p, portions: [LOW]}
    expect: {decision: DENY}
)");
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_test({{tests}}, out, err), exit_denied) << err.str();
  EXPECT_THAT(out.str(), ::testing::ContainsRegex("      0  b-to-a +[^ ]*small.yaml:15:5  NOT EXERCISED\n"
                                                  "  why not exercised:\n"
                                                  "    b-to-a: no case sent to a node matching to: \\{nodes: \\[a\\]\\}\n"
                                                  "      1 case met the conditions before that: \"b tells itself\"\n"));

  std::ostringstream json_out, json_err;
  EXPECT_EQ(run_policy_test({{tests}, "", true}, json_out, json_err), exit_denied);
  const std::string json = json_out.str();
  EXPECT_THAT(json, HasSubstr(R"("cases":0,"not_exercised":{"kind":"unmet_condition","condition":"to","message":)"
                              R"("no case sent to a node matching to: {nodes: [a]}","reached":1,)"
                              R"("nearest":["b tells itself"],"decided_by":[]}})"));
  EXPECT_THAT(json, HasSubstr(R"("cases":2})")) << "an exercised rule has no not_exercised";
  EXPECT_THAT(json, HasSubstr(R"("covered":1,"total":2,"percent":50.0})")) << "the coverage shape is kept";
}

// ---- explain ------------------------------------------------------------------------------------

PolicyExplainParams profile_request(std::string to) {
  PolicyExplainParams params;
  params.file = kPolicies / "need-to-share.yaml";
  params.from = "ctu-analyst";
  params.to = std::move(to);
  params.category = "ct-problem-profile";
  params.purpose = "prevent";
  params.portions = {"SECRET/UK EYES ONLY", "RESTRICTED"};
  return params;
}

TEST(CliPolicyExplain, AHoldIsExplainedStepByStep) {
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(profile_request("council-prevent"), out, err), exit_ok) << err.str();
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("request: ct-problem-profile for prevent, from ctu-analyst to council-prevent, 2 "
                              "portions, no occasional release available\n"));
  EXPECT_THAT(text, HasSubstr("sender    ctu-analyst \"WM CTU analysis cell\"\n"));
  EXPECT_THAT(text, HasSubstr("  3. combining (deny-overrides): no deny applies and no permit applies: default deny\n"));
  EXPECT_THAT(text, HasSubstr("  => WITHHELD [no_rule_permits] (no rule): no rule permits SECRET ct-problem-profile "
                              "for prevent from ctu-analyst to council-prevent; profile-to-heads-of-service permits "
                              "only up to RESTRICTED\n"));
  EXPECT_THAT(text, HasSubstr("decision: HOLD\n"));
}

TEST(CliPolicyExplain, ADenialExits2) {
  PolicyExplainParams params = profile_request("council-prevent");
  params.file = kPolicies / "need-to-know.yaml";
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(params, out, err), exit_denied);
  EXPECT_THAT(out.str(), HasSubstr("3. combining (deny-overrides): deny no-ct-material-outside-policing applies; the first deny"));
  EXPECT_THAT(out.str(), HasSubstr("decision: DENY\n  reason: denied by no-ct-material-outside-policing\n"));
}

TEST(CliPolicyExplain, FromARequestFileAsJson) {
  TempDir dir("cli-explain-request");
  const auto request = dir.write("request.yaml", R"(from: bcu-commander
to: council-chief-exec
category: operational-prebriefing
purpose: consequence-management
portions: ["SECRET/UK EYES ONLY", RESTRICTED]
occasional_available: true
)");
  PolicyExplainParams params;
  params.file = kPolicies / "need-to-share.yaml";
  params.request = request;
  params.json = true;
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(params, out, err), exit_ok) << err.str();
  EXPECT_THAT(out.str(), HasSubstr(R"("decision":"RELEASE")"));
  EXPECT_THAT(out.str(), HasSubstr(R"("clearance":{"outcome":"occasional_used")"));
  EXPECT_THAT(out.str(), HasSubstr(R"("used_occasional":true)"));
}

TEST(CliPolicyExplain, ArgumentsAreCheckedBeforeWork) {
  PolicyExplainParams nothing;
  nothing.file = kPolicies / "need-to-share.yaml";
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(nothing, out, err), exit_error);
  EXPECT_THAT(err.str(), HasSubstr("--from is required"));
  EXPECT_THAT(err.str(), Not(HasSubstr("--purpose"))) << "a request may have no purpose";
  EXPECT_THAT(err.str(), HasSubstr("at least one --portion"));

  std::ostringstream typo_out, typo_err;
  EXPECT_EQ(run_policy_explain(profile_request("council-prevnt"), typo_out, typo_err), exit_error);
  EXPECT_THAT(typo_err.str(), HasSubstr("node 'council-prevnt' is not defined by"));
  EXPECT_THAT(typo_err.str(), HasSubstr("did you mean 'council-prevent'?"));

  PolicyExplainParams both = profile_request("council-prevent");
  both.request = "request.yaml";
  std::ostringstream both_out, both_err;
  EXPECT_EQ(run_policy_explain(both, both_out, both_err), exit_error);
  EXPECT_THAT(both_err.str(), HasSubstr("not both"));

  PolicyExplainParams bad_label = profile_request("council-prevent");
  bad_label.portions = {"SECRET//X"};
  std::ostringstream label_out, label_err;
  EXPECT_EQ(run_policy_explain(bad_label, label_out, label_err), exit_error);
  EXPECT_THAT(label_err.str(), HasSubstr("invalid label 'SECRET//X'"));
}

// Issue 13 (17): a request without a purpose is one the gateway accepts;
// explain takes it, and says that only rules naming no purpose apply.
TEST(CliPolicyExplain, ARequestWithoutAPurpose) {
  PolicyExplainParams params = profile_request("council-prevent");
  params.purpose.clear();
  params.portions = {"RESTRICTED"};
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(params, out, err), exit_denied) << err.str();
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("request: ct-problem-profile for no purpose, from ctu-analyst to council-prevent, 1 "
                              "portion, no occasional release available\n"));
  EXPECT_THAT(text, ::testing::ContainsRegex("no +profile-to-heads-of-service +permit +[^ ]+  purpose: the request "
                                             "has no purpose, and the rule covers only \\[prevent, safeguarding\\]\n"));
  EXPECT_THAT(text, HasSubstr("no rule permits ct-problem-profile for no purpose from ctu-analyst to "
                              "council-prevent"));

  PolicyExplainParams from_file;
  TempDir dir("cli-explain-no-purpose");
  from_file.file = params.file;
  from_file.request = dir.write("request.yaml", "from: ctu-analyst\nto: council-prevent\ncategory: "
                                                "ct-problem-profile\nportions: [RESTRICTED]\n");
  std::ostringstream file_out, file_err;
  EXPECT_EQ(run_policy_explain(from_file, file_out, file_err), exit_denied) << file_err.str();
  EXPECT_THAT(file_out.str(), HasSubstr("for no purpose"));
}

// Issue 13 (17): under a policy whose occasional allowance is 0 the gateway
// never has an occasional release to give; explaining a request that assumes
// one would describe a decision that cannot happen.
TEST(CliPolicyExplain, AnOccasionalReleaseThePolicyNeverAllowsIsRefused) {
  PolicyExplainParams params;
  params.file = kPolicies / "demo.yaml";
  params.from = "ctu-wm";
  params.to = "npt-sparkhill";
  params.category = "ct-problem-profile";
  params.purpose = "prevent";
  params.portions = {"SECRET/UK EYES ONLY"};
  params.occasional = true;
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(params, out, err), exit_error);
  EXPECT_THAT(err.str(), HasSubstr("--occasional: policy demo allows no occasional releases (occasional_allowance "
                                   "releases: 0)"));
  EXPECT_TRUE(out.str().empty()) << out.str();
}

TEST(CliPolicyExplain, AnInvalidPolicyExits3) {
  TempDir dir("cli-explain-invalid");
  PolicyExplainParams params = profile_request("b");
  params.file = dir.write("invalid.yaml", "policy: invalid\n");
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(params, out, err), exit_invalid_policy);
  EXPECT_THAT(out.str(), HasSubstr("error[P004]"));
}

// ---- fmt --------------------------------------------------------------------------------------------

constexpr std::string_view kUnformatted = "# a small policy\nscheme: s.yaml\npolicy: p   # its name\nlevels:\n  - a\n";
constexpr std::string_view kFormatted = "# a small policy\npolicy: p  # its name\nscheme: s.yaml\nlevels: [a]\n";

TEST(CliPolicyFmt, CheckListsUnformattedFilesAndChangesNothing) {
  TempDir dir("cli-fmt-check");
  const auto messy = dir.write("messy.yaml", kUnformatted);
  const auto tidy = dir.write("tidy.yaml", kFormatted);
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_fmt({{messy, tidy}, true, false}, out, err), exit_error);
  EXPECT_THAT(out.str(), HasSubstr("not formatted: " + messy.string() + "\n"));
  EXPECT_THAT(out.str(), Not(HasSubstr("not formatted: " + tidy.string())));
  EXPECT_EQ(read_file(messy), kUnformatted);

  std::ostringstream tidy_out, tidy_err;
  EXPECT_EQ(run_policy_fmt({{tidy}, true, false}, tidy_out, tidy_err), exit_ok);
}

TEST(CliPolicyFmt, DiffShowsTheChangeAndChangesNothing) {
  TempDir dir("cli-fmt-diff");
  const auto messy = dir.write("messy.yaml", kUnformatted);
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_fmt({{messy}, false, true}, out, err), exit_ok);
  const std::string name = messy.relative_path().generic_string();
  EXPECT_THAT(out.str(), HasSubstr("--- a/" + name + "\n+++ b/" + name + "\n@@ -1,5 +1,4 @@\n"));
  EXPECT_THAT(out.str(), HasSubstr("\n # a small policy\n+policy: p  # its name\n scheme: s.yaml\n-policy: p   # its "
                                   "name\n-levels:\n-  - a\n+levels: [a]\n"));
  EXPECT_EQ(read_file(messy), kUnformatted);
}

TEST(CliPolicyFmt, WritesInPlaceAndIsThenCanonical) {
  TempDir dir("cli-fmt-write");
  const auto messy = dir.write("messy.yaml", kUnformatted);
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_fmt({{messy}}, out, err), exit_ok) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("formatted " + messy.string()));
  EXPECT_EQ(read_file(messy), kFormatted);
  EXPECT_FALSE(std::filesystem::exists(messy.string() + ".fmt-tmp"));
  std::ostringstream again_out, again_err;
  EXPECT_EQ(run_policy_fmt({{messy}, true, false}, again_out, again_err), exit_ok);
}

TEST(CliPolicyFmt, NotYamlExits3AndMissingFilesExit1) {
  TempDir dir("cli-fmt-bad");
  const auto broken = dir.write("broken.yaml", "policy: [unclosed\n");
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_fmt({{broken}}, out, err), exit_invalid_policy);
  EXPECT_THAT(err.str(), HasSubstr("error[P001]"));
  EXPECT_EQ(read_file(broken), "policy: [unclosed\n");

  std::ostringstream missing_out, missing_err;
  EXPECT_EQ(run_policy_fmt({{dir.path() / "missing.yaml"}}, missing_out, missing_err), exit_error);
}

TEST(CliPolicyFmt, TheShippedSchemesAreCanonical) {
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_fmt({{kPolicies / "schemes" / "gpms-2008.yaml", kPolicies / "schemes" / "gsc-2014.yaml"}, true,
                            false},
                           out, err),
            exit_ok)
      << out.str();
}

// ---- A policy with peers (the federation example) ----------------------------------------------

// A copy of policies/federation/ beside the scheme its policies name, with
// each gateway's CA made by the project's own PKI when `with_cas`, as
// `icegate pki init pki/gw-...` would make it. Returns the federation folder.
std::filesystem::path federation_copy(const TempDir& dir, bool with_cas) {
  std::filesystem::create_directories(dir.path() / "schemes");
  std::filesystem::copy(kPolicies / "schemes" / "gsc-2014.yaml", dir.path() / "schemes" / "gsc-2014.yaml");
  std::filesystem::copy(kPolicies / "federation", dir.path() / "federation");
  if (with_cas) {
    for (const char* id : {"gw-wm-ctu", "gw-birmingham", "gw-staffordshire"}) {
      pki::init_ca(dir.path() / "federation" / "pki" / id, id);
    }
  }
  return dir.path() / "federation";
}

TEST(CliPolicyCheck, TheFederationPoliciesCheckCleanWithTheirPeersCas) {
  TempDir dir("cli-check-federation");
  const std::filesystem::path federation = federation_copy(dir, true);
  for (const char* name : {"wm-ctu.yaml", "birmingham-cc.yaml", "staffordshire.yaml"}) {
    std::ostringstream out, err;
    EXPECT_EQ(run_policy_check({federation / name}, out, err), exit_ok) << out.str() << err.str();
    EXPECT_EQ(out.str(), (federation / name).string() + ": valid, no warnings\n");
  }
}

// ---- explain across gateways ------------------------------------------------------------------

PolicyExplainParams ctu_profile_for_the_council() {
  PolicyExplainParams params;
  params.file = kPolicies / "federation" / "wm-ctu.yaml";
  params.at = kPolicies / "federation" / "birmingham-cc.yaml";
  params.from = "wm-ctu-analyst-1";
  params.to = "bcc-prevent-coordinator";
  params.addressee = "org:birmingham-cc";
  params.category = "ct-problem-profile";
  params.purpose = "prevent";
  params.portions = {"OFFICIAL", "SECRET/UK EYES ONLY", "OFFICIAL-SENSITIVE/PERSONAL"};
  return params;
}

TEST(CliPolicyExplain, AcrossGatewaysNamesWhatEachHopWithheldAndTheDestinationsDecision) {
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(ctu_profile_for_the_council(), out, err), exit_ok) << err.str();
  EXPECT_EQ(out.str(),
            "wm-ctu-analyst-1 to bcc-prevent-coordinator, ct-problem-profile for prevent, across gateways gw-wm-ctu "
            "-> gw-birmingham\n"
            "hop 1: gw-wm-ctu -> gw-birmingham (org:birmingham-cc): forwarded_redacted\n"
            "  forwarded: portions 1, 3\n"
            "  withheld: portion 2 (SECRET/UK EYES ONLY): above_ceiling: SECRET is above gw-birmingham's "
            "accreditation, which holds up to OFFICIAL-SENSITIVE\n"
            "at gw-birmingham, under " +
                (kPolicies / "federation" / "birmingham-cc.yaml").string() +
                ": RELEASE for bcc-prevent-coordinator: released in full under ctu-products-to-council-leads\n"
                "  released: portions 1, 3\n");
  EXPECT_EQ(err.str(), "");
}

TEST(CliPolicyExplain, AcrossGatewaysTheDestinationsOwnRulesDecide) {
  PolicyExplainParams params = ctu_profile_for_the_council();
  params.to = "bcc-housing-officer-1";
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(params, out, err), exit_denied) << err.str();
  EXPECT_THAT(out.str(), HasSubstr(": DENY for bcc-housing-officer-1: no rule permits ct-problem-profile for prevent "
                                   "from wm-ctu-analyst-1 to bcc-housing-officer-1\n"));
}

TEST(CliPolicyExplain, AcrossGatewaysWhatIsNotSentSaysWhy) {
  PolicyExplainParams params = ctu_profile_for_the_council();
  params.category = "intelligence-report";
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(params, out, err), exit_denied) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("hop 1: gw-wm-ctu -> gw-birmingham (org:birmingham-cc): not_sent\n"
                                   "  not sent: category_not_received: gw-birmingham may not receive information "
                                   "category 'intelligence-report'"));
  EXPECT_THAT(out.str(), Not(HasSubstr("at gw-birmingham")));
}

TEST(CliPolicyExplain, AcrossGatewaysAPathTheRoutingDoesNotTakeIsAnError) {
  // The CTU reaches Staffordshire's neighbourhood policing directly, not through the council.
  PolicyExplainParams params = ctu_profile_for_the_council();
  params.via = {kPolicies / "federation" / "birmingham-cc.yaml"};
  params.at = kPolicies / "federation" / "staffordshire.yaml";
  params.to = "staffs-npt-inspector-1";
  params.addressee = "org:staffs-police";
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(params, out, err), exit_error);
  EXPECT_THAT(err.str(), HasSubstr("the addressees are routed to [gw-staffordshire], none of which is "
                                   "birmingham-cc's gateway"));
  // And --via or --addressee without --at is a mistake, not a local explanation.
  PolicyExplainParams local = ctu_profile_for_the_council();
  local.at.clear();
  std::ostringstream local_out, local_err;
  EXPECT_EQ(run_policy_explain(local, local_out, local_err), exit_error);
  EXPECT_THAT(local_err.str(), HasSubstr("give the recipient's gateway's policy with --at"));
}

// The federation's policies with Staffordshire marking under GPMS (2008) and
// the CTU accepting GPMS labels (docs/FEDERATION.md, "Different schemes").
std::filesystem::path federation_across_schemes(const TempDir& dir) {
  const std::filesystem::path federation = federation_copy(dir, false);
  std::filesystem::copy(kPolicies / "schemes" / "gpms-2008.yaml", dir.path() / "schemes" / "gpms-2008.yaml");
  const auto rewrite = [&](const char* name, const std::vector<std::pair<std::string, std::string>>& edits) {
    std::ifstream in(federation / name);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& [from, to] : edits) {
      for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
      }
    }
    std::ofstream(federation / name) << text;
  };
  rewrite("staffordshire.yaml", {{"scheme: ../schemes/gsc-2014.yaml",
                                  "scheme: ../schemes/gpms-2008.yaml\naccept_schemes: [../schemes/gsc-2014.yaml]"},
                                 {"OFFICIAL-SENSITIVE", "RESTRICTED"},
                                 {"occasional: SECRET\n", "occasional: CONFIDENTIAL\n"},
                                 {", LOCSEN]", "]"}});
  rewrite("wm-ctu.yaml", {{"scheme: ../schemes/gsc-2014.yaml",
                           "scheme: ../schemes/gsc-2014.yaml\naccept_schemes: [../schemes/gpms-2008.yaml]"}});
  return federation;
}

PolicyExplainParams gpms_report_for_the_ctu(const std::filesystem::path& federation) {
  PolicyExplainParams params;
  params.file = federation / "staffordshire.yaml";
  params.at = federation / "wm-ctu.yaml";
  params.from = "staffs-ctio-1";
  params.to = "wm-ctu-analyst-1";
  params.addressee = "role:ct-analyst";
  params.category = "tension-report";
  params.purpose = "prevent";
  params.portions = {"PROTECT", "SECRET/UK EYES ONLY"};
  return params;
}

TEST(CliPolicyExplain, AcrossSchemesTheTranslationEachGatewayDecidedOnIsShown) {
  TempDir dir("cli-explain-schemes");
  const std::filesystem::path federation = federation_across_schemes(dir);
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(gpms_report_for_the_ctu(federation), out, err), exit_ok) << err.str() << out.str();
  EXPECT_THAT(out.str(), HasSubstr("hop 1: gw-staffordshire -> gw-wm-ctu (role:ct-analyst): forwarded\n"
                                   "  forwarded: portions 1, 2\n"
                                   "  at gw-wm-ctu: labels translated from gpms-2008 to gsc-2014: portion 1 PROTECT "
                                   "-> OFFICIAL, portion 2 SECRET/UK EYES ONLY -> SECRET/UK EYES ONLY\n"));
  EXPECT_THAT(out.str(), HasSubstr(": RELEASE for wm-ctu-analyst-1: "));
}

TEST(CliPolicyExplain, AcrossSchemesALabelWithNoFaithfulTranslationIsRefusedSayingWhy) {
  TempDir dir("cli-explain-schemes-refused");
  PolicyExplainParams params = gpms_report_for_the_ctu(federation_across_schemes(dir));
  params.portions = {"PROTECT", "CONFIDENTIAL"};
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(params, out, err), exit_denied) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("refused at gw-wm-ctu: translation-ambiguous: portion '2' label CONFIDENTIAL under "
                                   "gpms-2008 has no faithful mapping to gsc-2014: classification CONFIDENTIAL may be "
                                   "any of OFFICIAL-SENSITIVE, SECRET under gsc-2014"));
}

TEST(CliPolicyCheck, APeersMissingCaIsAnErrorNamingThePeerAndTheFile) {
  TempDir dir("cli-check-federation-no-ca");
  const std::filesystem::path federation = federation_copy(dir, false);
  const std::filesystem::path file = federation / "wm-ctu.yaml";
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_check({file}, out, err), exit_invalid_policy);
  EXPECT_EQ(out.str(), fmt::format("{0}:105:9: error[P054]: cannot read the CA file of peer 'gw-birmingham', "
                                   "'{1}/pki/gw-birmingham/ca.crt': No such file or directory\n"
                                   "{0}:119:9: error[P054]: cannot read the CA file of peer 'gw-staffordshire', "
                                   "'{1}/pki/gw-staffordshire/ca.crt': No such file or directory\n"
                                   "{0}: invalid policy: 2 errors, 0 warnings\n",
                                   file.string(), federation.string()));
}

TEST(CliPolicyCheck, APeersProblemsAreListedAtTheirPlaceAsJson) {
  TempDir dir("cli-check-peers");
  const auto file = dir.write("peers.yaml", R"(policy: peers
scheme: {scheme: s, classifications: [{name: LOW}]}
information_categories: [report]
purposes: [prevent]
peers:
  - id: gw-a
    address: gw-a.example
    ca: a.crt
    holds: {max_classification: LOW}
    receives: {categories: [report], purposes: [prevent]}
    speaks_for: {organisations: [far]}
  - id: gw-b
    ca: b.crt
    holds: {max_classification: LOW}
    receives: {categories: [report], purposes: [prevent]}
    speaks_for: {organisations: [far]}
)");
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_check({file, false, true}, out, err), exit_invalid_policy);
  EXPECT_THAT(out.str(), HasSubstr(R"("valid":false,"errors":2,"warnings":0)"));
  EXPECT_THAT(out.str(), HasSubstr(R"("code":"P053","title":"peer address is not host:port",)"
                                   R"("file":")" + file.string() + R"(","line":7,"column":14,)"
                                   R"("message":"address 'gw-a.example' of peer 'gw-a' is not host:port: no port: write host:port"})"));
  EXPECT_THAT(out.str(), HasSubstr(R"("code":"P051","title":"two peers speak for the same name",)"));
  EXPECT_THAT(out.str(), HasSubstr(R"("related":{"file":")" + file.string() + R"(","line":11,"column":34})"));
}

TEST(CliPolicyExplain, APolicyWithPeersExplainsAsBefore) {
  PolicyExplainParams params;
  params.file = kPolicies / "federation" / "birmingham-cc.yaml";
  params.from = "bcc-housing-officer-1";
  params.to = "bcc-prevent-coordinator";
  params.category = "tension-report";
  params.purpose = "prevent";
  params.portions = {"OFFICIAL-SENSITIVE/PERSONAL"};
  std::ostringstream out, err;
  EXPECT_EQ(run_policy_explain(params, out, err), exit_ok) << err.str() << out.str();
  EXPECT_THAT(out.str(), HasSubstr("front-line-reports"));

  params.to = "bcc-chief-executive";
  std::ostringstream denied_out, denied_err;
  EXPECT_EQ(run_policy_explain(params, denied_out, denied_err), exit_denied) << denied_err.str();
}

}  // namespace
}  // namespace icegate::cli

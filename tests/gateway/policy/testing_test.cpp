// Policy test files (gateway/policy/testing.hpp): reading them, with every
// problem located; running them, with a diff line per unmet expectation; and
// rule coverage.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/policy/engine.hpp"
#include "gateway/policy/testing.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::Found;
using testing::rendered;

const std::filesystem::path kPolicies = ICEGATE_SOURCE_DIR "/policies";

std::shared_ptr<const CompiledPolicy> need_to_share() {
  static std::shared_ptr<const CompiledPolicy> policy = load_policy(kPolicies / "need-to-share.yaml").policy;
  return policy;
}

// Reads `text` as if it were policies/tests/inline.test.yaml.
PolicyTestFile read(std::string_view text) {
  return load_policy_tests_text(text, kPolicies / "tests" / "inline.test.yaml");
}

TEST(PolicyTestFileFormat, ReadsRequestsExpectationsAndLocations) {
  PolicyTestFile file = read(R"(policy: ../need-to-share.yaml
description: a few cases
tests:
  - name: short form
    request: {from: ctu-analyst, to: council-prevent, category: ct-problem-profile, purpose: prevent,
              portions: ["SECRET / UK EYES ONLY", RESTRICTED]}
    expect: {decision: HOLD, withheld: ["1"], review_roles: [council-critical-reader]}
  - name: long form
    description: portions with ids, labels as mappings
    request:
      from: ctu-analyst
      to: ctio-east
      category: ct-problem-profile
      purpose: prevent
      occasional_available: true
      portions:
        - {id: secret, label: {classification: SECRET, categories: [UK EYES ONLY, UK EYES ONLY]}}
        - {label: RESTRICTED}
    expect:
      decision: RELEASE
      released: [secret, "2"]
      rules: [ct-material-to-police]
      originator_control: true
      no_onward_sharing: false
      occasional: false
      reason_contains: released in full
)");
  ASSERT_TRUE(file.diagnostics.empty()) << testing::joined(rendered(file.diagnostics));
  EXPECT_EQ(file.policy, (kPolicies / "need-to-share.yaml").lexically_normal());
  EXPECT_EQ(file.policy_location.line, 1);
  EXPECT_EQ(file.description, "a few cases");
  ASSERT_EQ(file.cases.size(), 2u);

  const PolicyTestCase& first = file.cases[0];
  EXPECT_EQ(first.name, "short form");
  EXPECT_EQ(first.location.line, 4);
  EXPECT_EQ(first.request.from, (PolicyTestName{"ctu-analyst", {file.file.string(), 5, 21}}));
  ASSERT_EQ(first.request.portions.size(), 2u);
  EXPECT_EQ(first.request.portions[0].id, "1");
  EXPECT_EQ(first.request.portions[0].label, (Label{"SECRET", {"UK EYES ONLY"}})) << "parts are trimmed";
  EXPECT_EQ(first.request.portions[1].id, "2");
  EXPECT_EQ(first.request.portions[1].label, (Label{"RESTRICTED", {}}));
  EXPECT_FALSE(first.request.occasional_available);
  EXPECT_EQ(first.expect.decision, Decision::hold);
  EXPECT_EQ(first.expect.withheld, (std::vector<std::string>{"1"}));
  EXPECT_FALSE(first.expect.released.has_value());
  EXPECT_FALSE(first.expect.rules.has_value()) << "an absent expectation is not checked";

  const PolicyTestCase& second = file.cases[1];
  EXPECT_EQ(second.description, "portions with ids, labels as mappings");
  EXPECT_TRUE(second.request.occasional_available);
  EXPECT_EQ(second.request.portions[0].id, "secret");
  EXPECT_EQ(second.request.portions[0].label, (Label{"SECRET", {"UK EYES ONLY"}}));
  EXPECT_EQ(second.request.portions[1].id, "2");
  EXPECT_EQ(second.expect.originator_control, true);
  EXPECT_EQ(second.expect.no_onward_sharing, false);
  EXPECT_EQ(second.expect.reason_contains, "released in full");

  PolicyTestRun run = run_policy_tests(*need_to_share(), file.cases);
  ASSERT_EQ(run.results.size(), 2u);
  for (const PolicyTestResult& result : run.results) {
    EXPECT_TRUE(result.passed) << result.name << "\n" << testing::joined(result.differences);
  }
  EXPECT_EQ(run.passed(), 2u);
  EXPECT_TRUE(run.all_passed());
}

// Issue 13 (15): policies/README.md and policy-test.schema.json allow a
// portion written as a bare label mapping, not only as a string or {id, label}.
TEST(PolicyTestFileFormat, APortionMayBeABareLabelMapping) {
  PolicyTestFile file = read(R"(policy: ../need-to-share.yaml
tests:
  - name: bare label mappings
    request:
      from: ctu-analyst
      to: council-prevent
      category: ct-problem-profile
      purpose: prevent
      portions:
        - {classification: SECRET, categories: [UK EYES ONLY]}
        - classification: RESTRICTED
        - {id: partner, label: {classification: PROTECT}}
    expect: {decision: HOLD, withheld: ["1"], released: ["2", partner]}
)");
  ASSERT_TRUE(file.diagnostics.empty()) << testing::joined(rendered(file.diagnostics));
  ASSERT_EQ(file.cases.size(), 1u);
  const std::vector<PolicyTestPortion>& portions = file.cases[0].request.portions;
  ASSERT_EQ(portions.size(), 3u);
  EXPECT_EQ(portions[0].id, "1");
  EXPECT_EQ(portions[0].label, (Label{"SECRET", {"UK EYES ONLY"}}));
  EXPECT_EQ(portions[0].location.line, 10);
  EXPECT_EQ(portions[1].id, "2");
  EXPECT_EQ(portions[1].label, (Label{"RESTRICTED", {}}));
  EXPECT_EQ(portions[2].id, "partner");
  PolicyTestRun run = run_policy_tests(*need_to_share(), file.cases);
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_TRUE(run.results[0].passed) << testing::joined(run.results[0].differences);

  // A bare label mapping is a label: it has no id, and its keys are checked.
  PolicyTestFile wrong = read(R"(policy: ../need-to-share.yaml
tests:
  - name: a bare label with a typo
    request: {from: a, to: b, category: c, purpose: p, portions: [{classification: LOW, categries: [X]}]}
    expect: {decision: DENY}
)");
  const std::string f = wrong.file.string();
  EXPECT_THAT(rendered(wrong.diagnostics),
              ElementsAre(f + ":4:89: error[T002]: unknown key 'categries' in label; did you mean 'categories'?"));
}

// Issue 13 (17): a request may have no purpose; then only rules naming no
// purpose apply (policies/README.md, "Decisions").
TEST(PolicyTestRunner, ARequestWithoutAPurposeIsDecidedByRulesNamingNone) {
  testing::TempDir dir("policy-tests-no-purpose");
  const auto policy_file = dir.write("policy.yaml", std::string("policy: p\n") + std::string(testing::kSmallScheme) +
                                                        R"(vetting:
  - {name: v, regular: HIGH}
organisations:
  - {id: o, kind: k}
roles:
  - {id: r}
nodes:
  - {id: a, organisation: o, role: r, vetting: v}
  - {id: b, organisation: o, role: r, vetting: v}
information_categories: [c]
purposes: [p]
rules:
  - {id: a-to-b-for-p, effect: permit, purposes: [p], from: {nodes: [a]}}
  - {id: b-to-a-for-anything, effect: permit, from: {nodes: [b]}}
)");
  const auto tests = dir.write("p.test.yaml", R"(policy: policy.yaml
tests:
  - name: a rule naming a purpose does not apply
    request: {from: a, to: b, category: c, portions: [LOW]}
    expect: {decision: DENY, rules: [], reason_contains: "no rule permits c for no purpose from a to b"}
  - name: a rule naming none does
    request: {from: b, to: a, category: c, portions: [LOW]}
    expect: {decision: RELEASE, rules: [b-to-a-for-anything]}
  - name: with the purpose
    request: {from: a, to: b, category: c, purpose: p, portions: [LOW]}
    expect: {decision: RELEASE, rules: [a-to-b-for-p]}
)");
  PolicyTestFile file = load_policy_tests(tests);
  ASSERT_TRUE(file.diagnostics.empty()) << testing::joined(rendered(file.diagnostics));
  ASSERT_EQ(file.cases.size(), 3u);
  EXPECT_TRUE(file.cases[0].request.purpose.value.empty());
  LoadResult policy = load_policy(policy_file);
  ASSERT_TRUE(policy.policy);
  PolicyTestRun run = run_policy_tests(*policy.policy, file.cases);
  EXPECT_TRUE(run.diagnostics.empty()) << testing::joined(rendered(run.diagnostics));
  for (const PolicyTestResult& result : run.results) {
    EXPECT_TRUE(result.passed) << result.name << "\n" << testing::joined(result.differences);
  }
}

// Issue 13 (17): the gateway never has an occasional release to give under a
// policy whose occasional_allowance allows none, so a case that assumes one
// is an error (T014), not a passing case about a decision that cannot happen.
TEST(PolicyTestRunner, AnOccasionalReleaseThePolicyNeverAllowsIsAnError) {
  const auto policy = testing::load_inline(R"(vetting:
  - {name: v, regular: LOW, occasional: HIGH}
occasional_allowance: {releases: 0, window: 30d}
organisations:
  - {id: o, kind: k}
roles:
  - {id: r}
nodes:
  - {id: a, organisation: o, role: r, vetting: v}
  - {id: b, organisation: o, role: r, vetting: v}
information_categories: [c]
purposes: [p]
rules:
  - {id: all, effect: permit}
)");
  ASSERT_TRUE(policy);
  PolicyTestFile file = read(R"(policy: ../inline.yaml
tests:
  - name: none available
    request: {from: a, to: b, category: c, purpose: p, portions: [HIGH], occasional_available: false}
    expect: {decision: DENY}
  - name: one assumed
    request: {from: a, to: b, category: c, purpose: p, portions: [HIGH], occasional_available: true}
    expect: {decision: RELEASE, occasional: true}
)");
  ASSERT_TRUE(file.diagnostics.empty()) << testing::joined(rendered(file.diagnostics));
  PolicyTestRun run = run_policy_tests(*policy, file.cases);
  const std::string f = file.file.string();
  EXPECT_THAT(rendered(run.diagnostics),
              ElementsAre(f + ":7:96: error[T014]: 'occasional_available' is true, but policy inline allows no "
                              "occasional releases (occasional_allowance releases: 0): the gateway never has one to "
                              "give"));
  ASSERT_EQ(run.results.size(), 2u);
  EXPECT_TRUE(run.results[0].passed) << testing::joined(run.results[0].differences);
  EXPECT_FALSE(run.results[1].passed);
  EXPECT_THAT(run.results[1].differences,
              ElementsAre("occasional_available: 'occasional_available' is true, but policy inline allows no "
                          "occasional releases (occasional_allowance releases: 0): the gateway never has one to give"));
}

TEST(PolicyTestRunner, AWrongExpectationGivesOneDiffLinePerField) {
  PolicyTestFile file = read(R"(policy: ../need-to-share.yaml
tests:
  - name: everything wrong
    request: {from: ctu-analyst, to: council-prevent, category: ct-problem-profile, purpose: prevent,
              portions: ["SECRET/UK EYES ONLY", RESTRICTED]}
    expect:
      decision: RELEASE_REDACTED
      withheld: []
      released: ["1", "2"]
      rules: [profile-to-strategic-leads, ct-material-to-police]
      review_roles: []
      originator_control: true
      no_onward_sharing: true
      occasional: true
      reason_contains: released in full
  - name: right
    request: {from: ctu-analyst, to: council-prevent, category: ct-problem-profile, purpose: prevent,
              portions: ["SECRET/UK EYES ONLY", RESTRICTED]}
    expect: {decision: HOLD, withheld: ["1"], rules: [profile-to-heads-of-service]}
)");
  ASSERT_TRUE(file.diagnostics.empty()) << testing::joined(rendered(file.diagnostics));
  PolicyTestRun run = run_policy_tests(*need_to_share(), file.cases);
  ASSERT_EQ(run.results.size(), 2u);
  const PolicyTestResult& wrong = run.results[0];
  EXPECT_FALSE(wrong.passed);
  EXPECT_EQ(wrong.name, "everything wrong");
  EXPECT_EQ(wrong.location.line, 3);
  EXPECT_THAT(
      wrong.differences,
      ElementsAre("decision: expected RELEASE_REDACTED, got HOLD", "withheld: expected [], got [1]",
                  "released: expected [1, 2], got [2]",
                  "rules: expected [ct-material-to-police, profile-to-strategic-leads], got [profile-to-heads-of-service]",
                  "review_roles: expected [], got [council-critical-reader]",
                  "originator_control: expected true, got false", "no_onward_sharing: expected true, got false",
                  "occasional: expected true, got false",
                  "reason: expected to contain \"released in full\", got \"held for review by council-critical-reader "
                  "under profile-to-heads-of-service; 1 of 2 portions withheld: no rule permits SECRET "
                  "ct-problem-profile for prevent from ctu-analyst to council-prevent; profile-to-heads-of-service "
                  "permits only up to RESTRICTED\""));
  EXPECT_EQ(wrong.decision.decision, Decision::hold) << "the actual decision comes with the result";
  EXPECT_TRUE(run.results[1].passed);
  EXPECT_EQ(run.passed(), 1u);
  EXPECT_EQ(run.failed(), 1u);
  EXPECT_FALSE(run.all_passed());
  EXPECT_TRUE(run.diagnostics.empty());
}

TEST(PolicyTestRunner, TheExampleFromTheBriefReadsAsDiffLines) {
  PolicyTestFile file = read(R"(policy: ../need-to-share.yaml
tests:
  - name: council gets the restricted version of a problem profile
    request:
      from: ctu-analyst
      to: council-prevent
      category: ct-problem-profile
      purpose: prevent
      portions: ["SECRET/UK EYES ONLY", RESTRICTED]
    expect:
      decision: RELEASE_REDACTED
      withheld: []
)");
  PolicyTestRun run = run_policy_tests(*need_to_share(), file.cases);
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_THAT(run.results[0].differences,
              ElementsAre("decision: expected RELEASE_REDACTED, got HOLD", "withheld: expected [], got [1]"));
}

TEST(PolicyTestRunner, CoverageCountsTheRulesThatDecidedSomePortion) {
  PolicyTestFile file = read(R"(policy: ../need-to-share.yaml
tests:
  - name: held
    request: {from: ctu-analyst, to: council-prevent, category: ct-problem-profile, purpose: prevent,
              portions: ["SECRET/UK EYES ONLY", RESTRICTED]}
    expect: {decision: HOLD}
  - name: denied by a rule
    request: {from: ctu-analyst, to: iag-chair, category: ct-problem-profile, purpose: prevent, portions: [RESTRICTED]}
    expect: {decision: DENY}
  - name: held again
    request: {from: ctu-analyst, to: school-dsl, category: ct-problem-profile, purpose: prevent, portions: [RESTRICTED]}
    expect: {decision: HOLD}
  - name: default deny exercises nothing
    request: {from: street-warden, to: iag-chair, category: referral, purpose: prevent, portions: [RESTRICTED]}
    expect: {decision: DENY}
)");
  ASSERT_TRUE(file.diagnostics.empty()) << testing::joined(rendered(file.diagnostics));
  const CompiledPolicy& policy = *need_to_share();
  PolicyTestRun run = run_policy_tests(policy, file.cases);
  EXPECT_TRUE(run.all_passed());
  auto index = [&](std::string_view id) {
    for (std::size_t i = 0; i < policy.source().rules.size(); ++i) {
      if (policy.source().rules[i].id == id) return static_cast<int>(i);
    }
    return -1;
  };
  const int heads = index("profile-to-heads-of-service");
  const int community = index("no-ct-material-to-community");
  EXPECT_THAT(run.results[0].rules, ElementsAre(heads));
  EXPECT_THAT(run.results[1].rules, ElementsAre(community));
  EXPECT_THAT(run.results[3].rules, IsEmpty());
  EXPECT_THAT(run.covered_rules(), ElementsAre(std::min(heads, community), std::max(heads, community)));
  EXPECT_EQ(run.rule_cases[static_cast<std::size_t>(heads)], 2);
  EXPECT_EQ(run.uncovered_rules().size(), policy.source().rules.size() - 2);
  EXPECT_DOUBLE_EQ(run.coverage(), 2.0 / static_cast<double>(policy.source().rules.size()));
}

TEST(PolicyTestRunner, NamesThePolicyDoesNotDefineFailTheCaseWithLocatedErrors) {
  PolicyTestFile file = read(R"(policy: ../need-to-share.yaml
tests:
  - name: typos
    request: {from: ctu-analst, to: council-prevent, category: ct-problem-profiles, purpose: prevnet,
              portions: ["SECERT/UK EYES ONLY", "PROTECT/UK EYES ONLY"]}
    expect: {decision: DENY, rules: [profile-to-heads-of-servic], review_roles: [critical-reader]}
)");
  ASSERT_TRUE(file.diagnostics.empty()) << testing::joined(rendered(file.diagnostics));
  PolicyTestRun run = run_policy_tests(*need_to_share(), file.cases);
  const std::string f = file.file.string();
  EXPECT_THAT(testing::found(run.diagnostics),
              ElementsAre(Found{Code::T011, 4, 21},
                          Found{Code::T011, 4, 64},
                          Found{Code::T011, 4, 94},
                          Found{Code::T012, 5, 26},
                          Found{Code::T012, 5, 49},
                          Found{Code::T011, 6, 38},
                          Found{Code::T011, 6, 82}));
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_FALSE(run.results[0].passed) << "a DENY is what a typo gives; it must not pass";
  EXPECT_THAT(run.results[0].differences,
              ElementsAre("from: undefined node 'ctu-analst'; did you mean 'ctu-analyst'?",
                          "category: undefined information category 'ct-problem-profiles'; did you mean "
                          "'ct-problem-profile'?",
                          "purpose: undefined purpose 'prevnet'; did you mean 'prevent'?",
                          "portion 1: invalid label 'SECERT [UK EYES ONLY]': unknown classification 'SECERT'",
                          "portion 2: invalid label 'PROTECT [UK EYES ONLY]': category 'UK EYES ONLY' is not "
                          "allowed at PROTECT",
                          "rules: undefined rule 'profile-to-heads-of-servic'; did you mean "
                          "'profile-to-heads-of-service'?",
                          "review_roles: undefined role 'critical-reader'",
                          "rules: expected [profile-to-heads-of-servic], got []",
                          "review_roles: expected [critical-reader], got []"));
}

TEST(PolicyTestFileFormat, EveryMistakeIsReportedWithItsCodeAndLocation) {
  PolicyTestFile file = read(R"(policy: ../need-to-share.yaml
tsets: []
tests:
  - name: dup
    request: {from: a, to: b, category: c, purpose: p, portions: [LOW]}
    expect: {decision: DENY}
  - name: dup
    request: {from: a, to: b, category: c, purpose: p, portions: [LOW]}
    expect: {decision: deny}
  - name: bad request
    request:
      from: a
      too: b
      category: [c]
      purpose: ""
      occasional_available: maybe
      portions:
        - "SECRET//UK EYES ONLY"
        - {id: x, label: LOW}
        - {id: x, lable: LOW}
        - [LOW]
        - {label: {categories: [A]}}
    expect:
      withheld: ["3", x]
      rules: not-a-list
      occasional: sometimes
  - name: no request
  - just a string
  - name: unknown portion
    request: {from: a, to: b, category: c, purpose: p, portions: [LOW, HIGH]}
    expect: {decision: HOLD, released: ["1", "3"], withheld: ["two"]}
)");
  const std::string f = file.file.string();
  EXPECT_THAT(testing::found(file.diagnostics),
              ElementsAre(Found{Code::T002, 2, 1},
                          Found{Code::T010, 7, 11},
                          Found{Code::T005, 9, 24},
                          Found{Code::T004, 12, 7},
                          Found{Code::T002, 13, 7},
                          Found{Code::T003, 14, 17},
                          Found{Code::T005, 15, 16},
                          Found{Code::T003, 16, 29},
                          Found{Code::T005, 18, 11},
                          Found{Code::T004, 20, 11},
                          Found{Code::T010, 20, 11},
                          Found{Code::T002, 20, 19},
                          Found{Code::T003, 21, 11},
                          Found{Code::T004, 22, 19},
                          Found{Code::T004, 24, 7},
                          Found{Code::T013, 24, 18},
                          Found{Code::T003, 25, 14},
                          Found{Code::T003, 26, 19},
                          Found{Code::T004, 27, 5},
                          Found{Code::T004, 27, 5},
                          Found{Code::T003, 28, 5},
                          Found{Code::T013, 31, 46},
                          Found{Code::T013, 31, 63}));
  ASSERT_EQ(file.cases.size(), 1u) << "only the first 'dup' reads cleanly";
  EXPECT_EQ(file.cases[0].name, "dup");
}

// ---- Table-driven cases (`each:`) ---------------------------------------------------------

TEST(PolicyTestTables, EachRowRunsAsACaseOfItsOwnAndPassesOrFailsOnItsOwn) {
  PolicyTestFile file = read(R"(policy: ../need-to-share.yaml
tests:
  - name: the profile
    request: {from: ctu-analyst, category: ct-problem-profile, purpose: prevent,
              portions: ["SECRET/UK EYES ONLY", RESTRICTED]}
    expect: {decision: RELEASE, rules: [ct-material-to-police]}
    each:
      - {to: ctio-east}
      - {name: npt, to: npt-officer, expect: {decision: RELEASE_REDACTED, withheld: ["1"]}}
      - {name: wrong, to: council-prevent}
      - name: school
        description: a row may change any field of the request
        to: school-dsl
        purpose: safeguarding
        portions: [RESTRICTED]
        expect: {decision: HOLD, rules: [profile-to-heads-of-service]}
  - name: a plain case after the table
    request: {from: ctu-analyst, to: special-branch, category: intelligence-report, purpose: pursue,
              portions: ["SECRET/UK EYES ONLY"]}
    expect: {decision: RELEASE}
)");
  ASSERT_TRUE(file.diagnostics.empty()) << testing::joined(rendered(file.diagnostics));
  ASSERT_EQ(file.cases.size(), 5u);
  std::vector<std::string> names;
  for (const PolicyTestCase& test : file.cases) names.push_back(test.name);
  EXPECT_THAT(names, ElementsAre("the profile[1]", "the profile[npt]", "the profile[wrong]", "the profile[school]",
                                 "a plain case after the table"));
  const PolicyTestCase& first = file.cases[0];
  EXPECT_EQ(first.table, "the profile");
  EXPECT_EQ(first.row, "1") << "a row without a name is named by its position, from 1";
  EXPECT_EQ(first.location.line, 8) << "a row is located at the row";
  EXPECT_EQ(first.location.column, 9);
  EXPECT_EQ(first.request.from, (PolicyTestName{"ctu-analyst", {file.file.string(), 4, 21}}))
      << "a shared field keeps the case's location";
  EXPECT_EQ(first.request.to.location.line, 8);
  const PolicyTestCase& school = file.cases[3];
  EXPECT_EQ(school.description, "a row may change any field of the request");
  EXPECT_EQ(school.request.purpose.value, "safeguarding");
  ASSERT_EQ(school.request.portions.size(), 1u);
  EXPECT_EQ(school.request.portions[0].label, (Label{"RESTRICTED", {}}));
  // The row's expect replaces the case's field by field: npt keeps the shared rules.
  EXPECT_EQ(file.cases[1].expect.decision, Decision::release_redacted);
  ASSERT_TRUE(file.cases[1].expect.rules.has_value());
  EXPECT_EQ(file.cases[1].expect.rules->at(0).value, "ct-material-to-police");
  EXPECT_EQ(file.cases[4].table, "") << "a plain case is not a row";

  PolicyTestRun run = run_policy_tests(*need_to_share(), file.cases);
  ASSERT_EQ(run.results.size(), 5u);
  EXPECT_TRUE(run.results[0].passed) << testing::joined(run.results[0].differences);
  EXPECT_TRUE(run.results[1].passed) << testing::joined(run.results[1].differences);
  EXPECT_FALSE(run.results[2].passed);
  EXPECT_EQ(run.results[2].name, "the profile[wrong]");
  EXPECT_EQ(run.results[2].location.line, 10);
  EXPECT_EQ(run.results[2].table, "the profile");
  EXPECT_EQ(run.results[2].row, "wrong");
  EXPECT_THAT(run.results[2].differences,
              ElementsAre("decision: expected RELEASE, got HOLD",
                          "rules: expected [ct-material-to-police], got [profile-to-heads-of-service]"));
  EXPECT_TRUE(run.results[3].passed) << testing::joined(run.results[3].differences);
  EXPECT_TRUE(run.results[4].passed) << testing::joined(run.results[4].differences);
  EXPECT_EQ(run.passed(), 4u);
  EXPECT_EQ(run.failed(), 1u);
}

TEST(PolicyTestTables, EveryRowErrorIsReportedAtItsPlaceAndTheOtherRowsStillRead) {
  PolicyTestFile file = read(R"(policy: ../need-to-share.yaml
tests:
  - name: t
    request: {from: ctu-analyst, category: ct-problem-profile, purpose: prevent, portions: [RESTRICTED]}
    each:
      - {to: ctio-east, expect: {decision: RELEASE}}
      - {to: ctio-east, expct: {decision: RELEASE}}
      - {to: ctio-east, portions: ["SECRET//X"], expect: {decision: RELEASE}}
      - {to: ctio-east}
      - {expect: {decision: DENY}}
      - {name: "1", to: npt-officer, expect: {decision: RELEASE}}
      - just a string
      - {to: ctio-east, expect: {decision: RELEASE, withheld: ["2"]}}
      - {to: ctio-east, expect: {decision: RELEASE}}
)");
  const std::string f = file.file.string();
  EXPECT_THAT(testing::found(file.diagnostics),
              ElementsAre(Found{Code::T004, 7, 9},
                          Found{Code::T002, 7, 25},
                          Found{Code::T005, 8, 36},
                          Found{Code::T004, 9, 9},
                          Found{Code::T004, 10, 9},
                          Found{Code::T010, 11, 16},
                          Found{Code::T003, 12, 9},
                          Found{Code::T013, 13, 64}));
  std::vector<std::string> names;
  for (const PolicyTestCase& test : file.cases) names.push_back(test.name);
  EXPECT_THAT(names, ElementsAre("t[1]", "t[9]"));
  EXPECT_EQ(file.cases_not_run, 7u);
}

TEST(PolicyTestTables, AProblemInWhatTheRowsShareIsReportedOnceAndNoRowRuns) {
  PolicyTestFile file = read(R"(policy: ../need-to-share.yaml
tests:
  - name: shared label
    request: {from: ctu-analyst, category: ct-problem-profile, purpose: prevent, portions: ["SECRET//X"]}
    expect: {decision: RELEASE}
    each: [{to: ctio-east}, {to: npt-officer, frm: x}]
  - name: not a table
    each: {to: ctio-east}
  - name: an empty table
    each: []
  - name: fine
    request: {from: ctu-analyst, to: ctio-east, category: ct-problem-profile, purpose: prevent, portions: [RESTRICTED]}
    expect: {decision: RELEASE}
)");
  const std::string f = file.file.string();
  EXPECT_THAT(rendered(file.diagnostics),
              ElementsAre(f + ":4:93: error[T005]: invalid label 'SECRET//X': expected CLASSIFICATION or "
                              "CLASSIFICATION/CATEGORY/..., with no empty part",
                          f + ":6:47: error[T002]: unknown key 'frm' in row; did you mean 'from'?",
                          f + ":8:11: error[T003]: 'each' must be a list of rows (mappings), found a mapping",
                          f + ":10:11: error[T005]: 'each' has no rows"));
  ASSERT_EQ(file.cases.size(), 1u);
  EXPECT_EQ(file.cases[0].name, "fine");
  EXPECT_EQ(file.cases_not_run, 4u) << "two rows, and each case whose table is not a list of rows";
}

TEST(PolicyTestTables, NamesThePolicyDoesNotDefineFailOnlyTheirRowAndSharedOnesAreReportedOnce) {
  PolicyTestFile file = read(R"(policy: ../need-to-share.yaml
tests:
  - name: rows
    request: {from: ctu-analyst, category: ct-problem-profile, purpose: prevent, portions: [RESTRICTED]}
    expect: {decision: RELEASE}
    each:
      - {to: ctio-east}
      - {to: ctio-eats}
      - {to: npt-officer, portions: [SECERT]}
      - {to: npt-officer, purpose: prevnet}
  - name: shared
    request: {from: ctu-analst, category: ct-problem-profile, purpose: prevent, portions: [RESTRICTED]}
    expect: {decision: DENY}
    each: [{to: ctio-east}, {to: npt-officer}]
)");
  ASSERT_TRUE(file.diagnostics.empty()) << testing::joined(rendered(file.diagnostics));
  PolicyTestRun run = run_policy_tests(*need_to_share(), file.cases);
  const std::string f = file.file.string();
  EXPECT_THAT(rendered(run.diagnostics),
              ElementsAre(f + ":8:14: error[T011]: undefined node 'ctio-eats'; did you mean 'ctio-east'?",
                          f + ":9:38: error[T012]: invalid label 'SECERT': unknown classification 'SECERT'",
                          f + ":10:36: error[T011]: undefined purpose 'prevnet'; did you mean 'prevent'?",
                          f + ":12:21: error[T011]: undefined node 'ctu-analst'; did you mean 'ctu-analyst'?"));
  ASSERT_EQ(run.results.size(), 6u);
  std::vector<bool> passed;
  for (const PolicyTestResult& result : run.results) passed.push_back(result.passed);
  EXPECT_THAT(passed, ElementsAre(true, false, false, false, false, false))
      << "a DENY is what a typo gives; the rows expecting DENY must still fail";
  EXPECT_THAT(run.results[1].differences,
              ::testing::Contains("to: undefined node 'ctio-eats'; did you mean 'ctio-east'?"));
  EXPECT_THAT(run.results[5].differences,
              ::testing::Contains("from: undefined node 'ctu-analst'; did you mean 'ctu-analyst'?"));
}

TEST(PolicyTestFileFormat, SyntaxErrorsAndUnreadableFilesHaveTestCodes) {
  PolicyTestFile broken = read("policy: x\ntests: [\n");
  auto lines = rendered(broken.diagnostics);
  ASSERT_EQ(lines.size(), 1u) << testing::joined(lines);
  EXPECT_THAT(lines[0], ::testing::HasSubstr("error[T001]: YAML syntax error"));
  EXPECT_TRUE(broken.cases.empty());

  PolicyTestFile duplicate = read("policy: x\npolicy: y\ntests:\n  - name: a\n    request: {}\n");
  EXPECT_THAT(rendered(duplicate.diagnostics),
              ::testing::Contains(::testing::HasSubstr(":2:1: error[T006]: duplicate key 'policy'")));

  PolicyTestFile empty = read("policy: x\ntests: []\n");
  EXPECT_THAT(rendered(empty.diagnostics), ElementsAre(::testing::HasSubstr(":2:8: error[T005]: 'tests' has no cases")));

  PolicyTestFile missing = load_policy_tests("/nonexistent/some.test.yaml");
  EXPECT_THAT(rendered(missing.diagnostics),
              ElementsAre("/nonexistent/some.test.yaml: error[T007]: cannot read policy test file: No such file or "
                          "directory"));

  PolicyTestFile not_a_mapping = read("- a\n- b\n");
  EXPECT_THAT(rendered(not_a_mapping.diagnostics),
              ElementsAre(::testing::HasSubstr(":1:1: error[T003]: a policy test file must be a mapping, found a list")));
}

// The parser's limits apply to test files too, under the test file code.
TEST(PolicyTestFileFormat, NestingBeyondTheLimitIsT008) {
  PolicyTestFile deep = read("policy: x\ntests: " + std::string(100, '[') + std::string(100, ']') + "\n");
  EXPECT_THAT(rendered(deep.diagnostics),
              ::testing::Contains(::testing::HasSubstr(":2:71: error[T008]: nested more than 64 levels deep")));
  EXPECT_TRUE(deep.cases.empty());
}

TEST(PolicyTestFileFormat, ThePolicyPathIsRelativeToTheTestFile) {
  testing::TempDir dir("policy-tests");
  dir.write("deep/policy.yaml", std::string("policy: p\n") + std::string(testing::kSmallScheme) + R"(vetting:
  - {name: v, regular: HIGH}
organisations:
  - {id: o, kind: k}
roles:
  - {id: r}
nodes:
  - {id: a, organisation: o, role: r, vetting: v}
  - {id: b, organisation: o, role: r, vetting: v}
information_categories: [c]
purposes: [p]
rules:
  - {id: all, effect: permit}
)");
  const std::filesystem::path tests = dir.write("deep/tests/p.test.yaml", R"(policy: ../policy.yaml
tests:
  - name: a to b
    request: {from: a, to: b, category: c, purpose: p, portions: [HIGH, LOW]}
    expect: {decision: RELEASE, rules: [all]}
)");
  PolicyTestFile file = load_policy_tests(tests);
  ASSERT_TRUE(file.diagnostics.empty()) << testing::joined(rendered(file.diagnostics));
  EXPECT_EQ(file.policy, dir.path() / "deep/policy.yaml");
  LoadResult policy = load_policy(file.policy);
  ASSERT_TRUE(policy.policy);
  PolicyTestRun run = run_policy_tests(*policy.policy, file.cases);
  EXPECT_TRUE(run.all_passed());
  EXPECT_EQ(run.coverage(), 1.0);
}

}  // namespace
}  // namespace icegate::policy

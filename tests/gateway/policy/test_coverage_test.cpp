// Why a rule no case exercised was not (gateway/policy/test_coverage.hpp):
// one small policy in which each kind of unmet condition is what blocks some
// rule, and the message must name that condition.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/policy/engine.hpp"
#include "gateway/policy/test_coverage.hpp"
#include "gateway/policy/testing.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Two cases from a to b (LOW and HIGH, category c1, purpose p1) and one from
// b to a (LOW, category c3). a-to-b and deny-high decide them; every other
// rule is blocked by one condition, named in its id.
constexpr std::string_view kPolicy = R"(vetting:
  - {name: v, regular: HIGH}
organisations:
  - {id: o, kind: k}
roles:
  - {id: r}
  - {id: lead}
nodes:
  - {id: a, organisation: o, role: r, vetting: v}
  - {id: b, organisation: o, role: r, vetting: v}
  - {id: boss, organisation: o, role: lead, vetting: v}
information_categories: [c1, c2, c3]
purposes: [p1, p2]
rules:
  - {id: a-to-b, effect: permit, categories: [c1], from: {nodes: [a]}, to: {nodes: [b]}, max_classification: MID}
  - {id: deny-high, effect: deny, from: {nodes: [a]}, min_classification: HIGH}
  - {id: needs-category-c2, effect: permit, categories: [c2]}
  - {id: needs-c2-or-c3-and-p2, effect: permit, categories: [c2, c3], purposes: [p2]}
  - {id: needs-purpose-p2, effect: permit, categories: [c1], purposes: [p2]}
  - {id: needs-a-lead-sender, effect: permit, categories: [c1], from: {roles: [lead], organisations: [o]}}
  - {id: needs-a-lead-recipient, effect: permit, from: {nodes: [a]}, to: {roles: [lead]}}
  - {id: needs-high-to-a, effect: permit, to: {nodes: [a]}, min_classification: HIGH}
  - {id: needs-mid, effect: permit, from: {nodes: [a]}, min_classification: MID, max_classification: MID}
  - {id: needs-low-from-b, effect: permit, categories: [c1], from: {nodes: [b]}, max_classification: LOW}
  - {id: shadowed-by-a-to-b-and-deny-high, effect: permit, categories: [c1], from: {nodes: [a]}}
  - {id: shadowed-by-deny-high, effect: permit, categories: [c1], min_classification: HIGH}
  - {id: later-deny, effect: deny, from: {nodes: [a]}, min_classification: HIGH}
)";

constexpr std::string_view kTests = R"(policy: ../inline.yaml
tests:
  - name: a to b, LOW
    request: {from: a, to: b, category: c1, purpose: p1, portions: [LOW]}
    expect: {decision: RELEASE, rules: [a-to-b]}
  - name: a to b
    request: {from: a, to: b, category: c1, purpose: p1, portions: [LOW]}
    expect: {decision: RELEASE}
    each:
      - {name: HIGH, portions: [HIGH], expect: {decision: DENY, rules: [deny-high]}}
  - name: b to a
    request: {from: b, to: a, category: c3, purpose: p1, portions: [LOW]}
    expect: {decision: DENY, rules: []}
)";

class RuleCoverageGaps : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = testing::load_inline(kPolicy);
    ASSERT_TRUE(policy_);
    file_ = load_policy_tests_text(kTests, std::filesystem::path(ICEGATE_SOURCE_DIR) / "policies/tests/inline.test.yaml");
    ASSERT_TRUE(file_.diagnostics.empty()) << testing::joined(testing::rendered(file_.diagnostics));
    ASSERT_EQ(file_.cases.size(), 3u);
    run_ = run_policy_tests(*policy_, file_.cases);
    for (const PolicyTestResult& result : run_.results) {
      ASSERT_TRUE(result.passed) << result.name << "\n" << testing::joined(result.differences);
    }
    gaps_ = explain_uncovered_rules(*policy_, file_.cases, run_.rule_cases);
  }

  const RuleCoverageGap& gap(std::string_view rule) const {
    for (const RuleCoverageGap& g : gaps_) {
      if (policy_->rule(g.rule).id == rule) return g;
    }
    ADD_FAILURE() << "no gap for " << rule;
    static const RuleCoverageGap none;
    return none;
  }

  std::vector<std::string> ids(const std::vector<int>& rules) const {
    std::vector<std::string> result;
    for (int rule : rules) result.push_back(policy_->rule(rule).id);
    return result;
  }

  std::shared_ptr<const CompiledPolicy> policy_;
  PolicyTestFile file_;
  PolicyTestRun run_;
  std::vector<RuleCoverageGap> gaps_;
};

TEST_F(RuleCoverageGaps, OneGapPerRuleNotExercisedInRuleOrder) {
  std::vector<std::string> uncovered = ids(run_.uncovered_rules());
  std::vector<std::string> explained;
  for (const RuleCoverageGap& g : gaps_) explained.push_back(policy_->rule(g.rule).id);
  EXPECT_EQ(explained, uncovered);
  EXPECT_EQ(uncovered.size(), policy_->source().rules.size() - 2) << "a-to-b and deny-high are exercised";
}

TEST_F(RuleCoverageGaps, TheCategoryNoCaseHad) {
  const RuleCoverageGap& one = gap("needs-category-c2");
  EXPECT_EQ(one.kind, CoverageGapKind::unmet_condition);
  EXPECT_EQ(one.condition, "category");
  EXPECT_EQ(one.message, "no case had category c2");
  EXPECT_EQ(one.reached, 3u) << "every case is tested for the first condition";
  EXPECT_THAT(one.nearest, IsEmpty()) << "naming every case says nothing";

  // c3 is there (b to a), but not with p2: the purpose blocks it, not the category.
  const RuleCoverageGap& two = gap("needs-c2-or-c3-and-p2");
  EXPECT_EQ(two.condition, "purpose");
  EXPECT_EQ(two.message, "no case had purpose p2");
  EXPECT_EQ(two.reached, 1u);
  EXPECT_THAT(two.nearest, ElementsAre("b to a"));
}

TEST_F(RuleCoverageGaps, ThePurposeNoCaseHadOfThoseWithItsCategory) {
  const RuleCoverageGap& g = gap("needs-purpose-p2");
  EXPECT_EQ(g.condition, "purpose");
  EXPECT_EQ(g.message, "no case had purpose p2");
  EXPECT_EQ(g.reached, 2u);
  EXPECT_THAT(g.nearest, ElementsAre("a to b, LOW", "a to b[HIGH]")) << "the cases with category c1, by name";
}

TEST_F(RuleCoverageGaps, TheSenderAndRecipientNoCaseMatched) {
  const RuleCoverageGap& from = gap("needs-a-lead-sender");
  EXPECT_EQ(from.condition, "from");
  EXPECT_EQ(from.message, "no case sent from a node matching from: {organisations: [o], roles: [lead]}");
  EXPECT_EQ(from.reached, 2u);

  const RuleCoverageGap& to = gap("needs-a-lead-recipient");
  EXPECT_EQ(to.condition, "to");
  EXPECT_EQ(to.message, "no case sent to a node matching to: {roles: [lead]}");
  EXPECT_THAT(to.nearest, ElementsAre("a to b, LOW", "a to b[HIGH]")) << "the cases sent from a";
}

TEST_F(RuleCoverageGaps, TheClassificationBoundsNoPortionMet) {
  const RuleCoverageGap& min = gap("needs-high-to-a");
  EXPECT_EQ(min.condition, "min_classification");
  EXPECT_EQ(min.message, "no case labelled at or above HIGH (min_classification)");
  EXPECT_THAT(min.nearest, ElementsAre("b to a"));

  // a sends LOW (below MID) and HIGH (above it): the upper bound is the one no case met.
  const RuleCoverageGap& max = gap("needs-mid");
  EXPECT_EQ(max.condition, "max_classification");
  EXPECT_EQ(max.message, "no case labelled at or above MID and at or below MID (max_classification)");
  EXPECT_THAT(max.nearest, ElementsAre("a to b[HIGH]"));

  // The cases with category c1 come from a, not b: the sender blocks it before its bound.
  const RuleCoverageGap& sender_first = gap("needs-low-from-b");
  EXPECT_EQ(sender_first.condition, "from");
  EXPECT_EQ(sender_first.message, "no case sent from a node matching from: {nodes: [b]}");
}

TEST_F(RuleCoverageGaps, AShadowedRuleNamesTheRulesThatDecidedInstead) {
  const RuleCoverageGap& both = gap("shadowed-by-a-to-b-and-deny-high");
  EXPECT_EQ(both.kind, CoverageGapKind::shadowed);
  EXPECT_EQ(both.condition, "");
  EXPECT_THAT(ids(both.decided_by), ElementsAre("a-to-b", "deny-high"));
  EXPECT_EQ(both.message,
            "every case that met all its conditions was decided by another rule: a-to-b (earlier in the file), "
            "deny-high (a deny, which overrides a permit)");
  EXPECT_EQ(both.reached, 2u);

  const RuleCoverageGap& overridden = gap("shadowed-by-deny-high");
  EXPECT_EQ(overridden.kind, CoverageGapKind::shadowed);
  EXPECT_EQ(overridden.message,
            "every case that met all its conditions was decided by deny-high, a deny, which overrides it");
  EXPECT_THAT(overridden.nearest, ElementsAre("a to b[HIGH]"));

  const RuleCoverageGap& earlier = gap("later-deny");
  EXPECT_EQ(earlier.kind, CoverageGapKind::shadowed);
  EXPECT_EQ(earlier.message, "every case that met all its conditions was decided earlier by deny-high");
}

TEST_F(RuleCoverageGaps, ACaseThatExercisesTheRuleClosesItsGap) {
  PolicyTestFile more = load_policy_tests_text(R"(policy: ../inline.yaml
tests:
  - name: the lead sends c1
    request: {from: boss, to: a, category: c1, purpose: p1, portions: [LOW]}
    expect: {decision: RELEASE, rules: [needs-a-lead-sender]}
)",
                                               std::filesystem::path(ICEGATE_SOURCE_DIR) /
                                                   "policies/tests/more.test.yaml");
  ASSERT_EQ(more.cases.size(), 1u);
  std::vector<PolicyTestCase> cases = file_.cases;
  cases.push_back(more.cases[0]);
  PolicyTestRun run = run_policy_tests(*policy_, cases);
  EXPECT_TRUE(run.all_passed());
  for (const RuleCoverageGap& g : explain_uncovered_rules(*policy_, cases, run.rule_cases)) {
    EXPECT_NE(policy_->rule(g.rule).id, "needs-a-lead-sender");
  }
}

TEST(RuleCoverageGapsWithoutCases, NoCaseRanAgainstThePolicy) {
  auto policy = testing::load_inline(kPolicy);
  ASSERT_TRUE(policy);
  const std::vector<int> none(policy->source().rules.size(), 0);
  const std::vector<RuleCoverageGap> gaps = explain_uncovered_rules(*policy, {}, none);
  ASSERT_EQ(gaps.size(), policy->source().rules.size());
  EXPECT_EQ(gaps[0].kind, CoverageGapKind::no_cases);
  EXPECT_EQ(gaps[0].message, "no case was run against this policy");
}

// The only cases that met a rule's other conditions have invalid labels
// (T012 when run): no rule decides an invalid label, and the gap says so.
TEST(RuleCoverageGapsWithoutCases, OnlyInvalidLabelsReachedThePortionConditions) {
  auto policy = testing::load_inline(R"(vetting:
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
  - {id: a-to-b, effect: permit, from: {nodes: [a]}}
)");
  ASSERT_TRUE(policy);
  PolicyTestFile file = load_policy_tests_text(R"(policy: ../inline.yaml
tests:
  - name: a typo in the label
    request: {from: a, to: b, category: c, portions: [HIHG]}
    expect: {decision: DENY}
)",
                                               std::filesystem::path(ICEGATE_SOURCE_DIR) /
                                                   "policies/tests/inline.test.yaml");
  ASSERT_EQ(file.cases.size(), 1u);
  const std::vector<RuleCoverageGap> gaps = explain_uncovered_rules(*policy, file.cases, std::vector<int>{0});
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].condition, "portions");
  EXPECT_EQ(gaps[0].message, "no case had a portion with a valid label");
}

TEST(SubjectMatcherText, TheFieldsAMatcherSetsInFileOrder) {
  SubjectMatcher matcher;
  EXPECT_EQ(to_string(matcher), "{}");
  matcher.lists = {"l"};
  matcher.ct_network = false;
  matcher.roles = {"x", "y"};
  matcher.nodes = {"n"};
  EXPECT_EQ(to_string(matcher), "{nodes: [n], roles: [x, y], ct_network: false, lists: [l]}");
}

}  // namespace
}  // namespace icegate::policy

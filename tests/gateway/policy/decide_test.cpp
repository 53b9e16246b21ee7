// Stage 4: decisions. First the demo policy's three outcomes, then each rule
// kind and matcher field on small inline policies.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/policy/engine.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class DemoPolicy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    LoadResult result = load_policy(ICEGATE_SOURCE_DIR "/policies/demo.yaml");
    ASSERT_FALSE(result.diagnostics.has_errors()) << testing::joined(testing::rendered(result.diagnostics));
    policy_ = result.policy;
  }
  static void TearDownTestSuite() { policy_.reset(); }

  PolicyDecision decide(std::string_view recipient, bool occasional_available = false,
                        std::string_view purpose = "prevent", std::string_view category = "ct-problem-profile") {
    DecisionRequest request;
    request.sender = "ctu-wm";
    request.recipient = recipient;
    request.category = category;
    request.purpose = purpose;
    request.portion_labels = labels_;
    request.occasional_available = occasional_available;
    return policy_->decide(request);
  }

  int rule_index(std::string_view id) const {
    const auto& rules = policy_->source().rules;
    for (std::size_t i = 0; i < rules.size(); ++i) {
      if (rules[i].id == id) return static_cast<int>(i);
    }
    ADD_FAILURE() << "no rule " << id;
    return -2;
  }

  static inline std::shared_ptr<const CompiledPolicy> policy_;
  // The two-level CT neighbourhood problem profile.
  const std::vector<Label> labels_{Label{"SECRET", {"UK EYES ONLY"}}, Label{"RESTRICTED", {}}};
};

TEST_F(DemoPolicy, PoliceReceiveBothLevels) {
  PolicyDecision decision = decide("ctio-east");
  EXPECT_EQ(decision.decision, Decision::release);
  ASSERT_EQ(decision.portions.size(), 2u);
  for (const PortionDecision& portion : decision.portions) {
    EXPECT_TRUE(portion.released);
    EXPECT_EQ(portion.reason, PortionReason::none);
    EXPECT_EQ(portion.rule, rule_index("profile-to-police"));
    EXPECT_FALSE(portion.occasional);
  }
  EXPECT_THAT(decision.rules, ElementsAre(rule_index("profile-to-police")));
  EXPECT_EQ(decision.reason, "released in full under profile-to-police");
  EXPECT_FALSE(decision.used_occasional);
}

TEST_F(DemoPolicy, CouncilReceivesOnlyTheRestrictedPortion) {
  PolicyDecision decision = decide("council-prevent");
  EXPECT_EQ(decision.decision, Decision::release_redacted);
  ASSERT_EQ(decision.portions.size(), 2u);
  const PortionDecision& secret = decision.portions[0];
  EXPECT_FALSE(secret.released);
  EXPECT_EQ(secret.reason, PortionReason::no_rule_permits);
  EXPECT_EQ(secret.rule, -1);
  EXPECT_EQ(secret.detail,
            "no rule permits SECRET ct-problem-profile for prevent from ctu-wm to council-prevent; "
            "profile-to-council-restricted permits only up to RESTRICTED");
  const PortionDecision& restricted = decision.portions[1];
  EXPECT_TRUE(restricted.released);
  EXPECT_EQ(restricted.rule, rule_index("profile-to-council-restricted"));
  EXPECT_THAT(decision.rules, ElementsAre(rule_index("profile-to-council-restricted")));
  EXPECT_THAT(decision.reason, ::testing::StartsWith("1 of 2 portions withheld: no rule permits SECRET"));
}

TEST_F(DemoPolicy, NeighbourhoodTeamNeedsTheOccasionalAllowanceForSecret) {
  PolicyDecision without = decide("npt-sparkhill");
  EXPECT_EQ(without.decision, Decision::release_redacted);
  EXPECT_FALSE(without.portions[0].released);
  EXPECT_EQ(without.portions[0].reason, PortionReason::occasional_unavailable);
  EXPECT_EQ(without.portions[0].rule, rule_index("profile-to-police")) << "the permit that applied is named";
  EXPECT_TRUE(without.portions[1].released);
  EXPECT_EQ(without.reason,
            "1 of 2 portions withheld: SECRET is above BPSS's regular ceiling RESTRICTED and no occasional "
            "release is available");
  EXPECT_FALSE(without.used_occasional);

  PolicyDecision with = decide("npt-sparkhill", /*occasional_available=*/true);
  EXPECT_EQ(with.decision, Decision::release);
  EXPECT_TRUE(with.portions[0].released);
  EXPECT_TRUE(with.portions[0].occasional);
  EXPECT_FALSE(with.portions[1].occasional) << "RESTRICTED is within BPSS's regular ceiling";
  EXPECT_TRUE(with.used_occasional);
  EXPECT_EQ(with.reason, "released in full under profile-to-police, using an occasional release");
}

TEST_F(DemoPolicy, CommunityGroupIsDeniedByTheDenyRule) {
  PolicyDecision decision = decide("iag-birmingham");
  EXPECT_EQ(decision.decision, Decision::deny);
  for (const PortionDecision& portion : decision.portions) {
    EXPECT_FALSE(portion.released);
    EXPECT_EQ(portion.reason, PortionReason::denied_by_rule);
    EXPECT_EQ(portion.rule, rule_index("no-ct-material-to-community"));
  }
  EXPECT_THAT(decision.rules, ElementsAre(rule_index("no-ct-material-to-community")));
  EXPECT_EQ(decision.reason, "denied by no-ct-material-to-community");
}

TEST_F(DemoPolicy, WrongPurposeFallsToDefaultDeny) {
  PolicyDecision decision = decide("ctio-east", false, "consequence-management");
  EXPECT_EQ(decision.decision, Decision::deny);
  for (const PortionDecision& portion : decision.portions) {
    EXPECT_EQ(portion.reason, PortionReason::no_rule_permits);
    EXPECT_EQ(portion.rule, -1);
  }
  EXPECT_TRUE(decision.rules.empty());
  EXPECT_EQ(decision.reason,
            "no rule permits ct-problem-profile for consequence-management from ctu-wm to ctio-east");
}

TEST_F(DemoPolicy, UnknownCategoryPurposeOrNodesDenyWithoutThrowing) {
  EXPECT_EQ(decide("ctio-east", false, "prevent", "no-such-category").decision, Decision::deny);
  EXPECT_EQ(decide("ctio-east", false, "no-such-purpose").decision, Decision::deny);
  PolicyDecision unknown = decide("nobody");
  EXPECT_EQ(unknown.decision, Decision::deny);
  EXPECT_EQ(unknown.reason, "recipient 'nobody' is not a node of this policy");
}

TEST_F(DemoPolicy, NoPortionsMeansDeny) {
  DecisionRequest request;
  request.sender = "ctu-wm";
  request.recipient = "ctio-east";
  request.category = "ct-problem-profile";
  request.purpose = "prevent";
  PolicyDecision decision = policy_->decide(request);
  EXPECT_EQ(decision.decision, Decision::deny);
  EXPECT_TRUE(decision.portions.empty());
  EXPECT_TRUE(decision.rules.empty());
}

TEST_F(DemoPolicy, InvalidLabelIsWithheldWithItsProblems) {
  const std::vector<Label> labels{Label{"PROTECT", {"UK EYES ONLY"}}, Label{"RESTRICTED", {}}};
  DecisionRequest request;
  request.sender = "ctu-wm";
  request.recipient = "ctio-east";
  request.category = "ct-problem-profile";
  request.purpose = "prevent";
  request.portion_labels = labels;
  PolicyDecision decision = policy_->decide(request);
  EXPECT_EQ(decision.decision, Decision::release_redacted);
  EXPECT_EQ(decision.portions[0].reason, PortionReason::invalid_label);
  EXPECT_EQ(decision.portions[0].rule, -1);
  EXPECT_EQ(decision.portions[0].detail, "invalid label: category 'UK EYES ONLY' is not allowed at PROTECT");
}

TEST_F(DemoPolicy, TensionReportsFlowUpToTheCtNetwork) {
  const std::vector<Label> labels{Label{"RESTRICTED", {}}};
  DecisionRequest request;
  request.sender = "npt-sparkhill";
  request.recipient = "ctu-wm";
  request.category = "tension-report";
  request.purpose = "consequence-management";
  request.portion_labels = labels;
  EXPECT_EQ(policy_->decide(request).decision, Decision::release);
  request.recipient = "ctio-east";  // not in the CT network
  EXPECT_EQ(policy_->decide(request).decision, Decision::deny);
}

// ---- Rule kinds and matcher fields on a small policy ----------------------------

constexpr std::string_view kPeople = R"(levels: [strategic, tactical, delivery]
vetting:
  - {name: low, regular: LOW}
  - {name: mid, regular: MID, occasional: HIGH}
  - {name: high, regular: HIGH}
occasional_allowance: {releases: 1, window: 1d}
organisations:
  - {id: unit, kind: ctu, ct_network: true}
  - {id: police, kind: bcu}
  - {id: council, kind: council}
  - {id: community, kind: iag}
roles:
  - {id: analyst, level: tactical}
  - {id: chief, level: strategic}
  - {id: officer, level: delivery}
nodes:
  - {id: analyst-1, organisation: unit, role: analyst, vetting: high, categories: [EYES, EARS, REL A, REL B]}
  - {id: chief-1, organisation: council, role: chief, vetting: mid, categories: [EYES]}
  - {id: officer-1, organisation: police, role: officer, vetting: low}
  - {id: officer-2, organisation: police, role: officer, vetting: high, categories: [EYES, REL B]}
  - {id: member-1, organisation: community, role: officer, vetting: low}
information_categories: [report, briefing]
purposes: [prevent, pursue]
)";

PolicyDecision decide(const CompiledPolicy& policy, std::string_view from, std::string_view to,
                      std::vector<Label> labels, std::string_view category = "report",
                      std::string_view purpose = "prevent", bool occasional = false) {
  DecisionRequest request;
  request.sender = from;
  request.recipient = to;
  request.category = category;
  request.purpose = purpose;
  request.portion_labels = labels;
  request.occasional_available = occasional;
  return policy.decide(request);
}

Decision decision_for(const CompiledPolicy& policy, std::string_view from, std::string_view to,
                      std::string_view category = "report", std::string_view purpose = "prevent") {
  return decide(policy, from, to, {Label{"LOW", {}}}, category, purpose).decision;
}

TEST(PolicyRules, EmptyMatcherCategoriesAndPurposesMatchEverything) {
  auto policy = testing::load_inline(std::string(kPeople) + "rules:\n  - {id: all, effect: permit}\n");
  ASSERT_TRUE(policy);
  EXPECT_EQ(decision_for(*policy, "analyst-1", "member-1", "briefing", "pursue"), Decision::release);
  EXPECT_EQ(decision_for(*policy, "member-1", "chief-1", "undeclared", "undeclared"), Decision::release);
}

TEST(PolicyRules, CategoriesAndPurposesAreOrWithinAndAcross) {
  auto policy = testing::load_inline(std::string(kPeople) + R"(rules:
  - {id: r, effect: permit, categories: [report, briefing], purposes: [pursue]}
)");
  ASSERT_TRUE(policy);
  EXPECT_EQ(decision_for(*policy, "analyst-1", "chief-1", "report", "pursue"), Decision::release);
  EXPECT_EQ(decision_for(*policy, "analyst-1", "chief-1", "briefing", "pursue"), Decision::release);
  EXPECT_EQ(decision_for(*policy, "analyst-1", "chief-1", "report", "prevent"), Decision::deny);
}

struct MatcherCase {
  std::string name;
  std::string matcher;                  // the `to:` matcher
  std::vector<std::string> recipients;  // who it matches, of the nodes other than analyst-1
};

// Readable, stable test names in ctest rather than a byte dump.
void PrintTo(const MatcherCase& matcher_case, std::ostream* out) { *out << matcher_case.matcher; }

class PolicyMatcher : public ::testing::TestWithParam<MatcherCase> {};

TEST_P(PolicyMatcher, MatchesExactlyTheseRecipients) {
  auto policy = testing::load_inline(std::string(kPeople) + "rules:\n  - id: r\n    effect: permit\n    to: " +
                                     GetParam().matcher + "\n");
  ASSERT_TRUE(policy);
  std::vector<std::string> released;
  for (const char* node : {"chief-1", "officer-1", "officer-2", "member-1"}) {
    if (decision_for(*policy, "analyst-1", node) == Decision::release) released.push_back(node);
  }
  EXPECT_EQ(released, GetParam().recipients) << "matcher " << GetParam().matcher;
}

INSTANTIATE_TEST_SUITE_P(
    EachField, PolicyMatcher,
    ::testing::Values(
        MatcherCase{"empty", "{}", {"chief-1", "officer-1", "officer-2", "member-1"}},
        MatcherCase{"nodes", "{nodes: [officer-2, chief-1]}", {"chief-1", "officer-2"}},
        MatcherCase{"organisations", "{organisations: [police]}", {"officer-1", "officer-2"}},
        MatcherCase{"organisation_kinds", "{organisation_kinds: [council, iag]}", {"chief-1", "member-1"}},
        MatcherCase{"roles", "{roles: [officer]}", {"officer-1", "officer-2", "member-1"}},
        MatcherCase{"levels", "{levels: [strategic]}", {"chief-1"}},
        MatcherCase{"ct_network_false", "{ct_network: false}", {"chief-1", "officer-1", "officer-2", "member-1"}},
        MatcherCase{"ct_network_true", "{ct_network: true}", {}},
        // Fields combine with AND.
        MatcherCase{"roles_and_kinds", "{roles: [officer], organisation_kinds: [bcu]}", {"officer-1", "officer-2"}},
        MatcherCase{"roles_and_nodes", "{roles: [officer], nodes: [officer-1, chief-1]}", {"officer-1"}}),
    [](const ::testing::TestParamInfo<MatcherCase>& info) { return info.param.name; });

TEST(PolicyRules, FromMatcherTestsTheSender) {
  auto policy = testing::load_inline(std::string(kPeople) + R"(rules:
  - {id: up, effect: permit, from: {levels: [delivery]}, to: {ct_network: true}}
)");
  ASSERT_TRUE(policy);
  EXPECT_EQ(decision_for(*policy, "officer-1", "analyst-1"), Decision::release);
  EXPECT_EQ(decision_for(*policy, "chief-1", "analyst-1"), Decision::deny);
  EXPECT_EQ(decision_for(*policy, "analyst-1", "officer-1"), Decision::deny);
}

TEST(PolicyRules, DenyOverridesAPermitWhateverTheOrder) {
  auto policy = testing::load_inline(std::string(kPeople) + R"(rules:
  - {id: permit-all, effect: permit}
  - {id: deny-high, effect: deny, min_classification: HIGH, to: {roles: [officer]}}
  - {id: deny-again, effect: deny, min_classification: MID}
)");
  ASSERT_TRUE(policy);
  auto decision = decide(*policy, "analyst-1", "officer-2", {Label{"HIGH", {}}, Label{"MID", {}}, Label{"LOW", {}}});
  EXPECT_EQ(decision.decision, Decision::release_redacted);
  EXPECT_EQ(decision.portions[0].reason, PortionReason::denied_by_rule);
  EXPECT_EQ(decision.portions[0].rule, 1) << "the first applicable deny in file order";
  EXPECT_EQ(decision.portions[1].rule, 2);
  EXPECT_EQ(decision.portions[2].rule, 0);
  EXPECT_TRUE(decision.portions[2].released);
  EXPECT_THAT(decision.rules, ElementsAre(0, 1, 2));
  EXPECT_EQ(decision.reason, "2 of 3 portions withheld: denied by deny-high");
}

TEST(PolicyRules, FirstApplicablePermitDecides) {
  auto policy = testing::load_inline(std::string(kPeople) + R"(rules:
  - {id: narrow, effect: permit, min_classification: MID, max_classification: MID}
  - {id: wide, effect: permit}
)");
  ASSERT_TRUE(policy);
  auto decision = decide(*policy, "analyst-1", "officer-2", {Label{"MID", {}}, Label{"LOW", {}}});
  EXPECT_EQ(decision.portions[0].rule, 0);
  EXPECT_EQ(decision.portions[1].rule, 1);
  EXPECT_EQ(decision.reason, "released in full under narrow and wide");
}

TEST(PolicyRules, BoundsHintNamesTheNearMiss) {
  auto policy = testing::load_inline(std::string(kPeople) + R"(rules:
  - {id: mid-up, effect: permit, min_classification: MID}
  - {id: only-mid, effect: permit, min_classification: MID, max_classification: MID}
)");
  ASSERT_TRUE(policy);
  auto low = decide(*policy, "analyst-1", "officer-2", {Label{"LOW", {}}});
  EXPECT_EQ(low.portions[0].reason, PortionReason::no_rule_permits);
  EXPECT_THAT(low.portions[0].detail, HasSubstr("; mid-up permits only from MID"));
}

TEST(PolicyClearance, RegularOccasionalAndAboveCeiling) {
  auto policy = testing::load_inline(std::string(kPeople) + "rules:\n  - {id: all, effect: permit}\n");
  ASSERT_TRUE(policy);
  // chief-1 is vetted `mid`: regular MID, occasional HIGH.
  auto regular = decide(*policy, "analyst-1", "chief-1", {Label{"MID", {}}});
  EXPECT_TRUE(regular.portions[0].released);
  EXPECT_FALSE(regular.portions[0].occasional);
  auto unavailable = decide(*policy, "analyst-1", "chief-1", {Label{"HIGH", {}}});
  EXPECT_EQ(unavailable.portions[0].reason, PortionReason::occasional_unavailable);
  EXPECT_EQ(unavailable.portions[0].rule, 0);
  auto occasional = decide(*policy, "analyst-1", "chief-1", {Label{"HIGH", {}}}, "report", "prevent", true);
  EXPECT_TRUE(occasional.portions[0].released);
  EXPECT_TRUE(occasional.portions[0].occasional);
  EXPECT_TRUE(occasional.used_occasional);
  // officer-1 is vetted `low`: no occasional headroom at all.
  auto above = decide(*policy, "analyst-1", "officer-1", {Label{"MID", {}}}, "report", "prevent", true);
  EXPECT_EQ(above.decision, Decision::deny);
  EXPECT_EQ(above.portions[0].reason, PortionReason::above_clearance);
  EXPECT_EQ(above.portions[0].detail, "MID is above low's ceiling LOW");
  EXPECT_EQ(above.reason, "MID is above low's ceiling LOW");
}

TEST(PolicyCategories, RestrictivePermissiveAndInformativeSets) {
  auto policy = testing::load_inline(std::string(kPeople) + "rules:\n  - {id: all, effect: permit}\n");
  ASSERT_TRUE(policy);
  auto released = [&](std::string_view to, Label label) {
    return decide(*policy, "analyst-1", to, {std::move(label)}).portions[0];
  };
  // Restrictive: every one on the label must be held.
  EXPECT_TRUE(released("officer-2", Label{"HIGH", {"EYES"}}).released);
  auto missing = released("officer-2", Label{"HIGH", {"EARS", "EYES"}});
  EXPECT_EQ(missing.reason, PortionReason::missing_category);
  EXPECT_EQ(missing.detail, "officer-2 does not hold EARS");
  EXPECT_EQ(missing.rule, 0);
  // Permissive: at least one of the label's categories from the set.
  EXPECT_TRUE(released("officer-2", Label{"HIGH", {"REL A", "REL B"}}).released);
  auto none = released("officer-2", Label{"HIGH", {"REL A"}});
  EXPECT_EQ(none.reason, PortionReason::missing_category);
  EXPECT_EQ(none.detail, "officer-2 holds none of REL A");
  EXPECT_EQ(released("officer-1", Label{"LOW", {"REL A", "REL B"}}).detail, "officer-1 holds none of REL A, REL B");
  // Informative: no effect on access (PERSONAL needs EYES on the label to be valid).
  EXPECT_TRUE(released("officer-2", Label{"HIGH", {"EYES", "PERSONAL"}}).released);
}

TEST(PolicyCategories, ClearanceIsCheckedBeforeCategories) {
  auto policy = testing::load_inline(std::string(kPeople) + "rules:\n  - {id: all, effect: permit}\n");
  ASSERT_TRUE(policy);
  auto portion = decide(*policy, "analyst-1", "officer-1", {Label{"HIGH", {"EYES"}}}).portions[0];
  EXPECT_EQ(portion.reason, PortionReason::above_clearance);
  // A failed category check cancels an occasional release.
  auto occasional = decide(*policy, "analyst-1", "chief-1", {Label{"HIGH", {"EARS"}}}, "report", "prevent", true);
  EXPECT_EQ(occasional.portions[0].reason, PortionReason::missing_category);
  EXPECT_FALSE(occasional.portions[0].occasional);
  EXPECT_FALSE(occasional.used_occasional);
}

}  // namespace
}  // namespace icegate::policy

// Rule handling (critical reader review, originator control, no onward
// sharing), events, list matchers and the helpers the gateway uses to act on
// holds: each on a small inline policy, then the errors each new key can give.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/policy/engine.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// LOW < MID < HIGH; EYES restrictive, REL A/REL B permissive (policy_test_support.hpp).
constexpr std::string_view kPeople = R"(levels: [strategic, tactical, delivery]
vetting:
  - {name: low, regular: LOW}
  - {name: mid, regular: MID, occasional: HIGH}
  - {name: high, regular: HIGH}
occasional_allowance: {releases: 1, window: 1d}
organisations:
  - {id: unit, kind: ctu, ct_network: true}
  - {id: council, kind: council}
  - {id: community, kind: iag}
roles:
  - {id: analyst, level: tactical}
  - {id: reader, level: tactical}
  - {id: senior-reader, level: strategic}
  - {id: head, level: tactical}
  - {id: chief, level: strategic}
  - {id: sio, level: strategic}
  - {id: member, level: delivery}
nodes:
  - {id: analyst-1, organisation: unit, role: analyst, vetting: high, categories: [EYES, EARS, REL A]}
  - {id: sio-1, organisation: unit, role: sio, vetting: high, categories: [EYES]}
  - {id: reader-1, organisation: council, role: reader, vetting: high, categories: [EYES]}
  - {id: reader-2, organisation: council, role: reader, vetting: mid}
  - {id: senior-1, organisation: council, role: senior-reader, vetting: high, categories: [EYES, EARS]}
  - {id: head-1, organisation: council, role: head, vetting: mid, categories: [EYES]}
  - {id: head-2, organisation: council, role: head, vetting: low}
  - {id: chief-1, organisation: council, role: chief, vetting: mid, categories: [EYES, REL B]}
  - {id: member-1, organisation: community, role: member, vetting: low}
lists:
  - {id: heads, nodes: [head-1, head-2]}
  - {id: leaders, roles: [chief], nodes: [sio-1]}
information_categories: [profile, prebriefing, statement]
purposes: [prevent, consequence-management]
)";

PolicyDecision decide(const CompiledPolicy& policy, std::string_view from, std::string_view to,
                      std::vector<Label> labels, std::string_view category = "profile",
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

std::shared_ptr<const CompiledPolicy> with_rules(std::string_view rules) {
  return testing::load_inline(std::string(kPeople) + std::string(rules));
}

// ---- Review: HOLD, with who must approve ------------------------------------------------

constexpr std::string_view kReviewRules = R"(rules:
  - id: to-reader
    effect: permit
    categories: [profile]
    to: {roles: [reader]}
  - id: to-heads
    effect: permit
    categories: [profile]
    to: {lists: [heads]}
    max_classification: MID
    handling:
      review_by: [reader]
  - id: to-chief
    effect: permit
    categories: [profile]
    to: {roles: [chief]}
    max_classification: MID
    handling: {review_by: [senior-reader, reader], no_onward_sharing: true}
  - id: to-chief-high
    effect: permit
    categories: [profile]
    to: {roles: [chief]}
    min_classification: HIGH
    handling: {originator_control: true}
)";

TEST(PolicyReview, AReviewedReleaseIsHeldAndSaysWhoMustApprove) {
  auto policy = with_rules(kReviewRules);
  ASSERT_TRUE(policy);
  PolicyDecision decision = decide(*policy, "analyst-1", "head-1", {Label{"HIGH", {"EYES"}}, Label{"MID", {}}});
  EXPECT_EQ(decision.decision, Decision::hold);
  ASSERT_EQ(decision.portions.size(), 2u);
  EXPECT_FALSE(decision.portions[0].released) << "HIGH is above the rule's bound";
  EXPECT_EQ(decision.portions[0].reason, PortionReason::no_rule_permits);
  EXPECT_TRUE(decision.portions[1].released) << "what would be released once approved";
  EXPECT_EQ(decision.portions[1].rule, 1);
  EXPECT_THAT(decision.review_roles, ElementsAre("reader"));
  EXPECT_THAT(decision.rules, ElementsAre(1));
  EXPECT_FALSE(decision.originator_control);
  EXPECT_FALSE(decision.no_onward_sharing);
  EXPECT_EQ(decision.reason,
            "held for review by reader under to-heads; 1 of 2 portions withheld: no rule permits HIGH profile for "
            "prevent from analyst-1 to head-1; to-heads permits only up to MID");

  PolicyDecision whole = decide(*policy, "analyst-1", "head-1", {Label{"MID", {"EYES"}}, Label{"LOW", {}}});
  EXPECT_EQ(whole.decision, Decision::hold);
  EXPECT_EQ(whole.reason, "held for review by reader under to-heads");
}

TEST(PolicyReview, NothingReleasedMeansDenyNotHold) {
  auto policy = with_rules(kReviewRules);
  ASSERT_TRUE(policy);
  // head-2 is vetted low: the permit with review applies, but clearance withholds.
  PolicyDecision decision = decide(*policy, "analyst-1", "head-2", {Label{"MID", {}}});
  EXPECT_EQ(decision.decision, Decision::deny);
  EXPECT_EQ(decision.portions[0].reason, PortionReason::above_clearance);
  EXPECT_THAT(decision.rules, ElementsAre(1)) << "the permit that applied is still named";
  EXPECT_THAT(decision.review_roles, IsEmpty()) << "only rules that released something count";
  EXPECT_EQ(decision.reason, "MID is above low's ceiling LOW");
}

TEST(PolicyReview, RolesAreTheSortedUnionAndFlagsComeFromEveryReleasingRule) {
  auto policy = with_rules(kReviewRules);
  ASSERT_TRUE(policy);
  // chief-1 (mid, occasional HIGH): MID under to-chief (review, no onward
  // sharing), HIGH under to-chief-high (originator control) when occasional.
  PolicyDecision decision = decide(*policy, "analyst-1", "chief-1", {Label{"HIGH", {}}, Label{"MID", {}}}, "profile",
                                   "prevent", /*occasional=*/true);
  EXPECT_EQ(decision.decision, Decision::hold);
  EXPECT_TRUE(decision.portions[0].released);
  EXPECT_TRUE(decision.portions[0].occasional);
  EXPECT_THAT(decision.rules, ElementsAre(2, 3));
  EXPECT_THAT(decision.review_roles, ElementsAre("reader", "senior-reader"));
  EXPECT_TRUE(decision.originator_control);
  EXPECT_TRUE(decision.no_onward_sharing);
  EXPECT_TRUE(decision.used_occasional);
  EXPECT_EQ(decision.reason, "held for review by reader or senior-reader under to-chief, using an occasional release");

  // Without the occasional release the HIGH portion is withheld, and with it
  // the originator control of the rule that would have released it.
  PolicyDecision without = decide(*policy, "analyst-1", "chief-1", {Label{"HIGH", {}}, Label{"MID", {}}});
  EXPECT_EQ(without.decision, Decision::hold);
  EXPECT_FALSE(without.originator_control);
  EXPECT_TRUE(without.no_onward_sharing);
}

TEST(PolicyReview, AReleaseWithoutReviewIsUnchanged) {
  auto policy = with_rules(kReviewRules);
  ASSERT_TRUE(policy);
  PolicyDecision decision = decide(*policy, "analyst-1", "reader-1", {Label{"HIGH", {"EYES"}}});
  EXPECT_EQ(decision.decision, Decision::release);
  EXPECT_THAT(decision.review_roles, IsEmpty());
  EXPECT_EQ(decision.reason, "released in full under to-reader");
}

TEST(PolicyReview, ADenyStillOverridesAReviewedPermit) {
  auto policy = with_rules(std::string(kReviewRules) + R"(  - {id: no-heads, effect: deny, to: {nodes: [head-1]}}
)");
  ASSERT_TRUE(policy);
  PolicyDecision decision = decide(*policy, "analyst-1", "head-1", {Label{"MID", {}}});
  EXPECT_EQ(decision.decision, Decision::deny);
  EXPECT_EQ(decision.reason, "denied by no-heads");
  EXPECT_THAT(decision.review_roles, IsEmpty());
}

TEST(PolicyHandling, FlagsWithoutReviewAreReportedOnARelease) {
  auto policy = with_rules(R"(rules:
  - id: prebrief
    effect: permit
    categories: [prebriefing]
    to: {lists: [leaders]}
    handling: {originator_control: true, no_onward_sharing: true}
  - id: plain
    effect: permit
    categories: [statement]
)");
  ASSERT_TRUE(policy);
  PolicyDecision decision = decide(*policy, "analyst-1", "chief-1", {Label{"MID", {}}}, "prebriefing");
  EXPECT_EQ(decision.decision, Decision::release);
  EXPECT_TRUE(decision.originator_control);
  EXPECT_TRUE(decision.no_onward_sharing);
  PolicyDecision plain = decide(*policy, "analyst-1", "chief-1", {Label{"MID", {}}}, "statement");
  EXPECT_FALSE(plain.originator_control);
  EXPECT_FALSE(plain.no_onward_sharing);
  // A denied message carries no handling: nothing was released.
  PolicyDecision denied = decide(*policy, "analyst-1", "member-1", {Label{"MID", {}}}, "prebriefing");
  EXPECT_EQ(denied.decision, Decision::deny);
  EXPECT_FALSE(denied.originator_control);
}

// ---- List matchers ------------------------------------------------------------------------

TEST(PolicyMatcherLists, AListMatchesItsNodesAndTheHoldersOfItsRoles) {
  auto policy = with_rules("rules:\n  - {id: r, effect: permit, to: {lists: [leaders]}}\n");
  ASSERT_TRUE(policy);
  std::vector<std::string> released;
  for (const Node& node : policy->source().nodes) {
    if (decide(*policy, "analyst-1", node.id, {Label{"LOW", {}}}).decision == Decision::release) {
      released.push_back(node.id);
    }
  }
  EXPECT_THAT(released, ElementsAre("sio-1", "chief-1"));
}

// ---- Events -------------------------------------------------------------------------------

TEST(PolicyEvents, WhoMayTriggerWhat) {
  auto policy = with_rules(R"(events:
  - id: operation-start
    description: the operation begins
    triggered_by: {roles: [sio]}
  - id: anyone
    triggered_by: {}
  - id: leaders-only
    triggered_by: {lists: [leaders], levels: [strategic]}
)");
  ASSERT_TRUE(policy);
  ASSERT_EQ(policy->source().events.size(), 3u);
  EXPECT_EQ(policy->source().events[0].description, "the operation begins");
  EXPECT_TRUE(policy->has_event("operation-start"));
  EXPECT_FALSE(policy->has_event("operation-end"));
  ASSERT_NE(policy->find_event("anyone"), nullptr);
  EXPECT_EQ(policy->find_event("anyone")->id, "anyone");
  EXPECT_TRUE(policy->may_trigger("sio-1", "operation-start"));
  EXPECT_FALSE(policy->may_trigger("analyst-1", "operation-start"));
  EXPECT_FALSE(policy->may_trigger("stranger", "operation-start"));
  EXPECT_FALSE(policy->may_trigger("sio-1", "no-such-event"));
  EXPECT_TRUE(policy->may_trigger("member-1", "anyone"));
  EXPECT_TRUE(policy->may_trigger("chief-1", "leaders-only"));
  EXPECT_TRUE(policy->may_trigger("sio-1", "leaders-only"));
  EXPECT_FALSE(policy->may_trigger("head-1", "leaders-only"));
}

// ---- Helpers for holds --------------------------------------------------------------------

TEST(PolicyHelpers, HoldsRoleAndNodesWithRoleInPolicyOrder) {
  auto policy = with_rules("");
  ASSERT_TRUE(policy);
  EXPECT_TRUE(policy->holds_role("reader-1", "reader"));
  EXPECT_FALSE(policy->holds_role("reader-1", "head"));
  EXPECT_FALSE(policy->holds_role("stranger", "reader"));
  EXPECT_THAT(policy->nodes_with_role("reader"), ElementsAre("reader-1", "reader-2"));
  EXPECT_THAT(policy->nodes_with_role("head"), ElementsAre("head-1", "head-2"));
  EXPECT_THAT(policy->nodes_with_role("nobody"), IsEmpty());
}

TEST(PolicyHelpers, ClearedForUsesTheRegularCeilingAndCategoriesOnly) {
  auto policy = with_rules("");  // no rules at all: cleared_for ignores rules
  ASSERT_TRUE(policy);
  EXPECT_TRUE(policy->cleared_for("reader-1", Label{"HIGH", {"EYES"}}));
  // reader-2 is vetted mid: occasional HIGH does not count for a reviewer.
  EXPECT_TRUE(policy->cleared_for("reader-2", Label{"MID", {}}));
  EXPECT_FALSE(policy->cleared_for("reader-2", Label{"HIGH", {}}));
  // Restrictive: every one held.
  EXPECT_FALSE(policy->cleared_for("reader-2", Label{"MID", {"EYES"}}));
  EXPECT_FALSE(policy->cleared_for("reader-1", Label{"HIGH", {"EARS", "EYES"}}));
  EXPECT_TRUE(policy->cleared_for("senior-1", Label{"HIGH", {"EARS", "EYES"}}));
  // Permissive: one of the label's from the set.
  EXPECT_TRUE(policy->cleared_for("analyst-1", Label{"LOW", {"REL A", "REL B"}}));
  EXPECT_FALSE(policy->cleared_for("reader-1", Label{"LOW", {"REL A", "REL B"}}));
  // Informative categories have no effect (PERSONAL needs EYES on the label).
  EXPECT_TRUE(policy->cleared_for("reader-1", Label{"HIGH", {"EYES", "PERSONAL"}}));
  // Invalid labels and unknown nodes are never cleared.
  EXPECT_FALSE(policy->cleared_for("reader-1", Label{"SECRET", {}}));
  EXPECT_FALSE(policy->cleared_for("reader-1", Label{"HIGH", {"NOSE"}}));
  EXPECT_FALSE(policy->cleared_for("reader-1", Label{"LOW", {"EYES"}})) << "EYES is excluded at LOW";
  EXPECT_FALSE(policy->cleared_for("stranger", Label{"LOW", {}}));
}

// ---- Errors -------------------------------------------------------------------------------

std::vector<std::string> problems_in(std::string_view body) {
  LoadResult result = load_policy_text(std::string("policy: p\n") + std::string(testing::kSmallScheme) +
                                           std::string(kPeople) + std::string(body),
                                       "bad.yaml");
  EXPECT_EQ(result.policy, nullptr);
  return testing::rendered(result.diagnostics);
}

// "policy: p", kSmallScheme (26 lines) and kPeople (33): `body` starts on line 61.
TEST(PolicyHandlingValidation, EveryProblemWithHandlingIsReportedWhereItIsWritten) {
  EXPECT_THAT(problems_in(R"(rules:
  - id: r1
    effect: permit
    handling:
      review_by: [raeder, nobody-holds-this]
      originator_control: yes
      no_onward_sharing: true
      reviewed_by: [reader]
  - id: r2
    effect: deny
    handling: {no_onward_sharing: true}
  - id: r3
    effect: permit
    handling: [review_by]
  - id: r4
    effect: permit
    to: {lists: [head]}
    handling: {review_by: reader}
roles2: []
)"),
              ElementsAre("bad.yaml:65:19: error[P011]: undefined role 'raeder'; did you mean 'reader'?",
                          "bad.yaml:65:27: error[P011]: undefined role 'nobody-holds-this'",
                          "bad.yaml:66:27: error[P003]: 'originator_control' must be true or false, found a string",
                          "bad.yaml:68:7: error[P002]: unknown key 'reviewed_by' in 'handling'; did you mean "
                          "'review_by'?",
                          "bad.yaml:71:5: error[P013]: deny rule 'r2' has 'handling', which applies only to what a "
                          "permit rule releases",
                          "bad.yaml:74:15: error[P003]: 'handling' must be a mapping, found a list",
                          "bad.yaml:77:18: error[P011]: undefined list 'head'; did you mean 'heads'?",
                          "bad.yaml:78:27: error[P003]: 'review_by' must be a list of strings, found a string",
                          ::testing::StartsWith("bad.yaml:79:1: error[P002]: unknown key 'roles2' in the policy")));
}

TEST(PolicyHandlingValidation, AReviewerRoleNoNodeHoldsIsAnError) {
  LoadResult result = load_policy_text(std::string("policy: p\n") + std::string(testing::kSmallScheme) + R"(vetting:
  - {name: v, regular: LOW}
organisations:
  - {id: o, kind: k}
roles:
  - {id: held}
  - {id: unheld}
nodes:
  - {id: n, organisation: o, role: held, vetting: v}
rules:
  - id: r
    effect: permit
    handling: {review_by: [held, unheld]}
)",
                                       "unheld.yaml");
  EXPECT_EQ(result.policy, nullptr);
  EXPECT_THAT(testing::rendered(result.diagnostics),
              ElementsAre("unheld.yaml:40:34: error[P014]: no node holds role 'unheld', so a release held for its "
                          "review could never be approved"));
}

TEST(PolicyEventValidation, EventsAreCheckedLikeOtherSections) {
  EXPECT_THAT(problems_in(R"(events:
  - id: operation-start
    triggered_by: {roles: [sio]}
  - id: operation-start
    triggered_by: {roles: [sio]}
  - id: arrest
    description: [not a string]
  - id: search
    triggered_by: {roles: [sioo], lists: [nobody]}
    trigger: {}
  - just-a-name
  - description: no id
    triggered_by: {}
)"),
              ElementsAre("bad.yaml:64:9: error[P010]: duplicate event id 'operation-start' (first defined at "
                          "line 62)",
                          "bad.yaml:66:5: error[P004]: event 'arrest' is missing required key 'triggered_by'",
                          "bad.yaml:67:18: error[P003]: 'description' must be a string, found a list",
                          "bad.yaml:69:28: error[P011]: undefined role 'sioo'; did you mean 'sio'?",
                          "bad.yaml:69:43: error[P011]: undefined list 'nobody'",
                          "bad.yaml:70:5: error[P002]: unknown key 'trigger' in event (expected one of: id, description, "
                          "triggered_by)",
                          "bad.yaml:71:5: error[P003]: each entry of 'events' must be a mapping, found a string",
                          "bad.yaml:72:5: error[P004]: event is missing required key 'id'"));
}

}  // namespace
}  // namespace icegate::policy

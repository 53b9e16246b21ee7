// `policy explain` (gateway/policy/explain.hpp): the trace agrees with
// CompiledPolicy::decide on every node pair, category and purpose of the
// shipped policies; and it says, for each step, what a reader needs to know.
#include <map>
#include <stdexcept>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/policy/explain.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const std::filesystem::path kPolicies = ICEGATE_SOURCE_DIR "/policies";

Label label(std::string classification, std::vector<std::string> categories = {}) {
  Label result{std::move(classification), std::move(categories)};
  normalise(result);
  return result;
}

ExplainRequest request(std::string from, std::string to, std::string category, std::string purpose,
                       std::vector<Label> labels, bool occasional = false) {
  ExplainRequest result{std::move(from), std::move(to), std::move(category), std::move(purpose), {}, occasional};
  for (std::size_t i = 0; i < labels.size(); ++i) result.portions.push_back({std::to_string(i + 1), labels[i]});
  return result;
}

std::shared_ptr<const CompiledPolicy> shipped(const std::string& name) {
  LoadResult loaded = load_policy(kPolicies / name);
  EXPECT_TRUE(loaded.policy) << testing::joined(testing::rendered(loaded.diagnostics));
  return loaded.policy;
}

// ---- Agreement with the engine --------------------------------------------------------

class ExplainAgreement : public ::testing::TestWithParam<std::string> {};

TEST_P(ExplainAgreement, TheTraceAgreesWithDecideOnEveryNodePairCategoryAndPurpose) {
  auto policy = shipped(GetParam());
  ASSERT_TRUE(policy);
  const Policy& source = policy->source();
  // Label sets: every classification at once (one portion each), the
  // two-level product, a caveat on a label that excludes it (invalid), a
  // caveat some recipients lack, and no portions at all.
  std::vector<Label> every_classification;
  for (const Classification& classification : source.scheme.classifications) {
    every_classification.push_back(label(classification.name));
  }
  const std::vector<std::vector<Label>> label_sets = {
      every_classification,
      {label("SECRET", {"UK EYES ONLY"}), label("RESTRICTED")},
      {label("PROTECT", {"UK EYES ONLY"}), label("NOT PROTECTIVELY MARKED", {"PERSONAL"})},
      {label("RESTRICTED", {"UK EYES ONLY"})},
      {},
  };
  std::size_t checked = 0;
  std::map<Decision, std::size_t> seen;
  for (const Node& from : source.nodes) {
    for (const Node& to : source.nodes) {
      if (from.id == to.id) continue;
      for (const std::string& category : source.information_categories) {
        for (const std::string& purpose : source.purposes) {
          for (std::size_t set = 0; set < label_sets.size(); ++set) {
            const bool occasional = (checked % 2) == 0;
            ExplainTrace trace =
                explain_decision(*policy, request(from.id, to.id, category, purpose, label_sets[set], occasional));
            ++checked;
            ++seen[trace.decision];
            ASSERT_TRUE(trace.agrees_with_engine)
                << from.id << " -> " << to.id << " " << category << "/" << purpose << " set " << set << ": "
                << testing::joined(trace.disagreements);
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, source.nodes.size() * (source.nodes.size() - 1) * source.information_categories.size() *
                         source.purposes.size() * label_sets.size());
  // The sweep exercised every kind of decision the policy can make.
  EXPECT_GT(seen[Decision::deny], 0u);
  EXPECT_GT(seen[Decision::release] + seen[Decision::release_redacted], 0u);
}

INSTANTIATE_TEST_SUITE_P(Shipped, ExplainAgreement,
                         ::testing::Values("demo.yaml", "need-to-know.yaml", "need-to-share.yaml"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param.substr(0, param.param.find('.'));
                           std::erase(name, '-');
                           return name;
                         });

TEST(ExplainAgreement, UnknownNamesAreExplainedAsDecideTreatsThem) {
  auto policy = shipped("need-to-share.yaml");
  ASSERT_TRUE(policy);
  for (const ExplainRequest& unknown :
       {request("nobody", "council-prevent", "ct-problem-profile", "prevent", {label("RESTRICTED")}),
        request("ctu-analyst", "nobody", "ct-problem-profile", "prevent", {label("RESTRICTED")}),
        request("bcu-commander", "council-prevent", "no-such-category", "prevent", {label("NOT PROTECTIVELY MARKED")}),
        request("bcu-commander", "council-prevent", "public-statement", "no-such-purpose",
                {label("NOT PROTECTIVELY MARKED"), label("NO SUCH CLASSIFICATION")})}) {
    ExplainTrace trace = explain_decision(*policy, unknown);
    EXPECT_TRUE(trace.agrees_with_engine) << testing::joined(trace.disagreements);
  }
  ExplainTrace trace =
      explain_decision(*policy, request("nobody", "council-prevent", "ct-problem-profile", "prevent", {label("RESTRICTED")}));
  EXPECT_FALSE(trace.sender.known);
  EXPECT_EQ(trace.portions[0].rules[0].field, "from");
  EXPECT_EQ(trace.portions[0].rules[0].detail, "'nobody' is not a node of this policy");
  EXPECT_EQ(trace.portions[0].outcome.detail, "sender 'nobody' is not a node of this policy");
}

// ---- What each step says ----------------------------------------------------------------

TEST(Explain, ResolvesSenderAndRecipient) {
  auto policy = shipped("need-to-share.yaml");
  ASSERT_TRUE(policy);
  ExplainTrace trace = explain_decision(
      *policy, request("ctu-analyst", "council-prevent", "ct-problem-profile", "prevent", {label("RESTRICTED")}));
  EXPECT_TRUE(trace.recipient.known);
  EXPECT_EQ(trace.recipient.organisation, "birmingham-cc");
  EXPECT_EQ(trace.recipient.organisation_kind, "council");
  EXPECT_FALSE(trace.recipient.ct_network);
  EXPECT_EQ(trace.recipient.role, "prevent-coordinator");
  EXPECT_EQ(trace.recipient.level, "tactical");
  EXPECT_EQ(trace.recipient.vetting, "CTC");
  EXPECT_EQ(trace.recipient.regular_ceiling, "CONFIDENTIAL");
  EXPECT_EQ(trace.recipient.occasional_ceiling, "SECRET");
  EXPECT_THAT(trace.recipient.categories, ElementsAre("UK EYES ONLY"));
  EXPECT_THAT(trace.recipient.lists, ElementsAre("heads-of-key-services", "consequence-management-group"));
  EXPECT_TRUE(trace.sender.ct_network);
}

TEST(Explain, TheGatewayProtocolHoldNamesTheFirstFailedConditionOfEveryRule) {
  auto policy = shipped("need-to-share.yaml");
  ASSERT_TRUE(policy);
  ExplainTrace trace = explain_decision(*policy, request("ctu-analyst", "council-prevent", "ct-problem-profile", "prevent",
                                                         {label("SECRET", {"UK EYES ONLY"}), label("RESTRICTED")}));
  ASSERT_TRUE(trace.agrees_with_engine);
  ASSERT_EQ(trace.portions.size(), 2u);
  const PortionTrace& secret = trace.portions[0];
  ASSERT_EQ(secret.rules.size(), policy->source().rules.size());
  auto step = [&](const PortionTrace& portion, std::string_view id) -> const RuleStep& {
    for (const RuleStep& s : portion.rules) {
      if (policy->rule(s.rule).id == id) return s;
    }
    throw std::runtime_error("no such rule");
  };
  EXPECT_EQ(step(secret, "ct-intelligence-within-ct-network").field, "to.ct_network");
  EXPECT_EQ(step(secret, "ct-intelligence-within-ct-network").detail, "council-prevent is not in the CT Network");
  EXPECT_EQ(step(secret, "no-raw-intelligence-outside-policing").failed, RuleCondition::category);
  EXPECT_EQ(step(secret, "ct-material-to-police").field, "to.organisation_kinds");
  EXPECT_EQ(step(secret, "ct-material-to-police").detail,
            "council-prevent's organisation kind is council, not one of [bcu, npt]");
  EXPECT_EQ(step(secret, "profile-to-heads-of-service").failed, RuleCondition::max_classification);
  EXPECT_EQ(step(secret, "profile-to-heads-of-service").detail, "SECRET is above RESTRICTED");
  EXPECT_EQ(step(secret, "prebriefing-to-strategic-leads").detail,
            "ct-problem-profile is not one of [operational-prebriefing]");
  EXPECT_EQ(secret.combining, "no deny applies and no permit applies: default deny");
  EXPECT_EQ(secret.outcome.reason, PortionReason::no_rule_permits);
  EXPECT_EQ(secret.clearance.outcome, ClearanceOutcome::not_checked);

  const PortionTrace& restricted = trace.portions[1];
  EXPECT_TRUE(step(restricted, "profile-to-heads-of-service").applies);
  EXPECT_EQ(restricted.combining,
            "no deny applies; permit profile-to-heads-of-service applies; the first, profile-to-heads-of-service, "
            "decides");
  EXPECT_EQ(restricted.clearance.outcome, ClearanceOutcome::within_regular);
  EXPECT_EQ(restricted.clearance.detail, "RESTRICTED is within CTC's regular ceiling CONFIDENTIAL");
  EXPECT_TRUE(restricted.categories_checked);
  EXPECT_TRUE(restricted.outcome.released);

  EXPECT_EQ(trace.decision, Decision::hold);
  EXPECT_THAT(trace.review_roles, ElementsAre("council-critical-reader"));
  EXPECT_THAT(trace.reason, HasSubstr("held for review by council-critical-reader"));
}

TEST(Explain, DenyOverridesEveryApplicablePermit) {
  auto policy = shipped("need-to-know.yaml");
  ASSERT_TRUE(policy);
  ExplainTrace trace = explain_decision(
      *policy, request("ctu-analyst", "council-prevent", "ct-problem-profile", "prevent", {label("RESTRICTED")}));
  ASSERT_TRUE(trace.agrees_with_engine);
  const PortionTrace& portion = trace.portions[0];
  ASSERT_EQ(portion.applicable_denies.size(), 1u);
  EXPECT_EQ(policy->rule(portion.applicable_denies[0]).id, "no-ct-material-outside-policing");
  EXPECT_EQ(portion.combining,
            "deny no-ct-material-outside-policing applies; the first deny, no-ct-material-outside-policing, decides");
  EXPECT_EQ(portion.outcome.reason, PortionReason::denied_by_rule);
  EXPECT_EQ(trace.decision, Decision::deny);

  auto small = testing::load_inline(R"(vetting: [{name: v, regular: HIGH}]
organisations: [{id: o, kind: k}]
roles: [{id: r}]
nodes:
  - {id: a, organisation: o, role: r, vetting: v}
  - {id: b, organisation: o, role: r, vetting: v}
information_categories: [info]
purposes: [p]
rules:
  - {id: permit-all, effect: permit}
  - {id: permit-to-b, effect: permit, to: {nodes: [b]}}
  - {id: deny-to-b, effect: deny, to: {nodes: [b]}}
  - {id: deny-high, effect: deny, min_classification: HIGH}
)");
  ASSERT_TRUE(small);
  ExplainTrace both = explain_decision(*small, request("a", "b", "info", "p", {label("HIGH")}));
  ASSERT_TRUE(both.agrees_with_engine);
  EXPECT_EQ(both.portions[0].combining,
            "denies deny-to-b and deny-high apply and override permits permit-all and permit-to-b; the first deny, "
            "deny-to-b, decides");
}

TEST(Explain, ClearanceStepsAndTheOccasionalAllowance) {
  auto policy = shipped("need-to-share.yaml");
  ASSERT_TRUE(policy);
  const std::vector<Label> briefing = {label("SECRET", {"UK EYES ONLY"}), label("RESTRICTED")};
  ExplainTrace with = explain_decision(*policy, request("bcu-commander", "council-chief-exec", "operational-prebriefing",
                                                        "consequence-management", briefing, true));
  ASSERT_TRUE(with.agrees_with_engine);
  EXPECT_EQ(with.portions[0].clearance.outcome, ClearanceOutcome::occasional_used);
  EXPECT_TRUE(with.used_occasional);
  EXPECT_EQ(with.decision, Decision::release);
  EXPECT_TRUE(with.no_onward_sharing);

  ExplainTrace without = explain_decision(*policy, request("bcu-commander", "council-chief-exec",
                                                           "operational-prebriefing", "consequence-management", briefing));
  ASSERT_TRUE(without.agrees_with_engine);
  EXPECT_EQ(without.portions[0].clearance.outcome, ClearanceOutcome::occasional_unavailable);
  EXPECT_EQ(without.portions[0].outcome.reason, PortionReason::occasional_unavailable);
  EXPECT_EQ(without.decision, Decision::release_redacted);

  ExplainTrace above = explain_decision(*policy, request("ctu-analyst", "npt-officer", "ct-problem-profile", "prevent",
                                                         {label("TOP SECRET", {"UK EYES ONLY"})}, true));
  ASSERT_TRUE(above.agrees_with_engine);
  EXPECT_EQ(above.portions[0].clearance.outcome, ClearanceOutcome::above_clearance);
  EXPECT_EQ(above.portions[0].outcome.detail, "TOP SECRET is above BPSS's occasional ceiling SECRET");
}

TEST(Explain, CategoryChecksListEveryTestAndTheFirstFailureDecides) {
  auto policy = testing::load_inline(R"(vetting: [{name: v, regular: HIGH}]
organisations: [{id: o, kind: k}]
roles: [{id: r}]
nodes:
  - {id: sender, organisation: o, role: r, vetting: v}
  - {id: holder, organisation: o, role: r, vetting: v, categories: [EYES, REL B]}
  - {id: lacks, organisation: o, role: r, vetting: v, categories: [REL B]}
information_categories: [info]
purposes: [p]
rules:
  - {id: all, effect: permit}
)");
  ASSERT_TRUE(policy);
  const Label labelled = label("MID", {"EYES", "REL A", "REL B", "PERSONAL"});
  ExplainTrace held = explain_decision(*policy, request("sender", "holder", "info", "p", {labelled}));
  ASSERT_TRUE(held.agrees_with_engine) << testing::joined(held.disagreements);
  ASSERT_EQ(held.portions[0].categories.size(), 3u);
  EXPECT_EQ(held.portions[0].categories[0].detail, "holder holds EYES");
  EXPECT_EQ(held.portions[0].categories[1].detail, "PERSONAL is informative: no effect on access");
  EXPECT_EQ(held.portions[0].categories[2].subject, "releasable");
  EXPECT_EQ(held.portions[0].categories[2].detail, "holder holds one of REL A, REL B");
  EXPECT_TRUE(held.portions[0].outcome.released);

  ExplainTrace lacking = explain_decision(*policy, request("sender", "lacks", "info", "p", {labelled}));
  ASSERT_TRUE(lacking.agrees_with_engine) << testing::joined(lacking.disagreements);
  EXPECT_FALSE(lacking.portions[0].categories[0].passes);
  EXPECT_EQ(lacking.portions[0].outcome.reason, PortionReason::missing_category);
  EXPECT_EQ(lacking.portions[0].outcome.detail, "lacks does not hold EYES");

  const Label permissive_only = label("MID", {"REL A"});
  ExplainTrace none = explain_decision(*policy, request("sender", "lacks", "info", "p", {permissive_only}));
  ASSERT_TRUE(none.agrees_with_engine) << testing::joined(none.disagreements);
  EXPECT_EQ(none.portions[0].outcome.detail, "lacks holds none of REL A");
}

TEST(Explain, AnInvalidLabelStopsAtStepOne) {
  auto policy = shipped("need-to-share.yaml");
  ASSERT_TRUE(policy);
  ExplainTrace trace = explain_decision(*policy, request("ctu-analyst", "ctio-east", "ct-problem-profile", "prevent",
                                                         {label("PROTECT", {"UK EYES ONLY"})}));
  ASSERT_TRUE(trace.agrees_with_engine);
  EXPECT_THAT(trace.portions[0].label_problems, ElementsAre("category 'UK EYES ONLY' is not allowed at PROTECT"));
  EXPECT_TRUE(trace.portions[0].rules.empty());
  EXPECT_EQ(trace.portions[0].outcome.reason, PortionReason::invalid_label);
}

// ---- Rendering -----------------------------------------------------------------------------

TEST(ExplainRendering, TextShowsEachStepWithRuleLocations) {
  auto policy = shipped("need-to-share.yaml");
  ASSERT_TRUE(policy);
  ExplainTrace trace = explain_decision(*policy, request("ctu-analyst", "council-prevent", "ct-problem-profile", "prevent",
                                                         {label("SECRET", {"UK EYES ONLY"}), label("RESTRICTED")}));
  const std::string text = render_explain_text(*policy, trace);
  EXPECT_THAT(text, HasSubstr("recipient council-prevent \"Council Prevent coordinator\"\n"
                              "    organisation birmingham-cc (kind council), role prevent-coordinator (level tactical)\n"
                              "    vetting CTC: regular ceiling CONFIDENTIAL, occasional ceiling SECRET\n"));
  EXPECT_THAT(text, HasSubstr("portion 1: SECRET/UK EYES ONLY (marking \"SECRET UK EYES ONLY\")"));
  EXPECT_THAT(text, ::testing::ContainsRegex("no +profile-to-heads-of-service +permit +[^ ]*need-to-share.yaml:[0-9]+ +"
                                             "max_classification: SECRET is above RESTRICTED"));
  EXPECT_THAT(text, HasSubstr("  4. clearance: RESTRICTED is within CTC's regular ceiling CONFIDENTIAL\n"));
  EXPECT_THAT(text, HasSubstr("  => RELEASED (rule profile-to-heads-of-service)\n"));
  EXPECT_THAT(text, HasSubstr("decision: HOLD\n"));
  EXPECT_THAT(text, HasSubstr("held for review by council-critical-reader (nodes: council-critical-reader)"));
  EXPECT_THAT(text, Not(HasSubstr("INTERNAL")));
  EXPECT_THAT(text, Not(HasSubstr(" \n")));  // no trailing spaces
}

TEST(ExplainRendering, JsonCarriesTheTrace) {
  auto policy = shipped("need-to-share.yaml");
  ASSERT_TRUE(policy);
  ExplainTrace trace = explain_decision(
      *policy, request("ctu-analyst", "council-prevent", "ct-problem-profile", "prevent", {label("RESTRICTED")}));
  const std::string json = render_explain_json(*policy, trace);
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  EXPECT_THAT(json, HasSubstr(R"("decision":"HOLD")"));
  EXPECT_THAT(json, HasSubstr(R"("review_roles":["council-critical-reader"])"));
  EXPECT_THAT(json, HasSubstr(R"({"rule":"profile-to-heads-of-service","effect":"permit","location":{"file":)"));
  EXPECT_THAT(json, HasSubstr(R"("applies":true,"failed":null,"detail":null})"));
  EXPECT_THAT(json, HasSubstr(R"("clearance":{"outcome":"within_regular")"));
  EXPECT_THAT(json, HasSubstr(R"("agrees_with_engine":true)"));
}

TEST(ExplainRequests, FromATestCaseRequest) {
  PolicyTestRequestFile file = load_policy_test_request_text(R"(from: ctu-analyst
to: council-prevent
category: ct-problem-profile
purpose: prevent
portions: ["SECRET/UK EYES ONLY", {id: partner, label: RESTRICTED}]
occasional_available: true
)",
                                                             "request.yaml");
  ASSERT_TRUE(file.ok) << testing::joined(testing::rendered(file.diagnostics));
  ExplainRequest request = to_explain_request(file.request);
  EXPECT_EQ(request.sender, "ctu-analyst");
  EXPECT_TRUE(request.occasional_available);
  ASSERT_EQ(request.portions.size(), 2u);
  EXPECT_EQ(request.portions[0].id, "1");
  EXPECT_EQ(request.portions[1].id, "partner");
  EXPECT_EQ(request.portions[0].label, label("SECRET", {"UK EYES ONLY"}));

  // No purpose is not a mistake: a request may have none (issue 13, item 17).
  PolicyTestRequestFile bad = load_policy_test_request_text("from: a\nto: b\nportions: [\"X//Y\"]\nextra: 1\n", "bad.yaml");
  EXPECT_FALSE(bad.ok);
  EXPECT_THAT(testing::rendered(bad.diagnostics),
              ElementsAre("bad.yaml:1:1: error[T004]: 'request' is missing required key 'category'",
                          ::testing::StartsWith("bad.yaml:3:12: error[T005]: invalid label 'X//Y'"),
                          ::testing::StartsWith("bad.yaml:4:1: error[T002]: unknown key 'extra' in 'request'")));
}

}  // namespace
}  // namespace icegate::policy

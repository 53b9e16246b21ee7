// policy::diff_policies: the exhaustive comparison of two policies, on the
// shipped need-to-know and need-to-share policies, on small policies with one
// known change, against deciding every node pair directly (the oracle), and
// on generated policies of about 300 nodes for speed.
#include "gateway/policy/diff.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/gateway/policy/policy_test_support.hpp"
#include "tools/bench/policy_generator.hpp"

namespace icegate::policy {
namespace {

using testing::load_inline;

std::shared_ptr<const CompiledPolicy> load_shipped(const std::string& name) {
  LoadResult result = load_policy(std::string(ICEGATE_SOURCE_DIR "/policies/") + name);
  EXPECT_TRUE(result.policy) << testing::joined(testing::rendered(result.diagnostics));
  return result.policy;
}

bool has(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Everything about a group except its example, which depends on which node
// of a class stood for the rest.
std::string summary(const ChangeGroup& group) {
  std::string labels;
  for (const Label& label : group.labels) labels += label_text(label) + ";";
  std::string purposes;
  for (const std::string& purpose : group.purposes) purposes += purpose + ";";
  std::string old_rules, new_rules;
  for (const std::string& rule : group.old_rules) old_rules += rule + ";";
  for (const std::string& rule : group.new_rules) new_rules += rule + ";";
  return fmt::format("{} {}->{} {}->{} {} [{}] [{}] pairs={} points={} [{}] -> [{}]", to_string(group.kind),
                     to_string(group.old_state), to_string(group.new_state), group.sender, group.recipient,
                     group.category, purposes, labels, group.node_pairs, group.points, old_rules, new_rules);
}

std::vector<std::string> summaries(const PolicyDiff& diff) {
  std::vector<std::string> result;
  for (const ChangeGroup& group : diff.groups) result.push_back(summary(group));
  return result;
}

TEST(LabelTextTest, ParsesAndPrintsLabels) {
  auto label = parse_label_text(" SECRET / UK EYES ONLY ");
  ASSERT_TRUE(label);
  EXPECT_EQ(label->classification, "SECRET");
  EXPECT_EQ(label->categories, std::vector<std::string>{"UK EYES ONLY"});
  EXPECT_EQ(label_text(*label), "SECRET/UK EYES ONLY");
  EXPECT_FALSE(parse_label_text("SECRET//X"));
  EXPECT_FALSE(parse_label_text(""));
  EXPECT_EQ(json_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
}

TEST(LabelSpaceTest, EnumeratesValidLabelsOnly) {
  auto policy = load_shipped("need-to-share.yaml");
  ASSERT_TRUE(policy);
  const LabelSpace space = enumerate_labels(*policy);
  std::vector<std::string> texts;
  for (const Label& label : space.labels) texts.push_back(label_text(label));
  // GPMS: six classifications; UK EYES ONLY is excluded below RESTRICTED; the
  // informative handling descriptors never affect access and are left out.
  EXPECT_EQ(texts,
            (std::vector<std::string>{"NOT PROTECTIVELY MARKED", "PROTECT", "RESTRICTED", "RESTRICTED/UK EYES ONLY",
                                      "CONFIDENTIAL", "CONFIDENTIAL/UK EYES ONLY", "SECRET", "SECRET/UK EYES ONLY",
                                      "TOP SECRET", "TOP SECRET/UK EYES ONLY"}));
  EXPECT_FALSE(space.truncated);
}

TEST(LabelSpaceTest, CombinesCategoriesOfEachSet) {
  // The small scheme: EYES (excluded at LOW), EARS restrictive; REL A, REL B
  // permissive; PERSONAL informative.
  auto policy = load_inline("");
  ASSERT_TRUE(policy);
  const LabelSpace space = enumerate_labels(*policy);
  std::vector<std::string> texts;
  for (const Label& label : space.labels) texts.push_back(label_text(label));
  EXPECT_TRUE(has(texts, "LOW/REL A/REL B"));
  EXPECT_TRUE(has(texts, "HIGH/EARS/EYES/REL B"));
  EXPECT_FALSE(has(texts, "LOW/EYES"));  // excluded
  for (const std::string& text : texts) EXPECT_EQ(text.find("PERSONAL"), std::string::npos) << text;
  // At most one category per set, and no permissive sets: LOW, LOW/EARS;
  // MID, MID/EARS, MID/EYES; HIGH likewise.
  const LabelSpace small = enumerate_labels(*policy, {1, false, 4096});
  EXPECT_EQ(small.labels.size(), 8u);
}

TEST(LabelSpaceTest, ClosesCombinationsUnderRequires) {
  LoadResult result = load_policy_text(R"(policy: closure
scheme:
  scheme: closure
  classifications: [{name: LOW}, {name: HIGH}]
  tag_sets:
    - name: caveats
      type: restrictive
      categories:
        - {name: A, requires: [NOTE]}
        - {name: B}
    - name: notes
      type: informative
      categories: [{name: NOTE}]
)",
                                       "closure.yaml");
  ASSERT_TRUE(result.policy) << testing::joined(testing::rendered(result.diagnostics));
  std::vector<std::string> texts;
  for (const Label& label : enumerate_labels(*result.policy).labels) texts.push_back(label_text(label));
  EXPECT_EQ(texts, (std::vector<std::string>{"LOW", "LOW/B", "LOW/A/NOTE", "LOW/A/B/NOTE", "HIGH", "HIGH/B",
                                             "HIGH/A/NOTE", "HIGH/A/B/NOTE"}));
}

TEST(LabelSpaceTest, TruncatesAtTheBudget) {
  auto policy = load_inline("");
  ASSERT_TRUE(policy);
  const LabelSpace space = enumerate_labels(*policy, {2, true, 6});
  EXPECT_TRUE(space.truncated);
  EXPECT_LE(space.labels.size(), 6u);
}

TEST(PolicyDiffTest, APolicyEqualsItself) {
  auto policy = load_shipped("need-to-share.yaml");
  ASSERT_TRUE(policy);
  const PolicyDiff diff = diff_policies(*policy, *policy);
  EXPECT_TRUE(diff.equivalent());
  EXPECT_TRUE(diff.groups.empty());
  EXPECT_EQ(diff.nodes.size(), 24u);
  EXPECT_EQ(diff.labels.size(), 10u);
  EXPECT_EQ(diff.purposes.back(), "");
  std::ostringstream text;
  write_diff_text(text, diff);
  EXPECT_NE(text.str().find("equivalent: no decision differs"), std::string::npos) << text.str();
}

// Issue 13 (17): under an occasional allowance of 0 the gateway never makes
// an occasional release (router.cpp), so raising the allowance opens flows,
// and the diff must say so rather than call the two policies equivalent.
TEST(PolicyDiffTest, TheOccasionalAllowanceDecidesWhetherOccasionalReleasesHappen) {
  constexpr std::string_view body = R"(vetting:
  - {name: low, regular: LOW, occasional: HIGH}
organisations:
  - {id: o, kind: k}
roles:
  - {id: r}
nodes:
  - {id: a, organisation: o, role: r, vetting: low}
  - {id: b, organisation: o, role: r, vetting: low}
information_categories: [report]
purposes: [p]
rules:
  - {id: all, effect: permit}
)";
  auto none = load_inline(std::string("occasional_allowance: {releases: 0, window: 30d}\n") + std::string(body));
  auto some = load_inline(std::string("occasional_allowance: {releases: 2, window: 30d}\n") + std::string(body));
  ASSERT_TRUE(none && some);
  const PolicyDiff diff = diff_policies(*none, *some);
  EXPECT_FALSE(diff.equivalent());
  ASSERT_FALSE(diff.groups.empty());
  for (const ChangeGroup& group : diff.groups) {
    EXPECT_EQ(group.kind, ChangeKind::opened);
    EXPECT_EQ(group.old_state, FlowState::withheld);
    EXPECT_EQ(group.new_state, FlowState::occasional);
    EXPECT_EQ(group.lowest_classification, "MID");
    EXPECT_EQ(group.highest_classification, "HIGH");
    // The example is decided as the gateway would: no occasional release under the old policy.
    EXPECT_TRUE(group.example.occasional_available);
    EXPECT_NE(group.example.old_detail.find("no occasional release is available"), std::string::npos)
        << group.example.old_detail;
    EXPECT_EQ(group.example.new_detail.find("no occasional release"), std::string::npos) << group.example.new_detail;
  }
  EXPECT_TRUE(diff_policies(*none, *none).equivalent());
}

class NeedToKnowVsNeedToShare : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    old_policy_ = load_shipped("need-to-know.yaml");
    new_policy_ = load_shipped("need-to-share.yaml");
    ASSERT_TRUE(old_policy_ && new_policy_);
    diff_ = new PolicyDiff(diff_policies(*old_policy_, *new_policy_));
  }
  static void TearDownTestSuite() {
    delete diff_;
    diff_ = nullptr;
  }

  static const ChangeGroup* find(ChangeKind kind, std::string_view sender, std::string_view recipient,
                                 std::string_view category, FlowState new_state) {
    for (const ChangeGroup& group : diff_->groups) {
      if (group.kind == kind && group.sender == sender && group.recipient == recipient && group.category == category &&
          group.new_state == new_state) {
        return &group;
      }
    }
    return nullptr;
  }

  static std::shared_ptr<const CompiledPolicy> old_policy_, new_policy_;
  static PolicyDiff* diff_;
};
std::shared_ptr<const CompiledPolicy> NeedToKnowVsNeedToShare::old_policy_;
std::shared_ptr<const CompiledPolicy> NeedToKnowVsNeedToShare::new_policy_;
PolicyDiff* NeedToKnowVsNeedToShare::diff_ = nullptr;

TEST_F(NeedToKnowVsNeedToShare, TheChiefExecutiveIsPreBriefed) {
  EXPECT_FALSE(diff_->equivalent());
  // The BCU commander pre-briefs the council chief executive (BPSS): up to
  // RESTRICTED outright, CONFIDENTIAL and SECRET with an occasional release.
  const ChangeGroup* released = find(ChangeKind::opened, "bcu/bcu-commander", "council/chief-executive",
                                     "operational-prebriefing", FlowState::released);
  ASSERT_TRUE(released) << testing::joined(summaries(*diff_));
  EXPECT_EQ(released->old_state, FlowState::withheld);
  EXPECT_EQ(released->purposes, std::vector<std::string>{"consequence-management"});
  EXPECT_FALSE(released->all_purposes);
  EXPECT_EQ(released->lowest_classification, "NOT PROTECTIVELY MARKED");
  EXPECT_EQ(released->highest_classification, "RESTRICTED");
  EXPECT_EQ(released->node_pairs, 1u);
  EXPECT_EQ(released->old_rules, std::vector<std::string>{"no-ct-material-outside-policing"});
  EXPECT_EQ(released->new_rules, std::vector<std::string>{"prebriefing-to-strategic-leads"});
  EXPECT_EQ(released->example.sender, "bcu-commander");
  EXPECT_EQ(released->example.recipient, "council-chief-exec");
  EXPECT_EQ(released->example.purpose, "consequence-management");
  EXPECT_EQ(released->example.old_rule, "no-ct-material-outside-policing");
  EXPECT_EQ(released->example.new_rule, "prebriefing-to-strategic-leads");
  EXPECT_NE(released->example.old_detail.find("denied by no-ct-material-outside-policing"), std::string::npos);

  const ChangeGroup* occasional = find(ChangeKind::opened, "bcu/bcu-commander", "council/chief-executive",
                                       "operational-prebriefing", FlowState::occasional);
  ASSERT_TRUE(occasional);
  EXPECT_EQ(occasional->lowest_classification, "CONFIDENTIAL");
  EXPECT_EQ(occasional->highest_classification, "SECRET");
  EXPECT_TRUE(occasional->example.occasional_available);
  // The CTU's senior investigating officer too.
  EXPECT_TRUE(find(ChangeKind::opened, "ctu/ctu-sio", "council/chief-executive", "operational-prebriefing",
                   FlowState::released));
}

TEST_F(NeedToKnowVsNeedToShare, TheGatewayProtocolOpensHeldFlows) {
  const ChangeGroup* held =
      find(ChangeKind::opened, "ctu/ct-analyst", "council/prevent-coordinator", "ct-problem-profile", FlowState::held);
  ASSERT_TRUE(held) << testing::joined(summaries(*diff_));
  EXPECT_EQ(held->highest_classification, "RESTRICTED");
  EXPECT_EQ(held->new_rules, std::vector<std::string>{"profile-to-heads-of-service"});
  EXPECT_EQ(held->purposes, (std::vector<std::string>{"prevent", "safeguarding"}));
}

TEST_F(NeedToKnowVsNeedToShare, FeedbackFlowsDownAndSomeFlowsClose) {
  const ChangeGroup* feedback =
      find(ChangeKind::opened, "bcu/ctio", "council/street-warden", "feedback", FlowState::released);
  ASSERT_TRUE(feedback) << testing::joined(summaries(*diff_));
  EXPECT_EQ(feedback->old_rules, std::vector<std::string>{"no-feedback-to-front-line"});
  EXPECT_EQ(feedback->new_rules, std::vector<std::string>{"feedback-to-front-line"});
  // Need to know let any council node send tension reports to the CTIO;
  // need to share names the front-line roles, so the chief executive's route closes.
  const ChangeGroup* closed =
      find(ChangeKind::closed, "council/chief-executive", "bcu/ctio", "tension-report", FlowState::withheld);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->old_rules, std::vector<std::string>{"tension-reports-up"});
  EXPECT_GT(diff_->count(ChangeKind::opened), diff_->count(ChangeKind::closed));
}

TEST_F(NeedToKnowVsNeedToShare, PreBriefingTheBcuCommanderChangesOnlyItsHandling) {
  // Both policies brief the BCU commander; need to share adds originator control.
  const ChangeGroup* handling = find(ChangeKind::handling_changed, "ctu/ctu-sio", "bcu/bcu-commander",
                                     "operational-prebriefing", FlowState::released);
  ASSERT_TRUE(handling) << testing::joined(summaries(*diff_));
  EXPECT_EQ(handling->old_rules, std::vector<std::string>{"prebriefing-within-police"});
  EXPECT_EQ(handling->new_rules, std::vector<std::string>{"prebriefing-to-strategic-leads"});
  EXPECT_EQ(handling->example.old_handling, "no onward sharing");
  EXPECT_EQ(handling->example.new_handling, "originator control, no onward sharing");
}

TEST_F(NeedToKnowVsNeedToShare, FoldedEqualsExhaustive) {
  DiffOptions exhaustive;
  exhaustive.exhaustive = true;
  const PolicyDiff oracle = diff_policies(*old_policy_, *new_policy_, exhaustive);
  EXPECT_EQ(summaries(*diff_), summaries(oracle));
  EXPECT_LT(diff_->decide_calls, oracle.decide_calls / 10);
}

TEST_F(NeedToKnowVsNeedToShare, ReportsAsTextAndJson) {
  std::ostringstream text, json;
  write_diff_text(text, *diff_);
  write_diff_json(json, *diff_, 1);
  EXPECT_NE(text.str().find("FLOWS OPENED"), std::string::npos);
  EXPECT_NE(text.str().find("FLOWS CLOSED"), std::string::npos);
  EXPECT_NE(text.str().find("bcu/bcu-commander -> council/chief-executive: operational-prebriefing"), std::string::npos)
      << text.str();
  EXPECT_EQ(json.str().front(), '{');
  EXPECT_NE(json.str().find("\"equivalent\":false"), std::string::npos);
  EXPECT_NE(json.str().find("\"kind\":\"opened\""), std::string::npos);
  // --limit 1: at most one group of each kind in the JSON.
  std::size_t opened = 0;
  for (std::size_t at = json.str().find("\"kind\":\"opened\""); at != std::string::npos;
       at = json.str().find("\"kind\":\"opened\"", at + 1)) {
    ++opened;
  }
  EXPECT_EQ(opened, 1u);
}

// ---- Small policies with one known change -----------------------------------

constexpr std::string_view kBody = R"(
vetting:
  - {name: low, regular: LOW}
  - {name: high, regular: HIGH}
organisations:
  - {id: police, kind: police}
  - {id: council, kind: council}
roles:
  - {id: officer}
  - {id: lead}
nodes:
  - {id: p1, organisation: police, role: officer, vetting: high, categories: [EYES, EARS, REL A]}
  - {id: p2, organisation: police, role: officer, vetting: high, categories: [EYES, EARS, REL A]}
  - {id: c1, organisation: council, role: lead, vetting: high, categories: [EYES]}
  - {id: c2, organisation: council, role: lead, vetting: low}
information_categories: [report, briefing]
purposes: [prevent, pursue]
rules:
  - id: police-to-council
    effect: permit
    categories: [report]
    from: {organisation_kinds: [police]}
    to: {organisation_kinds: [council]}
    max_classification: LOW
  - id: within-police
    effect: permit
    from: {organisation_kinds: [police]}
    to: {organisation_kinds: [police]}
)";

std::string replaced(std::string_view text, std::string_view from, std::string_view to) {
  std::string result(text);
  const std::size_t at = result.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) result.replace(at, from.size(), to);
  return result;
}

TEST(PolicyDiffSmallTest, RaisingOneCeilingOpensExactlyThoseFlows) {
  auto before = load_inline(kBody, "before.yaml");
  auto after = load_inline(replaced(kBody, "max_classification: LOW", "max_classification: MID"), "after.yaml");
  ASSERT_TRUE(before && after);
  const PolicyDiff diff = diff_policies(*before, *after);
  ASSERT_EQ(diff.groups.size(), 1u) << testing::joined(summaries(diff));
  const ChangeGroup& group = diff.groups.front();
  EXPECT_EQ(group.kind, ChangeKind::opened);
  EXPECT_EQ(group.old_state, FlowState::withheld);
  EXPECT_EQ(group.new_state, FlowState::released);
  EXPECT_EQ(group.sender, "police/officer");
  EXPECT_EQ(group.recipient, "council/lead");
  EXPECT_EQ(group.category, "report");
  EXPECT_TRUE(group.all_purposes);
  // c1 holds EYES but not EARS or REL A; c2 is cleared for LOW only.
  std::vector<std::string> labels;
  for (const Label& label : group.labels) labels.push_back(label_text(label));
  EXPECT_EQ(labels, (std::vector<std::string>{"MID", "MID/EYES"}));
  EXPECT_EQ(group.lowest_classification, "MID");
  EXPECT_EQ(group.highest_classification, "MID");
  EXPECT_EQ(group.node_pairs, 2u);                           // p1 -> c1, p2 -> c1
  EXPECT_EQ(group.points, 2u * 3u * 2u);                     // pairs x (prevent, pursue, none) x labels
  EXPECT_EQ(group.old_rules, std::vector<std::string>{""});  // default deny: the ceiling kept it out
  EXPECT_EQ(group.new_rules, std::vector<std::string>{"police-to-council"});
  EXPECT_EQ(group.example.recipient, "c1");
  EXPECT_NE(group.example.old_detail.find("police-to-council permits only up to LOW"), std::string::npos)
      << group.example.old_detail;

  // And back again: the same flows, closed.
  const PolicyDiff reverse = diff_policies(*after, *before);
  ASSERT_EQ(reverse.groups.size(), 1u);
  EXPECT_EQ(reverse.groups.front().kind, ChangeKind::closed);
  EXPECT_EQ(reverse.groups.front().node_pairs, 2u);
}

TEST(PolicyDiffSmallTest, AReviewAddsHolds) {
  auto before = load_inline(kBody, "before.yaml");
  auto after = load_inline(std::string(kBody) + "    handling: {review_by: [lead]}\n", "after.yaml");
  ASSERT_TRUE(before && after);
  const PolicyDiff diff = diff_policies(*before, *after);
  ASSERT_FALSE(diff.groups.empty());
  for (const ChangeGroup& group : diff.groups) {
    EXPECT_EQ(group.kind, ChangeKind::hold_added) << summary(group);
    EXPECT_EQ(group.sender, "police/officer");
    EXPECT_EQ(group.recipient, "police/officer");
    EXPECT_EQ(group.node_pairs, 2u);  // p1 -> p2 and p2 -> p1, never p1 -> p1
  }
  EXPECT_EQ(diff.count(ChangeKind::hold_added), 2u);  // the two categories
}

TEST(PolicyDiffSmallTest, NodesAndCategoriesOnOneSideAreReported) {
  auto before = load_inline(kBody, "before.yaml");
  std::string text = replaced(kBody, "  - {id: c2, organisation: council, role: lead, vetting: low}\n", "");
  text = replaced(text, "[report, briefing]", "[report, briefing, minutes]");
  auto after = load_inline(text, "after.yaml");
  ASSERT_TRUE(before && after);
  const PolicyDiff diff = diff_policies(*before, *after);
  EXPECT_EQ(diff.nodes_only_old, std::vector<std::string>{"c2"});
  EXPECT_EQ(diff.categories_only_new, std::vector<std::string>{"minutes"});
  EXPECT_TRUE(diff.groups.empty());
  EXPECT_FALSE(diff.equivalent());
}

// ---- Generated policies -----------------------------------------------------

std::shared_ptr<const CompiledPolicy> load_generated(const generator::GeneratedPolicy& generated,
                                                     const std::string& name) {
  LoadResult result = load_policy_text(generated.yaml, name);
  EXPECT_TRUE(result.policy) << testing::joined(testing::rendered(result.diagnostics));
  return result.policy;
}

TEST(PolicyDiffGeneratedTest, FoldedEqualsExhaustiveOnAGeneratedPolicy) {
  generator::PolicyParameters parameters;
  parameters.organisations = 12;
  parameters.rules = 40;
  auto before = load_generated(generator::generate_policy(parameters), "before.yaml");
  parameters.rules = 48;  // the same nodes, the same first 40 rules, 8 more
  auto after = load_generated(generator::generate_policy(parameters), "after.yaml");
  ASSERT_TRUE(before && after);
  const PolicyDiff folded = diff_policies(*before, *after);
  DiffOptions exhaustive;
  exhaustive.exhaustive = true;
  const PolicyDiff oracle = diff_policies(*before, *after, exhaustive);
  EXPECT_TRUE(folded.nodes_only_old.empty() && folded.nodes_only_new.empty());
  EXPECT_FALSE(folded.groups.empty());
  EXPECT_EQ(summaries(folded), summaries(oracle));
}

TEST(PolicyDiffGeneratedTest, ThreeHundredNodesInSeconds) {
  generator::PolicyParameters parameters;
  parameters.organisations = 90;
  parameters.rules = 400;
  generator::GeneratedPolicy generated = generator::generate_policy(parameters);
  auto before = load_generated(generated, "before.yaml");
  parameters.rules = 420;
  generator::GeneratedPolicy more = generator::generate_policy(parameters);
  // And raise one bounded rule's ceiling.
  more.yaml = replaced(more.yaml, "max_classification: \"RESTRICTED\"", "max_classification: \"SECRET\"");
  auto after = load_generated(more, "after.yaml");
  ASSERT_TRUE(before && after);
  ASSERT_GE(before->source().nodes.size(), 280u);
  ASSERT_EQ(before->source().nodes.size(), after->source().nodes.size());

  const auto started = std::chrono::steady_clock::now();
  const PolicyDiff diff = diff_policies(*before, *after);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::size_t nodes = diff.nodes.size();
  std::cout << "[ timing   ] diff of two generated policies: " << nodes << " nodes (" << nodes * (nodes - 1)
            << " pairs), " << before->source().rules.size() << " and " << after->source().rules.size() << " rules, "
            << diff.labels.size() << " labels; " << diff.sender_classes << " sender and " << diff.recipient_classes
            << " recipient classes; " << diff.decide_calls << " decide() calls; " << diff.groups.size() << " groups; "
            << seconds << " s\n";
  RecordProperty("seconds", std::to_string(seconds));
  EXPECT_FALSE(diff.groups.empty());
  EXPECT_GT(diff.count(ChangeKind::opened), 0u);
  // Generous: the point is seconds, not minutes, even in a debug build.
  EXPECT_LT(seconds, 60.0);
}

}  // namespace
}  // namespace icegate::policy

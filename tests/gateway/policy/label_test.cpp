// Labels under a scheme, recipient expansion, and the shipped policy files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gateway/policy/engine.hpp"
#include "gateway/policy/parser.hpp"
#include "gateway/policy/validator.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string read(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// ---- Shipped files ---------------------------------------------------------------

class ShippedScheme : public ::testing::TestWithParam<const char*> {};

TEST_P(ShippedScheme, ValidatesWithNoDiagnostics) {
  const std::string file = std::string(ICEGATE_SOURCE_DIR "/policies/schemes/") + GetParam();
  const std::string text = read(file);
  ASSERT_FALSE(text.empty()) << file;
  ParseResult parsed = parse_policy_file(text, file);
  ASSERT_TRUE(parsed.root) << testing::joined(testing::rendered(parsed.diagnostics));
  SchemeValidationResult scheme = validate_scheme(*parsed.root);
  EXPECT_THAT(testing::rendered(scheme.diagnostics), IsEmpty());
  ASSERT_TRUE(scheme.scheme);
  EXPECT_GE(scheme.scheme->classifications.size(), 4u);
}

INSTANTIATE_TEST_SUITE_P(Policies, ShippedScheme, ::testing::Values("gpms-2008.yaml", "gsc-2014.yaml"));

TEST(ShippedPolicy, DemoLoadsWithNoDiagnosticsAndAVersion) {
  LoadResult result = load_policy(ICEGATE_SOURCE_DIR "/policies/demo.yaml");
  EXPECT_THAT(testing::rendered(result.diagnostics), IsEmpty());
  ASSERT_TRUE(result.policy);
  const Policy& policy = result.policy->source();
  EXPECT_EQ(policy.name, "demo");
  EXPECT_EQ(policy.scheme.name, "gpms-2008");
  EXPECT_EQ(policy.file, ICEGATE_SOURCE_DIR "/policies/demo.yaml");
  EXPECT_EQ(policy.nodes.size(), 5u);
  EXPECT_EQ(policy.rules.size(), 4u);
  EXPECT_EQ(policy.occasional.window, std::chrono::hours(24 * 30));
  ASSERT_EQ(policy.vetting.size(), 5u);
  EXPECT_EQ(policy.vetting[1].occasional_ceiling, "SECRET");
  // The version covers the policy text and then the scheme text.
  EXPECT_THAT(result.policy->version(), ::testing::MatchesRegex("sha256:[0-9a-f]{64}"));
  EXPECT_EQ(result.policy->version(), load_policy(ICEGATE_SOURCE_DIR "/policies/demo.yaml").policy->version());
}

TEST(ShippedPolicy, VersionChangesWithTheSchemeText) {
  testing::TempDir dir("version");
  const std::string policy_text = "policy: v\nscheme: s.yaml\n";
  dir.write("s.yaml", "scheme: s\nclassifications: [{name: A}]\n");
  auto first = load_policy(dir.write("p.yaml", policy_text));
  dir.write("s.yaml", "scheme: s\nclassifications: [{name: A}, {name: B}]\n");
  auto second = load_policy(dir.path() / "p.yaml");
  ASSERT_TRUE(first.policy && second.policy);
  EXPECT_NE(first.policy->version(), second.policy->version());
  // Computed independently: printf "<policy text><scheme text>" | sha256sum
  EXPECT_EQ(second.policy->version(), "sha256:" "1442777d2c7270e7c04203284523cb2efa9065a69d98b586ccc5c5240d03fb72");
}

TEST(ShippedPolicy, GscSchemeWorksInAPolicy) {
  // The virtual file sits in policies/, so `schemes/gsc-2014.yaml` resolves to the shipped scheme.
  LoadResult result = load_policy_text(R"(policy: gsc
scheme: schemes/gsc-2014.yaml
vetting:
  - {name: BPSS, regular: OFFICIAL-SENSITIVE, occasional: SECRET}
)", ICEGATE_SOURCE_DIR "/policies/gsc-test.yaml");
  ASSERT_TRUE(result.policy) << testing::joined(testing::rendered(result.diagnostics));
  const CompiledPolicy& policy = *result.policy;
  EXPECT_LT(policy.classification_rank("OFFICIAL"), policy.classification_rank("OFFICIAL-SENSITIVE"));
  EXPECT_LT(policy.classification_rank("OFFICIAL-SENSITIVE"), policy.classification_rank("SECRET"));
  EXPECT_THAT(policy.label_problems(Label{"OFFICIAL-SENSITIVE", {"PERSONAL", "UK EYES ONLY"}}), IsEmpty());
  EXPECT_THAT(policy.label_problems(Label{"SECRET", {"PERSONAL"}}),
              ElementsAre("category 'PERSONAL' is not allowed at SECRET"));
  EXPECT_THAT(policy.label_problems(Label{"OFFICIAL", {"UK EYES ONLY"}}),
              ElementsAre("category 'UK EYES ONLY' is not allowed at OFFICIAL"));
  const std::vector<Label> portions{Label{"OFFICIAL", {}}, Label{"OFFICIAL-SENSITIVE", {"LOCSEN"}}};
  EXPECT_EQ(policy.display_marking(policy.least_upper_bound(portions)), "OFFICIAL-SENSITIVE LOCSEN");
}

// ---- Labels ---------------------------------------------------------------------------

TEST(PolicyLabels, ProblemsNameEachFault) {
  auto policy = testing::load_inline("");
  ASSERT_TRUE(policy);
  EXPECT_THAT(policy->label_problems(Label{"MID", {"EYES", "REL A"}}), IsEmpty());
  EXPECT_THAT(policy->label_problems(Label{"SECRET", {}}), ElementsAre("unknown classification 'SECRET'"));
  EXPECT_THAT(policy->label_problems(Label{"MID", {"NOSE", "EYES"}}), ElementsAre("unknown category 'NOSE'"));
  EXPECT_THAT(policy->label_problems(Label{"LOW", {"EYES"}}), ElementsAre("category 'EYES' is not allowed at LOW"));
  EXPECT_THAT(policy->label_problems(Label{"MID", {"PERSONAL"}}),
              ElementsAre("category 'PERSONAL' requires 'EYES', which is absent"));
  EXPECT_THAT(policy->label_problems(Label{"TOP", {"PERSONAL", "X"}}),
              ElementsAre("unknown classification 'TOP'", "category 'PERSONAL' requires 'EYES', which is absent",
                          "unknown category 'X'"));
}

TEST(PolicyLabels, LeastUpperBoundTakesTheHighestAndTheUnion) {
  auto policy = testing::load_inline("");
  ASSERT_TRUE(policy);
  const std::vector<Label> labels{Label{"MID", {"REL B"}}, Label{"HIGH", {"EYES"}}, Label{"LOW", {"REL A", "EYES"}}};
  EXPECT_EQ(policy->least_upper_bound(labels), (Label{"HIGH", {"EYES", "REL A", "REL B"}}));
  const std::vector<Label> with_unknown{Label{"NOPE", {}}, Label{"LOW", {}}};
  EXPECT_EQ(policy->least_upper_bound(with_unknown).classification, "LOW") << "unknown ranks below everything";
  EXPECT_EQ(policy->least_upper_bound({}), (Label{"LOW", {}}));
}

TEST(PolicyLabels, RankAndDisplayMarking) {
  auto policy = testing::load_inline("");
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->classification_rank("LOW"), 0);
  EXPECT_EQ(policy->classification_rank("HIGH"), 2);
  EXPECT_EQ(policy->classification_rank("NOPE"), -1);
  // Markings, categories in scheme order whatever the label's order.
  EXPECT_EQ(policy->display_marking(Label{"MID", {"REL B", "PERSONAL", "EYES", "REL A"}}),
            "MIDDLING EYES REL TO A REL TO B PERSONAL");
  EXPECT_EQ(policy->display_marking(Label{"HIGH", {}}), "HIGH");
  EXPECT_EQ(policy->display_marking(Label{"ODD", {"X", "EARS"}}), "ODD EARS X");
}

TEST(PolicyLabels, DemoMarking) {
  auto result = load_policy(ICEGATE_SOURCE_DIR "/policies/demo.yaml");
  ASSERT_TRUE(result.policy);
  EXPECT_EQ(result.policy->display_marking(Label{"SECRET", {"UK EYES ONLY"}}), "SECRET UK EYES ONLY");
}

// ---- The rules of a real SPIF, in a scheme file ------------------------------------------

// A scheme using every category rule and tag set marking key.
constexpr std::string_view kRuleScheme = R"(policy: rules
scheme:
  scheme: rules
  classifications:
    - name: LOW
    - name: HIGH
  tag_sets:
    - name: codewords
      type: restrictive
      max_selection: 1
      categories:
        - name: ALPHA
        - name: BRAVO
          excludes: [REL B]
    - name: releasable
      type: permissive
      marking_prefix: "REL TO "
      marking_separator: ", "
      marking_suffix: "."
      categories:
        - {name: REL A, marking: A}
        - {name: REL B, marking: B}
        - {name: REL C, marking: C}
    - name: descriptors
      type: informative
      categories:
        - name: LOCSEN
          requires_any_of: [[REL A, REL B]]
        - name: SINGLE
          requires_exactly_one_of: [[REL A, REL B], [ALPHA, BRAVO]]
vetting: [{name: v, regular: HIGH}]
organisations: [{id: o, kind: k}]
roles: [{id: r}]
nodes:
  - {id: a, organisation: o, role: r, vetting: v, categories: [ALPHA, BRAVO, REL A, REL B, REL C]}
  - {id: b, organisation: o, role: r, vetting: v, categories: [ALPHA, BRAVO, REL A, REL B, REL C]}
information_categories: [report]
purposes: [p]
rules:
  - {id: all, effect: permit}
)";

TEST(SchemeRules, EveryRuleIsALabelProblem) {
  LoadResult result = load_policy_text(kRuleScheme, "rules.yaml");
  ASSERT_TRUE(result.policy) << testing::joined(testing::rendered(result.diagnostics));
  const CompiledPolicy& policy = *result.policy;
  EXPECT_THAT(policy.label_problems(Label{"LOW", {"ALPHA", "BRAVO"}}),
              ElementsAre("tag set 'codewords' allows at most 1 category on a label; this one has 2 (ALPHA, BRAVO)"));
  EXPECT_THAT(policy.label_problems(Label{"LOW", {"BRAVO", "REL B"}}),
              ElementsAre("category 'BRAVO' excludes 'REL B', which is present"));
  EXPECT_THAT(policy.label_problems(Label{"LOW", {"LOCSEN", "REL C"}}),
              ElementsAre("category 'LOCSEN' requires one or more of REL A, REL B, and none is present"));
  EXPECT_THAT(policy.label_problems(Label{"LOW", {"LOCSEN", "REL B"}}), IsEmpty());
  EXPECT_THAT(policy.label_problems(Label{"LOW", {"SINGLE", "REL A", "REL B"}}),
              ElementsAre("category 'SINGLE' requires exactly one of REL A, REL B, and 2 are present",
                          "category 'SINGLE' requires exactly one of ALPHA, BRAVO, and none is present"));
  EXPECT_THAT(policy.label_problems(Label{"HIGH", {"SINGLE", "REL A", "BRAVO"}}), IsEmpty());
}

TEST(SchemeRules, DecisionsWithholdWhatTheRulesForbid) {
  LoadResult result = load_policy_text(kRuleScheme, "rules.yaml");
  ASSERT_TRUE(result.policy) << testing::joined(testing::rendered(result.diagnostics));
  const std::vector<Label> labels{Label{"LOW", {"ALPHA", "BRAVO"}},  Label{"LOW", {"BRAVO", "REL B"}},
                                  Label{"LOW", {"LOCSEN", "REL C"}}, Label{"LOW", {"SINGLE", "REL A", "REL B"}},
                                  Label{"LOW", {"LOCSEN", "REL A"}}, Label{"HIGH", {"SINGLE", "REL A", "BRAVO"}}};
  const PolicyDecision decision = result.policy->decide({"a", "b", "report", "p", labels, false});
  ASSERT_EQ(decision.portions.size(), labels.size());
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(decision.portions[i].reason, PortionReason::invalid_label) << i;
    EXPECT_FALSE(decision.portions[i].released) << i;
  }
  EXPECT_TRUE(decision.portions[4].released) << decision.portions[4].detail;
  EXPECT_TRUE(decision.portions[5].released) << decision.portions[5].detail;
  EXPECT_EQ(decision.portions[1].detail, "invalid label: category 'BRAVO' excludes 'REL B', which is present");
}

TEST(SchemeRules, AClassificationMayRequireCategories) {
  // SPIF requiredCategory on a securityClassification: every label at it
  // carries them (here: CONFIDENTIAL goes to one or more named partners).
  LoadResult result = load_policy_text(R"(policy: p
scheme:
  scheme: s
  classifications:
    - name: LOW
    - name: CONFIDENTIAL
      requires_any_of: [[REL A, REL B]]
    - name: HIGH
      requires: [EYES]
      requires_exactly_one_of: [[REL A, REL B]]
  tag_sets:
    - name: caveats
      type: restrictive
      categories: [{name: EYES}]
    - name: releasable
      type: permissive
      categories: [{name: REL A}, {name: REL B}]
)", "classification-rules.yaml");
  ASSERT_TRUE(result.policy) << testing::joined(testing::rendered(result.diagnostics));
  const CompiledPolicy& policy = *result.policy;
  EXPECT_THAT(policy.label_problems(Label{"LOW", {}}), IsEmpty());
  EXPECT_THAT(policy.label_problems(Label{"CONFIDENTIAL", {}}),
              ElementsAre("classification 'CONFIDENTIAL' requires one or more of REL A, REL B, and none is present"));
  EXPECT_THAT(policy.label_problems(Label{"CONFIDENTIAL", {"REL B"}}), IsEmpty());
  EXPECT_THAT(policy.label_problems(Label{"HIGH", {"REL A", "REL B"}}),
              ElementsAre("classification 'HIGH' requires 'EYES', which is absent",
                          "classification 'HIGH' requires exactly one of REL A, REL B, and 2 are present"));
  EXPECT_THAT(policy.label_problems(Label{"HIGH", {"EYES", "REL A"}}), IsEmpty());
  const std::vector<Label> labels{Label{"CONFIDENTIAL", {}}, Label{"CONFIDENTIAL", {"REL A"}}};
  const PolicyDecision decision = policy.decide({"x", "y", "c", "p", labels, false});
  EXPECT_EQ(decision.portions[0].reason, PortionReason::invalid_label);
  EXPECT_NE(decision.portions[1].reason, PortionReason::invalid_label);
}

TEST(SchemeRules, ATagSetsQualifiersFrameItsCategoriesOnce) {
  LoadResult result = load_policy_text(kRuleScheme, "rules.yaml");
  ASSERT_TRUE(result.policy) << testing::joined(testing::rendered(result.diagnostics));
  const CompiledPolicy& policy = *result.policy;
  EXPECT_EQ(policy.display_marking(Label{"LOW", {"REL C", "SINGLE", "REL A", "ALPHA"}}),
            "LOW ALPHA REL TO A, C. SINGLE");
  EXPECT_EQ(policy.display_marking(Label{"LOW", {"REL B"}}), "LOW REL TO B.");
  EXPECT_EQ(policy.display_marking(Label{"LOW", {"BRAVO", "ALPHA"}}), "LOW ALPHA BRAVO");
}

// ---- Expansion ------------------------------------------------------------------------

constexpr std::string_view kDirectory = R"(vetting: [{name: v, regular: HIGH}]
organisations:
  - {id: unit, kind: ctu}
  - {id: council, kind: council}
roles:
  - {id: analyst}
  - {id: officer}
  - {id: vacant}
nodes:
  - {id: a1, organisation: unit, role: analyst, vetting: v}
  - {id: c1, organisation: council, role: officer, vetting: v}
  - {id: a2, organisation: unit, role: analyst, vetting: v}
  - {id: c2, organisation: council, role: officer, vetting: v}
lists:
  - {id: mixed, nodes: [c2], roles: [analyst]}
  - {id: empty}
)";

TEST(PolicyExpand, EachAddresseeKind) {
  auto policy = testing::load_inline(kDirectory);
  ASSERT_TRUE(policy);
  auto expand = [&](std::vector<Addressee> to, std::string_view sender = "outside") {
    return policy->expand(to, sender);
  };
  EXPECT_THAT(expand({{AddresseeKind::node, "c2"}}).recipients, ElementsAre("c2"));
  EXPECT_THAT(expand({{AddresseeKind::role, "analyst"}}).recipients, ElementsAre("a1", "a2"));
  EXPECT_THAT(expand({{AddresseeKind::organisation, "council"}}).recipients, ElementsAre("c1", "c2"));
  EXPECT_THAT(expand({{AddresseeKind::list, "mixed"}}).recipients, ElementsAre("a1", "a2", "c2"));
}

TEST(PolicyExpand, DeduplicatedInPolicyOrderWithoutTheSender) {
  auto policy = testing::load_inline(kDirectory);
  ASSERT_TRUE(policy);
  const std::vector<Addressee> to{{AddresseeKind::node, "c2"},
                                  {AddresseeKind::list, "mixed"},
                                  {AddresseeKind::organisation, "council"},
                                  {AddresseeKind::node, "a1"}};
  Expansion expansion = policy->expand(to, "a1");
  EXPECT_THAT(expansion.recipients, ElementsAre("c1", "a2", "c2"));
  EXPECT_THAT(expansion.unresolved, IsEmpty());
}

TEST(PolicyExpand, UnresolvedNamesAreReportedByKind) {
  auto policy = testing::load_inline(kDirectory);
  ASSERT_TRUE(policy);
  const std::vector<Addressee> to{{AddresseeKind::role, "nobody"},     {AddresseeKind::node, "ghost"},
                                  {AddresseeKind::list, "empty"},      {AddresseeKind::organisation, "mi5"},
                                  {AddresseeKind::role, "vacant"},     {AddresseeKind::role, "nobody"},
                                  {AddresseeKind::node, "c1"}};
  Expansion expansion = policy->expand(to, "a1");
  EXPECT_THAT(expansion.recipients, ElementsAre("c1"));
  EXPECT_THAT(expansion.unresolved,
              ElementsAre("role:nobody", "node:ghost", "list:empty", "organisation:mi5", "role:vacant"));
  // The sender alone is resolved, just not a recipient.
  Expansion self = policy->expand(std::vector<Addressee>{{AddresseeKind::node, "a1"}}, "a1");
  EXPECT_THAT(self.recipients, IsEmpty());
  EXPECT_THAT(self.unresolved, IsEmpty());
}

}  // namespace
}  // namespace icegate::policy

// `policy check` (gateway/policy/check.hpp): the loader's errors, all of
// them, and every warning code on a policy built to trigger each one; the
// shipped policies' own findings; shadowing computed exactly over unions of
// rules and classification ranges.
#include <chrono>
#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "gateway/policy/check.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::rendered;

const std::filesystem::path kPolicies = ICEGATE_SOURCE_DIR "/policies";

using testing::codes;
using testing::found;
using testing::Found;

// A policy with one of every warning, each marked with its code.
constexpr std::string_view kSuspicious = R"(policy: suspicious
scheme:
  scheme: s
  classifications:
    - name: LOW
    - name: MID
    - name: HIGH
  tag_sets:
    - name: caveats
      type: restrictive
      categories:
        - name: EYES
          excluded_at: [LOW]
        - name: NEVER
          excluded_at: [LOW, MID, HIGH]
        - name: NEEDS NEVER
          requires: [NEVER]
        - name: PING
          requires: [PONG]
        - name: PONG
          requires: [PING]
vetting:
  - {name: low, regular: LOW}
  - {name: high, regular: HIGH}
  - {name: unused, regular: MID}
organisations:
  - {id: ctu, kind: ctu, ct_network: true}
  - {id: council, kind: council}
roles:
  - {id: analyst}
  - {id: officer}
  - {id: ghost}
nodes:
  - {id: a1, organisation: ctu, role: analyst, vetting: high, categories: [EYES]}
  - {id: a2, organisation: ctu, role: analyst, vetting: high}
  - {id: o1, organisation: council, role: officer, vetting: low, categories: [EYES]}
lists:
  - {id: empty}
  - {id: ghosts, roles: [ghost]}
information_categories: [report, orphan, blocked]
purposes: [p]
rules:
  - id: base
    effect: permit
    categories: [report]
    from: {organisations: [ctu]}
    to: {organisations: [ctu]}
  - id: narrower
    effect: permit
    categories: [report]
    from: {nodes: [a1]}
    to: {nodes: [a2]}
  - id: to-ghost
    effect: permit
    categories: [report]
    to: {roles: [ghost]}
  - id: self
    effect: permit
    categories: [report]
    from: {nodes: [a1]}
    to: {nodes: [a1]}
  - id: block
    effect: deny
    categories: [blocked]
  - id: blocked-permit
    effect: permit
    categories: [blocked]
    from: {organisations: [ctu]}
  - id: too-high
    effect: permit
    categories: [report]
    to: {nodes: [o1]}
    min_classification: HIGH
events:
  - id: never
    triggered_by: {roles: [ghost]}
)";

TEST(PolicyCheck, ReportsEveryWarningCodeAtItsPlaceSorted) {
  PolicyCheckResult result = check_policy_text(kSuspicious, "suspicious.yaml");
  ASSERT_TRUE(result.policy);
  EXPECT_EQ(result.error_count(), 0u);
  EXPECT_THAT(
      rendered(result.diagnostics),
      ElementsAre(
          "suspicious.yaml:14:11: warning[W008]: category 'NEVER' can never appear on a valid label: it is excluded "
          "at every classification",
          "suspicious.yaml:16:11: warning[W008]: category 'NEEDS NEVER' can never appear on a valid label: with the "
          "categories it requires (NEVER), some category is excluded at every classification",
          "suspicious.yaml:18:11: warning[W009]: categories 'PING' and 'PONG' require each other (a requires cycle): "
          "each can appear only with all the others, so they act as one category",
          "suspicious.yaml:25:5: warning[W006]: vetting level 'unused' is held by no node",
          "suspicious.yaml:32:5: warning[W003]: role 'ghost' is held by no node, so it adds no one where it is named "
          "(rule to-ghost, list ghosts, event never)",
          "suspicious.yaml:36:79: warning[W010]: node 'o1' holds 'EYES', but no label it is cleared for can carry "
          "it: 'EYES' is allowed only at MID and above, and low's occasional ceiling is LOW",
          "suspicious.yaml:38:5: warning[W004]: distribution list 'empty' is empty: it names no nodes and no roles",
          "suspicious.yaml:39:5: warning[W004]: distribution list 'ghosts' has no members: no node holds any of its "
          "roles",
          "suspicious.yaml:40:34: warning[W005]: information category 'orphan' can never be released: no permit "
          "rule covers it",
          "suspicious.yaml:40:42: warning[W005]: information category 'blocked' can never be released: the permit "
          "rules that cover it (blocked-permit) never release anything, because a deny overrides them, they match "
          "no sender and recipient pair, or the recipients' vetting is below their classification range",
          "suspicious.yaml:48:5: warning[W002]: rule 'narrower' is shadowed: every request it applies to is already "
          "decided by earlier permit 'base', so it never decides a portion",
          "suspicious.yaml:56:5: warning[W001]: rule 'to-ghost' never applies: its 'to' matches no node",
          "suspicious.yaml:57:5: warning[W001]: rule 'self' never applies: 'from' and 'to' both match only node "
          "'a1', and a node never sends to itself",
          "suspicious.yaml:65:5: warning[W002]: rule 'blocked-permit' is shadowed: every request it applies to is "
          "already decided by deny 'block', so it never decides a portion",
          "suspicious.yaml:73:5: warning[W007]: rule 'too-high' can never release anything: it applies only at HIGH "
          "and above, which is above the occasional ceiling of every node its 'to' matches (the highest is LOW, "
          "o1's vetting low)",
          "suspicious.yaml:76:5: warning[W011]: event 'never' can be triggered by no node: its 'triggered_by' "
          "matches no node, so what is embargoed until it is never released"));
}

TEST(PolicyCheck, WithoutTheTextWarningsPointAtTheEnclosingEntry) {
  auto loaded = load_policy_text(kSuspicious, "suspicious.yaml");
  ASSERT_TRUE(loaded.policy);
  Diagnostics warnings = analyse_policy(*loaded.policy);
  // The same findings (W005 now only at the file, so sorted first); W001 for
  // 'to-ghost' now at the rule, not its `to:` key.
  auto sorted_codes = [](const Diagnostics& diagnostics) {
    std::vector<Code> result = codes(diagnostics);
    std::sort(result.begin(), result.end());
    return result;
  };
  EXPECT_EQ(sorted_codes(warnings), sorted_codes(check_policy_text(kSuspicious, "suspicious.yaml").diagnostics));
  bool found = false;
  for (const Diagnostic& diagnostic : warnings.all()) {
    if (diagnostic.code == Code::W001 && diagnostic.message.find("to-ghost") != std::string::npos) {
      EXPECT_EQ(diagnostic.location.line, 53);
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(PolicyCheck, ErrorsAreAllCollectedSortedAndStopTheAnalysis) {
  PolicyCheckResult result = check_policy_text(R"(policy: broken
scheme:
  scheme: s
  classifications: [{name: LOW}]
roles:
  - {id: r, level: nowhere}
rules:
  - id: x
    effect: allow
)",
                                               "broken.yaml");
  EXPECT_FALSE(result.policy);
  EXPECT_THAT(found(result.diagnostics), ElementsAre(Found{Code::P011, 6, 20}, Found{Code::P005, 9, 13}));
  EXPECT_EQ(result.warning_count(), 0u);
}

TEST(PolicyCheck, AnUnreadableFileIsP007) {
  PolicyCheckResult result = check_policy(kPolicies / "no-such-policy.yaml");
  EXPECT_FALSE(result.policy);
  EXPECT_THAT(codes(result.diagnostics), ElementsAre(Code::P007));
}

// ---- Shadowing is exact ------------------------------------------------------------

constexpr std::string_view kThreeNodes = R"(policy: shadows
scheme:
  scheme: s
  classifications: [{name: LOW}, {name: MID}, {name: HIGH}]
vetting: [{name: v, regular: HIGH}]
organisations: [{id: o, kind: k}]
roles: [{id: r}]
nodes:
  - {id: a, organisation: o, role: r, vetting: v}
  - {id: b, organisation: o, role: r, vetting: v}
  - {id: c, organisation: o, role: r, vetting: v}
information_categories: [info]
purposes: [p]
)";

std::vector<std::string> shadow_warnings(std::string_view rules) {
  PolicyCheckResult result = check_policy_text(std::string(kThreeNodes) + std::string(rules), "shadows.yaml");
  EXPECT_TRUE(result.policy) << testing::joined(rendered(result.diagnostics));
  std::vector<std::string> messages;
  for (const Diagnostic& diagnostic : result.diagnostics.sorted()) {
    if (diagnostic.code == Code::W002) messages.push_back(diagnostic.message);
  }
  return messages;
}

TEST(PolicyCheckShadowing, TwoEarlierRulesTogetherShadowOneThatNeitherCoversAlone) {
  EXPECT_THAT(shadow_warnings(R"(rules:
  - {id: to-a, effect: permit, to: {nodes: [a]}}
  - {id: to-b, effect: permit, to: {nodes: [b]}}
  - {id: to-a-or-b, effect: permit, to: {nodes: [a, b]}}
)"),
              ElementsAre("rule 'to-a-or-b' is shadowed: every request it applies to is already decided by earlier "
                          "permit 'to-a' and 'to-b', so it never decides a portion"));
}

TEST(PolicyCheckShadowing, ClassificationRangesCombine) {
  EXPECT_THAT(shadow_warnings(R"(rules:
  - {id: low-to-mid, effect: permit, max_classification: MID}
  - {id: high, effect: permit, min_classification: HIGH}
  - {id: any, effect: permit}
)"),
              ElementsAre("rule 'any' is shadowed: every request it applies to is already decided by earlier permit "
                          "'low-to-mid' and 'high', so it never decides a portion"));
  // One classification left uncovered: not shadowed.
  EXPECT_THAT(shadow_warnings(R"(rules:
  - {id: low, effect: permit, max_classification: LOW}
  - {id: high, effect: permit, min_classification: HIGH}
  - {id: any, effect: permit}
)"),
              IsEmpty());
}

TEST(PolicyCheckShadowing, ALaterDenyShadowsAPermitButALaterPermitDoesNot) {
  EXPECT_THAT(shadow_warnings(R"(rules:
  - {id: permit-all, effect: permit}
  - {id: deny-all, effect: deny}
)"),
              ElementsAre("rule 'permit-all' is shadowed: every request it applies to is already decided by deny "
                          "'deny-all', so it never decides a portion"));
  EXPECT_THAT(shadow_warnings(R"(rules:
  - {id: narrow, effect: permit, to: {nodes: [a]}}
  - {id: broad, effect: permit}
)"),
              IsEmpty());
}

TEST(PolicyCheckShadowing, ADenyIsShadowedOnlyByEarlierDenies) {
  EXPECT_THAT(shadow_warnings(R"(rules:
  - {id: deny-all, effect: deny}
  - {id: deny-to-a, effect: deny, to: {nodes: [a]}}
  - {id: permit-to-a, effect: permit, to: {nodes: [a]}}
)"),
              ElementsAre("rule 'deny-to-a' is shadowed: every request it applies to is already decided by earlier "
                          "deny 'deny-all', so it never decides a portion",
                          "rule 'permit-to-a' is shadowed: every request it applies to is already decided by deny "
                          "'deny-all', so it never decides a portion"));
  // A permit before a deny does not shadow the deny.
  EXPECT_THAT(shadow_warnings(R"(rules:
  - {id: permit-all, effect: permit}
  - {id: deny-to-a, effect: deny, to: {nodes: [a]}}
)"),
              IsEmpty());
}

TEST(PolicyCheckShadowing, ANodeNeverSendingToItselfIsTakenIntoAccount) {
  // `to-others` applies to a->b, a->c, ... ; `from-a-to-bc` plus `from-bc` cover
  // every pair except a node sending to itself, which never happens.
  EXPECT_THAT(shadow_warnings(R"(rules:
  - {id: from-a, effect: permit, from: {nodes: [a]}, to: {nodes: [b, c]}}
  - {id: from-b, effect: permit, from: {nodes: [b]}, to: {nodes: [a, c]}}
  - {id: from-c, effect: permit, from: {nodes: [c]}, to: {nodes: [a, b]}}
  - {id: everyone, effect: permit}
)"),
              ElementsAre("rule 'everyone' is shadowed: every request it applies to is already decided by earlier "
                          "permit 'from-a', 'from-b' and 'from-c', so it never decides a portion"));
}

// ---- The shipped policies -----------------------------------------------------------

TEST(PolicyCheckShipped, NeedToShareHasNoWarnings) {
  PolicyCheckResult result = check_policy(kPolicies / "need-to-share.yaml");
  ASSERT_TRUE(result.policy);
  EXPECT_THAT(rendered(result.diagnostics), IsEmpty());
}

TEST(PolicyCheckShipped, NeedToKnowNeverReleasesFeedback) {
  // The status quo the report criticises: front-line staff never hear back.
  PolicyCheckResult result = check_policy(kPolicies / "need-to-know.yaml");
  ASSERT_TRUE(result.policy);
  ASSERT_THAT(codes(result.diagnostics), ElementsAre(Code::W005));
  EXPECT_THAT(result.diagnostics.all().front().message, HasSubstr("'feedback' can never be released"));
}

TEST(PolicyCheckShipped, DemoDefinesVettingLevelsNobodyHolds) {
  PolicyCheckResult result = check_policy(kPolicies / "demo.yaml");
  ASSERT_TRUE(result.policy);
  EXPECT_THAT(codes(result.diagnostics), ElementsAre(Code::W006, Code::W006));
}

// ---- Structured details ------------------------------------------------------------

// What a diagnostic says besides its text, for tools: the rule it is about and
// another place that matters.
TEST(PolicyCheckDetails, AShadowedRuleNamesItselfAndWhereTheRuleThatShadowsItIs) {
  PolicyCheckResult result = check_policy_text(std::string(kThreeNodes) + R"(rules:
  - {id: permit-all, effect: permit}
  - {id: deny-all, effect: deny}
)",
                                               "shadows.yaml");
  ASSERT_TRUE(result.policy);
  // W002, and W005: with every permit overridden, 'info' is never released.
  ASSERT_THAT(codes(result.diagnostics), ElementsAre(Code::W005, Code::W002));
  const Diagnostic shadowed = result.diagnostics.sorted()[1];
  EXPECT_EQ(shadowed.details.rule, "permit-all");
  ASSERT_TRUE(shadowed.details.related);
  EXPECT_EQ(shadowed.details.related->file, "shadows.yaml");
  EXPECT_EQ(shadowed.details.related->line, 16);  // deny-all, the line after permit-all
  EXPECT_EQ(shadowed.location.line, 15);
}

constexpr std::string_view kMisspelt = R"(policy: details
scheme:
  scheme: s
  classifications: [{name: LOW}]
levels: [tactical]
roles:
  - {id: r, level: tactcal}
  - {id: r}
)";

TEST(PolicyCheckDetails, AnUndefinedNameCarriesTheSuggestionAndADuplicateItsFirstDefinition) {
  PolicyCheckResult result = check_policy_text(kMisspelt, "details.yaml");
  ASSERT_FALSE(result.policy);
  std::optional<Diagnostic> undefined, duplicate;
  for (const Diagnostic& diagnostic : result.diagnostics.all()) {
    if (diagnostic.code == Code::P011) undefined = diagnostic;
    if (diagnostic.code == Code::P010) duplicate = diagnostic;
  }
  ASSERT_TRUE(undefined) << testing::joined(rendered(result.diagnostics));
  EXPECT_EQ(undefined->details.suggestion, "tactical");
  EXPECT_EQ((Found{undefined->code, undefined->location.line, undefined->location.column}), (Found{Code::P011, 7, 20}));
  ASSERT_TRUE(duplicate) << testing::joined(rendered(result.diagnostics));
  EXPECT_EQ(duplicate->location.line, 8);
  ASSERT_TRUE(duplicate->details.related);
  EXPECT_EQ(duplicate->details.related->line, 7);
  EXPECT_EQ(duplicate->details.related->column, 10);
}

// ---- Scale ------------------------------------------------------------------------------

TEST(PolicyCheckScale, HundredsOfNodesAndRulesAreCheckedQuickly) {
  std::string text = R"(policy: large
scheme:
  scheme: s
  classifications: [{name: LOW}, {name: MID}, {name: HIGH}]
vetting: [{name: v, regular: HIGH}]
organisations:
)";
  for (int o = 0; o < 20; ++o) text += fmt::format("  - {{id: org{}, kind: kind{}}}\n", o, o % 5);
  text += "roles:\n";
  for (int r = 0; r < 10; ++r) text += fmt::format("  - {{id: role{}}}\n", r);
  text += "nodes:\n";
  for (int n = 0; n < 400; ++n) {
    text += fmt::format("  - {{id: n{}, organisation: org{}, role: role{}, vetting: v}}\n", n, n % 20, n % 10);
  }
  text += "information_categories: [c0, c1, c2, c3, c4, c5, c6, c7]\npurposes: [p0, p1, p2, p3]\nrules:\n";
  for (int r = 0; r < 200; ++r) {
    text += fmt::format("  - {{id: r{}, effect: {}, categories: [c{}], from: {{roles: [role{}]}}, to: "
                        "{{organisation_kinds: [kind{}]}}, max_classification: {}}}\n",
                        r, r % 7 == 0 ? "deny" : "permit", r % 8, r % 10, r % 5, r % 3 == 0 ? "MID" : "HIGH");
  }
  const auto start = std::chrono::steady_clock::now();
  PolicyCheckResult result = check_policy_text(text, "large.yaml");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(result.policy) << testing::joined(rendered(result.diagnostics));
  // Many rules repeat an earlier one's conditions: each is found shadowed.
  EXPECT_GT(result.warning_count(), 100u);
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

// ---- JSON ----------------------------------------------------------------------------------

TEST(PolicyCheckJson, DiagnosticsAndStringsAreEscaped) {
  EXPECT_EQ(json_string("a \"b\"\n\\c\x01"), R"("a \"b\"\n\\c\u0001")");
  Diagnostic diagnostic{Severity::warning, Code::W001, SourceLocation{"p.yaml", 3, 5}, "rule 'x'"};
  EXPECT_EQ(to_json(diagnostic), R"({"severity":"warning","code":"W001","title":"rule never applies","file":"p.yaml",)"
                                 R"("line":3,"column":5,"message":"rule 'x'"})");
}

TEST(PolicyCheckJson, TheStructuredDetailsAreWrittenWhenThereAreAny) {
  Diagnostic diagnostic{Severity::error, Code::P011, SourceLocation{"p.yaml", 3, 5}, "undefined role 'chef'",
                        {.suggestion = "chief", .rule = "r1", .related = SourceLocation{"p.yaml", 1, 2}}};
  EXPECT_EQ(to_json(diagnostic),
            R"({"severity":"error","code":"P011","title":"undefined reference","file":"p.yaml","line":3,"column":5,)"
            R"("message":"undefined role 'chef'","suggestion":"chief","rule":"r1",)"
            R"("related":{"file":"p.yaml","line":1,"column":2}})");
}

}  // namespace
}  // namespace icegate::policy

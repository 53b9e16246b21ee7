// `policy fmt` (gateway/policy/format.hpp): canonical layout, comments kept,
// idempotent, and semantics-preserving on every shipped file; the rules of
// the layout one by one; the unified diff.
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "gateway/policy/format.hpp"
#include "gateway/policy/testing.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::filesystem::path kPolicies = ICEGATE_SOURCE_DIR "/policies";

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string format_ok(std::string_view text, const std::string& name = "t.yaml") {
  FormatResult result = format_policy_yaml(text, name);
  EXPECT_TRUE(result.ok) << testing::joined(testing::rendered(result.diagnostics));
  return result.text;
}

// Every comment of a YAML text, in order, as written from '#' (crude: enough
// for files whose strings hold no " #").
std::vector<std::string> comments_of(std::string_view text) {
  std::vector<std::string> result;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::size_t hash = line.find('#');
    while (hash != std::string::npos && hash > 0 && line[hash - 1] != ' ') hash = line.find('#', hash + 1);
    if (hash == std::string::npos) continue;
    if (line.find('"') != std::string::npos && line.find('"') < hash) continue;  // "#rrggbb"
    result.push_back(line.substr(hash));
  }
  std::sort(result.begin(), result.end());
  return result;
}

// ---- What a policy means, without where it was written ----------------------------------

std::string dump(const SubjectMatcher& m) {
  return fmt::format("nodes={} orgs={} kinds={} roles={} levels={} ct={} lists={}", fmt::join(m.nodes, ","),
                     fmt::join(m.organisations, ","), fmt::join(m.organisation_kinds, ","), fmt::join(m.roles, ","),
                     fmt::join(m.levels, ","), m.ct_network ? (*m.ct_network ? "true" : "false") : "-",
                     fmt::join(m.lists, ","));
}

std::string dump(const Policy& p) {
  std::string out = fmt::format("policy {} | {}\n", p.name, p.description);
  const LabelScheme& s = p.scheme;
  out += fmt::format("scheme {} | {}\n", s.name, s.description);
  for (const auto& c : s.classifications) {
    out += fmt::format("  class {} {} {} {} {}\n", c.name, c.marking, c.colour, c.text_colour, c.rank);
  }
  for (const auto& t : s.tag_sets) {
    out += fmt::format("  set {} {} {}\n", t.name, static_cast<int>(t.type), fmt::join(t.categories, ","));
  }
  for (const auto& c : s.categories) {
    out += fmt::format("  cat {} {} {} ex={} req={}\n", c.name, c.marking, c.tag_set, fmt::join(c.excluded_at, ","),
                       fmt::join(c.requires_categories, ","));
  }
  out += fmt::format("levels {}\n", fmt::join(p.levels, ","));
  for (const auto& v : p.vetting) out += fmt::format("vetting {} {} {}\n", v.name, v.regular_ceiling, v.occasional_ceiling);
  out += fmt::format("allowance {} {}\n", p.occasional.releases, p.occasional.window.count());
  for (const auto& o : p.organisations) out += fmt::format("org {} {} {} {}\n", o.id, o.name, o.kind, o.ct_network);
  for (const auto& r : p.roles) out += fmt::format("role {} {} {}\n", r.id, r.name, r.level);
  for (const auto& n : p.nodes) {
    out += fmt::format("node {} {} {} {} {} {}\n", n.id, n.name, n.organisation, n.role, n.vetting,
                       fmt::join(n.categories, ","));
  }
  for (const auto& l : p.lists) {
    out += fmt::format("list {} {} {} {}\n", l.id, l.name, fmt::join(l.nodes, ","), fmt::join(l.roles, ","));
  }
  out += fmt::format("categories {}\npurposes {}\n", fmt::join(p.information_categories, ","),
                     fmt::join(p.purposes, ","));
  for (const auto& r : p.rules) {
    out += fmt::format("rule {} {} {} c={} p={} from[{}] to[{}] min={} max={} review={} oc={} nos={}\n", r.id,
                       static_cast<int>(r.effect), r.description, fmt::join(r.categories, ","),
                       fmt::join(r.purposes, ","), dump(r.from), dump(r.to), r.min_classification.value_or("-"),
                       r.max_classification.value_or("-"), fmt::join(r.handling.review_by, ","),
                       r.handling.originator_control, r.handling.no_onward_sharing);
  }
  for (const auto& e : p.events) out += fmt::format("event {} {} [{}]\n", e.id, e.description, dump(e.triggered_by));
  for (const auto& peer : p.peers) {
    out += fmt::format("peer {} {} {} holds={} {} receives={} {} speaks_for={} {} {}\n", peer.id, peer.address,
                       peer.ca, peer.holds.max_classification, fmt::join(peer.holds.categories, ","),
                       fmt::join(peer.receives.categories, ","), fmt::join(peer.receives.purposes, ","),
                       fmt::join(peer.speaks_for.organisations, ","), fmt::join(peer.speaks_for.nodes, ","),
                       fmt::join(peer.speaks_for.roles, ","));
  }
  return out;
}

std::string dump(const PolicyTestFile& file) {
  std::string out = fmt::format("policy {} | {}\n", file.policy.string(), file.description);
  for (const PolicyTestCase& test : file.cases) {
    const PolicyTestRequest& r = test.request;
    out += fmt::format("case {} | {} | {} {} {} {} occ={}\n", test.name, test.description, r.from.value, r.to.value,
                       r.category.value, r.purpose.value, r.occasional_available);
    for (const PolicyTestPortion& p : r.portions) out += fmt::format("  portion {} {}\n", p.id, to_string(p.label));
    const PolicyTestExpectation& e = test.expect;
    auto names = [](const std::optional<std::vector<PolicyTestName>>& v) {
      if (!v) return std::string("-");
      std::vector<std::string> values;
      for (const auto& n : *v) values.push_back(n.value);
      return fmt::format("[{}]", fmt::join(values, ","));
    };
    auto ids = [](const std::optional<std::vector<std::string>>& v) {
      return v ? fmt::format("[{}]", fmt::join(*v, ",")) : std::string("-");
    };
    auto flag = [](const std::optional<bool>& v) { return v ? (*v ? "true" : "false") : "-"; };
    out += fmt::format("  expect {} w={} r={} rules={} roles={} oc={} nos={} occ={} reason={}\n",
                       to_string(e.decision), ids(e.withheld), ids(e.released), names(e.rules), names(e.review_roles),
                       flag(e.originator_control), flag(e.no_onward_sharing), flag(e.occasional),
                       e.reason_contains.value_or("-"));
  }
  return out;
}

// ---- Every shipped file ---------------------------------------------------------------

std::vector<std::filesystem::path> shipped_yaml_files() {
  std::vector<std::filesystem::path> files;
  for (const char* folder : {"", "schemes", "tests", "demo", "federation"}) {
    for (const auto& entry : std::filesystem::directory_iterator(kPolicies / folder)) {
      if (entry.is_regular_file() && entry.path().extension() == ".yaml") files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(FormatShipped, EveryShippedFileFormatsIdempotentlyKeepingEveryComment) {
  const auto files = shipped_yaml_files();
  ASSERT_GE(files.size(), 8u);
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    const std::string original = read_file(file);
    FormatResult first = format_policy_yaml(original, file.string());
    ASSERT_TRUE(first.ok) << testing::joined(testing::rendered(first.diagnostics));
    FormatResult second = format_policy_yaml(first.text, file.string());
    ASSERT_TRUE(second.ok);
    EXPECT_FALSE(second.changed);
    EXPECT_EQ(second.text, first.text);
    EXPECT_EQ(comments_of(first.text), comments_of(original));
    EXPECT_THAT(first.text, ::testing::Not(HasSubstr(" \n")));
  }
}

TEST(FormatShipped, PoliciesMeanTheSameAfterFormatting) {
  for (const char* name : {"demo.yaml", "need-to-know.yaml", "need-to-share.yaml", "federation/wm-ctu.yaml",
                           "federation/birmingham-cc.yaml", "federation/staffordshire.yaml"}) {
    SCOPED_TRACE(name);
    const std::filesystem::path file = kPolicies / name;
    const std::string original = read_file(file);
    FormatResult formatted = format_policy_yaml(original, file.string());
    ASSERT_TRUE(formatted.ok);
    EXPECT_EQ(formatted.kind, YamlFileKind::policy);
    LoadResult before = load_policy_text(original, file);
    LoadResult after = load_policy_text(formatted.text, file);
    ASSERT_TRUE(before.policy);
    ASSERT_TRUE(after.policy) << testing::joined(testing::rendered(after.diagnostics));
    EXPECT_EQ(dump(after.policy->source()), dump(before.policy->source()));
    EXPECT_EQ(after.diagnostics.all().size(), 0u);
  }
}

TEST(FormatShipped, SchemesMeanTheSameAfterFormatting) {
  testing::TempDir dir("fmt-schemes");
  for (const char* name : {"gpms-2008.yaml", "gsc-2014.yaml"}) {
    SCOPED_TRACE(name);
    const std::string original = read_file(kPolicies / "schemes" / name);
    FormatResult formatted = format_policy_yaml(original, name);
    ASSERT_TRUE(formatted.ok);
    EXPECT_EQ(formatted.kind, YamlFileKind::scheme);
    dir.write("before.yaml", original);
    dir.write("after.yaml", formatted.text);
    LoadResult before = load_policy_text("policy: p\nscheme: before.yaml\n", dir.path() / "p.yaml");
    LoadResult after = load_policy_text("policy: p\nscheme: after.yaml\n", dir.path() / "p.yaml");
    ASSERT_TRUE(before.policy);
    ASSERT_TRUE(after.policy);
    EXPECT_EQ(dump(after.policy->source()), dump(before.policy->source()));
  }
}

TEST(FormatShipped, TestFilesMeanTheSameAfterFormatting) {
  for (const char* name : {"demo.test.yaml", "need-to-know.test.yaml", "need-to-share.test.yaml"}) {
    SCOPED_TRACE(name);
    const std::filesystem::path file = kPolicies / "tests" / name;
    const std::string original = read_file(file);
    FormatResult formatted = format_policy_yaml(original, file.string());
    ASSERT_TRUE(formatted.ok);
    EXPECT_EQ(formatted.kind, YamlFileKind::policy_test);
    PolicyTestFile before = load_policy_tests_text(original, file);
    PolicyTestFile after = load_policy_tests_text(formatted.text, file);
    ASSERT_TRUE(after.diagnostics.empty()) << testing::joined(testing::rendered(after.diagnostics));
    EXPECT_EQ(dump(after), dump(before));
    EXPECT_EQ(after.cases.size(), before.cases.size());
  }
}

// `icegate policy fmt --check policies/*.yaml policies/schemes/*.yaml` passes:
// after editing a shipped policy, run `icegate policy fmt` on it.
TEST(FormatShipped, TheShippedPoliciesAndSchemesAreCanonical) {
  for (const char* name : {"demo.yaml", "need-to-know.yaml", "need-to-share.yaml", "schemes/gpms-2008.yaml",
                           "schemes/gsc-2014.yaml", "federation/wm-ctu.yaml", "federation/birmingham-cc.yaml",
                           "federation/staffordshire.yaml"}) {
    FormatResult result = format_policy_yaml(read_file(kPolicies / name), name);
    EXPECT_TRUE(result.ok);
    EXPECT_FALSE(result.changed) << name << " is not canonical: run `icegate policy fmt policies/" << name << "`";
  }
}

// ---- The layout, rule by rule -------------------------------------------------------------

TEST(FormatLayout, KeysTakeTheReadmeOrderAndCarryTheirComments) {
  EXPECT_EQ(format_ok(R"(# header: stays first
rules:
  # the only rule
  - effect: permit   # permits
    id: r1
scheme: s.yaml  # the scheme
policy: p
# trailing
)"),
            R"(# header: stays first
policy: p
scheme: s.yaml  # the scheme
rules:
  # the only rule
  - id: r1
    effect: permit  # permits

# trailing
)");
}

TEST(FormatLayout, SchemeRuleAndMarkingKeysTakeTheReadmeOrder) {
  EXPECT_EQ(format_ok(R"(tag_sets:
  - categories:
      - {excludes: [b], requires_exactly_one_of: [[c]], requires_any_of: [[b, c]], requires: [c], name: a}
    marking_suffix: "."
    marking_separator: ", "
    marking_prefix: "REL TO "
    max_selection: 2
    type: permissive
    name: rel
classifications:
  - {requires_exactly_one_of: [[a]], requires_any_of: [[b]], requires: [c], name: LOW}
scheme: s
)"),
            R"(scheme: s
classifications:
  - name: LOW
    requires: [c]
    requires_any_of:
      - [b]
    requires_exactly_one_of:
      - [a]
tag_sets:
  - name: rel
    type: permissive
    max_selection: 2
    marking_prefix: "REL TO "
    marking_separator: ", "
    marking_suffix: .
    categories:
      - name: a
        requires: [c]
        requires_any_of:
          - [b, c]
        requires_exactly_one_of:
          - [c]
        excludes: [b]
)");
}

TEST(FormatLayout, ShortScalarListsFlowLongOrCommentedOnesAreBlocks) {
  std::string long_list = "levels:\n";
  for (int i = 0; i < 20; ++i) long_list += fmt::format("  - level-number-{}\n", i);
  EXPECT_EQ(format_ok("policy: p\n" + long_list), "policy: p\n" + long_list);
  EXPECT_EQ(format_ok("policy: p\nlevels:\n  - a\n  - b\npurposes: [x,   y]\n"),
            "policy: p\nlevels: [a, b]\npurposes: [x, y]\n");
  EXPECT_EQ(format_ok("policy: p\npurposes:\n  - x  # why x\n  - yy  # why yy\n  - z\n"),
            "policy: p\npurposes:\n  - x   # why x\n  - yy  # why yy\n  - z\n");
  EXPECT_EQ(format_ok("policy: p\nlevels: []\nrules:\n  - id: r\n    from: {}\n"),
            "policy: p\nlevels: []\nrules:\n  - id: r\n    from: {}\n");
}

TEST(FormatLayout, MappingsAreBlocksInTheirOwnKeyOrder) {
  EXPECT_EQ(format_ok("policy: p\nrules:\n  - {to: {lists: [l], roles: [r]}, id: x, effect: deny}\n"),
            "policy: p\nrules:\n  - id: x\n    effect: deny\n    to:\n      roles: [r]\n      lists: [l]\n");
  EXPECT_EQ(format_ok("policy: p\nnodes: [{vetting: v, id: n, role: r, organisation: o}]\n"),
            "policy: p\nnodes:\n  - id: n\n    organisation: o\n    role: r\n    vetting: v\n");
}

TEST(FormatLayout, ScalarsArePlainUnlessQuotingKeepsTheirMeaning) {
  EXPECT_EQ(format_ok(R"(policy: "p"
description: 'it''s a "policy": with colons'
organisations:
  - {id: "true", name: "#1 org", kind: k, ct_network: true}
occasional_allowance: {releases: 2, window: "30d"}
rules:
  - id: r
    categories: ["UK EYES ONLY", "a, b", "007"]
)"),
            R"(policy: p
description: "it's a \"policy\": with colons"
occasional_allowance:
  releases: 2
  window: 30d
organisations:
  - id: "true"
    name: "#1 org"
    kind: k
    ct_network: true
rules:
  - id: r
    categories: [UK EYES ONLY, "a, b", "007"]
)");
}

TEST(FormatLayout, TestFilesUseTheirOwnKeyOrder) {
  EXPECT_EQ(format_ok(R"(tests:
  - expect: {decision: HOLD, withheld: ["1"]}
    request: {to: b, from: a, portions: ["SECRET/UK EYES ONLY", {label: LOW, id: x}], purpose: p, category: c}
    name: one
policy: ../p.yaml
)"),
            R"(policy: ../p.yaml
tests:
  - name: one
    request:
      from: a
      to: b
      category: c
      purpose: p
      portions:
        - SECRET/UK EYES ONLY
        - id: x
          label: LOW
    expect:
      decision: HOLD
      withheld: ["1"]
)");
}

TEST(FormatLayout, BlankLinesAreKeptOnceButNotAtTheStartOfABlock) {
  EXPECT_EQ(format_ok("policy: p\n\n\n\nlevels: [a]\nrules:\n\n  - id: a\n\n\n  # about b\n  - id: b\n"),
            "policy: p\n\nlevels: [a]\nrules:\n  - id: a\n\n  # about b\n  - id: b\n");
}

TEST(FormatLayout, UnknownKeysAndOtherFilesKeepTheirOrder) {
  EXPECT_EQ(format_ok("zeta: 1\npolicy: p\nalpha: 2\n"), "policy: p\nzeta: 1\nalpha: 2\n");
  FormatResult other = format_policy_yaml("b: 1\na: [x]\n", "other.yaml");
  ASSERT_TRUE(other.ok);
  EXPECT_EQ(other.kind, YamlFileKind::other);
  EXPECT_EQ(other.text, "b: 1\na: [x]\n");
  EXPECT_FALSE(other.changed);
}

TEST(FormatLayout, BlockScalarsAndTheirHashesAreNotComments) {
  EXPECT_EQ(format_ok("policy: p\ndescription: |\n  line one # not a comment\n  line two\n# a comment\nlevels: [a]\n"),
            "policy: p\ndescription: \"line one # not a comment\\nline two\\n\"\n# a comment\nlevels: [a]\n");
}

TEST(FormatRefusals, SyntaxErrorsAndDuplicateKeysAreNotFormatted) {
  FormatResult broken = format_policy_yaml("policy: [unclosed\n", "broken.yaml");
  EXPECT_FALSE(broken.ok);
  ASSERT_FALSE(broken.diagnostics.empty());
  EXPECT_EQ(broken.diagnostics.all().front().code, Code::P001);

  FormatResult duplicate = format_policy_yaml("policy: a\npolicy: b\n", "dup.yaml");
  EXPECT_FALSE(duplicate.ok);
  EXPECT_THAT(testing::rendered(duplicate.diagnostics),
              ElementsAre(::testing::StartsWith("dup.yaml:2:1: error[P006]: duplicate key 'policy'")));
}

// ---- Unified diff -----------------------------------------------------------------------------

TEST(UnifiedDiff, ShowsHunksWithContext) {
  EXPECT_EQ(unified_diff("a\nb\nc\n", "a\nb\nc\n", "x", "y"), "");
  EXPECT_EQ(unified_diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n", "a/f", "b/f", 1),
            "--- a/f\n+++ b/f\n"
            "@@ -4,3 +4,3 @@\n 4\n-5\n+five\n 6\n"
            "@@ -9,1 +9,2 @@\n 9\n+10\n");
  EXPECT_EQ(unified_diff("", "new\n", "a", "b"), "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+new\n");
}

}  // namespace
}  // namespace icegate::policy

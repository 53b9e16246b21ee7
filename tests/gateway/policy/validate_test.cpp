// Stages 1 and 2: bad policy text is rejected with every problem, each with
// its stable code and exact location, sorted the way a reader scans the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/policy/engine.hpp"
#include "gateway/policy/parser.hpp"
#include "gateway/policy/validator.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Found;
using testing::joined;
using testing::rendered;

// The rendered text, for the tests that check what analysts read.
std::vector<std::string> problems_in(std::string_view text, std::string_view file = "bad.yaml") {
  LoadResult result = load_policy_text(text, std::string(file));
  EXPECT_EQ(result.policy, nullptr) << "a policy with errors must not load";
  return rendered(result.diagnostics);
}

// Each problem's code and place: what the other tests check, so that
// rewording a message breaks none of them.
std::vector<Found> found_in(std::string_view text, std::string_view file = "bad.yaml") {
  LoadResult result = load_policy_text(text, std::string(file));
  EXPECT_EQ(result.policy, nullptr) << "a policy with errors must not load";
  return testing::found(result.diagnostics);
}

TEST(PolicyValidation, ReportsEveryMistakeSortedWithCodeAndLocation) {
  // Thirteen independent mistakes, written out of order of severity; every one
  // must be reported, at its own line and column, sorted by position.
  constexpr std::string_view kText = R"(policy: broken
scheme:
  scheme: tiny
  classifications:
    - name: LOW
    - name: HIGH
  tag_sets:
    - name: caveats
      type: restrictive
      categories:
        - name: EYES
levels: [tactical]
vetting:
  - name: basic
    regular: HIGH
    occasional: LOW
organisations:
  - id: org
    kind: council
  - id: org
    kind: npt
roles:
  - id: officer
    level: tactcal
nodes:
  - id: n1
    organisation: org
    role: officer
    vetting: basic
    categorys: [EYES]
  - id: n2
    organisation: nowhere
    role: officer
information_categories: [report]
purposes: [prevent]
occasional_allowance: {releases: -1, window: 30x}
rules:
  - id: r1
    effect: permit
    categories: [reports]
    min_classification: HIGH
    max_classification: LOW
  - id: r2
    effect: allow
    ct_network: true
    to: {levels: [strategic]}
)";
  EXPECT_THAT(
      problems_in(kText),
      ElementsAre(
          "bad.yaml:16:17: error[P012]: occasional ceiling LOW is below the regular ceiling HIGH",
          "bad.yaml:20:9: error[P010]: duplicate organisation id 'org' (first defined at line 18)",
          "bad.yaml:24:12: error[P011]: undefined level 'tactcal'; did you mean 'tactical'?",
          "bad.yaml:30:5: error[P002]: unknown key 'categorys' in node; did you mean 'categories'?",
          "bad.yaml:31:5: error[P004]: node 'n2' is missing required key 'vetting'",
          "bad.yaml:32:19: error[P011]: undefined organisation 'nowhere'",
          "bad.yaml:36:34: error[P005]: 'releases' must be 0 or more, found -1",
          "bad.yaml:36:46: error[P005]: invalid duration '30x': expected a whole number followed by d, h, m "
          "or s, e.g. 30d, 12h, 90m, 45s",
          "bad.yaml:40:18: error[P011]: undefined information category 'reports'; did you mean 'report'?",
          "bad.yaml:41:25: error[P012]: min_classification HIGH is above max_classification LOW: the rule can "
          "never apply",
          "bad.yaml:44:13: error[P005]: invalid effect 'allow': expected permit or deny",
          "bad.yaml:45:5: error[P002]: unknown key 'ct_network' in rule (expected one of: id, description, "
          "effect, categories, purposes, from, to, min_classification, max_classification, handling)",
          "bad.yaml:46:19: error[P011]: undefined level 'strategic'"));
}

TEST(PolicyValidation, YamlSyntaxErrorHasLocation) {
  // The flow list is never closed; yaml-cpp gives up where the next key starts
  // to look like a list item (its Mark 2:6, printed 1-based).
  EXPECT_THAT(problems_in("policy: p\nlevels: [a, b\nscheme: x\n", "syntax.yaml"),
              ElementsAre("syntax.yaml:3:7: error[P001]: YAML syntax error: end of sequence flow not found"));
}

TEST(PolicyValidation, TabIndentationIsASyntaxError) {
  auto problems = problems_in("policy: p\nscheme:\n\tscheme: x\n", "tabs.yaml");
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_THAT(problems[0], HasSubstr("tabs.yaml:3:"));
  EXPECT_THAT(problems[0], HasSubstr("error[P001]"));
}

TEST(PolicyValidation, UnknownTopLevelKeySuggestsTheNearestKey) {
  auto problems = problems_in(std::string("policy: p\n") + std::string(testing::kSmallScheme) +
                              "organizations: []\nrulez: []\nfrobnicate: 1\n");
  EXPECT_THAT(problems,
              ElementsAre("bad.yaml:28:1: error[P002]: unknown key 'organizations' in the policy; did you mean "
                          "'organisations'?",
                          "bad.yaml:29:1: error[P002]: unknown key 'rulez' in the policy; did you mean 'rules'?",
                          ::testing::StartsWith("bad.yaml:30:1: error[P002]: unknown key 'frobnicate' in the "
                                                "policy (expected one of: policy, description, scheme")));
}

TEST(PolicyValidation, UndefinedReferencesAreEachReportedWhereTheyAreWritten) {
  constexpr std::string_view kBody = R"(levels: [tactical]
vetting:
  - {name: basic, regular: MID, occasional: HIGHER}
organisations:
  - {id: council, kind: council}
roles:
  - {id: officer, level: tactical}
nodes:
  - {id: n1, organisation: council, role: oficer, vetting: basc, categories: [EYES, NOSE]}
lists:
  - {id: l1, nodes: [n1, n9], roles: [chief]}
information_categories: [report]
purposes: [prevent]
rules:
  - id: r1
    effect: permit
    purposes: [prevnt]
    from: {nodes: [n2], organisations: [council], organisation_kinds: [councill], roles: [chief]}
    to: {ct_network: maybe}
    max_classification: TOP
)";
  LoadResult result = load_policy_text(std::string("policy: p\n") + std::string(testing::kSmallScheme) +
                                           std::string(kBody),
                                       "bad.yaml");
  EXPECT_EQ(result.policy, nullptr);
  EXPECT_THAT(testing::found(result.diagnostics),
              ElementsAre(Found{Code::P011, 30, 45}, Found{Code::P011, 36, 43}, Found{Code::P011, 36, 60},
                          Found{Code::P011, 36, 85}, Found{Code::P011, 38, 26}, Found{Code::P011, 38, 39},
                          Found{Code::P011, 44, 16}, Found{Code::P011, 45, 20}, Found{Code::P011, 45, 72},
                          Found{Code::P011, 45, 91}, Found{Code::P003, 46, 22}, Found{Code::P011, 47, 25}));
  // The nearest defined name, as a value ("" where none is near enough).
  std::vector<std::string> suggestions;
  for (const Diagnostic& d : result.diagnostics.sorted()) suggestions.push_back(d.details.suggestion.value_or(""));
  EXPECT_THAT(suggestions, ElementsAre("HIGH", "officer", "basic", "", "n1", "", "prevent", "n1", "council", "", "",
                                       "LOW"));
}

TEST(PolicyValidation, WrongTypesAndMissingKeys) {
  constexpr std::string_view kText = R"(description: [not, a, string]
scheme: {scheme: s, classifications: [{name: A}]}
levels: strategic
nodes: {id: n1}
roles:
  - just-a-name
  - {name: no id}
occasional_allowance: {releases: many}
combining: permit-overrides
)";
  EXPECT_THAT(found_in(kText, "types.yaml"),
              ElementsAre(Found{Code::P004, 1, 1},
                          Found{Code::P003, 1, 14},
                          Found{Code::P003, 3, 9},
                          Found{Code::P003, 4, 8},
                          Found{Code::P003, 6, 5},
                          Found{Code::P004, 7, 5},
                          Found{Code::P004, 8, 23},
                          Found{Code::P003, 8, 34},
                          Found{Code::P005, 9, 12}));
}

TEST(PolicyValidation, DuplicateIdsAndDuplicateKeys) {
  constexpr std::string_view kBody = R"(levels: [a, a]
purposes: [p, p]
information_categories: [c]
organisations:
  - {id: o, kind: k}
roles:
  - {id: r}
  - {id: r}
nodes:
  - {id: n, organisation: o, role: r, vetting: v}
vetting:
  - {name: v, regular: LOW}
  - {name: v, regular: LOW}
rules:
  - {id: same, effect: permit}
  - {id: same, effect: deny}
  - id: other
    effect: permit
    effect: deny
)";
  auto problems = problems_in(std::string("policy: p\n") + std::string(testing::kSmallScheme) + std::string(kBody));
  EXPECT_THAT(problems,
              ElementsAre("bad.yaml:28:13: error[P010]: duplicate level name 'a' (first defined at line 28)",
                          "bad.yaml:29:15: error[P010]: duplicate purpose name 'p' (first defined at line 29)",
                          "bad.yaml:35:10: error[P010]: duplicate role id 'r' (first defined at line 34)",
                          "bad.yaml:40:12: error[P010]: duplicate vetting level name 'v' (first defined at line 39)",
                          "bad.yaml:43:10: error[P010]: duplicate rule id 'same' (first defined at line 42)",
                          "bad.yaml:46:5: error[P006]: duplicate key 'effect' (first at line 45); the first is "
                          "used"));
}

TEST(PolicyValidation, SchemeProblemsHaveTheirOwnCodes) {
  constexpr std::string_view kText = R"(policy: p
scheme:
  scheme: s
  classifications:
    - {name: A, colour: "#12345"}
    - {name: A}
    - {name: B, text_colour: red}
  tag_sets:
    - name: set
      type: restictive
      categories:
        - {name: X, excluded_at: [C]}
        - {name: X}
        - {name: Y, requires: [Y, Z]}
    - name: set
      type: informative
      categories: []
)";
  EXPECT_THAT(found_in(kText),
              ElementsAre(Found{Code::P026, 5, 25},
                          Found{Code::P021, 6, 14},
                          Found{Code::P026, 7, 30},
                          Found{Code::P005, 10, 13},
                          Found{Code::P024, 12, 35},
                          Found{Code::P023, 13, 18},
                          Found{Code::P027, 14, 32},
                          Found{Code::P025, 14, 35},
                          Found{Code::P022, 15, 13}));
}

TEST(PolicyValidation, ClassificationAndCategoryNamesMayNotContainASlash) {
  // Labels are written CLASSIFICATION/CATEGORY/...: a name with '/' could never be on one.
  constexpr std::string_view kText = R"(policy: p
scheme:
  scheme: s
  classifications:
    - name: LOW/ISH
    - name: HIGH
  tag_sets:
    - name: release/groups
      type: permissive
      categories:
        - name: "POLICE/FIRE"
        - {name: COUNCIL, marking: "COUNCIL/LA"}
)";
  EXPECT_THAT(found_in(kText), ElementsAre(Found{Code::P028, 5, 13}, Found{Code::P028, 11, 17}));
}

TEST(PolicyValidation, SchemeRuleKeysAreChecked) {
  constexpr std::string_view kText = R"(policy: p
scheme:
  scheme: s
  classifications:
    - name: LOW
  tag_sets:
    - name: rel
      type: permissive
      max_selection: 0
      marking_separator: [","]
      categories:
        - {name: A, excludes: [A, Q]}
        - {name: B, requires_any_of: [[A, Z]]}
        - {name: C, requires_exactly_one_of: [A, B]}
        - {name: D, requires_any_of: [[]]}
    - name: codewords
      type: restrictive
      max_selection: two
      categories: []
)";
  EXPECT_THAT(found_in(kText),
              ElementsAre(Found{Code::P005, 9, 22},
                          Found{Code::P003, 10, 26},
                          Found{Code::P027, 12, 32},
                          Found{Code::P025, 12, 35},
                          Found{Code::P025, 13, 43},
                          Found{Code::P003, 14, 47},
                          Found{Code::P003, 14, 50},
                          Found{Code::P005, 15, 39},
                          Found{Code::P005, 18, 22}));
}

TEST(PolicyValidation, AClassificationsRequirementsNameDefinedCategories) {
  // Checked once every category is read; a classification may share a
  // category's name (separate namespaces) and require it.
  constexpr std::string_view kText = R"(policy: p
scheme:
  scheme: s
  classifications:
    - {name: LOW, requires: [LOW, NOSE]}
    - {name: HIGH, requires_exactly_one_of: [[EYES, EARZ]]}
  tag_sets:
    - name: caveats
      type: restrictive
      categories: [{name: LOW}, {name: EYES}, {name: EARS}]
)";
  EXPECT_THAT(found_in(kText), ElementsAre(Found{Code::P025, 5, 35}, Found{Code::P025, 6, 53}));
}

TEST(PolicyValidation, SchemeWithNoClassifications) {
  EXPECT_THAT(found_in("policy: p\nscheme: {scheme: s, classifications: []}\n"),
              ElementsAre(Found{Code::P020, 2, 38}));
}

TEST(PolicyValidation, SchemeFileErrorsCarryTheSchemeFilesName) {
  testing::TempDir dir("scheme-errors");
  dir.write("schemes/bad-scheme.yaml", R"(scheme: bad
classifications:
  - name: LOW
  - nmae: HIGH
tag_sets:
  - name: caveats
    type: restrictive
    categories:
      - {name: EYES, excluded_at: [MEDIUM]}
)");
  std::filesystem::path policy = dir.write("policy.yaml", R"(policy: p
scheme: schemes/bad-scheme.yaml
vetting:
  - {name: v, regular: HIGH}
)");
  LoadResult result = load_policy(policy);
  EXPECT_EQ(result.policy, nullptr);
  const std::string scheme_file = (dir.path() / "schemes/bad-scheme.yaml").string();
  EXPECT_THAT(rendered(result.diagnostics),
              ElementsAre(policy.string() + ":4:24: error[P011]: undefined classification 'HIGH'",
                          scheme_file + ":4:5: error[P002]: unknown key 'nmae' in classification; did you mean "
                                        "'name'?",
                          scheme_file + ":4:5: error[P004]: classification is missing required key 'name'",
                          scheme_file + ":9:36: error[P024]: undefined classification 'MEDIUM'"));
}

TEST(PolicyValidation, SchemeFileYamlErrorAndMissingSchemeFile) {
  testing::TempDir dir("scheme-missing");
  dir.write("broken-scheme.yaml", "scheme: x\nclassifications: [\n");
  auto broken = load_policy(dir.write("a.yaml", "policy: a\nscheme: broken-scheme.yaml\n"));
  auto broken_lines = rendered(broken.diagnostics);
  ASSERT_EQ(broken_lines.size(), 1u) << joined(broken_lines);
  EXPECT_THAT(broken_lines[0], ::testing::StartsWith((dir.path() / "broken-scheme.yaml").string() + ":"));
  EXPECT_THAT(broken_lines[0], HasSubstr("error[P001]"));

  // A missing scheme is reported once, at the `scheme:` value, and the rest of
  // the policy is still checked (without classification names to check against).
  auto missing = load_policy(dir.write("b.yaml", "policy: b\nscheme: no-such.yaml\nvetting:\n  - {name: v, regular: ANY}\nfoo: 1\n"));
  EXPECT_THAT(rendered(missing.diagnostics),
              ElementsAre((dir.path() / "b.yaml").string() + ":2:9: error[P007]: cannot read scheme file '" +
                              (dir.path() / "no-such.yaml").string() + "': No such file or directory",
                          ::testing::StartsWith((dir.path() / "b.yaml").string() + ":5:1: error[P002]")));
}

TEST(PolicyValidation, MissingPolicyFile) {
  auto result = load_policy("/nonexistent/policy.yaml");
  EXPECT_EQ(result.policy, nullptr);
  EXPECT_THAT(rendered(result.diagnostics),
              ElementsAre("/nonexistent/policy.yaml: error[P007]: cannot read policy file: No such file or directory"));
}

TEST(PolicyValidation, EditDistanceCountsTranspositionsOnceAndIgnoresCase) {
  EXPECT_EQ(edit_distance("nodes", "nodes"), 0);
  EXPECT_EQ(edit_distance("ndoes", "nodes"), 1);
  EXPECT_EQ(edit_distance("categorys", "categories"), 2);
  EXPECT_EQ(edit_distance("secret", "SECRET"), 0);
  EXPECT_EQ(edit_distance("", "abc"), 3);
}

TEST(PolicyParser, KeepsLocationsOfKeysAndValues) {
  ParseResult parsed = parse_policy_file("a: 1\nb:\n  - x\n  - \"true\"\nc:\n", "t.yaml");
  ASSERT_TRUE(parsed.root);
  ASSERT_TRUE(parsed.diagnostics.empty());
  const SyntaxEntry* b = parsed.root->find_entry("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->key_location, (SourceLocation{"t.yaml", 2, 1}));
  ASSERT_EQ(b->value.items.size(), 2u);
  EXPECT_EQ(b->value.items[1].location, (SourceLocation{"t.yaml", 4, 5}));
  EXPECT_TRUE(b->value.items[1].quoted);
  EXPECT_FALSE(scalar_as_bool(b->value.items[1]).has_value()) << "a quoted \"true\" is a string";
  // An empty value points at its key, not at whatever token follows it.
  const SyntaxNode* c = parsed.root->find("c");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->is_null());
  EXPECT_EQ(c->location, (SourceLocation{"t.yaml", 5, 1}));
}

TEST(PolicyDiagnostics, RendersAndSortsByFileLineColumnThenCode) {
  Diagnostics diagnostics;
  diagnostics.warning(Code::W001, {"b.yaml", 1, 1}, "later file");
  diagnostics.error(Code::P011, {"a.yaml", 3, 7}, "second");
  diagnostics.error(Code::P002, {"a.yaml", 3, 7}, "first at same place");
  diagnostics.error(Code::P001, {"a.yaml", 0, 0}, "no location");
  EXPECT_TRUE(diagnostics.has_errors());
  EXPECT_EQ(diagnostics.error_count(), 3u);
  EXPECT_THAT(rendered(diagnostics), ElementsAre("a.yaml: error[P001]: no location",
                                                 "a.yaml:3:7: error[P002]: first at same place",
                                                 "a.yaml:3:7: error[P011]: second",
                                                 "b.yaml:1:1: warning[W001]: later file"));
}

}  // namespace
}  // namespace icegate::policy

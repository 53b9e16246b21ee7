// policy::prove_properties: each kind of property holding and failing on
// small policies; every counterexample decided by explain as it claims; the
// folded walk against deciding every node pair (the DiffOptions::exhaustive
// oracle) and against a brute force written here from decide() alone; the
// complete label space against every subset of the scheme's categories; the
// properties file's diagnostics; and the shipped policies with their
// properties files, including a broken copy that must be caught.
#include "gateway/policy/prove.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/policy/explain.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"
#include "tools/bench/policy_generator.hpp"

namespace icegate::policy {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::joined;
using testing::Found;
using testing::rendered;
using testing::TempDir;

const fs::path kPolicies = fs::path(ICEGATE_SOURCE_DIR) / "policies";

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Everything after the scheme of an inline-scheme policy (kSmallScheme: LOW <
// MID < HIGH; EYES (not at LOW) and EARS restrictive; REL A and REL B
// permissive; PERSONAL informative, requiring EYES). A CT unit, a council and
// a community club; c2 holds REL B only, m1 nothing.
constexpr std::string_view kBody = R"(levels: [senior, junior]
vetting:
  - {name: low, regular: LOW}
  - {name: mid, regular: MID, occasional: HIGH}
  - {name: high, regular: HIGH}
occasional_allowance: {releases: 1, window: 1d}
organisations:
  - {id: unit, kind: ctu, ct_network: true}
  - {id: council, kind: council}
  - {id: club, kind: community}
roles:
  - {id: analyst, level: senior}
  - {id: officer, level: junior}
  - {id: member, level: junior}
nodes:
  - {id: a1, organisation: unit, role: analyst, vetting: high, categories: [EYES, EARS, REL A, REL B]}
  - {id: a2, organisation: unit, role: analyst, vetting: high, categories: [EYES, EARS, REL A]}
  - {id: c1, organisation: council, role: officer, vetting: mid, categories: [EYES, REL A]}
  - {id: c2, organisation: council, role: officer, vetting: mid, categories: [REL B]}
  - {id: m1, organisation: club, role: member, vetting: low}
lists:
  - {id: partners, nodes: [c1, c2, m1]}
information_categories: [profile, report]
purposes: [prevent, pursue]
rules:
  - id: within-unit
    effect: permit
    from: {organisation_kinds: [ctu]}
    to: {organisation_kinds: [ctu]}
  - id: profile-to-council
    effect: permit
    categories: [profile]
    purposes: [prevent]
    from: {organisation_kinds: [ctu]}
    to: {organisation_kinds: [council]}
    max_classification: MID
  - id: reports-up
    effect: permit
    categories: [report]
    from: {lists: [partners]}
    to: {ct_network: true}
)";

// The small policy written to `dir` (so that an `implies` can name it) and loaded.
std::shared_ptr<const CompiledPolicy> write_policy(const TempDir& dir, const std::string& name, std::string_view body) {
  const std::string text = std::string("policy: ") + name + "\n" + std::string(testing::kSmallScheme) + std::string(body);
  LoadResult loaded = load_policy(dir.write(name, text));
  EXPECT_TRUE(loaded.policy) << joined(rendered(loaded.diagnostics));
  return loaded.policy;
}

std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class ProveTest : public ::testing::Test {
 protected:
  ProveTest() : dir_("prove") { policy_ = write_policy(dir_, "small.yaml", kBody); }

  // Loads `properties` (the entries under `properties:`) against `policy`,
  // failing the test on any diagnostic.
  PropertiesFile properties(std::string_view entries, const CompiledPolicy* policy = nullptr) {
    const std::string text = "properties:\n" + std::string(entries);
    PropertiesFile file = load_properties_text(text, dir_.path() / "small.properties.yaml", policy ? *policy : *policy_);
    EXPECT_TRUE(file.diagnostics.empty()) << joined(rendered(file.diagnostics));
    return file;
  }

  ProofRun prove(std::string_view entries, const CompiledPolicy* policy = nullptr, bool exhaustive = false) {
    const PropertiesFile file = properties(entries, policy);
    ProveOptions options;
    options.exhaustive = exhaustive;
    ProofRun run = prove_properties(policy ? *policy : *policy_, file, options);
    EXPECT_TRUE(run.diagnostics.empty()) << joined(rendered(run.diagnostics));
    return run;
  }

  // Every counterexample of `run` is decided by explain_decision (the code
  // behind `icegate policy explain`) as the counterexample says.
  static void expect_explain_agrees(const CompiledPolicy& policy, const ProofRun& run,
                                    const CompiledPolicy* other = nullptr) {
    for (const PropertyResult& result : run.results) {
      if (!result.counterexample) continue;
      const Counterexample& example = *result.counterexample;
      auto check = [&](const CompiledPolicy& decider, const CounterexampleSide& side) {
        ExplainRequest request;
        request.sender = example.sender;
        request.recipient = example.recipient;
        request.category = example.category;
        request.purpose = example.purpose;
        request.portions.push_back({"1", example.label});
        request.occasional_available = side.occasional_available;
        const ExplainTrace trace = explain_decision(decider, request);
        EXPECT_TRUE(trace.agrees_with_engine) << result.name << ": " << joined(trace.disagreements);
        EXPECT_EQ(trace.decision, side.decision) << result.name << ": " << side.explain_command;
        const std::string rule = trace.portions[0].outcome.rule < 0 ? "" : decider.rule(trace.portions[0].outcome.rule).id;
        EXPECT_EQ(rule, side.rule) << result.name;
        EXPECT_TRUE(side.explain_agrees) << result.name;
      };
      check(policy, example.decided);
      if (example.other) {
        ASSERT_NE(other, nullptr);
        check(*other, *example.other);
      }
    }
  }

  TempDir dir_;
  std::shared_ptr<const CompiledPolicy> policy_;
};

// ---- Each kind, holding and failing -------------------------------------------

TEST_F(ProveTest, NeverReleasedHoldsWhereClearanceAndRulesSayNo) {
  const ProofRun run = prove(R"(
  - name: the club never receives anything
    never_released: {to: {organisation_kinds: [community]}}
  - name: the council never gets HIGH without an occasional release
    never_released: {to: {organisations: [council]}, min_classification: HIGH, occasional_available: false}
)");
  ASSERT_EQ(run.results.size(), 2u);
  for (const PropertyResult& result : run.results) {
    EXPECT_EQ(result.status, PropertyStatus::holds) << result.name << ": " << result.message;
    EXPECT_FALSE(result.counterexample);
    EXPECT_GT(result.points, 0u);
    EXPECT_EQ(result.failing_points, 0u);
  }
  EXPECT_FALSE(run.labels_truncated);
  EXPECT_TRUE(run.all_hold());
}

TEST_F(ProveTest, NeverReleasedFailsWithACounterexampleExplainAgreesWith) {
  // profile-to-council releases up to MID; MID/EYES to c1, who holds EYES.
  const ProofRun run = prove(R"(
  - name: the council never sees MID
    never_released: {to: {organisation_kinds: [council]}, min_classification: MID, categories: [profile]}
)");
  ASSERT_EQ(run.results.size(), 1u);
  const PropertyResult& result = run.results[0];
  EXPECT_EQ(result.status, PropertyStatus::fails);
  ASSERT_TRUE(result.counterexample);
  const Counterexample& example = *result.counterexample;
  EXPECT_THAT(example.sender, ::testing::AnyOf("a1", "a2"));
  EXPECT_THAT(example.recipient, ::testing::AnyOf("c1", "c2"));
  EXPECT_EQ(example.category, "profile");
  EXPECT_EQ(example.purpose, "prevent");
  EXPECT_EQ(example.label.classification, "MID");
  EXPECT_EQ(example.decided.decision, Decision::release);
  EXPECT_EQ(example.decided.rule, "profile-to-council");
  EXPECT_THAT(example.decided.explain_command,
              HasSubstr("policy explain " + policy_->source().file + " --from " + example.sender + " --to " +
                        example.recipient + " --category profile --purpose prevent --portion "));
  EXPECT_GT(result.failing_points, 0u);
  EXPECT_LT(result.failing_points, result.points);
  expect_explain_agrees(*policy_, run);
}

TEST_F(ProveTest, AlwaysReleasedHoldsAndFails) {
  const ProofRun run = prove(R"(
  - name: the unit shares everything within itself
    always_released:
      from: {organisations: [unit]}
      to: {organisations: [unit]}
      without_categories: [REL B]
  - name: the council gets every profile up to MID
    always_released:
      from: {organisation_kinds: [ctu]}
      to: {nodes: [c1]}
      categories: [profile]
      purposes: [prevent]
      max_classification: MID
      without_categories: [EARS, REL B]
  - name: the council gets every profile
    always_released: {from: {organisation_kinds: [ctu]}, to: {nodes: [c1]}, categories: [profile]}
)");
  ASSERT_EQ(run.results.size(), 3u);
  // a2 lacks REL B, so labels carrying it are left out of the slice; every
  // other label goes between a1 and a2 both ways.
  EXPECT_EQ(run.results[0].status, PropertyStatus::holds) << run.results[0].message;
  EXPECT_EQ(run.results[1].status, PropertyStatus::holds) << run.results[1].message;
  const PropertyResult& failed = run.results[2];
  EXPECT_EQ(failed.status, PropertyStatus::fails);
  ASSERT_TRUE(failed.counterexample);
  EXPECT_EQ(failed.counterexample->decided.decision, Decision::deny);
  expect_explain_agrees(*policy_, run);
}

TEST_F(ProveTest, ConfinementHoldsForARestrictiveCategoryAndFailsForAPermissiveOne) {
  const ProofRun run = prove(R"(
  - name: EYES stays with those who hold it
    confined: {category: EYES}
  - name: REL B stays with those who hold it
    confined: {category: REL B}
)");
  ASSERT_EQ(run.results.size(), 2u);
  EXPECT_EQ(run.results[0].status, PropertyStatus::holds) << run.results[0].message;
  // REL A and REL B are permissive: holding either is enough, so a2 (REL A)
  // receives LOW/REL A/REL B within the unit.
  const PropertyResult& failed = run.results[1];
  EXPECT_EQ(failed.status, PropertyStatus::fails);
  ASSERT_TRUE(failed.counterexample);
  const Counterexample& example = *failed.counterexample;
  EXPECT_TRUE(std::find(example.label.categories.begin(), example.label.categories.end(), "REL B") !=
              example.label.categories.end());
  const Node* recipient = policy_->find_node(example.recipient);
  ASSERT_NE(recipient, nullptr);
  EXPECT_TRUE(std::find(recipient->categories.begin(), recipient->categories.end(), "REL B") ==
              recipient->categories.end());
  EXPECT_EQ(example.decided.decision, Decision::release);
  expect_explain_agrees(*policy_, run);
}

TEST_F(ProveTest, ImpliesHoldsForAWiderPolicyAndFailsForANarrowerOne) {
  // wider: profiles reach the council up to HIGH; narrower: not at all.
  auto wider = write_policy(dir_, "wider.yaml", replaced(std::string(kBody), "    max_classification: MID\n", ""));
  auto narrower = write_policy(dir_, "narrower.yaml",
                               replaced(std::string(kBody), "    to: {organisation_kinds: [council]}\n",
                                        "    to: {nodes: [c2]}\n"));
  ASSERT_TRUE(wider && narrower);
  const ProofRun holds = prove(R"(
  - name: wider shares all the small policy shares
    implies: {policy: small.yaml}
)",
                               wider.get());
  EXPECT_EQ(holds.results.at(0).status, PropertyStatus::holds) << holds.results[0].message;

  const ProofRun fails = prove(R"(
  - name: narrower shares all the small policy shares with the council
    implies: {policy: small.yaml, to: {organisation_kinds: [council]}}
)",
                               narrower.get());
  const PropertyResult& result = fails.results.at(0);
  EXPECT_EQ(result.status, PropertyStatus::fails);
  ASSERT_TRUE(result.counterexample && result.counterexample->other);
  EXPECT_EQ(result.counterexample->recipient, "c1");
  EXPECT_EQ(result.counterexample->decided.decision, Decision::deny);
  EXPECT_EQ(result.counterexample->other->rule, "profile-to-council");
  EXPECT_THAT(result.counterexample->other->explain_command, HasSubstr((dir_.path() / "small.yaml").string()));
  expect_explain_agrees(*narrower, fails, policy_.get());
}

TEST_F(ProveTest, DeadPermitRulesAreFoundWithTheirReason) {
  const std::string body = std::string(kBody) + R"(  - id: overridden
    effect: permit
    categories: [report]
    to: {organisations: [club]}
  - id: nobody-cleared
    effect: permit
    categories: [profile]
    to: {organisations: [club]}
    min_classification: MID
  - id: no-report-to-club
    effect: deny
    categories: [report]
    to: {organisations: [club]}
)";
  auto policy = write_policy(dir_, "dead.yaml", body);
  ASSERT_TRUE(policy);
  const ProofRun run = prove(R"(
  - name: no permit rule is dead
    no_dead_rules: {}
  - name: the first three live
    no_dead_rules: {rules: [within-unit, profile-to-council, reports-up]}
)",
                             policy.get());
  const PropertyResult& result = run.results.at(0);
  EXPECT_EQ(result.status, PropertyStatus::fails);
  ASSERT_EQ(result.dead_rules.size(), 2u);
  // overridden by the deny everywhere: it decides nothing.
  EXPECT_EQ(result.dead_rules[0].id, "overridden");
  EXPECT_EQ(result.dead_rules[0].decided_points, 0u);
  const std::string text = read(dir_.path() / "dead.yaml");
  const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(text.find("- id: overridden")), '\n');
  EXPECT_EQ(result.dead_rules[0].location.line, line);
  // m1's ceiling is LOW: the rule decides MID and HIGH, clearance withholds them.
  EXPECT_EQ(result.dead_rules[1].id, "nobody-cleared");
  EXPECT_GT(result.dead_rules[1].decided_points, 0u);
  // One request for the first: all its conditions hold, the deny decides.
  ASSERT_TRUE(result.counterexample);
  EXPECT_EQ(result.counterexample->recipient, "m1");
  EXPECT_EQ(result.counterexample->decided.rule, "no-report-to-club");
  EXPECT_EQ(result.counterexample->decided.decision, Decision::deny);
  EXPECT_EQ(run.results.at(1).status, PropertyStatus::holds) << run.results[1].message;
  expect_explain_agrees(*policy, run);
}

TEST_F(ProveTest, AHeldReleaseCountsAsTheFileSays) {
  auto policy = write_policy(dir_, "held.yaml",
                             replaced(std::string(kBody), "    max_classification: MID\n",
                                      "    max_classification: MID\n    handling: {review_by: [analyst]}\n"));
  ASSERT_TRUE(policy);
  const ProofRun run = prove(R"(
  - name: nothing reaches the council unreviewed
    never_released: {to: {organisation_kinds: [council]}, held_counts_as: withheld}
  - name: nothing reaches the council, even once reviewed
    never_released: {to: {organisation_kinds: [council]}}
  - name: the council gets every LOW profile once reviewed
    always_released: {from: {organisations: [unit]}, to: {nodes: [c1]}, categories: [profile], purposes: [prevent],
                      max_classification: LOW, without_categories: [EARS, REL B]}
  - name: the council gets every LOW profile unreviewed
    always_released: {from: {organisations: [unit]}, to: {nodes: [c1]}, categories: [profile], purposes: [prevent],
                      max_classification: LOW, without_categories: [EARS, REL B], held_counts_as: withheld}
)",
                             policy.get());
  ASSERT_EQ(run.results.size(), 4u);
  EXPECT_EQ(run.results[0].status, PropertyStatus::holds) << run.results[0].message;
  EXPECT_EQ(run.results[1].status, PropertyStatus::fails);
  EXPECT_EQ(run.results[1].counterexample->decided.decision, Decision::hold);
  EXPECT_EQ(run.results[2].status, PropertyStatus::holds) << run.results[2].message;
  EXPECT_EQ(run.results[3].status, PropertyStatus::fails);
  EXPECT_EQ(run.results[3].counterexample->decided.decision, Decision::hold);
  expect_explain_agrees(*policy, run);
}

TEST_F(ProveTest, AnOccasionalReleaseIsAPointOfItsOwn) {
  // c1 (mid: regular MID, occasional HIGH) gets HIGH within the unit's rule?
  // No: profile-to-council stops at MID. Open it up to HIGH.
  auto policy = write_policy(dir_, "occasional.yaml", replaced(std::string(kBody), "    max_classification: MID\n", ""));
  ASSERT_TRUE(policy);
  const ProofRun run = prove(R"(
  - name: the council gets HIGH profiles only with an occasional release
    never_released: {to: {nodes: [c1]}, min_classification: HIGH, occasional_available: false}
  - name: the council gets HIGH profiles with one
    always_released: {from: {organisations: [unit]}, to: {nodes: [c1]}, categories: [profile], purposes: [prevent],
                      min_classification: HIGH, without_categories: [EARS, REL B], occasional_available: true}
  - name: the council never gets HIGH
    never_released: {to: {nodes: [c1]}, min_classification: HIGH}
)",
                             policy.get());
  EXPECT_EQ(run.results.at(0).status, PropertyStatus::holds) << run.results[0].message;
  EXPECT_EQ(run.results.at(1).status, PropertyStatus::holds) << run.results[1].message;
  const PropertyResult& failed = run.results.at(2);
  EXPECT_EQ(failed.status, PropertyStatus::fails);
  ASSERT_TRUE(failed.counterexample);
  EXPECT_TRUE(failed.counterexample->decided.occasional_available);
  EXPECT_THAT(failed.counterexample->decided.explain_command, ::testing::EndsWith(" --occasional"));
  expect_explain_agrees(*policy, run);
}

// ---- The folded walk against two oracles ----------------------------------------

// Points and failing points of a never_released / always_released property,
// counted here from decide() alone: every node pair, category, purpose,
// label of the complete space, occasional or not, one single-portion request each.
struct BruteForce {
  std::size_t points = 0;
  std::size_t failing = 0;
};

BruteForce brute_force(const CompiledPolicy& policy, const std::vector<std::string>& recipients,
                       const std::vector<std::string>& categories, bool always, HeldCountsAs held) {
  BruteForce counted;
  const Policy& source = policy.source();
  std::vector<std::string> purposes = source.purposes;
  purposes.push_back("");
  const std::vector<Label> labels = enumerate_complete_labels(policy, {}).labels;
  std::vector<bool> occasional_values{false};
  if (source.occasional.releases > 0) occasional_values.push_back(true);
  for (const Node& sender : source.nodes) {
    for (const Node& recipient : source.nodes) {
      if (sender.id == recipient.id) continue;
      if (!recipients.empty() && std::find(recipients.begin(), recipients.end(), recipient.id) == recipients.end()) {
        continue;
      }
      for (const std::string& category : source.information_categories) {
        if (!categories.empty() && std::find(categories.begin(), categories.end(), category) == categories.end()) {
          continue;
        }
        for (const std::string& purpose : purposes) {
          for (const Label& label : labels) {
            for (bool occasional : occasional_values) {
              DecisionRequest request{sender.id, recipient.id, category, purpose, std::span<const Label>(&label, 1),
                                      occasional};
              const Decision decision = policy.decide(request).decision;
              const bool released =
                  decision == Decision::release || (decision == Decision::hold && held == HeldCountsAs::released);
              ++counted.points;
              if (released != always) ++counted.failing;
            }
          }
        }
      }
    }
  }
  return counted;
}

TEST_F(ProveTest, FoldedEqualsBothOraclesOnTheSmallPolicy) {
  const std::string entries = R"(
  - name: council never
    never_released: {to: {nodes: [c1, c2]}}
  - name: council always
    always_released: {to: {nodes: [c1, c2]}, categories: [profile]}
  - name: unit never
    never_released: {to: {nodes: [a1, a2]}}
)";
  const ProofRun folded = prove(entries);
  const ProofRun oracle = prove(entries, nullptr, true);
  ASSERT_EQ(folded.results.size(), 3u);
  EXPECT_LT(folded.decide_calls, oracle.decide_calls);
  const BruteForce expected[] = {
      brute_force(*policy_, {"c1", "c2"}, {}, false, HeldCountsAs::released),
      brute_force(*policy_, {"c1", "c2"}, {"profile"}, true, HeldCountsAs::released),
      brute_force(*policy_, {"a1", "a2"}, {}, false, HeldCountsAs::released),
  };
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(folded.results[i].name);
    EXPECT_EQ(folded.results[i].status, PropertyStatus::fails);
    EXPECT_EQ(folded.results[i].status, oracle.results[i].status);
    EXPECT_EQ(folded.results[i].points, oracle.results[i].points);
    EXPECT_EQ(folded.results[i].failing_points, oracle.results[i].failing_points);
    EXPECT_EQ(folded.results[i].points, expected[i].points);
    EXPECT_EQ(folded.results[i].failing_points, expected[i].failing);
  }
  expect_explain_agrees(*policy_, folded);
  expect_explain_agrees(*policy_, oracle);
}

TEST(ProveGeneratedTest, FoldedEqualsExhaustiveOnGeneratedPolicies) {
  TempDir dir("prove-generated");
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    generator::PolicyParameters parameters;
    parameters.organisations = 10;
    parameters.rules = 30;
    parameters.seed = seed;
    const generator::GeneratedPolicy before = generator::generate_policy(parameters);
    parameters.rules = 36;  // the same nodes and first 30 rules, 6 more
    const generator::GeneratedPolicy after = generator::generate_policy(parameters);
    LoadResult loaded = load_policy(dir.write("after.yaml", after.yaml));
    ASSERT_TRUE(loaded.policy) << joined(rendered(loaded.diagnostics));
    dir.write("before.yaml", before.yaml);
    const std::string text = fmt::format(R"(properties:
  - name: nothing above {2} to {0}
    never_released: {{to: {{organisations: [{0}]}}, min_classification: {2}}}
  - name: everything from {1} to {0}
    always_released: {{from: {{organisations: [{1}]}}, to: {{organisations: [{0}]}}}}
  - name: after implies before
    implies: {{policy: before.yaml}}
  - name: before's rules live on
    no_dead_rules: {{}}
  - name: confined
    confined: {{category: UK EYES ONLY}}
)",
                                         after.organisation_ids[1], after.organisation_ids[0], after.classifications[2]);
    const PropertiesFile file = load_properties_text(text, dir.path() / "p.yaml", *loaded.policy);
    ASSERT_TRUE(file.ok()) << joined(rendered(file.diagnostics));
    const ProofRun folded = prove_properties(*loaded.policy, file);
    ProveOptions exhaustive;
    exhaustive.exhaustive = true;
    const ProofRun oracle = prove_properties(*loaded.policy, file, exhaustive);
    ASSERT_EQ(folded.results.size(), oracle.results.size());
    EXPECT_TRUE(folded.diagnostics.empty()) << joined(rendered(folded.diagnostics));
    for (std::size_t i = 0; i < folded.results.size(); ++i) {
      SCOPED_TRACE(folded.results[i].name);
      EXPECT_EQ(folded.results[i].status, oracle.results[i].status);
      EXPECT_EQ(folded.results[i].points, oracle.results[i].points);
      EXPECT_EQ(folded.results[i].failing_points, oracle.results[i].failing_points);
      std::vector<std::string> folded_dead, oracle_dead;
      for (const DeadRule& dead : folded.results[i].dead_rules) folded_dead.push_back(dead.id + "/" + std::to_string(dead.decided_points));
      for (const DeadRule& dead : oracle.results[i].dead_rules) oracle_dead.push_back(dead.id + "/" + std::to_string(dead.decided_points));
      EXPECT_EQ(folded_dead, oracle_dead);
      if (folded.results[i].counterexample) {
        EXPECT_TRUE(folded.results[i].counterexample->decided.explain_agrees);
        if (folded.results[i].counterexample->other) {
          EXPECT_TRUE(folded.results[i].counterexample->other->explain_agrees);
        }
      }
    }
  }
}

// The figures for policies/README.md: no time is asserted (a shared, noisy
// machine), only that a policy of about 300 nodes is proved completely.
TEST(ProveGeneratedTest, ThreeHundredNodes) {
  TempDir dir("prove-300");
  generator::PolicyParameters parameters;
  parameters.organisations = 90;
  parameters.rules = 400;
  dir.write("before.yaml", generator::generate_policy(parameters).yaml);
  parameters.rules = 420;
  const generator::GeneratedPolicy after = generator::generate_policy(parameters);
  LoadResult loaded = load_policy(dir.write("after.yaml", after.yaml));
  ASSERT_TRUE(loaded.policy) << joined(rendered(loaded.diagnostics));
  ASSERT_GE(loaded.policy->source().nodes.size(), 280u);
  const std::string text = fmt::format(R"(properties:
  - name: nothing above {1} to {0}
    never_released: {{to: {{organisations: [{0}]}}, min_classification: {1}}}
  - name: confined
    confined: {{category: UK EYES ONLY}}
  - name: after implies before
    implies: {{policy: before.yaml}}
  - name: no dead rules
    no_dead_rules: {{}}
)",
                                       after.organisation_ids[1], after.classifications[2]);
  const PropertiesFile file = load_properties_text(text, dir.path() / "p.yaml", *loaded.policy);
  ASSERT_TRUE(file.ok()) << joined(rendered(file.diagnostics));
  const ProofRun run = prove_properties(*loaded.policy, file);
  std::cout << "[ timing   ] prove on a generated policy: " << run.nodes << " nodes, "
            << loaded.policy->source().rules.size() << " rules, " << run.labels << " labels; " << run.sender_classes
            << " sender and " << run.recipient_classes << " recipient classes; " << run.decide_calls
            << " decide() calls; " << run.seconds << " s\n";
  RecordProperty("seconds", std::to_string(run.seconds));
  EXPECT_TRUE(run.diagnostics.empty()) << joined(rendered(run.diagnostics));
  EXPECT_FALSE(run.labels_truncated);
  ASSERT_EQ(run.results.size(), 4u);
  EXPECT_EQ(run.results[1].status, PropertyStatus::holds) << run.results[1].message;  // UK EYES ONLY is restrictive
  for (const PropertyResult& result : run.results) {
    EXPECT_NE(result.status, PropertyStatus::not_proved) << result.name;
    if (result.counterexample) {
      EXPECT_TRUE(result.counterexample->decided.explain_agrees) << result.name;
    }
  }
}

// ---- The complete label space ---------------------------------------------------

// Every valid label, by trying every subset of the scheme's categories.
std::set<std::string> every_valid_label(const CompiledPolicy& policy) {
  const LabelScheme& scheme = policy.source().scheme;
  std::set<std::string> valid;
  const std::size_t n = scheme.categories.size();
  for (const Classification& classification : scheme.classifications) {
    for (std::size_t mask = 0; mask < (std::size_t{1} << n); ++mask) {
      Label label{classification.name, {}};
      for (std::size_t i = 0; i < n; ++i) {
        if (mask & (std::size_t{1} << i)) label.categories.push_back(scheme.categories[i].name);
      }
      normalise(label);
      if (policy.label_problems(label).empty()) valid.insert(label_text(label));
    }
  }
  return valid;
}

TEST(CompleteLabelSpaceTest, FindsEveryValidLabelOfAHardScheme) {
  // Every validity rule a scheme can state, so that pruning is tested against them all.
  LoadResult loaded = load_policy_text(R"(policy: hard
scheme:
  scheme: hard
  classifications:
    - {name: LOW}
    - {name: MID, requires_any_of: [[A, B, NOTE]]}
    - {name: HIGH, requires: [A]}
  tag_sets:
    - name: caveats
      type: restrictive
      max_selection: 2
      categories:
        - {name: A, excluded_at: [LOW]}
        - {name: B, excludes: [C]}
        - {name: C}
    - name: rel
      type: permissive
      categories:
        - {name: R1, requires_exactly_one_of: [[A, B]]}
        - {name: R2}
        - {name: R3, requires: [NOTE]}
    - name: notes
      type: informative
      categories: [{name: NOTE}, {name: OTHER, excluded_at: [HIGH]}]
)",
                                       "hard.yaml");
  ASSERT_TRUE(loaded.policy) << joined(rendered(loaded.diagnostics));
  const CompiledPolicy& policy = *loaded.policy;
  std::vector<std::string> all;
  for (const Category& category : policy.source().scheme.categories) all.push_back(category.name);
  const CompleteLabelSpace kept_all = enumerate_complete_labels(policy, all);
  std::set<std::string> found;
  for (const Label& label : kept_all.labels) found.insert(label_text(label));
  EXPECT_FALSE(kept_all.truncated);
  EXPECT_EQ(found, every_valid_label(policy));
  EXPECT_EQ(kept_all.valid_labels, found.size());
  EXPECT_TRUE(found.count("MID/NOTE"));
  EXPECT_FALSE(found.count("LOW/A"));

  // Merged: labels differing only in NOTE and OTHER (informative, unnamed)
  // are one; each merged label stands for a class that decides alike.
  const CompleteLabelSpace merged = enumerate_complete_labels(policy, {});
  EXPECT_EQ(merged.valid_labels, kept_all.valid_labels);
  EXPECT_LT(merged.labels.size(), kept_all.labels.size());
  std::set<std::string> keys;
  for (const Label& label : kept_all.labels) {
    std::string key = label.classification;
    for (const std::string& category : label.categories) {
      if (category != "NOTE" && category != "OTHER") key += "/" + category;
    }
    keys.insert(key);
  }
  EXPECT_EQ(merged.labels.size(), keys.size());
  // Still, a NOTE is kept where a property names it.
  const std::vector<std::string> note{"NOTE"};
  EXPECT_GT(enumerate_complete_labels(policy, note).labels.size(), merged.labels.size());
}

TEST(CompleteLabelSpaceTest, ABudgetTooSmallTruncatesAndNothingIsProved) {
  TempDir dir("prove-budget");
  const std::string text = std::string("policy: small\n") + std::string(testing::kSmallScheme) + std::string(kBody);
  LoadResult loaded = load_policy(dir.write("small.yaml", text));
  ASSERT_TRUE(loaded.policy);
  EXPECT_TRUE(enumerate_complete_labels(*loaded.policy, {}, 10).truncated);
  EXPECT_FALSE(enumerate_complete_labels(*loaded.policy, {}).truncated);

  const PropertiesFile file = load_properties_text(R"(properties:
  - {name: club never, never_released: {to: {organisations: [club]}}}
  - {name: council never, never_released: {to: {organisations: [council]}}}
  - {name: live, no_dead_rules: {}}
)",
                                                   dir.path() / "p.yaml", *loaded.policy);
  ASSERT_TRUE(file.ok()) << joined(rendered(file.diagnostics));
  ProveOptions options;
  options.label_budget = 20;
  const ProofRun run = prove_properties(*loaded.policy, file, options);
  EXPECT_TRUE(run.labels_truncated);
  // No counterexample over the labels searched: not proved, never "holds".
  EXPECT_EQ(run.results.at(0).status, PropertyStatus::not_proved);
  EXPECT_THAT(run.results[0].message, HasSubstr("not proved: label space truncated"));
  // A counterexample found is one, whatever was not searched.
  EXPECT_EQ(run.results.at(1).status, PropertyStatus::fails);
  EXPECT_EQ(run.results.at(2).status, PropertyStatus::holds);
  std::ostringstream text_out;
  write_proof_text(text_out, run);
  EXPECT_THAT(text_out.str(), HasSubstr("label space TRUNCATED"));
  EXPECT_THAT(text_out.str(), HasSubstr("NOT PROVED"));
}

// ---- The properties file ----------------------------------------------------------

TEST_F(ProveTest, EveryProblemInAPropertiesFileIsReportedWhereItIs) {
  const std::string text = R"(description: typos
properties:
  - name: one
    never_released:
      to: {organisation_kinds: [councel], rolez: [officer]}
      categories: [profil]
      min_classification: HIGH
      max_classification: LOW
  - name: one
    always_released: {}
    confined: {category: EYES}
  - description: no name
    never_released: {held_counts_as: maybe}
  - name: three
  - name: four
    confined: {category: NOPE}
  - name: five
    implies: {policy: missing.yaml}
  - name: six
    no_dead_rules: {rules: [no-such-rule]}
)";
  const fs::path file = dir_.path() / "bad.properties.yaml";
  const PropertiesFile loaded = load_properties_text(text, file, *policy_);
  EXPECT_THAT(testing::found(loaded.diagnostics),
              ElementsAre(Found{Code::V011, 5, 33}, Found{Code::V002, 5, 43}, Found{Code::V011, 6, 20},
                          Found{Code::V012, 7, 27}, Found{Code::V010, 9, 11}, Found{Code::V013, 11, 5},
                          Found{Code::V004, 12, 5}, Found{Code::V005, 13, 38}, Found{Code::V013, 14, 5},
                          Found{Code::V011, 16, 26}, Found{Code::V007, 18, 23}, Found{Code::V011, 20, 29}));
  for (const Diagnostic& d : loaded.diagnostics.all()) {
    if (d.code == Code::V007) {
      EXPECT_EQ(d.location.file, file.string()) << "located in the properties file";
    }
  }
  EXPECT_TRUE(loaded.properties.empty());
  EXPECT_FALSE(loaded.ok());
}

TEST_F(ProveTest, SyntaxErrorsAndAnInvalidImpliedPolicy) {
  const PropertiesFile broken = load_properties_text("properties: [\n", dir_.path() / "p.yaml", *policy_);
  ASSERT_FALSE(broken.diagnostics.empty());
  EXPECT_EQ(broken.diagnostics.all().front().code, Code::V001);

  dir_.write("invalid.yaml", "policy: invalid\nscheme: nowhere.yaml\n");
  const PropertiesFile implied = load_properties_text(R"(properties:
  - name: implies an invalid policy
    implies: {policy: invalid.yaml}
)",
                                                      dir_.path() / "p.yaml", *policy_);
  EXPECT_TRUE(implied.other_policy_invalid);
  std::set<Code> codes;
  for (const Diagnostic& diagnostic : implied.diagnostics.all()) codes.insert(diagnostic.code);
  EXPECT_TRUE(codes.count(Code::V016));
  EXPECT_TRUE(codes.count(Code::P007));  // the invalid policy's own problem, at its own place

  const PropertiesFile unreadable = load_properties(dir_.path() / "nope.yaml", *policy_);
  ASSERT_EQ(unreadable.diagnostics.all().size(), 1u);
  EXPECT_EQ(unreadable.diagnostics.all().front().code, Code::V007);
}

TEST_F(ProveTest, ASliceThatSelectsNothingIsAnErrorNotAProof) {
  const PropertiesFile file = properties(R"(
  - name: c1 to itself
    always_released: {from: {nodes: [c1]}, to: {nodes: [c1]}}
)");
  const ProofRun run = prove_properties(*policy_, file);
  EXPECT_THAT(rendered(run.diagnostics),
              ElementsAre(HasSubstr("small.properties.yaml:4:5: error[V014]: property 'c1 to itself' selects no point")));
  EXPECT_EQ(run.results.at(0).status, PropertyStatus::not_proved);
}

TEST_F(ProveTest, TheReportsSayTheSameThings) {
  const ProofRun run = prove(R"(
  - name: the council never sees MID
    never_released: {to: {organisation_kinds: [council]}, min_classification: MID, categories: [profile]}
  - name: EYES stays with those who hold it
    confined: {category: EYES}
)");
  std::ostringstream text, json;
  write_proof_text(text, run);
  write_proof_json(json, run);
  EXPECT_THAT(text.str(), HasSubstr("FAILS       the council never sees MID (never_released, "));
  EXPECT_THAT(text.str(), HasSubstr("HOLDS       EYES stays with those who hold it (confined, "));
  EXPECT_THAT(text.str(), HasSubstr(run.results[0].counterexample->decided.explain_command));
  EXPECT_THAT(text.str(), HasSubstr("2 properties: 1 holds, 1 fails, 0 not proved"));
  EXPECT_THAT(json.str(), HasSubstr("\"status\":\"fails\""));
  EXPECT_THAT(json.str(), HasSubstr("\"decision\":\"RELEASE\",\"rule\":\"profile-to-council\""));
  EXPECT_THAT(json.str(), HasSubstr("\"counts\":{\"holds\":1,\"fails\":1,\"not_proved\":0}"));
}

// Diagnostic codes are a contract (diagnostic_codes_test.cpp checks the
// other letters): every V code the prover's sources name is documented in
// policies/README.md, and so is each parser code's V twin.
TEST(ProveDiagnosticCodes, EveryCodeIsDocumented) {
  const std::string readme = read(kPolicies / "README.md");
  std::set<std::string> documented;
  const std::regex row(R"(\n\| (V[0-9]{3}) \|)");
  for (auto it = std::sregex_iterator(readme.begin(), readme.end(), row); it != std::sregex_iterator(); ++it) {
    documented.insert((*it)[1].str());
  }
  ASSERT_GE(documented.size(), 10u) << "the README's V code table was not found";
  std::set<std::string> named;
  const std::regex literal(R"re(Code::(V[0-9]{3}))re");  // codes are typed (diagnostic_codes.hpp)
  for (const char* source : {"prove.cpp", "prove_properties.cpp", "prove_report.cpp", "prove.hpp"}) {
    const std::string text = read(fs::path(ICEGATE_SOURCE_DIR) / "gateway/policy" / source);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), literal); it != std::sregex_iterator(); ++it) {
      named.insert((*it)[1].str());
    }
  }
  const std::string parser = read(fs::path(ICEGATE_SOURCE_DIR) / "gateway/policy/parser.cpp");
  const std::regex parser_code(R"re(Code::P([0-9]{3}))re");
  for (auto it = std::sregex_iterator(parser.begin(), parser.end(), parser_code); it != std::sregex_iterator(); ++it) {
    named.insert("V" + (*it)[1].str());
  }
  ASSERT_GE(named.size(), 10u);
  for (const std::string& code : named) EXPECT_TRUE(documented.count(code)) << code << " is not in policies/README.md";
}

// ---- The shipped policies -----------------------------------------------------------

class ShippedPropertiesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ShippedPropertiesTest, EveryPropertyHolds) {
  const fs::path policy_file = kPolicies / (GetParam() + ".yaml");
  LoadResult loaded = load_policy(policy_file);
  ASSERT_TRUE(loaded.policy) << joined(rendered(loaded.diagnostics));
  const fs::path properties_file = default_properties_file(policy_file);
  EXPECT_EQ(properties_file, kPolicies / "tests" / (GetParam() + ".properties.yaml"));
  const PropertiesFile properties = load_properties(properties_file, *loaded.policy);
  ASSERT_TRUE(properties.ok()) << joined(rendered(properties.diagnostics));
  EXPECT_GE(properties.properties.size(), 5u);
  const ProofRun run = prove_properties(*loaded.policy, properties);
  EXPECT_TRUE(run.diagnostics.empty()) << joined(rendered(run.diagnostics));
  EXPECT_FALSE(run.labels_truncated);
  for (const PropertyResult& result : run.results) {
    EXPECT_EQ(result.status, PropertyStatus::holds) << result.name << ": " << result.message;
  }
  // Every kind the format has is used on the Birmingham policies.
  if (GetParam() != "demo") {
    std::set<PropertyKind> kinds;
    for (const Property& property : properties.properties) kinds.insert(property.kind);
    EXPECT_EQ(kinds.size(), 5u);
  }
}

INSTANTIATE_TEST_SUITE_P(Shipped, ShippedPropertiesTest, ::testing::Values("demo", "need-to-know", "need-to-share"));

// A broken copy of need-to-share: the faith leader vetted to BPSS and given
// RESTRICTED public statements. Either change alone is harmless (clearance,
// or no rule); together they break the first property, and the prover says so
// with a request explain agrees with.
TEST(ShippedPropertiesBrokenTest, ACopyThatGivesTheCommunityRestrictedIsCaught) {
  TempDir dir("prove-broken");
  fs::create_directories(dir.path() / "schemes");
  fs::copy_file(kPolicies / "schemes/gpms-2008.yaml", dir.path() / "schemes/gpms-2008.yaml");
  fs::copy_file(kPolicies / "need-to-know.yaml", dir.path() / "need-to-know.yaml");
  const std::string original = read(kPolicies / "need-to-share.yaml");
  const std::string rule = R"(  - id: briefings-to-faith-leaders
    description: A mistake - faith leaders get the RESTRICTED consequence briefing
    effect: permit
    categories: [consequence-briefing, public-statement]
    from:
      roles: [bcu-commander]
    to:
      roles: [faith-leader]
    max_classification: RESTRICTED

# Named events)";
  const std::string with_rule = replaced(original, "\n# Named events", "\n" + rule);
  const std::string with_vetting =
      replaced(original, "    role: faith-leader\n    vetting: none\n", "    role: faith-leader\n    vetting: BPSS\n");
  const std::string both = replaced(with_rule, "    role: faith-leader\n    vetting: none\n",
                                    "    role: faith-leader\n    vetting: BPSS\n");
  struct Case {
    std::string name;
    std::string text;
    bool community_property_holds;
  };
  for (const Case& c : {Case{"rule only", with_rule, true}, Case{"vetting only", with_vetting, true},
                        Case{"both", both, false}}) {
    SCOPED_TRACE(c.name);
    const fs::path file = dir.write("need-to-share.yaml", c.text);
    LoadResult loaded = load_policy(file);
    ASSERT_TRUE(loaded.policy) << joined(rendered(loaded.diagnostics));
    const PropertiesFile properties =
        load_properties_text(read(kPolicies / "tests/need-to-share.properties.yaml"),
                             dir.path() / "tests/need-to-share.properties.yaml", *loaded.policy);
    ASSERT_TRUE(properties.ok()) << joined(rendered(properties.diagnostics));
    const ProofRun run = prove_properties(*loaded.policy, properties);
    EXPECT_TRUE(run.diagnostics.empty()) << joined(rendered(run.diagnostics));
    const PropertyResult& community = run.results.at(0);
    ASSERT_EQ(community.name, "community organisations never receive RESTRICTED or above");
    if (c.community_property_holds) {
      EXPECT_EQ(community.status, PropertyStatus::holds) << community.message;
      continue;
    }
    EXPECT_EQ(community.status, PropertyStatus::fails);
    ASSERT_TRUE(community.counterexample);
    const Counterexample& example = *community.counterexample;
    EXPECT_EQ(example.sender, "bcu-commander");
    EXPECT_EQ(example.recipient, "faith-leader");
    EXPECT_EQ(example.label.classification, "RESTRICTED");
    EXPECT_EQ(example.decided.decision, Decision::release);
    EXPECT_EQ(example.decided.rule, "briefings-to-faith-leaders");
    EXPECT_TRUE(example.decided.explain_agrees);
    // The new rule is a dead rule nowhere, but the properties that do not
    // concern it still hold.
    for (std::size_t i = 1; i < run.results.size(); ++i) {
      EXPECT_EQ(run.results[i].status, PropertyStatus::holds) << run.results[i].name << ": " << run.results[i].message;
    }
  }
}

}  // namespace
}  // namespace icegate::policy

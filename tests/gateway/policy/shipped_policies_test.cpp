// The shipped policies and their test files: every policy in policies/ loads
// cleanly, every test file passes against its policy and exercises every one
// of its rules, and need-to-know and need-to-share describe the same
// organisations, so that the two can be compared on one scenario.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "gateway/policy/engine.hpp"
#include "gateway/policy/testing.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::filesystem::path kPolicies = ICEGATE_SOURCE_DIR "/policies";

std::shared_ptr<const CompiledPolicy> load_shipped(const std::filesystem::path& file) {
  LoadResult result = load_policy(file);
  EXPECT_TRUE(result.diagnostics.empty()) << testing::joined(testing::rendered(result.diagnostics));
  return result.policy;
}

// ---- Every shipped test file passes, with full rule coverage ------------------------

class ShippedTestFile : public ::testing::TestWithParam<std::string> {};

TEST_P(ShippedTestFile, PassesAgainstItsPolicyAndExercisesEveryRule) {
  const std::filesystem::path file = kPolicies / "tests" / GetParam();
  PolicyTestFile tests = load_policy_tests(file);
  ASSERT_TRUE(tests.diagnostics.empty()) << testing::joined(testing::rendered(tests.diagnostics));
  ASSERT_FALSE(tests.cases.empty());
  auto policy = load_shipped(tests.policy);
  ASSERT_TRUE(policy);

  PolicyTestRun run = run_policy_tests(*policy, tests.cases);
  EXPECT_TRUE(run.diagnostics.empty()) << testing::joined(testing::rendered(run.diagnostics));
  for (const PolicyTestResult& result : run.results) {
    EXPECT_TRUE(result.passed) << to_string(result.location) << ": " << result.name << "\n  "
                               << testing::joined(result.differences) << "  reason: " << result.decision.reason;
  }
  std::vector<std::string> uncovered;
  for (int rule : run.uncovered_rules()) uncovered.push_back(policy->rule(rule).id);
  EXPECT_THAT(uncovered, IsEmpty()) << "rules no case exercises";
  EXPECT_EQ(run.coverage(), 1.0);
}

INSTANTIATE_TEST_SUITE_P(Policies, ShippedTestFile,
                         ::testing::Values("demo.test.yaml", "need-to-know.test.yaml", "need-to-share.test.yaml"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param.substr(0, param.param.find('.'));
                           std::erase(name, '-');
                           return name;
                         });

TEST(ShippedTestFiles, TheComparedPoliciesHaveAtLeastFifteenCasesEach) {
  for (const char* name : {"need-to-know.test.yaml", "need-to-share.test.yaml"}) {
    PolicyTestFile tests = load_policy_tests(kPolicies / "tests" / name);
    EXPECT_GE(tests.cases.size(), 15u) << name;
  }
}

// ---- need-to-know and need-to-share cannot drift apart ------------------------------

// Everything that says who takes part, printed field by field (locations left
// out: the rules sections differ in length, so lines do not line up).
std::vector<std::string> participants(const Policy& policy) {
  std::vector<std::string> lines;
  auto matcher = [](const SubjectMatcher& m) {
    return fmt::format("nodes={} orgs={} kinds={} roles={} levels={} ct={} lists={}", fmt::join(m.nodes, ","),
                       fmt::join(m.organisations, ","), fmt::join(m.organisation_kinds, ","), fmt::join(m.roles, ","),
                       fmt::join(m.levels, ","), m.ct_network ? (*m.ct_network ? "true" : "false") : "-",
                       fmt::join(m.lists, ","));
  };
  lines.push_back(fmt::format("scheme {}", policy.scheme.name));
  lines.push_back(fmt::format("levels {}", fmt::join(policy.levels, ",")));
  for (const Vetting& v : policy.vetting) {
    lines.push_back(fmt::format("vetting {} {} {}", v.name, v.regular_ceiling, v.occasional_ceiling));
  }
  lines.push_back(fmt::format("allowance {} {}", policy.occasional.releases, policy.occasional.window.count()));
  for (const Organisation& o : policy.organisations) {
    lines.push_back(fmt::format("organisation {} '{}' {} {}", o.id, o.name, o.kind, o.ct_network));
  }
  for (const Role& r : policy.roles) lines.push_back(fmt::format("role {} '{}' {}", r.id, r.name, r.level));
  for (const Node& n : policy.nodes) {
    lines.push_back(fmt::format("node {} '{}' {} {} {} [{}]", n.id, n.name, n.organisation, n.role, n.vetting,
                                fmt::join(n.categories, ",")));
  }
  for (const DistributionList& l : policy.lists) {
    lines.push_back(fmt::format("list {} '{}' nodes={} roles={}", l.id, l.name, fmt::join(l.nodes, ","),
                                fmt::join(l.roles, ",")));
  }
  for (const EventDef& e : policy.events) {
    lines.push_back(fmt::format("event {} '{}' {}", e.id, e.description, matcher(e.triggered_by)));
  }
  lines.push_back(fmt::format("categories {}", fmt::join(policy.information_categories, ",")));
  lines.push_back(fmt::format("purposes {}", fmt::join(policy.purposes, ",")));
  return lines;
}

TEST(ComparedPolicies, DefineIdenticalOrganisationsRolesNodesListsAndEvents) {
  auto need_to_know = load_shipped(kPolicies / "need-to-know.yaml");
  auto need_to_share = load_shipped(kPolicies / "need-to-share.yaml");
  ASSERT_TRUE(need_to_know && need_to_share);
  EXPECT_EQ(participants(need_to_know->source()), participants(need_to_share->source()));
  // The same scheme file, so labels mean the same under both.
  EXPECT_EQ(need_to_know->source().scheme.name, "gpms-2008");
  EXPECT_NE(need_to_know->version(), need_to_share->version());
}

TEST(ComparedPolicies, TheSharedSectionsAreWhatTheLeadsExercisesRelyOn) {
  auto policy = load_shipped(kPolicies / "need-to-share.yaml");
  ASSERT_TRUE(policy);
  EXPECT_THAT(policy->nodes_with_role("council-critical-reader"), ElementsAre("council-critical-reader"));
  EXPECT_TRUE(policy->may_trigger("ctu-sio", "operation-start"));
  EXPECT_TRUE(policy->may_trigger("ctu-sio", "arrest-made"));
  EXPECT_FALSE(policy->may_trigger("bcu-commander", "operation-start"));
  EXPECT_FALSE(policy->may_trigger("ctu-analyst", "arrest-made"));
  EXPECT_GE(policy->source().nodes.size(), 24u);
  // Levels as in para 92.
  auto level_of = [&](std::string_view node) {
    const Node* n = policy->find_node(node);
    for (const Role& role : policy->source().roles) {
      if (n && role.id == n->role) return role.level;
    }
    return std::string("?");
  };
  EXPECT_EQ(level_of("council-chief-exec"), "strategic");
  EXPECT_EQ(level_of("bcu-commander"), "strategic");
  EXPECT_EQ(level_of("neighbourhood-manager"), "tactical");
  EXPECT_EQ(level_of("npt-inspector"), "tactical");
  EXPECT_EQ(level_of("street-warden"), "delivery");
  EXPECT_EQ(level_of("npt-officer"), "delivery");
}

// The worked example in policies/README.md, checked.
TEST(ComparedPolicies, TheSameRequestsDecideDifferently) {
  auto need_to_know = load_shipped(kPolicies / "need-to-know.yaml");
  auto need_to_share = load_shipped(kPolicies / "need-to-share.yaml");
  ASSERT_TRUE(need_to_know && need_to_share);
  const std::vector<Label> profile{Label{"SECRET", {"UK EYES ONLY"}}, Label{"RESTRICTED", {}}};
  auto decide = [&](const CompiledPolicy& policy, std::string_view from, std::string_view to,
                    std::string_view category, std::string_view purpose, bool occasional = false) {
    DecisionRequest request;
    request.sender = from;
    request.recipient = to;
    request.category = category;
    request.purpose = purpose;
    request.portion_labels = profile;
    request.occasional_available = occasional;
    return policy.decide(request);
  };

  PolicyDecision know = decide(*need_to_know, "ctu-analyst", "council-prevent", "ct-problem-profile", "prevent");
  PolicyDecision share = decide(*need_to_share, "ctu-analyst", "council-prevent", "ct-problem-profile", "prevent");
  EXPECT_EQ(know.decision, Decision::deny);
  EXPECT_EQ(know.reason, "denied by no-ct-material-outside-policing");
  EXPECT_EQ(share.decision, Decision::hold);
  EXPECT_EQ(share.reason,
            "held for review by council-critical-reader under profile-to-heads-of-service; 1 of 2 portions "
            "withheld: no rule permits SECRET ct-problem-profile for prevent from ctu-analyst to council-prevent; "
            "profile-to-heads-of-service permits only up to RESTRICTED");
  EXPECT_THAT(share.review_roles, ElementsAre("council-critical-reader"));

  know = decide(*need_to_know, "bcu-commander", "council-chief-exec", "operational-prebriefing",
                "consequence-management", true);
  share = decide(*need_to_share, "bcu-commander", "council-chief-exec", "operational-prebriefing",
                 "consequence-management", true);
  EXPECT_EQ(know.decision, Decision::deny);
  EXPECT_EQ(share.decision, Decision::release);
  EXPECT_TRUE(share.used_occasional);
  EXPECT_TRUE(share.no_onward_sharing);
  EXPECT_TRUE(share.originator_control);
  EXPECT_EQ(share.reason, "released in full under prebriefing-to-strategic-leads, using an occasional release");
}

TEST(ShippedPolicies, DemoStillLoadsUnchanged) {
  auto demo = load_shipped(kPolicies / "demo.yaml");
  ASSERT_TRUE(demo);
  EXPECT_TRUE(demo->source().events.empty());
  for (const Rule& rule : demo->source().rules) EXPECT_FALSE(rule.handling.requires_review()) << rule.id;
}

}  // namespace
}  // namespace icegate::policy

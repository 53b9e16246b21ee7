// What `exercise host` checks before it starts anything: who plays, under
// which policies, and the evaluators' names; every problem names its flag.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "clients/exercise/host/plan.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::exercise::host {
namespace {

std::filesystem::path source(const std::string& relative) { return std::filesystem::path(ICEGATE_SOURCE_DIR) / relative; }

HostRequest nicole(std::string play) {
  HostRequest request;
  request.scenario = source("scenarios/operation-nicole.yaml");
  request.play = std::move(play);
  return request;
}

std::string error_of(const HostRequest& request) {
  auto result = plan_host(request);
  if (auto* error = std::get_if<PlanError>(&result)) return error->message;
  return "<planned>";
}

TEST(HostPlan, PlaysTheNamedNodesUnderOneOrTwoPolicies) {
  auto request = nicole("council-chief-exec, ctu-sio,npt-officer");
  auto planned = plan_host(request);
  ASSERT_TRUE(std::holds_alternative<HostPlan>(planned)) << std::get<PlanError>(planned).message;
  const auto& plan = std::get<HostPlan>(planned);
  EXPECT_EQ(plan.played, (std::vector<std::string>{"council-chief-exec", "ctu-sio", "npt-officer"}));
  ASSERT_EQ(plan.tables.size(), 1u);
  EXPECT_EQ(plan.tables[0].name, "") << "a single table has no name";

  request.compare = source("policies/need-to-know.yaml");
  const auto two = std::get<HostPlan>(plan_host(request));
  ASSERT_EQ(two.tables.size(), 2u);
  EXPECT_EQ(two.tables[0].name, "need-to-share");
  EXPECT_EQ(two.tables[1].name, "need-to-know");
}

TEST(HostPlan, AllPlaysEveryNodeOfTheScenario) {
  const auto plan = std::get<HostPlan>(plan_host(nicole("all")));
  std::vector<std::string> nodes;  // the scenario names none: every node of the policy takes part
  for (const auto& node : plan.tables[0].policy->source().nodes) nodes.push_back(node.id);
  EXPECT_EQ(plan.played, nodes);
  EXPECT_EQ(plan.played.size(), 24u);
}

TEST(HostPlan, EveryUnknownOrRepeatedPlayerIsNamed) {
  EXPECT_EQ(error_of(nicole("council-chief-exec,nobody,council-chief-exec")),
            "--play: policy " + source("scenarios/../policies/need-to-share.yaml").string() +
                " has no node 'nobody'\n--play: 'nobody' takes no part in scenario operation-nicole\n"
                "--play: 'council-chief-exec' is named twice");
  EXPECT_EQ(error_of(nicole(",")), "--play: name the nodes people play (a,b,c) or say all");
}

TEST(HostPlan, WithoutPlayersTheScenarioMustNameThem) {
  const auto dir = std::filesystem::temp_directory_path() / ("icegate-plan-players-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "quiet.yaml") << "exercise: quiet\npolicy: " << source("policies/need-to-share.yaml").string()
                                    << "\nt0: 2026-03-02T09:00:00Z\nstart: T-1h\nend: T+1h\n";
  HostRequest request;
  request.scenario = dir / "quiet.yaml";
  const std::string error = error_of(request);
  EXPECT_NE(error.find("nobody plays"), std::string::npos) << error;
  EXPECT_NE(error.find("--play"), std::string::npos) << error;
  request.play = "council-chief-exec";
  EXPECT_EQ(error_of(request), "<planned>");
  std::filesystem::remove_all(dir);
}

TEST(HostPlan, TheScenariosPlayersByDefault) {
  const auto plan = std::get<HostPlan>(plan_host(nicole("")));
  EXPECT_FALSE(plan.played.empty());
  EXPECT_EQ(plan.played, plan.scenario.players);
  EXPECT_EQ(plan.evaluators, plan.scenario.evaluators);
}

TEST(HostPlan, ABadScenarioOrPolicyIsReportedWithItsLocation) {
  const auto dir = std::filesystem::temp_directory_path() / ("icegate-plan-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "bad.yaml") << "exercise: bad\nstart: T-1h\nend: sometime\n";
  HostRequest request;
  request.scenario = dir / "bad.yaml";
  request.play = "all";
  const std::string error = error_of(request);
  EXPECT_NE(error.find((dir / "bad.yaml").string() + ":"), std::string::npos) << error;
  std::ofstream(dir / "broken-policy.yaml") << "policy: [\n";
  request = nicole("all");
  request.policy = dir / "broken-policy.yaml";
  auto result = plan_host(request);
  ASSERT_TRUE(std::holds_alternative<PlanError>(result));
  EXPECT_TRUE(std::get<PlanError>(result).invalid_policy);
  std::filesystem::remove_all(dir);
}

TEST(HostPlan, EvaluatorsGetUniqueNames) {
  auto request = nicole("all");
  request.evaluators = 3;
  const auto plan = std::get<HostPlan>(plan_host(request));
  ASSERT_EQ(plan.evaluators.size(), 3u);
  EXPECT_NE(plan.evaluators[0], plan.evaluators[1]);
  EXPECT_NE(plan.evaluators[1], plan.evaluators[2]);
  request.evaluators = -1;
  EXPECT_EQ(error_of(request), "--evaluators: from 0 to 100");
}

// Across several gateways (scenarios/README.md, "Several gateways"): each
// table plays every gateway, loaded as `exercise run` loads them; --policy and
// --compare replace the policy of the gateway --gateway names.
TEST(HostPlan, AScenarioAcrossGatewaysPlaysEveryGatewayAtEachTable) {
  HostRequest request;
  request.scenario = source("scenarios/west-midlands-federation.yaml");
  request.play = "wm-ctu-analyst-1,bcc-prevent-coordinator";
  auto planned = plan_host(request);
  ASSERT_TRUE(std::holds_alternative<HostPlan>(planned)) << std::get<PlanError>(planned).message;
  const auto& plan = std::get<HostPlan>(planned);
  ASSERT_EQ(plan.tables.size(), 1u);
  const PlannedTable& table = plan.tables[0];
  ASSERT_EQ(table.gateways.size(), 3u);
  EXPECT_EQ(table.gateways[1].id, "gw-birmingham");
  EXPECT_EQ(table.gateways[1].policy->source().name, "birmingham-cc");
  EXPECT_EQ(table.gateways[1].nodes.size(), 4u);
  EXPECT_EQ(table.policy->source().name, "wm-ctu") << "the table is shown by the first gateway's policy";
  EXPECT_TRUE(table.run_policy.empty()) << "each gateway runs under its own";
  EXPECT_EQ(table.gateway, "");

  request.play = "wm-ctu-analyst-1,nobody";
  EXPECT_EQ(error_of(request), "--play: 'nobody' takes no part in scenario west-midlands-federation");
}

TEST(HostPlan, AcrossGatewaysPolicyAndCompareReplaceTheGatewayNamed) {
  HostRequest request;
  request.scenario = source("scenarios/west-midlands-federation.yaml");
  request.play = "bcc-prevent-coordinator";
  request.compare = source("policies/federation/birmingham-cc.yaml");
  EXPECT_NE(error_of(request).find("--compare needs --gateway to name the one whose policy it replaces"),
            std::string::npos)
      << error_of(request);
  request.gateway = "gw-brum";
  EXPECT_NE(error_of(request).find("--gateway gw-brum: scenario west-midlands-federation has no such gateway"),
            std::string::npos)
      << error_of(request);
  request.gateway = "gw-birmingham";
  auto planned = plan_host(request);
  ASSERT_TRUE(std::holds_alternative<HostPlan>(planned)) << std::get<PlanError>(planned).message;
  const auto& plan = std::get<HostPlan>(planned);
  ASSERT_EQ(plan.tables.size(), 2u);
  EXPECT_EQ(plan.tables[0].name, "birmingham-cc") << "each table named by the policy it puts at that gateway";
  EXPECT_EQ(plan.tables[1].name, "birmingham-cc-2");
  EXPECT_EQ(plan.tables[1].gateway, "gw-birmingham");
  EXPECT_EQ(plan.tables[1].run_policy, request.compare);
  EXPECT_EQ(plan.tables[1].gateways[1].policy_file, request.compare);
  EXPECT_EQ(plan.tables[1].gateways.size(), 3u);

  request.compare.clear();
  request.policy = source("policies/need-to-share.yaml");
  request.gateway.clear();
  EXPECT_NE(error_of(request).find("--policy needs --gateway"), std::string::npos) << error_of(request);

  // --gateway means nothing for a scenario with one gateway.
  HostRequest one = nicole("all");
  one.gateway = "gw-birmingham";
  EXPECT_NE(error_of(one).find("--gateway gw-birmingham: scenario operation-nicole has one gateway"), std::string::npos)
      << error_of(one);
}

}  // namespace
}  // namespace icegate::exercise::host

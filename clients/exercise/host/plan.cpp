#include "clients/exercise/host/plan.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "clients/exercise/check.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/gateway.hpp"

namespace icegate::exercise::host {

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) items.push_back(item);
    start = end + 1;
  }
  return items;
}

// A scenario across several gateways: each table plays every gateway, as
// `exercise run` does (exercise::gateway_parts, the one place that loads
// them); --policy and --compare replace the policy of the gateway --gateway
// names, one table each. Each table's gateways are checked as a run checks them.
std::optional<PlanError> plan_gateways(const HostRequest& request, HostPlan& plan) {
  const Scenario& scenario = plan.scenario;
  std::vector<std::string> ids;
  for (const auto& g : scenario.gateways) ids.push_back(g.id);
  if (!request.compare.empty() && request.gateway.empty())
    return PlanError{fmt::format("scenario {} has {} gateways ({}): --compare needs --gateway to name the one whose "
                                 "policy it replaces at the second table",
                                 scenario.name, ids.size(), fmt::join(ids, ", "))};
  std::vector<std::filesystem::path> files{request.policy};
  if (!request.compare.empty()) files.push_back(request.compare);
  for (const auto& file : files) {
    PlannedTable table;
    try {
      table.gateways = gateway_parts(scenario, file, request.gateway);
    } catch (const InvalidPolicyError& e) {
      return PlanError{e.what(), true};
    } catch (const std::exception& e) {
      return PlanError{e.what()};
    }
    GatewayPolicies policies;
    for (const auto& g : table.gateways) policies.push_back(g.policy);
    const auto problems = check_against_gateways(scenario, policies);
    if (problems.has_errors()) return PlanError{render(problems)};
    const auto named = std::find_if(table.gateways.begin(), table.gateways.end(),
                                    [&](const GatewayPart& g) { return g.id == request.gateway; });
    const GatewayPart& shown = named == table.gateways.end() ? table.gateways.front() : *named;
    table.policy_file = shown.policy_file;
    table.policy = shown.policy;
    table.name = files.size() > 1 ? shown.policy->source().name : "";
    table.run_policy = file;
    table.gateway = request.gateway;
    plan.tables.push_back(std::move(table));
  }
  return std::nullopt;
}

}  // namespace

std::variant<HostPlan, PlanError> plan_host(const HostRequest& request) {
  HostPlan plan;
  auto load = read_scenario(request.scenario);
  if (!load.scenario) return PlanError{render(load.diagnostics)};
  plan.scenario = std::move(*load.scenario);
  const Scenario& scenario = plan.scenario;
  if (!scenario.gateways.empty()) {
    if (auto error = plan_gateways(request, plan)) return *error;
  } else {
    if (!request.gateway.empty())
      return PlanError{fmt::format("--gateway {}: scenario {} has one gateway; --gateway names one of a scenario's "
                                   "`gateways`",
                                   request.gateway, scenario.name)};
    std::vector<std::filesystem::path> files{request.policy.empty() ? scenario.policy : request.policy};
    if (!request.compare.empty()) files.push_back(request.compare);
    for (const auto& file : files) {
      if (file.empty()) return PlanError{"the scenario names no policy: give --policy"};
      auto loaded = server::load_policy_giving_memory_back(file);
      if (!loaded.policy) {
        std::vector<std::string> errors;
        for (const auto& d : loaded.diagnostics.sorted()) errors.push_back(policy::to_string(d));
        return PlanError{fmt::format("policy {} is invalid:\n{}", file.string(), fmt::join(errors, "\n")), true};
      }
      const auto problems = check_against_policy(scenario, *loaded.policy);
      if (problems.has_errors()) return PlanError{render(problems)};
      PlannedTable table;
      table.name = files.size() > 1 ? loaded.policy->source().name : "";
      table.policy_file = file;
      table.policy = loaded.policy;
      table.run_policy = file;
      plan.tables.push_back(std::move(table));
    }
  }
  if (plan.tables.size() == 2 && plan.tables[0].name == plan.tables[1].name) plan.tables[1].name += "-2";

  // Who plays: --play, else the scenario's players.
  std::vector<std::string> scenario_nodes = scenario.nodes;
  if (!plan.tables[0].gateways.empty()) {
    // Across gateways: every gateway's own nodes, gateway by gateway.
    scenario_nodes.clear();
    for (const auto& g : plan.tables[0].gateways) scenario_nodes.insert(scenario_nodes.end(), g.nodes.begin(), g.nodes.end());
  }
  if (scenario_nodes.empty())
    for (const auto& node : plan.tables[0].policy->source().nodes) scenario_nodes.push_back(node.id);
  const std::string from = request.play.empty() ? "the scenario's players:" : "--play";
  if (request.play == "all") {
    plan.played = scenario_nodes;
  } else if (!request.play.empty()) {
    plan.played = split_list(request.play);
    if (plan.played.empty()) return PlanError{"--play: name the nodes people play (a,b,c) or say all"};
  } else {
    plan.played = scenario.players;
    if (plan.played.empty())
      return PlanError{fmt::format("{}: nobody plays: the scenario names no players: give --play NODE,NODE or --play all",
                                   request.scenario.string())};
  }
  std::set<std::string> seen;
  std::vector<std::string> problems;
  for (const auto& node : plan.played) {
    if (!seen.insert(node).second) problems.push_back(fmt::format("{}: '{}' is named twice", from, node));
    for (const auto& table : plan.tables)
      if (table.gateways.empty() && !table.policy->has_node(node))
        problems.push_back(fmt::format("{}: policy {} has no node '{}'", from, table.policy_file.string(), node));
    if (std::find(scenario_nodes.begin(), scenario_nodes.end(), node) == scenario_nodes.end())
      problems.push_back(fmt::format("{}: '{}' takes no part in scenario {}", from, node, scenario.name));
  }
  if (!problems.empty()) return PlanError{fmt::format("{}", fmt::join(problems, "\n"))};

  const int evaluators = request.evaluators.value_or(static_cast<int>(scenario.evaluators.size()));
  if (evaluators < 0 || evaluators > 100) return PlanError{"--evaluators: from 0 to 100"};
  std::set<std::string> names;
  for (int i = 0; i < evaluators; ++i) {
    std::string name = static_cast<std::size_t>(i) < scenario.evaluators.size() ? scenario.evaluators[static_cast<std::size_t>(i)]
                                                                                 : fmt::format("Evaluator {}", i + 1);
    // Ratings are kept per evaluator name: two seats must not share one.
    for (int n = 2; names.contains(name); ++n) name = fmt::format("{} ({})", name, n);
    names.insert(name);
    plan.evaluators.push_back(name);
  }
  return plan;
}

}  // namespace icegate::exercise::host

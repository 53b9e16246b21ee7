// What `icegate exercise host` will run, checked before anything starts: the
// scenario, one policy per table, the nodes people play, the evaluators'
// names. Every problem is found here, with the flag or file to blame, so a
// host that starts does not fail half-way through setting up a room.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <variant>
#include <string>
#include <vector>

#include "clients/exercise/runner.hpp"
#include "clients/exercise/scenario.hpp"

namespace icegate::policy {
class CompiledPolicy;
}

namespace icegate::exercise::host {

struct HostRequest {
  std::filesystem::path scenario;
  std::filesystem::path policy;   // empty: the scenario's
  std::filesystem::path compare;  // a second table under this policy
  std::string play;               // "a,b", "all", or empty: the scenario's `players:`
  std::optional<int> evaluators;  // how many; none: one per name in the scenario's `evaluators:`
  // A scenario with several gateways: the one whose policy `policy` (and
  // `compare`, for the second table) replaces, as `exercise run --gateway`.
  std::string gateway;
};

struct PlannedTable {
  std::string name;  // "" for a single table; else the policy's name (or "NAME-2" when both have one name)
  // The table's policy; across several gateways, that of the gateway
  // `gateway` names (the first's when none is named).
  std::filesystem::path policy_file;
  std::shared_ptr<const policy::CompiledPolicy> policy;
  // Several gateways: each, as the run will start it (exercise::gateway_parts),
  // and what RunOptions::policy and RunOptions::gateway are for this table.
  std::vector<GatewayPart> gateways;
  std::filesystem::path run_policy;
  std::string gateway;
};

struct HostPlan {
  Scenario scenario;
  std::vector<PlannedTable> tables;
  std::vector<std::string> played;      // the same nodes at every table
  std::vector<std::string> evaluators;  // unique names
};

// Why a plan cannot be made: `message` is ready to print (every problem, one a
// line); `invalid_policy` when a policy file itself has errors (exit code 3).
struct PlanError {
  std::string message;
  bool invalid_policy = false;
};

std::variant<HostPlan, PlanError> plan_host(const HostRequest& request);

}  // namespace icegate::exercise::host

// A scenario checked against a policy, before anything runs: every node,
// addressee, category, purpose, event and label it names must be one the
// policy defines, and every node that acts or is expected about must take
// part. `icegate exercise check` and the runner both use it, so a scenario
// that checks clean is one that runs.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "clients/exercise/scenario.hpp"

namespace icegate::policy {
class CompiledPolicy;
}

namespace icegate::exercise {

// The nodes that take part: the scenario's `nodes`, or every node of the policy.
std::vector<std::string> participants(const Scenario& scenario, const policy::CompiledPolicy& policy);

// Every problem, located at the value that names it (codes X011, X020-X023 in
// scenarios/README.md). Does not throw.
Diagnostics check_against_policy(const Scenario& scenario, const policy::CompiledPolicy& policy);

// ---- a scenario across several gateways (`gateways:`) ----------------------

// The policies of a scenario's gateways, in the order of `gateways`.
using GatewayPolicies = std::vector<std::shared_ptr<const policy::CompiledPolicy>>;

// A gateway's own nodes: its `nodes`, or every node of its policy.
std::vector<std::string> gateway_participants(const ScenarioGateway& gateway, const policy::CompiledPolicy& policy);
// Every gateway's nodes, gateway by gateway.
std::vector<std::string> participants(const Scenario& scenario, const GatewayPolicies& policies);

// The part of the scenario one gateway plays: its nodes, and the injects,
// contingencies, responses, expectations, players and media seats of those
// nodes (locations kept), under its policy.
Scenario scenario_at(const Scenario& scenario, std::size_t gateway, const policy::CompiledPolicy& policy);

// Every gateway's part checked against its own policy (an addressee a peer
// speaks for is the peer's to resolve); every node that acts or is expected
// about must be some gateway's (X021); and the gateways must peer with one
// another (X024): each names only scenario gateways as peers, every peer it
// names names it back, and each names at least one. Does not throw.
Diagnostics check_against_gateways(const Scenario& scenario, const GatewayPolicies& policies);

}  // namespace icegate::exercise

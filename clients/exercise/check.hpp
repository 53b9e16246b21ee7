// A scenario checked against a policy, before anything runs: every node,
// addressee, category, purpose, event and label it names must be one the
// policy defines, and every node that acts or is expected about must take
// part. `icegate exercise check` and the runner both use it, so a scenario
// that checks clean is one that runs.
#pragma once

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

}  // namespace icegate::exercise

// The submissions the replay and shadow tests send through a real gateway
// under need-to-know (policies/need-to-know.yaml), and what a direct decide()
// under need-to-know and need-to-share says changes between the two: the
// oracle the replay report and the shadow's records are checked against.
#pragma once

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "gateway/policy/replay.hpp"
#include "tests/support/gateway_fixture.hpp"

namespace icegate::testing {

// Every node that sends or receives below, for RunningGateway's certificates.
inline const std::vector<std::string> replay_nodes{"ctu-analyst", "ctio-east", "council-prevent",
                                                   "council-critical-reader", "council-chief-exec", "special-branch"};
// The recipients the tests connect, to receive what they are sent.
inline const std::vector<std::string> replay_recipients{"ctio-east", "council-prevent", "council-critical-reader",
                                                        "special-branch"};

inline Addressee node_addressee(const std::string& id) { return {AddresseeKind::node, id}; }

// The two-level problem profile to the CTIO (released under both), the
// council Prevent coordinator (held for review under need to share) and the
// critical reader (released under need to share); a tension report from the
// chief executive straight to the CTIO (a route need to share closes); and
// intelligence within the CT network (the same under both).
inline std::vector<Message> replay_messages() {
  const Label secret{"SECRET", {"UK EYES ONLY"}}, restricted{"RESTRICTED", {}};
  return {
      make_message("ctu-analyst",
                   {node_addressee("ctio-east"), node_addressee("council-prevent"),
                    node_addressee("council-critical-reader")},
                   "ct-problem-profile", "prevent", {{secret, "source detail"}, {restricted, "partner version"}}),
      make_message("council-chief-exec", {node_addressee("ctio-east")}, "community-information", "pursue",
                   {{restricted, "tension in the high street"}}),
      make_message("ctu-analyst", {node_addressee("special-branch")}, "intelligence-report", "pursue",
                   {{secret, "subject of interest"}}),
  };
}

// (kind, sender, recipient, old state, new state) -> portions changed.
using ChangeCounts = std::map<std::tuple<policy::ChangeKind, std::string, std::string, policy::FlowState, policy::FlowState>,
                              std::size_t>;

// What deciding each message directly under `old_policy` and `new_policy`
// changes, recipient by recipient (each recipient named by a node addressee).
inline ChangeCounts direct_changes(const std::vector<Message>& messages, const policy::CompiledPolicy& old_policy,
                                   const policy::CompiledPolicy& new_policy) {
  ChangeCounts counts;
  for (const Message& message : messages) {
    std::vector<Label> labels;
    for (const auto& portion : message.portions) labels.push_back(portion.label);
    for (const Addressee& to : message.addressees) {
      // A few messages: well inside both policies' occasional allowance.
      const policy::DecisionRequest request{message.originator, to.name, message.category, message.purpose, labels,
                                            true};
      const auto before = policy::portion_states(old_policy.decide(request));
      const auto after = policy::portion_states(new_policy.decide(request));
      for (const auto& change : policy::compare_states(before, after))
        ++counts[{change.kind, message.originator, to.name, change.old_state, change.new_state}];
    }
  }
  return counts;
}

}  // namespace icegate::testing

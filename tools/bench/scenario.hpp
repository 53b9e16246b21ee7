// What a workload means for the icegate protocol (the gateway and the relay):
// which nodes send and receive, what each message is (its addressee and its
// portions), and the generated policy that makes those nodes and decisions.
//
// Nodes are named from one pool, "b00000", "b00001", ..., so that one set of
// certificates (cached in the work directory) serves every workload: W1 uses
// the first 64, W5 the first 10,000.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "gateway/model/message.hpp"
#include "tools/bench/workload.hpp"

namespace icegate::bench {

std::string pool_node_id(std::size_t index);  // "b00042"

struct PortionSpec {
  std::string classification;
  std::size_t body_bytes = 0;
};

struct Scenario {
  std::vector<std::string> senders;
  std::vector<std::string> receivers;
  // addressee_of_sender[i]: where sender i sends every message.
  std::vector<Addressee> addressee_of_sender;
  std::vector<PortionSpec> portions;  // bodies add up to Workload::message_bytes
  std::string category = "bench-traffic";
  std::string purpose = "benchmark";
  // Deliveries each accepted message should give (1, or the fan-out).
  std::size_t deliveries_per_message = 1;
  // Fan-out: how many of the recipients get the redacted version.
  std::size_t redacted_recipients = 0;
  // Reconnect and idle workloads: the nodes that connect.
  std::vector<std::string> connecting;
  // Every node the policy must name (and the PKI must hold), in pool order.
  std::size_t pool_size = 0;
};

Scenario make_scenario(const Workload& workload);

// The policy for a scenario, as YAML text with the scheme inline: senders in
// one organisation, receivers in another, one permit rule between them. For a
// fan-out the recipients are a list, half vetted SC (they get both portions,
// SECRET and RESTRICTED) and half BPSS (the SECRET portion is withheld:
// RELEASE_REDACTED), so the gateway decides and redacts per recipient.
std::string scenario_policy_yaml(const Scenario& scenario, const std::string& name);

}  // namespace icegate::bench

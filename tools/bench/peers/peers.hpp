// The peers `icegate-bench` measures icegate against: Mosquitto (MQTT, QoS 1,
// persistence, per-client ACL) and nats-server (core NATS, per-user
// permissions), each started as a child process on loopback from a generated
// configuration, with mutual TLS 1.3 and one certificate per client.
#pragma once

#include <memory>
#include <vector>

#include "tools/bench/workload.hpp"

namespace icegate::bench {

// One Target per peer broker ("mosquitto", "nats"), in that order. A target
// whose broker binary is not installed reports itself unavailable (skipped).
std::vector<std::unique_ptr<Target>> peer_targets();

}  // namespace icegate::bench

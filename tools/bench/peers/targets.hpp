// The two peer targets, and what they share: where their files go and how a
// failed run is reported. Private to tools/bench/peers (peers.hpp is the
// public face); the tests include it to drive one target directly.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "tools/bench/peers/plan.hpp"
#include "tools/bench/workload.hpp"

namespace icegate::bench::peers {

std::unique_ptr<Target> make_mosquitto_target();
std::unique_ptr<Target> make_nats_target();

// ENV.work_dir/peers-pki: one CA and client certificates for both peers, kept
// between runs so identities are issued once per work dir.
std::filesystem::path peer_pki_directory(const Environment& environment);
// ENV.work_dir/TARGET/WORKLOAD, emptied: configuration, log, persistence.
std::filesystem::path fresh_run_directory(const Environment& environment, const std::string& target,
                                          const std::string& workload_id);

// A Result for a run that could not complete: not ran, the reason in skipped.
Result failed_result(const std::string& target, const Workload& workload, const std::string& why);

// How long connecting and draining may take before the run gives up.
inline constexpr auto connect_timeout_floor = std::chrono::seconds(30);
inline constexpr auto drain_timeout = std::chrono::seconds(10);

}  // namespace icegate::bench::peers

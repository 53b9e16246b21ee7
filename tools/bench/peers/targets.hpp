// The two peer targets, and what they share: where their files go and how a
// failed run is reported. Private to tools/bench/peers (peers.hpp is the
// public face); the tests include it to drive one target directly.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "tools/bench/peers/meter.hpp"
#include "tools/bench/peers/plan.hpp"
#include "tools/bench/process.hpp"
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

// What every peer's Target::run does around its own work: a skipped Result
// when `target` cannot run `workload`, a failed one when `body` throws.
Result run_guarded(const Target& target, const Workload& workload, const std::function<Result()>& body);

void write_file(const std::filesystem::path& path, const std::string& text);

// Raises the open-file limit for the plan's clients (`per_client` descriptors
// each, plus a spare). Returns how many idle connections fit, saying in `note`
// when that is fewer than planned; throws when even the active clients do not.
std::size_t fit_idle_connections(const Plan& plan, std::size_t per_client, std::string& note);

// The measured interval: `wait(warmup)`, then the meter's interval around
// `wait(duration)`, with the server sampled at both ends.
template <class Wait>
std::pair<ProcessSample, ProcessSample> measure(Meter& meter, ChildProcess& server, const Workload& workload, Wait wait) {
  wait(workload.warmup);
  meter.begin_measuring();
  const auto start = server.sample();
  wait(workload.duration);
  meter.end_measuring();
  return {start, server.sample()};
}

// W5: the server's memory per open connection, from RSS before and after.
void set_bytes_per_connection(Result& result, const ProcessSample& before, const ProcessSample& after);

// Sending stopped and some deliveries did not arrive within drain_timeout.
void report_undrained(Meter& meter);

// The end of every run: errors become the Result's problem; ran; the notes.
void finish_result(Result& result, const Meter& meter, std::string note);

// How long connecting and draining may take before the run gives up.
inline constexpr auto connect_timeout_floor = std::chrono::seconds(30);
inline constexpr auto drain_timeout = std::chrono::seconds(10);

}  // namespace icegate::bench::peers

// What `icegate-bench` measures, and the interface every system under test
// (icegate, the raw relay, Mosquitto, nats-server) implements, so that each
// workload runs the same way against each of them in one run and the ratios
// are taken pair by pair.
//
// Every server runs as a child process started by its Target (the icegate
// binary itself for the gateway and the relay; mosquitto and nats-server from
// a generated configuration), so its CPU time and memory are read from
// /proc/PID for that process alone. The load (senders and receivers) runs in
// the bench process, on loopback, over mutual TLS 1.3.
//
// Latency: each payload carries the sender's steady_clock time; the receiver
// (same process) takes the difference on arrival. Throughput counts
// deliveries: a fan-out of one message to 200 recipients is 200.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gateway/pki/pki.hpp"

namespace icegate::bench {

enum class Shape {
  relay,        // W0/W1: senders each send to one receiver, round-robin
  fan_out,      // W2: one sender, every message to `recipients_per_message` receivers
  fan_in,       // W3: many senders, few receivers
  reconnect,    // W4: `connections` clients reconnect at once, full handshakes
  idle,         // W5: `connections` clients connect and sit idle
};

struct Workload {
  std::string id;        // "W1"
  std::string title;     // "point to point, many senders to many receivers"
  Shape shape = Shape::relay;
  std::size_t senders = 0;
  std::size_t receivers = 0;
  std::size_t recipients_per_message = 1;
  std::size_t message_bytes = 1024;
  std::size_t window = 16;             // messages in flight per sender (unacknowledged)
  std::size_t connections = 0;         // W4, W5
  std::chrono::milliseconds warmup{1000};
  std::chrono::milliseconds duration{5000};  // measured interval
};

struct Result {
  std::string target;    // "icegate", "relay", "mosquitto", "nats"
  std::string workload;  // "W1"
  bool ran = false;
  std::string skipped;   // why, when !ran (e.g. "mosquitto not installed")
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t errors = 0;
  double seconds = 0;             // the measured interval
  double messages_per_second = 0; // deliveries per second
  double p50_us = 0, p99_us = 0, p999_us = 0;
  double server_cpu_seconds = 0;  // user + system of the server process over the interval
  double server_cpu_percent = 0;  // of one core
  std::uint64_t server_rss_bytes = 0;       // at the end of the interval
  std::uint64_t server_peak_rss_bytes = 0;  // VmHWM
  // W4: handshakes completed per second, and per second of server CPU (per core).
  double handshakes_per_second = 0;
  double handshakes_per_cpu_second = 0;
  // W5: (RSS with the connections open - RSS before) / connections.
  double bytes_per_connection = 0;
  std::size_t connections = 0;  // W4/W5: how many were actually open
  std::string note;
  // Added for `icegate-bench` (source-compatible: new fields with defaults).
  double client_cpu_percent = 0;  // the bench process (the load) over the interval, of one core
  // Empty when the run did what it should: every message sent was
  // acknowledged and delivered (as many times as it had recipients), with no
  // errors. Otherwise what went wrong, in words; the bench then exits 1.
  std::string problem;
};

// Where a run keeps its certificates, configurations and logs.
struct Environment {
  std::filesystem::path work_dir;
  std::filesystem::path icegate_binary;  // for targets that start `icegate serve`
  std::filesystem::path bench_binary;    // icegate-bench, for the relay target (`bench-relay`)
  bool verbose = false;
  // Added for `icegate-bench`: io_context threads the load generator may use.
  std::size_t client_threads = 1;
  // The key of every certificate of the icegate and relay targets' PKI
  // (`--key-type`): the CA's, the server's and each node's. Each key type has
  // a PKI directory of its own under work_dir.
  pki::KeyType key_type = pki::KeyType::ecdsa_p256;
};

class Target {
 public:
  virtual ~Target() = default;
  virtual std::string name() const = 0;
  // Empty when the target can run `workload` here; else why not (shown as skipped).
  virtual std::string unavailable(const Workload& workload) const = 0;
  // Starts the server, runs the workload, stops the server.
  virtual Result run(const Workload& workload, const Environment& environment) = 0;
};

}  // namespace icegate::bench

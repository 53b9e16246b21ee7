// The load generator for the icegate protocol (the gateway and the relay
// speak the same frames): many mutual-TLS 1.3 node connections on a few
// io_context threads in the bench process, each connection a pair of C++20
// coroutines (a reader, and a writer draining what the connection has to
// say), not a NodeClient thread each.
//
// A connection belongs to one io_context (one thread) for its whole life, so
// its state needs no lock; what the coordinating thread reads while traffic
// runs is atomic, and the latency samples are collected once the connections
// are closed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/model/message.hpp"
#include "tools/bench/latency.hpp"
#include "tools/bench/scenario.hpp"

namespace icegate::bench {

struct LoadOptions {
  std::filesystem::path pki_dir;
  std::uint16_t port = 0;  // on 127.0.0.1
  std::size_t threads = 1;
  std::chrono::milliseconds connect_timeout{30'000};
};

struct ConnectReport {
  std::size_t attempted = 0;
  std::size_t connected = 0;  // got Welcome
  double seconds = 0;         // from the first attempt to the last completion
  std::string first_error;    // why one failed, if any did
  LatencySamples latencies;   // each successful connection: from its start to Welcome
};

struct TrafficReport {
  // In the measured interval.
  std::uint64_t sent = 0;       // Submits written
  std::uint64_t delivered = 0;  // Delivers received
  std::uint64_t errors = 0;     // Error frames, refused Submits, lost connections
  double seconds = 0;
  LatencySamples latencies;     // of the deliveries in the interval
  // Over the whole run (warm-up, interval and drain).
  std::uint64_t total_sent = 0;
  std::uint64_t total_accepted = 0;  // Ack ok=true from the server
  std::uint64_t total_refused = 0;   // Ack ok=false
  std::uint64_t total_delivered = 0;
  std::uint64_t total_redacted = 0;  // Delivers with DECISION_RELEASE_REDACTED
  std::uint64_t total_receipts = 0;
  std::uint64_t total_errors = 0;
  bool drained = false;  // every accepted message was delivered as expected before the drain timeout
  std::string first_error;
  double client_cpu_seconds = 0;  // the bench process, over the interval
};

// What the coordinating thread is told as the traffic goes through its phases,
// so that the caller can sample the server at the interval's edges.
enum class Phase { measuring, draining };

class LoadGenerator {
 public:
  explicit LoadGenerator(LoadOptions options);
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Loads the client TLS contexts for these nodes (once per node).
  void prepare(const std::vector<std::string>& nodes);

  // Connects each node (TCP, TLS handshake with its certificate, Hello,
  // Welcome), at most `concurrency` at a time; blocks until all are done.
  // The connections stay open (idle) until close_all().
  ConnectReport connect(const std::vector<std::string>& nodes, std::size_t concurrency);
  // Closes every open connection and waits until their coroutines are done.
  void close_all();
  std::size_t open_connections() const;

  // Connects the receivers and the senders, then runs: warm-up, the measured
  // interval (on_phase(measuring) at its start, on_phase(draining) at its
  // end), then the drain (senders stop; waits up to `drain_timeout` for every
  // accepted message to be delivered). Closes everything before returning.
  TrafficReport run_traffic(const Scenario& scenario, std::size_t window, std::chrono::milliseconds warmup,
                            std::chrono::milliseconds duration, std::chrono::milliseconds drain_timeout,
                            const std::function<void(Phase)>& on_phase);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace icegate::bench

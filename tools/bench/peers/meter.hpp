// What a peer workload counts, shared by the Mosquitto and NATS drivers:
// messages sent and delivered (in the measured interval and overall),
// per-sender deliveries still owed, latencies, and errors with their first
// few explanations. Safe to update from several threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tools/bench/latency.hpp"
#include "tools/bench/peers/plan.hpp"
#include "tools/bench/process.hpp"
#include "tools/bench/workload.hpp"

namespace icegate::bench::peers {

// Payload layout: [0, 8) the sender's steady_clock time in ns, [8, 12) the
// sender's index, [12, 16) a marker; the rest is filler up to message_bytes.
inline constexpr std::size_t payload_header_bytes = 16;

class Meter {
 public:
  Meter(const Plan& plan, std::size_t message_bytes);

  // A payload for `sender`, stamped with the time now.
  void stamp(std::vector<unsigned char>& payload, std::size_t sender) const;
  std::vector<unsigned char> blank_payload() const;
  std::size_t payload_bytes() const { return message_bytes_; }

  // A message from `sender` has been handed to the client library (after
  // try_reserve has added the deliveries it owes).
  void sent(std::size_t sender);
  // A message arrived; returns its sender, or nullopt (counted as an error) if
  // the payload is not one of ours.
  std::optional<std::size_t> delivered(const void* data, std::size_t size);
  void error(const std::string& what);

  // Deliveries owed: try_reserve adds a message's deliveries before it is
  // published, delivered() takes one off. With `limit` it is the
  // window-by-receipts flow control; without, only the account of losses.
  // Reserve `deliveries` of `sender`'s
  // allowance of `limit` owed deliveries; false (nothing reserved) when full.
  bool try_reserve(std::size_t sender, std::int64_t deliveries, std::int64_t limit);
  // Give back a reservation that was not used (the publish failed).
  void release(std::size_t sender, std::int64_t deliveries);
  std::int64_t owed(std::size_t sender) const;
  std::int64_t owed_total() const;

  void begin_measuring();
  void end_measuring();

  std::uint64_t errors() const { return errors_.load(); }
  std::uint64_t delivered_total() const { return delivered_total_.load(); }
  std::uint64_t sent_total() const { return sent_total_.load(); }

  // Fills the counting part of `result` (sent, delivered, errors, rates, latency,
  // server CPU and RSS) from the measured interval.
  void fill(Result& result, const ProcessSample& server_before, const ProcessSample& server_after) const;
  // The first few error messages, "; "-separated.
  std::string error_summary() const;

 private:
  const Plan& plan_;
  std::size_t message_bytes_;
  std::unique_ptr<std::atomic<std::int64_t>[]> owed_;
  std::atomic<bool> measuring_{false};
  std::atomic<std::uint64_t> sent_total_{0}, delivered_total_{0}, errors_{0};
  std::atomic<std::uint64_t> sent_measured_{0}, delivered_measured_{0};
  std::chrono::steady_clock::time_point measure_begin_{}, measure_end_{};
  LatencyHistogram latency_;
  mutable std::mutex error_mutex_;  // guards error_texts_
  std::vector<std::string> error_texts_;
};

}  // namespace icegate::bench::peers

#include "tools/bench/peers/meter.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace icegate::bench::peers {
namespace {

constexpr std::uint32_t payload_marker = 0x1CE6A7E5;
constexpr std::size_t error_texts_kept = 5;

// steady_clock now, in nanoseconds since its epoch (what payloads carry).
std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Meter::Meter(const Plan& plan, std::size_t message_bytes)
    : plan_(plan),
      message_bytes_(std::max(message_bytes, payload_header_bytes)),
      owed_(std::make_unique<std::atomic<std::int64_t>[]>(std::max<std::size_t>(plan.senders.size(), 1))) {}

std::vector<unsigned char> Meter::blank_payload() const {
  std::vector<unsigned char> payload(message_bytes_);
  for (std::size_t i = payload_header_bytes; i < payload.size(); ++i) payload[i] = static_cast<unsigned char>('a' + i % 26);
  return payload;
}

void Meter::stamp(std::vector<unsigned char>& payload, std::size_t sender) const {
  const std::int64_t now = steady_now_ns();
  const auto index = static_cast<std::uint32_t>(sender);
  std::memcpy(payload.data(), &now, sizeof now);
  std::memcpy(payload.data() + 8, &index, sizeof index);
  std::memcpy(payload.data() + 12, &payload_marker, sizeof payload_marker);
}

void Meter::sent(std::size_t) {
  sent_total_.fetch_add(1, std::memory_order_relaxed);
  if (measuring_.load(std::memory_order_relaxed)) sent_measured_.fetch_add(1, std::memory_order_relaxed);
}

std::optional<std::size_t> Meter::delivered(const void* data, std::size_t size) {
  const std::int64_t now = steady_now_ns();
  std::int64_t stamped = 0;
  std::uint32_t index = 0, marker = 0;
  if (size >= payload_header_bytes) {
    std::memcpy(&stamped, data, sizeof stamped);
    std::memcpy(&index, static_cast<const unsigned char*>(data) + 8, sizeof index);
    std::memcpy(&marker, static_cast<const unsigned char*>(data) + 12, sizeof marker);
  }
  if (size != message_bytes_ || marker != payload_marker || index >= plan_.senders.size()) {
    error("a delivery of " + std::to_string(size) + " bytes that no sender of this run sent");
    return std::nullopt;
  }
  owed_[index].fetch_sub(1, std::memory_order_relaxed);
  delivered_total_.fetch_add(1, std::memory_order_relaxed);
  if (measuring_.load(std::memory_order_relaxed)) {
    delivered_measured_.fetch_add(1, std::memory_order_relaxed);
    latency_.record(now - stamped);
  }
  return index;
}

void Meter::error(const std::string& what) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(error_mutex_);
  if (error_texts_.size() < error_texts_kept) error_texts_.push_back(what);
}

bool Meter::try_reserve(std::size_t sender, std::int64_t deliveries, std::int64_t limit) {
  auto& owed = owed_[sender];
  auto current = owed.load(std::memory_order_relaxed);
  do {
    if (current + deliveries > limit) return false;
  } while (!owed.compare_exchange_weak(current, current + deliveries, std::memory_order_relaxed));
  return true;
}

void Meter::release(std::size_t sender, std::int64_t deliveries) {
  owed_[sender].fetch_sub(deliveries, std::memory_order_relaxed);
}

std::int64_t Meter::owed(std::size_t sender) const { return owed_[sender].load(std::memory_order_relaxed); }

std::int64_t Meter::owed_total() const {
  std::int64_t total = 0;
  for (std::size_t s = 0; s < plan_.senders.size(); ++s) total += owed(s);
  return total;
}

void Meter::begin_measuring() {
  sent_measured_ = 0;
  delivered_measured_ = 0;
  latency_.reset();
  measure_begin_ = std::chrono::steady_clock::now();
  measuring_ = true;
}

void Meter::end_measuring() {
  measuring_ = false;
  measure_end_ = std::chrono::steady_clock::now();
}

void Meter::fill(Result& result, const ProcessSample& server_before, const ProcessSample& server_after) const {
  result.sent = sent_measured_.load();
  result.delivered = delivered_measured_.load();
  result.errors = errors_.load();
  result.seconds = std::chrono::duration<double>(measure_end_ - measure_begin_).count();
  if (result.seconds > 0) result.messages_per_second = static_cast<double>(result.delivered) / result.seconds;
  result.p50_us = latency_.quantile_ns(0.50) / 1000;
  result.p99_us = latency_.quantile_ns(0.99) / 1000;
  result.p999_us = latency_.quantile_ns(0.999) / 1000;
  result.server_cpu_seconds = server_after.cpu_seconds - server_before.cpu_seconds;
  if (result.seconds > 0) result.server_cpu_percent = 100 * result.server_cpu_seconds / result.seconds;
  result.server_rss_bytes = server_after.rss_bytes;
  result.server_peak_rss_bytes = server_after.peak_rss_bytes;
}

std::string Meter::error_summary() const {
  std::lock_guard lock(error_mutex_);
  std::string text;
  for (const auto& what : error_texts_) text += (text.empty() ? "" : "; ") + what;
  return text;
}

}  // namespace icegate::bench::peers

// Latency samples: every delivery's one-way time, kept as it was measured
// (nanoseconds), so that percentiles are exact rather than bucketed. A run of
// a few seconds holds at most a few million samples (8 bytes each).
// LatencyHistogram is the bucketed kind, for latencies recorded from several
// threads at once (the peers' delivery threads).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace icegate::bench {

class LatencySamples {
 public:
  void add(std::int64_t nanoseconds) { samples_.push_back(nanoseconds < 0 ? 0 : nanoseconds); }
  void merge(const LatencySamples& other) {
    samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
  }
  std::size_t size() const { return samples_.size(); }
  void clear() { samples_.clear(); }
  void reserve(std::size_t count) { samples_.reserve(count); }
  // Every sample, in no particular order (e.g. to pass them to another process).
  const std::vector<std::int64_t>& values() const { return samples_; }

  // The sample at quantile q (0..1) in microseconds, nearest-rank; 0 when empty.
  // Reorders the samples (nth_element).
  double quantile_us(double q) {
    if (samples_.empty()) return 0;
    if (q < 0) q = 0;
    if (q > 1) q = 1;
    // Nearest rank: the smallest sample with at least q of all at or below it.
    auto rank = static_cast<std::size_t>(q * static_cast<double>(samples_.size()) + 0.999999);
    if (rank == 0) rank = 1;
    if (rank > samples_.size()) rank = samples_.size();
    auto nth = samples_.begin() + static_cast<std::ptrdiff_t>(rank - 1);
    std::nth_element(samples_.begin(), nth, samples_.end());
    return static_cast<double>(*nth) / 1000.0;
  }

 private:
  std::vector<std::int64_t> samples_;
};

// Latencies in nanoseconds, log-linear buckets (32 per power of two, so a
// reported percentile is within about 3% of the true value). Recording is
// lock-free and safe from several threads.
class LatencyHistogram {
 public:
  void record(std::int64_t nanoseconds) {
    const auto value = static_cast<std::uint64_t>(std::max<std::int64_t>(nanoseconds, 0));
    buckets_[std::min(bucket_of(value), bucket_count - 1)].fetch_add(1, std::memory_order_relaxed);
  }
  void reset() {
    for (auto& bucket : buckets_) bucket.store(0, std::memory_order_relaxed);
  }
  std::uint64_t count() const {
    std::uint64_t total = 0;
    for (const auto& bucket : buckets_) total += bucket.load(std::memory_order_relaxed);
    return total;
  }
  // The value at quantile q (0 < q <= 1), in nanoseconds; 0 when empty.
  double quantile_ns(double q) const {
    const auto total = count();
    if (total == 0) return 0;
    const auto rank =
        static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (std::size_t bucket = 0; bucket < bucket_count; ++bucket) {
      seen += buckets_[bucket].load(std::memory_order_relaxed);
      if (seen >= std::max<std::uint64_t>(rank, 1)) {
        // The middle of the bucket: within half a bucket (about 1.6%) of any value in it.
        return (static_cast<double>(bucket_low(bucket)) + static_cast<double>(bucket_high(bucket))) / 2;
      }
    }
    return static_cast<double>(bucket_high(bucket_count - 1));
  }

  static std::size_t bucket_of(std::uint64_t value) {
    if (value < 64) return static_cast<std::size_t>(value);
    const int most_significant = 63 - std::countl_zero(value);
    const int shift = most_significant - 5;  // keep the top 6 bits: 32 sub-buckets
    const auto top = value >> shift;         // in [32, 64)
    return 64 + static_cast<std::size_t>(shift - 1) * 32 + static_cast<std::size_t>(top - 32);
  }
  static std::uint64_t bucket_low(std::size_t bucket) {
    if (bucket < 64) return bucket;
    const auto shift = (bucket - 64) / 32 + 1;
    const auto top = (bucket - 64) % 32 + 32;
    return static_cast<std::uint64_t>(top) << shift;
  }
  static std::uint64_t bucket_high(std::size_t bucket) {  // inclusive
    if (bucket < 64) return bucket;
    const auto shift = (bucket - 64) / 32 + 1;
    return bucket_low(bucket) + ((std::uint64_t{1} << shift) - 1);
  }
  static constexpr std::size_t bucket_count = 64 + 58 * 32;

 private:
  std::array<std::atomic<std::uint64_t>, bucket_count> buckets_{};
};

}  // namespace icegate::bench

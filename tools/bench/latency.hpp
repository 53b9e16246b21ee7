// Latency samples: every delivery's one-way time, kept as it was measured
// (nanoseconds), so that percentiles are exact rather than bucketed. A run of
// a few seconds holds at most a few million samples (8 bytes each).
#pragma once

#include <algorithm>
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

}  // namespace icegate::bench

// Exponential backoff with jitter, for whatever reconnects by itself: a node
// client to its gateway, a gateway to its peers. Each wait is drawn between
// half and all of the current step, so that many parties that lost the same
// server do not all come back in the same millisecond; the step doubles after
// each failure up to `max`, and reset() (after a success) starts again at `min`.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>

namespace icegate::transport {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
      : min_(std::max(min, std::chrono::milliseconds(1))), max_(std::max(max, min_)), step_(min_) {}

  // The wait before the next attempt; the step after it is doubled.
  std::chrono::milliseconds next() {
    thread_local std::mt19937 jitter{std::random_device{}()};
    const auto wait = step_ / 2 + std::chrono::milliseconds(std::uniform_int_distribution<long>(
                                      0, std::max<long>(1, static_cast<long>(step_.count() / 2)))(jitter));
    step_ = std::min(step_ * 2, max_);
    return wait;
  }
  void reset() { step_ = min_; }

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds step_;
};

}  // namespace icegate::transport

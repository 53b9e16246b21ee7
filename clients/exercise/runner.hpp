// Runs a scenario: the real gateway (in this process, on its own thread) and
// every participating node as a real TLS client on loopback, against a
// simulated clock (a 48-hour scenario in seconds) or in real time with pause,
// resume and step for a facilitator.
#pragma once

#include <atomic>
#include <filesystem>
#include <ostream>
#include <stdexcept>
#include <string>

#include "clients/exercise/results.hpp"
#include "clients/exercise/scenario.hpp"

namespace icegate::exercise {

// A facilitator's controls for a real-time run; thread-safe.
class Control {
 public:
  void pause() { paused_ = true; }
  void resume() { paused_ = false; }
  void step() { steps_ += 1; }  // while paused: run to the next scheduled item and stop again
  void stop() { stopped_ = true; }
  bool paused() const { return paused_; }
  bool stopped() const { return stopped_; }
  bool take_step() {
    int steps = steps_.load();
    while (steps > 0 && !steps_.compare_exchange_weak(steps, steps - 1)) {
    }
    return steps > 0;
  }

 private:
  std::atomic<bool> paused_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int> steps_{0};
};

struct RunOptions {
  std::filesystem::path policy;  // empty: the scenario's own
  bool real_time = false;        // else a simulated clock that jumps from event to event
  double speed = 60.0;           // real time: scenario seconds per real second
  Control* control = nullptr;    // real time: pause, resume, step
  std::ostream* progress = nullptr;
  std::filesystem::path work_dir;  // PKI and data; a temporary directory when empty
};

class RunError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws RunError when the scenario names nodes, events or categories the
// policy does not have (every problem listed), or the policy is invalid.
RunResult run_exercise(const Scenario& scenario, const RunOptions& options);

}  // namespace icegate::exercise

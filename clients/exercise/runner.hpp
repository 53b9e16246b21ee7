// Runs a scenario: the real gateway (in this process, on its own thread) and
// every participating node as a real TLS client on loopback (the nodes share a
// few io threads, and are spread over worker processes when there are more
// than one process should hold: runner_nodes.hpp), against a
// simulated clock (a 48-hour scenario in seconds) or in real time with pause,
// resume and step for a facilitator.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "clients/exercise/results.hpp"
#include "clients/exercise/scenario.hpp"

namespace boost::asio {
class io_context;
}

namespace icegate::server {
class Gateway;
}

namespace icegate::policy {
class CompiledPolicy;
}

namespace icegate::exercise {

class Table;

// A facilitator's controls for a real-time run; thread-safe. A thread may
// wait for the next change (wait_for_change) or for stop(), rather than
// look again every few milliseconds. The runner also wakes that wait
// (wake()) when people at the table ask for something or a node receives a
// frame, so a paused run acts on them at once. Not for a signal handler (the
// changes take a mutex): watch signals with boost::asio::signal_set.
class Control {
 public:
  void pause() { change([this] { paused_ = true; }); }
  void resume() { change([this] { paused_ = false; }); }
  void step() { change([this] { steps_ += 1; }); }  // while paused: run to the next scheduled item and stop again
  void stop() { change([this] { stopped_ = true; }); }
  // Real time: scenario seconds per real second, from now on (0: keep RunOptions::speed).
  void set_speed(double speed) { change([this, speed] { speed_ = speed; }); }
  double speed() const { return speed_; }
  bool paused() const { return paused_; }
  bool stopped() const { return stopped_; }
  bool take_step() {
    int steps = steps_.load();
    while (steps > 0 && !steps_.compare_exchange_weak(steps, steps - 1)) {
    }
    return steps > 0;
  }
  // Something besides a control that the waiter should act on (a command
  // queued at the table, a frame a node received): ends wait_for_change as a
  // control does, and changes no control.
  void wake() { change([] {}); }
  // Waits until any control is used or wake() is called (or was, since
  // `seen`, a version()), or `timeout` passes. True if one was.
  template <typename Duration>
  bool wait_for_change(std::uint64_t seen, Duration timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return version_ != seen; });
  }
  // Counts the changes and wake-ups: what wait_for_change() compares with.
  std::uint64_t version() const {
    std::lock_guard lock(mutex_);
    return version_;
  }
  // Waits until stop() is called.
  void wait_stopped() const {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stopped_.load(); });
  }

 private:
  template <typename F>
  void change(F f) {
    {
      std::lock_guard lock(mutex_);
      f();
      ++version_;
    }
    changed_.notify_all();
  }

  std::atomic<bool> paused_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int> steps_{0};
  std::atomic<double> speed_{0};
  mutable std::mutex mutex_;  // guards version_; taken by every change, so a waiter misses none
  mutable std::condition_variable changed_;
  std::uint64_t version_ = 0;
};

// Where a run stands, for a watcher such as the dashboard.
struct RunStatus {
  std::string scenario;
  std::string state;  // "running", "paused", "finished"
  std::int64_t clock_unix_ms = 0;
  std::optional<std::int64_t> next_unix_ms;  // the next item on the agenda
  std::string item;                          // the item just run ("inject i3"), if any
  std::string item_id;                       // its id ("i3")
  double speed = 0;                          // scenario seconds per real second (0: simulated clock)
};

// Lets a watcher share the run's gateway. Every hook runs on the gateway's
// io_context thread (or before that thread starts), so it may use the gateway.
struct RunHooks {
  // The gateway is listening; no node has connected yet.
  std::function<void(server::Gateway&)> gateway_started;
  // The run moved on: `notable` for a state change or an item run; otherwise a
  // clock tick (about once a second of real time).
  std::function<void(const RunStatus&, bool notable)> progress;
  // The gateway is about to stop: let go of it.
  std::function<void(server::Gateway&)> gateway_stopping;
  // Across several gateways: false, the hooks see the first only (a table's
  // mounted dashboard); true, each of them, in the scenario's order (`exercise
  // run --http`: a dashboard per gateway).
  bool every_gateway = false;
};

struct RunOptions {
  std::filesystem::path policy;  // empty: the scenario's own
  // A scenario with several gateways: `policy` replaces this gateway's
  // (required with `policy` there; an error for a scenario with one gateway).
  std::string gateway;
  bool real_time = false;        // else a simulated clock that jumps from event to event
  double speed = 60.0;           // real time: scenario seconds per real second
  Control* control = nullptr;    // real time: pause, resume, step
  std::ostream* progress = nullptr;
  std::filesystem::path work_dir;  // PKI and data; a temporary directory when empty
  RunHooks hooks;
  // After the last item, keep the gateway and the nodes up (state "finished")
  // until control->stop(), so a dashboard can still be read and used.
  bool keep_open = false;
  // People play: the runner puts what the table's played nodes receive into
  // it, carries out the commands people (and the facilitator) queue in it,
  // and runs no scripted response for a played node. Needs real_time (else
  // RunError), and every played node must take part. Commands are carried out
  // while paused too (the clock stands still; people need not). The table's
  // status is set when it changes and, for the clock, about once a second; the
  // expectations board when an expectation's state or evidence changes. Once
  // the run is stopped, the result takes the table's observations, ratings
  // and improvement plan (evaluators may write while a finished run is kept open).
  Table* table = nullptr;
  // Run the gateway on this io_context (which the caller runs on a thread of
  // its own) instead of one of the runner's: the exercise host puts the
  // gateways of both tables and its web server on one loop, so that the
  // dashboards and the pages share it without locks. The gateway is made on
  // that loop's thread; when the run ends (or fails) only its own gateway and
  // nodes stop, and the loop goes on. Two runs may share one loop.
  boost::asio::io_context* io = nullptr;
  // At most this many nodes in the runner's process; a scenario with more has
  // them spread over worker processes of at most this many each. 0: as many as
  // the descriptor limit allows (scenarios/README.md, "Thousands of nodes").
  std::size_t nodes_per_process = 0;
  // What a worker process runs, as `PROGRAM exercise node-worker`; empty: this
  // process's own executable (the `icegate` binary).
  std::filesystem::path worker_program;
};

class RunError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The policy does not load: its diagnostics, one a line.
class InvalidPolicyError : public RunError {
 public:
  using RunError::RunError;
};

// One gateway of a scenario with several (`gateways:`), as a run plays it.
struct GatewayPart {
  std::string id;
  std::string address;
  std::filesystem::path policy_file;
  std::shared_ptr<const policy::CompiledPolicy> policy;
  std::vector<std::string> nodes;  // its own
};

// The gateways of a scenario with several, in its order, each with its policy
// loaded: `policy` (if given) in place of the one of the gateway `gateway`
// names, as RunOptions::policy and RunOptions::gateway say. RunError when
// `policy` is given without `gateway`, or `gateway` is not one of the
// scenario's; InvalidPolicyError when a policy is invalid. run_exercise and
// the exercise host both start from it.
std::vector<GatewayPart> gateway_parts(const Scenario& scenario, const std::filesystem::path& policy,
                                       const std::string& gateway);

// Throws InvalidPolicyError when the policy is invalid, and RunError when the
// scenario names nodes, events or categories the policy does not have, or has
// an inject after its end (every problem listed). A scenario with several
// gateways (`gateways:`) starts each, with its own PKI, policy, data and
// loopback address, waits until they have all peered (RunError naming a link
// that did not come up), and connects each node to its own gateway; the hooks
// see the first gateway.
RunResult run_exercise(const Scenario& scenario, const RunOptions& options);

}  // namespace icegate::exercise

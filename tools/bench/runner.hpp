// `icegate-bench` as a library: which workloads and targets to run, running
// them one after another (one server at a time, so runs do not share the
// machine with each other), and the report: a table, the ratios taken pair
// by pair within the run, each issue-8 target marked met or missed, and JSON.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tools/bench/icegate_targets.hpp"
#include "tools/bench/micro.hpp"
#include "tools/bench/workload.hpp"

namespace icegate::bench {

inline const std::vector<std::string> all_workload_ids = {"W0", "W1", "W2", "W3", "W4", "W5"};
inline const std::vector<std::string> all_target_names = {"relay", "icegate", "mosquitto", "nats"};

// Sizes that the command line may change; unset means the default (or the
// smoke size with --smoke).
struct WorkloadOverrides {
  std::optional<std::size_t> senders, receivers, window;      // W0, W1
  std::optional<std::size_t> fan_out_recipients;              // W2
  std::optional<std::size_t> fan_in_senders, fan_in_receivers;  // W3
  std::optional<std::size_t> storm_connections;               // W4
  std::optional<std::size_t> idle_connections;                // W5
  std::optional<std::size_t> message_bytes;
  std::optional<std::chrono::milliseconds> warmup, duration;
};

// W0..W5 sized for a 2-core machine (or tiny, under a second each, for `smoke`).
std::vector<Workload> default_workloads(bool smoke, const WorkloadOverrides& overrides = {});

struct BenchOptions {
  std::vector<std::string> workloads = all_workload_ids;
  std::vector<std::string> targets = all_target_names;
  bool smoke = false;
  WorkloadOverrides overrides;
  bool micro = true;  // also time a decision at 1,000 rules and the durable audit append
  Environment environment;
  IcegateTargetOptions icegate;
  RelayTargetOptions relay;
  std::filesystem::path json_file;  // empty: no JSON
  std::string command_line;         // recorded in the JSON, for reproduction
};

struct MicroResults {
  bool ran = false;
  DecisionTiming decision;
  AuditTiming audit;
  std::string problem;
};

struct TargetCheck {
  std::string issue;     // the issue that set it ("15", "8")
  std::string target;    // the issue's words
  std::string measured;  // what this run measured, or why it could not
  enum class Status { met, missed, not_measured } status = Status::not_measured;
};

struct Ratio {
  std::string name;  // "W1 icegate / W0 relay, messages/s"
  double value = 0;
};

struct BenchReport {
  std::vector<Workload> workloads;
  std::vector<Result> results;
  MicroResults micro;
  std::vector<Ratio> ratios;
  std::vector<TargetCheck> checks;
  std::string machine;  // one line: CPU, cores, memory, kernel
  std::string date;     // UTC
  std::string load_average;
  // The certificates' keys (--key-type), as the table's header says them.
  std::string certificates;
};

// The targets to run, by name; throws std::invalid_argument for an unknown one.
std::vector<std::unique_ptr<Target>> make_targets(const BenchOptions& options);

// Runs everything; progress to `progress`. Throws only for bad options.
BenchReport run_bench(const BenchOptions& options, std::ostream& progress);

// Fills ratios and checks from results and micro.
void evaluate(BenchReport& report);

// The server's CPU per message (W2: per delivery) in microseconds, from its
// CPU share and throughput over the same interval; 0 when it moved nothing.
double cpu_us_per_message(const Result& result);

void print_table(const BenchReport& report, std::ostream& out);
std::string to_json(const BenchReport& report, const BenchOptions& options);

// True when every run that ran did what it should (no Result::problem, no
// failed run and no micro problem). Missed targets do not count: timings are
// reported, never asserted.
bool all_runs_sound(const BenchReport& report);

}  // namespace icegate::bench

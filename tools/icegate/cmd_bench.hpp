// `icegate bench`: the gateway's end-to-end benchmarks (issue 8), W0..W5 over
// mutual TLS 1.3 on loopback against the targets relay, icegate, mosquitto
// and nats, each server a child process of the bench.
//   bench [--workloads W0,W1,...] [--targets icegate,relay,mosquitto,nats]
//         [--duration S] [--warmup S] [--smoke] [--json FILE] [--work-dir DIR]
//         [--client-threads N] [sizes: --senders --receivers --window
//          --fan-out-recipients --fan-in-senders --fan-in-receivers
//          --storm-connections --idle-connections --message-bytes]
//         [--no-micro] [--gateway-log-level L] [--no-fsync] [--relay-keep-buffers]
// Prints a table (msgs/s, p50/p99/p999 latency, server CPU and RSS, the load's
// CPU), the ratios taken pair by pair in the run, and each issue-8 target as
// met or missed. Exit codes: 0 when every run did what it should (all sent
// messages delivered, no errors), whether or not targets were met; 1 on bad
// arguments or a run that failed or lost messages.
//
// `icegate bench-relay --pki DIR [--listen HOST:PORT] [--port-file F]` is the
// W0 relay the bench starts as a child (hidden from --help).
#pragma once

#include <ostream>

#include "tools/bench/relay.hpp"
#include "tools/bench/runner.hpp"

namespace icegate::cli {

int run_bench(const bench::BenchOptions& options, std::ostream& out, std::ostream& err);

}  // namespace icegate::cli

// `icegate-bench`: the gateway's end-to-end benchmarks (issue 8), W0..W5 over
// mutual TLS 1.3 on loopback against the targets relay, icegate, mosquitto
// and nats, each server a child process of the bench. An executable of its
// own, not an `icegate` subcommand, so that the production `icegate` does not
// link the broker client libraries (libmosquitto, libnats) it never uses.
//   icegate-bench [--workloads W0,W1,...] [--targets icegate,relay,mosquitto,nats]
//         [--duration S] [--warmup S] [--smoke] [--json FILE] [--work-dir DIR]
//         [--client-threads N] [sizes: --senders --receivers --window
//          --fan-out-recipients --fan-in-senders --fan-in-receivers
//          --storm-connections --idle-connections --message-bytes]
//         [--no-micro] [--gateway-log-level L] [--no-fsync] [--relay-keep-buffers]
//         [--icegate PATH]
// The icegate target runs `icegate serve` from --icegate, by default the
// `icegate` next to icegate-bench (as in the build tree and an install), else
// the one on PATH.
// Prints a table (msgs/s, p50/p99/p999 latency, server CPU and RSS, the load's
// CPU), the ratios taken pair by pair in the run, and each issue-8 target as
// met or missed. Exit codes: 0 when every run did what it should (all sent
// messages delivered, no errors), whether or not targets were met; 1 on bad
// arguments or a run that failed or lost messages.
//
// `icegate-bench bench-relay --pki DIR [--listen HOST:PORT] [--port-file F]`
// is the W0 relay the bench starts as a child of its own executable (hidden
// from --help).
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <ostream>

#include "tools/bench/relay.hpp"
#include "tools/bench/runner.hpp"

namespace icegate::cli {

int run_bench(const bench::BenchOptions& options, std::ostream& out, std::ostream& err);

// The `icegate` to start gateways from when --icegate is not given: the one
// in `own_directory`, else the first on `path` (a PATH-style list); empty
// when there is none.
std::filesystem::path find_icegate(const std::filesystem::path& own_directory, const std::string& path);

// Declares the bench's options on `app` (icegate-bench's root) and the hidden
// `bench-relay` subcommand; the bench runs from `app`'s callback unless
// bench-relay was given.
void add_bench_options(CLI::App& app, int& exit_code);

}  // namespace icegate::cli

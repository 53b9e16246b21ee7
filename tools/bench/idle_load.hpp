// W5's idle connections, held by load processes rather than by the bench
// itself, so that a run is not capped by one process's open-file limit
// (20,000 descriptors on the bench machine, where the gateway alone must
// hold 19,000 connections and its own few).
//
// The bench (IdleLoad) writes each load process's share of the nodes to a
// file and starts `icegate-bench bench-idle-load` (hidden) for it; the load
// process connects every node of its share (TCP, TLS handshake with the
// node's certificate, Hello, Welcome) with the same load generator as every
// other workload, writes what it managed (by rename) to its report file, and
// then holds the connections idle until SIGTERM. The load processes start one
// after another, so that no more connections are attempted at once than with
// one process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "tools/bench/load.hpp"
#include "tools/bench/process.hpp"
#include "tools/bench/workload.hpp"

namespace icegate::bench {

struct IdleLoadParams {
  std::filesystem::path pki;
  std::uint16_t port = 0;                // on 127.0.0.1
  std::filesystem::path nodes_file;      // one node id per line
  std::filesystem::path report_file;     // written (by rename) once every node has been tried
  std::size_t concurrency = 256;         // connections attempted at once
};

// `icegate-bench bench-idle-load`: connects, reports, then holds the
// connections until SIGTERM or SIGINT. Returns 0 after a clean stop, 1 when
// it cannot run (the reason written to `err`).
int run_idle_load(const IdleLoadParams& params, std::ostream& err);

// How many connections one load process holds at most, with `open_files`
// descriptors allowed: 10,000, or fewer when the limit is lower (a few
// hundred are left for the process's own files).
std::size_t connections_per_load_process(std::uint64_t open_files);

// The bench's side: the load processes for one W5 run.
class IdleLoad {
 public:
  // Starts the load processes (`environment.bench_binary bench-idle-load`),
  // at most `per_process` nodes each, one after another; returns once each
  // has reported. Their files and logs go in `dir`.
  IdleLoad(const Environment& environment, const std::filesystem::path& pki, std::uint16_t port,
           const std::vector<std::string>& nodes, std::size_t per_process, std::size_t concurrency,
           const std::filesystem::path& dir);
  ~IdleLoad();
  IdleLoad(const IdleLoad&) = delete;
  IdleLoad& operator=(const IdleLoad&) = delete;

  // What every load process reported, merged (seconds: the sum of theirs).
  const ConnectReport& report() const { return report_; }
  std::size_t processes() const { return processes_; }  // started, whether or not closed since
  // User + system CPU of the load processes so far.
  double cpu_seconds();
  // Stops the load processes (SIGTERM: each closes its connections and exits).
  void close();

 private:
  std::vector<ChildProcess> children_;
  std::size_t processes_ = 0;
  ConnectReport report_;
};

}  // namespace icegate::bench

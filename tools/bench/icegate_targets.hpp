// The two targets that speak icegate's own protocol, each started as a child
// process so that both are measured the same way:
//   icegate  `icegate serve` (Environment::icegate_binary) with a policy
//            generated for the workload, durable audit (an fdatasync per group),
//            as deployed;
//   relay    `icegate-bench bench-relay` (Environment::bench_binary): the
//            same transport with no policy, store or audit (W0, the ceiling).
#pragma once

#include <memory>
#include <string>

#include "tools/bench/workload.hpp"

namespace icegate::bench {

struct IcegateTargetOptions {
  // The gateway's --log-level. `warn` by default: at `info` the gateway logs
  // a line per submit and per recipient decision, which the audit trail
  // already records (see docs/PERFORMANCE.md for what that costs).
  std::string log_level = "warn";
  bool no_fsync = false;  // --no-fsync: no fdatasync per group commit (for comparison only)
  std::size_t threads = 0;  // the gateway's --threads (0: its default, one per core)
};

struct RelayTargetOptions {
  bool keep_buffers = false;  // see RelayParams::keep_buffers
};

std::unique_ptr<Target> make_icegate_target(IcegateTargetOptions options = {});
std::unique_ptr<Target> make_relay_target(RelayTargetOptions options = {});

}  // namespace icegate::bench

// `icegate policy replay`: every submission a gateway's audit trail records,
// decided again under another policy, and what would change. A thin wrapper
// over gateway/policy/replay.hpp and replay_trail.hpp.
//
//   policy replay --data DIR --policy NEW [--json] [--limit N]
//       flows opened and closed, holds added and removed, per node pair, with
//       counts and one example each; submissions it cannot decide again (a
//       trail older than replay) and ones NEW would refuse outright, listed.
//       exit 0 no change; 2 changes found; 3 NEW is invalid; 1 error (no
//       trail in DIR, a trail that does not verify, no submission decidable)
#pragma once

#include <cstddef>
#include <filesystem>
#include <ostream>

#include <CLI/CLI.hpp>

namespace icegate::cli {

struct PolicyReplayParams {
  std::filesystem::path data;    // the gateway's data directory (icegate.db)
  std::filesystem::path policy;  // the policy to decide again under
  bool json = false;
  std::size_t limit = 0;  // groups shown per kind; 0 = all
};

int run_policy_replay(const PolicyReplayParams& params, std::ostream& out, std::ostream& err);

// Adds `replay` under `policy`.
void add_policy_replay_command(CLI::App& policy, int& exit_code);

}  // namespace icegate::cli

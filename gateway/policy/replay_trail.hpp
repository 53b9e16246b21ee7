// Reading a gateway's audit trail back as submissions to replay: each
// accepted submission's submit record and the first decision record for each
// of its recipients (the decision at submission, before any review, embargo
// or expiry changed it). Needs the audit library: a target of its own
// (icegate_replay), so that the policy library stays free of SQLite.
#pragma once

#include <filesystem>
#include <vector>

#include "gateway/policy/replay.hpp"

namespace icegate::policy {

// Throws std::runtime_error when DIR/icegate.db cannot be opened or holds no
// audit trail. A submission that cannot be decided again comes back with its
// `undecidable` reason set, never silently dropped.
std::vector<RecordedSubmission> read_recorded_submissions(const std::filesystem::path& data_dir);

}  // namespace icegate::policy

// The two issue-8 targets that are not about connections, measured in
// process so that `icegate-bench` can mark them met or missed beside the
// workloads: a policy decision at N rules, and appending audit records through
// the real store (SQLite WAL, group commit, durable: an fdatasync per group). The Google
// Benchmark binaries (policy_bench, audit_bench) measure the same things with
// repetitions and statistics; these are the quick versions.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "gateway/audit/audit.hpp"
#include "gateway/store/store.hpp"

namespace icegate::bench {

struct DecisionTiming {
  std::size_t rules = 0;
  double median_ns = 0;  // median over batches of the CPU time per decision
  std::size_t decisions = 0;
};

// Decisions on a generated policy (tools/bench/policy_generator) of `rules`
// rules, cycling through varied requests as policy_bench's BM_Decide does.
DecisionTiming time_decisions(std::size_t rules, std::chrono::milliseconds budget);

// An audit record like the gateway's decision records (same fields, a detail
// of the usual size), for message `index`.
audit::AuditRecord sample_decision_record(std::size_t index);
// What the gateway commits for one accepted W1 message: the message, one
// outbox entry (a 1 KB Deliver) and two audit records (submit, decision).
store::Batch sample_message_batch(std::size_t index, std::int64_t seq);

struct AuditTiming {
  std::size_t records = 0;
  std::size_t commits = 0;  // transactions (group commits), each one fsync
  double seconds = 0;
  double records_per_second = 0;
};

// Queues `batches` batches of `records_per_batch` audit records each into a
// fresh store in `data_dir` (durable unless told otherwise) as fast
// as the writer thread takes them, and waits until all are committed.
AuditTiming time_audit_append(const std::filesystem::path& data_dir, std::size_t batches,
                              std::size_t records_per_batch, bool synchronous_full = true);

}  // namespace icegate::bench

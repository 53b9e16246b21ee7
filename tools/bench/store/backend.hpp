// store_bench's one small interface: what each candidate store for the hot
// path (docs/adr/0005-store-for-the-hot-path.md) must do with a message's life.
// Each backend lives in its own translation unit, so that RocksDB's, LMDB's
// and SQLite's headers are each compiled once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/audit/audit.hpp"
#include "gateway/store/store.hpp"

namespace icegate::bench::storebench {

// An acknowledged delivery: the outbox entry to forget, by seq and by
// (node, message id) (today's store deletes by the latter).
struct Ack {
  std::int64_t seq = 0;
  std::string node;
  std::string message_id;
};

// One operation of the router: accepting a message (the message, what is
// owed to each recipient, the audit records), or settling acknowledgements.
struct Operation {
  std::vector<store::AcceptedMessage> messages;
  std::vector<store::OutboxEntry> outbox;
  std::vector<audit::AuditRecord> audit;
  std::vector<Ack> acks;
};

// A store under test. commit() may be called from several threads; `done`
// runs once the operation is durable (an fsync or fdatasync covered it), on a
// thread of the backend's, and must not block.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual void commit(Operation operation, std::function<void(bool ok)> done) = 0;
  // Waits until every operation committed so far is durable.
  virtual void flush() = 0;
  // Group commits made durable so far (one fsync or fdatasync round each).
  virtual std::uint64_t syncs() const = 0;
};

// The four candidates, each opening a fresh store in `dir`.
std::unique_ptr<Backend> make_sqlite_backend(const std::filesystem::path& dir);
std::unique_ptr<Backend> make_rocksdb_backend(const std::filesystem::path& dir);
std::unique_ptr<Backend> make_lmdb_backend(const std::filesystem::path& dir);
std::unique_ptr<Backend> make_segment_log_backend(const std::filesystem::path& dir);

}  // namespace icegate::bench::storebench

// The gateway's durable state: SQLite in WAL mode under --data DIR
// (DIR/icegate.db). A submitted message, the frames owed to each node, holds,
// triggered events, occasional-access uses and the audit records are written
// in one transaction before the sender is acknowledged.
//
// Writes go through one writer thread that commits whatever has queued up as
// one transaction (group commit): durability costs one fsync per batch, not
// per message. Completion callbacks run on the caller's executor, in commit
// order.
//
// Fail-stop: when a transaction cannot be committed (disk full, I/O error) it
// is rolled back whole, its callbacks get ok=false, and the store refuses every
// batch queued after it without trying it (those were prepared on top of state
// that never became durable) until the caller has read back what is durable
// and called resume(). health() says why meanwhile; the next transaction that
// writes and commits makes the store healthy again.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "gateway/audit/audit.hpp"
#include "gateway/store/sqlite.hpp"

namespace icegate::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A frame the gateway owes a node, in the order it must be sent (seq).
struct OutboxEntry {
  std::int64_t seq = 0;
  std::string node;
  std::string message_id;
  // Deliver frames stay until the node acknowledges them; the rest (Receipts,
  // review requests) until they have been written to the node's connection.
  bool needs_ack = false;
  std::int64_t not_after_unix_ms = 0;  // 0: never expires
  std::string originator;              // for a Deliver: told if it expires unsent
  std::string outcome;                 // for a Deliver: the encoded RecipientOutcome
  std::string frame;                   // the framed bytes to send
};

struct AcceptedMessage {
  std::string id;
  std::string originator;
  std::int64_t accepted_unix_ms = 0;
};

struct StoredBlob {
  std::string key;
  std::string value;
};

struct OccasionalUse {
  std::string node;
  std::int64_t time_unix_ms = 0;
};

struct TriggeredEvent {
  std::string name;
  std::string node;
  std::int64_t time_unix_ms = 0;
};

// Everything one operation of the router writes, committed together.
struct Batch {
  std::vector<AcceptedMessage> messages;
  std::vector<OutboxEntry> outbox;                              // seq already assigned
  std::vector<std::pair<std::string, std::string>> acked;       // (node, message_id)
  std::vector<std::int64_t> sent;                               // non-ack entries written
  std::vector<StoredBlob> holds_put;                            // key = hold id
  std::vector<std::string> holds_removed;
  std::vector<StoredBlob> controlled_put;                       // key = message id
  std::vector<TriggeredEvent> events;
  std::vector<OccasionalUse> occasional;
  std::vector<audit::AuditRecord> audit;

  bool empty() const;
};

// What the store held when it was opened.
struct Recovered {
  // The newest messages accepted, at most recover()'s `newest_messages`,
  // oldest first (older ones are found by Store::accepted).
  std::vector<AcceptedMessage> messages;
  bool all_messages = true;  // `messages` is every message ever accepted
  // Of each node's outbox, the first frames (at most recover()'s
  // `owed_per_node`), by seq; `owed` says how many each node is owed in all.
  std::vector<OutboxEntry> outbox;  // by seq
  struct Owed {
    std::string node;
    std::size_t count = 0;
    std::int64_t last_seq = 0;
  };
  std::vector<Owed> owed;
  // The earliest time an owed frame expires (0: none expires). Those not in
  // `outbox` are found when it passes (Store::expiring), not listed here: a
  // backlog of a million frames that expire costs no memory.
  std::int64_t first_expiry_unix_ms = 0;
  std::vector<StoredBlob> holds;
  std::vector<StoredBlob> controlled;
  std::vector<TriggeredEvent> events;
  std::vector<OccasionalUse> occasional;
  std::int64_t audit_records = 0;
};

struct StoreOptions {
  // FULL: an fsync per commit, so an acknowledged message survives power
  // loss. NORMAL survives a crash of the gateway process, not of the machine.
  bool synchronous_full = true;
  std::size_t max_batch = 4096;  // operations per transaction at most
};

struct StoreStats {
  std::uint64_t commits = 0;
  std::uint64_t operations = 0;
  std::uint64_t failed_commits = 0;  // transactions that could not be committed (refused batches not counted)
};

// Whether the last transaction that wrote could be committed.
struct StoreHealth {
  bool ok = true;
  std::string reason;                 // why the last commit failed (the SQLite error, or the injected fault)
  std::int64_t failed_at_unix_ms = 0;  // when it failed
};

class Store {
 public:
  // Opens (creating if needed) DIR/icegate.db. Throws StoreError naming the file.
  Store(const std::filesystem::path& data_dir, StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Reads back what is durable. Of the messages accepted it returns only the
  // newest `newest_messages` (the rest stay on disk: see accepted()), and of
  // each node's outbox the first `owed_per_node` frames and at most
  // `owed_bytes_per_node` bytes of them, always the first (the rest: owed()).
  Recovered recover(std::size_t newest_messages = std::numeric_limits<std::size_t>::max(),
                    std::size_t owed_per_node = std::numeric_limits<std::size_t>::max(),
                    std::size_t owed_bytes_per_node = std::numeric_limits<std::size_t>::max());
  // `node`'s owed frames with after < seq <= through, by seq, at most `limit`
  // and at most `max_bytes` of frames (but always the first), frames
  // included: read on the reader connection, as accepted() is, so only what
  // is committed is seen. A row past the byte budget is not kept.
  struct OwedPage {
    std::vector<OutboxEntry> entries;
    bool complete = false;  // every owed frame in the range is in `entries`
  };
  OwedPage owed(const std::string& node, std::int64_t after, std::int64_t through, std::size_t limit,
                std::size_t max_bytes = std::numeric_limits<std::size_t>::max());
  // Owed frames, over every node, that expire before `before`, in expiry
  // order (not_after, seq) after the position (after_not_after, after_seq),
  // at most `limit`, without their frames: a page of the index outbox_expiry,
  // read on the reader connection.
  std::vector<OutboxEntry> expiring(std::int64_t before, std::int64_t after_not_after, std::int64_t after_seq,
                                    std::size_t limit);
  // The earliest expiry at or after `from` of an owed frame (0: none).
  std::int64_t next_expiry(std::int64_t from);
  // Whether a message of this id has been accepted and committed: a lookup in
  // the index on messages(id), on a read-only connection of its own (WAL lets
  // it read beside the writer), so any thread may call it; one lookup runs at
  // a time. Only what is committed is seen: the caller keeps the ids it has
  // accepted and not yet seen committed.
  bool accepted(const std::string& id);
  // Sequence numbers for outbox entries, increasing in commit order when the
  // same thread assigns them and commits (the gateway's io thread).
  std::int64_t next_seq() { return next_seq_++; }

  // Queues a batch; `done(ok)` is posted to `executor` after the commit.
  void commit(Batch batch, boost::asio::any_io_executor executor, std::function<void(bool)> done);
  // The same, but `done(ok, outbox)` is handed back the batch's outbox entries
  // (frames included), so that the caller need not copy them before the commit.
  using OutboxDone = std::function<void(bool, std::vector<OutboxEntry>&)>;
  void commit(Batch batch, boost::asio::any_io_executor executor, OutboxDone done);
  // Waits until everything queued so far is committed.
  void flush();
  StoreStats stats() const;
  StoreHealth health() const;

  // Fail-stop (see the top of this file). A commit failed: every batch queued
  // since the last resume() is refused, with ok=false, until resume() is
  // called. The epoch is the number of resume() calls: a caller compares the
  // epoch it committed in with the current one to tell the first failure of
  // an epoch (read back the store, then resume) from the refusals that follow.
  std::uint64_t epoch() const;
  void resume();

  // TEST HOOK, never called by the gateway: the next `transactions` commits
  // fail after their statements ran, as a full disk fails at COMMIT, and go
  // through the same rollback and fail-stop as a real failure. Nothing in the
  // gateway's configuration or command line reaches it.
  void inject_commit_failure(int transactions);

  const std::filesystem::path& path() const { return path_; }

 private:
  struct Pending {
    std::uint64_t epoch = 0;
    Batch batch;
    boost::asio::any_io_executor executor;
    std::function<void(bool)> done;
    OutboxDone outbox_done;
  };
  void writer_loop();
  void apply(const Batch& batch);
  void exec(const char* sql);
  void index_message_ids();
  void open_reader();

  std::filesystem::path path_;
  StoreOptions options_;
  sqlite::Connection db_;
  bool messages_keyed_by_id_ = false;  // a database made before 9f148e9 (messages WITHOUT ROWID)
  std::mutex reader_mutex_;  // guards reader_, lookup_
  // Read-only, beside the writer (WAL): owed(), expiring(), next_expiry(), accepted().
  // Destroyed before db_, as the statements are before their connections.
  std::optional<sqlite::Connection> reader_;
  std::optional<sqlite::Statement> lookup_;  // SELECT 1 FROM messages WHERE id = ?
  std::unique_ptr<audit::AuditChain> audit_;  // before db_ closes: it holds prepared statements
  std::int64_t next_seq_ = 1;

  mutable std::mutex mutex_;  // guards queue_, stopping_, in_flight_, stats_, health_, epoch_, refused_up_to_, inject_
  std::condition_variable queue_changed_;
  std::condition_variable drained_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::size_t in_flight_ = 0;
  StoreStats stats_;
  StoreHealth health_;
  std::uint64_t epoch_ = 1;
  std::uint64_t refused_up_to_ = 0;  // batches queued in an epoch up to this one are refused
  int inject_ = 0;
  std::thread writer_;
};

}  // namespace icegate::store

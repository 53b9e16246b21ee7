// The gateway's durable state under --data DIR: a log in front, SQLite behind
// (docs/STORE.md; the choice and its figures: docs/adr/0005).
//
// The log (DIR/log/, gateway/store/segment_log) is what makes a batch durable.
// Store::commit encodes the batch (batch.hpp) and appends it to the log, whose
// writer thread writes whatever has queued as one write(2) while its syncer
// thread fdatasyncs the write before: a pipelined group commit, one fdatasync
// per group, no B-tree on the way.
//
// SQLite (DIR/icegate.db, WAL) is what the log's records are applied to: the
// tables the gateway reads back (messages, outbox, holds, ...) and the audit
// trail that `icegate audit` verifies and queries. The applier thread
// ("store-writer") takes the batches the log has made durable, in log order,
// applies them in one transaction, and only then posts their callbacks. So a
// callback (the sender's Ack) waits for the log's fdatasync, never for SQLite's,
// and what a callback reports is already in SQLite for other readers, as
// before the log. SQLite commits without syncing (PRAGMA synchronous=NORMAL);
// every so often a fourth thread ("store-syncer") fdatasyncs its WAL, and the
// log's sealed segments whose records SQLite then holds durably are removed.
// store_meta records how far SQLite has applied the log, in the same
// transactions, so a crash at any point is repaired at the next open by
// applying the log's records after that point (idempotently).
//
// Frames owed, applied late. A Deliver is usually acknowledged within
// milliseconds, and writing it into the outbox B-tree only to delete it again
// is most of what a message cost SQLite. So an outbox entry waits in memory
// (`deferred_`, bounded in entries and bytes) for StoreOptions::outbox_delay
// before it is applied: one settled meanwhile (acked or sent) is never written
// to SQLite at all. It is durable all along in the log, and every read of the
// outbox (owed, read_owed, expiring, next_expiry, recover) merges the entries
// waiting in memory with SQLite's rows, so no reader can tell.
//
// Fail-stop when the log cannot write a batch (disk full, I/O error at write):
// the write is cut off the log, its callbacks get ok=false, and the store
// refuses every batch queued after it without writing it (those were prepared
// on top of state that never became durable) until the caller has read back
// what is durable and called resume(). health() says why meanwhile; the next
// batch that writes and is made durable makes the store healthy again.
//
// Fail-stop without resume when a sync fails (the log's fdatasync, SQLite's
// WAL sync or a checkpoint: EIO, ENOSPC): the kernel may have marked the
// unwritten pages clean, so what the files hold can no longer be trusted. That
// batch and every batch from then on get ok=false; resume() changes nothing;
// health() says why and that the gateway must be restarted (restart_required).
//
// When SQLite cannot apply what the log made durable (its disk is full), the
// log is cut back to before the first record it could not apply, and that
// batch and every one appended after it (made on top of it) fail as a failed
// log write does: ok=false, refused until resume(), health() says why. Only if
// the log cannot be cut there (the record is in a sealed segment) do the
// batches stay queued, durable in the log, tried again every 200 ms, their
// callbacks waiting (a sender is never told "accepted" before the message can
// be read back, nor "not stored" about one that is).
//
// Read-back of owed frames off the caller's thread (read_owed): a thread of its
// own (the reader, "store-reader"), on a read-only connection of its own, runs
// the reads queued to it in order and posts each page to the caller's
// executor.
//
// One process at a time: the log's directory is locked (flock) while a Store
// is open. store::catch_up(DIR) applies a stopped gateway's log to its SQLite
// database for the tools (`icegate audit`), and leaves a running one alone.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
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
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "gateway/audit/audit.hpp"
#include "gateway/store/batch.hpp"
#include "gateway/store/segment_log.hpp"
#include "gateway/store/sqlite.hpp"

namespace icegate::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The data directory's log is open in another process (a running gateway).
class StoreLocked : public StoreError {
 public:
  using StoreError::StoreError;
};

// A read of `node`'s owed frames: after < seq <= through, by seq, at most
// `limit` of them and `max_bytes` of frames (always the first, however large).
struct OwedQuery {
  std::string node;
  std::int64_t after = 0;
  std::int64_t through = 0;
  std::size_t limit = 0;
  std::size_t max_bytes = 0;
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
  // true: each batch's callbacks wait for an fdatasync of the log that covers
  // it (see the top of this file), so an acknowledged message survives power
  // loss. false (`icegate serve --no-fsync`): no sync; survives a crash of the
  // gateway process, not of the machine. (The name is from when this meant
  // PRAGMA synchronous=FULL.)
  bool synchronous_full = true;
  std::size_t max_batch = 4096;  // batches applied per SQLite transaction at most
  // A checkpoint (PASSIVE) is run once the WAL holds this many pages...
  int checkpoint_pages = 8192;
  // ...by a thread of its own, beside the applier, which then copies only the
  // frames appended meanwhile (true); or by the applier, between groups (false).
  bool background_checkpoints = true;
  // How long an owed frame waits in memory before it is written to SQLite's
  // outbox (one settled meanwhile never is), and how many entries and bytes
  // may wait at most (beyond either, the oldest are written at once). Zero: at
  // once, as the batch is applied.
  std::chrono::milliseconds outbox_delay{200};
  std::size_t outbox_waiting_entries = 65536;
  std::size_t outbox_waiting_bytes = 64u << 20;
  // SQLite's WAL is synced (and the log's segments it covers removed) at most this often.
  std::chrono::milliseconds sqlite_sync_interval{1000};
  // The log's segment size (a sealed segment is removed once SQLite holds its records durably).
  std::uint64_t log_segment_bytes = 64u << 20;
};

struct StoreStats {
  std::uint64_t commits = 0;         // SQLite transactions that applied the log
  std::uint64_t operations = 0;      // batches made durable and applied
  std::uint64_t failed_commits = 0;  // log writes that failed (refused batches not counted)
  std::uint64_t syncs = 0;           // fdatasyncs of the log, each covering one or more batches
  std::uint64_t sqlite_syncs = 0;    // fdatasyncs of SQLite's WAL (after which log segments may go)
  std::uint64_t checkpoints = 0;     // PASSIVE checkpoints run (by the checkpointer or the applier)
  std::uint64_t checkpoint_us = 0;   // the time in them
  std::uint64_t writer_checkpoint_us = 0;  // of which the applier's: time it was not applying
  std::uint64_t outbox_written = 0;  // owed frames written to SQLite's outbox
  std::uint64_t outbox_skipped = 0;  // owed frames settled while waiting, never written there
  std::uint64_t log_bytes = 0;       // record bytes written to the log
};

// Whether the last transaction that wrote could be committed and made durable.
struct StoreHealth {
  bool ok = true;
  std::string reason;                 // why the last commit or sync failed (the error, or the injected fault)
  std::int64_t failed_at_unix_ms = 0;  // when it failed
  bool restart_required = false;      // a sync failed: nothing is accepted until the gateway is restarted
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
  // each node's outbox the first `owed_per_node` frames (the rest: owed()).
  // Of those first frames, at most `owed_bytes_per_node` bytes of frames
  // (always the first frame, however large).
  Recovered recover(std::size_t newest_messages = std::numeric_limits<std::size_t>::max(),
                    std::size_t owed_per_node = std::numeric_limits<std::size_t>::max(),
                    std::size_t owed_bytes_per_node = std::numeric_limits<std::size_t>::max());
  // `node`'s owed frames with after < seq <= through, by seq, at most `limit`
  // (frames included): SQLite's rows (read on the reader connection, so only
  // what is committed is seen) merged with the entries still waiting in
  // memory. The router asks only for seqs it has counted, which it does in
  // the commit callback, once the batch is durable and applied.
  std::vector<OutboxEntry> owed(const std::string& node, std::int64_t after, std::int64_t through, std::size_t limit);
  // A page of owed frames: those of `node` with after < seq <= through, by
  // seq, at most `limit` of them and `max_bytes` of frames (always the first,
  // however large). `complete`: no owed frame of the range was left out.
  struct OwedPage {
    std::vector<OutboxEntry> entries;
    bool complete = false;
  };
  using OwedRead = std::function<void(OwedPage)>;
  // The same read, queued to the reader thread (its own connection; reads run
  // one at a time, in the order queued); `done(page)` is posted to `executor`
  // with what it read. The same visibility as owed(). Any thread. Reads still
  // queued when the store is destroyed are dropped, uncalled.
  void read_owed(OwedQuery query, boost::asio::any_io_executor executor, OwedRead done);
  // Owed frames, over every node, that expire before `before`, in expiry
  // order (not_after, seq) after the position (after_not_after, after_seq),
  // at most `limit`, without their frames: a page of the index outbox_expiry
  // merged with the entries waiting in memory.
  std::vector<OutboxEntry> expiring(std::int64_t before, std::int64_t after_not_after, std::int64_t after_seq,
                                    std::size_t limit);
  // The earliest expiry at or after `from` of an owed frame (0: none).
  std::int64_t next_expiry(std::int64_t from);
  // Whether a message of this id has been accepted and applied: a lookup in
  // the index on messages(id), on a read-only connection of its own (WAL lets
  // it read beside the applier), so any thread may call it; one lookup runs at
  // a time. The caller keeps the ids it has accepted and not yet seen called
  // back, so it never asks about an id that is durable but not yet applied.
  bool accepted(const std::string& id);
  // Sequence numbers for outbox entries, increasing in commit order when the
  // same thread assigns them and commits (the gateway's io thread).
  std::int64_t next_seq() { return next_seq_++; }

  // Queues a batch; `done(ok)` is posted to `executor` once it is durable and
  // applied (ok), or once it is known that it never will be (not ok).
  void commit(Batch batch, boost::asio::any_io_executor executor, std::function<void(bool)> done);
  // The same, but `done(ok, outbox)` is handed back the batch's outbox entries
  // (frames included), so that the caller need not copy them before the commit.
  using OutboxDone = std::function<void(bool, std::vector<OutboxEntry>&)>;
  void commit(Batch batch, boost::asio::any_io_executor executor, OutboxDone done);
  // Waits until everything queued so far is durable and applied (or failed),
  // and its callbacks posted.
  void flush();
  StoreStats stats() const;
  StoreHealth health() const;
  // The head of the audit trail as far as it is durable: that of the last
  // batch whose callbacks have been posted (made durable by the log first),
  // never a record a crash could still lose. What a gateway signs for its
  // peers to witness (docs/FEDERATION.md, "Peers witness each other's audit
  // trail"). Any thread.
  audit::TrailHead durable_audit_head() const;

  // Fail-stop (see the top of this file). A log write failed: every batch
  // queued since the last resume() is refused, with ok=false, until resume()
  // is called. The epoch is the number of resume() calls: a caller compares
  // the epoch it committed in with the current one to tell the first failure
  // of an epoch (read back the store, then resume) from the refusals that
  // follow. After a failed sync (health().restart_required) resume() changes
  // nothing.
  std::uint64_t epoch() const;
  void resume();
  // A sync failed: every batch is refused until the process restarts.
  bool restart_required() const { return broken_.load(std::memory_order_acquire); }

  // TEST HOOK, never called by the gateway: the next `writes` writes of the
  // log fail after they ran, as a full disk fails, and go through the same
  // cutting off and fail-stop as a real failure. Nothing in the gateway's
  // configuration or command line reaches it.
  void inject_commit_failure(int writes);
  // TEST HOOK, likewise: the next `syncs` fdatasyncs of the log (after they
  // ran) count as failed, as an EIO from the disk would, with the same
  // fail-stop without resume.
  void inject_sync_failure(int syncs);
  // TEST HOOK, likewise: the next `groups` times the applier applies batches
  // to SQLite, the transaction fails before COMMIT, as SQLite on a full disk
  // fails, and goes through the same rollback and cutting back of the log.
  void inject_apply_failure(int groups);

  // TEST HOOK, never called by the gateway: `hook` runs on the reader
  // thread before each read_owed() read (to make a read slow, or wait). Empty: none.
  void set_read_hook(std::function<void()> hook);

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& log_directory() const { return log_dir_; }
  // How many of the log's records opening the store applied to SQLite.
  std::uint64_t replayed_records() const { return replayed_; }

 private:
  struct OwedRequest {
    OwedQuery query;
    boost::asio::any_io_executor executor;
    OwedRead done;
  };
  void reader_loop();
  OwedPage read_page(const sqlite::Connection& connection, const OwedQuery& query) const;
  // A batch on its way: appended to the log, then (once durable) applied.
  struct Pending {
    Batch batch;
    boost::asio::any_io_executor executor;
    std::function<void(bool)> done;
    OutboxDone outbox_done;
    std::uint64_t log_seq = 0;  // its record's seq (0: it wrote none, an empty batch)
    bool durable = false;       // the log made it durable (false: the log refused it, or failed)
  };
  // An owed frame not yet written to SQLite's outbox (the top of this file).
  struct Waiting {
    OutboxEntry entry;
    std::uint64_t log_seq = 0;  // the record that owes it
    std::chrono::steady_clock::time_point since;
  };
  struct Statements;  // the applier's prepared statements
  void append(std::shared_ptr<Pending> pending);
  void writer_loop();
  void syncer_loop();
  // Applies the durable batches of `work` (and the waiting outbox entries
  // due) in one transaction; false, with why, if SQLite could not (rolled
  // back, nothing changed).
  bool apply_group(std::deque<Pending>& work, bool write_all_waiting, std::string* why);
  bool cut_back(const std::deque<Pending>& work, const std::string& why);
  void apply_visible(const Batch& batch);
  void insert_outbox(const OutboxEntry& entry);
  void replay(std::uint64_t seq, std::string_view payload, std::int64_t& max_outbox_seq);
  void write_meta();
  void open_wal();
  void close_wal();
  bool sync_wal(std::string* why);
  void drop_applied_segments(std::uint64_t through);
  bool checkpoint(const sqlite::Connection& connection, bool writer);
  void checkpointer_loop();
  void after_commit_checkpoint();
  // Under mutex_: a sync or checkpoint failed; nothing is accepted from now on.
  void break_for_good(const std::string& why);
  void exec(const char* sql);
  void index_message_ids();
  void open_reader();
  // Appends to `out` the entries waiting in memory of `node` with after <
  // seq <= through, by seq, at most `limit`; under waiting_mutex_.
  void waiting_for(const std::string& node, std::int64_t after, std::int64_t through, std::size_t limit,
                   std::vector<OutboxEntry>& out) const;

  std::filesystem::path path_;
  std::filesystem::path log_dir_;
  StoreOptions options_;
  sqlite::Connection db_;
  bool messages_keyed_by_id_ = false;  // a database made before 9f148e9 (messages WITHOUT ROWID)
  std::mutex reader_mutex_;  // guards reader_, lookup_
  // Read-only, beside the applier (WAL): owed(), expiring(), next_expiry(), accepted().
  // Destroyed before db_, as the statements are before their connections.
  std::optional<sqlite::Connection> reader_;
  std::optional<sqlite::Statement> lookup_;  // SELECT 1 FROM messages WHERE id = ?
  std::optional<sqlite::Connection> checkpointer_db_;  // the checkpointer thread's (background_checkpoints)
  std::optional<sqlite::Connection> owed_reader_db_;   // read-only, the reader thread's (read_owed)
  std::unique_ptr<audit::AuditChain> audit_;  // before db_ closes: it holds prepared statements
  std::unique_ptr<Statements> statements_;     // likewise
  std::int64_t next_seq_ = 1;
  std::uint64_t replayed_ = 0;

  // Only the applier thread (and the constructor and destructor, before it
  // starts and after it stops) touches these.
  std::uint64_t applied_seq_ = 0;  // every log record up to here is applied to SQLite (store_meta log_applied)
  std::uint64_t outbox_seq_ = 0;   // ...and its outbox entries written or settled (store_meta log_outbox)
  std::uint64_t cut_from_ = 1, cut_through_ = 0;  // log records cut off after SQLite could not apply them
  int wal_pages_ = 0;  // pages in the WAL after the last commit (the WAL hook)
  std::atomic<int> inject_apply_{0};

  // guards waiting_, waiting_bytes_ (the applier changes them only after its
  // transaction has committed; readers hold it across their SQLite read and
  // their look at waiting_, so an entry is seen in one or the other, or both
  // (merged by seq), never in neither)
  mutable std::mutex waiting_mutex_;
  std::map<std::int64_t, Waiting> waiting_;  // by outbox seq
  std::unordered_multimap<std::string, std::int64_t> waiting_keys_;  // (node, message id) of a Deliver -> its seq
  std::size_t waiting_bytes_ = 0;

  std::filesystem::path wal_path_;
  int wal_fd_ = -1;  // the syncer's own descriptor of the -wal file (its own error state for fdatasync)

  // guards queue_, appended_, logged_, stopping_, applier_busy_, sync_wanted_,
  // sync_seq_, syncer_stopping_, last_sync_, stats_, health_, epoch_,
  // durable_audit_head_, the checkpoint_* flags
  mutable std::mutex mutex_;
  std::condition_variable queue_changed_;  // the applier: work, or stopping
  std::condition_variable sync_changed_;   // the syncer: a sync wanted, or stopping
  std::condition_variable drained_;        // flush()
  std::deque<Pending> queue_;              // durable (or refused) in log order, to apply and call back
  std::uint64_t appended_ = 0;             // batches handed to the log
  std::uint64_t logged_ = 0;               // ...of which the log has said durable or not
  bool stopping_ = false;
  bool applier_busy_ = false;
  bool sync_wanted_ = false;
  std::uint64_t sync_seq_ = 0;  // what a wanted sync makes durable: min(applied, outbox) log seq
  bool syncer_stopping_ = false;
  std::chrono::steady_clock::time_point last_sync_;
  StoreStats stats_;
  StoreHealth health_;
  std::uint64_t epoch_ = 1;
  audit::TrailHead durable_audit_head_;  // durable_audit_head()
  std::atomic<bool> broken_{false};  // a sync failed (set under mutex_)
  std::condition_variable checkpoint_changed_;
  bool checkpoint_wanted_ = false;      // the applier asks the checkpointer for one
  bool checkpoint_running_ = false;     // asked for, and its tail not yet copied by the applier
  bool checkpoint_tail_due_ = false;    // the checkpointer is done: the applier copies what was appended since
  bool checkpointer_stopping_ = false;
  std::thread writer_;  // "store-writer": the applier
  std::thread syncer_;
  std::thread checkpointer_;

  // guards owed_reads_, reader_stopping_, read_hook_ (the reader thread runs
  // each read and its hook outside it)
  std::mutex read_mutex_;
  std::condition_variable reads_changed_;
  std::deque<OwedRequest> owed_reads_;
  bool reader_stopping_ = false;
  std::function<void()> read_hook_;
  std::thread owed_reader_;  // "store-reader": runs owed_reads_ on owed_reader_db_

  // Last: destroyed first, after the destructor has flushed it.
  std::unique_ptr<SegmentLog> log_;
};

// Applies a stopped gateway's log to its SQLite database (DIR/icegate.db), so
// that tools reading the database see everything the gateway made durable
// (a crash can leave records in the log that SQLite does not yet hold).
// Returns how many records it applied: 0 if there is no log, nothing to
// apply, or the gateway is running (it keeps the database current itself).
// Throws StoreError if the log cannot be read.
std::uint64_t catch_up(const std::filesystem::path& data_dir);

}  // namespace icegate::store

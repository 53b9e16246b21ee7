// The gateway's durable state: SQLite in WAL mode under --data DIR
// (DIR/icegate.db). A submitted message, the frames owed to each node, holds,
// triggered events, occasional-access uses and the audit records are written
// in one transaction before the sender is acknowledged.
//
// Writes go through one writer thread that commits whatever has queued up as
// one transaction (group commit). Commits are pipelined: a second thread (the
// syncer) makes each committed group durable with one fdatasync(2) of the
// -wal file, and only then posts the group's completion callbacks, while the
// writer forms and applies the next group. Callbacks run on the caller's
// executor, in commit order, and never before their group is durable (with
// StoreOptions::synchronous_full, the gateway's default).
//
// Why that is durable. The writer connection runs PRAGMA synchronous=NORMAL:
// in WAL mode SQLite then does not sync on commit; "the WAL file is
// synchronized before each checkpoint and the database file is synchronized
// after each completed checkpoint and the WAL file header is synchronized when
// a WAL file begins to be reused after a checkpoint"
// (https://www.sqlite.org/pragma.html#pragma_synchronous). A commit is the
// write(2) of its pages to the -wal file, the last one marked as a commit
// frame, each frame checksummed cumulatively over the frames before it
// (https://www.sqlite.org/fileformat2.html#walformat). The syncer takes the
// groups whose COMMIT has returned, then calls fdatasync on its own
// descriptor of the -wal file: every frame written before that call, the
// groups' own and every earlier one of this WAL generation, is on disk when
// it returns 0, and recovery after a crash keeps exactly the frames up to
// the last valid commit frame, so each of those groups survives power loss.
// Earlier generations: SQLite starts the WAL over (writes a new header with
// new salts from offset 0, in the same file) only after a checkpoint has
// copied every frame into the database and synced it, so what those frames
// held is durable in icegate.db. The file is neither replaced nor deleted
// while the writer connection is open, so the syncer's descriptor stays the
// WAL's; the data directory is synced once at open, so that the -wal file's
// own entry is durable too.
//
// Batches no one awaits (Batch::unawaited: an audit record of a connection,
// a disconnection or a refusal, whose callback tells no one anything) may
// wait up to StoreOptions::gather (10 ms) in the queue for company, so that
// under a storm of reconnections a trickle of them costs one transaction and
// one sync rather than one each. The first batch someone awaits, flush() and
// the store's destruction end the wait; order is kept. The cost: a crash of
// the process within that time loses the records still queued, as a crash
// before any commit always could.
//
// Checkpoints: SQLite's automatic checkpoint would run inside a COMMIT on the
// writer, stop it for the whole copy and its two syncs, and ignore a failed
// sync. It is off. Once the WAL holds StoreOptions::checkpoint_pages pages, a
// third thread (the checkpointer, on a connection of its own) runs a PASSIVE
// checkpoint beside the writer; the writer appends meanwhile, so that one
// cannot be complete, and the writer then copies the few frames appended
// since with a PASSIVE checkpoint of its own, between two groups, so that
// the WAL can start over. A checkpoint that fails is a failed sync (below).
// docs/PERFORMANCE.md has the measurement against checkpoints on the writer.
//
// Fail-stop when a transaction cannot be committed (disk full, I/O error at
// write): it is rolled back whole, its callbacks get ok=false, and the store
// refuses every batch queued after it without trying it (those were prepared
// on top of state that never became durable) until the caller has read back
// what is durable and called resume(). health() says why meanwhile; the next
// transaction that writes and is made durable makes the store healthy again.
//
// Fail-stop without resume when a sync fails (fdatasync or a checkpoint:
// EIO, ENOSPC): the kernel may have marked the unwritten pages clean, so what
// the file holds can no longer be trusted. That group, every group committed
// after it, and every batch from then on get ok=false; resume() changes
// nothing; health() says why and that the gateway must be restarted
// (restart_required). Restarting reopens the database: SQLite's recovery keeps
// the frames up to the last whole, valid commit, which may or may not include
// the groups that were refused.
//
// Read-back of owed frames off the caller's thread (read_owed): a fourth
// thread (the reader, "store-reader"), on a read-only connection of its own,
// runs the reads queued to it in order and posts each page to the caller's
// executor, so that a node's backlog read back from disk neither waits behind
// nor holds up the caller's other work (nor accepted() on the reader
// connection).
//
// Readers (accepted(), owed(), read_owed(), expiring(), next_expiry(), and other processes such as
// `icegate audit`) may see a group that is committed but not yet durable. The
// gateway only asks them about what its callbacks have already reported
// durable (see the comments on each, and docs/ARCHITECTURE.md).
#pragma once

#include <atomic>
#include <chrono>
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
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "gateway/audit/audit.hpp"
#include "gateway/store/id_filter.hpp"
#include "gateway/store/sqlite.hpp"

namespace icegate::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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
  std::string frame;                   // the framed bytes to send (empty when shared_frame is set)
  // A frame the router has built once for several entries (one version of a
  // fan-out's Deliver): its bytes, in place of `frame`. Given a frame_id
  // (Store::next_frame_id), every entry of the batch with that id shares one
  // row of the frames table, written once and deleted with its last entry;
  // without one, the entry's row holds the bytes as `frame` would. Entries
  // read back from the store have `frame` filled and no shared_frame.
  std::shared_ptr<const std::string> shared_frame;
  std::int64_t frame_id = 0;
  std::string_view bytes() const { return shared_frame ? std::string_view(*shared_frame) : std::string_view(frame); }
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
  // Outbox entries done with, by seq: Delivers their node acknowledged (the
  // router's ledger knows each one's seq), other frames once written, and
  // entries expired or undeliverable.
  std::vector<std::int64_t> settled;
  std::vector<StoredBlob> holds_put;                            // key = hold id
  std::vector<std::string> holds_removed;
  std::vector<StoredBlob> controlled_put;                       // key = message id
  std::vector<TriggeredEvent> events;
  std::vector<OccasionalUse> occasional;
  std::vector<audit::AuditRecord> audit;
  // No one awaits this commit: nothing is told, sent or acknowledged when it
  // is durable (a connection's audit record, say). The writer may then hold it
  // back up to StoreOptions::gather, so that a trickle of such batches shares
  // one transaction with each other and with whatever comes next, rather than
  // costing a transaction and a sync each. A batch someone awaits, flush()
  // and the store's destruction end the wait at once.
  bool unawaited = false;

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
  // true: each group's callbacks wait for an fdatasync of the WAL that covers
  // it (see the top of this file), so an acknowledged message survives power
  // loss. false (`icegate serve --no-fsync`): no sync but SQLite's own at
  // checkpoints; survives a crash of the gateway process, not of the machine.
  // (The name is from when this meant PRAGMA synchronous=FULL.)
  bool synchronous_full = true;
  std::size_t max_batch = 4096;  // operations per transaction at most
  // A checkpoint (PASSIVE) is run once the WAL holds this many pages...
  int checkpoint_pages = 4096;  // 32 MiB of the 8 KiB pages a new database has
  // ...by a thread of its own, beside the writer, which then copies only the
  // frames appended meanwhile (true); or by the writer, between groups (false).
  bool background_checkpoints = true;
  // false: the writer forms the next group only once the last one is synced
  // and called back (one group at a time, as before pipelining), to compare.
  bool pipelined = true;
  // How long a batch no one awaits (Batch::unawaited) may wait for others to
  // share its transaction. Zero: it is committed as soon as the writer is free.
  std::chrono::milliseconds gather{10};
  // The bulk indexes: the ids of accepted messages (message_ids, which
  // accepted() reads) and the audit records' blocks (audit_blocks, which
  // `icegate audit query` reads) are not indexed row by row but in bulk, in
  // the transaction of the group during which this many rows have come to
  // wait, this many at a time (a block of audit records each time). Until
  // then the ids waiting are held in memory (accepted() looks there first),
  // and a query reads the records waiting from the audit table. At least 1.
  std::int64_t bulk_index_batch = 4096;
  // Message ids are random: a batch of them lands all over message_ids, so
  // once that tree has more leaves than a batch has ids, each id costs a
  // leaf rewritten (8 KiB of WAL), as when ids were indexed one by one. So
  // the ids are pooled, this many batches at a time, sorted, and indexed one
  // key range of bulk_index_batch ids per group: each range then covers
  // 1/id_pool_batches of the tree. A pool's ids stay in memory until all of
  // it is indexed. 1: one batch at a time, as a single range. At least 1.
  std::int64_t id_pool_batches = 16;
  // The Bloom filter in front of message_ids (id_filter.hpp): an id not in
  // it is answered "not accepted" without a read of the index. Its size in
  // bytes, fixed (0: no filter, every such id is looked up). Filled at open
  // from the messages table, on a thread of its own (until it is, lookups go
  // to the index), and by the writer with each id it commits.
  std::size_t id_filter_bytes = std::size_t{8} << 20;
};

struct StoreStats {
  std::uint64_t commits = 0;
  std::uint64_t operations = 0;
  std::uint64_t failed_commits = 0;  // transactions that could not be committed (refused batches not counted)
  std::uint64_t syncs = 0;           // fdatasyncs of the WAL, each covering one or more commits
  std::uint64_t checkpoints = 0;     // PASSIVE checkpoints run (by the checkpointer or the writer)
  std::uint64_t checkpoint_us = 0;   // the time in them
  std::uint64_t writer_checkpoint_us = 0;  // of which the writer's: time it was not committing
  std::uint64_t id_lookups = 0;          // accepted() calls that looked in message_ids
  std::uint64_t id_lookups_skipped = 0;  // accepted() calls the id filter answered alone
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
  // (frames included): read on the reader connection, as accepted() is, so
  // only what is committed is seen. Rows committed but not yet durable are
  // seen too: the router asks only for seqs it has counted, which it does in
  // the commit callback, after the sync; and expiring() rows after the seqs
  // it has counted are skipped.
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
  // at most `limit`, without their frames: a page of the index outbox_expiry,
  // read on the reader connection.
  std::vector<OutboxEntry> expiring(std::int64_t before, std::int64_t after_not_after, std::int64_t after_seq,
                                    std::size_t limit);
  // The earliest expiry at or after `from` of an owed frame (0: none).
  std::int64_t next_expiry(std::int64_t from);
  // A scan of the expiry index off the caller's thread: up to `pages` pages
  // of `limit` entries from the position, read one after another; `through`
  // when a page came back short (the scan reached its end), and then `next`
  // is next_expiry(before).
  struct ExpiryScan {
    std::int64_t before = 0;
    std::int64_t after_not_after = 0;
    std::int64_t after_seq = 0;
    std::size_t limit = 0;
    std::size_t pages = 1;
  };
  struct ExpiryPage {
    std::vector<OutboxEntry> entries;
    bool through = false;
    std::int64_t next = 0;
  };
  using ExpiryRead = std::function<void(ExpiryPage)>;
  // A page of the expiry index (before, after_not_after, after_seq, limit),
  // and the earliest expiry at or after a time, as expiring() and
  // next_expiry() read them.
  using ExpiryPageReader =
      std::function<std::vector<OutboxEntry>(std::int64_t, std::int64_t, std::int64_t, std::size_t)>;
  using NextExpiryReader = std::function<std::int64_t(std::int64_t)>;
  // The paging of `scan` over `page` and `next` (null: next is 0):
  // scan_expiring runs it on the reader's connection.
  static ExpiryPage scan_pages(const ExpiryScan& scan, const ExpiryPageReader& page, const NextExpiryReader& next);
  // Queued to the reader thread as read_owed() is, with the same visibility
  // and the same ordering; `done(page)` is posted to `executor`. A scan that
  // fails comes back empty and not through (asked again on a later tick).
  void scan_expiring(ExpiryScan scan, boost::asio::any_io_executor executor, ExpiryRead done);
  // Whether a message of this id has been accepted and committed: among the
  // ids not yet bulk-indexed (in memory), else a lookup in message_ids, on a
  // read-only connection of its own (WAL lets it read beside the writer), so
  // any thread may call it; one lookup runs at
  // a time. Only what is committed is seen: the caller keeps the ids it has
  // accepted and not yet seen committed (its callback: committed and durable),
  // so it never asks about an id whose group is committed but not durable.
  // An id the filter has never seen (StoreOptions::id_filter_bytes) is
  // answered at once, without either.
  bool accepted(const std::string& id);
  // Whether the id filter holds every id committed (false until the scan at
  // open is done, and without a filter).
  bool id_filter_ready() const { return id_filter_ready_.load(std::memory_order_acquire); }
  // Sequence numbers for outbox entries, increasing in commit order when the
  // same thread assigns them and commits (the gateway's io thread).
  std::int64_t next_seq() { return next_seq_++; }
  // Ids for frames shared by several outbox entries (OutboxEntry::frame_id),
  // from the same thread as next_seq.
  std::int64_t next_frame_id() { return next_frame_id_++; }

  // Queues a batch; `done(ok)` is posted to `executor` after the commit.
  void commit(Batch batch, boost::asio::any_io_executor executor, std::function<void(bool)> done);
  // The same, but `done(ok, outbox)` is handed back the batch's outbox entries
  // (frames included), so that the caller need not copy them before the commit.
  using OutboxDone = std::function<void(bool, std::vector<OutboxEntry>&)>;
  void commit(Batch batch, boost::asio::any_io_executor executor, OutboxDone done);
  // Waits until everything queued so far is committed and synced, and its
  // callbacks posted.
  void flush();
  StoreStats stats() const;
  StoreHealth health() const;
  // The head of the audit trail as far as it is durable: that of the last
  // group whose callbacks have been posted (made durable first, as they are;
  // see StoreOptions::synchronous_full), never a record a crash could still
  // lose. What a gateway signs for its peers to witness (docs/FEDERATION.md,
  // "Peers witness each other's audit trail"). Any thread.
  audit::TrailHead durable_audit_head() const;

  // Fail-stop (see the top of this file). A commit failed: every batch queued
  // since the last resume() is refused, with ok=false, until resume() is
  // called. The epoch is the number of resume() calls: a caller compares the
  // epoch it committed in with the current one to tell the first failure of
  // an epoch (read back the store, then resume) from the refusals that follow.
  // After a failed sync (health().restart_required) resume() changes nothing.
  std::uint64_t epoch() const;
  void resume();
  // A sync failed: every batch is refused until the process restarts.
  bool restart_required() const { return broken_.load(std::memory_order_acquire); }

  // TEST HOOK, never called by the gateway: the next `transactions` commits
  // fail after their statements ran, as a full disk fails at COMMIT, and go
  // through the same rollback and fail-stop as a real failure. Nothing in the
  // gateway's configuration or command line reaches it.
  void inject_commit_failure(int transactions);
  // TEST HOOK, likewise: the next `syncs` fdatasyncs of the WAL (after they
  // ran) count as failed, as an EIO from the disk would, with the same
  // fail-stop without resume.
  void inject_sync_failure(int syncs);

  // TEST HOOK, never called by the gateway: `hook` runs on the reader
  // thread before each read_owed() read or scan_expiring() scan (to make one
  // slow, or wait). Empty: none.
  void set_read_hook(std::function<void()> hook);

  const std::filesystem::path& path() const { return path_; }

 private:
  // A read for the reader thread: runs on its connection, and posts what it
  // read to the asker's executor itself.
  using ReaderJob = std::function<void(const sqlite::Connection&)>;
  void queue_read(ReaderJob job);
  void reader_loop();
  static OwedPage read_page(const sqlite::Connection& connection, const OwedQuery& query);
  static std::vector<OutboxEntry> expiring_page(const sqlite::Connection& connection, std::int64_t before,
                                                std::int64_t after_not_after, std::int64_t after_seq,
                                                std::size_t limit);
  static std::int64_t next_expiry_on(const sqlite::Connection& connection, std::int64_t from);
  struct Pending {
    std::uint64_t epoch = 0;
    std::chrono::steady_clock::time_point queued;  // when commit() queued it (Batch::unawaited only)
    Batch batch;
    boost::asio::any_io_executor executor;
    std::function<void(bool)> done;
    OutboxDone outbox_done;
  };
  void queue(Pending pending);  // for the writer, in the caller's epoch
  // A Pending's callbacks once its group is synced, run by the syncer's post.
  struct Completion {
    bool committed = false;
    std::function<void(bool)> done;
    OutboxDone outbox_done;
    std::vector<OutboxEntry> outbox;
    void operator()() {
      if (done) done(committed);
      if (outbox_done) outbox_done(committed, outbox);
    }
  };
  using Completions = std::vector<Completion>;
  // A group the writer is done with, handed to the syncer in commit order.
  struct Group {
    std::deque<Pending> work;
    std::size_t refused = 0;  // the first `refused` were refused unwritten
    bool committed = false;   // the rest were committed (not yet synced)
    bool wrote = false;       // and the transaction wrote something
    std::string why;          // why it failed, when it was tried and failed
    audit::TrailHead audit_head;  // the trail's head once it committed
  };
  void writer_loop();
  void syncer_loop();
  void open_wal();
  bool checkpoint(const sqlite::Connection& connection, bool writer);
  void checkpointer_loop();
  void after_commit_checkpoint();
  // Under mutex_: a sync or checkpoint failed; nothing is accepted from now on.
  void break_for_good(const std::string& why);
  void apply(const Batch& batch);
  void exec(const char* sql);
  void add_frame_ids();  // an outbox from before shared frames gains its frame_id column
  void index_message_ids();
  void open_reader();
  // Writer thread, in the group's transaction: once bulk_index_batch x
  // id_pool_batches ids wait (unindexed_ids_, then this group's), takes
  // the oldest that many as the pool, sorted; then adds its next key range
  // of bulk_index_batch ids to message_ids, and after the last range moves
  // the mark. Returns how far into the pool the ranges now go (0: none).
  std::size_t index_waiting_ids();
  // Writer thread, after the group committed: its ids now wait; the pool's
  // ranges go as far as `indexed`, and once they cover it, its ids no longer
  // wait.
  void ids_committed(std::size_t indexed);

  std::filesystem::path path_;
  StoreOptions options_;
  sqlite::Connection db_;
  bool messages_keyed_by_id_ = false;  // a database made before 9f148e9 (messages WITHOUT ROWID)
  std::mutex reader_mutex_;  // guards reader_, lookup_
  // Read-only, beside the writer (WAL): owed(), expiring(), next_expiry(), accepted().
  // Destroyed before db_, as the statements are before their connections.
  std::optional<sqlite::Connection> reader_;
  std::optional<sqlite::Statement> lookup_;  // SELECT 1 FROM message_ids WHERE id = ?
  // Every id committed, and maybe others (a rolled-back group's): added by
  // the writer in apply() and, for those committed before this open, by
  // id_filter_builder_ (fill_id_filter), which sets id_filter_ready_ once it
  // has read them all. Null without a filter. Guard: none (id_filter.hpp).
  std::unique_ptr<IdFilter> id_filter_;
  std::atomic<bool> id_filter_ready_{false};
  std::atomic<bool> id_filter_stopping_{false};
  std::thread id_filter_builder_;
  void fill_id_filter();
  std::atomic<std::uint64_t> id_lookups_{0}, id_lookups_skipped_{0};  // StoreStats' two
  // Committed message ids not yet in message_ids (the bulk index), oldest
  // first, with their rowids, and as a set for accepted(): at most about
  // two pools (bulk_index_batch x id_pool_batches). Only the writer changes
  // them; the writer reads the deque without the lock.
  std::mutex unindexed_ids_mutex_;  // guards unindexed_ids_, unindexed_id_set_
  std::deque<std::pair<std::int64_t, std::string>> unindexed_ids_;
  std::unordered_set<std::string> unindexed_id_set_;
  // Writer thread only: this group's new ids, with their rowids (apply()).
  std::vector<std::pair<std::int64_t, std::string>> group_ids_;
  // Writer thread only: the pool being indexed (the oldest ids waiting,
  // sorted; empty: none), how far into it the committed ranges go (0 while
  // it is empty), and the rowid of its newest id.
  std::vector<std::string> id_pool_;
  std::size_t id_pool_indexed_ = 0;
  std::int64_t id_pool_through_ = 0;
  void drop_id_pool();
  std::optional<sqlite::Connection> checkpointer_db_;  // the checkpointer thread's (background_checkpoints)
  std::optional<sqlite::Connection> owed_reader_db_;   // read-only, the reader thread's (read_owed)
  std::unique_ptr<audit::AuditChain> audit_;  // before db_ closes: it holds prepared statements
  std::int64_t next_seq_ = 1;
  std::int64_t next_frame_id_ = 1;

  std::filesystem::path wal_path_;
  int wal_fd_ = -1;  // the syncer's own descriptor of the -wal file (its own error state for fdatasync)
  int wal_pages_ = 0;  // pages in the WAL after the last commit (the WAL hook); writer thread only

  // guards queue_, awaited_queued_, flushing_, stopping_, syncing_, durable_audit_head_, syncer_stopping_, in_flight_,
  // writer_busy_, syncer_busy_, stats_, health_, epoch_, refused_up_to_, inject_, inject_sync_, the checkpoint_* flags
  mutable std::mutex mutex_;
  std::condition_variable queue_changed_;
  std::condition_variable sync_changed_;  // syncing_ grew, or the syncer took it (the writer waits for that)
  std::condition_variable drained_;
  std::deque<Pending> queue_;
  std::size_t awaited_queued_ = 0;  // batches in queue_ that someone awaits (not Batch::unawaited)
  std::size_t flushing_ = 0;        // flush() calls waiting: nothing is held back meanwhile
  bool stopping_ = false;
  std::deque<Group> syncing_;  // committed by the writer, waiting for the syncer
  bool syncer_stopping_ = false;
  std::size_t in_flight_ = 0;  // batches taken from queue_ whose callbacks are not yet posted
  bool writer_busy_ = false;   // the writer is using db_ (committing, or checkpointing after)
  bool syncer_busy_ = false;   // the syncer has taken groups it has not yet called back
  StoreStats stats_;
  StoreHealth health_;
  std::uint64_t epoch_ = 1;
  std::uint64_t refused_up_to_ = 0;  // batches queued in an epoch up to this one are refused
  int inject_ = 0;
  int inject_sync_ = 0;
  audit::TrailHead durable_audit_head_;  // durable_audit_head()
  std::atomic<bool> broken_{false};  // a sync failed (set under mutex_)
  std::condition_variable checkpoint_changed_;
  bool checkpoint_wanted_ = false;      // the writer asks the checkpointer for one
  bool checkpoint_running_ = false;     // asked for, and its tail not yet copied by the writer
  bool checkpoint_tail_due_ = false;    // the checkpointer is done: the writer copies what was appended since
  bool checkpointer_stopping_ = false;
  std::thread writer_;
  std::thread syncer_;
  std::thread checkpointer_;

  // guards reads_, reader_stopping_, read_hook_ (the reader thread runs
  // each read and its hook outside it)
  std::mutex read_mutex_;
  std::condition_variable reads_changed_;
  std::deque<ReaderJob> reads_;
  bool reader_stopping_ = false;
  std::function<void()> read_hook_;
  std::thread owed_reader_;  // "store-reader": runs reads_ on owed_reader_db_
};

}  // namespace icegate::store

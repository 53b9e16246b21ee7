#include "gateway/store/store.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

namespace icegate::store {

namespace {

using sqlite::Statement;

// The store's SQLite errors: StoreError "reading the store: ...", "writing the
// store: ...", "preparing '<sql>': ...".
[[noreturn]] void raise_store_error(const std::string& text) { throw StoreError(text); }
constexpr sqlite::Errors store_errors{
    .raise = raise_store_error, .reading = "reading the store", .writing = "writing the store"};

sqlite::Connection open_database(const std::filesystem::path& data_dir, const std::filesystem::path& path) {
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  return sqlite::Connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, store_errors,
                            std::chrono::seconds(5));
}

// messages is indexed on id (messages_id, created below) so that the router
// need not hold every id ever accepted: it keeps the newest in memory and
// looks older ones up here (Store::accepted). Ids are random UUIDs, so the
// index puts each accepted message on a random page of its B-tree: the write
// cost of bounded memory (docs/ARCHITECTURE.md, "Memory bounds"). The table
// itself is written in rowid order, which is the order of acceptance.
constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS messages(
  id TEXT NOT NULL, originator TEXT NOT NULL, accepted_unix_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox(
  seq INTEGER PRIMARY KEY, node TEXT NOT NULL, message_id TEXT NOT NULL, needs_ack INTEGER NOT NULL,
  not_after_unix_ms INTEGER NOT NULL, originator TEXT NOT NULL, outcome BLOB, frame BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_node_message ON outbox(node, message_id);
CREATE INDEX IF NOT EXISTS outbox_node_seq ON outbox(node, seq);
CREATE INDEX IF NOT EXISTS outbox_expiry ON outbox(not_after_unix_ms) WHERE not_after_unix_ms != 0;
CREATE TABLE IF NOT EXISTS holds(id TEXT PRIMARY KEY, record BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS controlled(message_id TEXT PRIMARY KEY, record BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events(name TEXT PRIMARY KEY, node TEXT NOT NULL, triggered_unix_ms INTEGER NOT NULL)
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS occasional(node TEXT NOT NULL, time_unix_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS store_meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
)";

}  // namespace

namespace {

namespace fs = std::filesystem;

constexpr const char* meta_applied = "log_applied";  // every log record up to this seq is applied
constexpr const char* meta_outbox = "log_outbox";    // ...and its outbox entries written or settled

std::optional<std::int64_t> read_meta(const sqlite::Connection& db, const char* key) {
  Statement s(db, "SELECT value FROM store_meta WHERE key = ?");
  s.bind(1, std::string(key));
  if (!s.next()) return std::nullopt;
  return s.integer(0);
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A commit in flight is work its caller's loop still has to do: the executor
// it completes on counts it as outstanding until the callback is posted, so
// that loop's run() does not return (a shutdown does not end) while the last
// commit is still being written.
boost::asio::any_io_executor tracked(boost::asio::any_io_executor executor) {
  return boost::asio::prefer(std::move(executor), boost::asio::execution::outstanding_work.tracked);
}

// The key an acknowledgement settles by: (node, message id) of a Deliver.
std::string ack_key(std::string_view node, std::string_view message_id) {
  std::string key;
  key.reserve(node.size() + 1 + message_id.size());
  key.append(node).push_back('\0');
  key.append(message_id);
  return key;
}

void name_thread(const char* name) { ::pthread_setname_np(::pthread_self(), name); }

}  // namespace

// Prepared once, on the applier's connection; reset after each use. Used by
// the constructor (replaying the log) and then by the applier thread alone.
struct Store::Statements {
  explicit Statements(const sqlite::Connection& db)
      : message(db, "INSERT INTO messages(id, originator, accepted_unix_ms) VALUES(?, ?, ?)"),
        // OR IGNORE: replaying the log after a crash may write an entry SQLite already holds.
        outbox(db,
               "INSERT OR IGNORE INTO outbox(seq, node, message_id, needs_ack, not_after_unix_ms, originator, "
               "outcome, frame) VALUES(?, ?, ?, ?, ?, ?, ?, ?)"),
        acked(db, "DELETE FROM outbox WHERE node = ? AND message_id = ? AND needs_ack = 1"),
        sent(db, "DELETE FROM outbox WHERE seq = ?"),
        hold_put(db, "INSERT OR REPLACE INTO holds(id, record) VALUES(?, ?)"),
        hold_removed(db, "DELETE FROM holds WHERE id = ?"),
        controlled(db, "INSERT OR REPLACE INTO controlled(message_id, record) VALUES(?, ?)"),
        event(db, "INSERT OR IGNORE INTO events(name, node, triggered_unix_ms) VALUES(?, ?, ?)"),
        occasional(db, "INSERT INTO occasional(node, time_unix_ms) VALUES(?, ?)"),
        meta(db, "INSERT OR REPLACE INTO store_meta(key, value) VALUES(?, ?)") {}
  Statement message, outbox, acked, sent, hold_put, hold_removed, controlled, event, occasional, meta;
};

Store::Store(const std::filesystem::path& data_dir, StoreOptions options)
    : path_(audit::database_path(data_dir)),
      log_dir_(data_dir / "log"),
      options_(options),
      db_(open_database(data_dir, path_)) {
  try {
    exec("PRAGMA journal_mode=WAL");
    // No sync on commit: the log makes each batch durable, and the syncer
    // syncs the WAL now and then (the top of store.hpp).
    exec("PRAGMA synchronous=NORMAL");
    // Keep the hot B-tree pages (random message ids in the indexes) in memory
    // rather than reading them back from the WAL, and checkpoint less often.
    // The applier runs the checkpoints (checkpoint()): this hook replaces
    // SQLite's automatic one, and counts the WAL's pages after each commit.
    exec("PRAGMA cache_size=-65536");
    sqlite3_wal_hook(
        db_.get(),
        [](void* self, sqlite3*, const char*, int pages) {
          static_cast<Store*>(self)->wal_pages_ = pages;
          return SQLITE_OK;
        },
        this);
    exec("PRAGMA temp_store=MEMORY");
    exec(schema);
    index_message_ids();
    audit::create_schema(db_);
    audit_ = std::make_unique<audit::AuditChain>(db_);
    statements_ = std::make_unique<Statements>(db_);
    applied_seq_ = static_cast<std::uint64_t>(read_meta(db_, meta_applied).value_or(0));
    outbox_seq_ = static_cast<std::uint64_t>(read_meta(db_, meta_outbox).value_or(static_cast<std::int64_t>(applied_seq_)));
  } catch (const std::exception& e) {
    throw StoreError(fmt::format("{}: {}", path_.string(), e.what()));
  }
  open_wal();
  // The log: locked, then every record SQLite does not yet hold applied to
  // it, in transactions of 512 records, before anything reads SQLite.
  std::uint64_t replayed = 0;
  bool in_transaction = false;
  std::int64_t max_outbox_seq = 0;
  try {
    log_ = std::make_unique<SegmentLog>(
        log_dir_,
        SegmentLogOptions{.segment_bytes = options_.log_segment_bytes,
                          .sync = options_.synchronous_full,
                          .first_seq = applied_seq_ + 1},
        [&](std::uint64_t seq, std::string_view payload) {
          if (seq <= outbox_seq_) return;  // all of it is in SQLite
          if (!in_transaction) {
            exec("BEGIN IMMEDIATE");
            in_transaction = true;
          }
          replay(seq, payload, max_outbox_seq);
          if (++replayed % 512 == 0) {
            write_meta();
            exec("COMMIT");
            in_transaction = false;
          }
        });
    if (in_transaction) {
      write_meta();
      exec("COMMIT");
      in_transaction = false;
    }
  } catch (const SegmentLogLocked& e) {
    close_wal();
    throw StoreLocked(fmt::format("{}: {}", path_.string(), e.what()));
  } catch (const std::exception& e) {
    if (in_transaction) db_.try_exec("ROLLBACK");
    close_wal();
    throw StoreError(fmt::format("{}: applying its log: {}", path_.string(), e.what()));
  }
  if (const auto& report = log_->recovery(); !report.clean())
    spdlog::warn("store {}: the log's tail was damaged (a crash mid-write): {}", path_.string(), report.describe());
  replayed_ = replayed;
  if (replayed > 0)
    spdlog::info("store {}: applied {} record(s) of its log that it did not yet hold (up to seq {})", path_.string(),
                 replayed, applied_seq_);
  // What SQLite now holds is made durable, and the segments it covers go.
  std::string why;
  if (!sync_wal(&why)) {
    close_wal();
    throw StoreError(fmt::format("{}: {}", path_.string(), why));
  }
  drop_applied_segments(std::min(applied_seq_, outbox_seq_));
  try {
    durable_audit_head_ = {audit_->count(), audit_->head()};
    Statement max_seq(db_, "SELECT COALESCE(MAX(seq), 0) FROM outbox");
    if (max_seq.next()) next_seq_ = std::max(max_seq.integer(0), max_outbox_seq) + 1;
    open_reader();
    owed_reader_db_.emplace(path_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, store_errors, std::chrono::seconds(5));
    if (options_.background_checkpoints) {
      checkpointer_db_.emplace(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, store_errors,
                               std::chrono::seconds(5));
      // A checkpoint syncs as its own connection's setting says.
      if (const auto message = checkpointer_db_->try_exec("PRAGMA synchronous=NORMAL")) throw StoreError(*message);
    }
  } catch (const std::exception& e) {
    close_wal();
    throw StoreError(fmt::format("{}: {}", path_.string(), e.what()));
  }
  last_sync_ = std::chrono::steady_clock::now();
  writer_ = std::thread([this] {
    name_thread("store-writer");  // named for top -H and per-thread CPU figures
    writer_loop();
  });
  syncer_ = std::thread([this] {
    name_thread("store-syncer");
    syncer_loop();
  });
  if (options_.background_checkpoints)
    checkpointer_ = std::thread([this] {
      name_thread("store-checkpt");
      checkpointer_loop();
    });
  owed_reader_ = std::thread([this] {
    name_thread("store-reader");
    reader_loop();
  });
}

// The syncer's descriptor of the -wal file, which the reads and writes above
// have made SQLite create. A descriptor of our own: Linux reports a failed
// writeback to every open file description once (errseq), so a failure
// SQLite's own descriptor saw (at a checkpoint) is still reported to the
// syncer's next fdatasync. The directory is synced once, so that the -wal
// file and the log's directory survive power loss with their names.
void Store::open_wal() {
  wal_path_ = path_.string() + "-wal";
  wal_fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (wal_fd_ < 0)
    throw StoreError(fmt::format("{}: cannot open the write-ahead log {} to sync it: {}", path_.string(),
                                 wal_path_.string(), std::strerror(errno)));
  if (!options_.synchronous_full) return;
  const int dir = ::open(path_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = dir >= 0 && ::fsync(dir) == 0;
  const int error = errno;
  if (dir >= 0) ::close(dir);
  if (!synced) {
    close_wal();
    throw StoreError(fmt::format("{}: cannot sync the data directory {}: {}", path_.string(),
                                 path_.parent_path().string(), std::strerror(error)));
  }
}

void Store::close_wal() {
  if (wal_fd_ >= 0) ::close(wal_fd_);
  wal_fd_ = -1;
}

bool Store::sync_wal(std::string* why) {
  if (!options_.synchronous_full) return true;
  if (::fdatasync(wal_fd_) == 0) return true;
  *why = fmt::format("fdatasync of {} failed: {}", wal_path_.string(), std::strerror(errno));
  return false;
}

void Store::drop_applied_segments(std::uint64_t through) {
  try {
    log_->drop_before(through + 1);
  } catch (const std::exception& e) {
    // They are applied: the next open skips them, and drops them then.
    spdlog::warn("store {}: removing log segments SQLite holds: {}", path_.string(), e.what());
  }
}

Store::~Store() {
  {
    std::lock_guard lock(read_mutex_);
    reader_stopping_ = true;
  }
  reads_changed_.notify_all();
  owed_reader_.join();  // reads still queued are dropped with owed_reads_
  {
    // Everything appended is made durable (or refused) and called back.
    std::unique_lock lock(mutex_);
    drained_.wait(lock, [this] { return logged_ == appended_; });
    stopping_ = true;
  }
  queue_changed_.notify_all();
  writer_.join();  // applies what is queued and writes every waiting outbox entry, then tells the syncer to stop
  syncer_.join();  // after one last sync, so that the log's segments can go
  {
    std::lock_guard lock(mutex_);
    checkpointer_stopping_ = true;
  }
  checkpoint_changed_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
  log_.reset();
  close_wal();
  // The chain and the statements are prepared on db_; SQLite will not close under them.
  statements_.reset();
  audit_.reset();
}

void Store::index_message_ids() {
  // A database written before message ids were indexed is upgraded here: the
  // index is built from the rows already there (one pass, in this
  // transaction). One made before 9f148e9 keyed messages on id, WITHOUT
  // ROWID: already indexed, but with no order of acceptance but the time.
  Statement table(db_, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'");
  if (table.next() && table.text(0).find("PRIMARY KEY") != std::string::npos) {
    messages_keyed_by_id_ = true;
    return;
  }
  Statement index(db_, "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'messages_id'");
  if (index.next()) return;
  exec("CREATE INDEX messages_id ON messages(id)");
  Statement count(db_, "SELECT COUNT(*) FROM messages");
  if (count.next() && count.integer(0) > 0)
    spdlog::info("store {}: upgraded: indexed the ids of {} message(s) accepted before (messages_id)",
                 path_.string(), count.integer(0));
}

void Store::open_reader() {
  reader_.emplace(path_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, store_errors, std::chrono::seconds(5));
  lookup_.emplace(*reader_, "SELECT 1 FROM messages WHERE id = ? LIMIT 1", store_errors, "preparing the id lookup");
}

// ---------------------------------------------------------------------------
// Reads: SQLite's rows merged with the outbox entries waiting in memory.

void Store::waiting_for(const std::string& node, std::int64_t after, std::int64_t through, std::size_t limit,
                        std::vector<OutboxEntry>& out) const {
  std::size_t found = 0;
  for (auto it = waiting_.upper_bound(after); it != waiting_.end() && it->first <= through && found < limit; ++it) {
    if (it->second.entry.node != node) continue;
    out.push_back(it->second.entry);
    ++found;
  }
}

namespace {
// By seq, each seq once (an entry written to SQLite just before it left
// waiting_ can be read from both).
void merge_by_seq(std::vector<OutboxEntry>& entries) {
  std::sort(entries.begin(), entries.end(), [](const OutboxEntry& a, const OutboxEntry& b) { return a.seq < b.seq; });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const OutboxEntry& a, const OutboxEntry& b) { return a.seq == b.seq; }),
                entries.end());
}
}  // namespace

std::vector<OutboxEntry> Store::owed(const std::string& node, std::int64_t after, std::int64_t through,
                                     std::size_t limit) {
  std::lock_guard lock(reader_mutex_);
  return read_page(*reader_, {node, after, through, limit, std::numeric_limits<std::size_t>::max()}).entries;
}

Store::OwedPage Store::read_page(const sqlite::Connection& connection, const OwedQuery& query) const {
  std::vector<OutboxEntry> entries;
  {
    // Held across both reads: an entry leaves waiting_ only once SQLite holds it.
    std::lock_guard waiting(waiting_mutex_);
    // One row more than asked for: whether there is one says if the range was read through.
    Statement s(connection,
                "SELECT seq, node, message_id, needs_ack, not_after_unix_ms, originator, outcome, frame FROM outbox "
                "WHERE node = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?");
    const bool all = query.limit >= static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    s.bind(1, query.node)
        .bind(2, query.after)
        .bind(3, query.through)
        .bind(4, all ? std::int64_t{-1} : static_cast<std::int64_t>(query.limit) + 1);
    while (s.next())
      entries.push_back({s.integer(0), s.text(1), s.text(2), s.integer(3) != 0, s.integer(4), s.text(5), s.text(6),
                         s.text(7)});
    waiting_for(query.node, query.after, query.through, all ? query.limit : query.limit + 1, entries);
  }
  merge_by_seq(entries);
  OwedPage page;
  std::size_t bytes = 0;
  page.complete = true;
  for (auto& entry : entries) {
    if (page.entries.size() == query.limit ||
        (!page.entries.empty() && entry.frame.size() > query.max_bytes - std::min(bytes, query.max_bytes))) {
      page.complete = false;
      break;
    }
    bytes += entry.frame.size();
    page.entries.push_back(std::move(entry));
  }
  return page;
}

void Store::read_owed(OwedQuery query, boost::asio::any_io_executor executor, OwedRead done) {
  {
    std::lock_guard lock(read_mutex_);
    owed_reads_.push_back({std::move(query), tracked(std::move(executor)), std::move(done)});
  }
  reads_changed_.notify_one();
}

void Store::set_read_hook(std::function<void()> hook) {
  std::lock_guard lock(read_mutex_);
  read_hook_ = std::move(hook);
}

void Store::reader_loop() {
  for (;;) {
    OwedRequest request;
    std::function<void()> hook;
    {
      std::unique_lock lock(read_mutex_);
      reads_changed_.wait(lock, [this] { return reader_stopping_ || !owed_reads_.empty(); });
      if (reader_stopping_) return;
      request = std::move(owed_reads_.front());
      owed_reads_.pop_front();
      hook = read_hook_;
    }
    if (hook) hook();
    OwedPage page;
    try {
      page = read_page(*owed_reader_db_, request.query);
    } catch (const std::exception& e) {
      // Nothing read, and not complete: the caller asks again when it next needs frames.
      spdlog::error("store {}: reading back the frames owed to {}: {}", path_.string(), request.query.node, e.what());
      page = {};
    }
    boost::asio::post(request.executor, [done = std::move(request.done), page = std::move(page)]() mutable {
      done(std::move(page));
    });
  }
}

std::vector<OutboxEntry> Store::expiring(std::int64_t before, std::int64_t after_not_after, std::int64_t after_seq,
                                         std::size_t limit) {
  std::lock_guard lock(reader_mutex_);
  std::vector<OutboxEntry> entries;
  const auto position = std::make_pair(after_not_after, after_seq);
  {
    std::lock_guard waiting(waiting_mutex_);
    // `not_after_unix_ms != 0` as the partial index says, so that it is used;
    // its rowid (seq) orders entries of the same expiry.
    Statement s(*reader_,
                "SELECT seq, node, message_id, needs_ack, not_after_unix_ms, originator, outcome FROM outbox "
                "WHERE not_after_unix_ms != 0 AND not_after_unix_ms < ? AND (not_after_unix_ms, seq) > (?, ?) "
                "ORDER BY not_after_unix_ms, seq LIMIT ?");
    s.bind(1, before).bind(2, after_not_after).bind(3, after_seq).bind(4, static_cast<std::int64_t>(limit));
    while (s.next())
      entries.push_back(
          {s.integer(0), s.text(1), s.text(2), s.integer(3) != 0, s.integer(4), s.text(5), s.text(6), {}});
    for (const auto& [seq, waiting] : waiting_) {
      const auto& e = waiting.entry;
      if (e.not_after_unix_ms == 0 || e.not_after_unix_ms >= before) continue;
      if (std::make_pair(e.not_after_unix_ms, e.seq) <= position) continue;
      entries.push_back({e.seq, e.node, e.message_id, e.needs_ack, e.not_after_unix_ms, e.originator, e.outcome, {}});
    }
  }
  std::sort(entries.begin(), entries.end(), [](const OutboxEntry& a, const OutboxEntry& b) {
    return std::make_pair(a.not_after_unix_ms, a.seq) < std::make_pair(b.not_after_unix_ms, b.seq);
  });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const OutboxEntry& a, const OutboxEntry& b) { return a.seq == b.seq; }),
                entries.end());
  if (entries.size() > limit) entries.resize(limit);
  return entries;
}

std::int64_t Store::next_expiry(std::int64_t from) {
  std::lock_guard lock(reader_mutex_);
  std::lock_guard waiting(waiting_mutex_);
  Statement s(*reader_, "SELECT MIN(not_after_unix_ms) FROM outbox WHERE not_after_unix_ms != 0 AND not_after_unix_ms >= ?");
  s.bind(1, from);
  std::int64_t first = s.next() ? s.integer(0) : 0;
  for (const auto& [seq, w] : waiting_) {
    const auto not_after = w.entry.not_after_unix_ms;
    if (not_after != 0 && not_after >= from && (first == 0 || not_after < first)) first = not_after;
  }
  return first;
}

bool Store::accepted(const std::string& id) {
  std::lock_guard lock(reader_mutex_);
  lookup_->bind(1, id);
  const bool found = lookup_->next("looking up a message id");
  lookup_->reset();
  return found;
}

void Store::exec(const char* sql) {
  if (const auto message = db_.try_exec(sql)) {
    throw StoreError(fmt::format("{} ({})", *message, std::string_view(sql).substr(0, 60)));
  }
}

Recovered Store::recover(std::size_t newest_messages, std::size_t owed_per_node, std::size_t owed_bytes_per_node) {
  // Everything committed so far is durable, applied and called back; the
  // reads are on the reader connection (the applier keeps db_).
  flush();
  Recovered recovered;
  std::lock_guard lock(reader_mutex_);
  const sqlite::Connection& db = *reader_;
  {
    // Newest first by rowid (the order of acceptance), one more than asked
    // for to tell whether that was all. LIMIT -1 is no limit.
    const bool all = newest_messages >= static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    Statement s(db, messages_keyed_by_id_
                        ? "SELECT id, originator, accepted_unix_ms FROM messages ORDER BY accepted_unix_ms DESC LIMIT ?"
                        : "SELECT id, originator, accepted_unix_ms FROM messages ORDER BY rowid DESC LIMIT ?");
    s.bind(1, all ? std::int64_t{-1} : static_cast<std::int64_t>(newest_messages) + 1);
    while (s.next()) recovered.messages.push_back({s.text(0), s.text(1), s.integer(2)});
    if (recovered.messages.size() > newest_messages) {
      recovered.messages.pop_back();
      recovered.all_messages = false;
    }
    std::reverse(recovered.messages.begin(), recovered.messages.end());
  }
  {
    std::lock_guard waiting(waiting_mutex_);
    // Per node: how many frames it is owed and the last (SQLite's rows and
    // the entries waiting in memory, which are not among them), then its
    // first `owed_per_node`; and when the first expires.
    std::map<std::string, Recovered::Owed, std::less<>> owed;
    Statement summary(db, "SELECT node, COUNT(*), MAX(seq) FROM outbox GROUP BY node");
    while (summary.next())
      owed[summary.text(0)] = {summary.text(0), static_cast<std::size_t>(summary.integer(1)), summary.integer(2)};
    for (const auto& [seq, w] : waiting_) {
      auto& o = owed[w.entry.node];
      o.node = w.entry.node;
      o.count += 1;
      o.last_seq = std::max(o.last_seq, seq);
    }
    const bool all = owed_per_node >= static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    for (auto& [node, o] : owed) {
      std::vector<OutboxEntry> first_entries;
      Statement first(db,
                      "SELECT seq, node, message_id, needs_ack, not_after_unix_ms, originator, outcome, frame FROM "
                      "outbox WHERE node = ? ORDER BY seq LIMIT ?");
      first.bind(1, node).bind(2, all ? std::int64_t{-1} : static_cast<std::int64_t>(owed_per_node));
      while (first.next())
        first_entries.push_back({first.integer(0), first.text(1), first.text(2), first.integer(3) != 0,
                                 first.integer(4), first.text(5), first.text(6), first.text(7)});
      waiting_for(node, 0, std::numeric_limits<std::int64_t>::max(), owed_per_node, first_entries);
      merge_by_seq(first_entries);
      std::size_t bytes = 0;
      std::size_t taken = 0;
      for (auto& entry : first_entries) {
        if (taken == owed_per_node) break;
        if (taken > 0 && entry.frame.size() > owed_bytes_per_node - std::min(bytes, owed_bytes_per_node)) break;
        bytes += entry.frame.size();
        ++taken;
        recovered.outbox.push_back(std::move(entry));
      }
      recovered.owed.push_back(std::move(o));
    }
    Statement first_expiry(db, "SELECT MIN(not_after_unix_ms) FROM outbox WHERE not_after_unix_ms != 0");
    if (first_expiry.next()) recovered.first_expiry_unix_ms = first_expiry.integer(0);
    for (const auto& [seq, w] : waiting_) {
      const auto not_after = w.entry.not_after_unix_ms;
      if (not_after != 0 && (recovered.first_expiry_unix_ms == 0 || not_after < recovered.first_expiry_unix_ms))
        recovered.first_expiry_unix_ms = not_after;
    }
    std::sort(recovered.outbox.begin(), recovered.outbox.end(),
              [](const OutboxEntry& a, const OutboxEntry& b) { return a.seq < b.seq; });
  }
  {
    Statement s(db, "SELECT id, record FROM holds");
    while (s.next()) recovered.holds.push_back({s.text(0), s.text(1)});
  }
  {
    Statement s(db, "SELECT message_id, record FROM controlled");
    while (s.next()) recovered.controlled.push_back({s.text(0), s.text(1)});
  }
  {
    Statement s(db, "SELECT name, node, triggered_unix_ms FROM events");
    while (s.next()) recovered.events.push_back({s.text(0), s.text(1), s.integer(2)});
  }
  {
    Statement s(db, "SELECT node, time_unix_ms FROM occasional ORDER BY time_unix_ms");
    while (s.next()) recovered.occasional.push_back({s.text(0), s.integer(1)});
  }
  {
    std::lock_guard state(mutex_);
    recovered.audit_records = durable_audit_head_.seq;
  }
  return recovered;
}

// ---------------------------------------------------------------------------
// Commits: the log, then SQLite, then the callbacks.

void Store::commit(Batch batch, boost::asio::any_io_executor executor, std::function<void(bool)> done) {
  auto pending = std::make_shared<Pending>();
  pending->batch = std::move(batch);
  pending->executor = tracked(std::move(executor));
  pending->done = std::move(done);
  append(std::move(pending));
}

void Store::commit(Batch batch, boost::asio::any_io_executor executor, OutboxDone done) {
  auto pending = std::make_shared<Pending>();
  pending->batch = std::move(batch);
  pending->executor = tracked(std::move(executor));
  pending->outbox_done = std::move(done);
  append(std::move(pending));
}

void Store::append(std::shared_ptr<Pending> pending) {
  std::vector<std::string> payloads;
  if (!pending->batch.empty()) {
    payloads.emplace_back();
    encode_batch(pending->batch, payloads.back());
  }
  {
    std::lock_guard lock(mutex_);
    ++appended_;
  }
  // An empty batch writes nothing, and is called back in its place in order.
  log_->append(std::move(payloads), [this, pending](bool ok, std::uint64_t last_seq) {
    pending->durable = ok;
    pending->log_seq = pending->batch.empty() ? 0 : last_seq;
    {
      std::lock_guard lock(mutex_);
      ++logged_;
      queue_.push_back(std::move(*pending));
    }
    queue_changed_.notify_one();
    drained_.notify_all();
  });
}

void Store::flush() {
  std::unique_lock lock(mutex_);
  drained_.wait(lock, [this] { return logged_ == appended_ && queue_.empty() && !applier_busy_; });
}

StoreStats Store::stats() const {
  const auto log = log_->stats();
  std::lock_guard lock(mutex_);
  StoreStats stats = stats_;
  stats.syncs = log.syncs;
  stats.log_bytes = log.bytes;
  return stats;
}

audit::TrailHead Store::durable_audit_head() const {
  std::lock_guard lock(mutex_);
  return durable_audit_head_;
}

StoreHealth Store::health() const {
  std::lock_guard lock(mutex_);
  return health_;
}

std::uint64_t Store::epoch() const {
  std::lock_guard lock(mutex_);
  return epoch_;
}

void Store::resume() {
  std::lock_guard lock(mutex_);
  if (restart_required()) return;  // nothing is accepted again until the process restarts
  ++epoch_;
  log_->resume();
}

void Store::inject_commit_failure(int writes) {
  log_->inject_write_failure(writes, "injected commit failure (the Store::inject_commit_failure test hook)");
}

void Store::inject_apply_failure(int groups) { inject_apply_.store(groups); }

void Store::inject_sync_failure(int syncs) {
  log_->inject_sync_failure(
      syncs, fmt::format("fdatasync of {} failed: injected sync failure (the Store::inject_sync_failure test hook)",
                         log_dir_.string()));
}

void Store::writer_loop() {
  while (true) {
    std::deque<Pending> work;
    bool stopping;
    {
      std::unique_lock lock(mutex_);
      for (;;) {
        if (!queue_.empty() || stopping_) break;
        // Nothing queued: wake when the oldest waiting outbox entry is due.
        if (waiting_.empty()) {
          queue_changed_.wait(lock);
          continue;
        }
        const auto due = waiting_.begin()->second.since + options_.outbox_delay;
        if (std::chrono::steady_clock::now() >= due) break;
        queue_changed_.wait_until(lock, due);
      }
      stopping = stopping_;
      if (stopping && queue_.empty() && waiting_.empty()) break;
      const std::size_t take = std::min(queue_.size(), options_.max_batch);
      for (std::size_t i = 0; i < take; ++i) {
        work.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      applier_busy_ = true;
    }
    // Records cut off the log after SQLite could not apply them (cut_back):
    // called back durable by the log before the cut, failed now.
    for (auto& pending : work)
      if (pending.durable && pending.log_seq >= cut_from_ && pending.log_seq <= cut_through_) pending.durable = false;
    const bool write_all_waiting = stopping && work.size() == 0;
    std::string why;
    const bool applied = apply_group(work, write_all_waiting, &why);
    if (!applied && cut_back(work, why)) {
      // Cut off the log: as if the log's own write had failed.
      for (auto& pending : work) pending.durable = false;
    } else if (!applied) {
      // SQLite could not apply what the log made durable (a full disk), and
      // the log could not be cut back before it: keep it queued, say why, and
      // try again shortly. Nothing is called back meanwhile.
      spdlog::error("store {}: applying {} durable batch(es) failed and was rolled back: {}; they stay in the log "
                    "and are tried again",
                    path_.string(), work.size(), why);
      std::unique_lock lock(mutex_);
      if (!broken_.load()) {
        health_.ok = false;
        health_.reason = fmt::format("{} (the batches are durable in the log, and are applied when it can be)", why);
        health_.failed_at_unix_ms = unix_ms_now();
      }
      if (stopping) {
        // Left in the log: the next open applies them.
        applier_busy_ = false;
        queue_.clear();
        drained_.notify_all();
        break;
      }
      while (!work.empty()) {
        queue_.push_front(std::move(work.back()));
        work.pop_back();
      }
      applier_busy_ = false;
      drained_.notify_all();
      queue_changed_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; });
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      // Health follows the batches in log order: a failed write makes it bad,
      // a later batch that wrote and is durable makes it good again; a failed
      // sync makes it bad for good.
      for (const auto& pending : work) {
        if (pending.durable) {
          if (!pending.batch.empty() && !restart_required()) health_ = {};
          continue;
        }
        const auto log = log_->health();
        if (log.failed) {
          break_for_good(log.why);
        } else if (!pending.batch.empty() && (health_.ok || health_.reason != log.why)) {
          stats_.failed_commits += 1;
          health_.ok = false;
          health_.reason = log.why;
          health_.failed_at_unix_ms = unix_ms_now();
        }
      }
      // Before its callbacks are posted: whoever a callback tells may sign it.
      durable_audit_head_ = {audit_->count(), audit_->head()};
    }
    for (auto& pending : work) {
      const bool ok = pending.durable;
      if (pending.done)
        boost::asio::post(pending.executor, [done = std::move(pending.done), ok] { done(ok); });
      if (pending.outbox_done)
        boost::asio::post(pending.executor, [done = std::move(pending.outbox_done), ok,
                                             outbox = std::move(pending.batch.outbox)]() mutable { done(ok, outbox); });
    }
    bool want_sync = false;
    {
      std::lock_guard lock(mutex_);
      applier_busy_ = false;
      const auto now = std::chrono::steady_clock::now();
      if (!sync_wanted_ && now - last_sync_ >= options_.sqlite_sync_interval) {
        sync_wanted_ = want_sync = true;
        sync_seq_ = std::min(applied_seq_, outbox_seq_);
        last_sync_ = now;
      }
    }
    drained_.notify_all();
    if (want_sync) sync_changed_.notify_all();
    after_commit_checkpoint();
  }
  {
    std::lock_guard lock(mutex_);
    sync_wanted_ = true;
    sync_seq_ = std::min(applied_seq_, outbox_seq_);
    syncer_stopping_ = true;
  }
  sync_changed_.notify_all();
  drained_.notify_all();
}

// SQLite could not apply `work` (its disk is full): the log is cut back to
// before the group's first record, so that the group, and every record
// appended after it (made on top of it), is not stored, as when the log's own
// write fails; they are called back not ok, and the log refuses appends until
// resume(). False if the log could not be cut there.
bool Store::cut_back(const std::deque<Pending>& work, const std::string& why) {
  std::uint64_t first = 0;
  for (const auto& pending : work)
    if (pending.durable && pending.log_seq != 0) {
      first = pending.log_seq;
      break;
    }
  if (first == 0) return false;
  const std::uint64_t last = log_->cut_back(first, why);
  if (last == 0) {
    spdlog::error("store {}: the log could not be cut back to before record {}: {}", path_.string(), first,
                  log_->health().why);
    return false;
  }
  spdlog::error("store {}: applying {} durable batch(es) failed and was rolled back: {}; the log was cut back to "
                "before record {}, so they and what was appended after them are not stored",
                path_.string(), work.size(), why, first);
  cut_from_ = first;
  cut_through_ = last;
  return true;
}

bool Store::apply_group(std::deque<Pending>& work, bool write_all_waiting, std::string* why) {
  const auto now = std::chrono::steady_clock::now();
  // Nothing to write (empty batches, refused ones, no waiting entry due): no
  // transaction, so that an empty commit neither costs a write nor fails on a full disk.
  const bool any_batch = std::any_of(work.begin(), work.end(),
                                     [](const Pending& p) { return p.durable && !p.batch.empty(); });
  const bool any_due = !waiting_.empty() && (write_all_waiting || options_.outbox_delay.count() <= 0 ||
                                             now >= waiting_.begin()->second.since + options_.outbox_delay ||
                                             waiting_.size() > options_.outbox_waiting_entries ||
                                             waiting_bytes_ > options_.outbox_waiting_bytes);
  if (!any_batch && !any_due) return true;
  std::uint64_t applied = applied_seq_;
  // New owed entries of this group (by seq), and the acknowledgement keys of
  // those and of the waiting ones.
  std::map<std::int64_t, Waiting> fresh;
  std::unordered_multimap<std::string, std::int64_t> fresh_keys;
  std::vector<std::int64_t> settled_waiting;  // seqs in waiting_ settled by this group
  std::size_t skipped = 0;
  std::size_t written = 0;
  auto settle_seq = [&](std::int64_t seq) {
    if (fresh.erase(seq) > 0) {
      ++skipped;
      return true;
    }
    if (waiting_.contains(seq) &&
        std::find(settled_waiting.begin(), settled_waiting.end(), seq) == settled_waiting.end()) {
      settled_waiting.push_back(seq);
      ++skipped;
      return true;
    }
    return false;
  };
  try {
    exec("BEGIN IMMEDIATE");
    auto& statements = *statements_;
    for (auto& pending : work) {
      if (!pending.durable || pending.batch.empty()) continue;
      const Batch& batch = pending.batch;
      apply_visible(batch);
      for (const auto& entry : batch.outbox) {
        fresh.emplace(entry.seq, Waiting{entry, pending.log_seq, now});
        if (entry.needs_ack) fresh_keys.emplace(ack_key(entry.node, entry.message_id), entry.seq);
      }
      for (const auto& [node, message_id] : batch.acked) {
        // One Deliver is owed per (node, message) at a time: settled where it waits, or deleted from SQLite.
        const std::string key = ack_key(node, message_id);
        bool found = false;
        for (auto [it, end] = fresh_keys.equal_range(key); it != end; ++it) found |= settle_seq(it->second);
        for (auto [it, end] = waiting_keys_.equal_range(key); it != end; ++it) found |= settle_seq(it->second);
        if (!found) statements.acked.bind(1, node).bind(2, message_id).run();
      }
      for (const auto seq : batch.sent)
        if (!settle_seq(seq)) statements.sent.bind(1, seq).run();
      applied = std::max(applied, pending.log_seq);
    }
    // What waits on: the entries not settled, oldest first. Those due (or
    // beyond the bounds, or all when stopping) are written now.
    std::vector<std::int64_t> write_waiting;
    std::size_t count = waiting_.size() - settled_waiting.size() + fresh.size();
    std::size_t bytes = waiting_bytes_;
    for (const auto seq : settled_waiting) bytes -= waiting_.at(seq).entry.frame.size();
    for (const auto& [seq, w] : fresh) bytes += w.entry.frame.size();
    for (const auto& [seq, w] : waiting_) {
      if (std::find(settled_waiting.begin(), settled_waiting.end(), seq) != settled_waiting.end()) continue;
      const bool due = write_all_waiting || now >= w.since + options_.outbox_delay ||
                       count > options_.outbox_waiting_entries || bytes > options_.outbox_waiting_bytes;
      if (!due) break;  // by seq, which is the order they came in
      insert_outbox(w.entry);
      write_waiting.push_back(seq);
      --count;
      bytes -= w.entry.frame.size();
    }
    std::vector<std::int64_t> write_fresh;
    for (const auto& [seq, w] : fresh) {
      const bool due = write_all_waiting || options_.outbox_delay.count() <= 0 ||
                       count > options_.outbox_waiting_entries || bytes > options_.outbox_waiting_bytes;
      if (!due) break;
      insert_outbox(w.entry);
      write_fresh.push_back(seq);
      --count;
      bytes -= w.entry.frame.size();
    }
    written = write_waiting.size() + write_fresh.size();
    for (const auto seq : write_fresh) fresh.erase(seq);
    // How far the log is applied, outbox included: up to the oldest record
    // that still owes a waiting entry.
    std::uint64_t outbox = applied;
    for (const auto& [seq, w] : waiting_) {
      if (std::find(settled_waiting.begin(), settled_waiting.end(), seq) != settled_waiting.end() ||
          std::find(write_waiting.begin(), write_waiting.end(), seq) != write_waiting.end())
        continue;
      outbox = std::min(outbox, w.log_seq - 1);
    }
    for (const auto& [seq, w] : fresh) outbox = std::min(outbox, w.log_seq - 1);
    const std::uint64_t applied_before = applied_seq_, outbox_before = outbox_seq_;
    applied_seq_ = applied;
    outbox_seq_ = outbox;
    try {
      write_meta();
      if (inject_apply_.load() > 0) {
        --inject_apply_;
        throw StoreError("injected apply failure (the Store::inject_apply_failure test hook)");
      }
      exec("COMMIT");
    } catch (...) {
      applied_seq_ = applied_before;
      outbox_seq_ = outbox_before;
      throw;
    }
    // SQLite holds it all now: the waiting entries change to match.
    std::lock_guard waiting(waiting_mutex_);
    auto forget = [&](std::int64_t seq) {
      auto it = waiting_.find(seq);
      if (it == waiting_.end()) return;
      waiting_bytes_ -= it->second.entry.frame.size();
      if (it->second.entry.needs_ack) {
        for (auto [k, end] = waiting_keys_.equal_range(
                 ack_key(it->second.entry.node, it->second.entry.message_id));
             k != end; ++k)
          if (k->second == seq) {
            waiting_keys_.erase(k);
            break;
          }
      }
      waiting_.erase(it);
    };
    for (const auto seq : settled_waiting) forget(seq);
    for (const auto seq : write_waiting) forget(seq);
    for (auto& [seq, w] : fresh) {
      waiting_bytes_ += w.entry.frame.size();
      if (w.entry.needs_ack) waiting_keys_.emplace(ack_key(w.entry.node, w.entry.message_id), seq);
      waiting_.emplace(seq, std::move(w));
    }
  } catch (const std::exception& e) {
    *why = e.what();
    // SQLite rolls back by itself after SQLITE_FULL or an I/O error; then this fails, harmlessly.
    db_.try_exec("ROLLBACK");
    audit_->reload_head();
    return false;
  }
  std::lock_guard lock(mutex_);
  stats_.commits += 1;
  stats_.operations += work.size();
  stats_.outbox_written += written;
  stats_.outbox_skipped += skipped;
  return true;
}

void Store::apply_visible(const Batch& batch) {
  auto& s = *statements_;
  for (const auto& m : batch.messages) s.message.bind(1, m.id).bind(2, m.originator).bind(3, m.accepted_unix_ms).run();
  for (const auto& h : batch.holds_put) s.hold_put.bind(1, h.key).bind_blob(2, h.value).run();
  for (const auto& id : batch.holds_removed) s.hold_removed.bind(1, id).run();
  for (const auto& c : batch.controlled_put) s.controlled.bind(1, c.key).bind_blob(2, c.value).run();
  for (const auto& e : batch.events) s.event.bind(1, e.name).bind(2, e.node).bind(3, e.time_unix_ms).run();
  for (const auto& o : batch.occasional) s.occasional.bind(1, o.node).bind(2, o.time_unix_ms).run();
  for (const auto& record : batch.audit) audit_->append(record);
}

void Store::insert_outbox(const OutboxEntry& e) {
  statements_->outbox.bind(1, e.seq)
      .bind(2, e.node)
      .bind(3, e.message_id)
      .bind(4, std::int64_t{e.needs_ack})
      .bind(5, e.not_after_unix_ms)
      .bind(6, e.originator)
      .bind_blob(7, e.outcome)
      .bind_blob(8, e.frame)
      .run();
}

void Store::replay(std::uint64_t seq, std::string_view payload, std::int64_t& max_outbox_seq) {
  std::string why;
  const auto batch = decode_batch(payload, &why);
  if (!batch) throw StoreError(fmt::format("log record {} cannot be read: {}", seq, why));
  // Records up to applied_seq_ were applied but for their outbox entries:
  // those (and their settlements) are applied again, idempotently.
  if (seq > applied_seq_) apply_visible(*batch);
  auto& s = *statements_;
  for (const auto& entry : batch->outbox) {
    insert_outbox(entry);
    max_outbox_seq = std::max(max_outbox_seq, entry.seq);
  }
  for (const auto& [node, message_id] : batch->acked) s.acked.bind(1, node).bind(2, message_id).run();
  for (const auto settled : batch->sent) s.sent.bind(1, settled).run();
  applied_seq_ = std::max(applied_seq_, seq);
  outbox_seq_ = seq;
}

void Store::write_meta() {
  auto& put = statements_->meta;
  put.bind(1, std::string(meta_applied)).bind(2, static_cast<std::int64_t>(applied_seq_)).run();
  put.bind(1, std::string(meta_outbox)).bind(2, static_cast<std::int64_t>(outbox_seq_)).run();
}

void Store::syncer_loop() {
  while (true) {
    std::uint64_t through;
    bool last;
    {
      std::unique_lock lock(mutex_);
      sync_changed_.wait(lock, [this] { return sync_wanted_ || syncer_stopping_; });
      if (!sync_wanted_) break;
      through = sync_seq_;
      sync_wanted_ = false;
      last = syncer_stopping_;
    }
    // Every SQLite commit up to `through` was written before this call: once
    // it returns 0 they are durable in SQLite, and the log need not keep them.
    std::string why;
    if (!restart_required()) {
      if (sync_wal(&why)) {
        {
          std::lock_guard lock(mutex_);
          stats_.sqlite_syncs += 1;
        }
        drop_applied_segments(through);
      } else {
        std::lock_guard lock(mutex_);
        break_for_good(why);
      }
    }
    if (last) break;
  }
}

bool Store::checkpoint(const sqlite::Connection& connection, bool writer) {
  // PASSIVE: copies what no reader still needs and does not wait for anyone.
  // With synchronous=NORMAL it syncs the WAL before copying and the database
  // after a complete copy; the next commit then starts the WAL over.
  const auto started = std::chrono::steady_clock::now();
  int log_pages = 0;
  int copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(connection.get(), "main", SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied);
  const auto took = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
  std::lock_guard lock(mutex_);
  stats_.checkpoints += 1;
  stats_.checkpoint_us += took;
  if (writer) stats_.writer_checkpoint_us += took;
  if (rc == SQLITE_OK) return true;
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return false;  // another connection checkpoints: try again later
  break_for_good(fmt::format("a checkpoint of {} failed: {}", path_.string(), sqlite3_errmsg(connection.get())));
  return false;
}

// Checkpoints beside the writer, on a connection of their own: the bulk of
// the copy into icegate.db, and its two syncs, without stopping the writer.
// The writer appends meanwhile, so such a checkpoint is never complete and
// the WAL would never start over: the writer then copies the few frames
// appended since (checkpoint_tail_due_), which lets its next commit reset it.
void Store::checkpointer_loop() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      checkpoint_changed_.wait(lock, [this] { return checkpoint_wanted_ || checkpointer_stopping_; });
      if (checkpointer_stopping_) break;
      checkpoint_wanted_ = false;
    }
    checkpoint(*checkpointer_db_, false);
    std::lock_guard lock(mutex_);
    checkpoint_tail_due_ = true;
  }
}

void Store::after_commit_checkpoint() {
  if (!options_.background_checkpoints) {
    if (wal_pages_ >= options_.checkpoint_pages && checkpoint(db_, true)) wal_pages_ = 0;
    return;
  }
  bool tail = false;
  bool start = false;
  {
    std::lock_guard lock(mutex_);
    if (checkpoint_tail_due_) {
      tail = true;
      checkpoint_tail_due_ = false;
      checkpoint_running_ = false;
    } else if (wal_pages_ >= options_.checkpoint_pages && !checkpoint_running_) {
      checkpoint_running_ = true;
      checkpoint_wanted_ = true;
      start = true;
    }
  }
  if (start) checkpoint_changed_.notify_all();
  // Pages still in the WAL beyond what was copied: counted again after the next commit.
  if (tail && checkpoint(db_, true)) wal_pages_ = 0;
}

void Store::break_for_good(const std::string& why) {
  if (broken_.load(std::memory_order_relaxed)) return;  // the first failure is the one to report
  const std::string reason =
      fmt::format("{}; what the disk holds can no longer be trusted: the store accepts nothing more and the gateway "
                  "must be restarted",
                  why);
  spdlog::critical("store: {}", reason);
  broken_.store(true, std::memory_order_release);
  health_.ok = false;
  health_.reason = reason;
  health_.failed_at_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  health_.restart_required = true;
}


std::uint64_t catch_up(const std::filesystem::path& data_dir) {
  const auto log = data_dir / "log";
  std::error_code error;
  if (!std::filesystem::is_directory(log, error)) return 0;  // written before the log, or not a data directory
  if (::access(log.c_str(), W_OK) != 0) return 0;            // read-only: read what SQLite holds
  try {
    Store store(data_dir);  // opening applies the log; closing syncs SQLite and drops what it holds
    return store.replayed_records();
  } catch (const StoreLocked&) {
    return 0;  // a gateway has it open, and keeps SQLite current itself
  }
}

}  // namespace icegate::store

#include "gateway/store/store.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
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

// The ids of accepted messages are indexed (message_ids) so that the router
// need not hold every id ever accepted: it keeps the newest in memory and
// looks older ones up here (Store::accepted). Ids are random UUIDs: indexed
// one by one, as each commit went (the index messages_id on messages(id)),
// each put its message on a random page of the B-tree, about 4 KB of WAL
// and 12 µs of the writer per message. They are indexed in bulk instead:
// pooled (StoreOptions::id_pool_batches batches), sorted, and added one key
// range of bulk_index_batch ids per group (index_waiting_ids), so that each
// range rewrites a part of the tree, not all of it; until its whole pool is
// in, an id is held in memory. message_ids_indexed holds the rowid of
// messages up to which every id is in message_ids (docs/ARCHITECTURE.md,
// "Memory bounds"). The table itself is written in rowid order, which is
// the order of acceptance.
//
// An outbox entry leaves by its seq (Batch::settled), an acknowledged
// Deliver too: the router's ledger knows which seq each Ack settles. An
// index on (node, message_id) found acknowledged Delivers until then, at an
// index entry written and deleted for every entry, on a page set by the
// random message id; a data directory written before loses it when opened.
// A frame several entries of one batch share (a fan-out's version of a
// Deliver, OutboxEntry::frame_id) is a row of frames, written once; each
// entry's row has an empty frame and the frame's id (indexed, for those
// rows only), and the last entry to leave deletes it. (Not a count of
// references in the frame's row: SQLite rewrites a whole row to update one
// column, here the frame's bytes at every Ack.) Before
// (until 2026-12-07), each recipient's row held its own copy: under W2 the
// outbox's copies were about half the bytes the store wrote. An outbox from
// before gains the frame_id column when opened (add_frame_ids).
constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS messages(
  id TEXT NOT NULL, originator TEXT NOT NULL, accepted_unix_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox(
  seq INTEGER PRIMARY KEY, node TEXT NOT NULL, message_id TEXT NOT NULL, needs_ack INTEGER NOT NULL,
  not_after_unix_ms INTEGER NOT NULL, originator TEXT NOT NULL, outcome BLOB, frame BLOB NOT NULL,
  frame_id INTEGER);
CREATE TABLE IF NOT EXISTS frames(id INTEGER PRIMARY KEY, frame BLOB NOT NULL);
DROP INDEX IF EXISTS outbox_node_message;
CREATE INDEX IF NOT EXISTS outbox_node_seq ON outbox(node, seq);
CREATE INDEX IF NOT EXISTS outbox_expiry ON outbox(not_after_unix_ms) WHERE not_after_unix_ms != 0;
CREATE TABLE IF NOT EXISTS holds(id TEXT PRIMARY KEY, record BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS controlled(message_id TEXT PRIMARY KEY, record BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events(name TEXT PRIMARY KEY, node TEXT NOT NULL, triggered_unix_ms INTEGER NOT NULL)
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS occasional(node TEXT NOT NULL, time_unix_ms INTEGER NOT NULL);
)";

// What the readers of owed frames select, in OutboxEntry's order: the
// frame last, its own or the shared one it refers to.
#define ICEGATE_OWED_COLUMNS                                                                                     \
  "seq, node, message_id, needs_ack, not_after_unix_ms, originator, outcome, "                                  \
  "CASE WHEN frame_id IS NULL THEN frame ELSE (SELECT f.frame FROM frames f WHERE f.id = outbox.frame_id) END"

// Created by index_message_ids once it knows what to fill them with.
constexpr const char* message_ids_schema = R"(
CREATE TABLE message_ids(id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE message_ids_indexed(through_rowid INTEGER NOT NULL);
)";

// How many rows the bulk indexes take at a time (StoreOptions::bulk_index_batch, at least 1).
std::int64_t bulk_batch(const StoreOptions& options) { return std::max<std::int64_t>(options.bulk_index_batch, 1); }

}  // namespace

bool Batch::empty() const {
  return messages.empty() && outbox.empty() && settled.empty() && holds_put.empty() &&
         holds_removed.empty() && controlled_put.empty() && events.empty() && occasional.empty() && audit.empty();
}

Store::Store(const std::filesystem::path& data_dir, StoreOptions options)
    : path_(audit::database_path(data_dir)), options_(options), db_(open_database(data_dir, path_)) {
  try {
    // Pages of 8 KiB rather than SQLite's 4: a W1 message's rows (a 1 KB
    // frame in the outbox, two audit records, their index entries) then
    // take 2.5 WAL writes rather than 4.2, and the writer's B-trees half as
    // many pages. Measured (docs/PERFORMANCE.md, "Pages of 8 KiB"): the
    // store alone takes 4-13% less CPU a message, W2 a few percent less, W1
    // end to end within a run's spread; about 15% more bytes are written (a
    // commit rewrites the last, partly filled page of each tree, now twice
    // the size); 16 KiB took little less CPU again for 42% more bytes. It
    // applies to a database this creates: one written before keeps its
    // 4 KiB pages (SQLite changes them only on a VACUUM).
    exec("PRAGMA page_size=8192");
    exec("PRAGMA journal_mode=WAL");
    // No sync on commit: the syncer makes each group durable (the top of store.hpp).
    exec("PRAGMA synchronous=NORMAL");
    // A page cache of 8 MiB (SQLite's default is 2). It was 64 MiB while
    // message ids were indexed one by one, each on a random page of the
    // index; the ids are now indexed in bulk and every other tree is
    // written at its end, so the pages written are the few last ones of each
    // tree. The larger cache cost time at every commit (SQLite walks its
    // page cache's hash table when a transaction ends, the larger the cache
    // the longer) and 70 MB of RSS. Over 2.1 million W1 messages the two
    // took the same CPU (docs/PERFORMANCE.md, "Three minutes of W1").
    //
    // Checkpoints are less often than SQLite's (every checkpoint_pages WAL
    // pages rather than 1,000): outbox and index pages rewritten by many
    // commits are then copied into the database once per checkpoint. The
    // writer runs the checkpoints itself (checkpoint()): this hook replaces
    // SQLite's automatic one, and counts the WAL's pages after each commit.
    exec("PRAGMA cache_size=-8192");
    sqlite3_wal_hook(
        db_.get(),
        [](void* self, sqlite3*, const char*, int pages) {
          static_cast<Store*>(self)->wal_pages_ = pages;
          return SQLITE_OK;
        },
        this);
    exec("PRAGMA temp_store=MEMORY");
    // A settled Deliver's frame is a message's content: deleted, its bytes
    // are overwritten, not left in the pages' free space, whatever the
    // SQLite library was built with (Debian's is built with it on). It costs
    // 6% of the writer's instructions (callgrind, BM_MessageLifecycle/256:
    // 741.7M with it, 694.7M without, most of the difference memset), and is
    // kept for what this gateway carries (docs/SECURITY.md).
    exec("PRAGMA secure_delete=ON");
    exec(schema);
    add_frame_ids();
    index_message_ids();
    audit::create_schema(db_);
    audit_ = std::make_unique<audit::AuditChain>(db_);
    durable_audit_head_ = {audit_->count(), audit_->head()};
    Statement max_seq(db_, "SELECT COALESCE(MAX(seq), 0) FROM outbox");
    if (max_seq.next()) next_seq_ = max_seq.integer(0) + 1;
    Statement max_frame(db_, "SELECT COALESCE(MAX(id), 0) FROM frames");
    if (max_frame.next()) next_frame_id_ = max_frame.integer(0) + 1;
    open_reader();
    if (options_.id_filter_bytes > 0) id_filter_ = std::make_unique<IdFilter>(options_.id_filter_bytes);
    owed_reader_db_.emplace(path_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, store_errors, std::chrono::seconds(5));
    if (options_.background_checkpoints) {
      checkpointer_db_.emplace(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, store_errors,
                               std::chrono::seconds(5));
      // A checkpoint syncs as its own connection's setting says.
      if (const auto message = checkpointer_db_->try_exec("PRAGMA synchronous=NORMAL"))
        throw StoreError(*message);
    }
  } catch (const std::exception& e) {
    throw StoreError(fmt::format("{}: {}", path_.string(), e.what()));
  }
  open_wal();
  writer_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "store-writer");  // named for top -H and per-thread CPU figures
    writer_loop();
  });
  syncer_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "store-syncer");
    syncer_loop();
  });
  if (options_.background_checkpoints)
    checkpointer_ = std::thread([this] {
      ::pthread_setname_np(::pthread_self(), "store-checkpt");
      checkpointer_loop();
    });
  owed_reader_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "store-reader");
    reader_loop();
  });
  if (id_filter_)
    id_filter_builder_ = std::thread([this] {
      ::pthread_setname_np(::pthread_self(), "store-idfilter");
      fill_id_filter();
    });
}

// The ids committed before this open: every one is in messages (rows are
// never deleted). Ids the writer commits from now on it adds itself, so
// once this has read a snapshot taken after the open, the filter holds
// every id committed.
void Store::fill_id_filter() {
  try {
    sqlite::Connection db(path_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, store_errors, std::chrono::seconds(5));
    Statement ids(db, "SELECT id FROM messages");
    std::size_t count = 0;
    while (ids.next()) {
      id_filter_->add(ids.text_view(0));
      if (++count % 4096 == 0 && id_filter_stopping_.load(std::memory_order_relaxed)) return;
    }
    id_filter_ready_.store(true, std::memory_order_release);
    if (const double rate = id_filter_->expected_false_positive_rate(count); rate > 0.01)
      spdlog::warn(
          "store {}: the message id filter ({} bytes) holds {} ids and lets {:.0f}% of new ids through to a "
          "lookup on disk; answers stay right, at the cost of those lookups",
          path_.string(), id_filter_->bytes(), count, rate * 100);
  } catch (const std::exception& e) {
    // Not fatal: every id is then looked up on disk, as without a filter.
    spdlog::warn("store {}: the message id filter could not be filled ({}); ids are looked up on disk", path_.string(),
                 e.what());
  }
}

// The syncer's descriptor of the -wal file, which the reads and writes above
// have made SQLite create. A descriptor of our own: Linux reports a failed
// writeback to every open file description once (errseq), so a failure
// SQLite's own descriptor saw (at a checkpoint) is still reported to the
// syncer's next fdatasync. The directory is synced once, so that a -wal
// file created by this open survives power loss with its name.
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
    ::close(wal_fd_);
    throw StoreError(fmt::format("{}: cannot sync the data directory {}: {}", path_.string(),
                                 path_.parent_path().string(), std::strerror(error)));
  }
}

Store::~Store() {
  if (id_filter_builder_.joinable()) {
    id_filter_stopping_ = true;
    id_filter_builder_.join();
  }
  {
    std::lock_guard lock(read_mutex_);
    reader_stopping_ = true;
  }
  reads_changed_.notify_all();
  owed_reader_.join();  // reads still queued are dropped with reads_
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queue_changed_.notify_all();
  sync_changed_.notify_all();
  writer_.join();  // it tells the syncer to stop once it has handed over its last group
  syncer_.join();
  {
    std::lock_guard lock(mutex_);
    checkpointer_stopping_ = true;
  }
  checkpoint_changed_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
  ::close(wal_fd_);
  // The chain holds a prepared statement; SQLite will not close under it.
  audit_.reset();
}

void Store::add_frame_ids() {
  if (!sqlite::has_column(db_, "outbox", "frame_id", store_errors, "reading the outbox's columns")) {
    exec("ALTER TABLE outbox ADD COLUMN frame_id INTEGER");
    spdlog::info("store {}: upgraded: outbox entries may now share a frame (outbox.frame_id)", path_.string());
  }
  // Only entries that share a frame are in it: the last to leave finds
  // through it that none is left.
  exec("CREATE INDEX IF NOT EXISTS outbox_frame ON outbox(frame_id) WHERE frame_id IS NOT NULL");
}

void Store::index_message_ids() {
  // One made before 9f148e9 keyed messages on id, WITHOUT ROWID: already
  // indexed, but with no order of acceptance but the time.
  // (Each statement in a scope of its own: a statement still reading the
  // schema would lock it against the DROP INDEX below.)
  {
    Statement table(db_, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'");
    messages_keyed_by_id_ = table.next() && table.text(0).find("PRIMARY KEY") != std::string::npos;
  }
  if (messages_keyed_by_id_) return;
  bool bulk_indexed = false;
  {
    Statement indexed(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'message_ids_indexed'");
    bulk_indexed = indexed.next();
  }
  if (!bulk_indexed) {
    // New, or written before the bulk index (with the index messages_id on
    // messages(id), or before that with none): every id it holds is indexed
    // now, in one sorted pass, in one transaction.
    exec("BEGIN IMMEDIATE");
    try {
      exec(message_ids_schema);
      exec("INSERT INTO message_ids(id) SELECT DISTINCT id FROM messages ORDER BY id");
      exec("INSERT INTO message_ids_indexed(through_rowid) SELECT COALESCE(MAX(rowid), 0) FROM messages");
      exec("DROP INDEX IF EXISTS messages_id");
      exec("COMMIT");
    } catch (...) {
      db_.try_exec("ROLLBACK");
      throw;
    }
    Statement count(db_, "SELECT COUNT(*) FROM message_ids");
    if (count.next() && count.integer(0) > 0)
      spdlog::info("store {}: upgraded: the ids of {} message(s) accepted before are in the bulk index (message_ids)",
                   path_.string(), count.integer(0));
  }
  Statement through(db_, "SELECT through_rowid FROM message_ids_indexed");
  const std::int64_t indexed_through = through.next() ? through.integer(0) : 0;
  // Those committed since: held in memory until the next bulk indexing.
  Statement waiting(db_, "SELECT rowid, id FROM messages WHERE rowid > ? ORDER BY rowid");
  waiting.bind(1, indexed_through);
  while (waiting.next()) {
    unindexed_ids_.emplace_back(waiting.integer(0), waiting.text(1));
    unindexed_id_set_.insert(unindexed_ids_.back().second);
  }
}

std::size_t Store::index_waiting_ids() {
  if (messages_keyed_by_id_) return 0;
  const auto batch = static_cast<std::size_t>(bulk_batch(options_));
  if (id_pool_.empty()) {
    const std::size_t pool = batch * static_cast<std::size_t>(std::max<std::int64_t>(options_.id_pool_batches, 1));
    if (unindexed_ids_.size() + group_ids_.size() < pool) return 0;
    id_pool_.reserve(pool);
    for (std::size_t i = 0; i < pool; ++i) {
      const auto& [rowid, id] = i < unindexed_ids_.size() ? unindexed_ids_[i] : group_ids_[i - unindexed_ids_.size()];
      id_pool_.push_back(id);
      id_pool_through_ = rowid;
    }
    std::sort(id_pool_.begin(), id_pool_.end());
  }
  static thread_local struct Statements {
    explicit Statements(const sqlite::Connection& db)
        : insert(db, "INSERT OR IGNORE INTO message_ids(id) VALUES(?1)"),
          indexed(db, "UPDATE message_ids_indexed SET through_rowid = ?1") {}
    Statement insert, indexed;
  } statements(db_);
  const std::size_t end = std::min(id_pool_indexed_ + batch, id_pool_.size());
  for (std::size_t i = id_pool_indexed_; i < end; ++i) statements.insert.bind(1, id_pool_[i]).run();
  if (end == id_pool_.size()) statements.indexed.bind(1, id_pool_through_).run();
  return end;
}

void Store::ids_committed(std::size_t indexed) {
  if (messages_keyed_by_id_) return;
  std::lock_guard lock(unindexed_ids_mutex_);
  for (auto& entry : group_ids_) {
    unindexed_id_set_.insert(entry.second);
    unindexed_ids_.push_back(std::move(entry));
  }
  group_ids_.clear();
  if (indexed == 0) return;
  id_pool_indexed_ = indexed;
  if (id_pool_indexed_ < id_pool_.size()) return;
  // The whole pool is in message_ids, committed: the oldest ids waiting,
  // as many as it held, wait no longer.
  for (std::size_t i = 0; i < id_pool_.size(); ++i) {
    unindexed_id_set_.erase(unindexed_ids_.front().second);
    unindexed_ids_.pop_front();
  }
  drop_id_pool();
}

void Store::drop_id_pool() {
  id_pool_.clear();
  id_pool_indexed_ = 0;
}

void Store::open_reader() {
  reader_.emplace(path_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, store_errors, std::chrono::seconds(5));
  lookup_.emplace(*reader_,
                  messages_keyed_by_id_ ? "SELECT 1 FROM messages WHERE id = ? LIMIT 1"
                                        : "SELECT 1 FROM message_ids WHERE id = ?",
                  store_errors, "preparing the id lookup");
}

std::vector<OutboxEntry> Store::owed(const std::string& node, std::int64_t after, std::int64_t through,
                                     std::size_t limit) {
  std::lock_guard lock(reader_mutex_);
  return read_page(*reader_, {node, after, through, limit, std::numeric_limits<std::size_t>::max()}).entries;
}

Store::OwedPage Store::read_page(const sqlite::Connection& connection, const OwedQuery& query) {
  const auto& [node, after, through, limit, max_bytes] = query;
  OwedPage page;
  // One row more than asked for: whether there is one says if the range was read through.
  Statement s(connection,
              "SELECT " ICEGATE_OWED_COLUMNS " FROM outbox WHERE node = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?");
  const bool all = limit >= static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  s.bind(1, node).bind(2, after).bind(3, through).bind(4, all ? std::int64_t{-1} : static_cast<std::int64_t>(limit) + 1);
  std::size_t bytes = 0;
  page.complete = true;
  while (s.next()) {
    std::string frame = s.text(7);
    if (page.entries.size() == limit || (!page.entries.empty() && frame.size() > max_bytes - std::min(bytes, max_bytes))) {
      page.complete = false;
      break;
    }
    bytes += frame.size();
    page.entries.push_back(
        {s.integer(0), s.text(1), s.text(2), s.integer(3) != 0, s.integer(4), s.text(5), s.text(6), std::move(frame)});
  }
  return page;
}

void Store::queue_read(ReaderJob job) {
  {
    std::lock_guard lock(read_mutex_);
    reads_.push_back(std::move(job));
  }
  reads_changed_.notify_one();
}

void Store::read_owed(OwedQuery query, boost::asio::any_io_executor executor, OwedRead done) {
  queue_read([this, query = std::move(query),
              executor = boost::asio::prefer(std::move(executor), boost::asio::execution::outstanding_work.tracked),
              done = std::move(done)](const sqlite::Connection& connection) mutable {
    OwedPage page;
    try {
      page = read_page(connection, query);
    } catch (const std::exception& e) {
      // Nothing read, and not complete: the caller asks again when it next needs frames.
      spdlog::error("store {}: reading back the frames owed to {}: {}", path_.string(), query.node, e.what());
      page = {};
    }
    boost::asio::post(executor, [done = std::move(done), page = std::move(page)]() mutable { done(std::move(page)); });
  });
}

void Store::scan_expiring(ExpiryScan scan, boost::asio::any_io_executor executor, ExpiryRead done) {
  queue_read([this, scan,
              executor = boost::asio::prefer(std::move(executor), boost::asio::execution::outstanding_work.tracked),
              done = std::move(done)](const sqlite::Connection& connection) mutable {
    ExpiryPage result;
    try {
      result = scan_pages(
          scan,
          [&connection](std::int64_t before, std::int64_t after_not_after, std::int64_t after_seq, std::size_t limit) {
            return expiring_page(connection, before, after_not_after, after_seq, limit);
          },
          [&connection](std::int64_t from) { return next_expiry_on(connection, from); });
    } catch (const std::exception& e) {
      spdlog::error("store {}: reading the expiry index: {}", path_.string(), e.what());
      result = {};
    }
    boost::asio::post(executor,
                      [done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
  });
}

Store::ExpiryPage Store::scan_pages(const ExpiryScan& scan, const ExpiryPageReader& page,
                                   const NextExpiryReader& next) {
  ExpiryPage result;
  std::int64_t after_not_after = scan.after_not_after, after_seq = scan.after_seq;
  for (std::size_t read = 0; read < std::max<std::size_t>(scan.pages, 1); ++read) {
    auto entries = page(scan.before, after_not_after, after_seq, scan.limit);
    if (!entries.empty()) {
      after_not_after = entries.back().not_after_unix_ms;
      after_seq = entries.back().seq;
    }
    const bool short_page = entries.size() < scan.limit;
    std::move(entries.begin(), entries.end(), std::back_inserter(result.entries));
    if (short_page) {
      result.through = true;
      result.next = next ? next(scan.before) : 0;
      break;
    }
  }
  return result;
}

void Store::set_read_hook(std::function<void()> hook) {
  std::lock_guard lock(read_mutex_);
  read_hook_ = std::move(hook);
}

void Store::reader_loop() {
  for (;;) {
    ReaderJob job;
    std::function<void()> hook;
    {
      std::unique_lock lock(read_mutex_);
      reads_changed_.wait(lock, [this] { return reader_stopping_ || !reads_.empty(); });
      if (reader_stopping_) return;
      job = std::move(reads_.front());
      reads_.pop_front();
      hook = read_hook_;
    }
    if (hook) hook();
    job(*owed_reader_db_);
  }
}

std::vector<OutboxEntry> Store::expiring(std::int64_t before, std::int64_t after_not_after, std::int64_t after_seq,
                                         std::size_t limit) {
  std::lock_guard lock(reader_mutex_);
  return expiring_page(*reader_, before, after_not_after, after_seq, limit);
}

std::vector<OutboxEntry> Store::expiring_page(const sqlite::Connection& connection, std::int64_t before,
                                              std::int64_t after_not_after, std::int64_t after_seq,
                                              std::size_t limit) {
  std::vector<OutboxEntry> entries;
  // `not_after_unix_ms != 0` as the partial index says, so that it is used;
  // its rowid (seq) orders entries of the same expiry.
  Statement s(connection,
              "SELECT seq, node, message_id, needs_ack, not_after_unix_ms, originator, outcome FROM outbox "
              "WHERE not_after_unix_ms != 0 AND not_after_unix_ms < ? AND (not_after_unix_ms, seq) > (?, ?) "
              "ORDER BY not_after_unix_ms, seq LIMIT ?");
  s.bind(1, before).bind(2, after_not_after).bind(3, after_seq).bind(4, static_cast<std::int64_t>(limit));
  while (s.next())
    entries.push_back({s.integer(0), s.text(1), s.text(2), s.integer(3) != 0, s.integer(4), s.text(5), s.text(6), {}});
  return entries;
}

std::int64_t Store::next_expiry(std::int64_t from) {
  std::lock_guard lock(reader_mutex_);
  return next_expiry_on(*reader_, from);
}

std::int64_t Store::next_expiry_on(const sqlite::Connection& connection, std::int64_t from) {
  Statement s(connection, "SELECT MIN(not_after_unix_ms) FROM outbox WHERE not_after_unix_ms != 0 AND not_after_unix_ms >= ?");
  s.bind(1, from);
  return s.next() ? s.integer(0) : 0;
}

bool Store::accepted(const std::string& id) {
  if (id_filter_ready() && !id_filter_->may_contain(id)) {
    id_lookups_skipped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  {
    // First: the writer takes an id out of here only once it is in
    // message_ids, committed.
    std::lock_guard lock(unindexed_ids_mutex_);
    if (unindexed_id_set_.count(id) != 0) return true;
  }
  id_lookups_.fetch_add(1, std::memory_order_relaxed);
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
  // Only the writer thread writes; this runs before the first commit.
  flush();
  Recovered recovered;
  {
    // Newest first by rowid (the order of acceptance), one more than asked
    // for to tell whether that was all. LIMIT -1 is no limit.
    const bool all = newest_messages >= static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    Statement s(db_, messages_keyed_by_id_
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
    // Per node: how many frames it is owed and the last, then its first
    // `owed_per_node` (through outbox_node_seq); and when the first expires.
    Statement summary(db_, "SELECT node, COUNT(*), MAX(seq) FROM outbox GROUP BY node");
    while (summary.next())
      recovered.owed.push_back({summary.text(0), static_cast<std::size_t>(summary.integer(1)), summary.integer(2)});
    const bool all = owed_per_node >= static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    const std::int64_t limit = all ? -1 : static_cast<std::int64_t>(owed_per_node);
    for (const auto& owed : recovered.owed) {
      Statement first(db_,
                      "SELECT " ICEGATE_OWED_COLUMNS " FROM outbox WHERE node = ? ORDER BY seq LIMIT ?");
      first.bind(1, owed.node).bind(2, limit);
      std::size_t bytes = 0;
      for (bool any = false; first.next(); any = true) {
        std::string frame = first.text(7);
        if (any && frame.size() > owed_bytes_per_node - std::min(bytes, owed_bytes_per_node)) break;
        bytes += frame.size();
        recovered.outbox.push_back({first.integer(0), first.text(1), first.text(2), first.integer(3) != 0,
                                    first.integer(4), first.text(5), first.text(6), std::move(frame)});
      }
    }
    Statement first_expiry(db_, "SELECT MIN(not_after_unix_ms) FROM outbox WHERE not_after_unix_ms != 0");
    if (first_expiry.next()) recovered.first_expiry_unix_ms = first_expiry.integer(0);
    std::sort(recovered.outbox.begin(), recovered.outbox.end(),
              [](const OutboxEntry& a, const OutboxEntry& b) { return a.seq < b.seq; });
  }
  {
    Statement s(db_, "SELECT id, record FROM holds");
    while (s.next()) recovered.holds.push_back({s.text(0), s.text(1)});
  }
  {
    Statement s(db_, "SELECT message_id, record FROM controlled");
    while (s.next()) recovered.controlled.push_back({s.text(0), s.text(1)});
  }
  {
    Statement s(db_, "SELECT name, node, triggered_unix_ms FROM events");
    while (s.next()) recovered.events.push_back({s.text(0), s.text(1), s.integer(2)});
  }
  {
    Statement s(db_, "SELECT node, time_unix_ms FROM occasional ORDER BY time_unix_ms");
    while (s.next()) recovered.occasional.push_back({s.text(0), s.integer(1)});
  }
  recovered.audit_records = audit_->count();
  {
    // What was read back is what survived.
    std::lock_guard lock(mutex_);
    durable_audit_head_ = {audit_->count(), audit_->head()};
  }
  return recovered;
}

namespace {
// A commit in flight is work its caller's loop still has to do: the executor
// it completes on counts it as outstanding until the callback is posted, so
// that loop's run() does not return (a shutdown does not end) while the last
// commit is still being written.
boost::asio::any_io_executor tracked(boost::asio::any_io_executor executor) {
  return boost::asio::prefer(std::move(executor), boost::asio::execution::outstanding_work.tracked);
}
}  // namespace

void Store::commit(Batch batch, boost::asio::any_io_executor executor, std::function<void(bool)> done) {
  queue(Pending{.batch = std::move(batch), .executor = tracked(std::move(executor)), .done = std::move(done)});
}

void Store::commit(Batch batch, boost::asio::any_io_executor executor, OutboxDone done) {
  queue(Pending{.batch = std::move(batch), .executor = tracked(std::move(executor)), .outbox_done = std::move(done)});
}

void Store::queue(Pending pending) {
  if (pending.batch.unawaited) pending.queued = std::chrono::steady_clock::now();  // only these may wait
  {
    std::lock_guard lock(mutex_);
    pending.epoch = epoch_;
    if (!pending.batch.unawaited) ++awaited_queued_;
    queue_.push_back(std::move(pending));
  }
  queue_changed_.notify_one();
}

void Store::flush() {
  std::unique_lock lock(mutex_);
  ++flushing_;
  queue_changed_.notify_all();  // a writer holding back unawaited batches commits them now
  drained_.wait(lock, [this] { return queue_.empty() && syncing_.empty() && in_flight_ == 0 && !writer_busy_; });
  --flushing_;
}

StoreStats Store::stats() const {
  StoreStats stats;
  {
    std::lock_guard lock(mutex_);
    stats = stats_;
  }
  stats.id_lookups = id_lookups_.load(std::memory_order_relaxed);
  stats.id_lookups_skipped = id_lookups_skipped_.load(std::memory_order_relaxed);
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
}

void Store::inject_commit_failure(int transactions) {
  std::lock_guard lock(mutex_);
  inject_ = transactions;
}

void Store::inject_sync_failure(int syncs) {
  std::lock_guard lock(mutex_);
  inject_sync_ = syncs;
}

void Store::writer_loop() {
  while (true) {
    std::deque<Pending> work;
    std::uint64_t refused_up_to = 0;
    {
      std::unique_lock lock(mutex_);
      // The pipeline is two deep: group N+1 is formed and applied while the
      // syncer syncs group N, and group N+2 is formed only once the syncer
      // has taken N+1 (so what queues up meanwhile commits as one group,
      // rather than as many small transactions that each rewrite the same
      // B-tree pages).
      queue_changed_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) break;  // stopping, and nothing left to write
      // Batches no one awaits wait, up to options_.gather after the first
      // was queued, for company: the first batch someone awaits, a flush()
      // or the end takes them all at once. (With one awaited in the queue
      // this returns at once, so the front's time is read only when it is an
      // unawaited batch's.)
      queue_changed_.wait_until(lock, queue_.front().queued + options_.gather,
                                [this] { return awaited_queued_ > 0 || flushing_ > 0 || stopping_; });
      sync_changed_.wait(lock, [this] { return syncing_.empty() && (options_.pipelined || !syncer_busy_); });
      const std::size_t take = std::min(queue_.size(), options_.max_batch);
      for (std::size_t i = 0; i < take; ++i) {
        if (!queue_.front().batch.unawaited) --awaited_queued_;
        work.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      in_flight_ += work.size();
      writer_busy_ = true;
      refused_up_to = refused_up_to_;
    }
    // Batches queued before the caller read back the store after a failed
    // commit were made on top of what that commit would have written: refused
    // unwritten. Epochs only grow along the queue, so they come first. After
    // a failed sync every batch is refused.
    Group group;
    group.refused = restart_required() ? work.size() : 0;
    while (group.refused < work.size() && work[group.refused].epoch <= refused_up_to) ++group.refused;
    if (group.refused < work.size()) {
      std::size_t ids_indexed = 0;
      try {
        exec("BEGIN IMMEDIATE");
        for (std::size_t i = group.refused; i < work.size(); ++i) {
          group.wrote |= !work[i].batch.empty();
          apply(work[i].batch);
        }
        if (audit_->unindexed() >= bulk_batch(options_)) audit_->index_blocks(bulk_batch(options_));
        ids_indexed = index_waiting_ids();
        bool inject = false;
        {
          std::lock_guard lock(mutex_);
          if (inject_ > 0) {
            --inject_;
            inject = true;
          }
        }
        if (inject) throw StoreError("injected commit failure (the Store::inject_commit_failure test hook)");
        exec("COMMIT");
        group.committed = true;
        group.audit_head = {audit_->count(), audit_->head()};
        ids_committed(ids_indexed);
      } catch (const std::exception& e) {
        group.why = e.what();
        spdlog::error("store: a commit of {} operation(s) failed and was rolled back: {}; the store refuses what was "
                      "queued after it until the gateway has read back what is durable",
                      work.size() - group.refused, group.why);
        // SQLite rolls back by itself after SQLITE_FULL or an I/O error; then this fails, harmlessly.
        db_.try_exec("ROLLBACK");
        audit_->reload_head();
        group_ids_.clear();
        // The pool may hold ids of this group, which is gone: it is taken
        // again from the ids waiting (ranges committed before are in
        // message_ids already, and are added again harmlessly).
        drop_id_pool();
      }
    }
    const bool tried = group.refused < work.size();
    const bool failed = tried && !group.committed;
    group.work = std::move(work);
    {
      // Before any callback runs (the syncer posts them): the first one may
      // already call resume().
      std::lock_guard lock(mutex_);
      if (tried) {
        stats_.commits += 1;
        stats_.operations += group.work.size() - group.refused;
      }
      if (failed) {
        stats_.failed_commits += 1;
        refused_up_to_ = epoch_;
      }
      syncing_.push_back(std::move(group));
    }
    sync_changed_.notify_all();
    after_commit_checkpoint();
    {
      // Only now is db_ free for recover() on the caller's thread (flush() waits for this).
      std::lock_guard lock(mutex_);
      writer_busy_ = false;
    }
    drained_.notify_all();
  }
  {
    std::lock_guard lock(mutex_);
    syncer_stopping_ = true;
  }
  sync_changed_.notify_all();
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
  refused_up_to_ = std::numeric_limits<std::uint64_t>::max();
  health_.ok = false;
  health_.reason = reason;
  health_.failed_at_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  health_.restart_required = true;
}

void Store::syncer_loop() {
  while (true) {
    std::deque<Group> groups;
    {
      std::unique_lock lock(mutex_);
      sync_changed_.wait(lock, [this] { return !syncing_.empty() || syncer_stopping_; });
      if (syncing_.empty()) break;  // the writer has stopped, and everything is synced
      groups.swap(syncing_);
      syncer_busy_ = true;
    }
    sync_changed_.notify_all();  // the writer may form its next group
    // One fdatasync covers every group taken: each COMMIT returned before it was called.
    const bool any_committed =
        std::any_of(groups.begin(), groups.end(), [](const Group& g) { return g.committed; });
    std::string sync_failed;
    bool synced = false;
    if (any_committed && options_.synchronous_full && !restart_required()) {
      if (::fdatasync(wal_fd_) != 0) {
        const int error = errno;
        sync_failed = fmt::format("fdatasync of {} failed: {}", wal_path_.string(), std::strerror(error));
      } else {
        synced = true;
      }
    }
    {
      std::lock_guard lock(mutex_);
      if (synced) {
        stats_.syncs += 1;
        if (inject_sync_ > 0) {
          --inject_sync_;
          sync_failed = fmt::format("fdatasync of {} failed: injected sync failure (the "
                                    "Store::inject_sync_failure test hook)",
                                    wal_path_.string());
        }
      }
      if (!sync_failed.empty()) break_for_good(sync_failed);
      // Health follows the groups in commit order: a failed commit makes it
      // bad, a later group that wrote and is durable makes it good again; a
      // failed sync (now or before) makes it bad for good, and no group taken
      // here is durable.
      for (auto& group : groups) {
        if (restart_required()) {
          group.committed = false;
        } else if (!group.why.empty()) {
          health_.ok = false;
          health_.reason = group.why;
          health_.failed_at_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count();
        } else if (group.committed && group.wrote) {
          health_ = {};
        }
        // Before its callbacks are posted: whoever a callback tells may sign it.
        if (group.committed) durable_audit_head_ = group.audit_head;
      }
    }
    // One handler a run of callbacks bound for the same executor (under load,
    // every operation of a group is the router's), rather than one each: a
    // post takes the executor's lock and, when its thread is waiting for the
    // network, wakes it; per group that is once, not once per message. The
    // callbacks run in commit order, as before.
    std::size_t posted = 0;
    Completions run;
    boost::asio::any_io_executor run_executor;
    const auto post_run = [&] {
      if (run.empty()) return;
      boost::asio::post(run_executor, [run = std::move(run)]() mutable {
        for (auto& completion : run) completion();
      });
      run = {};
    };
    for (auto& group : groups) {
      for (std::size_t i = 0; i < group.work.size(); ++i) {
        auto& pending = group.work[i];
        if (!pending.done && !pending.outbox_done) continue;
        if (!run.empty() && pending.executor != run_executor) post_run();
        if (run.empty()) run_executor = pending.executor;
        run.push_back({.committed = group.committed && i >= group.refused,
                       .done = std::move(pending.done),
                       .outbox_done = std::move(pending.outbox_done),
                       .outbox = std::move(pending.batch.outbox)});
      }
      posted += group.work.size();
    }
    post_run();
    {
      std::lock_guard lock(mutex_);
      in_flight_ -= posted;
      syncer_busy_ = false;
    }
    drained_.notify_all();
    if (!options_.pipelined) sync_changed_.notify_all();
  }
  drained_.notify_all();
}

void Store::apply(const Batch& batch) {
  // Prepared once per writer thread; statements are reset after each use.
  static thread_local struct Statements {
    explicit Statements(const sqlite::Connection& db)
        : message(db, "INSERT INTO messages(id, originator, accepted_unix_ms) VALUES(?, ?, ?)"),
          outbox(db,
                 "INSERT INTO outbox(seq, node, message_id, needs_ack, not_after_unix_ms, originator, outcome, frame, "
                 "frame_id) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"),
          // An entry with a frame of its own goes in one statement; one that
          // shares a frame is looked up first, for the frame's id. (Not DELETE
          // ... RETURNING: SQLite buffers the rows it returns in an ephemeral
          // table, a zeroed page for every run: +15% of the writer's
          // instructions under W1, callgrind. A lookup before every delete:
          // +2%.)
          settled(db, "DELETE FROM outbox WHERE seq = ? AND frame_id IS NULL"),
          settled_frame(db, "SELECT frame_id FROM outbox WHERE seq = ?"),
          settled_shared(db, "DELETE FROM outbox WHERE seq = ?"),
          frame_put(db, "INSERT INTO frames(id, frame) VALUES(?, ?)"),
          frame_drop(db, "DELETE FROM frames WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM outbox WHERE frame_id = ?1)"),
          hold_put(db, "INSERT OR REPLACE INTO holds(id, record) VALUES(?, ?)"),
          hold_removed(db, "DELETE FROM holds WHERE id = ?"),
          controlled(db, "INSERT OR REPLACE INTO controlled(message_id, record) VALUES(?, ?)"),
          event(db, "INSERT OR IGNORE INTO events(name, node, triggered_unix_ms) VALUES(?, ?, ?)"),
          occasional(db, "INSERT INTO occasional(node, time_unix_ms) VALUES(?, ?)") {}
    Statement message, outbox, settled, settled_frame, settled_shared, frame_put, frame_drop, hold_put, hold_removed,
        controlled, event, occasional;
  } statements(db_);
  auto& s = statements;
  for (const auto& m : batch.messages) {
    s.message.bind(1, m.id).bind(2, m.originator).bind(3, m.accepted_unix_ms).run();
    // Before the commit: a group that rolls back leaves its ids' bits set,
    // which costs a lookup if one comes again, never a wrong answer.
    if (id_filter_) id_filter_->add(m.id);
    if (!messages_keyed_by_id_) group_ids_.emplace_back(db_.last_insert_rowid(), m.id);
  }
  // Each shared frame once (a fan-out makes a few versions: a short list).
  std::vector<std::int64_t> shared;
  for (const auto& e : batch.outbox) {
    if (e.frame_id == 0 || std::find(shared.begin(), shared.end(), e.frame_id) != shared.end()) continue;
    shared.push_back(e.frame_id);
    s.frame_put.bind(1, e.frame_id).bind_blob(2, e.bytes()).run();
  }
  for (const auto& e : batch.outbox) {
    s.outbox.bind(1, e.seq)
        .bind(2, e.node)
        .bind(3, e.message_id)
        .bind(4, std::int64_t{e.needs_ack})
        .bind(5, e.not_after_unix_ms)
        .bind(6, e.originator)
        .bind_blob(7, e.outcome)
        // Shared: an empty blob (not a null pointer, which SQLite binds as NULL).
        .bind_blob(8, e.frame_id == 0 ? e.bytes() : std::string_view("", 0));
    if (e.frame_id == 0) {
      s.outbox.bind_null(9);
    } else {
      s.outbox.bind(9, e.frame_id);
    }
    s.outbox.run();
  }
  for (const auto seq : batch.settled) {
    // The entry's row goes; a frame it shared goes with the last entry.
    s.settled.bind(1, seq).run();
    if (db_.changes() != 0) continue;
    std::int64_t frame_id = 0;
    s.settled_frame.bind(1, seq);
    try {
      if (s.settled_frame.next("reading an outbox entry's frame id")) frame_id = s.settled_frame.integer(0);
    } catch (...) {
      s.settled_frame.reset();
      throw;
    }
    s.settled_frame.reset();
    if (frame_id == 0) continue;  // no such entry (settled already)
    s.settled_shared.bind(1, seq).run();
    s.frame_drop.bind(1, frame_id).run();
  }
  for (const auto& h : batch.holds_put) s.hold_put.bind(1, h.key).bind_blob(2, h.value).run();
  for (const auto& id : batch.holds_removed) s.hold_removed.bind(1, id).run();
  for (const auto& c : batch.controlled_put) s.controlled.bind(1, c.key).bind_blob(2, c.value).run();
  for (const auto& e : batch.events) s.event.bind(1, e.name).bind(2, e.node).bind(3, e.time_unix_ms).run();
  for (const auto& o : batch.occasional) s.occasional.bind(1, o.node).bind(2, o.time_unix_ms).run();
  for (const auto& record : batch.audit) audit_->append(record);
}

}  // namespace icegate::store

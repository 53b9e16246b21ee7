// The audit trail's tables: the schema (and the upgrade of a trail written by
// an older icegate), and the SQLite helpers the writer and the readers share
// (see database.hpp).
#include "gateway/audit/database.hpp"

#include <sqlite3.h>

#include <chrono>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "gateway/audit/canonical.hpp"

namespace icegate::audit {
namespace detail {

namespace fs = std::filesystem;

void raise_audit_error(const std::string& text) { throw std::runtime_error("audit: " + text); }

sqlite::Connection open_read_only(const fs::path& data_dir) {
  const fs::path path = database_path(data_dir);
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    throw std::runtime_error(fmt::format("no audit database: {} not found", path.string()));
  }
  // The gateway may be checkpointing: wait for it.
  sqlite::Connection db(path, SQLITE_OPEN_READONLY, {}, std::chrono::seconds(5));
  const std::string reading = fmt::format("cannot read {}", path.string());
  // One read transaction for the connection's life (WAL mode: the snapshot
  // is taken at the first read, the check below); ended when it closes.
  db.exec("BEGIN", reading);
  sqlite::Statement check(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'audit'", db.errors(),
                          reading);
  if (!check.next(reading)) throw std::runtime_error(fmt::format("{} has no audit table", path.string()));
  return db;
}

// Whether `table` has a column `column` (false if there is no such table).
bool has_column(const sqlite::Connection& db, std::string_view table, std::string_view column) {
  return sqlite::has_column(db, table, column, audit_errors, "cannot read the audit table's columns");
}

std::string select_columns(std::string_view from) {
  return fmt::format(
      "SELECT seq, time_unix_ms, kind, node, recipient, message_id, decision, record, previous_hash, hash FROM {}",
      from);
}

std::optional<std::int64_t> blocks_through(const sqlite::Connection& db) {
  if (!has_column(db, "audit_blocks", "messages")) return std::nullopt;
  static constexpr std::string_view what = "cannot read how far the audit blocks go";
  sqlite::Statement through(db, "SELECT last_seq FROM audit_blocks ORDER BY first_seq DESC LIMIT 1", audit_errors,
                            what);
  return through.next(what) ? through.integer(0) : 0;
}

StoredRecord read_stored_record(const sqlite::Statement& row) {
  StoredRecord stored;
  stored.seq = row.integer(column_seq);
  stored.canonical = row.text(column_record);
  stored.previous_hash = row.text(column_previous_hash);
  stored.hash = row.text(column_hash);
  if (!parse_record_json(stored.canonical, stored.record)) {
    // Not a record we wrote (verify says so): show what the columns say.
    stored.record = AuditRecord{};
    stored.record.time_unix_ms = row.integer(column_time);
    stored.record.kind = row.text(column_kind);
    stored.record.node = row.text(column_node);
    stored.record.recipient = row.text(column_recipient);
    stored.record.message_id = row.text(column_message_id);
    stored.record.decision = row.text(column_decision);
  }
  return stored;
}

}  // namespace detail

using namespace detail;

std::filesystem::path database_path(const std::filesystem::path& data_dir) { return data_dir / "icegate.db"; }

namespace {

void exec_schema(const sqlite::Connection& db, std::string_view sql, std::string_view what) {
  if (const auto message = db.try_exec(sql)) audit_errors.fail(what, *message);
}

}  // namespace

void create_schema(const sqlite::Connection& db) {
  // Nothing but the table's own key is indexed record by record: every index
  // entry is a B-tree insert for each record, and an index on a random key
  // (message ids are UUIDs chosen by the nodes) takes each record to a page of
  // its own, about 2 KB of WAL a message under W1. Instead the records are
  // summarised in blocks, in seq order, by AuditChain::index_blocks: each
  // block (audit_blocks) has its first and last seq, the earliest and latest
  // time in it and a Bloom filter of its message ids (gateway/model/bloom.hpp:
  // 16 bits an id, about one "maybe" in 1,500 for an id not in it), and lists
  // the parties that appear in it (audit_block_parties), one row per party per
  // block rather than per record. A query by node, time or message id reads
  // only the blocks that can hold a match, and the records after the last
  // block from the table itself; every record it returns is checked against
  // its own columns, so a block can only narrow where a query looks, and
  // verify checks that no block hides a record. (Before the blocks, a party
  // index of (party, seq) rows and indexes of time and of message numbers
  // cost a quarter of the store writer's instructions under W1:
  // docs/PERFORMANCE.md.)
  static constexpr const char* tables = R"sql(
    CREATE TABLE IF NOT EXISTS audit(
      seq INTEGER PRIMARY KEY,
      time_unix_ms INTEGER NOT NULL,
      kind TEXT NOT NULL,
      node TEXT,
      recipient TEXT,
      message_id TEXT,
      decision TEXT,
      record TEXT NOT NULL,         -- canonical JSON, the hashed content
      previous_hash TEXT NOT NULL,
      hash TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS audit_blocks(
      first_seq INTEGER PRIMARY KEY,
      last_seq INTEGER NOT NULL,
      min_time INTEGER NOT NULL,    -- the earliest time_unix_ms of its records
      max_time INTEGER NOT NULL,    -- and the latest
      messages BLOB NOT NULL);      -- a Bloom filter of its records' message ids
    CREATE TABLE IF NOT EXISTS audit_block_parties(
      party TEXT NOT NULL,          -- a node or recipient of a record in the block
      first_seq INTEGER NOT NULL,   -- the block's
      PRIMARY KEY(party, first_seq)) WITHOUT ROWID;
  )sql";
  // A trail written before the blocks: its indexes of node, recipient, time,
  // message id or message number, its message numbers (an older trail's
  // message_ref column stays, unread) and its party index go, and its records
  // are put in blocks from seq 1 on. Blocks without message filters (made by
  // no released version) are made again.
  static constexpr const char* upgrade = R"sql(
    DROP INDEX IF EXISTS audit_node;
    DROP INDEX IF EXISTS audit_recipient;
    DROP INDEX IF EXISTS audit_time;
    DROP INDEX IF EXISTS audit_message_id;
    DROP INDEX IF EXISTS audit_message_ref;
    DROP TABLE IF EXISTS audit_messages;
    DROP TABLE IF EXISTS audit_parties;
    DROP TABLE IF EXISTS audit_parties_indexed;
  )sql";
  if (has_column(db, "audit_blocks", "first_seq") && !has_column(db, "audit_blocks", "messages"))
    exec_schema(db, "DROP TABLE audit_blocks; DROP TABLE IF EXISTS audit_block_parties;",
                "cannot remove the audit blocks to make them again");
  exec_schema(db, tables, "cannot create the audit tables");
  exec_schema(db, upgrade, "cannot remove an older audit trail's indexes");
}

}  // namespace icegate::audit

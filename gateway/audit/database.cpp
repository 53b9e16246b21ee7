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
  sqlite::Statement check(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'audit'", db.errors(),
                          reading);
  if (!check.next(reading)) throw std::runtime_error(fmt::format("{} has no audit table", path.string()));
  return db;
}

// Whether `table` has a column `column` (false if there is no such table).
bool has_column(const sqlite::Connection& db, std::string_view table, std::string_view column) {
  return sqlite::has_column(db, table, column, audit_errors, "cannot read the audit table's columns");
}

std::string select_columns(bool numbered, std::string_view from) {
  return fmt::format(
      "SELECT seq, time_unix_ms, kind, node, recipient, message_id, decision, record, previous_hash, hash, {} "
      "FROM {}",
      numbered ? "message_ref" : "NULL", from);
}

std::optional<std::int64_t> blocks_through(const sqlite::Connection& db) {
  if (!has_column(db, "audit_blocks", "last_seq")) return std::nullopt;
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
  // Message ids are random UUIDs chosen by the nodes. An index keyed on them
  // takes each new record to a random page, so every record of a commit
  // dirtied a page of its own (about 2 KB of WAL per message under W1).
  // Instead each message id is numbered in order of first use
  // (audit_messages.ref), records carry that number (message_ref), and the
  // index on it grows at its end. message_id stays in the row and in the
  // hashed record; message_ref is an index only (verify checks it agrees).
  //
  // Who a record is about (node, recipient) and when it was made are not
  // indexed record by record either. An index on node and one on recipient
  // put each record at the end of its node's run of entries, a page per node
  // per commit; a party index of (party, seq) rows, filled in bulk, still
  // cost a B-tree insert per party per record (a tenth of the store writer's
  // instructions under W1), and the index on time one more per record
  // (docs/PERFORMANCE.md). Instead the records are summarised in blocks, in
  // seq order, by AuditChain::index_blocks: each block (audit_blocks: its
  // first and last seq, the earliest and latest time in it) lists the
  // parties that appear in it (audit_block_parties), one row per party per
  // block rather than per record. A query by node or time reads only the
  // blocks that can hold a match, and the records after the last block from
  // the table itself; every record it returns is checked against its own
  // columns, so a block's summary can only narrow where a query looks, and
  // verify checks that no summary hides a record.
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
      hash TEXT NOT NULL,
      message_ref INTEGER);         -- audit_messages.ref of message_id; NULL if none
    CREATE TABLE IF NOT EXISTS audit_messages(ref INTEGER PRIMARY KEY, message_id TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS audit_blocks(
      first_seq INTEGER PRIMARY KEY,
      last_seq INTEGER NOT NULL,
      min_time INTEGER NOT NULL,    -- the earliest time_unix_ms of its records
      max_time INTEGER NOT NULL);   -- and the latest
    CREATE TABLE IF NOT EXISTS audit_block_parties(
      party TEXT NOT NULL,          -- a node or recipient of a record in the block
      first_seq INTEGER NOT NULL,   -- the block's
      PRIMARY KEY(party, first_seq)) WITHOUT ROWID;
  )sql";
  static constexpr const char* indexes = R"sql(
    CREATE INDEX IF NOT EXISTS audit_message_ref ON audit(message_ref);
    -- A trail written before the blocks: its indexes of node, recipient and
    -- time, or its party index, go; its records are put in blocks from seq 1 on.
    DROP INDEX IF EXISTS audit_node;
    DROP INDEX IF EXISTS audit_recipient;
    DROP INDEX IF EXISTS audit_time;
    DROP TABLE IF EXISTS audit_parties;
    DROP TABLE IF EXISTS audit_parties_indexed;
  )sql";
  // A trail written before message_ref existed gets the column, its numbers
  // and the new index in one step (a savepoint: the caller may have a
  // transaction open).
  static constexpr const char* upgrade = R"sql(
    SAVEPOINT audit_upgrade;
    ALTER TABLE audit ADD COLUMN message_ref INTEGER;
    INSERT INTO audit_messages(message_id)
      SELECT message_id FROM audit WHERE message_id IS NOT NULL GROUP BY message_id ORDER BY MIN(seq);
    CREATE INDEX audit_upgrade_message_id ON audit_messages(message_id);
    UPDATE audit SET message_ref = (SELECT ref FROM audit_messages WHERE audit_messages.message_id = audit.message_id)
      WHERE message_id IS NOT NULL;
    DROP INDEX audit_upgrade_message_id;
    DROP INDEX IF EXISTS audit_message_id;
    RELEASE audit_upgrade;
  )sql";
  exec_schema(db, tables, "cannot create the audit table");
  if (!has_column(db, "audit", "message_ref")) {
    try {
      exec_schema(db, upgrade, "cannot add message numbers to an existing audit table");
    } catch (...) {
      db.try_exec("ROLLBACK TO audit_upgrade; RELEASE audit_upgrade");  // as far as it goes
      throw;
    }
  }
  exec_schema(db, indexes, "cannot create the audit table's indexes");
}

}  // namespace icegate::audit

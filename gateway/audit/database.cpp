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

std::string select_columns(bool numbered) {
  return fmt::format(
      "SELECT seq, time_unix_ms, kind, node, recipient, message_id, decision, record, previous_hash, hash, {} "
      "FROM audit",
      numbered ? "message_ref" : "NULL");
}

std::optional<std::int64_t> parties_indexed_through(const sqlite::Connection& db) {
  if (!has_column(db, "audit_parties_indexed", "through_seq")) return std::nullopt;
  static constexpr std::string_view what = "cannot read how far the party index goes";
  sqlite::Statement through(db, "SELECT through_seq FROM audit_parties_indexed", audit_errors, what);
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
  // Who a record is about (node, recipient) is indexed in audit_parties,
  // filled in bulk by AuditChain::index_parties rather than record by record:
  // an index on node, and one on recipient, put each record at the end of its
  // node's run of entries, so every commit dirtied a page per node in each
  // (about 3.5 KB of WAL per W1 message at 32 messages a commit;
  // docs/PERFORMANCE.md). Sorted and thousands at a time, they dirty each
  // run's last page once. audit_parties_indexed holds the seq every record up
  // to which is indexed; readers take the records after it from the table.
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
    CREATE TABLE IF NOT EXISTS audit_parties(party TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(party, seq))
      WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS audit_parties_indexed(through_seq INTEGER NOT NULL);
    INSERT INTO audit_parties_indexed(through_seq)
      SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM audit_parties_indexed);
  )sql";
  static constexpr const char* indexes = R"sql(
    CREATE INDEX IF NOT EXISTS audit_message_ref ON audit(message_ref);
    CREATE INDEX IF NOT EXISTS audit_time ON audit(time_unix_ms);
    DROP INDEX IF EXISTS audit_node;       -- a trail written before audit_parties:
    DROP INDEX IF EXISTS audit_recipient;  -- its records are indexed from seq 1 on
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

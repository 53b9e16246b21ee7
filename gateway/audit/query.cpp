// `icegate audit query`: the records that match a filter, in seq order.
#include "gateway/audit/audit.hpp"

#include <fmt/format.h>

#include "gateway/audit/database.hpp"

namespace icegate::audit {

using namespace detail;

std::vector<StoredRecord> query(const std::filesystem::path& data_dir, const QueryFilter& filter) {
  const Database db = open_read_only(data_dir);
  const bool numbered = has_column(db.get(), "audit", "message_ref");
  std::string sql = select_columns(numbered);
  sql += " WHERE 1";
  if (filter.node) sql += " AND (node = :node OR recipient = :node)";
  if (filter.message_id) {
    // Found through its numbers (indexed), not by a scan of message_id.
    if (numbered) sql += " AND message_ref IN (SELECT ref FROM audit_messages WHERE message_id = :message_id)";
    sql += " AND message_id = :message_id";
  }
  if (filter.decision) sql += " AND decision = :decision";
  if (filter.kind) sql += " AND kind = :kind";
  if (filter.since_unix_ms) sql += " AND time_unix_ms >= :since";
  if (filter.until_unix_ms) sql += " AND time_unix_ms <= :until";
  sql += " ORDER BY seq";
  const Statement select = prepare(db.get(), sql, "cannot query the audit table");
  sqlite3_stmt* statement = select.get();
  auto bind = [statement](const char* name, const std::optional<std::string>& value) {
    if (value) bind_text(statement, sqlite3_bind_parameter_index(statement, name), *value);
  };
  bind(":node", filter.node);
  bind(":message_id", filter.message_id);
  bind(":decision", filter.decision);
  bind(":kind", filter.kind);
  if (filter.since_unix_ms) {
    sqlite3_bind_int64(statement, sqlite3_bind_parameter_index(statement, ":since"), *filter.since_unix_ms);
  }
  if (filter.until_unix_ms) {
    sqlite3_bind_int64(statement, sqlite3_bind_parameter_index(statement, ":until"), *filter.until_unix_ms);
  }

  std::vector<StoredRecord> records;
  int result = SQLITE_ROW;
  while ((result = sqlite3_step(statement)) == SQLITE_ROW) records.push_back(read_stored_record(statement));
  if (result != SQLITE_DONE) throw_sqlite_error(db.get(), "cannot read the audit table");
  return records;
}

}  // namespace icegate::audit

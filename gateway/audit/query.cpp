// `icegate audit query`: the records that match a filter, in seq order.
#include "gateway/audit/audit.hpp"

#include <fmt/format.h>

#include "gateway/audit/database.hpp"

namespace icegate::audit {

using namespace detail;

std::vector<StoredRecord> query(const std::filesystem::path& data_dir, const QueryFilter& filter) {
  const sqlite::Connection db = open_read_only(data_dir);
  const bool numbered = has_column(db, "audit", "message_ref");
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
  sqlite::Statement select(db, sql, audit_errors, "cannot query the audit table");
  auto bind = [&select](const char* name, const std::optional<std::string>& value) {
    if (value) select.bind(select.parameter(name), *value);
  };
  bind(":node", filter.node);
  bind(":message_id", filter.message_id);
  bind(":decision", filter.decision);
  bind(":kind", filter.kind);
  if (filter.since_unix_ms) select.bind(select.parameter(":since"), *filter.since_unix_ms);
  if (filter.until_unix_ms) select.bind(select.parameter(":until"), *filter.until_unix_ms);

  std::vector<StoredRecord> records;
  while (select.next("cannot read the audit table")) records.push_back(read_stored_record(select));
  return records;
}

}  // namespace icegate::audit

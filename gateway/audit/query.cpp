// `icegate audit query`: the records that match a filter, in seq order.
#include "gateway/audit/audit.hpp"

#include <optional>

#include <fmt/format.h>

#include "gateway/audit/database.hpp"

namespace icegate::audit {

using namespace detail;

std::vector<StoredRecord> query(const std::filesystem::path& data_dir, const QueryFilter& filter) {
  const sqlite::Connection db = open_read_only(data_dir);
  const bool numbered = has_column(db, "audit", "message_ref");
  // Every filter but the node's, as further conditions.
  std::string rest;
  if (filter.message_id) {
    // Found through its numbers (indexed), not by a scan of message_id.
    if (numbered) rest += " AND message_ref IN (SELECT ref FROM audit_messages WHERE message_id = :message_id)";
    rest += " AND message_id = :message_id";
  }
  if (filter.decision) rest += " AND decision = :decision";
  if (filter.kind) rest += " AND kind = :kind";
  if (filter.since_unix_ms) rest += " AND time_unix_ms >= :since";
  if (filter.until_unix_ms) rest += " AND time_unix_ms <= :until";
  const std::string columns = select_columns(numbered);
  std::string sql;
  const std::optional<std::int64_t> indexed = filter.node ? parties_indexed_through(db) : std::nullopt;
  if (indexed) {
    // The records the party index holds, found through it, then those after
    // it (the writer indexes in bulk: see AuditChain::index_parties).
    sql = fmt::format(
        "{0} WHERE seq IN (SELECT seq FROM audit_parties WHERE party = :node) AND seq <= :indexed{1} "
        "UNION ALL {0} WHERE seq > :indexed AND (node = :node OR recipient = :node){1} ORDER BY 1",
        columns, rest);
  } else {
    sql = columns + " WHERE 1";
    if (filter.node) sql += " AND (node = :node OR recipient = :node)";
    sql += rest + " ORDER BY seq";
  }
  sqlite::Statement select(db, sql, audit_errors, "cannot query the audit table");
  auto bind = [&select](const char* name, const std::optional<std::string>& value) {
    if (value) select.bind(select.parameter(name), *value);
  };
  bind(":node", filter.node);
  if (indexed) select.bind(select.parameter(":indexed"), *indexed);
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

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
  // Every filter, as conditions on the record's own columns: whichever way
  // a record is found, these decide whether it is returned.
  std::string conditions;
  if (filter.node) conditions += " AND (node = :node OR recipient = :node)";
  if (filter.message_id) {
    // Found through its numbers (indexed), not by a scan of message_id.
    if (numbered) conditions += " AND message_ref IN (SELECT ref FROM audit_messages WHERE message_id = :message_id)";
    conditions += " AND message_id = :message_id";
  }
  if (filter.decision) conditions += " AND decision = :decision";
  if (filter.kind) conditions += " AND kind = :kind";
  if (filter.since_unix_ms) conditions += " AND time_unix_ms >= :since";
  if (filter.until_unix_ms) conditions += " AND time_unix_ms <= :until";
  // A message id's numbers find its few records directly. Otherwise a node
  // or a time range is looked for only in the blocks that can hold it, and in
  // the records after the last block (see create_schema).
  const bool by_blocks = !filter.message_id && (filter.node || filter.since_unix_ms || filter.until_unix_ms);
  const std::optional<std::int64_t> indexed = by_blocks ? blocks_through(db) : std::nullopt;
  std::string sql;
  if (indexed) {
    std::string blocks;
    if (filter.node)
      blocks += " AND first_seq IN (SELECT first_seq FROM audit_block_parties WHERE party = :node)";
    if (filter.since_unix_ms) blocks += " AND max_time >= :since";
    if (filter.until_unix_ms) blocks += " AND min_time <= :until";
    sql = fmt::format("{0} WHERE 1{1}{2} UNION ALL {3} WHERE seq > :indexed{2} ORDER BY 1",
                      select_columns(numbered, "audit_blocks CROSS JOIN audit ON seq BETWEEN first_seq AND last_seq"), blocks,
                      conditions, select_columns(numbered));
  } else {
    sql = select_columns(numbered) + " WHERE 1" + conditions + " ORDER BY seq";
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

// `icegate audit query`: the records that match a filter, in seq order.
#include "gateway/audit/audit.hpp"

#include <optional>

#include <fmt/format.h>

#include "gateway/audit/database.hpp"
#include "gateway/model/bloom.hpp"

namespace icegate::audit {

using namespace detail;

namespace {

// Binds each of the filter's values whose parameter `statement` has.
void bind_filter(sqlite::Statement& statement, const QueryFilter& filter) {
  const auto bind_text = [&statement](const char* name, const std::optional<std::string>& value) {
    if (const int index = statement.parameter(name); value && index > 0) statement.bind(index, *value);
  };
  const auto bind_number = [&statement](const char* name, const std::optional<std::int64_t>& value) {
    if (const int index = statement.parameter(name); value && index > 0) statement.bind(index, *value);
  };
  bind_text(":node", filter.node);
  bind_text(":message_id", filter.message_id);
  bind_text(":decision", filter.decision);
  bind_text(":kind", filter.kind);
  bind_number(":since", filter.since_unix_ms);
  bind_number(":until", filter.until_unix_ms);
}

void read_all(sqlite::Statement& select, std::vector<StoredRecord>& records) {
  while (select.next("cannot read the audit table")) records.push_back(read_stored_record(select));
  select.reset();
}

}  // namespace

std::vector<StoredRecord> query(const std::filesystem::path& data_dir, const QueryFilter& filter) {
  const sqlite::Connection db = open_read_only(data_dir);
  // Every filter, as conditions on the record's own columns: whichever way
  // a record is found, these decide whether it is returned.
  std::string conditions;
  if (filter.node) conditions += " AND (node = :node OR recipient = :node)";
  if (filter.message_id) conditions += " AND message_id = :message_id";
  if (filter.decision) conditions += " AND decision = :decision";
  if (filter.kind) conditions += " AND kind = :kind";
  if (filter.since_unix_ms) conditions += " AND time_unix_ms >= :since";
  if (filter.until_unix_ms) conditions += " AND time_unix_ms <= :until";
  // Which blocks can hold a match (see create_schema): by their parties and
  // times here, by their message filters below.
  std::string blocks;
  if (filter.node) blocks += " AND first_seq IN (SELECT first_seq FROM audit_block_parties WHERE party = :node)";
  if (filter.since_unix_ms) blocks += " AND max_time >= :since";
  if (filter.until_unix_ms) blocks += " AND min_time <= :until";

  std::vector<StoredRecord> records;
  const std::optional<std::int64_t> indexed = blocks.empty() && !filter.message_id ? std::nullopt : blocks_through(db);
  if (!indexed) {
    // Nothing to narrow by, or a trail written before the blocks: every record.
    sqlite::Statement select(db, select_columns() + " WHERE 1" + conditions + " ORDER BY seq", audit_errors,
                             "cannot query the audit table");
    bind_filter(select, filter);
    read_all(select, records);
    return records;
  }
  if (filter.message_id) {
    // The blocks whose filter may hold the id (a few, or one in 1,500 for an
    // id in none), each read by its seqs; a filter that is not one (verify
    // reports it) hides nothing: its block is read.
    sqlite::Statement candidates(db, "SELECT first_seq, last_seq, messages FROM audit_blocks WHERE 1" + blocks +
                                         " ORDER BY first_seq",
                                 audit_errors, "cannot read the audit blocks");
    bind_filter(candidates, filter);
    sqlite::Statement in_block(db, select_columns() + " WHERE seq BETWEEN :first AND :last" + conditions + " ORDER BY seq",
                               audit_errors,
                               "cannot query the audit table");
    while (candidates.next("cannot read the audit blocks")) {
      const std::string_view messages = candidates.text_view(2);
      if (bloom::Bytes::well_formed(messages) && !bloom::Bytes::may_contain(messages, *filter.message_id)) continue;
      in_block.bind(in_block.parameter(":first"), candidates.integer(0));
      in_block.bind(in_block.parameter(":last"), candidates.integer(1));
      bind_filter(in_block, filter);
      read_all(in_block, records);
    }
    sqlite::Statement after(db, select_columns() + " WHERE seq > :indexed" + conditions + " ORDER BY seq",
                            audit_errors, "cannot query the audit table");
    after.bind(after.parameter(":indexed"), *indexed);
    bind_filter(after, filter);
    read_all(after, records);
    return records;
  }
  sqlite::Statement select(
      db,
      fmt::format("{0} WHERE 1{1}{2} UNION ALL {3} WHERE seq > :indexed{2} ORDER BY 1",
                  select_columns("audit_blocks CROSS JOIN audit ON seq BETWEEN first_seq AND last_seq"), blocks,
                  conditions, select_columns()),
      audit_errors, "cannot query the audit table");
  select.bind(select.parameter(":indexed"), *indexed);
  bind_filter(select, filter);
  read_all(select, records);
  return records;
}

}  // namespace icegate::audit

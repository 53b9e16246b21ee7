// The audit trail's SQLite access, inside the audit library (through the one
// wrapper, gateway/store/sqlite.hpp): its errors, the read-only opening used
// by verify and query, and the columns every reader selects.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/audit/audit.hpp"
#include "gateway/store/sqlite.hpp"

namespace icegate::audit::detail {

// The audit library's errors: std::runtime_error "audit: WHAT: <SQLite's
// message>". Every statement says what it was doing.
[[noreturn]] void raise_audit_error(const std::string& text);
inline constexpr sqlite::Errors audit_errors{.raise = raise_audit_error};

// DIR/icegate.db, opened read-only; throws if it is missing or has no audit
// table. Every statement on it then reads the trail as it was at the first:
// a reader that reads in several statements (how far the blocks go, then
// the blocks and the records; the records, then the blocks) must not see a
// block or record the gateway commits between two of them.
sqlite::Connection open_read_only(const std::filesystem::path& data_dir);

// Whether `table` has a column `column` (false if there is no such table).
bool has_column(const sqlite::Connection& db, std::string_view table, std::string_view column);

// How far the blocks (audit_blocks) go: the last seq of the last block; the
// records after it are in no block yet. None: a trail no icegate with blocks
// has opened yet, whose records are all found by their columns.
std::optional<std::int64_t> blocks_through(const sqlite::Connection& db);

// The columns every reader selects, in this order, from `from` (the audit
// table, or a join of it whose other tables' columns do not share its
// names).
std::string select_columns(std::string_view from = "audit");
enum Column : int {
  column_seq,
  column_time,
  column_kind,
  column_node,
  column_recipient,
  column_message_id,
  column_decision,
  column_record,
  column_previous_hash,
  column_hash,
};

// A row selected with select_columns, as a record (from its JSON, or from its
// columns if the JSON is not a record).
StoredRecord read_stored_record(const sqlite::Statement& row);

}  // namespace icegate::audit::detail

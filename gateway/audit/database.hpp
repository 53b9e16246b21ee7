// The audit trail's SQLite access, inside the audit library: handles that
// finalize and close themselves, statement helpers, the read-only opening
// used by verify and query, and the columns every reader selects.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/audit/audit.hpp"

namespace icegate::audit::detail {

struct DatabaseCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Database = std::unique_ptr<sqlite3, DatabaseCloser>;

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

// Throws std::runtime_error "audit: WHAT: <sqlite's message>".
[[noreturn]] void throw_sqlite_error(sqlite3* db, std::string_view what);

Statement prepare(sqlite3* db, std::string_view sql, std::string_view what, unsigned int flags = 0);

inline std::string_view column_text(sqlite3_stmt* statement, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
  if (text == nullptr) return {};
  return {text, static_cast<std::size_t>(sqlite3_column_bytes(statement, column))};
}

// Binds without copying: the text must outlive the next sqlite3_step.
inline void bind_text(sqlite3_stmt* statement, int index, std::string_view text) {
  sqlite3_bind_text(statement, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}
// Empty strings are stored as NULL, so "no node" is one value in the indexes.
inline void bind_text_or_null(sqlite3_stmt* statement, int index, std::string_view text) {
  if (text.empty()) {
    sqlite3_bind_null(statement, index);
  } else {
    bind_text(statement, index, text);
  }
}

// DIR/icegate.db, opened read-only; throws if it is missing or has no audit table.
Database open_read_only(const std::filesystem::path& data_dir);

// Whether `table` has a column `column` (false if there is no such table).
bool has_column(sqlite3* db, std::string_view table, std::string_view column);

// The columns every reader selects, in this order. A trail no icegate with
// message numbers has opened yet (readers open read-only and cannot upgrade
// it) reads as one without them.
std::string select_columns(bool numbered);
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
  column_message_ref,
};

// A row selected with select_columns, as a record (from its JSON, or from its
// columns if the JSON is not a record).
StoredRecord read_stored_record(sqlite3_stmt* statement);

}  // namespace icegate::audit::detail

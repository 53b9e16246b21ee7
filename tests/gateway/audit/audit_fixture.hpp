// Audit databases for the audit and `icegate audit` tests: DIR/icegate.db in
// WAL mode holding a chain of sample records, written as the gateway writes
// it, and a read-write handle for tampering with it through plain SQL.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "gateway/audit/audit.hpp"
#include "gateway/store/sqlite.hpp"

namespace icegate::testing {

// A read-write connection to DIR/icegate.db, created if absent.
class AuditDatabase : public sqlite::Connection {
 public:
  explicit AuditDatabase(const std::filesystem::path& data_dir)
      : sqlite::Connection(audit::database_path(data_dir), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
    exec("PRAGMA journal_mode = WAL");
  }

  void exec(const std::string& sql) const { sqlite::Connection::exec(sql, "SQL failed: " + sql); }

  // The first column of the first row, as text ("" for NULL or no row).
  std::string text(const std::string& sql) const {
    sqlite::Statement statement(*this, sql, errors(), "SQL failed: " + sql);
    return statement.next("SQL failed: " + sql) ? statement.text(0) : std::string();
  }
};

// 2026-11-21T06:00:00Z
inline constexpr std::int64_t sample_start_unix_ms = 1'795'240'800'000;

// `count` records, one a minute from sample_start_unix_ms: decisions for
// messages m-1, m-2, ... from alpha to bravo, charlie, delta in turn, DENY
// for every third, and a connection record every fifth.
inline std::vector<audit::AuditRecord> sample_records(int count) {
  const char* recipients[] = {"bravo", "charlie", "delta"};
  std::vector<audit::AuditRecord> records;
  for (int index = 0; index < count; ++index) {
    audit::AuditRecord record;
    record.time_unix_ms = sample_start_unix_ms + std::int64_t{60'000} * index;
    if (index % 5 == 4) {
      record.kind = "connection";
      record.node = recipients[index % 3];
      record.detail = R"({"peer":"127.0.0.1:5000"})";
    } else {
      record.kind = "decision";
      record.node = "alpha";
      record.recipient = recipients[index % 3];
      record.message_id = "m-" + std::to_string(index + 1);
      record.decision = index % 3 == 2 ? "DENY" : "RELEASE";
      record.rules = {"rule-" + std::to_string(index % 4), "default"};
      record.policy_version = "v1";
      record.detail = R"({"labels":["OFFICIAL"],"reason":"test"})";
    }
    records.push_back(std::move(record));
  }
  return records;
}

// Creates DIR/icegate.db and appends `records` in one transaction, as the
// gateway's store does. Returns the head hash.
inline std::string write_chain(const std::filesystem::path& data_dir, const std::vector<audit::AuditRecord>& records) {
  AuditDatabase db(data_dir);
  audit::create_schema(db);
  audit::AuditChain chain(db);
  db.exec("BEGIN");
  for (const audit::AuditRecord& record : records) chain.append(record);
  db.exec("COMMIT");
  return chain.head();
}

}  // namespace icegate::testing

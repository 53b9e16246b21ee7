#include "gateway/store/sqlite.hpp"

#include <sqlite3.h>

#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace icegate::sqlite {

void Errors::fail(std::string_view what, std::string_view message) const {
  const std::string text = fmt::format("{}: {}", what, message);
  if (raise != nullptr) raise(text);
  throw std::runtime_error(text);  // also if a raise returned
}

Connection::Connection(const std::filesystem::path& path, int flags, Errors errors,
                       std::chrono::milliseconds busy_timeout)
    : errors_(errors) {
  const int result = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (result != SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(result);
    sqlite3_close(db_);
    db_ = nullptr;
    errors_.fail(fmt::format("cannot open {}", path.string()), message);
  }
  sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
}

Connection::~Connection() { sqlite3_close(db_); }

Connection::Connection(Connection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), errors_(other.errors_) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
    errors_ = other.errors_;
  }
  return *this;
}

std::optional<std::string> Connection::try_exec(std::string_view sql) const {
  // sqlite3_exec needs a terminated string; most callers pass a literal.
  const std::string terminated(sql);
  char* error = nullptr;
  if (sqlite3_exec(db_, terminated.c_str(), nullptr, nullptr, &error) == SQLITE_OK) return std::nullopt;
  std::string message = error != nullptr ? error : sqlite3_errmsg(db_);
  sqlite3_free(error);
  return message;
}

void Connection::exec(std::string_view sql, std::string_view what) const {
  if (auto message = try_exec(sql)) errors_.fail(what, *message);
}

std::int64_t Connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

std::int64_t Connection::changes() const { return sqlite3_changes64(db_); }

Statement::Statement(const Connection& db, std::string_view sql)
    : Statement(db, sql, db.errors(), fmt::format("preparing '{}'", sql)) {}

Statement::Statement(const Connection& db, std::string_view sql, const Errors& errors, std::string_view what,
                     unsigned int flags)
    : errors_(errors) {
  if (sqlite3_prepare_v3(db.get(), sql.data(), static_cast<int>(sql.size()), flags, &statement_, nullptr) !=
      SQLITE_OK) {
    errors_.fail(what, sqlite3_errmsg(db.get()));
  }
}

Statement::~Statement() { sqlite3_finalize(statement_); }

Statement::Statement(Statement&& other) noexcept
    : statement_(std::exchange(other.statement_, nullptr)), errors_(other.errors_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(statement_);
    statement_ = std::exchange(other.statement_, nullptr);
    errors_ = other.errors_;
  }
  return *this;
}

std::string Statement::message() const { return sqlite3_errmsg(sqlite3_db_handle(statement_)); }

void Statement::check_bind(int result, int index) const {
  if (result != SQLITE_OK) {
    errors_.fail(fmt::format("binding parameter {} of '{}'", index, sqlite3_sql(statement_)), message());
  }
}

Statement& Statement::bind(int index, std::int64_t value) {
  check_bind(sqlite3_bind_int64(statement_, index, value), index);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  check_bind(sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC), index);
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  check_bind(sqlite3_bind_blob(statement_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC),
             index);
  return *this;
}

Statement& Statement::bind_null(int index) {
  check_bind(sqlite3_bind_null(statement_, index), index);
  return *this;
}

Statement& Statement::bind_or_null(int index, std::string_view text) {
  return text.empty() ? bind_null(index) : bind(index, text);
}

int Statement::parameter(const char* name) const { return sqlite3_bind_parameter_index(statement_, name); }

bool Statement::step_done() {
  const int result = sqlite3_step(statement_);
  // After a failed step, reset reports the same error and leaves its message.
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  return result == SQLITE_DONE;
}

void Statement::run(std::string_view what) {
  if (!step_done()) errors_.fail(what, message());
}

bool Statement::next(std::string_view what) {
  const int result = sqlite3_step(statement_);
  if (result == SQLITE_ROW) return true;
  if (result != SQLITE_DONE) errors_.fail(what, message());
  return false;
}

void Statement::reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(statement_, column); }

std::string_view Statement::text_view(int column) const {
  // As a blob: a text's bytes as stored, embedded NULs too, and a number as
  // its text. The bytes first, then their size: the order SQLite documents as safe.
  const auto* bytes = static_cast<const char*>(sqlite3_column_blob(statement_, column));
  if (bytes == nullptr) return {};
  return {bytes, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column))};
}

std::string Statement::text(int column) const { return std::string(text_view(column)); }

Type Statement::type(int column) const {
  switch (sqlite3_column_type(statement_, column)) {
    case SQLITE_INTEGER: return Type::integer;
    case SQLITE_FLOAT: return Type::real;
    case SQLITE_TEXT: return Type::text;
    case SQLITE_BLOB: return Type::blob;
    default: return Type::null;
  }
}

std::string_view Statement::name(int column) const {
  const char* text = sqlite3_column_name(statement_, column);
  return text != nullptr ? text : "";
}

bool has_column(const Connection& db, std::string_view table, std::string_view column, const Errors& errors,
                std::string_view what) {
  Statement info(db, fmt::format("SELECT 1 FROM pragma_table_info('{}') WHERE name = ?1", table), errors, what);
  return info.bind(1, column).next(what);
}

}  // namespace icegate::sqlite

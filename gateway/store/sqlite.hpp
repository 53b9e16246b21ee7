// The one SQLite wrapper, used by the audit trail and the store: a connection
// and a prepared statement that close and finalize themselves, and errors that
// name what was being done and SQLite's message, thrown as the caller's own
// exception ("audit: cannot read the audit table: ...", StoreError "writing
// the store: ...").
//
// Its own library (icegate_sqlite), below both: the audit library writes its
// chain through the store's connection.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace icegate::sqlite {

// How a caller reports SQLite's failures. Every failure is thrown by `raise`
// as the text "<what>: <SQLite's message>"; `raise` throws the caller's own
// exception and may put its own prefix first. Without one: std::runtime_error.
struct Errors {
  void (*raise)(const std::string& text) = nullptr;
  std::string_view reading = "reading the database";  // what next() was doing unless told
  std::string_view writing = "writing the database";  // what run() was doing unless told

  [[noreturn]] void fail(std::string_view what, std::string_view message) const;
};

// A column's type as SQLite stored it (sqlite3_column_type), before any conversion.
enum class Type { integer, real, text, blob, null };

// A connection, closed on destruction.
class Connection {
 public:
  // Opens `path` with sqlite3_open_v2's `flags` (SQLITE_OPEN_*); a statement
  // waits up to `busy_timeout` for another connection's lock (0: not at all).
  // Throws "cannot open PATH: <message>" through `errors`, which are also the
  // errors of exec() and of the statements prepared without errors of their own.
  Connection(const std::filesystem::path& path, int flags, Errors errors = {},
             std::chrono::milliseconds busy_timeout = std::chrono::milliseconds(0));
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;

  sqlite3* get() const { return db_; }
  const Errors& errors() const { return errors_; }

  // Runs `sql` (statements that return no rows). Throws "<what>: <message>".
  void exec(std::string_view sql, std::string_view what) const;
  // As exec, but returns SQLite's message if it failed (nothing if it did not).
  std::optional<std::string> try_exec(std::string_view sql) const;

  // The rowid of the last row this connection inserted.
  std::int64_t last_insert_rowid() const;
  // Rows the last INSERT, UPDATE or DELETE on this connection changed.
  std::int64_t changes() const;

 private:
  sqlite3* db_ = nullptr;
  Errors errors_;
};

// A prepared statement, finalized on destruction (before its connection closes).
//
// Texts and blobs are bound without a copy: each must outlive the run() or
// next() that uses it (in one chained expression, a temporary does).
class Statement {
 public:
  // Prepares `sql`, reporting through the connection's errors; a failure is
  // "preparing '<sql>': <message>".
  Statement(const Connection& db, std::string_view sql);
  // Reports through `errors`; a failure to prepare is "<what>: <message>".
  // `flags` are sqlite3_prepare_v3's (SQLITE_PREPARE_PERSISTENT for a
  // statement kept for the connection's life).
  Statement(const Connection& db, std::string_view sql, const Errors& errors, std::string_view what,
            unsigned int flags = 0);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;

  // Parameters, numbered from 1.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);
  // NULL for an empty text, so that "none" is one value in an index.
  Statement& bind_or_null(int index, std::string_view text);
  // The number of the parameter named `name` (":node"), 0 if there is none.
  int parameter(const char* name) const;

  // Runs a statement that returns no rows, then resets it and clears its
  // bindings for reuse. A failure is "<what>: <message>", `what` being
  // errors.writing, the text given, or what the function given returns (made
  // only on failure).
  void run() { run(errors_.writing); }
  void run(std::string_view what);
  template <std::invocable What>
  void run(What&& what) {
    if (!step_done()) errors_.fail(std::forward<What>(what)(), message());
  }

  // Steps to the next row: true if there is one, false at the end. A failure
  // is "<what>: <message>", `what` being errors.reading unless given.
  bool next() { return next(errors_.reading); }
  bool next(std::string_view what);
  // Back to before the first row, with no bindings.
  void reset();

  // The current row's columns, numbered from 0. A NULL reads as 0 or "".
  std::int64_t integer(int column) const;
  std::string text(int column) const;  // a copy (a blob's bytes, embedded NULs too)
  // Valid until the next step, reset or finalize, or another accessor on this column.
  std::string_view text_view(int column) const;
  Type type(int column) const;  // call before any accessor converts the value
  std::string_view name(int column) const;

 private:
  bool step_done();  // steps, resets and clears bindings; whether it ran to the end
  std::string message() const;
  void check_bind(int result, int index) const;

  sqlite3_stmt* statement_ = nullptr;
  Errors errors_;
};

// Whether `table` has a column `column` (false if there is no such table).
// A failure to read the table's columns is "<what>: <message>", through `errors`.
bool has_column(const Connection& db, std::string_view table, std::string_view column, const Errors& errors,
                std::string_view what);

}  // namespace icegate::sqlite

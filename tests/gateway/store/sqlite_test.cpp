// The SQLite wrapper (gateway/store/sqlite.hpp): values bound and read back
// as they were, statements reused, connections that close themselves, and
// errors that say what was being done, in the caller's own exception.
#include "gateway/store/sqlite.hpp"

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/temporary_directory.hpp"

namespace icegate::sqlite {
namespace {

using ::testing::HasSubstr;
using namespace std::string_literals;

class CallersError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void raise_callers_error(const std::string& text) { throw CallersError("callers: " + text); }

constexpr Errors callers_errors{.raise = raise_callers_error, .reading = "reading t", .writing = "writing t"};

class SqliteTest : public ::testing::Test {
 protected:
  SqliteTest() { db_.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, value)", "creating t"); }

  testing::TemporaryDirectory directory_;
  Connection db_{directory_ / "test.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, callers_errors};
};

TEST_F(SqliteTest, BindsEachTypeAndReadsItBack) {
  constexpr std::int64_t smallest = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t largest = std::numeric_limits<std::int64_t>::max();
  const std::string text = "caf\xc3\xa9";
  const std::string blob = "\x01\xff\x7f";
  Statement insert(db_, "INSERT INTO t(id, value) VALUES(?1, ?2)");
  insert.bind(1, 1).bind(2, smallest).run();
  insert.bind(1, 2).bind(2, largest).run();
  insert.bind(1, 3).bind(2, text).run();
  insert.bind(1, 4).bind_blob(2, blob).run();
  insert.bind(1, 5).bind_null(2).run();
  insert.bind(1, 6).bind_or_null(2, "").run();
  insert.bind(1, 7).bind_or_null(2, "x").run();

  Statement select(db_, "SELECT value, typeof(value) FROM t ORDER BY id");
  ASSERT_TRUE(select.next());
  EXPECT_EQ(select.type(0), Type::integer);
  EXPECT_EQ(select.integer(0), smallest);
  ASSERT_TRUE(select.next());
  EXPECT_EQ(select.integer(0), largest);
  ASSERT_TRUE(select.next());
  EXPECT_EQ(select.type(0), Type::text);
  EXPECT_EQ(select.text(0), text);
  EXPECT_EQ(select.text_view(0), text);
  ASSERT_TRUE(select.next());
  EXPECT_EQ(select.type(0), Type::blob);
  EXPECT_EQ(select.text(0), blob);
  ASSERT_TRUE(select.next());
  EXPECT_EQ(select.type(0), Type::null);
  EXPECT_EQ(select.integer(0), 0) << "NULL reads as 0";
  EXPECT_EQ(select.text(0), "") << "and as an empty text";
  EXPECT_EQ(select.text_view(0), "");
  ASSERT_TRUE(select.next());
  EXPECT_EQ(select.type(0), Type::null) << "bind_or_null stores an empty text as NULL";
  ASSERT_TRUE(select.next());
  EXPECT_EQ(select.text(1), "text");
  EXPECT_EQ(select.text(0), "x");
  EXPECT_FALSE(select.next());
  EXPECT_EQ(select.name(1), "typeof(value)");
}

TEST_F(SqliteTest, TextsAndBlobsKeepEmbeddedNulBytes) {
  const std::string text = "before\0after\0"s;
  ASSERT_EQ(text.size(), 13u);
  Statement insert(db_, "INSERT INTO t(id, value) VALUES(?1, ?2)");
  insert.bind(1, 1).bind(2, text).run();
  insert.bind(1, 2).bind_blob(2, text).run();
  Statement select(db_, "SELECT value, length(CAST(value AS BLOB)) FROM t ORDER BY id");
  for (const Type type : {Type::text, Type::blob}) {
    ASSERT_TRUE(select.next());
    EXPECT_EQ(select.type(0), type);
    EXPECT_EQ(select.integer(1), 13) << "stored whole, not cut at the first NUL";
    EXPECT_EQ(select.text(0), text);
    EXPECT_EQ(select.text_view(0), text);
  }
}

TEST_F(SqliteTest, AStatementIsReusedAfterRunWithItsBindingsCleared) {
  Statement insert(db_, "INSERT INTO t(id, value) VALUES(?1, ?2)");
  insert.bind(1, 1).bind(2, "first").run();
  insert.bind(1, 2).run();  // ?2 not bound again: NULL, not "first"
  Statement count(db_, "SELECT count(*), count(value), group_concat(value) FROM t");
  ASSERT_TRUE(count.next());
  EXPECT_EQ(count.integer(0), 2);
  EXPECT_EQ(count.integer(1), 1);
  EXPECT_EQ(count.text(2), "first");

  // A row statement reset reads its rows again.
  EXPECT_FALSE(count.next());
  count.reset();
  ASSERT_TRUE(count.next());
  EXPECT_EQ(count.integer(0), 2);
}

TEST_F(SqliteTest, NamedParametersAreFoundByName) {
  Statement insert(db_, "INSERT INTO t(id, value) VALUES(:id, :value)");
  EXPECT_EQ(insert.parameter(":value"), 2);
  EXPECT_EQ(insert.parameter(":nothing"), 0);
  insert.bind(insert.parameter(":id"), 7).bind(insert.parameter(":value"), "seven").run();
  Statement select(db_, "SELECT value FROM t WHERE id = 7");
  ASSERT_TRUE(select.next());
  EXPECT_EQ(select.text(0), "seven");
}

// The text of the exception `action` throws, which must be a CallersError.
template <typename Action>
std::string callers_error(Action action) {
  try {
    action();
  } catch (const CallersError& error) {
    return error.what();
  } catch (const std::exception& error) {
    return std::string("not the caller's exception: ") + error.what();
  }
  return "nothing thrown";
}

TEST_F(SqliteTest, AStatementThatCannotBePreparedIsNamedInTheError) {
  EXPECT_EQ(callers_error([&] { Statement(db_, "SELEKT value FROM t"); }),
            R"(callers: preparing 'SELEKT value FROM t': near "SELEKT": syntax error)");
  EXPECT_EQ(callers_error([&] { Statement(db_, "SELECT missing FROM t", callers_errors, "counting missing"); }),
            "callers: counting missing: no such column: missing");
}

TEST_F(SqliteTest, FailuresToRunOrReadSayWhatWasBeingDone) {
  Statement insert(db_, "INSERT INTO t(id, value) VALUES(?1, ?2)");
  insert.bind(1, 1).run();
  EXPECT_EQ(callers_error([&] { insert.bind(1, 1).run(); }), "callers: writing t: UNIQUE constraint failed: t.id");
  EXPECT_EQ(callers_error([&] { insert.bind(1, 1).run("adding row 1"); }),
            "callers: adding row 1: UNIQUE constraint failed: t.id");
  int made = 0;
  auto what = [&made] {
    ++made;
    return std::string("adding a row made on failure");
  };
  insert.bind(1, 2).run(what);
  EXPECT_EQ(made, 0) << "the text is made only for a failure";
  EXPECT_EQ(callers_error([&] { insert.bind(1, 2).run(what); }),
            "callers: adding a row made on failure: UNIQUE constraint failed: t.id");
  insert.bind(1, 3).run();  // usable again after a failure

  Statement overflow(db_, "SELECT abs(-9223372036854775807 - 1)");  // fails when stepped, not when prepared
  EXPECT_EQ(callers_error([&] { overflow.next(); }), "callers: reading t: integer overflow");
  overflow.reset();
  EXPECT_EQ(callers_error([&] { overflow.next("taking abs"); }), "callers: taking abs: integer overflow");

  EXPECT_EQ(callers_error([&] { insert.bind(3, 1); }),
            "callers: binding parameter 3 of 'INSERT INTO t(id, value) VALUES(?1, ?2)': column index out of range");
}

TEST_F(SqliteTest, ExecRunsSeveralStatementsAndSaysWhatFailed) {
  db_.exec("INSERT INTO t(id) VALUES(1); INSERT INTO t(id) VALUES(2)", "adding two rows");
  EXPECT_EQ(db_.last_insert_rowid(), 2);
  EXPECT_EQ(db_.try_exec("DELETE FROM t WHERE id = 2"), std::nullopt);
  EXPECT_EQ(db_.try_exec("INSERT INTO nowhere VALUES(1)"), "no such table: nowhere");
  EXPECT_EQ(callers_error([&] { db_.exec("INSERT INTO t(id) VALUES(1)", "adding row 1 again"); }),
            "callers: adding row 1 again: UNIQUE constraint failed: t.id");
}

TEST(SqliteConnectionTest, AFileThatCannotBeOpenedIsNamed) {
  testing::TemporaryDirectory directory;
  const auto path = directory / "missing" / "test.db";
  EXPECT_EQ(callers_error([&] { Connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, callers_errors); }),
            "callers: cannot open " + path.string() + ": unable to open database file");
  try {
    Connection(path, SQLITE_OPEN_READONLY);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("cannot open " + path.string())) << "without errors: std::runtime_error";
  }
}

TEST(SqliteConnectionTest, ALockedDatabaseIsWaitedForUpToTheBusyTimeoutAndFreedOnClose) {
  testing::TemporaryDirectory directory;
  const auto path = directory / "test.db";
  constexpr int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  Connection waiting(path, flags, {}, std::chrono::milliseconds(300));
  Connection impatient(path, flags);
  {
    Connection holder(path, flags);
    holder.exec("CREATE TABLE t(id INTEGER)", "creating t");
    holder.exec("BEGIN IMMEDIATE", "taking the write lock");
    EXPECT_EQ(impatient.try_exec("BEGIN IMMEDIATE"), "database is locked");
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(waiting.try_exec("BEGIN IMMEDIATE"), "database is locked");
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  }  // closed with its transaction open: rolled back, the lock released
  impatient.exec("BEGIN IMMEDIATE; INSERT INTO t VALUES(1); COMMIT", "writing after the holder closed");
}

TEST(SqliteConnectionTest, MovedConnectionsAndStatementsStillWork) {
  testing::TemporaryDirectory directory;
  Connection first(directory / "test.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  Connection db = std::move(first);
  EXPECT_EQ(first.get(), nullptr);
  Statement prepared(db, "SELECT 41 + 1");
  Statement statement = std::move(prepared);
  ASSERT_TRUE(statement.next());
  EXPECT_EQ(statement.integer(0), 42);
}

}  // namespace
}  // namespace icegate::sqlite

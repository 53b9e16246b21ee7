// The store's fail-stop: a failed commit is rolled back whole, what was queued
// behind it is refused unwritten until resume(), and health() says why. And
// the ids of accepted messages: only the newest read back, the rest found
// through the bulk index message_ids, which an older data directory gains on open;
// and of the outboxes, only the first frames of each, the rest read back by range.
// And a failed sync of the WAL: everything refused from then on, for good.
// And batches no one awaits (connection records): held back briefly to share
// a transaction, never past the first batch someone awaits or a flush().
// And the bulk indexes (message ids, audit parties): filled a batch at a
// time in the writer's transactions, what waits found all along; and the
// filter in front of the message ids' index, which answers for new ids alone.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "gateway/audit/audit.hpp"
#include "gateway/store/store.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::store {
namespace {

using ::testing::HasSubstr;

Batch message_batch(const std::string& id) {
  Batch batch;
  batch.messages.push_back({id, "analyst", 1});
  audit::AuditRecord record;
  record.time_unix_ms = 1;
  record.kind = "submit";
  record.node = "analyst";
  record.message_id = id;
  batch.audit.push_back(std::move(record));
  return batch;
}

// Commits `batch` and returns what its callback was told (after running it).
std::optional<bool> commit_and_wait(Store& store, boost::asio::io_context& io, Batch batch) {
  std::optional<bool> result;
  store.commit(std::move(batch), io.get_executor(), [&](bool ok) { result = ok; });
  store.flush();
  io.restart();
  io.run();
  return result;
}

class StoreFailStopTest : public ::testing::Test {
 protected:
  std::optional<bool> commit(Batch batch) { return commit_and_wait(store_, io_, std::move(batch)); }
  std::vector<std::string> stored_ids() {
    std::vector<std::string> ids;
    for (const auto& message : store_.recover().messages) ids.push_back(message.id);
    return ids;
  }

  testing::TemporaryDirectory dir_;
  boost::asio::io_context io_;
  Store store_{dir_.path(), StoreOptions{false}};
};

TEST_F(StoreFailStopTest, AFailedCommitIsRolledBackAndSaysWhy) {
  ASSERT_EQ(commit(message_batch("first")), true);
  EXPECT_TRUE(store_.health().ok);
  store_.inject_commit_failure(1);
  EXPECT_EQ(commit(message_batch("lost")), false);
  EXPECT_EQ(stored_ids(), std::vector<std::string>{"first"}) << "nothing of the failed batch is stored";
  const auto health = store_.health();
  EXPECT_FALSE(health.ok);
  EXPECT_THAT(health.reason, HasSubstr("injected commit failure"));
  EXPECT_GT(health.failed_at_unix_ms, 0);
  EXPECT_EQ(store_.stats().failed_commits, 1u);
  // The audit chain continues from the last committed record, not from the rolled-back one.
  store_.resume();
  ASSERT_EQ(commit(message_batch("second")), true);
  const auto report = audit::verify(dir_.path());
  EXPECT_TRUE(report.intact());
  EXPECT_EQ(report.records, 2);
}

TEST_F(StoreFailStopTest, WhatWasQueuedBehindAFailureIsRefusedUntilResume) {
  store_.inject_commit_failure(1);
  const auto epoch = store_.epoch();
  EXPECT_EQ(commit(message_batch("failed")), false);
  // The fault has cleared (one injected failure only), but this batch was
  // prepared before the caller read the store back: it must not be written.
  EXPECT_EQ(commit(message_batch("behind")), false);
  EXPECT_TRUE(stored_ids().empty());
  EXPECT_FALSE(store_.health().ok) << "a refused batch proves nothing about the disk";
  store_.resume();
  EXPECT_EQ(store_.epoch(), epoch + 1);
  EXPECT_EQ(commit(message_batch("after")), true);
  EXPECT_EQ(stored_ids(), std::vector<std::string>{"after"});
  EXPECT_TRUE(store_.health().ok) << "a commit that wrote succeeded: healthy again";
}

TEST_F(StoreFailStopTest, AnEmptyCommitDoesNotClearTheFailure) {
  store_.inject_commit_failure(1);
  EXPECT_EQ(commit(message_batch("failed")), false);
  store_.resume();
  EXPECT_EQ(commit(Batch{}), true);
  EXPECT_FALSE(store_.health().ok) << "an empty transaction writes nothing, so it cannot show the disk is back";
}

// A failed sync (fdatasync of the WAL: EIO, ENOSPC) is fail-stop without
// resume: the group it covered and everything after it are refused, resume()
// changes nothing, and health() says the gateway must be restarted.
TEST(StoreSyncFailure, AFailedSyncRefusesEverythingForGoodAndSaysRestart) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  Store store(dir.path(), StoreOptions{true});
  auto commit = [&](Batch batch) { return commit_and_wait(store, io, std::move(batch)); };
  ASSERT_EQ(commit(message_batch("durable")), true);
  EXPECT_GE(store.stats().syncs, 1u) << "a durable store syncs the WAL before it calls back";
  store.inject_sync_failure(1);
  EXPECT_EQ(commit(message_batch("unsynced")), false) << "committed, but its sync failed: never acknowledged";
  auto health = store.health();
  EXPECT_FALSE(health.ok);
  EXPECT_TRUE(health.restart_required);
  EXPECT_TRUE(store.restart_required());
  EXPECT_THAT(health.reason, HasSubstr("injected sync failure"));
  EXPECT_THAT(health.reason, HasSubstr("icegate.db-wal"));
  EXPECT_THAT(health.reason, HasSubstr("must be restarted"));
  EXPECT_GT(health.failed_at_unix_ms, 0);

  const auto epoch = store.epoch();
  store.resume();
  EXPECT_EQ(store.epoch(), epoch) << "resume() does not clear a failed sync";
  EXPECT_EQ(commit(message_batch("after")), false) << "nothing is accepted after a failed sync";
  EXPECT_EQ(commit(Batch{}), false);
  EXPECT_TRUE(store.health().restart_required) << "not even a later commit clears it";
  EXPECT_FALSE(store.accepted("after")) << "refused unwritten";
}

// The durable audit head (what a gateway signs for its peers to witness)
// follows a group only once its callback is posted: in the callback it names
// the group's last record; a group committed but never made durable (its
// sync failed) never moves it, nor does one refused; and a store opened again
// starts from what it reads back.
TEST(StoreSyncFailure, TheDurableAuditHeadIsTheLastGroupCalledBackAsDurable) {
  testing::TemporaryDirectory dir;
  audit::TrailHead after_first;
  {
    boost::asio::io_context io;
    Store store(dir.path(), StoreOptions{true});
    EXPECT_EQ(store.durable_audit_head().seq, 0);
    EXPECT_EQ(store.durable_audit_head().hash, audit::genesis_hash);
    std::optional<audit::TrailHead> seen_in_callback;
    store.commit(message_batch("durable"), io.get_executor(),
                 [&](bool ok) { if (ok) seen_in_callback = store.durable_audit_head(); });
    store.flush();
    io.restart();
    io.run();
    ASSERT_TRUE(seen_in_callback);
    EXPECT_EQ(seen_in_callback->seq, 1);
    EXPECT_EQ(seen_in_callback->hash.size(), 64u);
    EXPECT_NE(seen_in_callback->hash, audit::genesis_hash);
    after_first = *seen_in_callback;

    store.inject_sync_failure(1);
    std::optional<bool> result;
    store.commit(message_batch("unsynced"), io.get_executor(), [&](bool ok) { result = ok; });
    store.flush();
    io.restart();
    io.run();
    ASSERT_EQ(result, false);
    EXPECT_EQ(store.durable_audit_head().seq, 1) << "a record committed but not durable is never signed";
    EXPECT_EQ(store.durable_audit_head().hash, after_first.hash);
  }
  Store reopened(dir.path(), StoreOptions{true});
  reopened.recover();
  EXPECT_GE(reopened.durable_audit_head().seq, 1) << "what the file holds after a restart";
}

// Callbacks come in commit order, after their sync, also when many groups
// are in the pipeline at once.
TEST(StoreSyncFailure, CallbacksComeInCommitOrderAcrossThePipeline) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  Store store(dir.path(), StoreOptions{true});
  std::vector<int> order;
  for (int i = 0; i < 200; ++i)
    store.commit(message_batch("m" + std::to_string(i)), io.get_executor(), [&order, i](bool ok) {
      EXPECT_TRUE(ok);
      order.push_back(i);
    });
  store.flush();
  io.run();
  ASSERT_EQ(order.size(), 200u);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_LE(store.stats().syncs, store.stats().commits) << "one sync covers one or more commits";
  EXPECT_GE(store.stats().syncs, 1u);
}

// One group at a time (StoreOptions::pipelined = false, the comparison in
// docs/PERFORMANCE.md): the same answers, in the same order.
TEST(StoreSyncFailure, WithoutPipeliningTheCallbacksAreTheSame) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  Store store(dir.path(), StoreOptions{.synchronous_full = true, .pipelined = false});
  std::vector<int> order;
  for (int i = 0; i < 50; ++i)
    store.commit(message_batch("p" + std::to_string(i)), io.get_executor(), [&order, i](bool ok) {
      EXPECT_TRUE(ok);
      order.push_back(i);
    });
  store.flush();
  io.run();
  ASSERT_EQ(order.size(), 50u);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(store.stats().syncs, store.stats().commits) << "one sync per commit when nothing overlaps";
}

// The writer checkpoints itself (SQLite's automatic checkpoint is off); a
// checkpoint between pipelined groups loses nothing, and what was called back
// is there after a reopen.
TEST(StoreSyncFailure, CheckpointsBetweenGroupsLoseNothing) {
  testing::TemporaryDirectory dir;
  {
    boost::asio::io_context io;
    Store store(dir.path(), StoreOptions{.synchronous_full = true, .checkpoint_pages = 4});
    int ok = 0;
    for (int i = 0; i < 100; ++i) {
      // One group each, in pairs: a group is committed while the one before is synced.
      store.commit(message_batch("c" + std::to_string(i)), io.get_executor(), [&ok](bool done) { ok += done; });
      if (i % 2 == 1) store.flush();
    }
    store.flush();
    io.run();
    EXPECT_EQ(ok, 100);
    // Each group puts more than 4 pages in the WAL; the writer checkpoints
    // before it takes the next group.
    EXPECT_GE(store.stats().checkpoints, 10u);
    EXPECT_TRUE(store.health().ok);
  }
  Store reopened(dir.path(), StoreOptions{false});
  EXPECT_EQ(reopened.recover().messages.size(), 100u);
  EXPECT_TRUE(audit::verify(dir.path()).intact());
}

class StoreMessageIdsTest : public StoreFailStopTest {};

TEST_F(StoreMessageIdsTest, RecoverReadsBackOnlyTheNewestMessagesOldestFirst) {
  for (const auto* id : {"m1", "m2", "m3", "m4", "m5"}) ASSERT_EQ(commit(message_batch(id)), true);
  const Recovered newest = store_.recover(2);
  ASSERT_EQ(newest.messages.size(), 2u);
  EXPECT_EQ(newest.messages[0].id, "m4");
  EXPECT_EQ(newest.messages[1].id, "m5");
  EXPECT_FALSE(newest.all_messages) << "three older messages stayed on disk";
  EXPECT_TRUE(store_.recover(5).all_messages);
  EXPECT_EQ(store_.recover(5).messages.size(), 5u);
  EXPECT_TRUE(store_.recover().all_messages);
}

TEST_F(StoreMessageIdsTest, ACommittedIdIsFoundOnDiskAndNoOtherIs) {
  EXPECT_FALSE(store_.accepted("m1"));
  ASSERT_EQ(commit(message_batch("m1")), true);
  EXPECT_TRUE(store_.accepted("m1"));
  EXPECT_FALSE(store_.accepted("m2"));
  store_.inject_commit_failure(1);
  EXPECT_EQ(commit(message_batch("rolled-back")), false);
  EXPECT_FALSE(store_.accepted("rolled-back")) << "only what is committed is seen";
}

Batch owed_batch(std::int64_t seq, const std::string& node, std::int64_t not_after = 0) {
  Batch batch;
  OutboxEntry entry;
  entry.seq = seq;
  entry.node = node;
  entry.message_id = "m" + std::to_string(seq);
  entry.needs_ack = true;
  entry.not_after_unix_ms = not_after;
  entry.frame = "frame " + std::to_string(seq);
  batch.outbox.push_back(std::move(entry));
  return batch;
}

class StoreOutboxTest : public StoreFailStopTest {};

TEST_F(StoreOutboxTest, OwedFramesAreReadOnTheReaderThreadByPagesBoundedInBytesAndPostedBackInOrder) {
  for (std::int64_t seq = 1; seq <= 20; ++seq) ASSERT_EQ(commit(owed_batch(seq, "officer")), true);
  ASSERT_EQ(commit(owed_batch(21, "reader")), true);
  struct Got {
    std::vector<std::int64_t> seqs;
    bool complete = false;
  };
  std::vector<Got> pages;
  auto keep = [&pages](Store::OwedPage page) {
    Got got;
    for (const auto& entry : page.entries) got.seqs.push_back(entry.seq);
    got.complete = page.complete;
    pages.push_back(got);
  };
  const auto all = std::numeric_limits<std::size_t>::max();
  store_.read_owed({"officer", 0, 20, 5, all}, io_.get_executor(), keep);     // by count
  store_.read_owed({"officer", 0, 20, 100, 20}, io_.get_executor(), keep);    // "frame 1" and "frame 2": 14 bytes of 20
  store_.read_owed({"officer", 0, 20, 100, 0}, io_.get_executor(), keep);     // always the first frame
  store_.read_owed({"officer", 15, 21, 100, all}, io_.get_executor(), keep);  // the rest, the reader's left out
  io_.restart();
  io_.run();  // until every page is posted back: each read is work the executor waits for
  ASSERT_EQ(pages.size(), 4u);
  EXPECT_EQ(pages[0].seqs, (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_FALSE(pages[0].complete);
  EXPECT_EQ(pages[1].seqs, (std::vector<std::int64_t>{1, 2}));
  EXPECT_FALSE(pages[1].complete) << "stopped by the bytes, not the end of the range";
  EXPECT_EQ(pages[2].seqs, (std::vector<std::int64_t>{1}));
  EXPECT_EQ(pages[3].seqs, (std::vector<std::int64_t>{16, 17, 18, 19, 20}));
  EXPECT_TRUE(pages[3].complete);
}

TEST_F(StoreOutboxTest, RecoverReturnsOnlyTheFirstFramesOfEachOutboxWithTheirCounts) {
  // 1-100 to the officer (every tenth expiring), 101-105 to the reader.
  for (std::int64_t seq = 1; seq <= 100; ++seq)
    ASSERT_EQ(commit(owed_batch(seq, "officer", seq % 10 == 0 ? 5000 + seq : 0)), true);
  for (std::int64_t seq = 101; seq <= 105; ++seq) ASSERT_EQ(commit(owed_batch(seq, "reader")), true);
  const Recovered recovered = store_.recover(10, 8);
  std::vector<std::int64_t> seqs;
  for (const auto& entry : recovered.outbox) seqs.push_back(entry.seq);
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 101, 102, 103, 104, 105}));
  EXPECT_EQ(recovered.outbox.front().frame, "frame 1");
  ASSERT_EQ(recovered.owed.size(), 2u);
  for (const auto& owed : recovered.owed) {
    if (owed.node == "officer") {
      EXPECT_EQ(owed.count, 100u);
      EXPECT_EQ(owed.last_seq, 100);
    } else {
      EXPECT_EQ(owed.count, 5u);
      EXPECT_EQ(owed.last_seq, 105);
    }
  }
  EXPECT_EQ(recovered.first_expiry_unix_ms, 5010) << "the first expiry of all, not a list of them";
  // Read back in seq order, by node, within the range the ledger asks for.
  const auto next = store_.owed("officer", 8, 50, 5);
  seqs.clear();
  for (const auto& entry : next) seqs.push_back(entry.seq);
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{9, 10, 11, 12, 13}));
  EXPECT_EQ(next.front().frame, "frame 9");
  EXPECT_TRUE(store_.owed("officer", 50, 50, 5).empty()) << "nothing after `through`";
  // The expiry index, a page at a time, in (not_after, seq) order, without frames.
  const auto due = store_.expiring(5051, 0, 0, 3);
  seqs.clear();
  for (const auto& entry : due) seqs.push_back(entry.seq);
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{10, 20, 30}));
  EXPECT_EQ(due.front().message_id, "m10");
  EXPECT_TRUE(due.front().frame.empty());
  const auto rest = store_.expiring(5051, due.back().not_after_unix_ms, due.back().seq, 3);
  seqs.clear();
  for (const auto& entry : rest) seqs.push_back(entry.seq);
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{40, 50})) << "only those that expire before 5,051";
  EXPECT_EQ(store_.next_expiry(5051), 5060);
  EXPECT_EQ(store_.next_expiry(5101), 0) << "none expires after the last";
}

// A Deliver's frame is the message's content. Once the entry is settled
// (here acknowledged), its bytes must not stay behind in the database's free
// space: the store deletes with SQLite's secure_delete on, and once it is
// closed (the WAL checkpointed and removed) no file of the data directory
// holds them. With secure_delete off, the deleted cell's bytes stay in its
// page and this fails.
TEST(StoreSecureDeleteTest, ASettledFramesBytesAreNotLeftInTheDataDirectory) {
  testing::TemporaryDirectory dir;
  const std::string marker = "CONTENT-OF-A-SETTLED-FRAME-7f3a9c";
  {
    Store store(dir.path(), StoreOptions{false});
    boost::asio::io_context io;
    auto commit = [&](Batch batch) { return commit_and_wait(store, io, std::move(batch)); };
    Batch owed = owed_batch(1, "officer");
    owed.outbox.front().frame = marker + std::string(400, 'x');
    ASSERT_EQ(commit(std::move(owed)), true);
    ASSERT_EQ(commit(owed_batch(2, "officer")), true);  // a neighbour on the same page, still owed
    Batch settle;
    settle.settled = {1};
    ASSERT_EQ(commit(std::move(settle)), true);
  }
  for (const auto& file : std::filesystem::directory_iterator(dir.path())) {
    std::ifstream in(file.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(marker), std::string::npos) << file.path().filename() << " still holds the frame";
  }
}

// DIR/icegate.db as an older version left it: WAL, then `sql`.
void write_older_database(const std::filesystem::path& path, const std::string& sql) {
  const sqlite::Connection db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  db.exec("PRAGMA journal_mode=WAL", "setting WAL");
  db.exec(sql, "writing an older database");
}

// The outbox table as a data directory written before its expiry index has it.
const std::string older_outbox =
    "CREATE TABLE outbox(seq INTEGER PRIMARY KEY, node TEXT NOT NULL, message_id TEXT NOT NULL, "
    "needs_ack INTEGER NOT NULL, not_after_unix_ms INTEGER NOT NULL, originator TEXT NOT NULL, "
    "outcome BLOB, frame BLOB NOT NULL);";

// A batch's entries that share a frame (a fan-out's version): the rows of
// frames, each with the number of outbox entries that refer to it.
std::vector<std::pair<std::int64_t, std::int64_t>> shared_frames(const std::filesystem::path& dir) {
  const sqlite::Connection db(audit::database_path(dir), SQLITE_OPEN_READONLY);
  sqlite::Statement rows(db, "SELECT id, (SELECT count(*) FROM outbox WHERE frame_id = frames.id) FROM frames ORDER BY id");
  std::vector<std::pair<std::int64_t, std::int64_t>> frames;
  while (rows.next()) frames.emplace_back(rows.integer(0), rows.integer(1));
  return frames;
}

// Entries of node `node` for message m1 sharing frame `frame_id` (bytes `bytes`), seqs from `first`.
Batch shared_batch(std::int64_t first, const std::vector<std::string>& nodes, std::int64_t frame_id,
                   const std::shared_ptr<const std::string>& bytes) {
  Batch batch;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    OutboxEntry entry;
    entry.seq = first + static_cast<std::int64_t>(i);
    entry.node = nodes[i];
    entry.message_id = "m1";
    entry.needs_ack = true;
    entry.shared_frame = bytes;
    entry.frame_id = frame_id;
    batch.outbox.push_back(std::move(entry));
  }
  return batch;
}

// A frame several entries share is stored once, with their count; each reads
// back with its bytes (recovered, and read from the outbox by range); it
// leaves with the last of them, and a settled entry's bytes are no longer
// in any file of the data directory once the last has gone.
TEST(StoreSharedFrameTest, AFrameSharedByABatchsEntriesIsStoredOnceAndLeavesWithTheLast) {
  testing::TemporaryDirectory dir;
  const std::string marker = "CONTENT-OF-A-SHARED-FRAME-41b7e2";
  const auto bytes = std::make_shared<const std::string>(marker + std::string(400, 'x'));
  {
    Store store(dir.path(), StoreOptions{false});
    boost::asio::io_context io;
    const std::int64_t id = store.next_frame_id();
    Batch batch = shared_batch(1, {"officer", "reader", "analyst"}, id, bytes);
    Batch own = owed_batch(4, "officer");  // a frame of its own, as before
    batch.outbox.push_back(std::move(own.outbox.front()));
    ASSERT_EQ(commit_and_wait(store, io, std::move(batch)), true);
    EXPECT_EQ(shared_frames(dir.path()), (std::vector<std::pair<std::int64_t, std::int64_t>>{{id, 3}}));
    {
      const sqlite::Connection db(audit::database_path(dir.path()), SQLITE_OPEN_READONLY);
      sqlite::Statement stored(db, "SELECT seq, length(frame), frame_id FROM outbox ORDER BY seq");
      std::vector<std::string> rows;
      while (stored.next())
        rows.push_back(fmt::format("{} {} {}", stored.integer(0), stored.integer(1), stored.integer(2)));
      EXPECT_EQ(rows, (std::vector<std::string>{fmt::format("1 0 {}", id), fmt::format("2 0 {}", id),
                                                fmt::format("3 0 {}", id), "4 7 0"}));
    }
    for (const auto& entry : store.recover(10, 10).outbox)
      EXPECT_EQ(entry.frame, entry.seq == 4 ? std::string("frame 4") : *bytes) << entry.seq;
    const auto read = store.owed("reader", 0, 10, 10);
    ASSERT_EQ(read.size(), 1u);
    EXPECT_EQ(read.front().frame, *bytes);

    Batch settle;
    settle.settled = {1, 3};
    ASSERT_EQ(commit_and_wait(store, io, std::move(settle)), true);
    EXPECT_EQ(shared_frames(dir.path()), (std::vector<std::pair<std::int64_t, std::int64_t>>{{id, 1}}));
    EXPECT_EQ(store.owed("reader", 0, 10, 10).front().frame, *bytes) << "still owed to the reader";
    Batch last;
    last.settled = {2};
    ASSERT_EQ(commit_and_wait(store, io, std::move(last)), true);
    EXPECT_TRUE(shared_frames(dir.path()).empty());
    ASSERT_EQ(store.recover(10, 10).outbox.size(), 1u);
  }
  for (const auto& file : std::filesystem::directory_iterator(dir.path())) {
    std::ifstream in(file.path(), std::ios::binary);
    const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content.find(marker), std::string::npos) << file.path().filename() << " still holds the frame";
  }
}

// A commit that fails leaves neither the shared frame nor its entries, and a
// settlement that fails leaves the entry and the frame.
TEST(StoreSharedFrameTest, AFailedCommitTakesTheSharedFrameAndItsCountWithIt) {
  testing::TemporaryDirectory dir;
  Store store(dir.path(), StoreOptions{false});
  boost::asio::io_context io;
  const auto bytes = std::make_shared<const std::string>("a version of a Deliver");
  store.inject_commit_failure(1);
  EXPECT_EQ(commit_and_wait(store, io, shared_batch(1, {"officer", "reader"}, store.next_frame_id(), bytes)), false);
  EXPECT_TRUE(shared_frames(dir.path()).empty());
  store.resume();
  const std::int64_t id = store.next_frame_id();
  ASSERT_EQ(commit_and_wait(store, io, shared_batch(3, {"officer", "reader"}, id, bytes)), true);
  store.inject_commit_failure(1);
  Batch settle;
  settle.settled = {3};
  EXPECT_EQ(commit_and_wait(store, io, std::move(settle)), false);
  store.resume();
  EXPECT_EQ(shared_frames(dir.path()), (std::vector<std::pair<std::int64_t, std::int64_t>>{{id, 2}}));
  EXPECT_EQ(store.owed("officer", 0, 10, 10).size(), 1u);
}

// After a restart, frame ids go on above the highest still stored (one no
// longer stored may be given again: nothing refers to it).
TEST(StoreSharedFrameTest, FrameIdsGoOnAboveThoseStoredAfterARestart) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  std::int64_t id = 0;
  {
    Store store(dir.path(), StoreOptions{false});
    store.next_frame_id();
    id = store.next_frame_id();
    ASSERT_EQ(commit_and_wait(store, io, shared_batch(1, {"officer", "reader"}, id,
                                                      std::make_shared<const std::string>("shared"))),
              true);
  }
  Store reopened(dir.path(), StoreOptions{false});
  EXPECT_EQ(reopened.next_frame_id(), id + 1);
}

// An outbox written before frames were shared gains the frame_id column when
// opened; its entries read back with their own frames and leave as before.
TEST(StoreUpgradeTest, AnOlderOutboxGainsSharedFramesOnOpen) {
  testing::TemporaryDirectory dir;
  const auto path = audit::database_path(dir.path());
  write_older_database(path, older_outbox + "INSERT INTO outbox VALUES(1, 'officer', 'm1', 1, 0, 'analyst', '', 'f1');");
  Store store(dir.path(), StoreOptions{false});
  {
    const sqlite::Connection db(path, SQLITE_OPEN_READONLY);
    sqlite::Statement column(db, "SELECT count(*) FROM pragma_table_info('outbox') WHERE name = 'frame_id'");
    ASSERT_TRUE(column.next());
    EXPECT_EQ(column.integer(0), 1);
  }
  ASSERT_EQ(store.owed("officer", 0, 10, 10).size(), 1u);
  EXPECT_EQ(store.owed("officer", 0, 10, 10).front().frame, "f1");
  boost::asio::io_context io;
  const auto bytes = std::make_shared<const std::string>("shared");
  ASSERT_EQ(commit_and_wait(store, io, shared_batch(2, {"officer", "reader"}, store.next_frame_id(), bytes)), true);
  Batch settle;
  settle.settled = {1, 2};
  ASSERT_EQ(commit_and_wait(store, io, std::move(settle)), true);
  const auto left = store.recover(10, 10).outbox;
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left.front().frame, "shared");
}

// A data directory written before message ids were indexed: the messages
// table as it was then (no index on id), with rows in it.
TEST(StoreUpgradeTest, AnOlderDataDirectoryGainsTheIdIndexOnOpen) {
  testing::TemporaryDirectory dir;
  const auto path = audit::database_path(dir.path());
  write_older_database(path,
                       "CREATE TABLE messages(id TEXT NOT NULL, originator TEXT NOT NULL, "
                       "accepted_unix_ms INTEGER NOT NULL);"
                       "INSERT INTO messages VALUES('old-1', 'analyst', 10), ('old-2', 'analyst', 20);");
  Store store(dir.path(), StoreOptions{false});
  EXPECT_TRUE(store.accepted("old-1"));
  EXPECT_TRUE(store.accepted("old-2"));
  EXPECT_FALSE(store.accepted("new"));
  const Recovered recovered = store.recover(1);
  ASSERT_EQ(recovered.messages.size(), 1u);
  EXPECT_EQ(recovered.messages[0].id, "old-2");
  const sqlite::Connection db(path, SQLITE_OPEN_READONLY);
  sqlite::Statement plan(db, "EXPLAIN QUERY PLAN SELECT 1 FROM message_ids WHERE id = 'old-1'");
  std::string detail;
  while (plan.next()) detail += plan.text(3);
  EXPECT_THAT(detail, HasSubstr("USING PRIMARY KEY")) << "a lookup by id must not scan the table";
  sqlite::Statement indexed(db, "SELECT (SELECT COUNT(*) FROM message_ids), (SELECT through_rowid FROM "
                                "message_ids_indexed)");
  ASSERT_TRUE(indexed.next());
  EXPECT_EQ(indexed.integer(0), 2) << "every id held before is in the bulk index at once";
  EXPECT_EQ(indexed.integer(1), 2);
}

// The index of a version before the bulk index (messages_id on
// messages(id)) is replaced by it on open.
TEST(StoreUpgradeTest, TheOneByOneIdIndexIsReplacedByTheBulkIndexOnOpen) {
  testing::TemporaryDirectory dir;
  const auto path = audit::database_path(dir.path());
  write_older_database(path,
                       "CREATE TABLE messages(id TEXT NOT NULL, originator TEXT NOT NULL, "
                       "accepted_unix_ms INTEGER NOT NULL);"
                       "CREATE INDEX messages_id ON messages(id);"
                       "INSERT INTO messages VALUES('old-1', 'analyst', 10), ('old-2', 'analyst', 20);");
  {
    Store store(dir.path(), StoreOptions{false});
    EXPECT_TRUE(store.accepted("old-1"));
    EXPECT_FALSE(store.accepted("new"));
  }
  const sqlite::Connection db(path, SQLITE_OPEN_READONLY);
  sqlite::Statement index(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'messages_id'");
  ASSERT_TRUE(index.next());
  EXPECT_EQ(index.integer(0), 0) << "every commit would still pay for it";
  sqlite::Statement ids(db, "SELECT group_concat(id, ' ') FROM message_ids");
  ASSERT_TRUE(ids.next());
  EXPECT_EQ(ids.text(0), "old-1 old-2");
}

// The page size of the database in `data_dir`, read as another process would.
std::int64_t page_size(const std::filesystem::path& data_dir) {
  const sqlite::Connection db(audit::database_path(data_dir), SQLITE_OPEN_READONLY);
  sqlite::Statement size(db, "PRAGMA page_size");
  return size.next() ? size.integer(0) : -1;
}

// A database the store creates has pages of 8 KiB (fewer WAL writes a
// message: store.cpp), set before anything is written, when SQLite still
// takes it; one written before keeps its 4 KiB pages and works as it did.
TEST(StorePageSizeTest, ANewDatabaseHas8KiBPagesAndAnOlderOneKeepsItsOwn) {
  boost::asio::io_context io;
  testing::TemporaryDirectory fresh;
  {
    Store store(fresh.path(), StoreOptions{false});
    store.commit(message_batch("m1"), io.get_executor(), [](bool ok) { EXPECT_TRUE(ok); });
    store.flush();
  }
  EXPECT_EQ(page_size(fresh.path()), 8192);

  testing::TemporaryDirectory older;
  write_older_database(audit::database_path(older.path()),
                       "CREATE TABLE messages(id TEXT NOT NULL, originator TEXT NOT NULL, "
                       "accepted_unix_ms INTEGER NOT NULL);"
                       "INSERT INTO messages VALUES('old-1', 'analyst', 10);");
  ASSERT_EQ(page_size(older.path()), 4096);
  for (const char* id : {"m1", "m2"}) {
    Store store(older.path(), StoreOptions{false});
    store.commit(message_batch(id), io.get_executor(), [](bool ok) { EXPECT_TRUE(ok); });
    store.flush();
    EXPECT_TRUE(store.accepted("old-1"));
    EXPECT_TRUE(store.accepted(id));
  }
  EXPECT_EQ(page_size(older.path()), 4096);
  io.run();
}

// How many ids are in the bulk index (message_ids), read as another process would.
std::int64_t ids_in_bulk_index(const std::filesystem::path& data_dir) {
  const sqlite::Connection db(audit::database_path(data_dir), SQLITE_OPEN_READONLY);
  sqlite::Statement count(db, "SELECT COUNT(*) FROM message_ids");
  return count.next() ? count.integer(0) : -1;
}

// Message ids are added to the bulk index bulk_index_batch at a time, in the
// transaction of the group during which that many came to wait; until then
// accepted() finds them in memory, and after a restart too (read back from
// the messages table).
TEST(StoreBulkIdIndexTest, IdsAreIndexedInBulkAndFoundAllAlongAndAfterAReopen) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  std::vector<std::int64_t> indexed;
  {
    Store store(dir.path(), StoreOptions{.synchronous_full = false, .bulk_index_batch = 3, .id_pool_batches = 1});
    for (int i = 1; i <= 7; ++i) {
      store.commit(message_batch("m" + std::to_string(i)), io.get_executor(), [](bool ok) { EXPECT_TRUE(ok); });
      store.flush();
      indexed.push_back(ids_in_bulk_index(dir.path()));
      for (int j = 1; j <= i; ++j) EXPECT_TRUE(store.accepted("m" + std::to_string(j))) << i << " " << j;
      EXPECT_FALSE(store.accepted("m" + std::to_string(i + 1)));
    }
    io.run();
  }
  EXPECT_EQ(indexed, (std::vector<std::int64_t>{0, 0, 3, 3, 3, 6, 6}));
  Store reopened(dir.path(), StoreOptions{.synchronous_full = false, .bulk_index_batch = 3, .id_pool_batches = 1});
  EXPECT_TRUE(reopened.accepted("m7")) << "waiting for the bulk index when the store closed";
  EXPECT_TRUE(reopened.accepted("m1"));
  EXPECT_FALSE(reopened.accepted("m8"));
  io.restart();
  reopened.commit(message_batch("m8"), io.get_executor(), [](bool ok) { EXPECT_TRUE(ok); });
  reopened.commit(message_batch("m9"), io.get_executor(), [](bool ok) { EXPECT_TRUE(ok); });
  reopened.flush();
  io.run();
  EXPECT_EQ(ids_in_bulk_index(dir.path()), 9) << "m7 (read back) and the two after it";
  for (int j = 1; j <= 9; ++j) EXPECT_TRUE(reopened.accepted("m" + std::to_string(j))) << j;
}

// Waits for the id filter's scan of the ids committed before the store was
// opened (a thread of the store's own); false if it never ends.
bool wait_for_id_filter(const Store& store) {
  for (int i = 0; i < 1000 && !store.id_filter_ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return store.id_filter_ready();
}

// An id never accepted is answered by the id filter alone, without a lookup
// in message_ids; every id committed, before the open or since, is still
// found, on disk or in memory.
TEST(StoreIdFilterTest, AnIdNeverAcceptedIsAnsweredWithoutALookupAndEveryCommittedOneIsFound) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  const StoreOptions options{.synchronous_full = false, .bulk_index_batch = 8, .id_pool_batches = 1};
  {
    Store store(dir.path(), options);
    for (int i = 1; i <= 100; ++i) ASSERT_EQ(commit_and_wait(store, io, message_batch("old-" + std::to_string(i))), true);
  }
  Store store(dir.path(), options);
  ASSERT_TRUE(wait_for_id_filter(store));
  const StoreStats before = store.stats();
  for (int i = 1; i <= 1000; ++i) EXPECT_FALSE(store.accepted("new-" + std::to_string(i))) << i;
  const StoreStats after = store.stats();
  EXPECT_EQ(after.id_lookups, before.id_lookups) << "not one of the new ids was looked up";
  EXPECT_EQ(after.id_lookups_skipped, before.id_lookups_skipped + 1000);
  for (int i = 1; i <= 100; ++i) EXPECT_TRUE(store.accepted("old-" + std::to_string(i))) << i;
  EXPECT_GT(store.stats().id_lookups, after.id_lookups) << "those bulk-indexed were found on disk";
  for (int i = 1; i <= 20; ++i) ASSERT_EQ(commit_and_wait(store, io, message_batch("since-" + std::to_string(i))), true);
  for (int i = 1; i <= 20; ++i) EXPECT_TRUE(store.accepted("since-" + std::to_string(i))) << i;
}

// Ids committed while the filter is being filled are in it too (the writer
// adds each id it commits); until it is full, ids are looked up as before.
TEST(StoreIdFilterTest, IdsCommittedWhileTheFilterIsFilledAreFound) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  const StoreOptions options{.synchronous_full = false};
  {
    Store store(dir.path(), options);
    Batch batch;
    for (int i = 1; i <= 20'000; ++i) batch.messages.push_back({"old-" + std::to_string(i), "analyst", 1});
    ASSERT_EQ(commit_and_wait(store, io, std::move(batch)), true);
  }
  Store store(dir.path(), options);
  for (int i = 1; i <= 50; ++i) ASSERT_EQ(commit_and_wait(store, io, message_batch("new-" + std::to_string(i))), true);
  ASSERT_TRUE(wait_for_id_filter(store));
  for (int i = 1; i <= 50; ++i) EXPECT_TRUE(store.accepted("new-" + std::to_string(i))) << i;
  for (int i = 1; i <= 20'000; i += 997) EXPECT_TRUE(store.accepted("old-" + std::to_string(i))) << i;
  EXPECT_FALSE(store.accepted("never"));
}

// Without a filter (id_filter_bytes 0) every id not held in memory is looked
// up: what the counters above are compared with.
TEST(StoreIdFilterTest, WithoutAFilterEveryIdIsLookedUp) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  Store store(dir.path(), StoreOptions{.synchronous_full = false, .id_filter_bytes = 0});
  ASSERT_EQ(commit_and_wait(store, io, message_batch("m1")), true);
  EXPECT_FALSE(store.id_filter_ready());
  for (int i = 1; i <= 10; ++i) EXPECT_FALSE(store.accepted("new-" + std::to_string(i)));
  EXPECT_EQ(store.stats().id_lookups, 10u);
  EXPECT_EQ(store.stats().id_lookups_skipped, 0u);
}

// Commits one message's batch and waits for its completion: whether it was committed.
bool commit_one(Store& store, boost::asio::io_context& io, const std::string& id) {
  return commit_and_wait(store, io, message_batch(id)).value_or(false);
}

// A commit that fails takes its ids and its bulk indexing with it.
TEST(StoreBulkIdIndexTest, AFailedCommitTakesItsIdsAndItsIndexingWithIt) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  Store store(dir.path(), StoreOptions{.synchronous_full = false, .bulk_index_batch = 2, .id_pool_batches = 1});
  const auto commit = [&](const std::string& id) { return commit_one(store, io, id); };
  ASSERT_TRUE(commit("a"));
  store.inject_commit_failure(1);
  EXPECT_FALSE(commit("lost"));  // would have indexed a and lost
  EXPECT_EQ(ids_in_bulk_index(dir.path()), 0);
  EXPECT_FALSE(store.accepted("lost"));
  EXPECT_TRUE(store.accepted("a"));
  store.recover();
  store.resume();
  ASSERT_TRUE(commit("b"));
  EXPECT_EQ(ids_in_bulk_index(dir.path()), 2);
  EXPECT_FALSE(store.accepted("lost"));
  EXPECT_TRUE(store.accepted("a"));
  EXPECT_TRUE(store.accepted("b"));
}

// The ids in the bulk index, in key order, read as another process would.
std::string ids_in_bulk_index_text(const std::filesystem::path& data_dir) {
  const sqlite::Connection db(audit::database_path(data_dir), SQLITE_OPEN_READONLY);
  sqlite::Statement ids(db, "SELECT coalesce(group_concat(id, ' '), '') FROM (SELECT id FROM message_ids ORDER BY id)");
  return ids.next() ? ids.text(0) : "?";
}

// Ids are pooled, id_pool_batches batches at a time, and indexed one key
// range of bulk_index_batch ids per group (so that a range rewrites part of
// the tree, not all of it): here a pool of 6 in ranges of 2. Every committed
// id is found all along; a failed commit takes its range with it; a store
// reopened in the middle of a pool finds every id and indexes them again.
TEST(StoreBulkIdIndexTest, IdsArePooledAndIndexedOneKeyRangeAGroup) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  const StoreOptions options{.synchronous_full = false, .bulk_index_batch = 2, .id_pool_batches = 3};
  const std::vector<std::string> arrivals = {"m6", "m2", "m5", "m1", "m4", "m3", "m7", "m9", "m8"};
  std::vector<std::string> indexed;
  {
    Store store(dir.path(), options);
    const auto commit = [&](const std::string& id) { return commit_one(store, io, id); };
    for (std::size_t i = 0; i < 7; ++i) {
      if (i == 6) {
        store.inject_commit_failure(1);
        EXPECT_FALSE(commit("lost"));  // would have indexed the pool's second range
        EXPECT_EQ(ids_in_bulk_index_text(dir.path()), "m1 m2");
        EXPECT_FALSE(store.accepted("lost"));
        store.recover();
        store.resume();
      }
      ASSERT_TRUE(commit(arrivals[i])) << arrivals[i];
      indexed.push_back(ids_in_bulk_index_text(dir.path()));
      for (std::size_t j = 0; j <= i; ++j) EXPECT_TRUE(store.accepted(arrivals[j])) << i << " " << arrivals[j];
      EXPECT_FALSE(store.accepted(arrivals[i + 1]));
    }
  }
  // Nothing until the pool is full; then its lowest keys first, whatever
  // the order they came in. The failed commit dropped the pool; the next one
  // took it again from its first range (added again, harmlessly).
  EXPECT_EQ(indexed, (std::vector<std::string>{"", "", "", "", "", "m1 m2", "m1 m2"}));
  Store reopened(dir.path(), options);
  for (const auto& id : {"m1", "m2", "m3", "m4", "m5", "m6", "m7"}) EXPECT_TRUE(reopened.accepted(id)) << id;
  EXPECT_FALSE(reopened.accepted("m9"));
  io.restart();
  for (std::size_t i = 7; i < arrivals.size(); ++i)
    reopened.commit(message_batch(arrivals[i]), io.get_executor(), [](bool ok) { EXPECT_TRUE(ok); });
  reopened.flush();
  for (int extra = 0; extra < 3; ++extra) {
    reopened.commit(message_batch("n" + std::to_string(extra)), io.get_executor(), [](bool ok) { EXPECT_TRUE(ok); });
    reopened.flush();
  }
  io.run();
  // After the reopen the first pool (m1-m6) was taken again and finished;
  // the second (m7, m9, m8, n0, n1, n2) has its first range in.
  EXPECT_EQ(ids_in_bulk_index_text(dir.path()), "m1 m2 m3 m4 m5 m6 m7 m8");
  for (const auto& id : {"m1", "m5", "m6", "m7", "m8", "m9", "n0", "n2"}) EXPECT_TRUE(reopened.accepted(id)) << id;
  EXPECT_FALSE(reopened.accepted("lost"));
}

// A data directory written before the outbox's expiry was indexed: its
// frames that expire are found through the index once it is opened, and the
// scan of what expired does not read the whole outbox.
TEST(StoreUpgradeTest, AnOlderOutboxGainsTheExpiryIndexOnOpen) {
  testing::TemporaryDirectory dir;
  const auto path = audit::database_path(dir.path());
  write_older_database(path, older_outbox + "INSERT INTO outbox VALUES(1, 'officer', 'm1', 1, 0, 'analyst', '', 'f1'), "
                                            "(2, 'officer', 'm2', 1, 7000, 'analyst', '', 'f2');");
  Store store(dir.path(), StoreOptions{false});
  EXPECT_EQ(store.recover(10, 1).first_expiry_unix_ms, 7000);
  const auto due = store.expiring(8000, 0, 0, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].message_id, "m2");
  const sqlite::Connection db(path, SQLITE_OPEN_READONLY);
  sqlite::Statement plan(db,
                         "EXPLAIN QUERY PLAN SELECT seq FROM outbox WHERE not_after_unix_ms != 0 AND "
                         "not_after_unix_ms < 8000 AND (not_after_unix_ms, seq) > (0, 0) ORDER BY not_after_unix_ms, seq");
  std::string detail;
  while (plan.next()) detail += plan.text(3);
  EXPECT_THAT(detail, HasSubstr("outbox_expiry")) << "the expiry scan must use the index: " << detail;
}

// One written while acknowledged Delivers were found by node and message id:
// the index for that is dropped on open, and an entry leaves by its seq
// alone, the same message owed to another node staying.
TEST(StoreUpgradeTest, AnOlderOutboxLosesItsNodeAndMessageIndexAndEntriesLeaveBySeq) {
  testing::TemporaryDirectory dir;
  const auto path = audit::database_path(dir.path());
  write_older_database(path, older_outbox + "CREATE INDEX outbox_node_message ON outbox(node, message_id);"
                                            "INSERT INTO outbox VALUES(1, 'officer', 'm1', 1, 0, 'analyst', '', 'f1'), "
                                            "(2, 'reader', 'm1', 1, 0, 'analyst', '', 'f1'), "
                                            "(3, 'officer', 'm2', 1, 0, 'analyst', '', 'f2');");
  Store store(dir.path(), StoreOptions{false});
  {
    const sqlite::Connection db(path, SQLITE_OPEN_READONLY);
    sqlite::Statement index(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'outbox_node_message'");
    ASSERT_TRUE(index.next());
    EXPECT_EQ(index.integer(0), 0);
  }
  boost::asio::io_context io;
  Batch settle;
  settle.settled = {1};
  EXPECT_EQ(commit_and_wait(store, io, std::move(settle)), true);
  std::vector<std::int64_t> seqs;
  for (const auto& entry : store.recover(10, 10).outbox) seqs.push_back(entry.seq);
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{2, 3})) << "the reader's Deliver of m1 stays owed";
}

// One made before 9f148e9 keyed messages on id (WITHOUT ROWID): already
// indexed, and read back by time.
TEST(StoreUpgradeTest, AMessagesTableKeyedOnIdStillWorks) {
  testing::TemporaryDirectory dir;
  const auto path = audit::database_path(dir.path());
  write_older_database(path,
                       "CREATE TABLE messages(id TEXT PRIMARY KEY, originator TEXT NOT NULL, "
                       "accepted_unix_ms INTEGER NOT NULL) WITHOUT ROWID;"
                       "INSERT INTO messages VALUES('b-newer', 'analyst', 20), ('a-older', 'analyst', 10);");
  Store store(dir.path(), StoreOptions{false});
  EXPECT_TRUE(store.accepted("a-older"));
  const Recovered recovered = store.recover(1);
  ASSERT_EQ(recovered.messages.size(), 1u);
  EXPECT_EQ(recovered.messages[0].id, "b-newer");
  EXPECT_FALSE(recovered.all_messages);
}

Batch connection_batch(const std::string& node) {
  Batch batch;
  audit::AuditRecord record;
  record.time_unix_ms = 1;
  record.kind = "connection";
  record.node = node;
  batch.audit.push_back(std::move(record));
  batch.unawaited = true;
  return batch;
}

// Runs `io`'s handlers until `done()` holds (or none comes for 10 s).
template <typename Done>
void run_until(boost::asio::io_context& io, Done done) {
  while (!done() && io.run_one_for(std::chrono::seconds(10)) > 0) {
  }
}

// A trickle of records no one waits for (one per handshake, under a storm of
// reconnections) costs one transaction and one sync, not one each: they wait
// for the first batch someone awaits, and go with it, in the order queued.
TEST(StoreGatherTest, UnawaitedBatchesWaitForTheNextAwaitedOneAndShareItsTransaction) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  Store store(dir.path(), StoreOptions{.synchronous_full = true, .gather = std::chrono::hours(1)});
  std::vector<std::string> order;
  for (int i = 0; i < 5; ++i)
    store.commit(connection_batch("n" + std::to_string(i)), io.get_executor(), [&order, i](bool ok) {
      EXPECT_TRUE(ok);
      order.push_back("n" + std::to_string(i));
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(store.stats().commits, 0u) << "held back: nothing yet wants them durable";

  store.commit(message_batch("m"), io.get_executor(), [&order](bool ok) {
    EXPECT_TRUE(ok);
    order.push_back("m");
  });
  // Not flush(), which would end the wait by itself: the awaited batch must.
  run_until(io, [&order] { return order.size() >= 6; });
  EXPECT_EQ(order, (std::vector<std::string>{"n0", "n1", "n2", "n3", "n4", "m"}));
  EXPECT_EQ(store.stats().commits, 1u);
  EXPECT_EQ(store.stats().syncs, 1u);
  EXPECT_EQ(store.stats().operations, 6u);
  EXPECT_EQ(audit::verify(dir.path()).records, 6);
}

// A group's callbacks reach each executor as one handler a run (one wake-up
// of the router's thread a group, not one a message), in commit order.
TEST(StoreCompletionTest, AGroupsCallbacksReachTheirExecutorAsOneHandlerARunInCommitOrder) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io, other;
  Store store(dir.path(), StoreOptions{.synchronous_full = true, .gather = std::chrono::hours(1)});
  std::vector<std::string> order;
  auto note = [&order](std::string name) {
    return [&order, name](bool ok) {
      EXPECT_TRUE(ok);
      order.push_back(name);
    };
  };
  // Held back (no one awaits them) until the awaited "m": one group.
  for (int i = 0; i < 4; ++i) {
    const std::string name = "n" + std::to_string(i);
    store.commit(connection_batch(name), io.get_executor(), note(name));
  }
  store.commit(connection_batch("x"), other.get_executor(), note("x"));
  store.commit(connection_batch("n4"), io.get_executor(), note("n4"));
  store.commit(message_batch("m"), io.get_executor(), note("m"));
  store.flush();
  ASSERT_EQ(store.stats().commits, 1u);

  EXPECT_EQ(io.poll_one(), 1u);
  EXPECT_EQ(order, (std::vector<std::string>{"n0", "n1", "n2", "n3"})) << "the first run, in one handler";
  EXPECT_EQ(other.poll_one(), 1u);
  EXPECT_EQ(io.poll_one(), 1u);
  EXPECT_EQ(order, (std::vector<std::string>{"n0", "n1", "n2", "n3", "x", "n4", "m"}));
  EXPECT_EQ(io.poll(), 0u);
  EXPECT_EQ(other.poll(), 0u);
}

// With nothing else coming, a held-back batch is committed once the gather
// time has passed since it was queued, with those queued meanwhile.
TEST(StoreGatherTest, AnUnawaitedBatchIsCommittedOnceTheGatherTimeHasPassed) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  Store store(dir.path(), StoreOptions{.synchronous_full = true, .gather = std::chrono::milliseconds(50)});
  int committed = 0;
  const auto start = std::chrono::steady_clock::now();
  store.commit(connection_batch("a"), io.get_executor(), [&committed](bool ok) { committed += ok; });
  store.commit(connection_batch("b"), io.get_executor(), [&committed](bool ok) { committed += ok; });
  run_until(io, [&committed] { return committed >= 2; });
  EXPECT_EQ(committed, 2);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_EQ(store.stats().commits, 1u);
}

// flush() (recover() and shutdown use it) does not wait out the gather time.
TEST(StoreGatherTest, FlushCommitsWhatIsHeldBackAtOnce) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  Store store(dir.path(), StoreOptions{.synchronous_full = true, .gather = std::chrono::hours(1)});
  bool committed = false;
  store.commit(connection_batch("a"), io.get_executor(), [&committed](bool ok) { committed = ok; });
  store.flush();
  io.run();
  EXPECT_TRUE(committed);
  EXPECT_EQ(audit::verify(dir.path()).records, 1);
}

// Zero: no gathering at all (each is committed as soon as the writer is free).
TEST(StoreGatherTest, ZeroGatherCommitsUnawaitedBatchesWithoutWaiting) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  Store store(dir.path(), StoreOptions{.synchronous_full = true, .gather = std::chrono::milliseconds(0)});
  bool committed = false;
  store.commit(connection_batch("a"), io.get_executor(), [&committed](bool ok) { committed = ok; });
  run_until(io, [&committed] { return committed; });
  EXPECT_TRUE(committed);
}

// How far the audit blocks go (audit_blocks), read as another
// process would.
std::int64_t blocks_through(const std::filesystem::path& data_dir) {
  const sqlite::Connection db(audit::database_path(data_dir), SQLITE_OPEN_READONLY);
  sqlite::Statement through(db, "SELECT coalesce(max(last_seq), 0) FROM audit_blocks");
  return through.next() ? through.integer(0) : -1;
}

// The writer puts records in blocks in bulk, in the transaction of the group
// during which bulk_index_batch of them came to wait; a query by node finds
// every record all along.
TEST(StoreAuditBlocksTest, TheWriterMakesABlockOnceABatchOfRecordsWaits) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  Store store(dir.path(), StoreOptions{.synchronous_full = false, .bulk_index_batch = 3});
  std::vector<std::int64_t> through;
  for (int i = 1; i <= 7; ++i) {
    store.commit(message_batch("m" + std::to_string(i)), io.get_executor(), [](bool ok) { EXPECT_TRUE(ok); });
    store.flush();
    through.push_back(blocks_through(dir.path()));
    EXPECT_EQ(audit::query(dir.path(), {.node = "analyst"}).size(), static_cast<std::size_t>(i));
  }
  EXPECT_EQ(through, (std::vector<std::int64_t>{0, 0, 3, 3, 3, 6, 6}));
  io.run();
  const auto report = audit::verify(dir.path());
  EXPECT_TRUE(report.intact());
}

// A commit that fails takes its indexing with it; the next one does it again.
TEST(StoreAuditBlocksTest, AFailedCommitRollsItsBlockBack) {
  testing::TemporaryDirectory dir;
  boost::asio::io_context io;
  Store store(dir.path(), StoreOptions{.synchronous_full = false, .bulk_index_batch = 2});
  std::vector<bool> results;
  const auto commit = [&](const std::string& id) {
    store.commit(message_batch(id), io.get_executor(), [&results](bool ok) { results.push_back(ok); });
    store.flush();
    io.restart();
    io.run();
  };
  commit("a");
  store.inject_commit_failure(1);
  commit("lost");  // would have indexed a and lost
  EXPECT_EQ(blocks_through(dir.path()), 0);
  store.recover();
  store.resume();
  commit("b");
  EXPECT_EQ(results, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(blocks_through(dir.path()), 2);
  EXPECT_EQ(audit::query(dir.path(), {.node = "analyst"}).size(), 2u);
  const auto report = audit::verify(dir.path());
  EXPECT_TRUE(report.intact());
}

}  // namespace
}  // namespace icegate::store

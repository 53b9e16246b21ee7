// The store's fail-stop: a failed commit is rolled back whole, what was queued
// behind it is refused unwritten until resume(), and health() says why.
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

class StoreFailStopTest : public ::testing::Test {
 protected:
  // Commits `batch` and returns what its callback was told (after running it).
  std::optional<bool> commit(Batch batch) {
    std::optional<bool> result;
    store_.commit(std::move(batch), io_.get_executor(), [&](bool ok) { result = ok; });
    store_.flush();
    io_.restart();
    io_.run();
    return result;
  }
  std::vector<std::string> stored_ids() { return store_.recover().message_ids; }

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

}  // namespace
}  // namespace icegate::store

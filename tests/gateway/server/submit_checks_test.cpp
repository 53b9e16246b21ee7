// Duplicate detection with bounded memory (SubmitChecks): the ids held stay
// within the bound whatever has been accepted, ids whose commit is in flight
// are never forgotten, and a forgotten id is still seen through the store.
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/server/submit_checks.hpp"

namespace icegate::server {
namespace {

using namespace std::chrono_literals;

// The store as SubmitChecks sees it: the ids committed, and how often it was asked.
struct Disk {
  std::set<std::string> committed;
  int lookups = 0;
  SubmitChecks::AcceptedBefore lookup() {
    return [this](const std::string& id) {
      ++lookups;
      return committed.contains(id);
    };
  }
};

std::string id_of(int i) { return "id-" + std::to_string(i); }

TEST(SubmitChecksTest, CommittedIdsHeldStayWithinTheBoundAndOlderOnesAreFoundOnDisk) {
  Disk disk;
  SubmitChecks checks(disk.lookup(), 100, 1h);
  for (int i = 0; i < 10'000; ++i) {
    checks.accept(id_of(i), 1'000);
    disk.committed.insert(id_of(i));
    checks.committed(1);
    ASSERT_LE(checks.seen_count(), 101u) << "after " << i + 1 << " ids";
  }
  EXPECT_LE(checks.seen_count(), 101u);
  EXPECT_TRUE(checks.seen(id_of(0))) << "the oldest id, long forgotten here, is found on disk";
  EXPECT_TRUE(checks.seen(id_of(9'999)));
  EXPECT_FALSE(checks.seen("never"));
}

TEST(SubmitChecksTest, IdsAgeOutOfMemoryButNotOutOfTheStore) {
  Disk disk;
  SubmitChecks checks(disk.lookup(), 1'000, 10s);
  for (int i = 0; i < 50; ++i) {
    checks.accept(id_of(i), 1'000);
    disk.committed.insert(id_of(i));
  }
  checks.committed(50);
  EXPECT_EQ(checks.seen_count(), 50u);
  checks.age(1'000 + 10'000);
  EXPECT_EQ(checks.seen_count(), 50u) << "not older than the window yet";
  checks.age(1'000 + 10'001);
  EXPECT_EQ(checks.seen_count(), 0u) << "every id aged out";
  EXPECT_TRUE(checks.seen(id_of(7)));
}

TEST(SubmitChecksTest, AnIdWhoseCommitIsInFlightIsNeverForgotten) {
  Disk disk;  // nothing committed: a lookup would not find them
  SubmitChecks checks(disk.lookup(), 2, 1s);
  for (int i = 0; i < 10; ++i) checks.accept(id_of(i), 0);
  checks.age(1'000'000);
  EXPECT_EQ(checks.seen_count(), 10u) << "over the bound and the window, but none is durable yet";
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(checks.seen(id_of(i))) << id_of(i);
  checks.committed(4);  // the oldest four are durable now
  for (int i = 0; i < 4; ++i) disk.committed.insert(id_of(i));
  checks.age(1'000'000);
  EXPECT_EQ(checks.seen_count(), 6u);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(checks.seen(id_of(i))) << id_of(i);
}

TEST(SubmitChecksTest, TheDiskIsNotAskedWhileEveryIdAcceptedIsHeld) {
  Disk disk;
  SubmitChecks checks(disk.lookup(), 100, 1h);
  checks.load({{"old", "analyst", 1}}, true);
  checks.accept("new", 2);
  EXPECT_TRUE(checks.seen("old"));
  EXPECT_FALSE(checks.seen("other"));
  EXPECT_EQ(disk.lookups, 0) << "a new id costs no lookup while nothing has been forgotten";
  checks.clear();
  checks.load({{"newest", "analyst", 3}}, false);  // older messages stayed on disk
  disk.committed = {"old", "newest"};
  EXPECT_TRUE(checks.seen("old"));
  EXPECT_EQ(disk.lookups, 1);
}

TEST(SubmitChecksTest, LoadingMoreThanTheBoundKeepsTheNewest) {
  Disk disk;
  SubmitChecks checks(disk.lookup(), 3, 1h);
  std::vector<store::AcceptedMessage> messages;
  for (int i = 0; i < 10; ++i) messages.push_back({id_of(i), "analyst", i});
  checks.load(messages, true);
  EXPECT_EQ(checks.seen_count(), 3u);
  disk.committed.insert(id_of(0));
  EXPECT_TRUE(checks.seen(id_of(0))) << "forgotten on load, so the disk is asked";
  EXPECT_EQ(disk.lookups, 1);
}

}  // namespace
}  // namespace icegate::server

// The delivery ledger on its own: what a node is owed, what its Acks and
// written frames settle, what expires, and the window that bounds what a
// session is handed (a backlog never floods a session's queue).
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <gtest/gtest.h>

#include "gateway/server/delivery_ledger.hpp"

namespace icegate::server {
namespace {

std::int64_t next_seq = 1;

// An owed frame of `size` bytes; a Deliver (needs an Ack) when `message_id` is given.
void owe(DeliveryLedger& ledger, const std::string& node, std::size_t size = 100, const std::string& message_id = {},
         std::int64_t not_after = 0, std::int64_t seq = 0) {
  store::OutboxEntry entry;
  entry.seq = seq != 0 ? seq : next_seq++;
  entry.node = node;
  entry.message_id = message_id;
  entry.needs_ack = !message_id.empty();
  entry.not_after_unix_ms = not_after;
  ledger.add(std::move(entry), std::make_shared<const std::string>(size, 'x'));
}

std::vector<std::int64_t> seqs(const std::vector<Outgoing>& frames) {
  std::vector<std::int64_t> result;
  for (const auto& frame : frames) result.push_back(frame.seq);
  return result;
}

std::size_t bytes(const std::vector<Outgoing>& frames) {
  std::size_t total = 0;
  for (const auto& frame : frames) total += frame.bytes->size();
  return total;
}

TEST(DeliveryLedger, ABacklogIsHandedAWindowAtATimeAndInOrder) {
  DeliveryLedger ledger(8, 1 << 20);
  for (int i = 0; i < 1000; ++i) owe(ledger, "officer");
  EXPECT_TRUE(ledger.take("officer").empty()) << "nothing is handed before a session opens a lane";
  const auto lane = ledger.open_lane("officer");
  std::vector<std::int64_t> handed;
  for (int round = 0; round < 125; ++round) {
    auto frames = ledger.take("officer");
    ASSERT_EQ(frames.size(), 8u) << "round " << round;
    EXPECT_TRUE(ledger.take("officer").empty()) << "the window is full until frames are written";
    EXPECT_EQ(ledger.in_flight("officer"), 8u);
    for (auto seq : seqs(frames)) handed.push_back(seq);
    for (const auto& frame : frames) ledger.written("officer", frame.seq);
    EXPECT_TRUE(ledger.returned("officer", lane, frames.size(), bytes(frames)));
  }
  EXPECT_TRUE(ledger.take("officer").empty());
  ASSERT_EQ(handed.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(handed.begin(), handed.end()));
  EXPECT_EQ(ledger.owed_count(), 0u) << "written frames that need no Ack are settled";
}

TEST(DeliveryLedger, TheWindowIsBoundedInBytesTooButAlwaysTakesOneFrame) {
  DeliveryLedger ledger(100, 1000);
  for (int i = 0; i < 10; ++i) owe(ledger, "officer", 300);
  owe(ledger, "officer", 5000);
  const auto lane = ledger.open_lane("officer");
  auto first = ledger.take("officer");
  EXPECT_EQ(first.size(), 3u) << "900 bytes fit a 1000-byte window, a fourth frame does not";
  ASSERT_TRUE(ledger.returned("officer", lane, first.size(), bytes(first)));
  EXPECT_EQ(ledger.take("officer").size(), 3u);
  ledger.returned("officer", lane, 3, 900);
  EXPECT_EQ(ledger.take("officer").size(), 3u);
  ledger.returned("officer", lane, 3, 900);
  EXPECT_EQ(ledger.take("officer").size(), 1u) << "the tenth frame; the large one waits for an empty window";
  ledger.returned("officer", lane, 1, 300);
  auto large = ledger.take("officer");
  ASSERT_EQ(large.size(), 1u) << "a frame larger than the window still goes, alone";
  EXPECT_EQ(large.front().bytes->size(), 5000u);
}

TEST(DeliveryLedger, FramesCommittedLaterAreHandedAfterTheCursor) {
  DeliveryLedger ledger(4, 1 << 20);
  const auto lane = ledger.open_lane("officer");
  owe(ledger, "officer");
  owe(ledger, "officer");
  auto first = ledger.take("officer");
  EXPECT_EQ(first.size(), 2u);
  owe(ledger, "officer");
  auto second = ledger.take("officer");
  ASSERT_EQ(second.size(), 1u) << "only the new frame: the first two are in the session's hands";
  EXPECT_GT(second.front().seq, first.back().seq);
  EXPECT_EQ(ledger.in_flight("officer"), 3u);
  ledger.returned("officer", lane, 3, 300);
  EXPECT_EQ(ledger.in_flight("officer"), 0u);
}

TEST(DeliveryLedger, ANewLaneStartsFromTheFirstFrameStillOwed) {
  DeliveryLedger ledger(4, 1 << 20);
  owe(ledger, "officer", 100, "m1");
  owe(ledger, "officer", 100, "m2");
  const auto old_lane = ledger.open_lane("officer");
  EXPECT_EQ(ledger.take("officer").size(), 2u);
  // The connection drops before the node acknowledges: the next session gets both again.
  const auto new_lane = ledger.open_lane("officer");
  EXPECT_NE(new_lane, old_lane);
  EXPECT_EQ(ledger.take("officer").size(), 2u);
  EXPECT_FALSE(ledger.returned("officer", old_lane, 2, 200)) << "the replaced session's report opens nothing";
  EXPECT_EQ(ledger.in_flight("officer"), 2u);
  ledger.close_lane("officer", old_lane);
  EXPECT_TRUE(ledger.has_lane("officer")) << "closing a replaced lane leaves the new one";
  ledger.close_lane("officer", new_lane);
  EXPECT_FALSE(ledger.has_lane("officer"));
}

TEST(DeliveryLedger, AnAckSettlesOnlyADeliverAwaitingThatNodesAckAndNamesItsSeq) {
  DeliveryLedger ledger;
  owe(ledger, "officer", 100, "m1", 0, 41);
  owe(ledger, "reader", 100, "m2", 0, 42);
  EXPECT_FALSE(ledger.acknowledge("officer", "m2")) << "owed to another node";
  EXPECT_FALSE(ledger.acknowledge("officer", "never"));
  EXPECT_EQ(ledger.acknowledge("officer", "m1"), std::optional<std::int64_t>(41)) << "the entry the store deletes";
  EXPECT_FALSE(ledger.acknowledge("officer", "m1")) << "acknowledged already";
  EXPECT_EQ(ledger.owed_count("officer"), 0u);
  EXPECT_EQ(ledger.owed_count("reader"), 1u);
}

TEST(DeliveryLedger, WritingADeliverDoesNotSettleIt) {
  DeliveryLedger ledger;
  owe(ledger, "officer", 100, "m1", 0, 7001);
  owe(ledger, "officer", 100, {}, 0, 7002);
  EXPECT_FALSE(ledger.written("officer", 7001)) << "a Deliver waits for its Ack";
  EXPECT_TRUE(ledger.written("officer", 7002));
  EXPECT_FALSE(ledger.written("officer", 7002)) << "settled already";
  EXPECT_EQ(ledger.owed_count("officer"), 1u);
}

TEST(DeliveryLedger, ExpiredFramesOfOfflineNodesAreTakenOutInExpiryOrder) {
  DeliveryLedger ledger;
  owe(ledger, "officer", 100, "late", 2000);
  owe(ledger, "officer", 100, "early", 1000);
  owe(ledger, "reader", 100, "connected", 1000);
  owe(ledger, "officer", 100, "never");
  const auto expired = ledger.expire_before(5000, [](std::string_view node) { return node == "reader"; });
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0].message_id, "early");
  EXPECT_EQ(expired[1].message_id, "late");
  EXPECT_FALSE(ledger.acknowledge("officer", "early")) << "an expired Deliver awaits no Ack";
  EXPECT_EQ(ledger.owed_count("officer"), 1u);
  EXPECT_EQ(ledger.owed_count("reader"), 1u) << "a connected node's session was handed it already";
}

TEST(DeliveryLedger, WhatExpiredWhileANodeWasAwayIsTakenOutWhenItConnects) {
  DeliveryLedger ledger;
  owe(ledger, "officer", 100, "gone", 1000);
  owe(ledger, "officer", 100, "still", 9000);
  owe(ledger, "officer", 100, "exactly", 3000);
  const auto expired = ledger.expire_owed_to("officer", 3000);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].message_id, "gone");
  EXPECT_EQ(ledger.owed_count("officer"), 2u) << "not after 3000 has not passed at 3000";
}

TEST(DeliveryLedger, AReloadKeepsTheLanesAndTheirCursors) {
  DeliveryLedger ledger(4, 1 << 20);
  owe(ledger, "officer", 100, {}, 0, 8001);
  owe(ledger, "officer", 100, {}, 0, 8002);
  ledger.open_lane("officer");
  EXPECT_EQ(ledger.take("officer").size(), 2u);
  ledger.clear_owed();
  EXPECT_EQ(ledger.owed_count(), 0u);
  // Read back from the store: the same frames, plus one committed since.
  owe(ledger, "officer", 100, {}, 0, 8001);
  owe(ledger, "officer", 100, {}, 0, 8002);
  owe(ledger, "officer", 100, {}, 0, 8003);
  EXPECT_EQ(seqs(ledger.take("officer")), std::vector<std::int64_t>{8003}) << "the session holds 8001 and 8002";
  ledger.forget(8001);
  EXPECT_EQ(ledger.owed_count("officer"), 2u);
}

// ---- frames on disk, a window of them in memory ----

// The store as the ledger sees it: every frame committed and not yet settled.
struct Disk {
  std::map<std::int64_t, store::OutboxEntry> rows;
  int reads = 0;
  // Commits a frame for `node` and tells the ledger, as the router does after the commit.
  void owe(DeliveryLedger& ledger, const std::string& node, std::int64_t seq, std::int64_t not_after = 0,
           const std::string& message_id = {}) {
    store::OutboxEntry entry;
    entry.seq = seq;
    entry.node = node;
    entry.message_id = message_id;
    entry.needs_ack = !message_id.empty();
    entry.not_after_unix_ms = not_after;
    entry.frame = "frame " + std::to_string(seq);
    rows[seq] = entry;
    auto bytes = std::make_shared<const std::string>(frame_size != 0 ? frame_of(seq) : entry.frame);
    entry.frame.clear();
    ledger.add(std::move(entry), std::move(bytes));
  }
  // Pages as the store reads them: at most `limit` rows and `max_bytes` of frames (always the first).
  DeliveryLedger::Reader reader() {
    return [this](const std::string& node, std::int64_t after, std::int64_t through, std::size_t limit,
                  std::size_t max_bytes) {
      ++reads;
      store::Store::OwedPage page;
      page.complete = true;
      std::size_t bytes = 0;
      for (auto it = rows.upper_bound(after); it != rows.end() && it->first <= through; ++it) {
        if (it->second.node != node) continue;
        store::OutboxEntry entry = it->second;
        if (frame_size != 0) entry.frame = frame_of(it->first);
        if (page.entries.size() == limit || (!page.entries.empty() && bytes + entry.frame.size() > max_bytes)) {
          page.complete = false;
          break;
        }
        bytes += entry.frame.size();
        page.entries.push_back(std::move(entry));
      }
      return page;
    };
  }
  // Frames of this many bytes, made as they are read (0: "frame SEQ", kept in `rows`).
  std::size_t frame_size = 0;
  std::string frame_of(std::int64_t seq) const {
    std::string frame = "frame " + std::to_string(seq) + " ";
    frame.resize(std::max(frame_size, frame.size()), 'x');
    return frame;
  }
  int scans = 0;
  // The store's expiry index over `rows`: (not_after, seq) order.
  DeliveryLedger::ExpiryIndex expiry_index() {
    return {[this](std::int64_t before, std::int64_t after_not_after, std::int64_t after_seq, std::size_t limit) {
              ++scans;
              std::vector<std::pair<std::int64_t, std::int64_t>> keys;
              for (const auto& [seq, row] : rows)
                if (row.not_after_unix_ms != 0 && row.not_after_unix_ms < before &&
                    std::pair{row.not_after_unix_ms, seq} > std::pair{after_not_after, after_seq})
                  keys.emplace_back(row.not_after_unix_ms, seq);
              std::sort(keys.begin(), keys.end());
              std::vector<store::OutboxEntry> result;
              for (const auto& key : keys) {
                if (result.size() == limit) break;
                result.push_back(rows.at(key.second));
                result.back().frame.clear();
              }
              return result;
            },
            [this](std::int64_t from) {
              std::int64_t next = 0;
              for (const auto& [seq, row] : rows)
                if (row.not_after_unix_ms != 0 && row.not_after_unix_ms >= from &&
                    (next == 0 || row.not_after_unix_ms < next))
                  next = row.not_after_unix_ms;
              return next;
            }};
  }
};

const auto refuse_none = [](const store::OutboxEntry&) { return false; };

TEST(DeliveryLedgerOnDisk, ABigBacklogKeepsAtMostKFramesInMemoryAndArrivesWholeInOrder) {
  constexpr std::size_t resident = 64;
  constexpr std::int64_t frames = 20'000;
  DeliveryLedger ledger(8, 1 << 20, resident);
  Disk disk;
  for (std::int64_t seq = 1; seq <= frames; ++seq) {
    disk.owe(ledger, "officer", seq);
    ASSERT_LE(ledger.resident_frames(), resident);
  }
  EXPECT_EQ(ledger.owed_count("officer"), static_cast<std::size_t>(frames));
  EXPECT_EQ(ledger.resident_frames("officer"), resident) << "the first K, the rest on disk";
  const auto lane = ledger.open_lane("officer");
  std::int64_t expected = 1;
  while (ledger.owed_count("officer") > 0) {
    ASSERT_TRUE(ledger.refill("officer", disk.reader(), 0, refuse_none).empty());
    auto handed = ledger.take("officer");
    ASSERT_FALSE(handed.empty()) << "stalled at seq " << expected;
    for (const auto& frame : handed) {
      ASSERT_EQ(frame.seq, expected) << "in order, each once";
      EXPECT_EQ(*frame.bytes, "frame " + std::to_string(expected));
      ++expected;
      ASSERT_TRUE(ledger.written("officer", frame.seq));
      disk.rows.erase(frame.seq);  // the settlement's commit
    }
    ledger.returned("officer", lane, handed.size(), bytes(handed));
    ASSERT_LE(ledger.resident_frames(), resident);
  }
  EXPECT_EQ(expected, frames + 1) << "every frame arrived";
  EXPECT_LE(disk.reads, static_cast<int>(frames / (resident / 2)) + 2) << "a read per half of the resident frames";
}

TEST(DeliveryLedgerOnDisk, NewFramesForANodeWithABacklogOnDiskWaitTheirTurn) {
  DeliveryLedger ledger(100, 1 << 20, 4);
  Disk disk;
  for (std::int64_t seq = 1; seq <= 10; ++seq) disk.owe(ledger, "officer", seq);
  EXPECT_EQ(ledger.resident_frames("officer"), 4u);
  ledger.open_lane("officer");
  // Settled while on disk elsewhere? No: the first four are taken, written, and the rest read back in order.
  std::vector<std::int64_t> got;
  for (int round = 0; round < 10 && got.size() < 12; ++round) {
    ledger.refill("officer", disk.reader(), 0, refuse_none);
    for (const auto& frame : ledger.take("officer")) {
      got.push_back(frame.seq);
      ledger.written("officer", frame.seq);
      disk.rows.erase(frame.seq);
    }
    if (round == 0) {
      disk.owe(ledger, "officer", 11);  // committed while seqs 5-10 are still on disk
      disk.owe(ledger, "officer", 12);
      EXPECT_LE(ledger.resident_frames("officer"), 4u);
    }
  }
  EXPECT_EQ(got, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(ledger.owed_count(), 0u);
}

TEST(DeliveryLedgerOnDisk, AFrameOnDiskExpiresForAnOfflineNodeAndIsNotReadBackLater) {
  DeliveryLedger ledger(100, 1 << 20, 4);
  Disk disk;
  for (std::int64_t seq = 1; seq <= 10; ++seq) disk.owe(ledger, "officer", seq, seq == 8 ? 1000 : 0, "m" + std::to_string(seq));
  const auto expired = ledger.expire_before(2000, [](std::string_view) { return false; }, disk.expiry_index());
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].seq, 8);
  EXPECT_EQ(expired[0].message_id, "m8");
  EXPECT_EQ(ledger.owed_count("officer"), 9u);
  // Its deletion is not committed yet: the row is still on disk when the node connects.
  ledger.open_lane("officer");
  std::vector<std::int64_t> got;
  for (int round = 0; round < 10; ++round) {
    ledger.refill("officer", disk.reader(), 2000, refuse_none);
    for (const auto& frame : ledger.take("officer")) {
      got.push_back(frame.seq);
      ledger.acknowledge("officer", "m" + std::to_string(frame.seq));
    }
  }
  EXPECT_EQ(got, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 9, 10})) << "the expired frame is not delivered";
  EXPECT_EQ(ledger.owed_count(), 0u);
}

TEST(DeliveryLedgerOnDisk, ExpiringFramesOnDiskTakeNoMemoryAndAllExpireOnceOverSeveralTicks) {
  constexpr std::size_t resident = 4;
  constexpr std::int64_t frames = 10'000;
  DeliveryLedger ledger(100, 1 << 20, resident);
  Disk disk;
  // Every frame expires, at one of a hundred times between 1,000 and 1,099.
  for (std::int64_t seq = 1; seq <= frames; ++seq) disk.owe(ledger, "officer", seq, 1000 + seq % 100);
  EXPECT_LE(ledger.expiry_entries(), resident) << "only resident frames are in the in-memory expiry index";
  const auto no_skip = [](std::string_view) { return false; };
  EXPECT_TRUE(ledger.expire_before(1000, no_skip, disk.expiry_index()).empty()) << "nothing has expired yet";
  EXPECT_EQ(disk.scans, 0) << "no frame on disk expires before 1,000: the index is not read";
  std::set<std::int64_t> settled;
  int ticks = 0;
  while (ledger.owed_count("officer") > 0 && ticks < 100) {
    ++ticks;
    const auto expired = ledger.expire_before(5000, no_skip, disk.expiry_index());
    EXPECT_LE(expired.size(), resident + DeliveryLedger::expiry_scan_page * DeliveryLedger::expiry_scan_pages_per_call);
    for (const auto& entry : expired) {
      EXPECT_TRUE(settled.insert(entry.seq).second) << "seq " << entry.seq << " expired twice";
      disk.rows.erase(entry.seq);  // the router commits its deletion
    }
  }
  EXPECT_EQ(settled.size(), static_cast<std::size_t>(frames));
  EXPECT_GT(ticks, 1) << "ten thousand expiries are spread over ticks, a bounded page at a time";
  EXPECT_LE(ledger.expiry_entries(), resident);
  const int scans = disk.scans;
  EXPECT_TRUE(ledger.expire_before(6000, no_skip, disk.expiry_index()).empty());
  EXPECT_EQ(disk.scans, scans) << "once the scan is through and nothing else expires, the index is not read again";
}

TEST(DeliveryLedgerOnDisk, AFrameSpilledWithAnEarlierExpiryIsStillFound) {
  DeliveryLedger ledger(100, 1 << 20, 1);
  Disk disk;
  disk.owe(ledger, "officer", 1);
  disk.owe(ledger, "officer", 2, 9000);
  const auto no_skip = [](std::string_view) { return false; };
  EXPECT_TRUE(ledger.expire_before(5000, no_skip, disk.expiry_index()).empty());
  disk.owe(ledger, "officer", 3, 6000);  // on disk, expiring before the one known
  const auto expired = ledger.expire_before(7000, no_skip, disk.expiry_index());
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].seq, 3);
  EXPECT_EQ(ledger.owed_count("officer"), 2u);
}

TEST(DeliveryLedgerOnDisk, AfterARecoveryTheFirstExpiryOnDiskIsWatched) {
  DeliveryLedger ledger(100, 1 << 20, 2);
  Disk disk;
  {
    DeliveryLedger before(100, 1 << 20, 2);
    for (std::int64_t seq = 1; seq <= 20; ++seq) disk.owe(before, "officer", seq, seq == 15 ? 3000 : 0, "m" + std::to_string(seq));
  }
  for (std::int64_t seq = 1; seq <= 2; ++seq) {
    auto entry = disk.rows[seq];
    auto frame = std::make_shared<const std::string>(entry.frame);
    ledger.add(std::move(entry), std::move(frame));
  }
  ledger.restore("officer", 20, 20);
  ledger.expires_on_disk(3000);  // what recover() says: the first expiry of all
  const auto no_skip = [](std::string_view) { return false; };
  EXPECT_TRUE(ledger.expire_before(2999, no_skip, disk.expiry_index()).empty());
  const auto expired = ledger.expire_before(3001, no_skip, disk.expiry_index());
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].message_id, "m15");
  EXPECT_EQ(ledger.owed_count("officer"), 19u);
}

TEST(DeliveryLedgerOnDisk, AFrameThatExpiredOnDiskIsSettledWhenReadBackNotDelivered) {
  DeliveryLedger ledger(100, 1 << 20, 2);
  Disk disk;
  for (std::int64_t seq = 1; seq <= 6; ++seq) disk.owe(ledger, "officer", seq, seq == 3 ? 1000 : 0);
  ledger.open_lane("officer");  // connected: the clock's expiry skips it
  for (const auto& frame : ledger.take("officer")) ledger.written("officer", frame.seq);
  const auto expired = ledger.refill("officer", disk.reader(), 2000, refuse_none);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].seq, 3);
  EXPECT_EQ(ledger.owed_count("officer"), 3u) << "4, 5 and 6";
  EXPECT_EQ(ledger.resident_frames("officer"), 2u) << "4 and 5 read back in its place";
}

TEST(DeliveryLedgerOnDisk, ARecoveredBacklogIsCountedAndReadBack) {
  DeliveryLedger ledger(100, 1 << 20, 3);
  Disk disk;
  {
    DeliveryLedger before(100, 1 << 20, 3);
    for (std::int64_t seq = 1; seq <= 50; ++seq) disk.owe(before, "officer", seq);
  }
  // What recover() returns: the first three with their bytes, and the count.
  for (std::int64_t seq = 1; seq <= 3; ++seq) {
    auto entry = disk.rows[seq];
    auto frame = std::make_shared<const std::string>(entry.frame);
    ledger.add(std::move(entry), std::move(frame));
  }
  ledger.restore("officer", 50, 50);
  EXPECT_EQ(ledger.owed_count("officer"), 50u);
  EXPECT_EQ(ledger.resident_frames(), 3u);
  EXPECT_TRUE(ledger.spilled("officer"));
  ledger.open_lane("officer");
  std::int64_t expected = 1;
  for (int round = 0; round < 100 && ledger.owed_count() > 0; ++round) {
    ledger.refill("officer", disk.reader(), 0, refuse_none);
    for (const auto& frame : ledger.take("officer")) {
      EXPECT_EQ(frame.seq, expected++);
      ledger.written("officer", frame.seq);
      disk.rows.erase(frame.seq);
    }
    EXPECT_LE(ledger.resident_frames(), 3u);
  }
  EXPECT_EQ(expected, 51);
}

// ---- bytes: the bound on what the resident frames hold ----

TEST(DeliveryLedgerBytes, AThousandFramesOf256KBStayUnderTheByteBoundAndArriveInOrderOnce) {
  constexpr std::size_t frame = 256 * 1024;
  constexpr std::size_t bound = 1 << 20;
  constexpr std::int64_t frames = 1'000;
  DeliveryLedger ledger(DeliveryLedger::default_window_frames, DeliveryLedger::default_window_bytes,
                        DeliveryLedger::default_resident_frames, bound);
  Disk disk;
  disk.frame_size = frame;
  for (std::int64_t seq = 1; seq <= frames; ++seq) {
    disk.owe(ledger, "officer", seq, 0, "m" + std::to_string(seq));  // the node is offline
    ASSERT_LE(ledger.resident_bytes(), bound);
  }
  EXPECT_EQ(ledger.owed_count("officer"), static_cast<std::size_t>(frames));
  EXPECT_EQ(ledger.resident_frames("officer"), bound / frame) << "four frames of 256 KB, not K = 1,024";
  const auto lane = ledger.open_lane("officer");
  std::int64_t expected = 1;
  std::size_t peak = 0;
  for (int round = 0; round < 100'000 && ledger.owed_count() > 0; ++round) {
    ASSERT_TRUE(ledger.refill("officer", disk.reader(), 0, refuse_none).empty());
    peak = std::max(peak, ledger.resident_bytes());
    auto handed = ledger.take("officer");
    for (const auto& out : handed) {
      ASSERT_EQ(out.seq, expected) << "in order, each once";
      ASSERT_EQ(*out.bytes, disk.frame_of(expected));
      ++expected;
      EXPECT_FALSE(ledger.written("officer", out.seq)) << "a Deliver waits for its Ack";
    }
    ledger.returned("officer", lane, handed.size(), bytes(handed));
    for (const auto& out : handed) {
      ASSERT_TRUE(ledger.acknowledge("officer", "m" + std::to_string(out.seq)));
      disk.rows.erase(out.seq);  // the settlement's commit
    }
  }
  EXPECT_EQ(expected, frames + 1) << "every frame arrived";
  EXPECT_LE(peak, bound) << "resident bytes over the bound";
  EXPECT_EQ(ledger.resident_bytes(), 0u);
}

TEST(DeliveryLedgerBytes, ADeliverWrittenAndNotAcknowledgedKeepsOnlyItsKeyAndIsReadBackForTheNextLane) {
  DeliveryLedger ledger(100, 1 << 20, 8, 1000);
  Disk disk;
  disk.frame_size = 300;
  for (std::int64_t seq = 1; seq <= 4; ++seq) disk.owe(ledger, "officer", seq, 0, "m" + std::to_string(seq));
  EXPECT_EQ(ledger.resident_frames("officer"), 3u) << "three frames of 300 bytes in 1,000";
  auto lane = ledger.open_lane("officer");
  std::vector<std::int64_t> first;
  for (int round = 0; round < 10 && first.size() < 4; ++round) {
    ledger.refill("officer", disk.reader(), 0, refuse_none);
    auto handed = ledger.take("officer");
    for (const auto& out : handed) {
      first.push_back(out.seq);
      ledger.written("officer", out.seq);
    }
    ledger.returned("officer", lane, handed.size(), bytes(handed));
  }
  EXPECT_EQ(first, (std::vector<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(ledger.resident_frames("officer"), 4u) << "kept until acknowledged...";
  EXPECT_EQ(ledger.resident_bytes(), 0u) << "...by their keys: written, their bytes are dropped";
  // The connection drops before any Ack: the next lane is handed them again, read back.
  ledger.close_lane("officer", lane);
  lane = ledger.open_lane("officer");
  EXPECT_TRUE(ledger.take("officer").empty()) << "nothing to hand before the bytes are read back";
  EXPECT_TRUE(ledger.behind("officer"));
  std::vector<std::int64_t> again;
  for (int round = 0; round < 10 && again.size() < 4; ++round) {
    ledger.refill("officer", disk.reader(), 0, refuse_none);
    ASSERT_LE(ledger.resident_bytes(), 1000u);
    auto handed = ledger.take("officer");
    for (const auto& out : handed) {
      EXPECT_EQ(*out.bytes, disk.frame_of(out.seq));
      again.push_back(out.seq);
      ledger.written("officer", out.seq);
    }
    ledger.returned("officer", lane, handed.size(), bytes(handed));
  }
  EXPECT_EQ(again, (std::vector<std::int64_t>{1, 2, 3, 4})) << "all of them again, in order, once";
  for (std::int64_t seq = 1; seq <= 4; ++seq) EXPECT_TRUE(ledger.acknowledge("officer", "m" + std::to_string(seq)));
  EXPECT_EQ(ledger.owed_count(), 0u);
  EXPECT_EQ(ledger.resident_frames(), 0u);
}

TEST(DeliveryLedgerBytes, ANodeThatReadsButNeverAcknowledgesIsThrottledAtKKeysWithoutTheirBytes) {
  constexpr std::size_t resident = 8;
  DeliveryLedger ledger(100, 1 << 20, resident, 1000);
  Disk disk;
  disk.frame_size = 300;
  for (std::int64_t seq = 1; seq <= 100; ++seq) disk.owe(ledger, "officer", seq, 0, "m" + std::to_string(seq));
  const auto lane = ledger.open_lane("officer");
  std::vector<std::int64_t> handed_seqs;
  for (int round = 0; round < 100; ++round) {
    ledger.refill("officer", disk.reader(), 0, refuse_none);
    auto handed = ledger.take("officer");
    for (const auto& out : handed) {
      handed_seqs.push_back(out.seq);
      ledger.written("officer", out.seq);
    }
    ledger.returned("officer", lane, handed.size(), bytes(handed));
    ASSERT_LE(ledger.resident_frames(), resident);
    ASSERT_LE(ledger.resident_bytes(), 1000u);
  }
  // Read back once half the resident frames have left: between K/2 and K.
  EXPECT_LE(handed_seqs.size(), resident) << "no Ack: handed at most K frames, then nothing more";
  EXPECT_GT(handed_seqs.size(), resident / 2);
  EXPECT_EQ(ledger.resident_frames("officer"), handed_seqs.size());
  EXPECT_EQ(ledger.resident_bytes(), 0u) << "what it holds are keys";
  // Acks let more through, in order.
  const auto throttled_at = static_cast<std::int64_t>(handed_seqs.size());
  for (const auto seq : handed_seqs) ASSERT_TRUE(ledger.acknowledge("officer", "m" + std::to_string(seq)));
  for (int round = 0; round < 5; ++round) {
    ledger.refill("officer", disk.reader(), 0, refuse_none);
    for (const auto& out : ledger.take("officer")) handed_seqs.push_back(out.seq);
  }
  ASSERT_GT(handed_seqs.size(), static_cast<std::size_t>(throttled_at));
  EXPECT_EQ(handed_seqs[static_cast<std::size_t>(throttled_at)], throttled_at + 1);
}

TEST(DeliveryLedgerBytes, TheTotalBoundHoldsOverNodesAndEachNodeMayHoldOneFrame) {
  DeliveryLedger ledger(100, 1 << 20, 100, 1000, 1500);
  Disk disk;
  disk.frame_size = 300;
  std::int64_t seq = 1;
  for (int i = 0; i < 10; ++i) disk.owe(ledger, "officer", seq++);
  EXPECT_EQ(ledger.resident_bytes("officer"), 900u) << "three frames in the node's 1,000 bytes";
  for (int i = 0; i < 10; ++i) disk.owe(ledger, "analyst", seq++);
  EXPECT_EQ(ledger.resident_bytes("analyst"), 600u) << "two more in the 1,500 in all";
  EXPECT_EQ(ledger.resident_bytes(), 1500u);
  for (int i = 0; i < 10; ++i) disk.owe(ledger, "reviewer", seq++);
  EXPECT_EQ(ledger.resident_frames("reviewer"), 1u) << "a node may always hold one frame";
  EXPECT_EQ(ledger.owed_count(), 30u);
}

TEST(DeliveryLedgerBytes, AConnectedNodeTakesBytesBackFromOfflineNodesWhenTheTotalIsFull) {
  // 1,000 bytes a node, 1,500 in all; frames of 300 bytes.
  DeliveryLedger ledger(100, 1 << 20, 100, 1000, 1500);
  Disk disk;
  disk.frame_size = 300;
  std::int64_t seq = 1;
  for (int i = 0; i < 10; ++i, ++seq) disk.owe(ledger, "officer", seq, 0, "m" + std::to_string(seq));
  for (int i = 0; i < 10; ++i, ++seq) disk.owe(ledger, "analyst", seq, 0, "m" + std::to_string(seq));
  ASSERT_EQ(ledger.resident_bytes(), 1500u) << "two offline nodes fill the total";
  // A node that is connected is owed frames: before, it held one at a time
  // until the offline nodes' frames left, which they never do while offline.
  const auto reviewer_lane = ledger.open_lane("reviewer");
  for (int i = 0; i < 10; ++i, ++seq) disk.owe(ledger, "reviewer", seq, 0, "m" + std::to_string(seq));
  EXPECT_EQ(ledger.resident_bytes("reviewer"), 900u) << "its own bound, taken back from the offline nodes";
  EXPECT_LE(ledger.resident_bytes(), 1500u + 300u) << "the total, but for one frame a node may always hold";
  EXPECT_EQ(ledger.bytes_taken_back(), 900u);
  EXPECT_EQ(ledger.resident_frames("officer") + ledger.resident_frames("analyst"), 5u) << "their keys stay";
  EXPECT_EQ(ledger.take("reviewer").size(), 3u) << "a window of three, not one";
  ledger.close_lane("reviewer", reviewer_lane);

  // The offline node connects: every frame it is owed arrives, in order,
  // once, those whose bytes were taken back read back from disk.
  const auto lane = ledger.open_lane("officer");
  std::vector<std::int64_t> arrived;
  for (int round = 0; round < 100 && arrived.size() < 10; ++round) {
    ledger.refill("officer", disk.reader(), 0, refuse_none);
    ASSERT_LE(ledger.resident_bytes(), 1500u + 300u);
    auto handed = ledger.take("officer");
    for (const auto& out : handed) {
      EXPECT_EQ(*out.bytes, disk.frame_of(out.seq));
      arrived.push_back(out.seq);
    }
    ledger.returned("officer", lane, handed.size(), bytes(handed));
    for (const auto& out : handed) {
      ASSERT_TRUE(ledger.acknowledge("officer", "m" + std::to_string(out.seq)));
      disk.rows.erase(out.seq);
    }
  }
  EXPECT_EQ(arrived, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

TEST(DeliveryLedgerBytes, FramesCommittedOrSettledWhileAReadIsUnderWayKeepTheirOrderAndCount) {
  DeliveryLedger ledger(100, 1 << 20, 4);
  Disk disk;
  for (std::int64_t seq = 1; seq <= 10; ++seq) disk.owe(ledger, "officer", seq, seq == 6 ? 500 : 0);
  const auto lane = ledger.open_lane("officer");
  auto handed = ledger.take("officer");
  EXPECT_EQ(seqs(handed), (std::vector<std::int64_t>{1, 2, 3, 4}));
  for (const auto& out : handed) {
    ledger.written("officer", out.seq);
    disk.rows.erase(out.seq);
  }
  ledger.returned("officer", lane, handed.size(), bytes(handed));
  // The read is asked for; before its page comes back, frames are committed
  // and one on disk expires (and is settled).
  auto read = ledger.next_read("officer");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->after, 4);
  EXPECT_EQ(read->through, 10);
  EXPECT_FALSE(ledger.next_read("officer")) << "one read at a time";
  auto page = disk.reader()("officer", read->after, read->through, read->limit, read->max_bytes);
  disk.owe(ledger, "officer", 11);
  disk.owe(ledger, "officer", 12);
  const auto expired = ledger.expire_before(1000, [](std::string_view) { return false; }, disk.expiry_index());
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired.front().seq, 6);
  EXPECT_TRUE(ledger.read_done(*read, std::move(page.entries), page.complete, 1000, refuse_none).empty());
  std::vector<std::int64_t> got;
  for (int round = 0; round < 10 && ledger.owed_count() > 0; ++round) {
    ledger.refill("officer", disk.reader(), 1000, refuse_none);
    handed = ledger.take("officer");
    for (const auto& out : handed) {
      got.push_back(out.seq);
      ledger.written("officer", out.seq);
      disk.rows.erase(out.seq);
    }
    ledger.returned("officer", lane, handed.size(), bytes(handed));
  }
  EXPECT_EQ(got, (std::vector<std::int64_t>{5, 7, 8, 9, 10, 11, 12})) << "6 expired on disk; the rest once, in order";
  EXPECT_EQ(ledger.owed_count(), 0u);
}

TEST(DeliveryLedgerBytes, AReadAskedForBeforeTheOwedFramesWereClearedIsIgnored) {
  DeliveryLedger ledger(100, 1 << 20, 4);
  Disk disk;
  for (std::int64_t seq = 1; seq <= 10; ++seq) disk.owe(ledger, "officer", seq);
  ledger.open_lane("officer");
  for (const auto& out : ledger.take("officer")) {
    ledger.written("officer", out.seq);
    disk.rows.erase(out.seq);
  }
  auto read = ledger.next_read("officer");
  ASSERT_TRUE(read);
  auto page = disk.reader()("officer", read->after, read->through, read->limit, read->max_bytes);
  ledger.clear_owed();  // a failed commit: read back from the store
  ledger.read_done(*read, std::move(page.entries), page.complete, 0, refuse_none);
  EXPECT_EQ(ledger.owed_count(), 0u);
  EXPECT_EQ(ledger.resident_frames(), 0u) << "nothing of the old read was taken";
}

}  // namespace
}  // namespace icegate::server

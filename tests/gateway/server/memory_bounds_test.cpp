// Memory bounded by design (issue 15, point 4), through the real gateway:
// the message ids held for duplicate detection stay within their bound, and
// an id forgotten in memory is still refused as a duplicate, before and
// after a restart, because the store finds it on disk; and a node offline
// with a backlog larger than the frames held in memory gets all of it, once
// and in order, before and after a restart.
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "gateway/server/router.hpp"
#include "tests/support/gateway_fixture.hpp"

namespace icegate::testing {
namespace {

const std::vector<std::string> nodes{"analyst", "officer"};
const auto policy_file = source_path("tests/data/handling-policy.yaml");

Message note(const std::string& body) {
  return make_message("analyst", {{AddresseeKind::node, "officer"}}, "operational-prebriefing",
                      "consequence-management", {{{"RESTRICTED", {}}, body}});
}

// The frames owed to `node` that the router holds in memory (the bound is
// per node: the analyst is owed its Receipts too), read on its own thread.
std::size_t resident_frames(RunningGateway& gateway, const std::string& node = "officer") {
  auto& router = gateway.gateway().router();
  std::promise<std::size_t> resident;
  boost::asio::post(router.executor(), [&] { resident.set_value(router.resident_frames(node)); });
  return resident.get_future().get();
}

// Every frame owed that the router holds in memory.
std::size_t all_resident_frames(RunningGateway& gateway) {
  auto& router = gateway.gateway().router();
  std::promise<std::size_t> resident;
  boost::asio::post(router.executor(), [&] { resident.set_value(router.resident_frames()); });
  return resident.get_future().get();
}

// The bytes of the frames owed to `node` that the router holds in memory.
std::size_t resident_bytes(RunningGateway& gateway, const std::string& node = "officer") {
  auto& router = gateway.gateway().router();
  std::promise<std::size_t> resident;
  boost::asio::post(router.executor(), [&] { resident.set_value(router.resident_bytes(node)); });
  return resident.get_future().get();
}

// Entries of the router's in-memory expiry index.
std::size_t expiry_entries(RunningGateway& gateway) {
  auto& router = gateway.gateway().router();
  std::promise<std::size_t> entries;
  boost::asio::post(router.executor(), [&] { entries.set_value(router.expiry_entries()); });
  return entries.get_future().get();
}

// The ids the router holds, read on its own thread after a tick (which ages them).
std::size_t ids_held(RunningGateway& gateway) {
  auto& router = gateway.gateway().router();
  std::promise<std::size_t> held;
  boost::asio::post(router.executor(), [&] {
    router.tick();
    held.set_value(router.message_ids_held());
  });
  return held.get_future().get();
}

// Holds the store reader's first read (a read-back, or a scan of the expiry
// index) until released, never for ever (30 s), and tells when it started.
// The hook's state is its own, as the hook may run until the gateway stops;
// the reader is let go when this goes out of scope, whatever happened.
class FirstReadHeld {
 public:
  explicit FirstReadHeld(store::Store& store) : hook_(std::make_shared<Hook>()), entered_(hook_->entered.get_future()) {
    store.set_read_hook([hook = hook_] {
      if (!hook->first.exchange(false)) return;
      hook->entered.set_value();
      hook->released.wait_for(30s);
    });
  }
  FirstReadHeld(const FirstReadHeld&) = delete;
  FirstReadHeld& operator=(const FirstReadHeld&) = delete;
  ~FirstReadHeld() { release(); }
  // Whether the first read has started within `timeout`.
  bool entered(std::chrono::seconds timeout) { return entered_.wait_for(timeout) == std::future_status::ready; }
  void release() {
    if (!std::exchange(released_, true)) hook_->release.set_value();
  }

 private:
  struct Hook {
    std::promise<void> entered, release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<bool> first{true};
  };
  std::shared_ptr<Hook> hook_;
  std::future<void> entered_;
  bool released_ = false;
};

class MemoryBoundsTest : public ::testing::Test {
 protected:
  static constexpr std::size_t recent_ids = 4;
  static constexpr std::size_t resident = 16;
  TemporaryDirectory dir_;
  std::unique_ptr<RunningGateway> start(std::chrono::milliseconds window = std::chrono::minutes(10)) {
    server::GatewayConfig config;
    config.recent_message_ids = recent_ids;
    config.owed_frames_in_memory = resident;
    config.recent_message_window = window;
    return std::make_unique<RunningGateway>(policy_file, nodes, config, dir_.path());
  }
  // A gateway on `clock`, ticking every 20 ms, with the fixture's bound on frames in memory.
  server::GatewayConfig on_clock(const std::shared_ptr<SimulatedClock>& clock) const {
    server::GatewayConfig config;
    config.owed_frames_in_memory = resident;
    config.tick_interval = 20ms;
    config.clock = clock;
    return config;
  }
  // The follow-up Receipt that tells `node` its message `id` will not be delivered, if one comes.
  static std::optional<node::Receipt> follow_up_for(node::NodeClient& node, const std::string& id) {
    while (auto receipt = next_of<node::Receipt>(node))
      if (receipt->follow_up && receipt->message_id == id) return receipt;
    return std::nullopt;
  }
  // Submits `message` and returns the code of the error it got ("" if acknowledged).
  static std::string submit(node::NodeClient& node, const Message& message) {
    node.submit(message);
    if (auto error = next_of<node::ErrorNotice>(node, 2s)) return error->code;
    return "";
  }
  // Whether the Ack for `id` said ok (earlier Acks, of refusals, are skipped).
  static bool acknowledged(node::NodeClient& node, const std::string& id) {
    while (auto ack = next_of<node::Acknowledgement>(node))
      if (ack->message_id == id) return ack->ok;
    return false;
  }
};

TEST_F(MemoryBoundsTest, AnIdForgottenInMemoryIsStillADuplicateBeforeAndAfterARestart) {
  std::vector<Message> sent;
  {
    auto gateway = start();
    auto analyst = gateway->connect("analyst");
    for (int i = 0; i < 30; ++i) {
      sent.push_back(note("note " + std::to_string(i)));
      analyst->submit(sent.back());
      ASSERT_TRUE(next_of<node::Acknowledgement>(*analyst));
    }
    EXPECT_LE(ids_held(*gateway), recent_ids) << "30 ids accepted, every commit done";
    EXPECT_EQ(submit(*analyst, sent.front()), "DUPLICATE_MESSAGE") << "the oldest id, found on disk";
  }
  auto gateway = start();
  EXPECT_LE(ids_held(*gateway), recent_ids) << "recover reads back only the newest ids";
  auto analyst = gateway->connect("analyst");
  EXPECT_EQ(submit(*analyst, sent.front()), "DUPLICATE_MESSAGE") << "after a restart too";
  EXPECT_EQ(submit(*analyst, sent[10]), "DUPLICATE_MESSAGE");
  EXPECT_EQ(submit(*analyst, sent.back()), "DUPLICATE_MESSAGE") << "a recent id, held in memory";
  const Message fresh = note("new");
  analyst->submit(fresh);
  EXPECT_TRUE(acknowledged(*analyst, fresh.id)) << "a new id is still accepted";
}

TEST_F(MemoryBoundsTest, IdsAgeOutOfMemoryAndAreStillRefused) {
  auto gateway = start(std::chrono::milliseconds(50));
  auto analyst = gateway->connect("analyst");
  std::vector<Message> sent;
  for (int i = 0; i < 3; ++i) {
    sent.push_back(note("aging " + std::to_string(i)));
    analyst->submit(sent.back());
    ASSERT_TRUE(next_of<node::Acknowledgement>(*analyst));
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(ids_held(*gateway), 0u) << "every id is older than the window";
  for (const auto& message : sent) EXPECT_EQ(submit(*analyst, message), "DUPLICATE_MESSAGE");
}

TEST_F(MemoryBoundsTest, ABacklogLargerThanMemoryArrivesOnceAndInOrderAfterARestart) {
  constexpr int backlog = 1'000;
  std::vector<std::string> ids;
  {
    auto gateway = start();
    auto analyst = gateway->connect("analyst");
    for (int i = 0; i < backlog; ++i) {
      Message message = note("queued " + std::to_string(i));
      ids.push_back(message.id);
      analyst->submit(message);
    }
    for (int i = 0; i < backlog; ++i) ASSERT_TRUE(next_of<node::Acknowledgement>(*analyst));
    // The analyst's Receipts are owed too until written: what remains is the officer's.
    for (int i = 0; i < 500 && gateway->gateway().owed_count() != backlog; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(gateway->gateway().owed_count(), static_cast<std::size_t>(backlog));
    EXPECT_LE(resident_frames(*gateway), resident) << "the officer is offline: the rest stay on disk";
  }
  auto gateway = start();
  EXPECT_GE(gateway->gateway().owed_count(), static_cast<std::size_t>(backlog)) << "counted, not loaded";
  EXPECT_LE(resident_frames(*gateway), resident) << "recover reads back only the first frames of each outbox";
  auto officer = gateway->connect("officer");
  for (std::size_t next = 0; next < ids.size(); ++next) {
    auto delivery = next_of<node::Delivery>(*officer);
    ASSERT_TRUE(delivery) << next;
    ASSERT_EQ(delivery->message.id, ids[next]) << "out of order, lost or repeated at " << next;
  }
  EXPECT_LE(resident_frames(*gateway), resident);
  EXPECT_FALSE(next_of<node::Delivery>(*officer, 300ms)) << "nothing twice";
  for (int i = 0; i < 200 && gateway->gateway().owed_count() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(gateway->gateway().owed_count(), 0u);
  EXPECT_EQ(all_resident_frames(*gateway), 0u);
}

TEST_F(MemoryBoundsTest, ABacklogOnDiskIsReadBackWhileTheNodeIsConnectedAndNewFramesWaitTheirTurn) {
  constexpr int backlog = 500;
  auto gateway = start();
  auto analyst = gateway->connect("analyst");
  std::vector<std::string> ids;
  auto send = [&](int count) {
    for (int i = 0; i < count; ++i) {
      Message message = note("n " + std::to_string(ids.size()));
      ids.push_back(message.id);
      analyst->submit(message);
    }
    for (int i = 0; i < count; ++i) ASSERT_TRUE(next_of<node::Acknowledgement>(*analyst));
  };
  send(backlog);  // the officer is offline
  auto officer = gateway->connect("officer");
  send(backlog);  // committed while the first backlog is still being read back
  for (std::size_t next = 0; next < ids.size(); ++next) {
    auto delivery = next_of<node::Delivery>(*officer);
    ASSERT_TRUE(delivery) << next;
    ASSERT_EQ(delivery->message.id, ids[next]) << "out of order, lost or repeated at " << next;
    ASSERT_LE(resident_frames(*gateway), resident);
    ASSERT_LE(resident_frames(*gateway, "analyst"), resident);
  }
  EXPECT_FALSE(next_of<node::Delivery>(*officer, 300ms)) << "nothing twice";
}

TEST_F(MemoryBoundsTest, AFrameOnDiskExpiresOnTimeForAnOfflineNodeAndIsNotDelivered) {
  auto clock = std::make_shared<SimulatedClock>(from_unix_ms(1'800'000'000'000));
  const server::GatewayConfig config = on_clock(clock);
  RunningGateway gateway(policy_file, nodes, config, dir_.path());
  auto analyst = gateway.connect("analyst");
  std::vector<std::string> ids;
  auto send = [&](Message message) {
    analyst->submit(message);
    EXPECT_TRUE(acknowledged(*analyst, message.id));
    return message.id;
  };
  for (int i = 0; i < 40; ++i) ids.push_back(send(note("before " + std::to_string(i))));
  Message stale = note("stale within the hour");
  stale.handling.not_after_unix_ms = clock->now_unix_ms() + 3'600'000;
  send(stale);  // 41st owed to the officer: on disk, not in memory
  for (int i = 0; i < 5; ++i) ids.push_back(send(note("after " + std::to_string(i))));
  ASSERT_LE(resident_frames(gateway), resident);
  clock->advance(std::chrono::hours(2));
  // The officer is offline: the originator hears on the clock's tick.
  const auto follow_up = follow_up_for(*analyst, stale.id);
  ASSERT_TRUE(follow_up) << "no expiry Receipt for a frame owed on disk";
  EXPECT_EQ(follow_up->outcomes.at(0).decision.decision, Decision::deny);
  EXPECT_NE(follow_up->outcomes.at(0).decision.reason.find("expired"), std::string::npos);
  // The officer is owed the others; the analyst's Receipt, owed until written, settles.
  for (int i = 0; i < 200 && gateway.gateway().owed_count() != ids.size(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(gateway.gateway().owed_count(), ids.size());
  auto officer = gateway.connect("officer");
  for (std::size_t next = 0; next < ids.size(); ++next) {
    auto delivery = next_of<node::Delivery>(*officer);
    ASSERT_TRUE(delivery) << next;
    ASSERT_EQ(delivery->message.id, ids[next]) << "the expired message is skipped, the rest in order";
  }
  EXPECT_FALSE(next_of<node::Delivery>(*officer, 300ms)) << "the expired message is never delivered";
}

TEST_F(MemoryBoundsTest, ABacklogThatExpiresOnDiskIsNotIndexedInMemoryAndExpiresWholeAfterARestart) {
  constexpr int backlog = 300;
  auto clock = std::make_shared<SimulatedClock>(from_unix_ms(1'800'000'000'000));
  const server::GatewayConfig config = on_clock(clock);
  std::set<std::string> ids;
  {
    RunningGateway gateway(policy_file, nodes, config, dir_.path());
    auto analyst = gateway.connect("analyst");
    for (int i = 0; i < backlog; ++i) {
      Message message = note("expires " + std::to_string(i));
      message.handling.not_after_unix_ms = clock->now_unix_ms() + 3'600'000 + i;
      ids.insert(message.id);
      analyst->submit(message);
      ASSERT_TRUE(acknowledged(*analyst, message.id));
    }
    EXPECT_LE(expiry_entries(gateway), resident) << "only the frames held in memory are indexed in memory";
  }
  RunningGateway gateway(policy_file, nodes, config, dir_.path());
  EXPECT_LE(expiry_entries(gateway), resident) << "nor after a restart: recover says when the first expires";
  auto analyst = gateway.connect("analyst");
  clock->advance(std::chrono::hours(2));
  std::set<std::string> expired;
  while (expired.size() < ids.size()) {
    auto receipt = next_of<node::Receipt>(*analyst);
    if (!receipt) break;
    if (!receipt->follow_up) continue;
    EXPECT_NE(receipt->outcomes.at(0).decision.reason.find("expired"), std::string::npos);
    EXPECT_TRUE(expired.insert(receipt->message_id).second) << "expired twice: " << receipt->message_id;
  }
  EXPECT_EQ(expired, ids) << "every frame on disk expires on the clock, once";
  auto officer = gateway.connect("officer");
  EXPECT_FALSE(next_of<node::Delivery>(*officer, 300ms)) << "nothing expired is delivered";
}

TEST_F(MemoryBoundsTest, LargeFramesOwedToAnOfflineNodeStayUnderTheByteBoundAndArriveInOrderAfterARestart) {
  constexpr int backlog = 100;
  constexpr std::size_t bound = 1 << 20;
  server::GatewayConfig config;
  config.owed_bytes_in_memory = bound;  // the count bound (1,024) would hold all 100: 25 MB
  const std::string body(256 * 1024, 'x');
  std::vector<std::string> ids;
  {
    RunningGateway gateway(policy_file, nodes, config, dir_.path());
    auto analyst = gateway.connect("analyst");
    for (int i = 0; i < backlog; ++i) {
      Message message = note(std::to_string(i) + body);
      ids.push_back(message.id);
      analyst->submit(message);
      ASSERT_TRUE(acknowledged(*analyst, message.id));
      ASSERT_LE(resident_bytes(gateway), bound);
    }
    EXPECT_GE(resident_frames(gateway), 1u);
    EXPECT_LE(resident_frames(gateway), bound / body.size()) << "four frames of 256 KB in 1 MiB";
  }
  RunningGateway gateway(policy_file, nodes, config, dir_.path());
  EXPECT_LE(resident_bytes(gateway), bound) << "recover reads back at most the bound's bytes";
  auto officer = gateway.connect("officer");
  for (std::size_t next = 0; next < ids.size(); ++next) {
    auto delivery = next_of<node::Delivery>(*officer);
    ASSERT_TRUE(delivery) << next;
    ASSERT_EQ(delivery->message.id, ids[next]) << "out of order, lost or repeated at " << next;
    ASSERT_LE(resident_bytes(gateway), bound);
  }
  EXPECT_FALSE(next_of<node::Delivery>(*officer, 300ms)) << "nothing twice";
  for (int i = 0; i < 200 && gateway.gateway().owed_count() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(gateway.gateway().owed_count(), 0u);
}

// A read of the officer's backlog from disk that does not finish (a test
// hook holds it on the store's reader thread) holds up nothing else: the
// analyst's message is still decided, committed and acknowledged meanwhile.
// (Read on the decision thread, as before, it held up everything.)
TEST_F(MemoryBoundsTest, AReadBackThatHangsDoesNotHoldUpAnotherNodesMessage) {
  constexpr int backlog = 100;
  auto gateway = start();
  auto analyst = gateway->connect("analyst");
  std::vector<std::string> ids;
  for (int i = 0; i < backlog; ++i) {
    Message message = note("queued " + std::to_string(i));
    ids.push_back(message.id);
    analyst->submit(message);
    ASSERT_TRUE(acknowledged(*analyst, message.id));
  }
  FirstReadHeld read(gateway->gateway().store());
  auto officer = gateway->connect("officer");  // handed its first frames; acknowledging them asks for the rest
  ASSERT_TRUE(read.entered(10s)) << "the backlog was never read back";
  const Message other = note("while the backlog is being read");
  analyst->submit(other);
  EXPECT_TRUE(acknowledged(*analyst, other.id)) << "a read of another node's backlog held up the decision";
  read.release();
  ids.push_back(other.id);
  for (std::size_t next = 0; next < ids.size(); ++next) {
    auto delivery = next_of<node::Delivery>(*officer);
    ASSERT_TRUE(delivery) << next;
    ASSERT_EQ(delivery->message.id, ids[next]) << "out of order, lost or repeated at " << next;
  }
  EXPECT_FALSE(next_of<node::Delivery>(*officer, 300ms)) << "nothing twice";
}

TEST_F(MemoryBoundsTest, AnExpiryScanOfTheDiskThatHangsDoesNotHoldUpAnotherNodesMessage) {
  auto clock = std::make_shared<SimulatedClock>(from_unix_ms(1'800'000'000'000));
  const server::GatewayConfig config = on_clock(clock);
  RunningGateway gateway(policy_file, nodes, config, dir_.path());
  auto analyst = gateway.connect("analyst");
  for (int i = 0; i < 40; ++i) {
    const Message message = note("before " + std::to_string(i));
    analyst->submit(message);
    ASSERT_TRUE(acknowledged(*analyst, message.id));
  }
  Message stale = note("stale within the hour");
  stale.handling.not_after_unix_ms = clock->now_unix_ms() + 3'600'000;
  analyst->submit(stale);  // owed to the offline officer on disk, not in memory
  ASSERT_TRUE(acknowledged(*analyst, stale.id));
  // The officer is offline, so nothing is read back for it: the first read
  // on the store's reader thread is the scan of the expiry index.
  FirstReadHeld read(gateway.gateway().store());
  clock->advance(std::chrono::hours(2));
  ASSERT_TRUE(read.entered(10s)) << "the frames on disk that expired were not looked for on the store's reader thread";
  const Message other = note("while the expiry index is being scanned");
  analyst->submit(other);
  EXPECT_TRUE(acknowledged(*analyst, other.id)) << "a scan of the expiry index held up a decision";
  read.release();
  const auto follow_up = follow_up_for(*analyst, stale.id);
  ASSERT_TRUE(follow_up) << "the scan's result never settled the expired frame";
  EXPECT_NE(follow_up->outcomes.at(0).decision.reason.find("expired"), std::string::npos);
}

}  // namespace
}  // namespace icegate::testing

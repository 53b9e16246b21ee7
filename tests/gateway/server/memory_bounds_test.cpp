// Memory bounded by design (issue 15, point 4), through the real gateway:
// the message ids held for duplicate detection stay within their bound, and
// an id forgotten in memory is still refused as a duplicate, before and
// after a restart, because the store finds it on disk.
#include <future>

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

class MemoryBoundsTest : public ::testing::Test {
 protected:
  static constexpr std::size_t recent_ids = 4;
  TemporaryDirectory dir_;
  std::unique_ptr<RunningGateway> start(std::chrono::milliseconds window = std::chrono::minutes(10)) {
    server::GatewayConfig config;
    config.recent_message_ids = recent_ids;
    config.recent_message_window = window;
    return std::make_unique<RunningGateway>(policy_file, nodes, config, dir_.path());
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

}  // namespace
}  // namespace icegate::testing

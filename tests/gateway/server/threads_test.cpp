// Sessions on several threads (serve --threads): connections spread over
// several threads, every decision on one. The rest of the suite runs with the
// default, one thread per core; these pin 1, 2 and 4 threads explicitly, so
// that the single-threaded path, the path across threads and a spread wider
// than the machine's all stay covered wherever the suite runs.
#include <future>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.hpp"

namespace icegate::testing {
namespace {

const std::vector<std::string> demo_nodes{"ctu-wm", "ctio-east", "council-prevent", "npt-sparkhill", "iag-birmingham"};

TEST(SessionThreads, DefaultAndZeroAreOnePerCore) {
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(server::session_threads({}), cores);
  server::GatewayConfig config;
  config.threads = 0;
  EXPECT_EQ(server::session_threads(config), cores);
  config.threads = 1;
  EXPECT_EQ(server::session_threads(config), 1u);
  config.threads = 3;
  EXPECT_EQ(server::session_threads(config), 3u);
}

class ThreadsTest : public ::testing::TestWithParam<std::size_t> {
 protected:
  static server::GatewayConfig config() {
    server::GatewayConfig config;
    config.threads = GetParam();
    return config;
  }
};

// Two senders and three recipients, connected one after another, so that
// with several threads they land on different ones (and on the decision
// thread's own share). Every message is acknowledged, in the order each
// sender sent them, and each recipient gets every message, in each sender's
// order, exactly once.
TEST_P(ThreadsTest, EveryMessageIsAckedAndDeliveredInOrderExactlyOnce) {
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config());
  EXPECT_EQ(gateway.gateway().threads(), GetParam());
  auto ctu = gateway.connect("ctu-wm");
  auto ctio = gateway.connect("ctio-east");
  auto council = gateway.connect("council-prevent");
  auto npt = gateway.connect("npt-sparkhill");

  constexpr int per_sender = 150;
  std::vector<std::string> from_ctu, from_ctio;
  for (int i = 0; i < per_sender; ++i) {
    // ctu-wm to its local partners (ctio-east, council-prevent, npt-sparkhill);
    // ctio-east to ctu-wm, interleaved, so that both directions cross threads.
    Message a = make_message("ctu-wm", {{AddresseeKind::list, "local-partners"}}, "ct-problem-profile", "prevent",
                             {{{"RESTRICTED", {}}, "a" + std::to_string(i)}});
    Message b = make_message("ctio-east", {{AddresseeKind::node, "ctu-wm"}}, "tension-report", "prevent",
                             {{{"RESTRICTED", {}}, "b" + std::to_string(i)}});
    from_ctu.push_back(a.id);
    from_ctio.push_back(b.id);
    ctu->submit(a);
    ctio->submit(b);
  }

  // Each client's events: its Acks in order, and the Delivers from each originator in order.
  struct Seen {
    std::vector<std::string> acked;
    std::map<std::string, std::vector<std::string>> delivered;  // by originator
  };
  auto drain = [](node::NodeClient& client, std::size_t acks, std::size_t deliveries) {
    Seen seen;
    std::size_t delivered = 0;
    const auto until = std::chrono::steady_clock::now() + 30s;
    while ((seen.acked.size() < acks || delivered < deliveries) && std::chrono::steady_clock::now() < until) {
      auto event = client.next_event(1s);
      if (!event) continue;
      if (auto* ack = std::get_if<node::Acknowledgement>(&event->payload)) {
        EXPECT_TRUE(ack->ok) << ack->message_id;
        seen.acked.push_back(ack->message_id);
      } else if (auto* delivery = std::get_if<node::Delivery>(&event->payload)) {
        seen.delivered[delivery->message.originator].push_back(delivery->message.id);
        ++delivered;
      } else if (auto* error = std::get_if<node::ErrorNotice>(&event->payload)) {
        ADD_FAILURE() << client.node_id() << " was sent an Error: " << error->code << ": " << error->text;
      }
    }
    return seen;
  };

  const Seen ctu_seen = drain(*ctu, per_sender, per_sender);
  const Seen ctio_seen = drain(*ctio, per_sender, per_sender);
  EXPECT_EQ(ctu_seen.acked, from_ctu);
  EXPECT_EQ(ctio_seen.acked, from_ctio);
  EXPECT_EQ(ctu_seen.delivered.at("ctio-east"), from_ctio);
  EXPECT_EQ(ctio_seen.delivered.at("ctu-wm"), from_ctu);
  for (auto* recipient : {council.get(), npt.get()}) {
    Seen seen = drain(*recipient, 0, per_sender);
    EXPECT_EQ(seen.delivered.size(), 1u) << recipient->node_id();
    EXPECT_EQ(seen.delivered["ctu-wm"], from_ctu) << recipient->node_id();
  }
  // Nothing more arrives: no Deliver was sent twice.
  for (auto* client : {ctu.get(), ctio.get(), council.get(), npt.get()})
    EXPECT_FALSE(next_of<node::Delivery>(*client, 300ms)) << client->node_id();
  // Every Deliver acknowledged by its node is settled on the decision thread.
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (gateway.on_gateway_thread([&] { return gateway.gateway().owed_to_connected(); }) > 0 &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(gateway.on_gateway_thread([&] { return gateway.gateway().owed_to_connected(); }), 0u);
  EXPECT_EQ(gateway.on_gateway_thread([&] { return gateway.gateway().session_count(); }), 4u);
}

// A node that connects again is handed to another thread than its first
// session (round-robin): the old session, on its own thread, is closed as
// superseded, and what the node is owed reaches the new one.
TEST_P(ThreadsTest, ASupersededSessionOnAnotherThreadIsClosedAndTheNewOneServed) {
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config());
  auto ctu = gateway.connect("ctu-wm");
  auto first = gateway.connect("ctio-east");
  auto second = gateway.connect("ctio-east");
  auto error = next_of<node::ErrorNotice>(*first);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "SUPERSEDED");
  Message message = make_message("ctu-wm", {{AddresseeKind::node, "ctio-east"}}, "ct-problem-profile", "prevent",
                                 {{{"RESTRICTED", {}}, "to the second session"}});
  ctu->submit(message);
  auto delivery = next_of<node::Delivery>(*second);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->message.id, message.id);
}

// A node's frames are answered in the order it sent them, on every thread,
// whether the router or the session answers: the refusals of a Submit from
// someone else (the router's), of an Ack for nothing owed (the router's) and
// of a message that does not decode (the session's own) all arrive before
// the echo of a Heartbeat sent after them. (A session posts Acks to the
// router without waiting for them, so it keeps this by waiting for the router
// before answering anything else itself: Session::router_caught_up.)
TEST_P(ThreadsTest, RefusalsArriveBeforeTheAnswerToAFrameSentAfterThem) {
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config());
  const std::vector<std::string> names{"ctu-wm", "ctio-east", "council-prevent", "npt-sparkhill"};
  std::vector<std::unique_ptr<node::NodeClient>> clients;
  for (const auto& name : names) clients.push_back(gateway.connect(name));

  constexpr int rounds = 20;
  for (int round = 0; round < rounds; ++round) {
    for (std::size_t n = 0; n < clients.size(); ++n) {
      auto& client = *clients[n];
      // Someone else's message: ORIGINATOR_MISMATCH, then a negative Ack.
      const Message not_mine = make_message(names[(n + 1) % names.size()], {{AddresseeKind::node, "iag-birmingham"}},
                                            "ct-problem-profile", "prevent", {{{"RESTRICTED", {}}, "not mine"}});
      Message empty = make_message(names[n], {{AddresseeKind::node, "iag-birmingham"}}, "ct-problem-profile",
                                   "prevent", {{{"RESTRICTED", {}}, "x"}});
      empty.portions.clear();  // INVALID_MESSAGE, then a negative Ack
      v1::Frame ack;
      ack.mutable_ack()->set_message_id(make_uuid());  // never delivered to anyone
      // The router's two refusals, then a frame the session answers itself.
      client.submit(not_mine);
      client.send_frame(ack);
      client.request_echo(2 * round);
      // The router's refusal, then the session's own.
      client.submit(not_mine);
      client.submit(empty);
      client.request_echo(2 * round + 1);
    }
  }
  std::vector<std::string> expected;
  for (int round = 0; round < rounds; ++round) {
    for (const char* seen : {"error ORIGINATOR_MISMATCH", "ack false", "error UNEXPECTED_FRAME"})
      expected.emplace_back(seen);
    expected.push_back("echo " + std::to_string(2 * round));
    for (const char* seen : {"error ORIGINATOR_MISMATCH", "ack false", "error INVALID_MESSAGE", "ack false"})
      expected.emplace_back(seen);
    expected.push_back("echo " + std::to_string(2 * round + 1));
  }
  for (std::size_t n = 0; n < clients.size(); ++n) {
    std::vector<std::string> seen;
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (seen.size() < expected.size() && std::chrono::steady_clock::now() < until) {
      auto event = clients[n]->next_event(1s);
      if (!event) continue;
      if (auto* error = std::get_if<node::ErrorNotice>(&event->payload)) seen.push_back("error " + error->code);
      if (auto* ack = std::get_if<node::Acknowledgement>(&event->payload))
        seen.push_back(ack->ok ? "ack true" : "ack false");
      if (auto* echo = std::get_if<node::Echo>(&event->payload)) seen.push_back("echo " + std::to_string(echo->tag));
    }
    EXPECT_EQ(seen, expected) << names[n];
  }
}

// A node's Acks are posted to the router, not waited for one by one: a
// recipient on a session thread reads on past its Acks while the router's
// thread is busy. (Each Ack's round trip through the busy router's queue held
// such a recipient to a third of the deliveries of one on the router's
// thread: docs/PERFORMANCE.md, "Acks posted, not waited for".) How many it
// may have queued at the router is bounded: past that, its reader waits. And
// the refusal of an Ack for nothing owed still arrives before the answer to a
// frame sent after it.
TEST(SessionThreads, ARecipientOnASessionThreadReadsPastItsAcksWhileTheRouterIsBusy) {
  server::GatewayConfig config;
  config.threads = 2;
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config);
  auto first = gateway.connect("ctu-wm");  // the router's thread (round-robin, from it)
  node::NodeOptions quiet = gateway.options("ctio-east");
  quiet.heartbeat_interval = 1h;  // no Heartbeat of its own among the frames counted
  auto second = std::make_unique<node::NodeClient>(quiet);  // the session thread
  const auto& frames_in = gateway.gateway().metrics().frames_in;  // atomic: read while the router is held

  // The router's thread is held until `release`.
  std::promise<void> held, release;
  auto holding = std::async(std::launch::async, [&] {
    gateway.on_gateway_thread([&] {
      held.set_value();
      release.get_future().wait();
      return true;
    });
  });
  held.get_future().wait();
  // Released however the test ends: a failed assertion must not leave the router held.
  struct Release {
    std::promise<void>& release;
    bool done = false;
    void operator()() {
      if (!std::exchange(done, true)) release.set_value();
    }
    ~Release() { (*this)(); }
  } released{release};
  const std::uint64_t before = frames_in.load();

  constexpr int acks = 100;
  for (int i = 0; i < acks; ++i) {
    v1::Frame ack;
    ack.mutable_ack()->set_message_id(make_uuid());  // never delivered to anyone
    ack.mutable_ack()->set_ok(true);
    second->send_frame(ack);
  }
  second->request_echo(1);
  auto read = [&] { return frames_in.load() - before; };
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (read() < acks / 3 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
  EXPECT_GE(read(), acks / 3u) << "the session's reader stopped at an Ack, waiting for the router";
  std::this_thread::sleep_for(300ms);
  EXPECT_LT(read(), acks + 0u) << "every Ack was read: nothing bounds what a node queues at a busy router";
  released();
  holding.get();

  // Every Ack is refused (none was owed), each before the echo of the
  // Heartbeat sent after them.
  std::vector<std::string> seen;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (seen.size() < acks + 1 && std::chrono::steady_clock::now() < deadline) {
    auto event = second->next_event(1s);
    if (!event) continue;
    if (auto* error = std::get_if<node::ErrorNotice>(&event->payload)) seen.push_back("error " + error->code);
    if (auto* echo = std::get_if<node::Echo>(&event->payload)) seen.push_back("echo " + std::to_string(echo->tag));
  }
  std::vector<std::string> expected(acks, "error UNEXPECTED_FRAME");
  expected.push_back("echo 1");
  EXPECT_EQ(seen, expected);
  EXPECT_TRUE(first->connected());
}

INSTANTIATE_TEST_SUITE_P(Threads, ThreadsTest, ::testing::Values(1, 2, 4),
                         [](const ::testing::TestParamInfo<std::size_t>& info) {
                           return std::to_string(info.param);
                         });

}  // namespace
}  // namespace icegate::testing

// End-to-end: the real gateway and real node clients over mutual TLS on
// loopback, with the demo policy (policies/demo.yaml).
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/wire/framing.hpp"
#include "tests/support/gateway_fixture.hpp"

namespace icegate::testing {
namespace {

const std::vector<std::string> demo_nodes{"ctu-wm", "ctio-east", "council-prevent", "npt-sparkhill", "iag-birmingham"};

Label label(std::string classification, std::vector<std::string> categories = {}) {
  return {std::move(classification), std::move(categories)};
}

// The two-level product of the demo: a SECRET portion and its RESTRICTED partner version.
Message two_level_profile(const std::string& to_kind_name = "list:local-partners") {
  const auto colon = to_kind_name.find(':');
  Addressee to{AddresseeKind::list, to_kind_name.substr(colon + 1)};
  if (to_kind_name.starts_with("node:")) to.kind = AddresseeKind::node;
  return make_message("ctu-wm", {to}, "ct-problem-profile", "prevent",
                      {{label("SECRET", {"UK EYES ONLY"}), "secret body: source detail"},
                       {label("RESTRICTED"), "restricted body: partner version"}});
}

class GatewayTest : public ::testing::Test {
 protected:
  GatewayTest() : gateway_(source_path("policies/demo.yaml"), demo_nodes, config()) {}

  static server::GatewayConfig config() {
    server::GatewayConfig config;
    config.max_frame_bytes = 64 * 1024;
    return config;
  }

  const node::ReceiptOutcome& outcome_for(const node::Receipt& receipt, const std::string& node_id) {
    for (const auto& outcome : receipt.outcomes)
      if (outcome.decision.node_id == node_id) return outcome;
    throw std::runtime_error("no outcome for " + node_id);
  }

  RunningGateway gateway_;
};

TEST_F(GatewayTest, FullReleaseDeliversEveryPortion) {
  auto sender = gateway_.connect("ctu-wm");
  auto ctio = gateway_.connect("ctio-east");
  const Message message = two_level_profile();
  sender->submit(message);

  auto delivery = next_of<node::Delivery>(*ctio);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->message.id, message.id);
  EXPECT_EQ(delivery->decision, Decision::release);
  ASSERT_EQ(delivery->message.portions.size(), 2u);
  EXPECT_EQ(delivery->message.portions[0].body, "secret body: source detail");
  EXPECT_TRUE(delivery->withheld.empty());
  EXPECT_EQ(delivery->rule_ids, std::vector<std::string>{"profile-to-police"});
  EXPECT_EQ(delivery->message.label.classification, "SECRET");

  auto ack = next_of<node::Acknowledgement>(*sender);
  ASSERT_TRUE(ack);
  EXPECT_TRUE(ack->ok);
  auto receipt = next_of<node::Receipt>(*sender);
  ASSERT_TRUE(receipt);
  const auto& outcome = outcome_for(*receipt, "ctio-east");
  EXPECT_EQ(outcome.decision.decision, Decision::release);
  EXPECT_TRUE(outcome.delivered);
  EXPECT_EQ(receipt->policy_version, gateway_.gateway().policy()->version());
}

TEST_F(GatewayTest, SecretPortionIsWithheldFromTheCouncil) {
  auto sender = gateway_.connect("ctu-wm");
  auto council = gateway_.connect("council-prevent");
  sender->submit(two_level_profile());

  auto delivery = next_of<node::Delivery>(*council);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->decision, Decision::release_redacted);
  ASSERT_EQ(delivery->message.portions.size(), 1u);
  EXPECT_EQ(delivery->message.portions[0].body, "restricted body: partner version");
  // The version's label is recomputed from what was released.
  EXPECT_EQ(delivery->message.label, label("RESTRICTED"));
  ASSERT_EQ(delivery->withheld.size(), 1u);
  EXPECT_EQ(delivery->withheld[0].portion_id, "1");
  EXPECT_EQ(delivery->withheld[0].label, label("SECRET", {"UK EYES ONLY"}));
  EXPECT_NE(delivery->withheld[0].reason.find("RESTRICTED"), std::string::npos) << delivery->withheld[0].reason;

  auto receipt = next_of<node::Receipt>(*sender);
  ASSERT_TRUE(receipt);
  const auto& outcome = outcome_for(*receipt, "council-prevent");
  EXPECT_EQ(outcome.decision.decision, Decision::release_redacted);
  EXPECT_EQ(outcome.decision.released_portion_ids, std::vector<std::string>{"2"});
  EXPECT_EQ(outcome.decision.released_label, label("RESTRICTED"));
}

TEST_F(GatewayTest, ClearanceWithholdsSecretFromTheNeighbourhoodTeam) {
  auto sender = gateway_.connect("ctu-wm");
  auto npt = gateway_.connect("npt-sparkhill");
  sender->submit(two_level_profile());
  auto delivery = next_of<node::Delivery>(*npt);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->decision, Decision::release_redacted);
  ASSERT_EQ(delivery->withheld.size(), 1u);
  EXPECT_NE(delivery->withheld[0].reason.find("BPSS"), std::string::npos) << delivery->withheld[0].reason;
}

TEST_F(GatewayTest, DeniedRecipientReceivesNothingAndTheReceiptSaysWhy) {
  auto sender = gateway_.connect("ctu-wm");
  auto iag = gateway_.connect("iag-birmingham");
  sender->submit(two_level_profile());

  auto receipt = next_of<node::Receipt>(*sender);
  ASSERT_TRUE(receipt);
  const auto& outcome = outcome_for(*receipt, "iag-birmingham");
  EXPECT_EQ(outcome.decision.decision, Decision::deny);
  EXPECT_FALSE(outcome.delivered);
  EXPECT_EQ(outcome.decision.rule_ids, std::vector<std::string>{"no-ct-material-to-community"});
  EXPECT_EQ(outcome.decision.withheld.size(), 2u);
  EXPECT_FALSE(next_of<node::Delivery>(*iag, 300ms)) << "a denied node must receive nothing";
}

TEST_F(GatewayTest, AddresseesThatResolveToNobodyAreNamedInTheReceipt) {
  auto sender = gateway_.connect("ctu-wm");
  Message message = two_level_profile();
  message.addressees.push_back({AddresseeKind::node, "council-prevnet"});  // misspelt
  message.addressees.push_back({AddresseeKind::role, "nobody"});
  sender->submit(message);
  auto receipt = next_of<node::Receipt>(*sender);
  ASSERT_TRUE(receipt);
  EXPECT_EQ(receipt->unresolved_addressees, (std::vector<std::string>{"node:council-prevnet", "role:nobody"}));
  EXPECT_NO_THROW(outcome_for(*receipt, "ctio-east")) << "the resolved addressees are decided as usual";
}

TEST_F(GatewayTest, OfflineRecipientGetsItsVersionWhenItConnects) {
  auto sender = gateway_.connect("ctu-wm");
  sender->submit(two_level_profile());
  auto receipt = next_of<node::Receipt>(*sender);
  ASSERT_TRUE(receipt);
  EXPECT_FALSE(outcome_for(*receipt, "council-prevent").delivered);

  auto council = gateway_.connect("council-prevent");
  auto delivery = next_of<node::Delivery>(*council);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->message.portions.size(), 1u);
}

TEST_F(GatewayTest, CertificateFromAnotherCaIsRefusedAndOthersCarryOn) {
  TemporaryDirectory other;
  pki::init_ca(other.path(), "impostor CA");
  pki::issue_node(other.path(), "ctio-east");
  auto options = gateway_.options("ctio-east");
  options.credentials.certificate = pki::node_paths(other.path(), "ctio-east").certificate;
  options.credentials.key = pki::node_paths(other.path(), "ctio-east").key;
  EXPECT_THROW(node::NodeClient{options}, node::ConnectError);

  // The gateway is unaffected.
  auto sender = gateway_.connect("ctu-wm");
  auto ctio = gateway_.connect("ctio-east");
  sender->submit(two_level_profile());
  EXPECT_TRUE(next_of<node::Delivery>(*ctio));
}

// A gateway that accepts the connection and then says nothing: the node's
// watchdog ends the handshake at connect_timeout (before, it found the socket
// not yet connected when it started, stopped at once, and the node waited for
// ever).
TEST_F(GatewayTest, NodeGivesUpOnAServerThatAcceptsButNeverShakesHands) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor mute(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  boost::asio::ip::tcp::socket accepted(io);
  mute.async_accept(accepted, [](const boost::system::error_code&) {});
  std::thread accepting([&io] { io.run(); });
  auto options = gateway_.options("ctu-wm");
  options.port = mute.local_endpoint().port();
  options.connect_timeout = 300ms;
  try {
    node::NodeClient client{options};
    FAIL() << "a server that says nothing completed a handshake";
  } catch (const node::ConnectError& e) {
    EXPECT_NE(std::string(e.what()).find("TLS handshake"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  }
  accepting.join();
}

TEST_F(GatewayTest, CertifiedNodeMissingFromThePolicyIsRefused) {
  pki::issue_node(gateway_.pki_dir(), "stranger");
  try {
    node::NodeClient client{gateway_.options("stranger")};
    FAIL() << "connected a node the policy does not know";
  } catch (const node::ConnectError& e) {
    EXPECT_NE(std::string(e.what()).find("UNKNOWN_NODE"), std::string::npos) << e.what();
  }
}

TEST_F(GatewayTest, HelloThatDisagreesWithTheCertificateIsRefused) {
  auto options = gateway_.options("council-prevent");
  options.hello_node_id = "ctu-wm";
  try {
    node::NodeClient client{options};
    FAIL() << "a node spoke as another in Hello";
  } catch (const node::ConnectError& e) {
    EXPECT_NE(std::string(e.what()).find("NODE_MISMATCH"), std::string::npos) << e.what();
  }
}

TEST_F(GatewayTest, SpoofedOriginatorIsRefusedAndTheSessionCarriesOn) {
  auto council = gateway_.connect("council-prevent");
  auto ctio = gateway_.connect("ctio-east");
  Message spoofed = two_level_profile();
  spoofed.originator = "ctu-wm";  // council-prevent pretending to be the CTU
  council->submit(spoofed);

  auto error = next_of<node::ErrorNotice>(*council);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "ORIGINATOR_MISMATCH");
  EXPECT_FALSE(error->fatal);
  EXPECT_EQ(error->message_id, spoofed.id);
  EXPECT_FALSE(next_of<node::Delivery>(*ctio, 300ms)) << "a spoofed message was delivered";

  // The same session can still send a genuine message.
  Message genuine = make_message("council-prevent", {{AddresseeKind::node, "ctu-wm"}}, "tension-report", "prevent",
                                 {{label("RESTRICTED"), "tension is low"}});
  council->submit(genuine);
  auto receipt = next_of<node::Receipt>(*council);
  ASSERT_TRUE(receipt);
  EXPECT_EQ(receipt->message_id, genuine.id);
}

TEST_F(GatewayTest, OversizedFrameIsRefusedTheConnectionClosedAndOthersCarryOn) {
  auto hostile = gateway_.connect("npt-sparkhill");
  auto sender = gateway_.connect("ctu-wm");
  auto ctio = gateway_.connect("ctio-east");

  unsigned char header[4];
  wire::encode_length(10u * 1024 * 1024, header);  // 10 MiB against a 64 KiB limit
  hostile->send_raw(std::string(reinterpret_cast<char*>(header), 4));

  auto error = next_of<node::ErrorNotice>(*hostile);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "FRAME_TOO_LARGE");
  EXPECT_TRUE(error->fatal);
  EXPECT_NE(error->text.find("65536"), std::string::npos) << error->text;
  EXPECT_TRUE(next_of<node::Disconnected>(*hostile));

  sender->submit(two_level_profile());
  auto delivery = next_of<node::Delivery>(*ctio);
  ASSERT_TRUE(delivery) << "other sessions must carry on";
  EXPECT_EQ(delivery->decision, Decision::release);
}

TEST_F(GatewayTest, BytesThatAreNotAFrameCloseTheConnection) {
  auto hostile = gateway_.connect("npt-sparkhill");
  // A 5-byte frame whose body is not a protobuf.
  const char garbage[] = {0, 0, 0, 5, '\xff', '\xff', '\xff', '\xff', '\xff'};
  hostile->send_raw(std::string(garbage, sizeof garbage));
  auto error = next_of<node::ErrorNotice>(*hostile);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "MALFORMED_FRAME");
  EXPECT_TRUE(next_of<node::Disconnected>(*hostile));
}

TEST_F(GatewayTest, ReplayedMessageIdIsRefused) {
  auto sender = gateway_.connect("ctu-wm");
  const Message message = two_level_profile();
  sender->submit(message);
  ASSERT_TRUE(next_of<node::Receipt>(*sender));
  sender->submit(message);
  auto error = next_of<node::ErrorNotice>(*sender);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "DUPLICATE_MESSAGE");
}

TEST_F(GatewayTest, LabelInvalidUnderTheSchemeIsRefused) {
  auto sender = gateway_.connect("ctu-wm");
  Message message = two_level_profile();
  message.portions[1].label = label("RESTRICTED", {"NO SUCH CAVEAT"});
  sender->submit(message);
  auto error = next_of<node::ErrorNotice>(*sender);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "INVALID_LABEL");
  EXPECT_NE(error->text.find("NO SUCH CAVEAT"), std::string::npos) << error->text;
}

TEST_F(GatewayTest, MessageWithoutPortionsIsRefusedNamingTheField) {
  auto sender = gateway_.connect("ctu-wm");
  Message message = two_level_profile();
  message.portions.clear();
  sender->submit(message);
  auto error = next_of<node::ErrorNotice>(*sender);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "INVALID_MESSAGE");
  EXPECT_NE(error->text.find("portions"), std::string::npos) << error->text;
  auto ack = next_of<node::Acknowledgement>(*sender);
  ASSERT_TRUE(ack);
  EXPECT_FALSE(ack->ok);
}

// The exercise runner waits for everything sent to have arrived without
// asking again and again: the gateway tells its settled watch when what it
// owes connected nodes may have been settled. Once the recipient has
// acknowledged its Deliver (and the sender's Receipt is written), the watch
// has been told, and nothing is owed by then.
TEST_F(GatewayTest, SettledWatchIsToldWhenTheLastOwedFrameIsSettled) {
  std::mutex mutex;
  std::condition_variable told;
  std::vector<std::size_t> owed_when_told;
  gateway_.on_gateway_thread([&] {
    gateway_.gateway().set_settled_watch([&] {
      const std::size_t owed = gateway_.gateway().owed_to_connected();
      {
        std::lock_guard lock(mutex);
        owed_when_told.push_back(owed);
      }
      told.notify_all();
    });
    return 0;
  });
  auto sender = gateway_.connect("ctu-wm");
  auto ctio = gateway_.connect("ctio-east");
  sender->submit(two_level_profile("node:ctio-east"));
  ASSERT_TRUE(next_of<node::Delivery>(*ctio));
  ASSERT_TRUE(next_of<node::Receipt>(*sender));
  {
    std::unique_lock lock(mutex);
    EXPECT_TRUE(told.wait_for(lock, 5s, [&] { return !owed_when_told.empty() && owed_when_told.back() == 0; }))
        << "told " << owed_when_told.size() << " time(s)";
  }
  gateway_.on_gateway_thread([&] {
    gateway_.gateway().set_settled_watch({});
    return 0;
  });
}

// The exercise runner's barrier behind frames settled once written: the
// gateway names the node it wrote a Receipt to, and an echo the node asks for
// comes back as an event after that Receipt (periodic heartbeats do not).
TEST_F(GatewayTest, ANodeWrittenAReceiptIsNamedAndItsEchoComesAfterTheReceipt) {
  gateway_.on_gateway_thread([&] {
    gateway_.gateway().set_settled_watch([] {});
    return 0;
  });
  auto sender = gateway_.connect("ctu-wm");
  auto ctio = gateway_.connect("ctio-east");
  const auto message = two_level_profile("node:ctio-east");
  sender->submit(message);
  ASSERT_TRUE(next_of<node::Delivery>(*ctio));
  // The Receipt is written once the Deliver is acknowledged; wait for the
  // gateway to have written it, without reading it yet.
  std::vector<std::string> written;
  for (int attempt = 0; attempt < 500 && written.empty(); ++attempt) {
    written = gateway_.on_gateway_thread([&] { return gateway_.gateway().take_written_unacknowledged(); });
    if (written.empty()) std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(written, std::vector<std::string>{"ctu-wm"});
  EXPECT_TRUE(gateway_.on_gateway_thread([&] { return gateway_.gateway().take_written_unacknowledged(); }).empty())
      << "each node is named once, until written to again";

  sender->request_echo(42);
  std::vector<std::string> order;
  for (int i = 0; i < 4 && order.size() < 2; ++i) {
    auto event = sender->next_event(5s);
    if (!event) break;
    if (auto* receipt = std::get_if<node::Receipt>(&event->payload); receipt && receipt->message_id == message.id)
      order.push_back("receipt");
    if (auto* echo = std::get_if<node::Echo>(&event->payload)) order.push_back("echo " + std::to_string(echo->tag));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"receipt", "echo 42"}));
  gateway_.on_gateway_thread([&] {
    gateway_.gateway().set_settled_watch({});
    return 0;
  });
}

TEST_F(GatewayTest, ASecondSessionForTheSameNodeSupersedesTheFirst) {
  auto first = gateway_.connect("ctio-east");
  auto second = gateway_.connect("ctio-east");
  auto error = next_of<node::ErrorNotice>(*first);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "SUPERSEDED");
  auto sender = gateway_.connect("ctu-wm");
  sender->submit(two_level_profile());
  EXPECT_TRUE(next_of<node::Delivery>(*second));
}

TEST(GatewayDeadlines, SilentClientIsClosedAtTheIdleDeadline) {
  server::GatewayConfig config;
  config.idle_timeout = 300ms;
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config);
  auto options = gateway.options("ctio-east");
  options.heartbeat_interval = 60s;  // says nothing for far longer than the deadline
  node::NodeClient client{options};
  auto error = next_of<node::ErrorNotice>(client, 5s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "TIMEOUT");
  EXPECT_TRUE(next_of<node::Disconnected>(client, 5s));
}

TEST(GatewayDeadlines, HeartbeatsKeepAQuietNodeConnected) {
  server::GatewayConfig config;
  config.idle_timeout = 400ms;
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config);
  auto options = gateway.options("ctio-east");
  options.heartbeat_interval = 100ms;
  node::NodeClient client{options};
  EXPECT_FALSE(next_of<node::Disconnected>(client, 1200ms));
  EXPECT_TRUE(client.connected());
}

}  // namespace
}  // namespace icegate::testing

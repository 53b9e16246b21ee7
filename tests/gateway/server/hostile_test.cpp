// Hostile input: each gets a clear error, the connection is closed where that
// is right, and every other session, queued message and audit record carries on.
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "gateway/audit/audit.hpp"
#include "gateway/wire/codec.hpp"
#include "gateway/wire/framing.hpp"
#include "tests/support/gateway_fixture.hpp"

namespace icegate::testing {
namespace {

const std::vector<std::string> demo_nodes{"ctu-wm", "ctio-east", "council-prevent", "npt-sparkhill", "iag-birmingham"};

Message profile() {
  return make_message("ctu-wm", {{AddresseeKind::node, "ctio-east"}}, "ct-problem-profile", "prevent",
                      {{{"RESTRICTED", {}}, "partner version"}});
}

// The same message, as a Submit frame a test can damage before sending.
v1::Frame submit_frame(const Message& message) {
  v1::Frame frame;
  wire::encode(message, *frame.mutable_submit()->mutable_message());
  return frame;
}

class HostileTest : public ::testing::Test {
 protected:
  explicit HostileTest(server::GatewayConfig config = small_limits())
      : gateway_(source_path("policies/demo.yaml"), demo_nodes, std::move(config)) {}

  static server::GatewayConfig small_limits() {
    server::GatewayConfig config;
    config.message_limits.max_portions = 64;
    config.message_limits.max_addressees = 64;
    config.max_frame_bytes = 256 * 1024;
    return config;
  }

  // After each attack: a genuine message still goes through.
  void others_carry_on() {
    auto sender = gateway_.connect("ctu-wm");
    auto ctio = gateway_.connect("ctio-east");
    sender->submit(profile());
    EXPECT_TRUE(next_of<node::Delivery>(*ctio)) << "the gateway stopped serving others";
  }

  std::string refused(const Message& message) {
    auto client = gateway_.connect("ctu-wm");
    client->submit(message);
    auto error = next_of<node::ErrorNotice>(*client);
    if (!error) return "no error";
    EXPECT_FALSE(error->fatal) << "a bad message must not cost the session";
    EXPECT_TRUE(client->connected());
    return error->code + ": " + error->text;
  }

  RunningGateway gateway_;
};

// ---- frame level ------------------------------------------------------------

TEST_F(HostileTest, TruncatedFrameTimesOutWithoutHarmingOthers) {
  RunningGateway quick(source_path("policies/demo.yaml"), demo_nodes, [] {
    auto c = small_limits();
    c.frame_timeout = 300ms;
    return c;
  }());
  auto hostile = quick.connect("npt-sparkhill");
  const std::string frame = wire::encode_frame(submit_frame(profile()));
  hostile->send_raw(frame.substr(0, frame.size() / 2));  // half a frame, then silence
  auto error = next_of<node::ErrorNotice>(*hostile, 5s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "TIMEOUT");
  EXPECT_TRUE(next_of<node::Disconnected>(*hostile, 5s));
  auto sender = quick.connect("ctu-wm");
  auto ctio = quick.connect("ctio-east");
  sender->submit(profile());
  EXPECT_TRUE(next_of<node::Delivery>(*ctio));
}

TEST_F(HostileTest, UnknownFrameTypeIsReportedAndSkipped) {
  auto client = gateway_.connect("ctu-wm");
  const char body[] = {'\x98', '\x06', '\x01'};  // field 99: no such frame type
  unsigned char header[4];
  wire::encode_length(sizeof body, header);
  client->send_raw(std::string(reinterpret_cast<char*>(header), 4) + std::string(body, sizeof body));
  auto error = next_of<node::ErrorNotice>(*client);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "UNEXPECTED_FRAME");
  EXPECT_FALSE(error->fatal);
  auto ctio = gateway_.connect("ctio-east");
  client->submit(profile());
  EXPECT_TRUE(next_of<node::Delivery>(*ctio)) << "the same session carries on";
}

TEST_F(HostileTest, UnknownEnumValueIsRefusedNamingTheField) {
  auto client = gateway_.connect("ctu-wm");
  auto frame = submit_frame(profile());
  frame.mutable_submit()->mutable_message()->mutable_addressees(0)->set_kind(static_cast<v1::AddresseeKind>(99));
  client->send_frame(frame);
  auto error = next_of<node::ErrorNotice>(*client);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "INVALID_MESSAGE");
  EXPECT_NE(error->text.find("addressees[0].kind"), std::string::npos) << error->text;
}

TEST_F(HostileTest, MissingFieldsAndAnEmptyMessageAreRefused) {
  Message no_category = profile();
  no_category.category.clear();
  EXPECT_NE(refused(no_category).find("category: is required"), std::string::npos);

  auto client = gateway_.connect("ctu-wm");
  v1::Frame empty;
  empty.mutable_submit();  // a Submit with no message at all
  client->send_frame(empty);
  auto error = next_of<node::ErrorNotice>(*client);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "INVALID_MESSAGE");
  others_carry_on();
}

TEST_F(HostileTest, ThousandsOfPortionsOrAddresseesAreRefusedByTheConfiguredLimits) {
  Message many_portions = profile();
  for (int i = 0; i < 2000; ++i) many_portions.portions.push_back({"p" + std::to_string(i), {"RESTRICTED", {}}, "x"});
  EXPECT_NE(refused(many_portions).find("portions: has 2001 entries, more than the limit of 64"), std::string::npos);

  Message many_addressees = profile();
  for (int i = 0; i < 3000; ++i) many_addressees.addressees.push_back({AddresseeKind::node, "n" + std::to_string(i)});
  EXPECT_NE(refused(many_addressees).find("addressees: has 3001 entries, more than the limit of 64"),
            std::string::npos);
  others_carry_on();
}

// ---- identity ---------------------------------------------------------------

TEST_F(HostileTest, ExpiredCertificateIsRefused) {
  pki::IssueOptions expired;
  expired.already_expired = true;
  pki::issue_node(gateway_.pki_dir(), "npt-sparkhill", expired);
  EXPECT_THROW(gateway_.connect("npt-sparkhill"), node::ConnectError);
  others_carry_on();
}

TEST(HostileIdentity, RevokedNodeIsRefusedOnceTheGatewayLoadsTheCrl) {
  TemporaryDirectory dir;
  { RunningGateway first(source_path("policies/demo.yaml"), demo_nodes, {}, dir.path()); }
  pki::revoke_node(dir / "pki", "npt-sparkhill");
  {
    RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, {}, dir.path());
    EXPECT_THROW(gateway.connect("npt-sparkhill"), node::ConnectError);
    EXPECT_NO_THROW(gateway.connect("ctio-east")) << "only the revoked node is refused";
  }  // stopped: every audit record is committed
  const auto refusals = audit::query(dir / "data", {.kind = "connection_refused"});
  ASSERT_FALSE(refusals.empty()) << "a refused connection is audited";
  EXPECT_NE(refusals.back().record.detail.find("TLS handshake failed"), std::string::npos);
}

// ---- load -------------------------------------------------------------------

TEST(HostileLoad, ConnectionThatNeverHandshakesIsClosedAtTheDeadline) {
  server::GatewayConfig config;
  config.handshake_timeout = 300ms;
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config);
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), gateway.port()});
  const auto start = std::chrono::steady_clock::now();
  char byte;
  boost::system::error_code error;
  boost::asio::read(socket, boost::asio::buffer(&byte, 1), error);  // blocks until the gateway closes
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(error) << "the gateway sent something to a silent TCP client";
  EXPECT_LT(waited, 5s) << "the silent connection was not closed at the handshake deadline";
}

TEST(HostileLoad, NodeThatNeverReadsIsDisconnectedWithoutStallingOthers) {
  server::GatewayConfig config;
  config.write_timeout = 500ms;
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config);

  // A real TLS client for ctio-east that says Hello, then never reads again.
  boost::asio::io_context io;
  auto tls = transport::make_client_context(transport::node_credentials(gateway.pki_dir(), "ctio-east"));
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stalled(io, tls);
  stalled.lowest_layer().connect({boost::asio::ip::make_address("127.0.0.1"), gateway.port()});
  stalled.lowest_layer().set_option(boost::asio::socket_base::receive_buffer_size(4096));
  stalled.handshake(boost::asio::ssl::stream_base::client);
  v1::Frame hello;
  hello.mutable_hello()->set_node_id("ctio-east");
  hello.mutable_hello()->set_protocol_version(wire::protocol_version);
  boost::asio::write(stalled, boost::asio::buffer(wire::encode_frame(hello)));

  // Flood it with large messages; meanwhile the council must be served promptly.
  auto sender = gateway.connect("ctu-wm");
  auto council = gateway.connect("council-prevent");
  const std::string big(60'000, 'x');
  for (int i = 0; i < 100; ++i)
    sender->submit(make_message("ctu-wm", {{AddresseeKind::node, "ctio-east"}}, "ct-problem-profile", "prevent",
                                {{{"RESTRICTED", {}}, big}}));
  sender->submit(make_message("ctu-wm", {{AddresseeKind::node, "council-prevent"}}, "ct-problem-profile", "prevent",
                              {{{"RESTRICTED", {}}, "for the council"}}));
  EXPECT_TRUE(next_of<node::Delivery>(*council, 5s)) << "a node that does not read stalled the others";
  // The stalled session is closed once a write waits past the deadline...
  for (int i = 0; i < 100 && gateway.gateway().session_count() > 2; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(gateway.gateway().session_count(), 2u) << "the node that never reads is still connected";
  // ...and what it is owed is kept for it, not lost.
  EXPECT_GE(gateway.gateway().owed_count(), 90u);
}

TEST(HostileLoad, BurstOfConnectionsIsServedAndLeavesNothingBehind) {
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes);
  constexpr int burst = 200;
  std::vector<std::thread> threads;
  std::atomic<int> connected{0}, failed{0};
  for (int i = 0; i < burst; ++i)
    threads.emplace_back([&, i] {
      try {
        auto client = gateway.connect(demo_nodes[static_cast<std::size_t>(i) % demo_nodes.size()]);
        ++connected;
      } catch (const std::exception&) {
        ++failed;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(connected + failed, burst);
  EXPECT_GT(connected, burst / 2);
  for (int i = 0; i < 100 && gateway.gateway().session_count() > 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(gateway.gateway().session_count(), 0u) << "sessions leaked after the burst";
  auto sender = gateway.connect("ctu-wm");
  auto ctio = gateway.connect("ctio-east");
  sender->submit(profile());
  EXPECT_TRUE(next_of<node::Delivery>(*ctio));
}

TEST(HostileLoad, ConnectionsBeyondTheLimitAreRefusedAndTheRestServed) {
  server::GatewayConfig config;
  config.max_connections = 3;
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config);
  auto a = gateway.connect("ctu-wm");
  auto b = gateway.connect("ctio-east");
  auto c = gateway.connect("council-prevent");
  EXPECT_THROW(gateway.connect("npt-sparkhill"), node::ConnectError);
  a->submit(profile());
  EXPECT_TRUE(next_of<node::Delivery>(*b)) << "the connections within the limit carry on";
  c.reset();
  for (int i = 0; i < 100 && gateway.gateway().session_count() > 2; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_NO_THROW(gateway.connect("npt-sparkhill")) << "a freed place is available again";
}

}  // namespace
}  // namespace icegate::testing

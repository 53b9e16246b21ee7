// What one node cannot do to the gateway, to the other nodes or to the
// record: deadlines that hold whatever the gateway writes meanwhile, frames
// owed that never exceed what a node accepts, a flood that is slowed rather
// than cut off, Acks that settle only what they may, log lines that cannot be
// forged, and disconnections audited with their reason.
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "gateway/audit/audit.hpp"
#include "gateway/server/logging.hpp"
#include "gateway/wire/codec.hpp"
#include "gateway/wire/framing.hpp"
#include "tests/support/gateway_fixture.hpp"
#include "tests/support/raw_node.hpp"

namespace icegate::testing {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> demo_nodes{"ctu-wm", "ctio-east", "council-prevent", "npt-sparkhill", "iag-birmingham"};

Message profile(const std::string& to = "ctio-east", std::string body = "partner version") {
  return make_message("ctu-wm", {{AddresseeKind::node, to}}, "ct-problem-profile", "prevent",
                      {{{"RESTRICTED", {}}, std::move(body)}});
}

v1::Frame heartbeat(std::int64_t sent = 1) {
  v1::Frame frame;
  frame.mutable_heartbeat()->set_sent_unix_ms(sent);
  return frame;
}

std::string submit_bytes(const Message& message) {
  v1::Frame frame;
  wire::encode(message, *frame.mutable_submit()->mutable_message());
  return wire::encode_frame(frame);
}

// ---- deadlines ----------------------------------------------------------------

TEST(Deadlines, ANodeSilentAfterAHeartbeatIsClosedAtTheIdleDeadline) {
  server::GatewayConfig config;
  config.idle_timeout = 1s;
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config);
  RawNode node(gateway, "ctio-east");
  ASSERT_TRUE(node.welcomed());
  ASSERT_TRUE(node.send_frame(heartbeat()));
  auto echo = node.next_frame();
  ASSERT_TRUE(echo && echo->has_heartbeat());
  const auto echoed = Clock::now();
  // Writing the echo must not switch off the deadline of the read that waits.
  auto error = node.next_error(10s);
  ASSERT_TRUE(error) << "a node silent after one Heartbeat stayed connected past the idle deadline";
  EXPECT_EQ(error->second.code(), v1::ERROR_CODE_TIMEOUT);
  EXPECT_LT(error->first - echoed, 5s);
  EXPECT_TRUE(node.closed_at(5s));
}

TEST(Deadlines, ABodyDrippedBehindAHeartbeatTimesOutAtTheFrameDeadline) {
  server::GatewayConfig config;
  config.frame_timeout = 1s;
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config);
  RawNode node(gateway, "ctu-wm");
  ASSERT_TRUE(node.welcomed());
  const Message message = profile("ctio-east", std::string(400, 'x'));
  const std::string submit = submit_bytes(message);
  // A Heartbeat (whose echo is written while the next body is awaited), then
  // a Submit's prefix and a little of its body, then one byte at a time.
  ASSERT_TRUE(node.send(wire::encode_frame(heartbeat()) + submit.substr(0, 10)));
  const auto dripping = Clock::now();
  std::size_t sent = 10;
  while (sent < submit.size() - 1 && !node.closed() && Clock::now() - dripping < 8s) {
    node.send(submit.substr(sent++, 1));
    std::this_thread::sleep_for(100ms);
  }
  auto error = node.next_error(1s);
  ASSERT_TRUE(error) << "a body dripped for " << (Clock::now() - dripping) / 1ms << " ms was still being read";
  EXPECT_EQ(error->second.code(), v1::ERROR_CODE_TIMEOUT);
  EXPECT_THAT(error->second.message(), HasSubstr("frame deadline"));
  EXPECT_LT(error->first - dripping, 5s);
}

TEST(Deadlines, TheHandshakeAndHelloShareOneDeadline) {
  server::GatewayConfig config;
  config.handshake_timeout = 3s;
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config);
  RawNode node(gateway, "ctio-east", {.hello = false});
  v1::Frame hello;
  hello.mutable_hello()->set_node_id("ctio-east");
  hello.mutable_hello()->set_protocol_version(wire::protocol_version);
  hello.mutable_hello()->set_software_version(std::string(100, 'v'));
  const std::string bytes = wire::encode_frame(hello);
  // The prefix just before the deadline, then the body a byte at a time: the
  // body may not earn the Hello a deadline of its own.
  std::this_thread::sleep_until(node.started() + 2500ms);
  node.send(bytes.substr(0, wire::frame_header_bytes));
  for (std::size_t at = wire::frame_header_bytes; at < bytes.size() - 1 && !node.closed(); ++at) {
    node.send(bytes.substr(at, 1));
    std::this_thread::sleep_for(200ms);
  }
  auto error = node.next_error(1s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->second.code(), v1::ERROR_CODE_TIMEOUT);
  EXPECT_LT(error->first - node.started(), 4500ms) << "the Hello's body restarted the handshake deadline";
}

// ---- frames owed never exceed the frame limit ---------------------------------

constexpr std::uint32_t small_frame_limit = 64 * 1024;

server::GatewayConfig small_frames() {
  server::GatewayConfig config;
  config.max_frame_bytes = small_frame_limit;
  return config;
}

// A message whose Submit frame is exactly `limit` bytes (without its prefix).
Message message_of_frame_size(std::uint32_t limit) {
  Message message = profile("ctio-east", "");
  const std::size_t empty = submit_bytes(message).size() - wire::frame_header_bytes;
  // The nested lengths grow by a byte or two with the body: find the body that lands on the limit.
  for (std::size_t extra = 0; extra < 16; ++extra) {
    message.portions[0].body.assign(limit - empty - extra, 'x');
    if (submit_bytes(message).size() - wire::frame_header_bytes == limit) break;
  }
  EXPECT_EQ(submit_bytes(message).size() - wire::frame_header_bytes, limit);
  return message;
}

TEST(FrameLimits, ASubmitWhoseDeliverWouldBeTooLargeIsRefusedAndTheRecipientCarriesOn) {
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, small_frames());
  auto sender_options = gateway.options("ctu-wm");
  sender_options.max_frame_bytes = small_frame_limit;
  node::NodeClient sender(sender_options);
  auto ctio_options = gateway.options("ctio-east");
  ctio_options.max_frame_bytes = small_frame_limit;
  node::NodeClient ctio(ctio_options);

  const Message big = message_of_frame_size(small_frame_limit);
  sender.submit(big);
  auto error = next_of<node::ErrorNotice>(sender);
  ASSERT_TRUE(error) << "a Submit whose Deliver cannot fit was accepted";
  EXPECT_EQ(error->code, "INVALID_MESSAGE");
  EXPECT_THAT(error->text, HasSubstr("the Deliver to ctio-east would be"));
  EXPECT_FALSE(error->fatal);

  const Message next = profile();
  sender.submit(next);
  auto delivery = next_of<node::Delivery>(ctio);
  ASSERT_TRUE(delivery) << "the recipient no longer receives anything";
  EXPECT_EQ(delivery->message.id, next.id);
  EXPECT_TRUE(ctio.connected());
}

TEST(FrameLimits, AnEmbargoedDeliverLeavesRoomForTheReasonItsLiftAdds) {
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, small_frames());
  auto options = gateway.options("ctu-wm");
  options.max_frame_bytes = small_frame_limit;
  node::NodeClient sender(options);
  // A Deliver that would fit if sent now, but not once "embargo lifted (...)"
  // is added to its reason when the embargo lifts.
  const std::int64_t in_an_hour =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count() +
      3'600'000;
  Message embargoed = message_of_frame_size(small_frame_limit - 400);
  embargoed.handling.not_before_unix_ms = in_an_hour;
  sender.submit(embargoed);
  auto error = next_of<node::ErrorNotice>(sender);
  ASSERT_TRUE(error) << "an embargoed message with no room for its release's reason was accepted";
  EXPECT_EQ(error->code, "INVALID_MESSAGE");
  EXPECT_THAT(error->text, HasSubstr("with 2048 for the text its release adds"));
  // Well within the limit, the same embargo is accepted.
  Message small = profile();
  small.handling.not_before_unix_ms = in_an_hour;
  sender.submit(small);
  auto receipt = next_of<node::Receipt>(sender);
  ASSERT_TRUE(receipt);
  EXPECT_EQ(receipt->message_id, small.id);
}

TEST(FrameLimits, ASubmitWhoseReceiptWouldBeTooLargeIsRefusedWhole) {
  auto config = small_frames();
  config.message_limits.max_portions = 256;
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config);
  auto options = gateway.options("ctu-wm");
  options.max_frame_bytes = small_frame_limit;
  node::NodeClient sender(options);
  auto ctio = gateway.connect("ctio-east");

  // Each portion within limits, the Submit within the frame limit; but the
  // Receipt names every portion for every recipient.
  Message many = make_message("ctu-wm",
                              {{AddresseeKind::node, "ctio-east"},
                               {AddresseeKind::node, "council-prevent"},
                               {AddresseeKind::node, "npt-sparkhill"},
                               {AddresseeKind::node, "iag-birmingham"}},
                              "ct-problem-profile", "prevent", {});
  for (int i = 0; i < 100; ++i)
    many.portions.push_back({fmt::format("{:0>250}", i), {"RESTRICTED", {}}, "x"});
  ASSERT_LT(submit_bytes(many).size(), small_frame_limit);
  sender.submit(many);
  auto error = next_of<node::ErrorNotice>(sender);
  ASSERT_TRUE(error) << "a Submit whose Receipt cannot fit was accepted";
  EXPECT_EQ(error->code, "INVALID_MESSAGE");
  EXPECT_THAT(error->text, HasSubstr("the Receipt for this message would be"));
  EXPECT_TRUE(sender.connected());

  // Refused whole: nobody received it, and the sender carries on.
  const Message next = profile();
  sender.submit(next);
  auto receipt = next_of<node::Receipt>(sender);
  ASSERT_TRUE(receipt);
  EXPECT_EQ(receipt->message_id, next.id);
  auto delivery = next_of<node::Delivery>(*ctio);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->message.id, next.id) << "part of the refused message was delivered";
}

TEST(FrameLimits, AnOwedFrameOverTheLimitIsSettledNotSentAndStarvesNothing) {
  TemporaryDirectory dir;
  const Message big = message_of_frame_size(200 * 1024);
  {  // Queued for an offline node by a gateway with a larger limit.
    server::GatewayConfig config;
    config.max_frame_bytes = 256 * 1024;
    RunningGateway before(source_path("policies/demo.yaml"), demo_nodes, config, dir.path());
    auto options = before.options("ctu-wm");
    options.max_frame_bytes = 256 * 1024;
    node::NodeClient sender(options);
    sender.submit(big);
    ASSERT_TRUE(next_of<node::Receipt>(sender));
  }
  RunningGateway after(source_path("policies/demo.yaml"), demo_nodes, small_frames(), dir.path());
  auto ctio = after.connect("ctio-east");
  auto sender = after.connect("ctu-wm");
  // The originator hears that the Deliver will not be sent...
  std::optional<node::Receipt> follow_up;
  while (auto receipt = next_of<node::Receipt>(*sender))
    if (receipt->message_id == big.id) {
      follow_up = receipt;
      break;
    }
  ASSERT_TRUE(follow_up) << "the originator was not told";
  ASSERT_EQ(follow_up->outcomes.size(), 1u);
  EXPECT_EQ(follow_up->outcomes[0].decision.decision, Decision::deny);
  EXPECT_THAT(follow_up->outcomes[0].decision.reason, HasSubstr("over the frame limit"));
  // ...and what the recipient is owed after it still arrives.
  const Message next = profile();
  sender->submit(next);
  auto delivery = next_of<node::Delivery>(*ctio);
  ASSERT_TRUE(delivery) << "an oversized frame blocked the recipient's queue";
  EXPECT_EQ(delivery->message.id, next.id);
}

// ---- Acks and floods ----------------------------------------------------------

TEST(Acks, AnAckForAMessageNeverDeliveredIsAnsweredAndSettlesNothing) {
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes);
  // Owed to the council, which is offline.
  auto sender = gateway.connect("ctu-wm");
  const Message for_council = profile("council-prevent");
  sender->submit(for_council);
  ASSERT_TRUE(next_of<node::Receipt>(*sender));

  RawNode ctio(gateway, "ctio-east");
  ASSERT_TRUE(ctio.welcomed());
  for (const std::string& id : {make_uuid(), for_council.id}) {
    v1::Frame ack;
    ack.mutable_ack()->set_message_id(id);
    ack.mutable_ack()->set_ok(true);
    ASSERT_TRUE(ctio.send_frame(ack));
    auto error = ctio.next_error();
    ASSERT_TRUE(error) << "an Ack for " << id << " was silently ignored";
    EXPECT_EQ(error->second.code(), v1::ERROR_CODE_UNEXPECTED_FRAME);
    EXPECT_EQ(error->second.message_id(), id);
    EXPECT_FALSE(error->second.fatal());
  }
  EXPECT_FALSE(ctio.closed());
  EXPECT_EQ(gateway.gateway().metrics().acks_unexpected, 2u);
  // The council's Deliver was not settled by someone else's Ack.
  auto council = gateway.connect("council-prevent");
  auto delivery = next_of<node::Delivery>(*council);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->message.id, for_council.id);
}

TEST(Floods, ANodeThatSendsFasterThanItReadsIsSlowedNotCutOff) {
  server::GatewayConfig config;
  config.outbound_queue_limit = 16;
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config);
  RawNode node(gateway, "ctio-east", {.reading = false, .receive_buffer = 4096});
  // Every Heartbeat is answered; the node reads none of the answers for a while.
  constexpr int beats = 100'000;
  std::string flood;
  for (int i = 0; i < beats; ++i) flood += wire::encode_frame(heartbeat(i + 1));
  node.send_later(std::move(flood));
  std::this_thread::sleep_for(1500ms);
  node.start_reading();
  int echoes = 0;
  std::optional<v1::Frame> frame;
  while (echoes < beats + 1 && (frame = node.next_frame(10s))) {
    if (frame->has_error()) ADD_FAILURE() << "Error " << v1::ErrorCode_Name(frame->error().code()) << ": "
                                          << frame->error().message();
    echoes += frame->has_heartbeat() || frame->has_welcome();
  }
  EXPECT_EQ(echoes, beats + 1) << "the node was cut off instead of slowed";
  EXPECT_FALSE(node.closed());
}

// A backlog is handed to the session a window at a time: a node that comes
// back to many more frames than its session's queue holds, and reads slowly,
// gets every one of them in order, and is neither refused OVERLOADED nor cut off.
TEST(Floods, ABacklogLargerThanTheQueueArrivesWholeAndInOrder) {
  server::GatewayConfig config;
  config.outbound_queue_limit = 16;
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config);
  constexpr int backlog = 600;
  std::vector<std::string> ids;
  {
    auto sender = gateway.connect("ctu-wm");
    // In rounds that keep the sender's own answers within its queue.
    for (int round = 0; round < backlog / 8; ++round) {
      for (int i = 0; i < 8; ++i) {
        const Message message = profile("ctio-east", "backlog " + std::to_string(ids.size()));
        ids.push_back(message.id);
        sender->submit(message);
      }
      for (int i = 0; i < 8; ++i) ASSERT_TRUE(next_of<node::Acknowledgement>(*sender)) << round;
    }
  }
  ASSERT_GE(gateway.gateway().owed_count(), static_cast<std::size_t>(backlog));
  RawNode node(gateway, "ctio-east", {.reading = false, .receive_buffer = 4096});
  std::this_thread::sleep_for(500ms);  // the gateway writes until TCP pushes back
  node.start_reading();
  std::vector<std::string> delivered;
  std::optional<v1::Frame> frame;
  while (delivered.size() < ids.size() && (frame = node.next_frame(10s))) {
    if (frame->has_error()) ADD_FAILURE() << "Error " << v1::ErrorCode_Name(frame->error().code()) << ": "
                                          << frame->error().message();
    if (frame->has_deliver()) delivered.push_back(frame->deliver().message().id());
  }
  EXPECT_EQ(delivered, ids) << "the backlog did not arrive whole and in order";
  EXPECT_FALSE(node.closed());
}

// ---- the record -----------------------------------------------------------------

TEST(Record, WhatANodeWritesCannotForgeALogLine) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  server::install_logger(std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)),
                         "info");
  {
    RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes);
    RawNode node(gateway, "ctio-east",
                 {.software_version = "v1\n2026-12-04T00:00:00.000 error forged line\x1b[2J\u202e"});
    ASSERT_TRUE(node.welcomed());
    v1::Frame error;
    error.mutable_error()->set_code(v1::ERROR_CODE_INTERNAL);
    error.mutable_error()->set_message("bad\r\nsecond forged line");
    ASSERT_TRUE(node.send_frame(error));
    ASSERT_TRUE(node.send_frame(heartbeat()));
    ASSERT_TRUE(node.next_frame());  // the echo: the Error was read before it
  }
  spdlog::set_default_logger(previous);
  const std::string text = log.str();
  std::istringstream lines(text);
  std::string line;
  int lines_seen = 0;
  while (std::getline(lines, line)) {
    ++lines_seen;
    EXPECT_THAT(line, ::testing::MatchesRegex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*")) << "a forged line: " << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  }
  EXPECT_GT(lines_seen, 2);
  EXPECT_THAT(text, HasSubstr("software=v1\\n2026-12-04T00:00:00.000 error forged line\\x1b[2J\\u202e"));
  EXPECT_THAT(text, HasSubstr("bad\\r\\nsecond forged line"));
}

TEST(Record, ADisconnectionIsAuditedWithItsReason) {
  TemporaryDirectory dir;
  {
    server::GatewayConfig config;
    config.idle_timeout = 300ms;
    RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config, dir.path());
    auto options = gateway.options("ctio-east");
    options.heartbeat_interval = 60s;
    node::NodeClient client{options};
    ASSERT_TRUE(next_of<node::Disconnected>(client, 5s));
    auto superseded = gateway.connect("council-prevent");
    auto newer = gateway.connect("council-prevent");
    ASSERT_TRUE(next_of<node::Disconnected>(*superseded, 5s));
  }
  auto reasons = [&](const std::string& node) {
    std::vector<std::string> found;
    for (const auto& entry : audit::query(dir / "data", {.kind = "disconnection"}))
      if (entry.record.node == node) found.push_back(entry.record.detail);
    return found;
  };
  EXPECT_THAT(reasons("ctio-east"), ::testing::Contains(HasSubstr("TIMEOUT: no frame within the idle deadline")));
  EXPECT_THAT(reasons("council-prevent"), ::testing::Contains(HasSubstr("SUPERSEDED")));
}

}  // namespace
}  // namespace icegate::testing

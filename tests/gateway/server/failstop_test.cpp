// Fail-stop on a failed commit (issue 15, point 5): when the store cannot
// make an operation durable, its sender hears ERROR_CODE_INTERNAL rather than
// an Ack, nothing of it is delivered, /healthz says why, and once the fault
// clears the same message is accepted (not DUPLICATE) and delivered once.
// Real gateway, real TLS nodes; the fault is injected (Store's test hook) or
// real (a full tmpfs mounted under the data directory, where allowed).
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/audit/audit.hpp"
#include "gateway/http/dashboard.hpp"
#include "gateway/server/router.hpp"
#include "gateway/store/store.hpp"
#include "tests/support/gateway_fixture.hpp"

namespace icegate::testing {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> nodes{"analyst", "sio", "reader", "housing", "education", "officer", "sb-officer"};
const auto policy_file = source_path("tests/data/handling-policy.yaml");

Addressee to_node(std::string name) { return {AddresseeKind::node, std::move(name)}; }

// Under originator control (rule prebrief-council): the router also remembers its content.
Message note(const std::string& from, const std::string& to, const std::string& body) {
  return make_message(from, {to_node(to)}, "operational-prebriefing", "consequence-management",
                      {{{"RESTRICTED", {}}, body}});
}

struct Health {
  int status = 0;
  std::string body;
};

class FailStopTest : public ::testing::Test {
 protected:
  void start(std::optional<std::filesystem::path> root = std::nullopt) {
    gateway_ = std::make_unique<RunningGateway>(policy_file, nodes, server::GatewayConfig{}, root);
    dashboard_ = gateway_->on_gateway_thread(
        [this] { return std::make_unique<http::Dashboard>(gateway_->gateway(), http::AccessPolicy{}); });
  }
  void TearDown() override {
    if (gateway_ && dashboard_) gateway_->on_gateway_thread([this] {
        dashboard_.reset();
        return 0;
      });
    gateway_.reset();
  }

  // Waits until `sessions` nodes are attached (each queued its connection's
  // audit record first) and everything queued is committed, so that the
  // next commit is the test's own operation and nothing else.
  void quiesce(std::size_t sessions) {
    for (int i = 0; i < 1000; ++i) {
      if (gateway_->on_gateway_thread([this] { return gateway_->gateway().session_count(); }) >= sessions) break;
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_EQ(gateway_->on_gateway_thread([this] { return gateway_->gateway().session_count(); }), sessions);
    gateway_->gateway().store().flush();
  }

  Health healthz() {
    return gateway_->on_gateway_thread([this] {
      const auto response = dashboard_->handle({"GET", "/healthz", "127.0.0.1:8080", "", "", "", ""});
      return Health{response.status, response.body};
    });
  }
  std::size_t hold_count() {
    return gateway_->on_gateway_thread([this] { return gateway_->gateway().hold_count(); });
  }
  // Deliver frames the gateway wrote for `message_id`, as the dashboard saw them go out.
  std::size_t deliveries_written(const std::string& message_id) {
    return gateway_->on_gateway_thread([&] {
      const auto json = dashboard_->message_json(message_id).value_or("");
      const auto at = json.find("\"deliveries\":[");
      if (at == std::string::npos) return std::size_t{0};
      const auto end = json.find(']', at);
      std::size_t count = 0;
      for (auto p = json.find("\"type\":\"delivery\"", at); p != std::string::npos && p < end;
           p = json.find("\"type\":\"delivery\"", p + 1))
        ++count;
      return count;
    });
  }

  // The next two events of `sender`, in order: Error INTERNAL naming the
  // message, then Ack{ok: false}. An Ack{ok: true} first fails the test.
  void expect_not_stored(node::NodeClient& sender, const std::string& id, std::string_view why) {
    auto first = sender.next_event(5s);
    ASSERT_TRUE(first) << "the sender heard nothing about message " << id;
    auto* error = std::get_if<node::ErrorNotice>(&first->payload);
    ASSERT_TRUE(error) << "expected Error INTERNAL, got " << first->frame.ShortDebugString();
    EXPECT_EQ(error->code, "INTERNAL");
    EXPECT_EQ(error->message_id, id);
    EXPECT_FALSE(error->fatal);
    EXPECT_THAT(error->text, HasSubstr("was not stored"));
    EXPECT_THAT(error->text, HasSubstr(why));
    auto second = sender.next_event(5s);
    ASSERT_TRUE(second);
    auto* ack = std::get_if<node::Acknowledgement>(&second->payload);
    ASSERT_TRUE(ack) << second->frame.ShortDebugString();
    EXPECT_EQ(ack->message_id, id);
    EXPECT_FALSE(ack->ok);
  }

  void expect_failing(std::string_view why) {
    const auto health = healthz();
    EXPECT_EQ(health.status, 503) << health.body;
    EXPECT_THAT(health.body, HasSubstr("\"status\":\"failing\""));
    EXPECT_THAT(health.body, HasSubstr("\"store\":\"failing\""));
    EXPECT_THAT(health.body, HasSubstr(why));
  }
  void expect_healthy() {
    const auto health = healthz();
    EXPECT_EQ(health.status, 200) << health.body;
    EXPECT_THAT(health.body, HasSubstr("\"status\":\"ok\""));
    EXPECT_THAT(health.body, HasSubstr("\"store\":\"ok\""));
  }

  // The same message again, now that the store commits: accepted (not
  // DUPLICATE), delivered to `recipient` once, and nothing else before it.
  void expect_resend_accepted(node::NodeClient& sender, node::NodeClient& recipient, const Message& message) {
    sender.submit(message);
    auto first = sender.next_event(5s);
    ASSERT_TRUE(first);
    auto* ack = std::get_if<node::Acknowledgement>(&first->payload);
    ASSERT_TRUE(ack) << "the resend must be accepted, not refused: " << first->frame.ShortDebugString();
    EXPECT_EQ(ack->message_id, message.id);
    EXPECT_TRUE(ack->ok);
    EXPECT_EQ(sender.unacknowledged(), 0u);
    auto delivery = next_of<node::Delivery>(recipient);
    ASSERT_TRUE(delivery);
    EXPECT_EQ(delivery->message.id, message.id) << "the recipient's first delivery is the resent message";
    // Exactly once: the next delivery is the next message, and the gateway wrote one Deliver of this one.
    Message marker = note(message.originator, recipient.node_id(), "marker");
    sender.submit(marker);
    auto next = next_of<node::Delivery>(recipient);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->message.id, marker.id);
    EXPECT_EQ(deliveries_written(message.id), 1u);
  }

  void expect_audit_intact(const std::string& id) {
    const auto report = audit::verify(gateway_->data_dir());
    EXPECT_TRUE(report.intact());
    // One submit record: the refused attempt left none.
    EXPECT_EQ(audit::query(gateway_->data_dir(), {.message_id = id, .kind = "submit"}).size(), 1u);
  }

  std::unique_ptr<RunningGateway> gateway_;
  std::unique_ptr<http::Dashboard> dashboard_;
};

TEST_F(FailStopTest, AMessageThatCouldNotBeStoredIsRefusedThenAcceptedWhenResent) {
  start();
  auto analyst = gateway_->connect("analyst");
  auto officer = gateway_->connect("officer");
  expect_healthy();

  quiesce(2);
  gateway_->gateway().store().inject_commit_failure(1);
  const Message message = note("analyst", "officer", "arrest at 06:00");
  analyst->submit(message);
  expect_not_stored(*analyst, message.id, "injected commit failure");
  EXPECT_EQ(analyst->unacknowledged(), 1u) << "kept by the node client, to be sent again";
  EXPECT_EQ(deliveries_written(message.id), 0u) << "nothing of the failed batch goes out";
  expect_failing("injected commit failure");

  // The fault has cleared (one failure injected): the same message is accepted.
  expect_resend_accepted(*analyst, *officer, message);
  expect_healthy();
  expect_audit_intact(message.id);
}

TEST_F(FailStopTest, AHoldOpenedByAFailedCommitIsNotOpened) {
  start();
  auto analyst = gateway_->connect("analyst");
  auto reader = gateway_->connect("reader");
  auto housing = gateway_->connect("housing");
  const Message profile = make_message("analyst", {to_node("housing")}, "ct-problem-profile", "prevent",
                                       {{{"RESTRICTED", {}}, "partner version"}});
  quiesce(3);
  gateway_->gateway().store().inject_commit_failure(1);
  analyst->submit(profile);
  expect_not_stored(*analyst, profile.id, "injected commit failure");
  EXPECT_EQ(hold_count(), 0u) << "the hold for the critical reader was never stored";
  EXPECT_THAT(gateway_->on_gateway_thread([this] { return dashboard_->state_json(); }), HasSubstr("withdrawn"))
      << "the dashboard hears the hold it saw open is gone";

  analyst->submit(profile);
  auto ack = next_of<node::Acknowledgement>(*analyst);
  ASSERT_TRUE(ack);
  EXPECT_TRUE(ack->ok);
  auto request = next_of<node::ReviewRequest>(*reader);
  ASSERT_TRUE(request);
  EXPECT_EQ(request->message.id, profile.id);
  EXPECT_EQ(hold_count(), 1u);
  reader->review(request->hold_id, node::Verdict::approve);
  auto delivery = next_of<node::Delivery>(*housing);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->message.id, profile.id);
  expect_audit_intact(profile.id);
}

TEST_F(FailStopTest, ATriggerThatCouldNotBeStoredDidNotHappen) {
  start();
  auto sio = gateway_->connect("sio");
  auto analyst = gateway_->connect("analyst");
  auto housing = gateway_->connect("housing");
  quiesce(3);
  gateway_->gateway().store().inject_commit_failure(1);
  sio->trigger("operation-start");
  auto error = next_of<node::ErrorNotice>(*sio);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "INTERNAL");
  EXPECT_EQ(error->message_id, "operation-start");
  EXPECT_THAT(error->text, HasSubstr("the trigger of event operation-start was not stored"));

  Message embargoed = note("analyst", "housing", "after the start");
  embargoed.handling.not_before_event = "operation-start";
  analyst->submit(embargoed);
  ASSERT_TRUE(next_of<node::Receipt>(*analyst));
  EXPECT_EQ(hold_count(), 1u) << "the event was not triggered: the message waits for it";

  sio->trigger("operation-start");
  auto ack = next_of<node::Acknowledgement>(*sio);
  ASSERT_TRUE(ack);
  EXPECT_TRUE(ack->ok);
  auto delivery = next_of<node::Delivery>(*housing);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->message.id, embargoed.id);
}

// A failed sync (fdatasync of the WAL after the commit: EIO, ENOSPC) is
// fail-stop without resume: the sender is told INTERNAL, nothing is delivered,
// a resend is refused with INTERNAL too (not DUPLICATE, which a node takes as
// accepted), and /healthz says the gateway must be restarted.
TEST_F(FailStopTest, AFailedSyncRefusesTheMessageAndEverythingAfterUntilRestart) {
  start();
  auto analyst = gateway_->connect("analyst");
  auto officer = gateway_->connect("officer");
  expect_healthy();

  quiesce(2);
  gateway_->gateway().store().inject_sync_failure(1);
  const Message message = note("analyst", "officer", "arrest at 06:00");
  analyst->submit(message);
  expect_not_stored(*analyst, message.id, "injected sync failure");
  EXPECT_EQ(analyst->unacknowledged(), 1u) << "kept by the node client, to be sent again";
  expect_failing("must be restarted");
  EXPECT_THAT(healthz().body, HasSubstr("\"store_restart_required\":true"));

  // The fault was injected once, but nothing is accepted again: not the
  // resend, not another message.
  analyst->submit(message);
  expect_not_stored(*analyst, message.id, "must be restarted");
  const Message other = note("analyst", "officer", "and another");
  analyst->submit(other);
  expect_not_stored(*analyst, other.id, "must be restarted");
  EXPECT_EQ(analyst->unacknowledged(), 2u);
  EXPECT_EQ(deliveries_written(message.id), 0u) << "nothing of the failed group goes out";
  EXPECT_EQ(deliveries_written(other.id), 0u);
  EXPECT_FALSE(officer->next_event(200ms)) << "the recipient hears nothing";
  expect_failing("must be restarted");
}

// A real full filesystem: a 1 MiB tmpfs mounted on the data directory, filled
// by a file until the kernel says ENOSPC. Needs CAP_SYS_ADMIN (root, not in an
// unprivileged container); skipped otherwise.
class FullDiskTest : public FailStopTest {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(data_);
    if (::mount("tmpfs", data_.c_str(), "tmpfs", 0, "size=1m,mode=0700") != 0) {
      const int error = errno;
      GTEST_SKIP() << "cannot mount a 1 MiB tmpfs on " << data_ << " (" << std::strerror(error)
                   << "): mounting needs CAP_SYS_ADMIN; the injected-failure tests cover the same path";
    }
    mounted_ = true;
  }
  void TearDown() override {
    FailStopTest::TearDown();  // the gateway closes its database first
    if (mounted_ && ::umount2(data_.c_str(), MNT_DETACH) != 0)
      ADD_FAILURE() << "could not unmount " << data_ << ": " << std::strerror(errno);
  }
  // Writes `filler_` until the file system is full.
  void fill() {
    std::FILE* file = std::fopen(filler_.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    std::setvbuf(file, nullptr, _IONBF, 0);
    const std::string block(4096, 'x');
    std::size_t written = 0;
    while (std::fwrite(block.data(), 1, block.size(), file) == block.size()) written += block.size();
    while (std::fwrite("x", 1, 1, file) == 1) ++written;
    std::fclose(file);
    RecordProperty("filler_bytes", static_cast<int>(written));
  }

  TemporaryDirectory root_;
  std::filesystem::path data_ = root_.path() / "data";
  std::filesystem::path filler_ = data_ / "filler";
  bool mounted_ = false;
};

TEST_F(FullDiskTest, AFullDiskRefusesTheMessageAndTheGatewayRecoversWhenSpaceIsFreed) {
  start(root_.path());
  auto analyst = gateway_->connect("analyst");
  auto officer = gateway_->connect("officer");
  const Message before = note("analyst", "officer", "before the disk filled");
  analyst->submit(before);
  ASSERT_TRUE(next_of<node::Acknowledgement>(*analyst));
  ASSERT_TRUE(next_of<node::Receipt>(*analyst));
  ASSERT_TRUE(next_of<node::Delivery>(*officer));
  // The officer's Ack settles in a commit of its own: let it land before the disk fills.
  for (int i = 0; i < 500 && gateway_->on_gateway_thread([this] { return gateway_->gateway().owed_count(); }) > 0; ++i)
    std::this_thread::sleep_for(10ms);
  quiesce(2);

  fill();
  const Message message = note("analyst", "officer", std::string(64 * 1024, 'm'));  // more than a page of WAL
  analyst->submit(message);
  expect_not_stored(*analyst, message.id, "full");
  EXPECT_EQ(deliveries_written(message.id), 0u);
  expect_failing("full");

  std::filesystem::remove(filler_);
  expect_resend_accepted(*analyst, *officer, message);
  expect_healthy();
  expect_audit_intact(message.id);
}

}  // namespace
}  // namespace icegate::testing

// Shutdown by cancellation: Gateway::stop() reaches every task the gateway
// runs (its loops, each session, a connection still in its handshake), the
// loop then runs out of work by itself, and a message in flight is either
// acknowledged and kept or not acknowledged; the same for a real
// `icegate serve` sent SIGTERM. These tests wait on events (the gateway's
// "stopped" callback, the end of a connection, the process's exit); the
// bounds on those waits only turn a hang into a failure.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <optional>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <gtest/gtest.h>

#include "gateway/audit/audit.hpp"
#include "tests/support/gateway_fixture.hpp"

namespace icegate::testing {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

const std::vector<std::string> nodes{"analyst", "officer"};
const auto policy_file = source_path("tests/data/handling-policy.yaml");

Message note(const std::string& body) {
  return make_message("analyst", {{AddresseeKind::node, "officer"}}, "operational-prebriefing",
                      "consequence-management", {{{"RESTRICTED", {}}, body}});
}

// Stops the gateway and waits for it to say it has stopped.
::testing::AssertionResult stop_and_wait(RunningGateway& gateway) {
  std::promise<void> stopped;
  auto done = stopped.get_future();
  gateway.on_gateway_thread([&] {
    gateway.gateway().stop([&stopped] { stopped.set_value(); });
    return 0;
  });
  if (done.wait_for(60s) != std::future_status::ready)
    return ::testing::AssertionFailure() << "Gateway::stop() did not call back within a minute";
  return ::testing::AssertionSuccess();
}

// Takes the sender's events until the gateway closes its connection: the
// message ids it acknowledged (ok), and whether it said why it closed.
struct Closing {
  std::set<std::string> acknowledged;
  bool told_shutting_down = false;
  bool disconnected = false;
};
// `told`, if given, is called when the closing Error arrives.
Closing read_until_closed(node::NodeClient& client, const std::function<void()>& told = {}) {
  Closing closing;
  while (auto event = client.next_event(60s)) {
    if (auto* ack = std::get_if<node::Acknowledgement>(&event->payload)) {
      if (ack->ok) closing.acknowledged.insert(ack->message_id);
    } else if (auto* error = std::get_if<node::ErrorNotice>(&event->payload)) {
      closing.told_shutting_down |= error->fatal && error->text.find("shutting down") != std::string::npos;
      if (closing.told_shutting_down && told) told();
    } else if (std::holds_alternative<node::Disconnected>(event->payload)) {
      closing.disconnected = true;
      break;
    }
  }
  return closing;
}

// The message ids the audit trail records a decision for, to the officer.
std::set<std::string> decided_for_officer(const std::filesystem::path& data) {
  std::set<std::string> ids;
  for (const auto& stored : audit::query(data, {.kind = "decision"}))
    if (stored.record.recipient == "officer") ids.insert(stored.record.message_id);
  return ids;
}

// Connections the audit trail records as refused because the gateway was shutting down.
std::size_t refusals_for_shutdown(const std::filesystem::path& data) {
  std::size_t count = 0;
  for (const auto& stored : audit::query(data, {.kind = "connection_refused"}))
    if (stored.record.detail.find("the gateway is shutting down") != std::string::npos) ++count;
  return count;
}

bool refused_for_shutdown(const std::filesystem::path& data) { return refusals_for_shutdown(data) > 0; }

std::string disconnections(const std::filesystem::path& data) {
  std::string text;
  for (const auto& stored : audit::query(data, {.kind = "disconnection"}))
    text += stored.record.node + ": " + stored.record.detail + "\n";
  return text;
}

class ShutdownTest : public ::testing::Test {
 protected:
  TemporaryDirectory dir_;
};

// Every wait the gateway has is an hour long here: a loop that only looked at
// a "stopping" flag when its timer fired, or a connection left to its
// handshake deadline, would keep the loop busy for that hour (and the
// fixture's destructor reports a loop still busy 10 s after stop()).
TEST_F(ShutdownTest, StopReachesTheLoopsAndAConnectionInItsHandshake) {
  server::GatewayConfig config;
  config.tick_interval = std::chrono::hours(1);
  config.watch_policy = true;
  config.watch_interval = std::chrono::hours(1);
  config.handshake_timeout = std::chrono::hours(1);
  auto gateway = std::make_unique<RunningGateway>(policy_file, nodes, config, dir_.path());

  // A connection that never starts its TLS handshake.
  asio::io_context io;
  tcp::socket silent(io);
  silent.connect({asio::ip::make_address("127.0.0.1"), gateway->port()});
  // Connections are accepted in order: once the analyst is welcomed, the
  // silent one has been accepted too, and waits in its handshake.
  auto analyst = gateway->connect("analyst");

  ASSERT_TRUE(stop_and_wait(*gateway));
  // The gateway closed the silent connection: a read ends (it would wait an hour otherwise).
  char byte = 0;
  boost::system::error_code error;
  asio::read(silent, asio::buffer(&byte, 1), error);
  EXPECT_TRUE(error) << "the connection still in its handshake was not closed";
  const bool told = read_until_closed(*analyst).told_shutting_down;
  gateway.reset();  // fails the test if the loop still has work (the fixture waits for run() to return)
  EXPECT_TRUE(told) << disconnections(dir_ / "data");

  // Its end is on the record: refused, because the gateway was shutting down.
  EXPECT_TRUE(refused_for_shutdown(dir_ / "data"));
  EXPECT_TRUE(audit::verify(dir_ / "data").intact());
}

// With sessions on several threads, stop() reaches each session on its own
// thread (the emit is posted there): a connection in its handshake on every
// session thread is closed, and a node on another thread is told why and
// closed. Waits as above are an hour long, so a cancellation that did not
// reach a thread would leave its connection open.
TEST_F(ShutdownTest, StopReachesAConnectionInItsHandshakeOnEverySessionThread) {
  server::GatewayConfig config;
  config.threads = 3;
  config.tick_interval = std::chrono::hours(1);
  config.handshake_timeout = std::chrono::hours(1);
  auto gateway = std::make_unique<RunningGateway>(policy_file, nodes, config, dir_.path());
  ASSERT_EQ(gateway->gateway().threads(), 3u);

  // Connections are handed to the threads in turn: three in a row land one
  // on each. None starts its TLS handshake.
  asio::io_context io;
  std::vector<tcp::socket> silent;
  for (int i = 0; i < 3; ++i) {
    silent.emplace_back(io);
    silent.back().connect({asio::ip::make_address("127.0.0.1"), gateway->port()});
  }
  // Accepted in order: once the analyst is welcomed, the three have been
  // accepted too. It is the fourth, on the decision thread again; the
  // officer, fifth, is on the first session thread.
  auto analyst = gateway->connect("analyst");
  auto officer = gateway->connect("officer");

  ASSERT_TRUE(stop_and_wait(*gateway));
  for (std::size_t i = 0; i < silent.size(); ++i) {
    char byte = 0;
    boost::system::error_code error;
    asio::read(silent[i], asio::buffer(&byte, 1), error);
    EXPECT_TRUE(error) << "connection " << i << ", still in its handshake, was not closed";
  }
  const bool analyst_told = read_until_closed(*analyst).told_shutting_down;
  const bool officer_told = read_until_closed(*officer).told_shutting_down;
  gateway.reset();  // fails the test if the loop still has work
  EXPECT_TRUE(analyst_told) << disconnections(dir_ / "data");
  EXPECT_TRUE(officer_told) << disconnections(dir_ / "data");
  EXPECT_EQ(refusals_for_shutdown(dir_ / "data"), 3u);
  EXPECT_TRUE(audit::verify(dir_ / "data").intact());
}

// A caller that owns the loop (the exercise host, `icegate exercise run`)
// destroys the gateway on the loop's thread as soon as it says it has
// stopped, and then expects the loop to run out of work. A session's thread
// may not yet have run what the session left queued as it ended (its
// deadline's cancelled wait, which holds the session, and the session holds
// work on the decision loop). The gateway's destructor must run it rather
// than abandon it in a stopped io_context, which would keep the caller's
// loop busy for ever (seen as a rare hang of the exercise host's tests).
// Here the session thread is held up on purpose, with such a handler queued
// behind, while the gateway is destroyed.
TEST_F(ShutdownTest, WhatASessionThreadLeftQueuedDoesNotKeepTheCallersLoopBusyAfterAStop) {
  pki::init_ca(dir_ / "pki");
  for (const auto& node : nodes) pki::issue_node(dir_ / "pki", node);
  auto loaded = policy::load_policy(policy_file);
  ASSERT_TRUE(loaded.policy);
  server::GatewayConfig config;
  config.threads = 2;
  config.listen = {asio::ip::make_address("127.0.0.1"), 0};
  config.pki_dir = dir_ / "pki";
  config.policy_file = policy_file;
  config.data_dir = dir_ / "data";
  asio::io_context io;
  auto gateway = std::make_unique<server::Gateway>(io, config, loaded.policy);
  gateway->start();
  const auto session_thread = gateway->session_executor(1);
  std::promise<void> ran_out;
  auto done = ran_out.get_future();
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work(io.get_executor());
  std::thread thread([&] {
    io.run();
    ran_out.set_value();
  });
  {
    node::NodeOptions options;
    options.node_id = "analyst";
    options.credentials = transport::node_credentials(dir_ / "pki", "analyst");
    options.port = gateway->local_endpoint().port();
    options.connect_timeout = 5s;
    node::NodeClient analyst(options);  // returns once welcomed
  }
  std::promise<void> stopped;
  asio::post(io, [&] { gateway->stop([&] { stopped.set_value(); }); });
  ASSERT_EQ(stopped.get_future().wait_for(60s), std::future_status::ready);

  // The session thread is held up; behind it waits a handler that, like a
  // session's, holds work on the decision loop.
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> holding;
  asio::post(session_thread, [released, &holding] {
    holding.set_value();
    released.wait();
  });
  holding.get_future().wait();
  asio::post(session_thread, [keep = asio::make_work_guard(io)] {});
  // The gateway is destroyed on the loop's thread; the session thread goes on
  // once the destructor is under way (it joins that thread).
  std::promise<void> destroying;
  asio::post(io, [&] {
    destroying.set_value();
    gateway.reset();
  });
  destroying.get_future().wait();
  std::this_thread::sleep_for(200ms);
  release.set_value();
  work.reset();
  const bool ran_out_of_work = done.wait_for(20s) == std::future_status::ready;
  EXPECT_TRUE(ran_out_of_work) << "the caller's loop still had work 20 s after the gateway stopped and was destroyed";
  if (!ran_out_of_work) io.stop();
  thread.join();
}

// Stopped while a node pipelines submissions: what was acknowledged was kept,
// and after a restart exactly what was kept is delivered.
TEST_F(ShutdownTest, AMessageInFlightIsAcknowledgedAndKeptOrNeither) {
  std::set<std::string> submitted;
  Closing closing;
  {
    auto gateway = std::make_unique<RunningGateway>(policy_file, nodes, server::GatewayConfig{}, dir_.path());
    auto analyst = gateway->connect("analyst");
    for (int i = 0; i < 300; ++i) {
      const Message message = note("note " + std::to_string(i));
      submitted.insert(message.id);
      analyst->submit(message);
    }
    // Stopped once the first is acknowledged: the rest are on their way.
    ASSERT_TRUE(next_of<node::Acknowledgement>(*analyst, 30s));
    ASSERT_TRUE(stop_and_wait(*gateway));
    // (That the closing Error and the last Acks arrive is asserted by
    // ANodeStillSendingReceivesTheErrorAndEveryAckForWhatWasKept.)
    closing = read_until_closed(*analyst);
    EXPECT_TRUE(closing.disconnected);
  }
  // (The first Ack was taken by next_of above: it is among those kept.)
  const auto kept = decided_for_officer(dir_ / "data");
  for (const auto& id : closing.acknowledged) EXPECT_TRUE(kept.count(id)) << id << " was acknowledged, then lost";
  EXPECT_GE(kept.size(), closing.acknowledged.size() + 1);
  for (const auto& id : kept) EXPECT_TRUE(submitted.count(id));
  EXPECT_TRUE(audit::verify(dir_ / "data").intact());

  // After a restart the officer receives what was kept, and only that.
  RunningGateway gateway(policy_file, nodes, server::GatewayConfig{}, dir_.path());
  auto officer = gateway.connect("officer");
  std::set<std::string> delivered;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    auto delivery = next_of<node::Delivery>(*officer, 30s);
    ASSERT_TRUE(delivery) << "only " << delivered.size() << " of " << kept.size() << " delivered";
    delivered.insert(delivery->message.id);
  }
  EXPECT_EQ(delivered, kept);
}

// A node still pipelining Submits while the gateway closes its session: the
// gateway shuts its write side after the closing Error and reads (and drops)
// what still comes until the node closes, rather than closing with the
// node's Submits unread, which would reset the connection and could cost the
// node the Error and the Acks it had not read yet (a lingering close). So the
// node is told why, and has an Ack for every message that was kept.
TEST_F(ShutdownTest, ANodeStillSendingReceivesTheErrorAndEveryAckForWhatWasKept) {
  Closing closing;
  std::set<std::string> first_acked;
  {
    auto gateway = std::make_unique<RunningGateway>(policy_file, nodes, server::GatewayConfig{}, dir_.path());
    auto analyst = gateway->connect("analyst");
    std::atomic<bool> sending = true;
    // Sending until the node has read the closing Error; paced a little (16
    // Submits a millisecond at most), so that the node's own thread keeps up
    // with reading what the gateway sends.
    std::thread sender([&] {
      for (int i = 0; sending; ++i) {
        analyst->submit(note("note " + std::to_string(i)));
        if (i % 16 == 15) std::this_thread::sleep_for(1ms);
      }
    });
    auto first = next_of<node::Acknowledgement>(*analyst, 30s);
    if (first) first_acked.insert(first->message_id);
    auto stopped = std::async(std::launch::async, [&] { return stop_and_wait(*gateway); });
    closing = read_until_closed(*analyst, [&] { sending = false; });
    sending = false;
    sender.join();
    ASSERT_TRUE(first);
    ASSERT_TRUE(stopped.get());
  }
  EXPECT_TRUE(closing.disconnected);
  EXPECT_TRUE(closing.told_shutting_down) << "the closing Error was lost";
  const auto kept = decided_for_officer(dir_ / "data");
  std::size_t unacknowledged = 0;
  for (const auto& id : kept) unacknowledged += !closing.acknowledged.count(id) && !first_acked.count(id);
  EXPECT_EQ(unacknowledged, 0u) << "of " << kept.size() << " messages kept, " << closing.acknowledged.size() + 1
                                << " acknowledged";
  EXPECT_TRUE(audit::verify(dir_ / "data").intact());
}

// ---- a real `icegate serve` -------------------------------------------------

std::uint16_t free_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

TEST_F(ShutdownTest, SigtermDrainsAndExitsZeroWithNothingLostAfterAnAck) {
  pki::init_ca(dir_ / "pki");
  for (const auto& node : nodes) pki::issue_node(dir_ / "pki", node);
  const std::uint16_t port = free_port();
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  const auto log = dir_ / "gateway.log";
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* file = std::fopen(log.c_str(), "a");
    if (file) dup2(fileno(file), STDERR_FILENO);
    execl(ICEGATE_EXE, ICEGATE_EXE, "serve", "--policy", policy_file.c_str(), "--pki", (dir_ / "pki").c_str(),
          "--listen", listen.c_str(), "--data", (dir_ / "data").c_str(), "--handshake-timeout", "600000",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  struct Reap {
    pid_t pid;
    bool done = false;
    ~Reap() {
      if (done) return;
      ::kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  } reap{pid};

  node::NodeOptions options;
  options.node_id = "analyst";
  options.credentials = transport::node_credentials(dir_ / "pki", "analyst");
  options.port = port;
  options.connect_timeout = 5s;
  // The gateway is starting: a connection is tried until it listens. That
  // one never starts its TLS handshake; the analyst connects after it, and
  // once the analyst is welcomed the silent one has been accepted too.
  asio::io_context io;
  tcp::socket silent(io);
  for (int attempt = 0;; ++attempt) {
    boost::system::error_code error;
    silent.connect({asio::ip::make_address("127.0.0.1"), port}, error);
    if (!error) break;
    silent.close(error);
    ASSERT_LT(attempt, 200) << "the gateway did not start";
    std::this_thread::sleep_for(50ms);
  }
  auto analyst = std::make_unique<node::NodeClient>(options);
  for (int i = 0; i < 300; ++i) analyst->submit(note("note " + std::to_string(i)));
  ASSERT_TRUE(next_of<node::Acknowledgement>(*analyst, 30s));

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  const Closing closing = read_until_closed(*analyst);
  EXPECT_TRUE(closing.disconnected);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  reap.done = true;
  ASSERT_TRUE(WIFEXITED(status)) << "serve did not exit by itself";
  EXPECT_EQ(WEXITSTATUS(status), 0);

  const auto kept = decided_for_officer(dir_ / "data");
  for (const auto& id : closing.acknowledged) EXPECT_TRUE(kept.count(id)) << id << " was acknowledged, then lost";
  EXPECT_GE(kept.size(), closing.acknowledged.size() + 1);
  EXPECT_TRUE(audit::verify(dir_ / "data").intact());
  // The connection still in its handshake was reached by the cancellation
  // and its end recorded (not cut off by a stopped loop).
  EXPECT_TRUE(refused_for_shutdown(dir_ / "data"));
}

}  // namespace
}  // namespace icegate::testing

// Nothing lost: while three nodes send over 10,000 messages, the real gateway
// process is killed with SIGKILL at random moments and restarted. At the end,
// every message the gateway acknowledged has reached each of its recipients
// exactly once (as the application sees it), and no message reached one
// recipient but not the other.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/stream_submits.hpp"

namespace icegate::testing {
namespace {

constexpr int senders = 3;
constexpr int per_sender = 3400;  // 10,200 in all
constexpr int window = 200;       // unacknowledged submits per sender at most
constexpr int kills = 4;

std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

TEST(CrashTest, AcknowledgedMessagesSurviveSigkillAndArriveExactlyOnce) {
  TemporaryDirectory dir;
  pki::init_ca(dir / "pki");
  const std::vector<std::string> sender_ids{"sender-1", "sender-2", "sender-3"};
  const std::vector<std::string> receiver_ids{"receiver-1", "receiver-2"};
  for (const auto& id : sender_ids) pki::issue_node(dir / "pki", id);
  for (const auto& id : receiver_ids) pki::issue_node(dir / "pki", id);
  const std::uint16_t port = free_port();
  GatewayProcess gateway(source_path("tests/data/crash-policy.yaml"), dir / "pki", dir / "data",
                         "127.0.0.1:" + std::to_string(port), dir / "gateway.log");
  gateway.start();

  auto options = [&](const std::string& id) {
    node::NodeOptions o;
    o.node_id = id;
    o.credentials = transport::node_credentials(dir / "pki", id);
    o.port = port;
    o.reconnect = true;
    o.reconnect_min = 50ms;
    o.reconnect_max = 500ms;
    o.connect_timeout = 3s;
    return o;
  };
  // The first connection must succeed; retry while the gateway starts.
  auto connect = [&](const std::string& id) {
    for (int attempt = 0;; ++attempt) {
      try {
        return std::make_unique<node::NodeClient>(options(id));
      } catch (const node::ConnectError&) {
        if (attempt > 100) throw;
        std::this_thread::sleep_for(50ms);
      }
    }
  };

  std::mutex mutex;  // guards received, acked
  std::map<std::string, std::map<std::string, int>> received;  // receiver -> message id -> times seen
  std::set<std::string> acked;
  std::set<std::string> submitted;
  std::atomic<bool> sending_done{false};

  std::vector<std::unique_ptr<node::NodeClient>> receivers;
  for (const auto& id : receiver_ids) receivers.push_back(connect(id));
  std::vector<std::thread> receiver_threads;
  std::atomic<bool> stop_receiving{false};
  for (std::size_t i = 0; i < receivers.size(); ++i) {
    receiver_threads.emplace_back([&, i] {
      while (!stop_receiving) {
        auto event = receivers[i]->next_event(100ms);
        if (!event) continue;
        if (auto* delivery = std::get_if<node::Delivery>(&event->payload)) {
          std::lock_guard lock(mutex);
          ++received[receiver_ids[i]][delivery->message.id];
        }
      }
    });
  }

  std::vector<std::thread> sender_threads;
  for (int s = 0; s < senders; ++s) {
    sender_threads.emplace_back([&, s] {
      auto client = connect(sender_ids[s]);
      const int outstanding = stream_submits(
          *client, per_sender, window,
          [&](int i) {
            return make_message(sender_ids[s], {{AddresseeKind::list, "receivers"}}, "report", "test",
                                {{{"RESTRICTED", {}}, "report " + std::to_string(i)}});
          },
          [&](const std::string& id) {
            std::lock_guard lock(mutex);
            submitted.insert(id);
          },
          [&](const std::string& id) {
            std::lock_guard lock(mutex);
            acked.insert(id);
          },
          240s, sender_ids[s]);
      EXPECT_EQ(outstanding, 0) << sender_ids[s] << " still waits for acknowledgements";
      client->close();
    });
  }

  // Kill the gateway at random points while the senders are busy (chosen by
  // progress, so each kill lands mid-stream, not after the work is done), and
  // restart it on the same data directory.
  std::mt19937 random(20261121);
  std::vector<std::size_t> kill_points;
  for (int k = 0; k < kills; ++k)
    kill_points.push_back(std::uniform_int_distribution<std::size_t>(senders * per_sender / 20,
                                                                     senders * per_sender * 9 / 10)(random));
  std::sort(kill_points.begin(), kill_points.end());
  int killed = 0;
  std::vector<std::size_t> acked_at_kill;
  for (const auto point : kill_points) {
    while (true) {
      std::size_t now;
      {
        std::lock_guard lock(mutex);
        now = acked.size();
      }
      if (now >= point) break;
      std::this_thread::sleep_for(1ms);
    }
    {
      std::lock_guard lock(mutex);
      acked_at_kill.push_back(acked.size());
    }
    gateway.kill(SIGKILL);
    ++killed;
    gateway.start();
  }
  for (auto& t : sender_threads) t.join();
  sending_done = true;

  // Wait until every acknowledged message has reached both receivers, or time out.
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  auto complete = [&] {
    std::lock_guard lock(mutex);
    for (const auto& id : acked)
      for (const auto& receiver : receiver_ids)
        if (!received[receiver].contains(id)) return false;
    return true;
  };
  while (!complete() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  std::this_thread::sleep_for(500ms);  // let any stray duplicate arrive, so the check below could see it
  stop_receiving = true;
  for (auto& t : receiver_threads) t.join();

  std::lock_guard lock(mutex);
  EXPECT_EQ(killed, kills);
  EXPECT_GE(submitted.size(), 10'000u);
  EXPECT_EQ(acked.size(), submitted.size()) << "every submit is acknowledged in the end (resent after each crash)";
  std::size_t missing = 0, duplicated = 0, half_delivered = 0, unknown = 0;
  for (const auto& id : acked)
    for (const auto& receiver : receiver_ids) {
      const auto it = received[receiver].find(id);
      if (it == received[receiver].end()) ++missing;
      else if (it->second != 1) ++duplicated;
    }
  std::set<std::string> seen;
  for (const auto& receiver : receiver_ids)
    for (const auto& [id, count] : received[receiver]) seen.insert(id);
  for (const auto& id : seen) {
    if (!submitted.contains(id)) ++unknown;
    if (!received["receiver-1"].contains(id) || !received["receiver-2"].contains(id)) ++half_delivered;
  }
  EXPECT_EQ(missing, 0u) << "acknowledged messages that never arrived";
  if (missing || duplicated || half_delivered) {
    std::ifstream log(dir / "gateway.log");
    std::string line, tail;
    std::deque<std::string> last;
    while (std::getline(log, line)) {
      if (line.find("decision message") != std::string::npos) continue;
      last.push_back(line);
      if (last.size() > 60) last.pop_front();
    }
    for (const auto& l : last) tail += l + "\n";
    ADD_FAILURE() << "gateway log (last lines, decisions omitted):\n" << tail;
  }
  EXPECT_EQ(duplicated, 0u) << "messages the application saw twice";
  EXPECT_EQ(half_delivered, 0u) << "messages that reached one recipient but not the other";
  EXPECT_EQ(unknown, 0u);
  // Each restart recovered what the killed process had made durable.
  {
    std::ifstream log(dir / "gateway.log");
    std::vector<long> seen_at_start;
    for (std::string line; std::getline(log, line);) {
      const auto at = line.find(" message(s) seen");
      if (line.find("info  store ") == std::string::npos || at == std::string::npos) continue;
      const auto colon = line.rfind(": ", at);
      seen_at_start.push_back(std::stol(line.substr(colon + 2, at - colon - 2)));
    }
    ASSERT_EQ(seen_at_start.size(), static_cast<std::size_t>(kills + 1)) << "one recovery per start";
    EXPECT_EQ(seen_at_start.front(), 0);
    for (std::size_t k = 1; k < seen_at_start.size(); ++k)
      EXPECT_GE(seen_at_start[k], static_cast<long>(acked_at_kill[k - 1])) << "start " << k << " lost acknowledged messages";
  }
  for (std::size_t k = 0; k < acked_at_kill.size(); ++k)
    EXPECT_LT(acked_at_kill[k], submitted.size()) << "kill " << k << " came after the work was done";
  RecordProperty("messages", static_cast<int>(submitted.size()));
  RecordProperty("kills", killed);
}

}  // namespace
}  // namespace icegate::testing

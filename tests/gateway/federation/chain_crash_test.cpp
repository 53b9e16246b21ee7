// Nothing lost between gateways: three gateway processes in a chain, gw-a ->
// gw-b -> gw-c (tests/data/federation-chain/), each on its own loopback
// address with its own PKI, policy and data directory. While a node at gw-a
// streams reports to unit C, which only gw-b speaks for, the gateways are
// killed with SIGKILL mid-stream (the middle one most often, each of the
// others once) and restarted. At the end every message gw-a acknowledged has
// reached gw-c's receiver exactly once: a Forward stays owed at each hop
// until the next gateway has made it durable, and each gateway drops an id
// it has already accepted.
#include <algorithm>
#include <atomic>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gateway/audit/trace.hpp"
#include "gateway/pki/pki.hpp"
#include "tests/gateway/federation/three_gateways.hpp"
#include "tests/support/gateway_fixture.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/stream_submits.hpp"

namespace icegate::testing {
namespace {

constexpr int messages = 1500;
constexpr int window = 100;  // unacknowledged submits at most

struct Hop {
  std::string id;
  std::string address;
};
const std::vector<Hop> kChain = {{"gw-a", "127.0.0.2"}, {"gw-b", "127.0.0.3"}, {"gw-c", "127.0.0.4"}};

std::string tail_of(const fs::path& log, std::size_t lines) {
  std::ifstream in(log);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string text;
  for (const auto& line : last) text += line + "\n";
  return text;
}

TEST(ChainCrashTest, ForwardsSurviveSigkillOfAnyGatewayInTheChainAndArriveExactlyOnce) {
  TemporaryDirectory dir;
  std::map<std::string, std::uint16_t> ports;
  for (const auto& hop : kChain) {
    pki::init_ca(dir / hop.id / "pki", "icegate " + hop.id + " CA", false, pki::KeyType::ecdsa_p256,
                 pki::GatewayCertificate{.id = hop.id, .addresses = {hop.address}});
    ports[hop.id] = free_port(hop.address);
  }
  pki::issue_node(dir / "gw-a" / "pki", "sender-1");
  pki::issue_node(dir / "gw-c" / "pki", "receiver-1");
  std::map<std::string, std::unique_ptr<GatewayProcess>> gateways;
  for (const auto& hop : kChain) {
    std::string text = read_text(source_path("tests/data/federation-chain/" + hop.id + ".yaml"));
    replace_all(text, "../../../policies/schemes/gsc-2014.yaml", source_path("policies/schemes/gsc-2014.yaml").string());
    for (const auto& other : kChain) {
      replace_all(text, "pki/" + other.id + "/ca.crt", pki::ca_paths(dir / other.id / "pki").certificate.string());
      replace_all(text, other.address + ":7443", fmt::format("{}:{}", other.address, ports[other.id]));
    }
    const fs::path policy = dir / (hop.id + ".yaml");
    std::ofstream(policy) << text;
    gateways[hop.id] = std::make_unique<GatewayProcess>(policy, dir / hop.id / "pki", dir / hop.id / "data",
                                                        fmt::format("{}:{}", hop.address, ports[hop.id]),
                                                        dir / (hop.id + ".log"));
    gateways[hop.id]->start();
  }

  auto connect = [&](const std::string& gateway, const std::string& node_id, const std::string& address) {
    node::NodeOptions options;
    options.node_id = node_id;
    options.credentials = transport::node_credentials(dir / gateway / "pki", node_id);
    options.host = address;
    options.port = ports[gateway];
    options.reconnect = true;
    options.reconnect_min = 50ms;
    options.reconnect_max = 500ms;
    options.connect_timeout = 3s;
    for (int attempt = 0;; ++attempt) {
      try {
        return std::make_unique<node::NodeClient>(options);
      } catch (const node::ConnectError&) {
        if (attempt > 100) throw;
        std::this_thread::sleep_for(50ms);
      }
    }
  };

  std::mutex mutex;  // guards received, acked, submitted
  std::map<std::string, int> received;  // message id -> times the receiver saw it
  std::set<std::string> acked, submitted;
  std::atomic<bool> stop_receiving{false};
  auto receiver = connect("gw-c", "receiver-1", "127.0.0.4");
  std::thread receiving([&] {
    while (!stop_receiving) {
      auto event = receiver->next_event(100ms);
      if (!event) continue;
      if (auto* delivery = std::get_if<node::Delivery>(&event->payload)) {
        std::lock_guard lock(mutex);
        ++received[delivery->message.id];
      }
    }
  });

  std::thread sending([&] {
    auto client = connect("gw-a", "sender-1", "127.0.0.2");
    const int outstanding = stream_submits(
        *client, messages, window,
        [](int i) {
          return make_message("sender-1", {{AddresseeKind::organisation, "unit-c"}}, "report", "test",
                              {{{"OFFICIAL", {}}, "report " + std::to_string(i)}});
        },
        [&](const std::string& id) {
          std::lock_guard lock(mutex);
          submitted.insert(id);
        },
        [&](const std::string& id) {
          std::lock_guard lock(mutex);
          acked.insert(id);
        },
        180s, "sender-1");
    EXPECT_EQ(outstanding, 0) << "sender-1 still waits for acknowledgements";
    client->close();
  });

  // How many times a gateway has started: its log's "listening on" lines.
  auto starts_of = [&](const std::string& id) {
    std::ifstream log(dir / (id + ".log"));
    std::size_t starts = 0;
    for (std::string line; std::getline(log, line);)
      if (line.find(" listening on ") != std::string::npos) ++starts;
    return starts;
  };
  // Kills chosen by what has reached gw-c, so that each lands mid-stream,
  // with Forwards in flight on both links.
  const std::vector<std::string> victims{"gw-b", "gw-c", "gw-b", "gw-a", "gw-b"};
  std::mt19937 random(20261206);
  std::vector<std::size_t> points;
  for (std::size_t k = 0; k < victims.size(); ++k)
    points.push_back(std::uniform_int_distribution<std::size_t>(messages / 20, messages * 6 / 10)(random));
  std::sort(points.begin(), points.end());
  const auto give_up = std::chrono::steady_clock::now() + 150s;
  int killed = 0;
  std::vector<std::size_t> received_at_kill;
  for (std::size_t k = 0; k < victims.size(); ++k) {
    // At least 50 more delivered since the last kill: the restarted gateways are back at work.
    const std::size_t target = std::max(points[k], received_at_kill.empty() ? 0 : received_at_kill.back() + 50);
    while (std::chrono::steady_clock::now() < give_up) {
      {
        std::lock_guard lock(mutex);
        if (received.size() >= target) break;
      }
      std::this_thread::sleep_for(1ms);
    }
    // The victim is up again from its last kill (its log says it listens), so
    // that each kill hits a running gateway, not one still starting: fifty
    // more deliveries can come from what the others already held.
    const auto previous_kills = static_cast<std::size_t>(std::count(victims.begin(), victims.begin() + k, victims[k]));
    while (starts_of(victims[k]) < 1 + previous_kills && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(5ms);
    {
      std::lock_guard lock(mutex);
      received_at_kill.push_back(received.size());
    }
    gateways[victims[k]]->kill(SIGKILL);
    ++killed;
    gateways[victims[k]]->start();
  }
  sending.join();

  auto complete = [&] {
    std::lock_guard lock(mutex);
    return std::all_of(acked.begin(), acked.end(), [&](const std::string& id) { return received.contains(id); });
  };
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!complete() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  std::this_thread::sleep_for(500ms);  // a stray duplicate would arrive meanwhile, for the check below to see
  stop_receiving = true;
  receiving.join();

  std::lock_guard lock(mutex);
  EXPECT_EQ(killed, static_cast<int>(victims.size()));
  for (const auto at : received_at_kill) EXPECT_LT(at, static_cast<std::size_t>(messages)) << "a kill after the stream";
  // Each start of each gateway is in its log: the kills hit running processes, which came back.
  for (const auto& hop : kChain)
    EXPECT_EQ(starts_of(hop.id), 1 + static_cast<std::size_t>(std::count(victims.begin(), victims.end(), hop.id)))
        << hop.id;
  EXPECT_EQ(submitted.size(), static_cast<std::size_t>(messages));
  EXPECT_EQ(acked.size(), submitted.size()) << "every submit is acknowledged in the end";
  std::size_t missing = 0, duplicated = 0, unknown = 0;
  for (const auto& id : acked) {
    const auto it = received.find(id);
    if (it == received.end()) ++missing;
    else if (it->second != 1) ++duplicated;
  }
  for (const auto& [id, count] : received)
    if (!submitted.contains(id)) ++unknown;
  EXPECT_EQ(missing, 0u) << "acknowledged at gw-a, never delivered at gw-c";
  EXPECT_EQ(duplicated, 0u) << "delivered twice at gw-c";
  EXPECT_EQ(unknown, 0u);
  // The gateways' own exactly-once (a node also drops a repeat it is sent):
  // gw-c received and decided each message once, however often it was sent.
  std::map<std::string, int> received_at_c, decided_at_c;
  for (const auto& stored : records(dir / "gw-c" / "data", "peer_receive")) ++received_at_c[stored.record.message_id];
  for (const auto& stored : records(dir / "gw-c" / "data", "decision")) ++decided_at_c[stored.record.message_id];
  std::size_t received_twice = 0, decided_twice = 0;
  for (const auto& id : acked) {
    received_twice += received_at_c[id] > 1;
    decided_twice += decided_at_c[id] > 1;
  }
  EXPECT_EQ(received_at_c.size(), acked.size());
  EXPECT_EQ(received_twice, 0u) << "Forwards gw-c accepted twice";
  EXPECT_EQ(decided_twice, 0u) << "messages gw-c decided twice";
  // `icegate audit trace` rebuilds a message's path from the three trails as
  // the gateways wrote them: gw-a -> gw-b -> gw-c, every chain intact, the
  // trails agreeing, crashes and resends notwithstanding.
  if (!acked.empty()) {
    const audit::Trace path = audit::trace(*acked.begin(), {{"gw-a", dir / "gw-a" / "data"},
                                                           {"gw-b", dir / "gw-b" / "data"},
                                                           {"gw-c", dir / "gw-c" / "data"}});
    std::ostringstream text;
    audit::write_trace_text(text, path);
    EXPECT_TRUE(path.consistent()) << text.str();
    ASSERT_EQ(path.hops.size(), 2u) << text.str();
    EXPECT_EQ(path.hops[0].from, "gw-a");
    EXPECT_EQ(path.hops[0].to, "gw-b");
    EXPECT_TRUE(path.hops[0].received);
    EXPECT_EQ(path.hops[1].from, "gw-b");
    EXPECT_EQ(path.hops[1].to, "gw-c");
    EXPECT_TRUE(path.hops[1].received);
    EXPECT_EQ(path.hops[1].decision, "RELEASE");
  }
  if (missing || duplicated)
    for (const auto& hop : kChain) ADD_FAILURE() << hop.id << "'s log, last lines:\n" << tail_of(dir / (hop.id + ".log"), 40);
}

}  // namespace
}  // namespace icegate::testing

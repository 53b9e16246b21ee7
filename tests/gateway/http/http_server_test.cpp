// The dashboard end to end: a real gateway with real TLS nodes on loopback,
// the dashboard's HTTP server on the gateway's own thread, and a real HTTP and
// WebSocket client (Boost.Beast: this test is the one other translation unit
// that includes it).
#include <algorithm>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "clients/exercise/runner.hpp"
#include "clients/exercise/scenario.hpp"
#include "gateway/audit/audit.hpp"
#include "gateway/http/assets.hpp"
#include "gateway/http/dashboard.hpp"
#include "gateway/http/http_server.hpp"
#include "tests/support/gateway_fixture.hpp"
#include "tests/support/run_for.hpp"

namespace icegate::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

// ---- a small client ---------------------------------------------------------------

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};

HttpResult request(std::uint16_t port, bhttp::verb method, const std::string& target, const std::string& body = {},
                   std::map<std::string, std::string> headers = {}, const std::string& address = "127.0.0.1") {
  return run_for<HttpResult>([&]() -> asio::awaitable<HttpResult> {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    stream.expires_after(10s);
    co_await stream.async_connect(tcp::endpoint(asio::ip::make_address(address), port), asio::use_awaitable);
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, fmt::format("127.0.0.1:{}", port));
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!body.empty()) {
      if (!headers.contains("Content-Type")) req.set(bhttp::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    co_await bhttp::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    co_await bhttp::async_read(stream, buffer, res, asio::use_awaitable);
    HttpResult result;
    result.status = static_cast<int>(res.result_int());
    result.body = res.body();
    for (const auto& field : res) result.headers[std::string(field.name_string())] = std::string(field.value());
    co_return result;
  });
}

HttpResult get(std::uint16_t port, const std::string& target, std::map<std::string, std::string> headers = {}) {
  return request(port, bhttp::verb::get, target, {}, std::move(headers));
}

// A WebSocket client reading the event feed on its own io_context.
class FeedClient {
 public:
  FeedClient(std::uint16_t port, const std::string& target = "/ws") : ws_(io_) {
    auto& stream = beast::get_lowest_layer(ws_);
    stream.expires_after(10s);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    ws_.handshake(fmt::format("127.0.0.1:{}", port), target);
  }

  // The next event, or nullopt at the timeout (or when the server closed the feed).
  std::optional<std::string> next(std::chrono::milliseconds timeout = 5s) {
    std::optional<std::string> text;
    beast::get_lowest_layer(ws_).expires_after(timeout);
    ws_.async_read(buffer_, [&](const boost::system::error_code& error, std::size_t) {
      if (error) {
        error_ = error;
        return;
      }
      text = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
    });
    io_.restart();
    io_.run();
    return text;
  }

  // Reads until an event contains every one of `needles`; every event read is kept in seen().
  std::optional<std::string> until(std::initializer_list<std::string> needles, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto event = next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (!event) return std::nullopt;
      seen_.push_back(*event);
      bool all = true;
      for (const auto& needle : needles) all = all && event->find(needle) != std::string::npos;
      if (all) return event;
    }
    return std::nullopt;
  }

  // Reads until, for each of `events`, an event contains every one of its
  // needles, in any order; returns each one's index in seen(), or nothing at the timeout.
  std::optional<std::vector<std::size_t>> until_each(const std::vector<std::vector<std::string>>& events,
                                                     std::chrono::milliseconds timeout = 10s) {
    std::vector<std::optional<std::size_t>> found(events.size());
    auto matches = [](const std::string& event, const std::vector<std::string>& needles) {
      for (const auto& needle : needles)
        if (event.find(needle) == std::string::npos) return false;
      return true;
    };
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::any_of(found.begin(), found.end(), [](const auto& index) { return !index; })) {
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      auto event = next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (!event) return std::nullopt;
      seen_.push_back(*event);
      for (std::size_t i = 0; i < events.size(); ++i)
        if (!found[i] && matches(*event, events[i])) found[i] = seen_.size() - 1;
    }
    std::vector<std::size_t> indices;
    for (const auto& index : found) indices.push_back(*index);
    return indices;
  }

  const std::vector<std::string>& seen() const { return seen_; }
  const boost::system::error_code& error() const { return error_; }
  websocket::close_reason reason() const { return ws_.reason(); }
  void drop() {
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

 private:
  asio::io_context io_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  boost::system::error_code error_;
  std::vector<std::string> seen_;
};

// "icegate_decisions_total{decision=\"deny\"}" -> value, from /metrics.
std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> values;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    values[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return values;
}

// Positions of `needle` in `haystack` (for checking the order of frames).
std::size_t position(const std::string& haystack, const std::string& needle) {
  const auto at = haystack.find(needle);
  return at == std::string::npos ? std::string::npos : at;
}

std::string json_field(const std::string& json, const std::string& key, std::size_t from = 0) {
  const std::string marker = "\"" + key + "\":\"";
  const auto at = json.find(marker, from);
  if (at == std::string::npos) return {};
  const auto start = at + marker.size();
  return json.substr(start, json.find('"', start) - start);
}

// ---- the dashboard on a running gateway ---------------------------------------------

// The dashboard and its server on a RunningGateway's io thread; destroyed there too.
class DashboardOn {
 public:
  DashboardOn(RunningGateway& gateway, http::AccessPolicy access, http::HttpServerOptions options = {},
              const std::string& address = "127.0.0.1")
      : gateway_(gateway) {
    options.listen = {asio::ip::make_address(address), 0};
    gateway_.on_gateway_thread([&] {
      dashboard_ = std::make_unique<http::Dashboard>(gateway_.gateway(), std::move(access));
      server_ = std::make_unique<http::HttpServer>(gateway_.gateway().io(), *dashboard_, options);
      server_->start();
      port_ = server_->local_endpoint().port();
      return 0;
    });
  }
  ~DashboardOn() {
    gateway_.on_gateway_thread([&] {
      server_->stop();
      server_.reset();
      dashboard_.reset();
      return 0;
    });
  }
  std::uint16_t port() const { return port_; }
  http::Dashboard& dashboard() { return *dashboard_; }

 private:
  RunningGateway& gateway_;
  std::unique_ptr<http::Dashboard> dashboard_;
  std::unique_ptr<http::HttpServer> server_;
  std::uint16_t port_ = 0;
};

const std::vector<std::string> demo_nodes{"ctu-wm", "ctio-east", "council-prevent", "npt-sparkhill", "iag-birmingham"};

Label label(std::string classification, std::vector<std::string> categories = {}) {
  return {std::move(classification), std::move(categories)};
}

Message two_level_profile() {
  return make_message("ctu-wm", {{AddresseeKind::list, "local-partners"}}, "ct-problem-profile", "prevent",
                      {{label("SECRET", {"UK EYES ONLY"}), "secret body: source detail"},
                       {label("RESTRICTED"), "restricted body: partner version"}});
}

class DemoDashboardTest : public ::testing::Test {
 protected:
  DemoDashboardTest()
      : gateway_(source_path("policies/demo.yaml"), demo_nodes), dashboard_(gateway_, http::access_for("127.0.0.1", "")) {}

  RunningGateway gateway_;
  DashboardOn dashboard_;
};

TEST_F(DemoDashboardTest, MessageShowsDecisionsWithRulesAndFramesInOrder) {
  auto sender = gateway_.connect("ctu-wm");
  auto ctio = gateway_.connect("ctio-east");
  const Message message = two_level_profile();
  sender->submit(message);
  ASSERT_TRUE(next_of<node::Delivery>(*ctio));
  ASSERT_TRUE(next_of<node::Receipt>(*sender));

  // The node's Ack of its Deliver is the last frame of the message's life here.
  HttpResult result;
  for (int attempt = 0; attempt < 100; ++attempt) {
    result = get(dashboard_.port(), "/api/messages/" + message.id);
    if (result.body.find("\"frame_type\":\"Ack\",\"message_id\":\"" + message.id + "\",\"bytes\"") != std::string::npos &&
        result.body.find("\"direction\":\"in\",\"frame_type\":\"Ack\"") != std::string::npos)
      break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(result.status, 200) << result.body;
  const std::string& body = result.body;
  EXPECT_EQ(json_field(body, "originator"), "ctu-wm");
  EXPECT_NE(body.find("\"marking\":\"SECRET UK EYES ONLY\""), std::string::npos);
  EXPECT_NE(body.find("\"body\":\"restricted body: partner version\""), std::string::npos);
  // Every recipient's decision, with its rules and reason.
  EXPECT_NE(body.find("\"recipient\":\"ctio-east\",\"decision\":\"RELEASE\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"rules\":[\"profile-to-police\"]"), std::string::npos);
  EXPECT_NE(body.find("\"recipient\":\"council-prevent\",\"decision\":\"RELEASE_REDACTED\""), std::string::npos);
  EXPECT_NE(body.find("\"rules\":[\"profile-to-council-restricted\"]"), std::string::npos);
  EXPECT_NE(body.find("profile-to-council-restricted permits only up to RESTRICTED"), std::string::npos);
  EXPECT_NE(body.find("\"recipient\":\"iag-birmingham\",\"decision\":\"DENY\""), std::string::npos);

  // Frames: Submit in, then Ack out to the sender and Deliver out to ctio-east, its Ack in; Receipt out.
  const auto frames = body.substr(body.find("\"frames\":["));
  const auto submit = position(frames, "\"node\":\"ctu-wm\",\"direction\":\"in\",\"frame_type\":\"Submit\"");
  const auto ack_out = position(frames, "\"node\":\"ctu-wm\",\"direction\":\"out\",\"frame_type\":\"Ack\"");
  const auto deliver = position(frames, "\"node\":\"ctio-east\",\"direction\":\"out\",\"frame_type\":\"Deliver\"");
  const auto ack_in = position(frames, "\"node\":\"ctio-east\",\"direction\":\"in\",\"frame_type\":\"Ack\"");
  const auto receipt = position(frames, "\"node\":\"ctu-wm\",\"direction\":\"out\",\"frame_type\":\"Receipt\"");
  ASSERT_NE(submit, std::string::npos) << frames;
  ASSERT_NE(ack_out, std::string::npos) << frames;
  ASSERT_NE(deliver, std::string::npos) << frames;
  ASSERT_NE(ack_in, std::string::npos) << frames;
  ASSERT_NE(receipt, std::string::npos) << frames;
  EXPECT_LT(submit, ack_out);
  // The Ack to ctu-wm and the Deliver to ctio-east are written by two
  // sessions, on different threads (serve --threads): in either order.
  EXPECT_LT(submit, deliver);
  EXPECT_LT(deliver, ack_in);
  EXPECT_LT(submit, receipt);
  // A frame's text is the protobuf text format, on one line.
  EXPECT_NE(frames.find("\"text\":\"submit { message { id: \\\"" + message.id), std::string::npos);

  EXPECT_EQ(get(dashboard_.port(), "/api/messages/no-such-id").status, 404);
}

TEST_F(DemoDashboardTest, StateListsNodesMarkingsAndRecentEvents) {
  auto sender = gateway_.connect("ctu-wm");
  const auto result = get(dashboard_.port(), "/api/state");
  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(result.headers.at("Content-Type"), "application/json");
  const std::string& state = result.body;
  EXPECT_NE(state.find("\"gateway_id\":\"gateway\""), std::string::npos);
  EXPECT_NE(state.find("\"policy\":{\"name\":\"demo\",\"version\":\"" + gateway_.gateway().policy()->version()),
            std::string::npos);
  EXPECT_NE(state.find("\"levels\":[\"strategic\",\"tactical\",\"delivery\"]"), std::string::npos);
  EXPECT_NE(state.find("{\"name\":\"SECRET\",\"marking\":\"SECRET\",\"colour\":\""), std::string::npos);
  EXPECT_NE(state.find("\"id\":\"ctu-wm\""), std::string::npos);
  EXPECT_NE(state.find("\"ct_network\":true,\"level\":\"tactical\",\"vetting\":\"SC\",\"roles\":[\"ct-analyst\"],"
                       "\"connected\":true"),
            std::string::npos)
      << state;
  EXPECT_NE(state.find("\"id\":\"iag-birmingham\""), std::string::npos);
  EXPECT_NE(state.find("\"type\":\"connection\",\"node\":\"ctu-wm\",\"state\":\"connected\""), std::string::npos);
  EXPECT_NE(state.find("\"exercise\":null"), std::string::npos);
  EXPECT_EQ(result.headers.at("Cache-Control"), "no-store");
}

// A decision between gateways (Observer::hop) is an event of its own, kept
// with the message it is about; a gateway without peers lists none.
TEST_F(DemoDashboardTest, AHopDecisionIsAnEventKeptWithItsMessage) {
  server::HopView hop;
  hop.kind = "forward";
  hop.message_id = "m-123";
  hop.peer = "gw-birmingham";
  hop.origin = "gw-wm-ctu";
  hop.via = {"gw-transit"};
  hop.hop = 2;
  hop.outcome = "forwarded_redacted";
  hop.portions = {"2"};
  hop.withheld = {{"1", "beyond-accreditation"}, {"3", "beyond-accreditation"}};
  gateway_.on_gateway_thread([&] {
    dashboard_.dashboard().hop(hop);
    return 0;
  });
  const auto state = get(dashboard_.port(), "/api/state").body;
  EXPECT_NE(state.find("\"peers\":[]"), std::string::npos) << state;
  const std::string expected =
      "\"type\":\"hop\",\"kind\":\"forward\",\"message_id\":\"m-123\",\"peer\":\"gw-birmingham\","
      "\"origin\":\"gw-wm-ctu\",\"via\":[\"gw-transit\"],\"hop\":2,\"outcome\":\"forwarded_redacted\","
      "\"portions\":[\"2\"],\"withheld\":[{\"portion\":\"1\",\"reason\":\"beyond-accreditation\"},"
      "{\"portion\":\"3\",\"reason\":\"beyond-accreditation\"}],\"reason\":\"\"}";
  EXPECT_NE(state.find(expected), std::string::npos) << state;
  const auto message = get(dashboard_.port(), "/api/messages/m-123");
  ASSERT_EQ(message.status, 200) << message.body;
  EXPECT_NE(message.body.find("\"hops\":[{\"seq\":"), std::string::npos) << message.body;
  EXPECT_NE(message.body.find(expected), std::string::npos) << message.body;

  // A refusal says why, in a sentence.
  hop.kind = "refused";
  hop.outcome = "binding-portion-not-bound";
  hop.portions.clear();
  hop.withheld.clear();
  hop.reason = "portion 2 is not bound by the origin's signature";
  gateway_.on_gateway_thread([&] {
    dashboard_.dashboard().hop(hop);
    return 0;
  });
  EXPECT_NE(get(dashboard_.port(), "/api/messages/m-123")
                .body.find("\"outcome\":\"binding-portion-not-bound\",\"portions\":[],\"withheld\":[],"
                           "\"reason\":\"portion 2 is not bound by the origin's signature\"}"),
            std::string::npos);
}

TEST_F(DemoDashboardTest, MetricsCountDecisionsAndTheHistogramCountsEachOne) {
  auto before = parse_metrics(get(dashboard_.port(), "/metrics").body);
  auto sender = gateway_.connect("ctu-wm");
  sender->submit(two_level_profile());
  ASSERT_TRUE(next_of<node::Receipt>(*sender));
  const auto result = get(dashboard_.port(), "/metrics");
  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(result.headers.at("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  auto after = parse_metrics(result.body);
  auto moved = [&](const std::string& name) { return after[name] - before[name]; };
  EXPECT_EQ(moved("icegate_messages_submitted_total"), 1);
  // The demo's two-level profile to local-partners: one RELEASE, two RELEASE_REDACTED, one DENY.
  EXPECT_EQ(moved("icegate_decisions_total{decision=\"release\"}"), 1);
  EXPECT_EQ(moved("icegate_decisions_total{decision=\"release_redacted\"}"), 2);
  EXPECT_EQ(moved("icegate_decisions_total{decision=\"deny\"}"), 1);
  EXPECT_EQ(moved("icegate_decisions_total{decision=\"hold\"}"), 0);
  double decisions = 0;
  for (const char* d : {"release", "release_redacted", "hold", "deny"})
    decisions += after[fmt::format("icegate_decisions_total{{decision=\"{}\"}}", d)];
  EXPECT_EQ(after["icegate_decision_latency_seconds_count"], decisions);
  EXPECT_EQ(after["icegate_decision_latency_seconds_bucket{le=\"+Inf\"}"], decisions);
  EXPECT_GT(after["icegate_decision_latency_seconds_sum"], 0);
  EXPECT_EQ(after["icegate_connections"], 1);
  EXPECT_GE(moved("icegate_frames_total{direction=\"in\"}"), 2) << "Hello and Submit";
  EXPECT_GE(moved("icegate_frames_total{direction=\"out\"}"), 3) << "Welcome, Ack and Receipt";
  // Three recipients are offline: their Delivers wait in the outbox.
  EXPECT_EQ(after["icegate_queue_depth{queue=\"outbox\"}"], 3);
}

// The store's counters: a message's Receipt comes after the transaction that
// accepted it was committed and synced, so both have moved by then.
TEST_F(DemoDashboardTest, MetricsCountTheStoresTransactionsAndSyncs) {
  auto before = parse_metrics(get(dashboard_.port(), "/metrics").body);
  ASSERT_TRUE(before.count("icegate_store_commits_total"));
  auto sender = gateway_.connect("ctu-wm");
  sender->submit(two_level_profile());
  ASSERT_TRUE(next_of<node::Receipt>(*sender));
  auto after = parse_metrics(get(dashboard_.port(), "/metrics").body);
  auto moved = [&](const std::string& name) { return after[name] - before[name]; };
  EXPECT_GE(moved("icegate_store_commits_total"), 1);
  EXPECT_GE(moved("icegate_store_syncs_total"), 1);
  EXPECT_GE(moved("icegate_store_operations_total"), moved("icegate_store_commits_total"));
  EXPECT_EQ(after["icegate_store_failed_commits_total"], 0);
}

// The verified-chain cache: a node's first handshake verifies its chain in
// full, its reconnection with the same certificate is answered from the cache.
TEST_F(DemoDashboardTest, MetricsCountChainsVerifiedInFullAndFromTheCache) {
  auto before = parse_metrics(get(dashboard_.port(), "/metrics").body);
  ASSERT_TRUE(before.count("icegate_tls_chain_verifications_total{result=\"cached\"}"));
  gateway_.connect("ctu-wm").reset();
  auto again = gateway_.connect("ctu-wm");
  auto after = parse_metrics(get(dashboard_.port(), "/metrics").body);
  auto moved = [&](const std::string& name) { return after[name] - before[name]; };
  EXPECT_EQ(moved("icegate_tls_chain_verifications_total{result=\"full\"}"), 1);
  EXPECT_EQ(moved("icegate_tls_chain_verifications_total{result=\"cached\"}"), 1);
  EXPECT_GE(after["icegate_tls_verify_cache_entries"], 1);
}

TEST(DashboardWithoutVerifyCache, EveryChainIsVerifiedInFullAndNoCacheIsReported) {
  server::GatewayConfig config;
  config.verify_cache = false;
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes, config);
  DashboardOn dashboard(gateway, http::access_for("127.0.0.1", ""));
  gateway.connect("ctu-wm").reset();
  auto again = gateway.connect("ctu-wm");
  const auto metrics = parse_metrics(get(dashboard.port(), "/metrics").body);
  EXPECT_FALSE(metrics.count("icegate_tls_chain_verifications_total{result=\"cached\"}"));
  EXPECT_FALSE(metrics.count("icegate_tls_verify_cache_entries"));
  EXPECT_EQ(metrics.at("icegate_connections"), 1) << "the reconnection got through";
}

TEST_F(DemoDashboardTest, FeedSendsTheEventsOfASend) {
  FeedClient feed(dashboard_.port());
  auto sender = gateway_.connect("ctu-wm");
  auto ctio = gateway_.connect("ctio-east");
  const Message message = two_level_profile();
  sender->submit(message);
  const std::string id = "\"message_id\":\"" + message.id + "\"";
  ASSERT_TRUE(feed.until({"\"type\":\"submission\"", id, "\"originator\":\"ctu-wm\""}));
  ASSERT_TRUE(feed.until({"\"type\":\"decision\"", id, "\"recipient\":\"iag-birmingham\",\"decision\":\"DENY\""}));
  // What each node's session writes is told in the order it wrote it; the
  // Deliver to ctio-east and the Receipt to ctu-wm are written by two
  // sessions, on different threads (serve --threads), in either order.
  const auto written =
      feed.until_each({{"\"type\":\"delivery\"", id, "\"recipient\":\"ctio-east\",\"decision\":\"RELEASE\""},
                       {"\"type\":\"receipt\"", id, "\"originator\":\"ctu-wm\""},
                       {"\"type\":\"ack\"", id, "\"node\":\"ctio-east\""}});
  ASSERT_TRUE(written);
  EXPECT_LT((*written)[0], (*written)[2]) << "ctio-east's Ack is told before the Deliver it acknowledges";
  // In order, numbered from the run's start; the first event is the sender's connection.
  std::uint64_t last = 0;
  for (const auto& event : feed.seen()) {
    const auto seq = std::stoull(event.substr(7));
    EXPECT_GT(seq, last) << event;
    last = seq;
  }
  EXPECT_NE(feed.seen().front().find("\"time\":\""), std::string::npos);

  // A page that reconnects catches up from the last seq it saw.
  FeedClient replay(dashboard_.port(), "/ws?since=1");
  auto first = replay.next();
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->starts_with("{\"seq\":2,")) << *first;
}

TEST_F(DemoDashboardTest, HealthzIsOkThenDrainingWhileTheGatewayStops) {
  auto result = get(dashboard_.port(), "/healthz");
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(json_field(result.body, "status"), "ok");
  gateway_.on_gateway_thread([&] {
    gateway_.gateway().stop();
    return 0;
  });
  result = get(dashboard_.port(), "/healthz");
  EXPECT_EQ(result.status, 503);
  EXPECT_EQ(json_field(result.body, "status"), "draining");
}

TEST_F(DemoDashboardTest, ThePageIsServedWithAPolicyThatForbidsOtherOrigins) {
  const auto page = get(dashboard_.port(), "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.headers.at("Content-Type"), "text/html; charset=utf-8");
  const std::string& csp = page.headers.at("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("http"), std::string::npos) << "no external origin is allowed";
  EXPECT_EQ(page.headers.at("X-Content-Type-Options"), "nosniff");
  for (const auto& asset : http::embedded_assets()) {
    const auto file = get(dashboard_.port(), "/assets/" + std::string(asset.name));
    EXPECT_EQ(file.status, 200) << asset.name;
    EXPECT_EQ(file.body, asset.body) << asset.name;
    EXPECT_EQ(file.headers.at("Content-Type"), http::content_type_for(asset.name));
  }
  EXPECT_EQ(get(dashboard_.port(), "/assets/../CMakeLists.txt").status, 404);
  EXPECT_EQ(get(dashboard_.port(), "/nowhere").status, 404);
  EXPECT_EQ(request(dashboard_.port(), bhttp::verb::post, "/api/state", "{}").status, 405);
  // A DNS-rebinding page calls the loopback dashboard by a foreign name.
  EXPECT_EQ(get(dashboard_.port(), "/api/state", {{"Host", "attacker.example:80"}}).status, 403);
}

// The dashboard is a Site whose one feed, itself, is at /ws: an exercise host
// mounts it under a prefix and passes the rest of the path on.
TEST_F(DemoDashboardTest, AsASiteItsFeedIsAtWsAndNowhereElse) {
  EXPECT_THROW(FeedClient(dashboard_.port(), "/api/ws"), boost::system::system_error);
  const auto opened = gateway_.on_gateway_thread([&] {
    http::Request request;
    request.method = "GET";
    request.target = "/ws?since=3";
    request.host = "127.0.0.1:1";
    auto at_ws = dashboard_.dashboard().open_feed(request);
    request.target = "/elsewhere";
    auto elsewhere = dashboard_.dashboard().open_feed(request);
    request.target = "/ws";
    request.host = "attacker.example";
    auto rebinding = dashboard_.dashboard().open_feed(request);
    return std::make_tuple(std::get_if<http::Feed*>(&at_ws) ? *std::get_if<http::Feed*>(&at_ws) : nullptr,
                           std::get_if<http::Response>(&elsewhere) ? std::get<http::Response>(elsewhere).status : 0,
                           std::get_if<http::Response>(&rebinding) ? std::get<http::Response>(rebinding).status : 0);
  });
  EXPECT_EQ(std::get<0>(opened), static_cast<http::Feed*>(&dashboard_.dashboard()));
  EXPECT_EQ(std::get<1>(opened), 404);
  EXPECT_EQ(std::get<2>(opened), 403) << "the feed keeps the dashboard's access rules";
  FeedClient feed(dashboard_.port(), "/ws");
  auto sender = gateway_.connect("ctu-wm");
  EXPECT_TRUE(feed.until({"\"type\":\"connection\"", "ctu-wm"}));
}

TEST_F(DemoDashboardTest, SlowOrVanishedFeedClientsDoNotStopTheGateway) {
  // A client that disappears without a close, and one that stops reading.
  {
    FeedClient vanished(dashboard_.port());
    vanished.drop();
  }
  FeedClient idle(dashboard_.port());
  auto sender = gateway_.connect("ctu-wm");
  auto ctio = gateway_.connect("ctio-east");
  for (int i = 0; i < 20; ++i) {
    sender->submit(two_level_profile());
    ASSERT_TRUE(next_of<node::Delivery>(*ctio)) << "message " << i;
  }
  EXPECT_EQ(get(dashboard_.port(), "/healthz").status, 200);
}

// A tiny WebSocket queue: one submission publishes more events at once than
// it holds, so the feed client is dropped, told why, and the gateway goes on.
class SmallQueueDashboardTest : public ::testing::Test {
 protected:
  static http::HttpServerOptions options() {
    http::HttpServerOptions options;
    options.websocket_queue_events = 3;
    return options;
  }
  SmallQueueDashboardTest()
      : gateway_(source_path("policies/demo.yaml"), demo_nodes),
        dashboard_(gateway_, http::access_for("127.0.0.1", ""), options()) {}

  RunningGateway gateway_;
  DashboardOn dashboard_;
};

TEST_F(SmallQueueDashboardTest, AClientThatFallsBehindIsClosedWithTheReason) {
  FeedClient slow(dashboard_.port());
  auto sender = gateway_.connect("ctu-wm");
  auto ctio = gateway_.connect("ctio-east");
  sender->submit(two_level_profile());
  ASSERT_TRUE(next_of<node::Delivery>(*ctio)) << "the gateway delivers whatever the feed does";
  while (slow.next()) {
  }
  EXPECT_EQ(slow.error(), websocket::error::closed) << slow.error().message();
  EXPECT_EQ(slow.reason().code, websocket::close_code::policy_error);
  EXPECT_NE(std::string(slow.reason().reason.c_str()).find("too slow"), std::string::npos) << slow.reason().reason;
  const auto metrics = parse_metrics(get(dashboard_.port(), "/metrics").body);
  EXPECT_EQ(metrics.at("icegate_dashboard_dropped_total"), 1);
  // And the gateway goes on.
  sender->submit(two_level_profile());
  EXPECT_TRUE(next_of<node::Delivery>(*ctio));
  EXPECT_EQ(get(dashboard_.port(), "/healthz").status, 200);
}

// Bound beyond loopback, every data request needs the token.
TEST(DashboardAccess, BeyondLoopbackATokenIsRequired) {
  RunningGateway gateway(source_path("policies/demo.yaml"), demo_nodes);
  const auto access = http::access_for("0.0.0.0", "");
  ASSERT_FALSE(access.token.empty());
  DashboardOn dashboard(gateway, access, {}, "0.0.0.0");
  const auto port = dashboard.port();
  EXPECT_EQ(get(port, "/api/state").status, 401);
  EXPECT_EQ(get(port, "/metrics").status, 401);
  EXPECT_EQ(get(port, "/healthz").status, 401);
  EXPECT_EQ(get(port, "/api/state", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(get(port, "/api/state", {{"Authorization", "Bearer " + access.token}}).status, 200);
  EXPECT_EQ(get(port, "/api/state?token=" + access.token).status, 200);
  EXPECT_EQ(get(port, "/").status, 200) << "the page itself holds no data";
  EXPECT_THROW(FeedClient(port, "/ws"), boost::system::system_error) << "the feed needs the token too";
  FeedClient feed(port, "/ws?token=" + access.token);
  auto sender = gateway.connect("ctu-wm");
  EXPECT_TRUE(feed.until({"\"type\":\"connection\"", "\"node\":\"ctu-wm\""}));
}

// ---- holds from the page ----------------------------------------------------------------

const std::vector<std::string> handling_nodes{"analyst", "sio", "reader", "housing", "education", "officer", "sb-officer"};

class HoldDashboardTest : public ::testing::Test {
 protected:
  HoldDashboardTest()
      : gateway_(source_path("tests/data/handling-policy.yaml"), handling_nodes),
        dashboard_(gateway_, http::access_for("127.0.0.1", "")) {}

  HttpResult decide(const std::string& hold_id, const std::string& body, std::map<std::string, std::string> headers = {}) {
    return request(dashboard_.port(), bhttp::verb::post, "/api/holds/" + hold_id, body, std::move(headers));
  }

  std::string held_profile() {
    auto analyst = gateway_.connect("analyst");
    const Message message =
        make_message("analyst", {{AddresseeKind::list, "heads"}}, "ct-problem-profile", "prevent",
                     {{label("SECRET", {"UK EYES ONLY"}), "secret: source detail"},
                      {label("RESTRICTED"), "restricted: partner version"}});
    analyst->submit(message);
    auto receipt = next_of<node::Receipt>(*analyst);
    if (!receipt) throw std::runtime_error("no receipt");
    message_id_ = message.id;
    return receipt->outcomes.at(0).decision.hold_id;
  }

  RunningGateway gateway_;
  DashboardOn dashboard_;
  std::string message_id_;
};

TEST_F(HoldDashboardTest, AReviewerApprovesFromThePageAndTheRecipientGetsIt) {
  auto housing = gateway_.connect("housing");
  const std::string hold_id = held_profile();
  ASSERT_FALSE(hold_id.empty());

  // The state lists the hold and who may decide it.
  const auto state = get(dashboard_.port(), "/api/state").body;
  EXPECT_NE(state.find("\"hold_id\":\"" + hold_id + "\",\"kind\":\"review\",\"message_id\":\"" + message_id_),
            std::string::npos)
      << state;
  EXPECT_NE(state.find("\"reviewer_roles\":[\"critical-reader\"],\"reviewers\":[\"reader\"],"
                       "\"recipients\":[\"housing\",\"education\"]"),
            std::string::npos)
      << state;
  EXPECT_FALSE(next_of<node::Delivery>(*housing, 200ms)) << "held until reviewed";

  const auto approved = decide(hold_id, R"({"decision":"approve","reviewer":"reader","reason":"read, fine"})");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(json_field(approved.body, "result"), "approved");
  auto delivery = next_of<node::Delivery>(*housing);
  ASSERT_TRUE(delivery) << "released to the recipient";
  EXPECT_EQ(delivery->message.id, message_id_);
  EXPECT_NE(delivery->reason.find("approved by critical reader reader (read, fine)"), std::string::npos)
      << delivery->reason;

  // Decided once: a second answer is a conflict, and the hold is gone from the state.
  EXPECT_EQ(decide(hold_id, R"({"decision":"refuse","reviewer":"reader"})").status, 409);
  const auto after = get(dashboard_.port(), "/api/state").body;
  const auto holds = after.substr(after.find("\"holds\":["), after.find(",\"exercise\":") - after.find("\"holds\":["));
  EXPECT_EQ(holds, "\"holds\":[]");

  // The audit trail says the page did it, for the reviewer.
  audit::QueryFilter filter;
  filter.kind = "review";
  filter.message_id = message_id_;
  std::vector<audit::StoredRecord> records;
  for (int attempt = 0; attempt < 100 && records.empty(); ++attempt) {
    records = audit::query(gateway_.data_dir(), filter);
    if (records.empty()) std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].record.node, "reader");
  EXPECT_NE(records[0].record.detail.find("\"via\":\"dashboard\""), std::string::npos) << records[0].record.detail;
}

TEST_F(HoldDashboardTest, OnlyAnEntitledReviewerMayDecide) {
  auto housing = gateway_.connect("housing");
  const std::string hold_id = held_profile();
  const auto refused = decide(hold_id, R"({"decision":"approve","reviewer":"housing"})");
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.body.find("housing may not decide hold"), std::string::npos) << refused.body;
  EXPECT_EQ(decide(hold_id, R"({"decision":"approve","reviewer":"nobody"})").status, 403);
  EXPECT_FALSE(next_of<node::Delivery>(*housing, 200ms)) << "still held";

  EXPECT_EQ(decide("no-such-hold", R"({"decision":"approve","reviewer":"reader"})").status, 404);
  const auto malformed = decide(hold_id, R"({"decision":"approve",)");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.find("at offset"), std::string::npos) << malformed.body;
  EXPECT_EQ(decide(hold_id, R"({"decision":"maybe","reviewer":"reader"})").status, 400);
  EXPECT_EQ(decide(hold_id, R"({"decision":"approve"})").status, 400);
  EXPECT_EQ(decide(hold_id, R"({"decision":"approve","reviewer":"reader"})", {{"Content-Type", "text/plain"}}).status,
            415);
  const auto forged = decide(hold_id, R"({"decision":"approve","reviewer":"reader"})", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(forged.status, 403) << "a page from another origin may not act for a reviewer";

  // Refused by the entitled reviewer: nothing is delivered.
  const auto refusal = decide(hold_id, R"({"decision":"refuse","reviewer":"reader","reason":"names a street"})",
                              {{"Origin", fmt::format("http://127.0.0.1:{}", dashboard_.port())}});
  ASSERT_EQ(refusal.status, 200) << refusal.body;
  EXPECT_EQ(json_field(refusal.body, "result"), "refused");
  EXPECT_FALSE(next_of<node::Delivery>(*housing, 300ms));
}

TEST_F(HoldDashboardTest, WithoutAnExerciseTheControlsAreNotFound) {
  EXPECT_EQ(request(dashboard_.port(), bhttp::verb::post, "/api/exercise/pause").status, 404);
  EXPECT_EQ(get(dashboard_.port(), "/api/exercise/pause").status, 405);
}

// ---- an exercise --------------------------------------------------------------------

// The runner's hooks put the dashboard on its in-process gateway (as `icegate
// exercise run --http` does); the page pauses, steps and resumes it.
TEST(ExerciseDashboard, TheFacilitatorPausesStepsAndResumesFromThePage) {
  TemporaryDirectory dir;
  const auto scenario_file = dir.path() / "small.yaml";
  std::ofstream(scenario_file) << R"(exercise: small
title: A small exercise
t0: 2026-11-21T06:00:00Z
start: T-4h
end: T+4h
injects:
  - id: I1
    at: T-3h
    from: analyst
    message:
      title: Problem profile
      to: [list:heads]
      category: ct-problem-profile
      purpose: prevent
      portions: [{label: RESTRICTED, body: partner version}]
  - id: I2
    at: T+1h
    from: analyst
    message:
      title: Second profile
      to: [sb-officer]
      category: ct-problem-profile
      purpose: prevent
      portions: [{label: RESTRICTED, body: more}]
)";
  const auto scenario = exercise::load_scenario(scenario_file);

  exercise::Control control;
  control.pause();
  exercise::RunOptions options;
  options.policy = source_path("tests/data/handling-policy.yaml");
  options.real_time = true;
  options.speed = 36'000;
  options.control = &control;
  options.keep_open = true;
  std::unique_ptr<http::Dashboard> dashboard;
  std::unique_ptr<http::HttpServer> server;
  std::promise<std::uint16_t> port;
  options.hooks.gateway_started = [&](server::Gateway& gateway) {
    dashboard = std::make_unique<http::Dashboard>(gateway, http::access_for("127.0.0.1", ""));
    http::HttpServerOptions server_options;
    server_options.listen = {asio::ip::make_address("127.0.0.1"), 0};
    server = std::make_unique<http::HttpServer>(gateway.io(), *dashboard, server_options);
    server->start();
    dashboard->set_exercise({[&] { control.pause(); }, [&] { control.resume(); }, [&] { control.step(); }});
    port.set_value(server->local_endpoint().port());
  };
  options.hooks.progress = [&](const exercise::RunStatus& s, bool notable) {
    dashboard->exercise_progress({s.scenario, s.state, s.clock_unix_ms, s.next_unix_ms, s.item_id, s.speed}, notable);
  };
  options.hooks.gateway_stopping = [&](server::Gateway&) {
    server->stop();
    server.reset();
    dashboard.reset();
  };
  std::optional<exercise::RunResult> result;
  std::thread run([&] { result = exercise::run_exercise(scenario, options); });
  struct Stop {
    exercise::Control& control;
    std::thread& run;
    ~Stop() {
      control.stop();
      run.join();
    }
  } stop{control, run};

  const auto p = port.get_future().get();
  FeedClient feed(p, "/ws?since=0");
  ASSERT_TRUE(feed.until({"\"type\":\"exercise\"", "\"name\":\"small\",\"state\":\"paused\"",
                          "\"next\":\"2026-11-21T03:00:00.000Z\""}));
  EXPECT_EQ(request(p, bhttp::verb::post, "/api/exercise/step").status, 200);
  ASSERT_TRUE(feed.until({"\"type\":\"exercise\"", "\"inject\":\"I1\""})) << "a step runs the next item";
  // Its submission may reach the gateway before or after the runner says it ran the inject.
  const bool submitted = std::any_of(feed.seen().begin(), feed.seen().end(), [](const std::string& event) {
    return event.find("\"type\":\"submission\"") != std::string::npos &&
           event.find("\"title\":\"Problem profile\"") != std::string::npos;
  });
  if (!submitted) {
    ASSERT_TRUE(feed.until({"\"type\":\"submission\"", "\"title\":\"Problem profile\""}));
  }
  const auto state = get(p, "/api/state").body;
  EXPECT_NE(state.find("\"exercise\":{\"name\":\"small\",\"state\":\"paused\""), std::string::npos) << state;
  EXPECT_EQ(request(p, bhttp::verb::post, "/api/exercise/resume").status, 200);
  ASSERT_TRUE(feed.until({"\"type\":\"exercise\"", "\"inject\":\"I2\""}));
  ASSERT_TRUE(feed.until({"\"type\":\"exercise\"", "\"state\":\"finished\""}));
  // Kept open: the page still answers, and the controls say the run is over.
  EXPECT_EQ(request(p, bhttp::verb::post, "/api/exercise/pause").status, 409);
  EXPECT_EQ(get(p, "/healthz").status, 200);
}

}  // namespace
}  // namespace icegate::testing

// The real host end to end: `ExerciseHost` on loopback over HTTPS (the client
// verifies the exercise's own CA and the server's name), the real runner and
// gateway behind it, and two seats played over the API: the CTU's senior
// officer sends a two-level pre-briefing, sees the receipt, and the chief
// executive (BPSS: RESTRICTED, SECRET on occasion) sees the RESTRICTED
// portion and the TOP SECRET one withheld. Then the
// facilitator finishes and the reports are on disk and served.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>

#include "clients/exercise/host/host.hpp"
#include "clients/exercise/host/host_site.hpp"
#include "gateway/http/json_body.hpp"
#include "gateway/audit/audit.hpp"
#include "gateway/pki/pki.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::exercise::host {
namespace {

namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using boost::asio::ip::tcp;
using http::JsonValue;

struct Reply {
  int status = 0;
  std::string body;
};

// One request per connection, verifying the chain against the exercise CA
// and the certificate's name against 127.0.0.1.
class HttpsClient {
 public:
  HttpsClient(const std::filesystem::path& ca, unsigned short port) : port_(port) {
    context_.load_verify_file(ca.string());
    context_.set_verify_mode(ssl::verify_peer);
  }
  Reply request(const std::string& method, const std::string& target, const std::string& body = {}) {
    boost::asio::io_context io;
    beast::ssl_stream<beast::tcp_stream> stream(io, context_);
    stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(stream).connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_));
    stream.handshake(ssl::stream_base::client);
    beast::http::request<beast::http::string_body> req(method == "POST" ? beast::http::verb::post : beast::http::verb::get,
                                                       target, 11);
    req.set(beast::http::field::host, fmt::format("127.0.0.1:{}", port_));
    if (method == "POST") {
      req.set(beast::http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    beast::http::write(stream, req);
    beast::flat_buffer buffer;
    beast::http::response<beast::http::string_body> res;
    beast::http::read(stream, buffer, res);
    beast::error_code ignored;
    stream.shutdown(ignored);
    return {static_cast<int>(res.result_int()), res.body()};
  }

 private:
  ssl::context context_{ssl::context::tls_client};
  unsigned short port_;
};

JsonValue json(const Reply& reply) {
  auto parsed = http::parse_json(reply.body);
  EXPECT_TRUE(parsed.ok()) << parsed.error << ": " << reply.body;
  return parsed.value;
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string path_of(const std::string& link) { return link.substr(link.find('/', 8)); }

// Polls until `done` holds for the JSON at `target`, or 30 s pass.
template <typename F>
JsonValue wait_for(HttpsClient& client, const std::string& target, F done) {
  JsonValue last;
  for (int i = 0; i < 300; ++i) {
    last = json(client.request("GET", target));
    if (done(last)) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "gave up waiting at " << target;
  return last;
}

// A drill on the shipped need-to-share policy: four nodes, two played.
HostPlan drill_plan(const std::filesystem::path& dir) {
  const auto policies = std::filesystem::path(ICEGATE_SOURCE_DIR) / "policies";
  std::ofstream(dir / "drill.yaml") << fmt::format(R"(exercise: host-drill
title: A drill for the host
policy: {}
t0: 2026-03-02T09:00:00Z
start: T-1h
end: T+1h
nodes: [ctu-sio, council-chief-exec, npt-officer, ctu-analyst]
objectives:
  - {{id: O1, text: The chief executive is briefed in confidence before the operation}}
injects:
  - id: I01
    at: T+50m
    from: ctu-analyst
    message:
      title: Routine update
      to: [ctu-sio]
      category: intelligence-report
      purpose: pursue
      portions:
        - label: SECRET
          body: Nothing new.
)",
                                                   (policies / "need-to-share.yaml").string());
  HostRequest request;
  request.scenario = dir / "drill.yaml";
  request.play = "ctu-sio,council-chief-exec";
  request.evaluators = 1;
  auto planned = plan_host(request);
  if (auto* error = std::get_if<PlanError>(&planned)) throw std::runtime_error(error->message);
  return std::move(std::get<HostPlan>(planned));
}

HostConfig https_on_loopback(const std::filesystem::path& dir) {
  HostConfig config;
  config.listen = tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
  config.https = true;
  config.speed = 600;
  config.out = dir / "reports";
  config.work_dir = dir / "work";
  return config;
}

TEST(ExerciseHostEndToEnd, ServesOverHttpsFromItsOwnCaAndWritesTheReportsAtFinish) {
  icegate::testing::TemporaryDirectory dir;
  const HostConfig config = https_on_loopback(dir.path());
  ExerciseHost host(drill_plan(dir.path()), config);
  const HostLinks links = host.start();
  ASSERT_FALSE(links.ca_certificate.empty());
  EXPECT_EQ(links.ca_fingerprint.size(), 32u * 3 - 1);
  ASSERT_TRUE(links.facilitator.starts_with("https://127.0.0.1:"));
  ASSERT_EQ(links.seats.size(), 2u);
  ASSERT_EQ(links.evaluators.size(), 1u);
  HttpsClient client(links.ca_certificate, host.local_endpoint().port());
  const std::string facilitator = path_of(links.facilitator);
  EXPECT_EQ(client.request("GET", "/healthz").body, R"({"ok":true})");
  EXPECT_EQ(client.request("GET", facilitator + "api/ca.crt").body, read_text(links.ca_certificate));
  const JsonValue state = json(client.request("GET", facilitator + "api/state"));
  EXPECT_EQ(state.find("ca_fingerprint")->string, links.ca_fingerprint);
  const auto& seats = state.find("tables")->array.at(0).find("seats")->array;
  ASSERT_EQ(seats.size(), 2u);
  EXPECT_NE(seats[0].find("qr_svg")->string.find("<svg"), std::string::npos) << "each seat's link as a QR code";
  // A client that does not trust the exercise CA gets no connection.
  icegate::testing::TemporaryDirectory other;
  pki::init_ca(other.path() / "pki", "someone else");
  HttpsClient stranger(pki::ca_paths(other.path() / "pki").certificate, host.local_endpoint().port());
  EXPECT_THROW(stranger.request("GET", "/healthz"), std::exception);

  const std::string evaluator = path_of(links.evaluators.at(0).second);
  EXPECT_EQ(client.request("POST", evaluator + "api/rating", R"({"table":0,"objective":"O1","rating":"S","note":"late"})").status,
            202);
  const Reply finish = client.request("POST", facilitator + "api/finish", "{}");
  ASSERT_EQ(finish.status, 202) << finish.body;
  std::ostringstream out, err;
  const int code = host.wait_and_report(out, err);
  EXPECT_EQ(code, 0) << "the drill expects nothing, so nothing is unmet: " << err.str();
  const auto names = host.report_names();
  for (const auto& name : names) EXPECT_TRUE(std::filesystem::exists(config.out / name)) << name;
  const Reply report = client.request("GET", facilitator + "reports/" + names[1]);
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_NE(report.body.find("\"late\""), std::string::npos) << "the evaluator's rating is in the results";
  EXPECT_TRUE(json(client.request("GET", facilitator + "api/state")).find("reports_ready")->boolean);
  host.stop();
}

TEST(ExerciseHostEndToEnd, ASeatSendsThroughTheGatewayAndSeesItsReceipt) {
  icegate::testing::TemporaryDirectory dir;
  const HostConfig config = https_on_loopback(dir.path());
  ExerciseHost host(drill_plan(dir.path()), config);
  const HostLinks links = host.start();
  HttpsClient client(links.ca_certificate, host.local_endpoint().port());
  const std::string facilitator = path_of(links.facilitator);
  const std::string sio = path_of(host.site().seat_link(0, "ctu-sio"));
  const std::string chief = path_of(host.site().seat_link(0, "council-chief-exec"));
  // Paused at the start until the facilitator starts it.
  EXPECT_EQ(client.request("POST", facilitator + "api/control", R"({"table":null,"action":"resume"})").status, 202);
  wait_for(client, sio + "api/seat", [](const JsonValue& v) { return v.find("connected") && v.find("connected")->boolean; });

  // Bad requests first: each refused with its field, none reaches the gateway.
  const Reply unknown = client.request("POST", sio + "api/send", R"({"to":[{"kind":"node","name":"nobody"}],
      "category":"operational-prebriefing","title":"x","portions":[{"label":{"classification":"RESTRICTED"},"body":"b"}]})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(json(unknown).find("field")->string, "to[0].name");
  EXPECT_EQ(client.request("POST", sio + "api/send", "{not json").status, 400);

  const Reply sent = client.request("POST", sio + "api/send", R"({"to":[{"kind":"node","name":"council-chief-exec"}],
      "category":"operational-prebriefing","purpose":"consequence-management","title":"Operation tomorrow",
      "portions":[{"label":{"classification":"TOP SECRET","categories":[]},"body":"Arrests at 06:00 in Sparkhill."},
                  {"label":{"classification":"RESTRICTED","categories":[]},"body":"A police operation tomorrow morning."}]})");
  ASSERT_EQ(sent.status, 202) << sent.body;
  const std::string message_id = json(sent).find("message_id")->string;
  const JsonValue seat = wait_for(client, sio + "api/seat", [](const JsonValue& v) {
    const JsonValue* receipts = v.find("receipts");
    return receipts && !receipts->array.empty() && !receipts->array[0].find("outcomes")->array.empty();
  });
  const JsonValue& receipt = seat.find("receipts")->array.at(0);
  EXPECT_EQ(receipt.find("message_id")->string, message_id);
  const JsonValue& outcome = receipt.find("outcomes")->array.at(0);
  EXPECT_EQ(outcome.find("node")->string, "council-chief-exec");
  EXPECT_EQ(outcome.find("decision")->string, "release_redacted");
  EXPECT_EQ(seat.find("sent")->array.size(), 1u) << "the refused requests left no trace";

  const JsonValue inbox = wait_for(client, chief + "api/seat", [](const JsonValue& v) {
    return v.find("inbox") && !v.find("inbox")->array.empty();
  });
  const JsonValue& delivered = inbox.find("inbox")->array.at(0);
  EXPECT_EQ(delivered.find("title")->string, "Operation tomorrow");
  EXPECT_EQ(delivered.find("from")->string, "ctu-sio");
  ASSERT_EQ(delivered.find("portions")->array.size(), 1u);
  EXPECT_EQ(delivered.find("portions")->array[0].find("body")->string, "A police operation tomorrow morning.");
  ASSERT_EQ(delivered.find("withheld")->array.size(), 1u);
  EXPECT_EQ(delivered.find("withheld")->array[0].find("marking")->string, "TOP SECRET");
  EXPECT_NE(delivered.find("withheld")->array[0].find("reason")->string, "");
  EXPECT_EQ(client.request("GET", chief + "api/seat").body.find("Arrests at 06:00"), std::string::npos)
      << "the TOP SECRET body never reaches the chief's page";

  // The facilitator sees the action with its outcome; the results hold it.
  const JsonValue state = wait_for(client, facilitator + "api/state", [](const JsonValue& v) {
    const auto& actions = v.find("tables")->array.at(0).find("actions")->array;
    return !actions.empty() && !actions[0].find("outcomes")->array.empty();
  });
  EXPECT_EQ(state.find("tables")->array.at(0).find("actions")->array.at(0).find("node")->string, "ctu-sio");
  ASSERT_EQ(client.request("POST", facilitator + "api/finish", "{}").status, 202);
  std::ostringstream out, err;
  EXPECT_EQ(host.wait_and_report(out, err), 0) << err.str();
  ASSERT_EQ(host.results().size(), 1u);
  ASSERT_EQ(host.results()[0].human_actions.size(), 1u);
  EXPECT_EQ(host.results()[0].human_actions[0].message_id, message_id);
  EXPECT_EQ(host.results()[0].played, (std::vector<std::string>{"ctu-sio", "council-chief-exec"}));
  host.stop();
  // The audit trail carried on: intact, holding the person's message, and
  // nothing of the requests the host refused (they never reached the gateway).
  const auto report = audit::verify(host.data_dir(0));
  EXPECT_TRUE(report.intact());
  audit::QueryFilter by_message;
  by_message.message_id = message_id;
  EXPECT_FALSE(audit::query(host.data_dir(0), by_message).empty());
  audit::QueryFilter by_nobody;
  by_nobody.node = "nobody";
  EXPECT_TRUE(audit::query(host.data_dir(0), by_nobody).empty());
}

TEST(ExerciseHostEndToEnd, TwoTablesUnderTwoPoliciesAreComparedInOneReport) {
  icegate::testing::TemporaryDirectory dir;
  drill_plan(dir.path());  // writes drill.yaml
  HostRequest request;
  request.scenario = dir.path() / "drill.yaml";
  request.play = "ctu-sio,council-chief-exec";
  request.compare = std::filesystem::path(ICEGATE_SOURCE_DIR) / "policies" / "need-to-know.yaml";
  auto planned = plan_host(request);
  ASSERT_TRUE(std::holds_alternative<HostPlan>(planned)) << std::get<PlanError>(planned).message;
  const HostConfig config = https_on_loopback(dir.path());
  ExerciseHost host(std::move(std::get<HostPlan>(planned)), config);
  const HostLinks links = host.start();
  ASSERT_EQ(links.seats.size(), 4u) << "each table has its own seats";
  EXPECT_EQ(links.seats[2].first, "need-to-know/ctu-sio");
  HttpsClient client(links.ca_certificate, host.local_endpoint().port());
  const std::string facilitator = path_of(links.facilitator);
  const JsonValue state = json(client.request("GET", facilitator + "api/state"));
  ASSERT_EQ(state.find("tables")->array.size(), 2u);
  EXPECT_EQ(state.find("tables")->array[1].find("policy")->string, "need-to-know.yaml");
  EXPECT_EQ(client.request("POST", facilitator + "api/control", R"({"table":null,"action":"resume"})").status, 202);
  wait_for(client, facilitator + "api/state", [](const JsonValue& v) {
    for (const auto& t : v.find("tables")->array)
      if (t.find("clock")->find("state")->string != "running") return false;
    return true;
  });
  ASSERT_EQ(client.request("POST", facilitator + "api/finish", "{}").status, 202);
  std::ostringstream out, err;
  host.wait_and_report(out, err);
  EXPECT_EQ(err.str(), "");
  ASSERT_EQ(host.results().size(), 2u);
  EXPECT_EQ(host.results()[0].table, "need-to-share");
  EXPECT_EQ(host.results()[1].table, "need-to-know");
  EXPECT_EQ(host.report_names()[0], "host-drill.compare.html");
  for (const auto& name : host.report_names()) EXPECT_TRUE(std::filesystem::exists(config.out / name)) << name;
  host.stop();
}

// Across gateways (issue 18, point 8): the shipped federation's three
// gateways, each with its own PKI, policy, data and loopback address as
// `exercise run` starts them, and a seat at each of two. The CTU's analyst
// sends the two-level profile to the council's Prevent coordinator, a role
// only the council's gateway defines; it crosses the real hop, the SECRET
// portion withheld before it leaves (the council's gateway is accredited to
// OFFICIAL-SENSITIVE), and the coordinator's seat, on the council's gateway,
// has the rest. The facilitator's page, the results and the report name the
// gateway that decided for the recipient; each gateway's trail holds its part.
HostPlan federation_plan(const std::filesystem::path& dir) {
  const auto policies = std::filesystem::path(ICEGATE_SOURCE_DIR) / "policies" / "federation";
  std::ofstream(dir / "federation.yaml") << fmt::format(R"(exercise: host-federation
title: Two seats on two gateways
t0: 2026-11-21T06:00:00Z
start: T-1h
end: T+1h
gateways:
  - id: gw-wm-ctu
    policy: {}
    address: 127.0.0.2
    nodes: [wm-ctu-analyst-1, wm-ctu-sio-1]
  - id: gw-birmingham
    policy: {}
    address: 127.0.0.3
    nodes: [bcc-prevent-coordinator]
  - id: gw-staffordshire
    policy: {}
    address: 127.0.0.4
    nodes: [staffs-ctio-1]
players: [wm-ctu-analyst-1, bcc-prevent-coordinator]
)",
                                                        (policies / "wm-ctu.yaml").string(),
                                                        (policies / "birmingham-cc.yaml").string(),
                                                        (policies / "staffordshire.yaml").string());
  HostRequest request;
  request.scenario = dir / "federation.yaml";
  request.evaluators = 0;
  auto planned = plan_host(request);
  if (auto* error = std::get_if<PlanError>(&planned)) throw std::runtime_error(error->message);
  return std::move(std::get<HostPlan>(planned));
}

TEST(ExerciseHostEndToEnd, ASeatAtOneGatewaySendsToASeatAtAnotherThroughTheRealHop) {
  icegate::testing::TemporaryDirectory dir;
  const HostConfig config = https_on_loopback(dir.path());
  ExerciseHost host(federation_plan(dir.path()), config);
  const HostLinks links = host.start();
  ASSERT_EQ(links.seats.size(), 2u);
  HttpsClient client(links.ca_certificate, host.local_endpoint().port());
  const std::string facilitator = path_of(links.facilitator);
  const std::string analyst = path_of(host.site().seat_link(0, "wm-ctu-analyst-1"));
  const std::string coordinator = path_of(host.site().seat_link(0, "bcc-prevent-coordinator"));
  EXPECT_EQ(client.request("POST", facilitator + "api/control", R"({"table":null,"action":"resume"})").status, 202);
  const JsonValue sender = wait_for(client, analyst + "api/seat", [](const JsonValue& v) {
    return v.find("connected") && v.find("connected")->boolean;
  });
  wait_for(client, coordinator + "api/seat", [](const JsonValue& v) { return v.find("connected")->boolean; });
  EXPECT_EQ(sender.find("gateway")->string, "gw-wm-ctu");

  const Reply sent = client.request("POST", analyst + "api/send", R"({"to":[{"kind":"role","name":"prevent-coordinator"}],
      "category":"ct-problem-profile","purpose":"prevent","title":"Sparkhill profile",
      "portions":[{"label":{"classification":"SECRET","categories":["UK EYES ONLY"]},"body":"Covert sources and associations."},
                  {"label":{"classification":"OFFICIAL-SENSITIVE","categories":[]},"body":"Themes and suggested Prevent activity."}]})");
  ASSERT_EQ(sent.status, 202) << "a role only the council's gateway defines, reached through its peer: " << sent.body;
  const std::string message_id = json(sent).find("message_id")->string;

  const JsonValue inbox = wait_for(client, coordinator + "api/seat", [](const JsonValue& v) {
    return v.find("inbox") && !v.find("inbox")->array.empty();
  });
  EXPECT_EQ(inbox.find("gateway")->string, "gw-birmingham");
  EXPECT_EQ(inbox.find("me")->find("name")->string, "Prevent coordinator, Birmingham City Council")
      << "the seat is shown under its own gateway's policy, not the first gateway's";
  const JsonValue& delivered = inbox.find("inbox")->array.at(0);
  EXPECT_EQ(delivered.find("message_id")->string, message_id);
  EXPECT_EQ(delivered.find("from")->string, "wm-ctu-analyst-1");
  ASSERT_EQ(delivered.find("portions")->array.size(), 1u);
  EXPECT_EQ(delivered.find("portions")->array[0].find("body")->string, "Themes and suggested Prevent activity.");
  EXPECT_EQ(client.request("GET", coordinator + "api/seat").body.find("Covert sources"), std::string::npos)
      << "the SECRET portion never left the CTU's gateway";

  // The facilitator sees each seat at its gateway, and the table's gateways.
  const JsonValue state = json(client.request("GET", facilitator + "api/state"));
  const JsonValue& table = state.find("tables")->array.at(0);
  ASSERT_NE(table.find("gateways"), nullptr);
  ASSERT_EQ(table.find("gateways")->array.size(), 3u);
  EXPECT_EQ(table.find("gateways")->array[1].find("id")->string, "gw-birmingham");
  const auto& seats = table.find("seats")->array;
  ASSERT_EQ(seats.size(), 2u);
  EXPECT_EQ(seats[0].find("gateway")->string, "gw-wm-ctu");
  EXPECT_EQ(seats[1].find("gateway")->string, "gw-birmingham");
  EXPECT_EQ(seats[1].find("name")->string, "Prevent coordinator, Birmingham City Council");

  ASSERT_EQ(client.request("POST", facilitator + "api/finish", "{}").status, 202);
  std::ostringstream out, err;
  EXPECT_EQ(host.wait_and_report(out, err), 0) << err.str();
  ASSERT_EQ(host.results().size(), 1u);
  const RunResult& result = host.results()[0];
  ASSERT_EQ(result.gateways.size(), 3u);
  EXPECT_EQ(result.gateway_of("bcc-prevent-coordinator"), "gw-birmingham");
  bool crossed = false;
  for (const auto& e : result.timeline)
    crossed |= e.kind == TimelineEntry::Kind::delivered && e.node == "bcc-prevent-coordinator" &&
               e.message_id == message_id && e.released.size() == 1;
  EXPECT_TRUE(crossed) << "the timeline holds the delivery at the other gateway";
  const auto names = host.report_names();
  EXPECT_EQ(names[0], "host-federation.wm-ctu+birmingham-cc+staffordshire.html") << "named as `exercise run` names it";
  const std::string html = read_text(config.out / names[0]);
  EXPECT_NE(html.find("bcc-prevent-coordinator<div class=\"muted\">decided at gw-birmingham</div>"), std::string::npos)
      << "the report names the gateway that decided for the recipient";
  host.stop();

  // Each gateway's own trail, intact, holds its part of the hop.
  audit::QueryFilter forwarded;
  forwarded.message_id = message_id;
  forwarded.kind = "peer_forward";
  audit::QueryFilter received = forwarded;
  received.kind = "peer_receive";
  for (const std::string gateway : {"gw-wm-ctu", "gw-birmingham"})
    EXPECT_TRUE(audit::verify(host.data_dir(0, gateway)).intact()) << gateway;
  EXPECT_FALSE(audit::query(host.data_dir(0, "gw-wm-ctu"), forwarded).empty());
  EXPECT_FALSE(audit::query(host.data_dir(0, "gw-birmingham"), received).empty());
  EXPECT_TRUE(audit::query(host.data_dir(0, "gw-staffordshire"), forwarded).empty())
      << "a gateway the message was not for saw nothing of it";
}

}  // namespace
}  // namespace icegate::exercise::host

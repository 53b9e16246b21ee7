// The dashboard's plain-C++ parts, without a network: request bodies, access
// rules, the metrics text and the embedded files.
#include <gtest/gtest.h>

#include "gateway/http/access.hpp"
#include "gateway/http/assets.hpp"
#include "gateway/http/json_body.hpp"
#include "gateway/http/metrics_text.hpp"

namespace icegate::http {
namespace {

TEST(JsonBody, ReadsAnObjectOfStringsWithEscapes) {
  const auto result = parse_string_object(R"( {"decision":"approve", "reviewer":"reader",
      "reason":"fine \"as is\" \u00e9\ud83d\ude00\n"} )");
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.values.at("decision"), "approve");
  EXPECT_EQ(result.values.at("reviewer"), "reader");
  EXPECT_EQ(result.values.at("reason"), "fine \"as is\" \xc3\xa9\xf0\x9f\x98\x80\n");
  EXPECT_TRUE(parse_string_object("{}").ok());
}

TEST(JsonBody, SaysWhatIsWrongAndWhere) {
  EXPECT_EQ(parse_string_object(R"({"a":1})").error, "at offset 5: the value of \"a\" must be a string");
  EXPECT_EQ(parse_string_object(R"({"a":"x" "b":"y"})").error, "at offset 9: expected '}'");
  EXPECT_EQ(parse_string_object(R"({"a":"x","a":"y"})").error, "at offset 9: a key appears twice");
  EXPECT_EQ(parse_string_object(R"({"a":"x)").error, "at offset 7: a string is not closed");
  EXPECT_EQ(parse_string_object(R"({"a":"\q"})").error, "at offset 7: an unknown escape");
  EXPECT_EQ(parse_string_object(R"({"a":"\ud800"})").error, "at offset 12: an unpaired surrogate");
  EXPECT_EQ(parse_string_object(R"({"a":"x"} trailing)").error, "at offset 10: unexpected text after the object");
  EXPECT_EQ(parse_string_object("").error, "at offset 0: expected '{' before the end");
  EXPECT_EQ(parse_string_object("[\"a\"]").error, "at offset 0: expected '{'");
  EXPECT_FALSE(parse_string_object("{\"a\":\"line\nbreak\"}").ok()) << "raw control characters are not JSON";
}

// The reader's words and places for each kind of mistake, as the hand-written
// reader before Boost.JSON gave them (the API's 400 replies quote them).
TEST(JsonBody, KeepsItsWordsAndPlacesForEveryKindOfMistake) {
  EXPECT_EQ(parse_json("[\"\\u12G4\"]").error, "at offset 7: a \\u escape needs four hex digits");
  EXPECT_EQ(parse_json("[\"\\u12").error, "at offset 4: a \\u escape needs four hex digits");
  EXPECT_EQ(parse_json("[\"\\udc00\"]").error, "at offset 8: an unpaired surrogate");
  EXPECT_EQ(parse_json("[\"\\ud800\\u0041\"]").error, "at offset 14: an unpaired surrogate");
  EXPECT_EQ(parse_json("[\"\\ud800\\u00\"]").error, "at offset 13: a \\u escape needs four hex digits");
  EXPECT_EQ(parse_json("[\"a\x01\"]").error, "at offset 3: a control character inside a string");
  EXPECT_EQ(parse_json("-").error, "at offset 1: a number needs digits");
  EXPECT_EQ(parse_json("1.").error, "at offset 2: a number needs digits");
  EXPECT_EQ(parse_json("1e+").error, "at offset 3: a number needs digits");
  EXPECT_EQ(parse_json("[-]").error, "at offset 2: a number needs digits");
  EXPECT_EQ(parse_json("1e999").error, "at offset 0: a number out of range");
  EXPECT_EQ(parse_json("[0 1]").error, "at offset 3: expected ']'");
  EXPECT_EQ(parse_json("[01]").error, "at offset 1: a number may not start with 0");
  EXPECT_EQ(parse_json("[truex]").error, "at offset 5: expected ']'");
  EXPECT_EQ(parse_json("nul").error, "at offset 0: expected a value");
  EXPECT_EQ(parse_json("{\"a\" 1}").error, "at offset 5: expected ':'");
  EXPECT_EQ(parse_json("{,}").error, "at offset 1: expected '\"'");
  EXPECT_EQ(parse_json("{\"a\":1,}").error, "at offset 7: expected '\"'");
  EXPECT_EQ(parse_json("[1").error, "at offset 2: expected ']' before the end");
  EXPECT_EQ(parse_json("{\"a\":").error, "at offset 5: expected a value before the end");
  EXPECT_EQ(parse_json("\"abc\\").error, "at offset 5: a string is not closed");
  EXPECT_EQ(parse_string_object("{\"a\":\"x\",\"a\":1}").error, "at offset 13: the value of \"a\" must be a string");
  EXPECT_EQ(parse_string_object("{\"a\":tru}").error, "at offset 5: the value of \"a\" must be a string");
  EXPECT_EQ(parse_string_object("{\"a\":{}}").error, "at offset 5: the value of \"a\" must be a string");
  EXPECT_EQ(parse_string_object("{\"a\":").error, "at offset 5: the value of \"a\" must be a string");
  EXPECT_EQ(parse_string_object("  \"abc").error, "at offset 2: expected '{'");
  EXPECT_EQ(parse_string_object("{\"a\" \"x\"}").error, "at offset 5: expected ':'");
}

TEST(Access, LoopbackIsAll127And1) {
  EXPECT_TRUE(is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(is_loopback_address("127.0.0.2")) << "all of 127.0.0.0/8 is loopback";
  EXPECT_TRUE(is_loopback_address("::1"));
  EXPECT_TRUE(is_loopback_address("[::1]"));
  EXPECT_TRUE(is_loopback_address("::ffff:127.0.0.1"));
  EXPECT_FALSE(is_loopback_address("0.0.0.0"));
  EXPECT_FALSE(is_loopback_address("::"));
  EXPECT_FALSE(is_loopback_address("192.168.1.10"));
  EXPECT_FALSE(is_loopback_address("localhost")) << "a name is not an address";
}

TEST(Access, BeyondLoopbackATokenIsMadeUnlessGiven) {
  const auto loopback = access_for("127.0.0.1", "");
  EXPECT_TRUE(loopback.loopback);
  EXPECT_TRUE(loopback.token.empty());
  const auto anywhere = access_for("0.0.0.0", "");
  EXPECT_FALSE(anywhere.loopback);
  EXPECT_EQ(anywhere.token.size(), 64u);
  EXPECT_NE(anywhere.token, access_for("0.0.0.0", "").token) << "random, not fixed";
  EXPECT_EQ(access_for("0.0.0.0", "given-token-0123456789").token, "given-token-0123456789");
  EXPECT_EQ(dashboard_url("0.0.0.0", 8080, access_for("0.0.0.0", "a b&c/0123456789ab")),
            "http://0.0.0.0:8080/?token=a%20b%26c%2F0123456789ab");
  EXPECT_EQ(dashboard_url("::1", 80, loopback), "http://[::1]:80/");
}

TEST(Access, TokenFromHeaderOrQueryComparedExactly) {
  const AccessPolicy policy{false, "s3cret-token-0123456789"};
  Request request{"GET", "/api/state", "10.0.0.5:8080", "", "", "", ""};
  auto refused = check_access(policy, request, false);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  request.authorization = "Bearer s3cret-token-0123456789";
  EXPECT_FALSE(check_access(policy, request, false));
  request.authorization = "bearer s3cret-token-0123456789";
  EXPECT_FALSE(check_access(policy, request, false)) << "the scheme is case-insensitive";
  request.authorization = "Bearer s3cret-token-012345678";
  EXPECT_EQ(check_access(policy, request, false)->status, 401) << "a prefix of the token is not the token";
  request.authorization.clear();
  request.target = "/api/state?x=1&token=s3cret-token-0123456789";
  EXPECT_FALSE(check_access(policy, request, false));
  request.target = "/api/state?token=s3cret%2Dtoken-0123456789";
  EXPECT_FALSE(check_access(policy, request, false)) << "percent-decoded";
  request.target = "/api/state?token=wrong";
  EXPECT_EQ(check_access(policy, request, false)->status, 401);
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(Access, OnLoopbackOnlyLoopbackHostsAndOwnOrigin) {
  const AccessPolicy policy{true, ""};
  Request request{"GET", "/api/state", "127.0.0.1:8080", "", "", "", ""};
  EXPECT_FALSE(check_access(policy, request, false));
  request.host = "localhost:8080";
  EXPECT_FALSE(check_access(policy, request, false));
  request.host = "[::1]:8080";
  EXPECT_FALSE(check_access(policy, request, false));
  request.host = "evil.example:8080";  // DNS rebinding: a foreign name resolving to 127.0.0.1
  EXPECT_EQ(check_access(policy, request, false)->status, 403);

  request.host = "127.0.0.1:8080";
  request.method = "POST";
  request.origin = "http://127.0.0.1:8080";
  EXPECT_FALSE(check_access(policy, request, true));
  request.origin = "http://evil.example";
  const auto refused = check_access(policy, request, true);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_NE(refused->body.find("cross-origin request from 'http://evil.example' refused"), std::string::npos);
  request.origin.clear();  // curl and scripts send no Origin
  EXPECT_FALSE(check_access(policy, request, true));
}

TEST(Api, QueryParametersAndPaths) {
  EXPECT_EQ(target_path("/api/state?token=x#y"), "/api/state");
  EXPECT_EQ(query_parameter("/ws?since=42&token=a+b%21", "since"), "42");
  EXPECT_EQ(query_parameter("/ws?since=42&token=a+b%21", "token"), "a b!");
  EXPECT_EQ(query_parameter("/ws?sincex=1", "since"), "");
  EXPECT_EQ(query_parameter("/ws?token=%zz", "token"), "") << "a malformed escape is no token";
}

TEST(Metrics, PrometheusTextWithACumulativeHistogram) {
  server::GatewayMetrics metrics;
  metrics.messages_submitted = 3;
  metrics.decisions = {4, 2, 1, 5};
  metrics.frames_in = 7;
  metrics.frames_out = 9;
  metrics.decision_latency.observe(2e-6);   // le 2.5e-6
  metrics.decision_latency.observe(3e-6);   // le 5e-6
  metrics.decision_latency.observe(0.5);    // +Inf only
  Gauges gauges;
  gauges.connections = 2;
  gauges.outbox = 6;
  gauges.holds = 1;
  const std::string text = render_metrics(metrics, gauges);
  for (const char* line : {
           "# TYPE icegate_messages_submitted_total counter\nicegate_messages_submitted_total 3\n",
           "icegate_decisions_total{decision=\"release\"} 4\n",
           "icegate_decisions_total{decision=\"release_redacted\"} 2\n",
           "icegate_decisions_total{decision=\"hold\"} 1\n",
           "icegate_decisions_total{decision=\"deny\"} 5\n",
           "icegate_connections 2\n",
           "icegate_queue_depth{queue=\"outbox\"} 6\n",
           "icegate_holds 1\n",
           "# TYPE icegate_decision_latency_seconds histogram\n",
           "icegate_decision_latency_seconds_bucket{le=\"1e-06\"} 0\n",
           "icegate_decision_latency_seconds_bucket{le=\"2.5e-06\"} 1\n",
           "icegate_decision_latency_seconds_bucket{le=\"5e-06\"} 2\n",
           "icegate_decision_latency_seconds_bucket{le=\"0.01\"} 2\n",
           "icegate_decision_latency_seconds_bucket{le=\"+Inf\"} 3\n",
           "icegate_decision_latency_seconds_count 3\n",
           "icegate_frames_total{direction=\"in\"} 7\n",
           "icegate_frames_total{direction=\"out\"} 9\n",
       })
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << text;
  EXPECT_EQ(text.back(), '\n');
}

TEST(Metrics, TheVerifyCacheIsReportedOnlyWhenThereIsOne) {
  server::GatewayMetrics metrics;
  Gauges gauges;
  EXPECT_EQ(render_metrics(metrics, gauges).find("icegate_tls_"), std::string::npos);
  gauges.verify_cache = transport::VerifiedChainCacheStats{.hits = 5, .misses = 2, .bypassed = 1, .entries = 2};
  const std::string text = render_metrics(metrics, gauges);
  for (const char* line : {"icegate_tls_chain_verifications_total{result=\"cached\"} 5\n",
                           "icegate_tls_chain_verifications_total{result=\"full\"} 3\n",
                           "icegate_tls_verify_cache_entries 2\n"})
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << text;
}

TEST(Metrics, TheStoresCountersAreReportedWhenGiven) {
  server::GatewayMetrics metrics;
  Gauges gauges;
  EXPECT_EQ(render_metrics(metrics, gauges).find("icegate_store_"), std::string::npos);
  gauges.store = store::StoreStats{
      .commits = 4, .operations = 9, .failed_commits = 1, .syncs = 3, .checkpoints = 2, .checkpoint_us = 1'500'000};
  const std::string text = render_metrics(metrics, gauges);
  for (const char* line : {"# TYPE icegate_store_commits_total counter\nicegate_store_commits_total 4\n",
                           "icegate_store_operations_total 9\n", "icegate_store_failed_commits_total 1\n",
                           "icegate_store_syncs_total 3\n", "icegate_store_checkpoints_total 2\n",
                           "icegate_store_checkpoint_seconds_total 1.5\n"})
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << text;
}

TEST(Assets, ThePageIsEmbeddedAndServedByName) {
  const Asset* index = find_asset("index.html");
  ASSERT_TRUE(index) << "gateway/http/web/index.html is embedded";
  EXPECT_NE(index->body.find("<html"), std::string_view::npos);
  EXPECT_EQ(find_asset("../CMakeLists.txt"), nullptr);
  EXPECT_EQ(find_asset("/index.html"), nullptr);
  EXPECT_EQ(find_asset("nope.js"), nullptr);
  const auto assets = embedded_assets();
  EXPECT_TRUE(std::is_sorted(assets.begin(), assets.end(),
                             [](const Asset& a, const Asset& b) { return a.name < b.name; }));
  EXPECT_EQ(content_type_for("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("app.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("logo.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("blob"), "application/octet-stream");
}

}  // namespace
}  // namespace icegate::http

// The exercise host's site at its API, with plain requests over Tables filled
// by hand: who may read and do what, every error named with its field, and
// that a bad request changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <unistd.h>

#include "clients/exercise/host/form.hpp"
#include "clients/exercise/host/host_site.hpp"
#include "clients/exercise/table.hpp"
#include "gateway/http/json_body.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::exercise::host {
namespace {

using http::JsonValue;
using http::Request;
using http::Response;

std::shared_ptr<const policy::CompiledPolicy> shipped_policy(const char* name) {
  auto loaded = policy::load_policy(std::filesystem::path(ICEGATE_SOURCE_DIR) / "policies" / name);
  if (!loaded.policy) throw std::runtime_error("the shipped policy does not load");
  return loaded.policy;
}

JsonValue parse(const Response& response) {
  auto parsed = http::parse_json(response.body);
  EXPECT_TRUE(parsed.ok()) << parsed.error << " in " << response.body;
  return parsed.value;
}

std::string text(const JsonValue& object, std::string_view key) {
  const JsonValue* v = object.find(key);
  return v && v->type == JsonValue::Type::string ? v->string : std::string("<absent>");
}

std::string header(const Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers)
    if (key == name) return value;
  return {};
}

// A message the chief executive received: a RESTRICTED portion, and a SECRET one withheld.
SeatDelivery two_level_delivery(const std::string& title) {
  SeatDelivery d;
  d.at = std::chrono::hours(-20);
  d.message.id = make_uuid();
  d.message.originator = "ctu-sio";
  d.message.title = title;
  d.message.category = "ct-problem-profile";
  d.message.label = {"RESTRICTED", {}};
  d.message.portions = {{"2", {"RESTRICTED", {}}, "partner version: " + title}};
  d.decision = Decision::release_redacted;
  d.withheld = {{"1", {"SECRET", {}}, "SECRET is above BPSS's ceiling RESTRICTED", {}}};
  d.reason = "redacted for the recipient";
  d.inject = "I03";
  return d;
}

constexpr const char* chief = "council-chief-exec";
constexpr const char* officer = "npt-officer";
constexpr const char* sio = "ctu-sio";

class HostSiteTest : public ::testing::Test {
 protected:
  HostSiteTest() {
    scenario_ = load_scenario(std::filesystem::path(ICEGATE_SOURCE_DIR) / "scenarios" / "operation-nicole.yaml");
    MediaItem media;
    media.id = "M1";
    media.kind = "news";
    media.source = "Birmingham Mail";
    media.headline = "Police activity in Sparkhill";
    scenario_.media.push_back(media);
    for (auto* table : {&first_, &second_}) {
      table->set_policy(shipped_policy(table == &first_ ? "need-to-share.yaml" : "need-to-know.yaml"));
      TableStatus status;
      status.state = "running";
      status.now = std::chrono::hours(-10);
      status.t0_unix_ms = 1'700'000'000'000;
      status.speed = 60;
      table->set_status(status);
    }
    HostActions actions;
    actions.control = [this](std::optional<std::size_t> table, std::string_view action, double speed) {
      controls_.push_back(fmt::format("{}:{}:{}", table ? std::to_string(*table) : "all", action, speed));
    };
    actions.finish = [this] {
      ++finishes_;
      return std::vector<std::string>{"operation-nicole.compare.html", "operation-nicole.compare.json"};
    };
    HostOptions options;
    options.evaluators = {"Lead evaluator", "Second evaluator"};
    options.base_url = "https://10.0.0.5:8443";
    options.reports_dir = reports_dir_;
    options.clock = [this] { return now_; };
    options.qr_svg = [this](std::string_view link) {
      ++qr_codes_made_;
      return "<svg>" + std::string(link) + "</svg>";
    };
    site_ = std::make_unique<HostSite>(scenario_,
                                       std::vector<HostTable>{{&first_, "need-to-share.yaml", nullptr},
                                                              {&second_, "need-to-know.yaml", nullptr}},
                                       actions, options);
  }
  ~HostSiteTest() override {
    std::error_code ignored;
    std::filesystem::remove_all(reports_dir_, ignored);
  }

  // The path of a link, without the scheme and host.
  static std::string path_of(const std::string& link) { return link.substr(link.find('/', 8)); }
  std::string seat(std::size_t table, const std::string& node) const { return path_of(site_->seat_link(table, node)); }
  std::string facilitator() const { return path_of(site_->facilitator_link()); }
  std::string evaluator(std::size_t e) const { return path_of(site_->evaluator_link(e)); }

  Response get(const std::string& target) {
    now_ += std::chrono::milliseconds(100);  // ten a second: within every limit
    return site_->handle(Request{"GET", target, "10.0.0.5:8443", "", "", "", ""});
  }
  Response post(const std::string& target, std::string body, std::string type = "application/json") {
    now_ += std::chrono::milliseconds(100);
    return site_->handle(Request{"POST", target, "10.0.0.5:8443", "https://10.0.0.5:8443", "", type, std::move(body)});
  }
  void expect_error(const Response& r, int status, const std::string& field, const std::string& contains = "") {
    EXPECT_EQ(r.status, status) << r.body;
    const JsonValue body = parse(r);
    EXPECT_EQ(field.empty() ? std::string("<absent>") : field, text(body, "field")) << r.body;
    if (!contains.empty()) {
      EXPECT_NE(text(body, "error").find(contains), std::string::npos) << r.body;
    }
  }

  static std::string send_body(const std::string& to_kind, const std::string& to, const std::string& classification,
                               const std::string& body = "Pre-briefing", const std::string& extra = "") {
    return fmt::format(R"({{"to":[{{"kind":"{}","name":"{}"}}],"category":"operational-prebriefing","purpose":"consequence-management",
      "title":"Briefing","portions":[{{"label":{{"classification":"{}","categories":[]}},"body":"{}"}}]{}}})",
                       to_kind, to, classification, body, extra);
  }

  Scenario scenario_;
  Table first_{"need-to-share", {chief, officer, sio}};
  Table second_{"need-to-know", {chief, sio}};
  std::filesystem::path reports_dir_ =
      std::filesystem::temp_directory_path() / ("icegate-host-test-" + std::to_string(::getpid()));
  std::chrono::steady_clock::time_point now_{};
  std::vector<std::string> controls_;
  int finishes_ = 0;
  int qr_codes_made_ = 0;
  std::unique_ptr<HostSite> site_;
};

TEST(JsonValue, ParsesNestedBodiesAndNamesWhatIsWrong) {
  auto ok = http::parse_json(R"({"to":[{"kind":"node","name":"x"}],"n":-1.5e2,"t":true,"z":null,"s":"\u00e9"})");
  ASSERT_TRUE(ok.ok()) << ok.error;
  EXPECT_EQ(ok.value.find("to")->array.at(0).find("name")->string, "x");
  EXPECT_EQ(ok.value.find("n")->number, -150);
  EXPECT_TRUE(ok.value.find("t")->boolean);
  EXPECT_TRUE(ok.value.find("z")->is_null());
  EXPECT_EQ(ok.value.find("s")->string, "\xc3\xa9");
  EXPECT_EQ(http::parse_json(R"({"a":1,"a":2})").error, "at offset 7: a key appears twice");
  EXPECT_EQ(http::parse_json("[1,]").error, "at offset 3: expected a value");
  EXPECT_EQ(http::parse_json("01").error, "at offset 0: a number may not start with 0");
  EXPECT_EQ(http::parse_json("{} x").error, "at offset 3: unexpected text after the value");
  EXPECT_EQ(http::parse_json(std::string(40, '[') + std::string(40, ']')).error, "at offset 16: nested too deeply");
  EXPECT_FALSE(http::parse_json("tru").ok());
  EXPECT_FALSE(http::parse_json("").ok());
}

TEST_F(HostSiteTest, AnUnknownKeyGetsTheSameAnswerUnderEveryPrefix) {
  const std::string wrong(64, 'a');
  for (const std::string prefix : {"/s/", "/f/", "/e/"}) {
    const Response r = get(prefix + wrong + "/api/seat");
    expect_error(r, 404, "", "no seat, evaluator or facilitator has this key");
  }
  // A seat's own key under another prefix opens nothing.
  const std::string seat_key = seat(0, chief).substr(3, 64);
  expect_error(get("/f/" + seat_key + "/api/state"), 404, "", "no seat, evaluator or facilitator has this key");
  expect_error(get("/e/" + seat_key + "/api/state"), 404, "", "no seat, evaluator or facilitator has this key");
  expect_error(get("/f/" + seat_key + "/t/0/api/state"), 404, "", "no seat, evaluator or facilitator has this key");
  EXPECT_EQ(get("/healthz").body, R"({"ok":true})");
  EXPECT_TRUE(site_->seat_link(0, "ctu-analyst").empty()) << "nobody plays it: no seat";
  EXPECT_NE(seat(0, chief), seat(1, chief)) << "a seat per table";
  EXPECT_TRUE(site_->facilitator_link().starts_with("https://10.0.0.5:8443/f/"));
}

TEST_F(HostSiteTest, ASeatReadsOnlyItsOwnInboxWithTheSchemesMarkings) {
  first_.add_delivery(chief, two_level_delivery("for the chief"));
  first_.add_delivery(officer, two_level_delivery("for the officer"));
  second_.add_delivery(chief, two_level_delivery("at the other table"));
  const Response r = get(seat(0, chief) + "api/seat");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  EXPECT_EQ(header(r, "Referrer-Policy"), "no-referrer");
  const JsonValue view = parse(r);
  EXPECT_EQ(text(*view.find("me"), "node"), chief);
  EXPECT_EQ(text(*view.find("me"), "vetting"), "BPSS");
  EXPECT_EQ(text(view, "table"), "need-to-share");
  const auto& inbox = view.find("inbox")->array;
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(text(inbox[0], "title"), "for the chief");
  EXPECT_EQ(text(inbox[0], "decision"), "release_redacted") << "decisions as the contract writes them";
  EXPECT_EQ(r.body.find("for the officer"), std::string::npos) << "another seat's inbox never shows";
  EXPECT_EQ(r.body.find("at the other table"), std::string::npos) << "nor another table's";
  const JsonValue& portion = inbox[0].find("portions")->array.at(0);
  EXPECT_EQ(text(portion, "marking"), "RESTRICTED");
  EXPECT_TRUE(text(portion, "colour").starts_with("#")) << "the scheme's colour";
  const JsonValue& withheld = inbox[0].find("withheld")->array.at(0);
  EXPECT_EQ(text(withheld, "marking"), "SECRET");
  EXPECT_EQ(text(withheld, "reason"), "SECRET is above BPSS's ceiling RESTRICTED");
  EXPECT_EQ(withheld.find("body"), nullptr) << "a withheld portion has no body";
  // The directory and the scheme come from the policy.
  EXPECT_FALSE(view.find("directory")->find("roles")->array.empty());
  EXPECT_EQ(text(view.find("scheme")->find("classifications")->array.at(0), "name"), "NOT PROTECTIVELY MARKED");
}

TEST_F(HostSiteTest, AReloadGetsTheSameViewAndAPollSeesNothingChanged) {
  first_.add_delivery(chief, two_level_delivery("kept"));
  const Response a = get(seat(0, chief) + "api/seat?page=laptop");
  const Response b = get(seat(0, chief) + "api/seat?page=laptop");
  EXPECT_EQ(a.body, b.body) << "the inbox is the table's, not the page's";
  const auto version = static_cast<std::int64_t>(parse(a).find("version")->number);
  const Response poll = get(seat(0, chief) + fmt::format("api/seat?page=laptop&since={}", version));
  EXPECT_EQ(poll.body, fmt::format(R"({{"version":{},"unchanged":true}})", version));
  first_.add_delivery(chief, two_level_delivery("new"));
  const Response changed = get(seat(0, chief) + fmt::format("api/seat?page=laptop&since={}", version));
  EXPECT_EQ(parse(changed).find("inbox")->array.size(), 2u);
}

TEST_F(HostSiteTest, TwoBrowsersOnOneSeatBothSeeItAndTheSeatCountsThem) {
  get(seat(0, chief) + "api/seat?page=laptop");
  const JsonValue both = parse(get(seat(0, chief) + "api/seat?page=phone"));
  EXPECT_EQ(both.find("pages_open")->number, 2);
  EXPECT_EQ(post(seat(0, chief) + "api/send?page=phone", send_body("node", officer, "RESTRICTED")).status, 202)
      << "both may act";
  EXPECT_EQ(get(seat(0, chief) + "assets/console.css").status, 200);
  EXPECT_EQ(parse(get(seat(0, chief) + "api/seat?page=phone")).find("pages_open")->number, 2)
      << "a page's files are not another page";
  const JsonValue before = parse(get(facilitator() + "api/state"));
  EXPECT_EQ(before.find("tables")->array[0].find("seats")->array[0].find("pages_open")->number, 2);
  now_ += std::chrono::seconds(11);  // both closed: the facilitator's poll notices
  const auto version = static_cast<std::int64_t>(before.find("version")->number);
  const JsonValue after = parse(get(facilitator() + fmt::format("api/state?since={}", version)));
  ASSERT_NE(after.find("tables"), nullptr) << "the seat list changed";
  EXPECT_EQ(after.find("tables")->array[0].find("seats")->array[0].find("pages_open")->number, 0);
  EXPECT_EQ(parse(get(seat(0, chief) + "api/seat?page=phone")).find("pages_open")->number, 1);
}

// A seat may mark one portion SECRET and another OFFICIAL-SENSITIVE LOCSEN
// (GSC: LOCSEN only with OFFICIAL-SENSITIVE). No overall label holds both, so
// none is set and the gateway marks the message from its portions, as for a
// scripted inject; before, the seat's message went out as "SECRET LOCSEN" and
// was refused ("category 'LOCSEN' is not allowed at SECRET").
TEST(HostForm, AnOverallLabelTheSchemeRefusesIsLeftForTheGatewayToMark) {
  const auto policy = shipped_policy("federation/wm-ctu.yaml");
  ComposedMessage composed;
  composed.spec.to = {{AddresseeKind::node, "wm-ctu-sio-1"}};
  composed.spec.category = "operational-prebriefing";
  composed.spec.portions = {Portion{"1", Label{"SECRET", {}}, "source detail"},
                            Portion{"2", Label{"OFFICIAL-SENSITIVE", {"LOCSEN"}}, "for the council"}};
  const Message mixed = to_message(composed, "wm-ctu-analyst-1", *policy, 1'700'000'000'000, Offset{0});
  EXPECT_TRUE(mixed.label.classification.empty()) << to_string(mixed.label);
  composed.spec.portions[1].label = Label{"OFFICIAL-SENSITIVE", {}};
  const Message plain = to_message(composed, "wm-ctu-analyst-1", *policy, 1'700'000'000'000, Offset{0});
  EXPECT_EQ(plain.label, (Label{"SECRET", {}})) << "a bound the scheme allows is still set";
}

TEST_F(HostSiteTest, ASendActsOnlyAsTheSeatsOwnNode) {
  const Response r = post(seat(0, chief) + "api/send", send_body("role", "bcu-commander", "RESTRICTED"));
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = text(parse(r), "message_id");
  const auto commands = first_.take_commands();
  ASSERT_EQ(commands.size(), 1u);
  const auto& send = std::get<SendCommand>(commands[0]);
  EXPECT_EQ(send.node, chief);
  EXPECT_EQ(send.message.originator, chief);
  EXPECT_EQ(send.message.id, id);
  EXPECT_EQ(send.message.label.classification, "RESTRICTED");
  EXPECT_EQ(send.message.created_unix_ms, 1'700'000'000'000 - 10 * 3'600'000);
  EXPECT_TRUE(second_.take_commands().empty()) << "the other table is untouched";
  // A page cannot name another originator: there is no such field.
  expect_error(post(seat(0, chief) + "api/send", send_body("node", officer, "RESTRICTED", "x", R"(,"from":"ctu-sio")")),
               400, "from", "unknown key");
  // The sent list shows it queued.
  const JsonValue view = parse(get(seat(0, chief) + "api/seat"));
  EXPECT_EQ(text(view.find("sent")->array.at(0), "state"), "queued");
}

TEST_F(HostSiteTest, TheFacilitatorAndEvaluatorsSeeWhatPeopleDidAsTheRunnerRecordedIt) {
  HumanAction action;
  action.at = std::chrono::hours(-9);
  action.node = chief;
  action.kind = HumanAction::Kind::send;
  action.title = "Briefing";
  action.to = {"node:npt-officer"};
  action.labels = {"RESTRICTED"};
  action.prompted_by = "I03";
  action.response_time = std::chrono::minutes(90);
  ActionOutcome outcome;
  outcome.node = officer;
  outcome.decision = Decision::release;
  action.outcomes = {outcome};
  first_.set_human_actions({action});
  first_.note_fired("I03");
  const JsonValue state = parse(get(facilitator() + "api/state"));
  const JsonValue& table = state.find("tables")->array.at(0);
  EXPECT_EQ(table.find("human_actions")->number, 1);
  const JsonValue& shown = table.find("actions")->array.at(0);
  EXPECT_EQ(text(shown, "kind"), "send");
  EXPECT_EQ(text(shown, "at"), "T-9h");
  EXPECT_EQ(text(shown, "response_time"), "1h30m");
  EXPECT_EQ(text(shown.find("outcomes")->array.at(0), "decision"), "release");
  const auto& injects = table.find("injects")->array;
  for (const auto& inject : injects)
    EXPECT_EQ(inject.find("fired")->boolean, text(inject, "id") == "I03") << text(inject, "id");
  EXPECT_EQ(state.find("tables")->array.at(1).find("human_actions")->number, 0) << "the other table's people did nothing";
  const JsonValue evaluator_view = parse(get(evaluator(0) + "api/state"));
  EXPECT_EQ(text(evaluator_view.find("tables")->array.at(0).find("human_actions")->array.at(0), "title"), "Briefing");
}

TEST_F(HostSiteTest, BadSendsAreNamedAndChangeNothing) {
  const std::string send = seat(0, chief) + "api/send";
  expect_error(post(send, send_body("node", "nobody-at-all", "RESTRICTED")), 400, "to[0].name", "no node 'nobody-at-all'");
  expect_error(post(send, send_body("team", officer, "RESTRICTED")), 400, "to[0].kind", "unknown addressee kind");
  expect_error(post(send, send_body("node", officer, "ULTRA")), 400, "portions[0].label.classification",
               "no classification 'ULTRA'");
  expect_error(post(send, send_body("node", officer, "RESTRICTED", std::string(16 * 1024 + 1, 'x'))), 400,
               "portions[0].body", "at most 16384");
  expect_error(post(send, R"({"to":)"), 400, "", "not valid JSON");
  expect_error(post(send, "[]"), 400, "", "must be a JSON object");
  expect_error(post(send, send_body("node", officer, "RESTRICTED"), "text/plain"), 415, "");
  expect_error(post(send, std::string(64 * 1024 + 1, ' ')), 413, "");
  expect_error(post(send, send_body("node", officer, "RESTRICTED", "x", R"(,"in_reply_to":"not-mine")")), 400,
               "in_reply_to", "not in this seat's inbox");
  expect_error(post(send, send_body("node", officer, "RESTRICTED", "x", R"(,"handling":{"embargo_event":"never"})")),
               400, "handling.embargo_event", "no event 'never'");
  std::string many = R"({"to":[{"kind":"node","name":"npt-officer"}],"category":"tension-report","title":"t","portions":[)";
  for (int i = 0; i < 21; ++i) many += std::string(i ? "," : "") + R"({"label":{"classification":"RESTRICTED"},"body":"b"})";
  expect_error(post(send, many + "]}"), 400, "portions", "at most 20");
  expect_error(post(seat(0, chief) + "api/seat", "{}"), 405, "");
  EXPECT_TRUE(first_.take_commands().empty()) << "a bad request changes nothing";
  EXPECT_TRUE(parse(get(seat(0, chief) + "api/seat")).find("sent")->array.empty());
  // ...and the exercise and the other seats carry on.
  EXPECT_EQ(post(seat(0, officer) + "api/send", send_body("node", chief, "NOT PROTECTIVELY MARKED")).status, 202);
  EXPECT_EQ(post(send, send_body("node", officer, "RESTRICTED")).status, 202);
  EXPECT_EQ(first_.take_commands().size(), 2u);
}

TEST_F(HostSiteTest, AReplyNamesAMessageInTheSeatsInbox) {
  const SeatDelivery delivery = two_level_delivery("reply to me");
  first_.add_delivery(chief, delivery);
  const Response r = post(seat(0, chief) + "api/send",
                          send_body("node", sio, "RESTRICTED", "x", fmt::format(R"(,"in_reply_to":"{}")", delivery.message.id)));
  ASSERT_EQ(r.status, 202) << r.body;
  const auto commands = first_.take_commands();
  EXPECT_EQ(std::get<SendCommand>(commands.at(0)).message.derived_from, delivery.message.id);
  EXPECT_EQ(first_.seat(chief).sent.at(0).what, "reply");
  // The officer did not receive it, so cannot reply to it.
  expect_error(post(seat(0, officer) + "api/send",
                    send_body("node", sio, "RESTRICTED", "x", fmt::format(R"(,"in_reply_to":"{}")", delivery.message.id))),
               400, "in_reply_to");
}

TEST_F(HostSiteTest, ASeatAnswersOnlyItsOwnReviews) {
  SeatReview review;
  review.hold_id = "hold-1";
  review.message.id = make_uuid();
  review.message.title = "held";
  review.message.portions = {{"1", {"RESTRICTED", {}}, "text"}, {"2", {"RESTRICTED", {}}, "more"}};
  first_.add_review(officer, review);
  expect_error(post(seat(0, chief) + "api/review", R"({"hold_id":"hold-1","verdict":"approve"})"), 403, "hold_id",
               "not one of this seat's reviews");
  expect_error(post(seat(1, chief) + "api/review", R"({"hold_id":"hold-1","verdict":"approve"})"), 403, "hold_id");
  expect_error(post(seat(0, officer) + "api/review", R"({"hold_id":"hold-1","verdict":"maybe"})"), 400, "verdict");
  expect_error(post(seat(0, officer) + "api/review", R"({"hold_id":"hold-1","verdict":"redact","withhold_portions":["9"]})"),
               400, "withhold_portions[0]");
  EXPECT_TRUE(first_.take_commands().empty());
  EXPECT_EQ(post(seat(0, officer) + "api/review", R"({"hold_id":"hold-1","verdict":"redact","withhold_portions":["2"]})").status,
            202);
  const auto commands = first_.take_commands();
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(std::get<ReviewCommand>(commands[0]).node, officer);
  EXPECT_EQ(std::get<ReviewCommand>(commands[0]).withhold_portions, std::vector<std::string>{"2"});
}

TEST_F(HostSiteTest, ATriggerNamesAnEventOfThePolicy) {
  expect_error(post(seat(0, sio) + "api/trigger", R"({"event":"the-end"})"), 400, "event", "no event 'the-end'");
  EXPECT_EQ(post(seat(0, sio) + "api/trigger", R"({"event":"operation-start"})").status, 202);
  const auto commands = first_.take_commands();
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(std::get<TriggerCommand>(commands[0]).node, sio);
  const JsonValue view = parse(get(seat(0, sio) + "api/seat"));
  EXPECT_EQ(text(view.find("may_trigger")->array.at(0), "id"), "operation-start");
  EXPECT_TRUE(parse(get(seat(0, chief) + "api/seat")).find("may_trigger")->array.empty());
}

TEST_F(HostSiteTest, AFloodIsSlowedPerKeyAndTheOthersCarryOn) {
  int ok = 0, refused = 0;
  std::string retry;
  for (int i = 0; i < 25; ++i) {  // 25 requests at once
    const Response r = site_->handle(Request{"GET", seat(0, chief) + "api/seat", "h", "", "", "", ""});
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++refused;
      retry = header(r, "Retry-After");
      expect_error(r, 429, "", "too many requests");
    }
  }
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(refused, 5);
  EXPECT_EQ(retry, "1");
  EXPECT_EQ(site_->handle(Request{"GET", seat(0, officer) + "api/seat", "h", "", "", "", ""}).status, 200)
      << "another seat is not slowed";
  EXPECT_EQ(site_->handle(Request{"GET", facilitator() + "api/state", "h", "", "", "", ""}).status, 200);
  EXPECT_EQ(site_->handle(Request{"GET", seat(0, chief) + "assets/console.css", "h", "", "", "", ""}).status, 200)
      << "a page's files take no token: a page that opens is never refused its stylesheet";
  EXPECT_EQ(site_->handle(Request{"POST", seat(0, chief) + "api/send", "h", "", "", "application/json",
                                  send_body("node", officer, "RESTRICTED")})
                .status,
            429)
      << "nor may a flood act";
  EXPECT_TRUE(first_.take_commands().empty());
  now_ += std::chrono::seconds(1);
  EXPECT_EQ(site_->handle(Request{"GET", seat(0, chief) + "api/seat", "h", "", "", "", ""}).status, 200)
      << "a second later the seat is served again";
}

TEST_F(HostSiteTest, CrossSitePostsAreRefused) {
  Request r{"POST", seat(0, chief) + "api/send", "10.0.0.5:8443", "https://evil.example", "", "application/json",
            send_body("node", officer, "RESTRICTED")};
  expect_error(site_->handle(r), 403, "", "cross-origin");
  EXPECT_TRUE(first_.take_commands().empty());
}

TEST_F(HostSiteTest, TheConsolesPagesAreServedUnderTheirKeysOnly) {
  const Response page = get(seat(0, chief));
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(page.content_type.starts_with("text/html"));
  EXPECT_NE(page.body.find("player"), std::string::npos);
  EXPECT_NE(header(page, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(get(seat(0, chief) + "assets/console.css").status, 200);
  EXPECT_EQ(get(seat(0, chief) + "facilitator.html").status, 404) << "a seat's key opens only the player's page";
  EXPECT_EQ(get(seat(0, chief) + "assets/facilitator.html").status, 404);
  EXPECT_EQ(get(seat(0, chief) + "assets/../facilitator.html").status, 404);
  EXPECT_NE(get(facilitator()).body.find("facilitator"), std::string::npos);
  EXPECT_NE(get(evaluator(0)).body.find("evaluator"), std::string::npos);
  const std::string bare = seat(0, chief).substr(0, seat(0, chief).size() - 1);
  const Response redirect = get(bare);
  EXPECT_EQ(redirect.status, 308);
  EXPECT_EQ(header(redirect, "Location"), bare + "/");
}

TEST_F(HostSiteTest, TheFacilitatorSeesEverySeatAndControlsTheRuns) {
  get(seat(0, chief) + "api/seat?page=p");
  const JsonValue state = parse(get(facilitator() + "api/state"));
  const auto& tables = state.find("tables")->array;
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(text(tables[1], "policy"), "need-to-know.yaml");
  const auto& seats = tables[0].find("seats")->array;
  ASSERT_EQ(seats.size(), 3u);
  EXPECT_EQ(text(seats[0], "node"), chief);
  EXPECT_EQ(text(seats[0], "link"), site_->seat_link(0, chief));
  EXPECT_EQ(seats[0].find("pages_open")->number, 1);
  EXPECT_EQ(text(seats[0], "qr_svg"), "<svg>" + site_->seat_link(0, chief) + "</svg>");
  get(facilitator() + "api/state");
  EXPECT_EQ(qr_codes_made_, 3 + 2 + 2) << "one QR code per seat and evaluator, made once however often the page polls";
  EXPECT_EQ(text(seats[0], "last_seen"), "T-10h");
  EXPECT_EQ(state.find("evaluators")->array.size(), 2u);
  EXPECT_EQ(text(*state.find("scenario"), "name"), "operation-nicole");
  // What the facilitator's inject form may name, from each table's policy.
  EXPECT_FALSE(tables[1].find("directory")->find("nodes")->array.empty());
  EXPECT_FALSE(tables[1].find("categories")->array.empty());
  EXPECT_EQ(text(tables[1].find("scheme")->find("classifications")->array.at(0), "name"), "NOT PROTECTIVELY MARKED");

  EXPECT_EQ(post(facilitator() + "api/control", R"({"table":null,"action":"resume"})").status, 202);
  EXPECT_EQ(post(facilitator() + "api/control", R"({"table":1,"action":"speed","speed":120})").status, 202);
  expect_error(post(facilitator() + "api/control", R"({"table":2,"action":"pause"})"), 400, "table", "no table 2");
  expect_error(post(facilitator() + "api/control", R"({"action":"rewind"})"), 400, "action");
  expect_error(post(facilitator() + "api/control", R"({"action":"speed","speed":-1})"), 400, "speed");
  EXPECT_EQ(controls_, (std::vector<std::string>{"all:resume:0", "1:speed:120"}));
  // A seat cannot reach the controls.
  expect_error(post("/f/" + seat(0, chief).substr(3, 64) + "/api/control", R"({"action":"pause"})"), 404, "");
  EXPECT_EQ(controls_.size(), 2u);
}

TEST_F(HostSiteTest, TheFacilitatorFiresInjectsAndMedia) {
  EXPECT_EQ(post(facilitator() + "api/inject", R"({"table":0,"inject":"I03"})").status, 202);
  expect_error(post(facilitator() + "api/inject", R"({"table":0,"inject":"I99"})"), 400, "inject", "no inject");
  const std::string message = R"({"to":[{"kind":"node","name":"council-chief-exec"}],"category":"tension-report",
      "title":"Rumours","portions":[{"label":{"classification":"RESTRICTED","categories":[]},"body":"b"}]})";
  EXPECT_EQ(post(facilitator() + "api/inject", fmt::format(R"({{"table":1,"from":"iag-chair","message":{}}})", message)).status,
            202);
  expect_error(post(facilitator() + "api/inject", fmt::format(R"({{"table":0,"from":"council-chief-exec","message":{}}})", message)),
               400, "from", "played by a person");
  expect_error(post(facilitator() + "api/inject",
                    R"({"table":0,"from":"iag-chair","message":{"to":[],"category":"x","title":"t","portions":[]}})"),
               400, "message.to");
  EXPECT_EQ(post(facilitator() + "api/media", R"({"table":null,"media":"M1"})").status, 202);
  EXPECT_EQ(post(facilitator() + "api/media",
                 R"({"table":0,"item":{"kind":"call","source":"BBC WM","headline":"Comment?","seats":["council-chief-exec"]}})")
                .status,
            202);
  expect_error(post(facilitator() + "api/media", R"({"item":{"kind":"fax","source":"s","headline":"h"}})"), 400, "item.kind");
  expect_error(post(facilitator() + "api/media", R"({"item":{"kind":"news","source":"s","headline":"h","seats":["nobody"]}})"),
               400, "item.seats[0]");
  expect_error(post(facilitator() + "api/media", R"({"media":"M9"})"), 400, "media");
  const auto first = first_.take_commands();
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(std::get<FireInjectCommand>(first[0]).inject, "I03");
  EXPECT_EQ(std::get<ReleaseMediaCommand>(first[1]).media_id, "M1");
  EXPECT_EQ(std::get<ReleaseMediaCommand>(first[2]).item->seats, std::vector<std::string>{chief});
  const auto second = second_.take_commands();
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(std::get<FireMessageCommand>(second[0]).from, "iag-chair");
  EXPECT_EQ(std::get<FireMessageCommand>(second[0]).spec.title, "Rumours");
}

TEST_F(HostSiteTest, ThePlanIsReplacedAndFinishingWritesReportsOnce) {
  EXPECT_EQ(post(facilitator() + "api/plan",
                 R"({"items":[{"issue":"Chief briefed late","corrective_action":"Pre-brief protocol","owner":"CTU","due":"2027-01-31","objective":"O2"}]})")
                .status,
            202);
  expect_error(post(facilitator() + "api/plan", R"({"items":[{"issue":"x","objective":"O99"}]})"), 400, "items[0].objective");
  expect_error(post(facilitator() + "api/plan", R"({"items":[{"corrective_action":"x"}]})"), 400, "items[0].issue");
  ASSERT_EQ(first_.improvement_plan().size(), 1u);
  EXPECT_EQ(second_.improvement_plan().at(0).owner, "CTU") << "one plan, carried by both tables";

  const Response finish = post(facilitator() + "api/finish", "{}");
  ASSERT_EQ(finish.status, 202) << finish.body;
  EXPECT_EQ(finish.body, R"({"reports":["operation-nicole.compare.html","operation-nicole.compare.json"]})");
  expect_error(post(facilitator() + "api/finish", "{}"), 409, "");
  EXPECT_EQ(finishes_, 1);
  expect_error(post(seat(0, chief) + "api/send", send_body("node", officer, "RESTRICTED")), 409, "", "finished");
  expect_error(get(facilitator() + "reports/operation-nicole.compare.html"), 404, "", "still being written");
  std::filesystem::create_directories(reports_dir_);
  std::ofstream(reports_dir_ / "operation-nicole.compare.html") << "<!DOCTYPE html><p>report</p>";
  site_->reports_written();
  const Response report = get(facilitator() + "reports/operation-nicole.compare.html");
  EXPECT_EQ(report.status, 200);
  EXPECT_EQ(report.body, "<!DOCTYPE html><p>report</p>");
  EXPECT_NE(header(report, "Content-Security-Policy").find("sandbox"), std::string::npos);
  expect_error(get(facilitator() + "reports/..%2Fsecret"), 404, "");
  EXPECT_TRUE(parse(get(facilitator() + "api/state")).find("reports_ready")->boolean);
}

TEST_F(HostSiteTest, EvaluatorsRecordObservationsAndRatingsAsThemselves) {
  EXPECT_EQ(post(evaluator(0) + "api/observation", R"({"table":0,"objective":"O2","text":"Chief briefed at T-10h"})").status,
            202);
  EXPECT_EQ(post(evaluator(0) + "api/rating", R"({"table":1,"objective":"O2","rating":"M","note":"late"})").status, 202);
  EXPECT_EQ(post(evaluator(0) + "api/rating", R"({"table":1,"objective":"O2","rating":"S","note":"better"})").status, 202);
  EXPECT_EQ(post(evaluator(1) + "api/rating", R"({"table":1,"objective":"O2","rating":"P"})").status, 202);
  expect_error(post(evaluator(0) + "api/rating", R"({"table":0,"objective":"O2","rating":"X"})"), 400, "rating", "P, S, M or U");
  expect_error(post(evaluator(0) + "api/rating", R"({"table":0,"objective":"O42","rating":"P"})"), 400, "objective");
  expect_error(post(evaluator(0) + "api/observation", R"({"objective":"O2","text":"t"})"), 400, "table");
  expect_error(post(evaluator(0) + "api/observation", R"({"table":0,"objective":"O2","text":""})"), 400, "text");
  ASSERT_EQ(first_.observations().size(), 1u);
  EXPECT_EQ(first_.observations()[0].evaluator, "Lead evaluator");
  EXPECT_EQ(first_.observations()[0].at, std::chrono::hours(-10));
  ASSERT_EQ(second_.ratings().size(), 2u) << "a second rating by the same evaluator replaces the first";
  const JsonValue mine = parse(get(evaluator(0) + "api/state"));
  ASSERT_EQ(mine.find("ratings")->array.size(), 1u) << "an evaluator sees their own ratings";
  EXPECT_EQ(text(mine.find("ratings")->array[0], "rating"), "S");
  EXPECT_EQ(text(*mine.find("me"), "name"), "Lead evaluator");
  // An evaluator's key opens neither a seat nor the facilitator's API.
  const std::string key = evaluator(0).substr(3, 64);
  expect_error(get("/s/" + key + "/api/seat"), 404, "");
  expect_error(post("/f/" + key + "/api/finish", "{}"), 404, "");
  EXPECT_EQ(finishes_, 0);
}

}  // namespace
}  // namespace icegate::exercise::host

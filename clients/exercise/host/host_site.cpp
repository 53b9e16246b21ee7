#include "clients/exercise/host/host_site.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "clients/exercise/host/assets.hpp"
#include "clients/exercise/host/form.hpp"
#include "clients/exercise/host/views.hpp"
#include "gateway/http/assets.hpp"
#include "gateway/http/dashboard.hpp"
#include "gateway/model/json.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::exercise::host {

using http::JsonValue;
using http::Request;
using http::Response;

namespace {

constexpr std::string_view unknown_key = "no seat, evaluator or facilitator has this key";
constexpr std::string_view console_policy =
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'none'";
// The after-action report is one self-contained file with its own style and
// script; sandboxed, so that nothing in it runs with the console's origin.
constexpr std::string_view report_policy =
    "sandbox allow-scripts; default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:";
constexpr auto page_window = std::chrono::seconds(10);

Response fail(int status, std::string error, std::string field = {}) {
  return error_response(ApiError{status, std::move(error), std::move(field)});
}

Response accepted(std::string body = "{}") { return http::json_response(std::move(body), 202); }

Response method_not_allowed(const Request& request, std::string_view allowed) {
  Response r = fail(405, fmt::format("{} is not allowed here; use {}", request.method, allowed));
  r.headers.emplace_back("Allow", std::string(allowed));
  return r;
}

bool is_get(const Request& r) { return r.method == "GET" || r.method == "HEAD"; }

// "?since=V": the version a page already has, or none.
std::optional<std::uint64_t> since(const Request& request) {
  const std::string text = http::query_parameter(request.target, "since");
  if (text.empty() || text.size() > 19 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoull(text);
}

std::string unchanged(std::uint64_t version) {
  return json::Object().add("version", static_cast<std::int64_t>(version)).add("unchanged", true).str();
}

std::string_view kind_name(HumanAction::Kind kind) {
  switch (kind) {
    case HumanAction::Kind::send: return "send";
    case HumanAction::Kind::reply: return "reply";
    case HumanAction::Kind::review: return "review";
    case HumanAction::Kind::trigger: return "trigger";
  }
  return "";
}

// "12m", "1h30m": a duration as scenario times are written, without "T+".
std::string duration_text(Offset offset) {
  const std::string text = format_scenario_time(offset);
  return text == "T+0" ? "0s" : text.substr(2);
}

template <typename T>
const ApiError* error_in(const std::variant<T, ApiError>& v) {
  return std::get_if<ApiError>(&v);
}

}  // namespace

struct HostSite::Route {
  const Request& request;
  char prefix;            // 's', 'f', 'e'
  std::string secret;
  std::string_view rest;  // the path after "/x/SECRET/"
};

// The dashboard's event feed, as the server's Feed. A run's gateway (and so
// its dashboard) stops before the server does: detach() lets go of the
// dashboard, and the feed's WebSockets simply receive nothing more.
class HostSite::DashboardFeed final : public http::Feed {
 public:
  explicit DashboardFeed(http::Dashboard& dashboard) : dashboard_(&dashboard) {}
  std::uint64_t subscribe(Subscriber subscriber) override {
    if (!dashboard_) return 0;
    const std::uint64_t id = dashboard_->subscribe(std::move(subscriber));
    ids_.insert(id);
    return id;
  }
  void unsubscribe(std::uint64_t id) override {
    if (dashboard_ && ids_.erase(id)) dashboard_->unsubscribe(id);
  }
  std::vector<EventText> events_after(std::uint64_t seq) const override {
    return dashboard_ ? dashboard_->events_after(seq) : std::vector<EventText>{};
  }
  void count_dropped_client() override {
    if (dashboard_) dashboard_->count_dropped_client();
  }
  void detach() {
    if (dashboard_)
      for (const auto id : ids_) dashboard_->unsubscribe(id);
    ids_.clear();
    dashboard_ = nullptr;
  }

 private:
  http::Dashboard* dashboard_;
  std::set<std::uint64_t> ids_;
};

HostSite::HostSite(const Scenario& scenario, std::vector<HostTable> tables, HostActions actions, HostOptions options)
    : scenario_(scenario),
      tables_(std::move(tables)),
      actions_(std::move(actions)),
      options_(std::move(options)),
      limiter_(options_.requests_per_second, options_.burst) {
  facilitator_secret_ = keys_.add({Holder::Kind::facilitator, 0, {}, 0});
  for (std::size_t t = 0; t < tables_.size(); ++t) {
    for (const auto& node : tables_[t].table->played()) keys_.add({Holder::Kind::seat, t, node, 0});
    feeds_.push_back(tables_[t].dashboard ? std::make_unique<DashboardFeed>(*tables_[t].dashboard) : nullptr);
  }
  for (std::size_t e = 0; e < options_.evaluators.size(); ++e) keys_.add({Holder::Kind::evaluator, 0, {}, e});
  if (!options_.base_url.ends_with('/')) options_.base_url += '/';
}

HostSite::~HostSite() = default;

std::string HostSite::facilitator_link() const { return options_.base_url + "f/" + facilitator_secret_ + "/"; }

std::string HostSite::seat_link(std::size_t table, const std::string& node) const {
  const std::string secret = keys_.secret_of(Holder::Kind::seat, table, node, 0);
  return secret.empty() ? std::string() : options_.base_url + "s/" + secret + "/";
}

std::string HostSite::evaluator_link(std::size_t evaluator) const {
  const std::string secret = keys_.secret_of(Holder::Kind::evaluator, 0, {}, evaluator);
  return secret.empty() ? std::string() : options_.base_url + "e/" + secret + "/";
}

void HostSite::set_base_url(std::string base_url) {
  options_.base_url = std::move(base_url);
  if (!options_.base_url.ends_with('/')) options_.base_url += '/';
}

void HostSite::set_dashboard(std::size_t table, http::Dashboard* dashboard) {
  tables_.at(table).dashboard = dashboard;
  // A WebSocket may still hold the old feed: keep it, detached, as long as the site.
  if (feeds_.at(table)) {
    feeds_[table]->detach();
    retired_feeds_.push_back(std::move(feeds_[table]));
  }
  if (dashboard) feeds_[table] = std::make_unique<DashboardFeed>(*dashboard);
}

// ---- finishing ----------------------------------------------------------------

bool HostSite::finishing() const {
  std::lock_guard lock(finish_mutex_);
  return finishing_;
}

std::vector<std::string> HostSite::request_finish() {
  {
    std::lock_guard lock(finish_mutex_);
    if (finishing_) return reports_;
    finishing_ = true;
  }
  std::vector<std::string> names = actions_.finish ? actions_.finish() : std::vector<std::string>{};
  std::lock_guard lock(finish_mutex_);
  reports_ = names;
  return names;
}

void HostSite::reports_written(std::string error) {
  std::lock_guard lock(finish_mutex_);
  reports_ready_ = true;
  reports_error_ = std::move(error);
}

bool HostSite::closed(std::size_t table) const {
  if (finishing()) return true;
  const std::string state = tables_.at(table).table->status().state;
  return state == "finished" || state == "stopped";
}

// ---- routing ------------------------------------------------------------------

Response HostSite::handle(const Request& request) {
  Response response = route(request);
  // The mounted dashboard sets its own headers.
  const bool has_policy = std::any_of(response.headers.begin(), response.headers.end(),
                                      [](const auto& h) { return h.first == "Content-Security-Policy"; });
  if (!has_policy) {
    response.headers.emplace_back("Content-Security-Policy", std::string(console_policy));
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    response.headers.emplace_back("Referrer-Policy", "no-referrer");
    if (response.content_type.starts_with("application/json"))
      response.headers.emplace_back("Cache-Control", "no-store");
  }
  return response;
}

Response HostSite::route(const Request& request) {
  const std::string_view path = http::target_path(request.target);
  if (path == "/healthz") return is_get(request) ? http::json_response(R"({"ok":true})") : method_not_allowed(request, "GET");
  if (path.size() < 3 || path[0] != '/' || (path[1] != 's' && path[1] != 'f' && path[1] != 'e') || path[2] != '/')
    return fail(404, fmt::format("nothing at {}", path));
  const std::string_view after = path.substr(3);
  const std::size_t slash = after.find('/');
  const std::string secret(after.substr(0, slash));
  const auto holder = keys_.find(secret);
  const Holder::Kind wanted = path[1] == 's' ? Holder::Kind::seat : path[1] == 'f' ? Holder::Kind::facilitator
                                                                                      : Holder::Kind::evaluator;
  // The same answer for an unknown key and a key under another prefix: a
  // seat's key opens nothing but its seat.
  if (!holder || holder->kind != wanted) return fail(404, std::string(unknown_key));
  // The API is what a script can hammer; a page's own files (and the mounted
  // dashboard's) are in memory and many at once when a page opens, so they
  // take no token: a facilitator opening the iceberg beside the console is
  // never refused a stylesheet.
  const std::string_view rest = slash == std::string_view::npos ? std::string_view() : after.substr(slash + 1);
  const bool api = !is_get(request) || rest.starts_with("api/") || rest.starts_with("reports/") ||
                   (rest.starts_with("t/") && rest.find("/api/") != std::string_view::npos);
  if (const auto wait = api ? limiter_.take(secret, options_.clock()) : std::nullopt) {
    Response r = fail(429, fmt::format("too many requests from this console; try again in {} s", wait->count()));
    r.headers.emplace_back("Retry-After", std::to_string(wait->count()));
    return r;
  }
  if (slash == std::string_view::npos) {  // "/s/SECRET": relative URLs need the slash
    Response r;
    r.status = 308;
    r.content_type = "text/plain; charset=utf-8";
    r.headers.emplace_back("Location", std::string(path) + "/");
    return r;
  }
  // A cross-site page cannot know a secret, but say no to it plainly all the same.
  if (!request.origin.empty() && !is_get(request)) {
    const std::string_view origin = request.origin;
    const std::size_t scheme_end = origin.find("://");
    if (scheme_end == std::string_view::npos || origin.substr(scheme_end + 3) != request.host)
      return fail(403, fmt::format("cross-origin request from '{}' refused", request.origin));
  }
  const Route r{request, path[1], secret, rest};
  switch (holder->kind) {
    case Holder::Kind::seat: return seat_api(r, *holder);
    case Holder::Kind::facilitator: return facilitator_api(r);
    case Holder::Kind::evaluator: return evaluator_api(r, *holder);
  }
  return fail(404, std::string(unknown_key));
}

std::variant<http::Feed*, Response> HostSite::open_feed(const Request& request) {
  const std::string_view path = http::target_path(request.target);
  const std::string prefix = "/f/" + facilitator_secret_ + "/t/";
  if (!path.starts_with("/f/") || path.size() < prefix.size() ||
      !http::constant_time_equal(path.substr(0, prefix.size()), prefix))
    return fail(404, std::string(unknown_key));
  const std::string_view rest = path.substr(prefix.size());
  const std::size_t slash = rest.find('/');
  const std::string index(rest.substr(0, slash));
  if (slash == std::string_view::npos || index.empty() || index.size() > 2 ||
      !std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(index) >= tables_.size() || !feeds_[std::stoul(index)])
    return fail(404, fmt::format("no table {} with a dashboard", index));
  if (rest.substr(slash) != "/ws") return fail(404, "the dashboard's feed is at t/{k}/ws");
  const std::size_t k = std::stoul(index);
  Request inner = request;
  inner.target = "/ws";
  if (const auto& token = tables_[k].dashboard->access().token; !token.empty()) inner.authorization = "Bearer " + token;
  if (auto refused = tables_[k].dashboard->authorize(inner, false)) return *refused;
  return feeds_[k].get();
}

// ---- files ----------------------------------------------------------------------

Response HostSite::console_file(const Route& route, std::string_view page) {
  if (!is_get(route.request)) return method_not_allowed(route.request, "GET");
  std::string_view name = route.rest.empty() ? page : route.rest;
  if (route.rest.starts_with("assets/")) {
    // A console's files; never another console's page.
    if (route.rest.ends_with(".html")) return fail(404, fmt::format("no file '{}'", route.rest));
    name = route.rest;
    if (!find_asset(name)) name = route.rest.substr(7);
  } else if (route.rest != page && !route.rest.empty()) {
    return fail(404, fmt::format("nothing at {}", route.rest));
  }
  const http::Asset* asset = find_asset(name);
  if (!asset) return fail(404, fmt::format("no file '{}' (the consoles' pages are not built in)", name));
  Response response;
  response.content_type = std::string(http::content_type_for(asset->name));
  response.body = std::string(asset->body);
  response.headers.emplace_back("Cache-Control", "no-cache");
  return response;
}

// ---- pages open ------------------------------------------------------------------

void HostSite::seen(const Holder& holder, const Request& request) {
  Seen& s = seen_[{holder.table, holder.node}];
  const auto now = options_.clock();
  std::string page = http::query_parameter(request.target, "page");
  if (page.size() > 64) page.resize(64);
  s.pages[page] = now;
  s.last_seen = tables_[holder.table].table->status().now;
  if (s.pages.size() > 16) {  // a page id per request is nonsense; keep the newest few
    auto oldest = std::min_element(s.pages.begin(), s.pages.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; });
    s.pages.erase(oldest);
  }
  const int count = pages_open(holder.table, holder.node);
  if (count != s.last_count) {
    s.last_count = count;
    ++site_version_;
  }
}

int HostSite::pages_open(std::size_t table, const std::string& node) const {
  auto it = seen_.find({table, node});
  if (it == seen_.end()) return 0;
  const auto now = options_.clock();
  return static_cast<int>(std::count_if(it->second.pages.begin(), it->second.pages.end(),
                                        [&](const auto& p) { return now - p.second < page_window; }));
}

// ---- a seat ------------------------------------------------------------------------

Response HostSite::seat_api(const Route& route, const Holder& holder) {
  const std::string_view api = route.rest;
  if (!api.starts_with("api/")) return console_file(route, "player.html");
  const bool post = route.request.method == "POST";
  if (api == "api/seat") return is_get(route.request) ? seat_view(route, holder) : method_not_allowed(route.request, "GET");
  if (api == "api/send") return post ? seat_send(route, holder) : method_not_allowed(route.request, "POST");
  if (api == "api/review") return post ? seat_review(route, holder) : method_not_allowed(route.request, "POST");
  if (api == "api/trigger") return post ? seat_trigger(route, holder) : method_not_allowed(route.request, "POST");
  return fail(404, fmt::format("a seat has no {}", api));
}

Response HostSite::seat_view(const Route& route, const Holder& holder) {
  Table& table = *tables_[holder.table].table;
  // A page is open while it polls; pages that stopped are noticed here too.
  seen(holder, route.request);
  const auto& s = seen_[{holder.table, holder.node}];
  const std::uint64_t version = table.version() + site_version_;
  if (since(route.request) == version) return http::json_response(unchanged(version));
  SeatViewInput input;
  input.version = version;
  input.table = table.name();
  input.node = holder.node;
  const auto policy = table.policy();
  input.policy = policy.get();
  input.status = table.status();
  input.seat = table.seat(holder.node);
  input.pages_open = s.last_count;
  return http::json_response(seat_view_json(input));
}

Response HostSite::seat_send(const Route& route, const Holder& holder) {
  Table& table = *tables_[holder.table].table;
  if (closed(holder.table)) return fail(409, "the exercise has finished");
  auto body = read_body(route.request, options_.max_body_bytes);
  if (const auto* e = error_in(body)) return error_response(*e);
  const auto policy = table.policy();
  if (!policy) return fail(409, "the exercise has not started yet");
  const TableStatus status = table.status();
  auto composed = read_message(std::get<JsonValue>(body), *policy, "", status.now);
  if (const auto* e = error_in(composed)) return error_response(*e);
  const auto& c = std::get<ComposedMessage>(composed);
  if (!c.in_reply_to.empty()) {
    const SeatView seat = table.seat(holder.node);
    if (std::none_of(seat.inbox.begin(), seat.inbox.end(), [&](const auto& d) { return d.message.id == c.in_reply_to; }))
      return fail(400, fmt::format("message {} is not in this seat's inbox", c.in_reply_to), "in_reply_to");
  }
  Message message = to_message(c, holder.node, *policy, status.t0_unix_ms, status.now);
  const std::string id = table.send(holder.node, std::move(message), c.in_reply_to.empty() ? "send" : "reply");
  return accepted(json::Object().add("message_id", id).str());
}

Response HostSite::seat_review(const Route& route, const Holder& holder) {
  Table& table = *tables_[holder.table].table;
  if (closed(holder.table)) return fail(409, "the exercise has finished");
  auto body = read_body(route.request, options_.max_body_bytes);
  if (const auto* e = error_in(body)) return error_response(*e);
  const Fields fields(std::get<JsonValue>(body), "");
  if (auto e = fields.only({"hold_id", "verdict", "withhold_portions", "comment"})) return error_response(*e);
  auto hold_id = fields.text("hold_id", true, 128);
  auto verdict = fields.text("verdict", true, 16);
  auto withhold = fields.texts("withhold_portions", max_portions);
  auto comment = fields.text("comment", false);
  for (const ApiError* e : {error_in(hold_id), error_in(verdict), error_in(withhold), error_in(comment)})
    if (e) return error_response(*e);
  ReviewCommand command;
  command.hold_id = std::get<std::string>(hold_id);
  command.verdict = std::get<std::string>(verdict);
  command.withhold_portions = std::get<std::vector<std::string>>(withhold);
  command.comment = std::get<std::string>(comment);
  const SeatView seat = table.seat(holder.node);
  const auto review = std::find_if(seat.reviews.begin(), seat.reviews.end(),
                                   [&](const auto& r) { return r.hold_id == command.hold_id; });
  if (review == seat.reviews.end())
    return fail(403, fmt::format("hold {} is not one of this seat's reviews", command.hold_id), "hold_id");
  if (!review->answer.empty())
    return fail(400, fmt::format("hold {} was already answered: {}", command.hold_id, review->answer), "hold_id");
  if (command.verdict != "approve" && command.verdict != "refuse" && command.verdict != "redact")
    return fail(400, fmt::format("\"verdict\" must be approve, refuse or redact, not '{}'", command.verdict), "verdict");
  if (command.verdict == "redact") {
    if (command.withhold_portions.empty())
      return fail(400, "a redaction names the portions to withhold", "withhold_portions");
    for (std::size_t i = 0; i < command.withhold_portions.size(); ++i)
      if (std::none_of(review->message.portions.begin(), review->message.portions.end(),
                       [&](const auto& p) { return p.id == command.withhold_portions[i]; }))
        return fail(400, fmt::format("the held message has no portion '{}' this seat may see", command.withhold_portions[i]),
                    fmt::format("withhold_portions[{}]", i));
  } else if (!command.withhold_portions.empty()) {
    return fail(400, "only a redaction withholds portions", "withhold_portions");
  }
  table.review(holder.node, std::move(command));
  return accepted();
}

Response HostSite::seat_trigger(const Route& route, const Holder& holder) {
  Table& table = *tables_[holder.table].table;
  if (closed(holder.table)) return fail(409, "the exercise has finished");
  auto body = read_body(route.request, options_.max_body_bytes);
  if (const auto* e = error_in(body)) return error_response(*e);
  const Fields fields(std::get<JsonValue>(body), "");
  if (auto e = fields.only({"event"})) return error_response(*e);
  auto event = fields.text("event", true, 128);
  if (const auto* e = error_in(event)) return error_response(*e);
  const auto policy = table.policy();
  if (!policy) return fail(409, "the exercise has not started yet");
  const std::string& name = std::get<std::string>(event);
  if (!policy->has_event(name)) return fail(400, fmt::format("the policy has no event '{}'", name), "event");
  table.trigger(holder.node, name);
  return accepted();
}

// ---- what people did, for the facilitator and the evaluators --------------------

// What people did, as the runner records it (RunResult::human_actions): the
// gateway's outcome per recipient as receipts arrive, and how long each took.
std::string HostSite::actions_json(std::size_t t) const {
  std::vector<std::string> out;
  for (const auto& a : tables_[t].table->human_actions()) {
    std::vector<std::string> outcomes;
    for (const auto& o : a.outcomes) outcomes.push_back(outcome_json(o));
    json::Object action;
    action.add("at", format_scenario_time(a.at))
        .add("node", a.node)
        .add("kind", kind_name(a.kind))
        .add("message_id", a.message_id)
        .add("title", a.title)
        .add("category", a.category)
        .add("purpose", a.purpose)
        .add("to", a.to)
        .add("labels", a.labels)
        .add("detail", a.detail)
        .add("in_reply_to", a.in_reply_to)
        .add("prompted_by", a.prompted_by)
        .add("response_time", a.response_time ? duration_text(*a.response_time) : "")
        .add("refused", a.refused)
        .add_raw("outcomes", json_array(outcomes));
    out.push_back(action.str());
  }
  return json_array(out);
}

namespace {

std::string expectations_json(const std::vector<LiveExpectation>& board) {
  std::vector<std::string> out;
  for (const auto& e : board)
    out.push_back(json::Object()
                      .add("id", e.id)
                      .add("description", e.description)
                      .add("kind", e.kind)
                      .add("state", e.state)
                      .add("evidence", e.evidence)
                      .str());
  return json_array(out);
}

std::string objectives_json(const Scenario& scenario) {
  std::vector<std::string> out;
  for (const auto& o : scenario.objectives) out.push_back(json::Object().add("id", o.id).add("text", o.text).str());
  return json_array(out);
}

}  // namespace

// ---- the facilitator ----------------------------------------------------------------

Response HostSite::facilitator_api(const Route& route) {
  const std::string_view api = route.rest;
  if (api.starts_with("t/")) return mounted_dashboard(route, api.substr(2));
  if (api.starts_with("reports/")) {
    if (!is_get(route.request)) return method_not_allowed(route.request, "GET");
    return facilitator_report(api.substr(8));
  }
  if (!api.starts_with("api/")) return console_file(route, "facilitator.html");
  const bool post = route.request.method == "POST";
  if (api == "api/state") return is_get(route.request) ? facilitator_state(route) : method_not_allowed(route.request, "GET");
  if (api == "api/ca.crt") {
    if (!is_get(route.request)) return method_not_allowed(route.request, "GET");
    if (options_.ca_pem.empty()) return fail(404, "this exercise is served over plain HTTP on loopback: no CA");
    Response r;
    r.content_type = "application/x-pem-file";
    r.body = options_.ca_pem;
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"icegate-exercise-ca.crt\"");
    return r;
  }
  if (!post) {
    if (api == "api/control" || api == "api/inject" || api == "api/media" || api == "api/plan" || api == "api/finish")
      return method_not_allowed(route.request, "POST");
    return fail(404, fmt::format("the facilitator has no {}", api));
  }
  if (api == "api/finish") return facilitator_finish();
  if (finishing()) return fail(409, "the exercise has finished");
  if (api == "api/control") return facilitator_control(route);
  if (api == "api/inject") return facilitator_inject(route);
  if (api == "api/media") return facilitator_media(route);
  if (api == "api/plan") return facilitator_plan(route);
  return fail(404, fmt::format("the facilitator has no {}", api));
}

Response HostSite::mounted_dashboard(const Route& route, std::string_view rest) {
  const std::size_t slash = rest.find('/');
  const std::string index(rest.substr(0, slash));
  if (index.empty() || index.size() > 2 || !std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(index) >= tables_.size())
    return fail(404, fmt::format("no table '{}'", index));
  const std::size_t k = std::stoul(index);
  if (!tables_[k].dashboard) return fail(404, fmt::format("table {} has no dashboard", k));
  if (slash == std::string_view::npos) {
    Response r;
    r.status = 308;
    r.content_type = "text/plain; charset=utf-8";
    r.headers.emplace_back("Location", fmt::format("/f/{}/t/{}/", route.secret, k));
    return r;
  }
  // The dashboard's own paths, with its token presented for the facilitator.
  Request inner = route.request;
  const std::string_view target = route.request.target;
  const std::size_t query = target.find('?');
  inner.target = std::string(rest.substr(slash)) + (query == std::string_view::npos ? "" : std::string(target.substr(query)));
  if (const auto& token = tables_[k].dashboard->access().token; !token.empty()) inner.authorization = "Bearer " + token;
  return tables_[k].dashboard->handle(inner);
}

Response HostSite::facilitator_state(const Route& route) {
  // A page that closed sends nothing: notice it here, so the seat list changes.
  for (auto& [seat, s] : seen_)
    if (const int count = pages_open(seat.first, seat.second); count != s.last_count) {
      s.last_count = count;
      ++site_version_;
    }
  std::uint64_t version = site_version_;
  for (const auto& t : tables_) version += t.table->version();
  {
    std::lock_guard lock(finish_mutex_);
    version += finishing_ + reports_ready_;
  }
  if (since(route.request) == version) return http::json_response(unchanged(version));
  std::vector<std::string> tables;
  for (std::size_t k = 0; k < tables_.size(); ++k) {
    const Table& table = *tables_[k].table;
    const auto policy = table.policy();
    const TableStatus status = table.status();
    const auto board = table.expectations();
    const auto fired = table.fired();
    std::vector<std::string> seats, injects, contingencies, media;
    for (const auto& node : table.played()) {
      const SeatView seat = table.seat(node);
      const policy::Node* n = policy ? policy->find_node(node) : nullptr;
      int waiting = 0;
      for (const auto& r : seat.reviews) waiting += r.answer.empty();
      for (const auto& s : seat.sent) waiting += s.state == "queued";
      auto s = seen_.find({k, node});
      const std::string link = seat_link(k, node);
      seats.push_back(json::Object()
                          .add("node", node)
                          .add("name", n ? n->name : "")
                          .add("organisation", n ? n->organisation : "")
                          .add("role", n ? n->role : "")
                          .add("connected", seat.connected)
                          .add("pages_open", static_cast<std::int64_t>(pages_open(k, node)))
                          .add("last_seen", s != seen_.end() && s->second.last_seen ? format_scenario_time(*s->second.last_seen) : "")
                          .add("last_action", seat.last_action ? format_scenario_time(*seat.last_action) : "")
                          .add("waiting", static_cast<std::int64_t>(waiting))
                          .add("link", link)
                          .add("qr_svg", options_.qr_svg ? options_.qr_svg(link) : "")
                          .str());
    }
    for (const auto& i : scenario_.injects)
      injects.push_back(json::Object()
                            .add("id", i.id)
                            .add("at", format_scenario_time(i.at))
                            .add("from", i.from)
                            .add("synopsis", i.synopsis)
                            .add("fired", fired.contains(i.id))
                            .str());
    for (const auto& c : scenario_.contingencies) {
      const bool unmet = std::any_of(board.begin(), board.end(),
                                     [&](const auto& e) { return e.id == c.when_unmet && e.state == "unmet"; });
      contingencies.push_back(json::Object()
                                  .add("id", c.id)
                                  .add("when_unmet", c.when_unmet)
                                  .add("synopsis", c.inject.synopsis)
                                  .add("fired", fired.contains(c.id))
                                  .add("unmet", unmet)
                                  .str());
    }
    const auto released = table.media();
    for (const auto& m : scenario_.media)
      media.push_back(json::Object()
                          .add("id", m.id)
                          .add("at", m.at ? format_scenario_time(*m.at) : "")
                          .add("kind", m.kind)
                          .add("source", m.source)
                          .add("headline", m.headline)
                          .add("released", std::any_of(released.begin(), released.end(), [&](const auto& r) { return r.id == m.id; }))
                          .str());
    tables.push_back(json::Object()
                         .add("index", static_cast<std::int64_t>(k))
                         .add("name", table.name())
                         .add("policy", tables_[k].policy_file)
                         .add("policy_name", policy ? policy->source().name : "")
                         .add_raw("clock", clock_json(status))
                         .add("dashboard", tables_[k].dashboard ? fmt::format("t/{}/", k) : "")
                         .add_raw("seats", json_array(seats))
                         .add_raw("expectations", expectations_json(board))
                         .add_raw("injects", json_array(injects))
                         .add_raw("contingencies", json_array(contingencies))
                         .add_raw("media", json_array(media))
                         .add("human_actions", static_cast<std::int64_t>(table.human_actions().size()))
                         // For the facilitator's inject written on the spot: what the policy lets it name.
                         .add_raw("directory", directory_json(policy.get()))
                         .add("categories", policy ? policy->source().information_categories : std::vector<std::string>{})
                         .add("purposes", policy ? policy->source().purposes : std::vector<std::string>{})
                         .add_raw("scheme", scheme_json(policy.get()))
                         .add_raw("actions", actions_json(k))
                         .str());
  }
  std::vector<std::string> evaluators;
  for (std::size_t e = 0; e < options_.evaluators.size(); ++e) {
    const std::string link = evaluator_link(e);
    evaluators.push_back(json::Object()
                             .add("name", options_.evaluators[e])
                             .add("link", link)
                             .add("qr_svg", options_.qr_svg ? options_.qr_svg(link) : "")
                             .str());
  }
  std::vector<std::string> plan;
  if (!tables_.empty())
    for (const auto& item : tables_[0].table->improvement_plan())
      plan.push_back(json::Object()
                         .add("issue", item.issue)
                         .add("corrective_action", item.corrective_action)
                         .add("owner", item.owner)
                         .add("due", item.due)
                         .add("objective", item.objective)
                         .str());
  json::Object state;
  state.add("version", static_cast<std::int64_t>(version))
      .add_raw("scenario", json::Object()
                               .add("name", scenario_.name)
                               .add("title", scenario_.title)
                               .add_raw("objectives", objectives_json(scenario_))
                               .str())
      .add_raw("tables", json_array(tables))
      .add_raw("evaluators", json_array(evaluators))
      .add_raw("improvement_plan", json_array(plan))
      .add("ca_fingerprint", options_.ca_fingerprint);
  {
    std::lock_guard lock(finish_mutex_);
    state.add("finished", finishing_).add("reports_ready", reports_ready_).add("reports", reports_);
    if (!reports_error_.empty()) state.add("reports_error", reports_error_);
  }
  return http::json_response(state.str());
}

namespace {

// `"table": k` (one table) or `"table": null` / absent (every table, when `null_means_all`).
std::variant<std::optional<std::size_t>, ApiError> table_field(const Fields& fields, std::size_t tables, bool null_means_all) {
  const JsonValue* value = fields.get("table");
  if (!value) {
    if (null_means_all || tables == 1) return std::optional<std::size_t>(null_means_all ? std::nullopt : std::optional<std::size_t>(0));
    return ApiError{400, "\"table\" must name the table (0 or 1)", "table"};
  }
  auto index = fields.integer("table", 0, static_cast<std::int64_t>(tables) - 1);
  if (const auto* e = std::get_if<ApiError>(&index)) {
    ApiError error = *e;
    error.error = fmt::format("no table {}: this exercise has {} table(s), numbered from 0",
                              value->type == JsonValue::Type::number ? fmt::format("{}", value->number) : "of that kind", tables);
    return error;
  }
  return std::optional<std::size_t>(static_cast<std::size_t>(std::get<std::int64_t>(index)));
}

}  // namespace

Response HostSite::facilitator_control(const Route& route) {
  auto body = read_body(route.request, options_.max_body_bytes);
  if (const auto* e = error_in(body)) return error_response(*e);
  const Fields fields(std::get<JsonValue>(body), "");
  if (auto e = fields.only({"table", "action", "speed"})) return error_response(*e);
  auto table = table_field(fields, tables_.size(), true);
  if (const auto* e = error_in(table)) return error_response(*e);
  auto action = fields.text("action", true, 16);
  if (const auto* e = error_in(action)) return error_response(*e);
  const std::string& what = std::get<std::string>(action);
  if (what != "pause" && what != "resume" && what != "step" && what != "speed")
    return fail(400, fmt::format("\"action\" must be pause, resume, step or speed, not '{}'", what), "action");
  double speed = 0;
  if (what == "speed") {
    auto given = fields.number("speed", 0.01, 100000);
    if (const auto* e = error_in(given)) return error_response(*e);
    speed = std::get<double>(given);
  }
  if (!actions_.control) return fail(503, "this host has no run to control");
  actions_.control(std::get<std::optional<std::size_t>>(table), what, speed);
  return accepted();
}

Response HostSite::facilitator_inject(const Route& route) {
  auto body = read_body(route.request, options_.max_body_bytes);
  if (const auto* e = error_in(body)) return error_response(*e);
  const JsonValue& json = std::get<JsonValue>(body);
  const Fields fields(json, "");
  if (auto e = fields.only({"table", "inject", "from", "message", "synopsis"})) return error_response(*e);
  auto table_index = table_field(fields, tables_.size(), false);
  if (const auto* e = error_in(table_index)) return error_response(*e);
  const std::size_t k = *std::get<std::optional<std::size_t>>(table_index);
  Table& table = *tables_[k].table;
  if (closed(k)) return fail(409, "the exercise has finished");
  if (fields.get("inject")) {
    if (fields.get("from") || fields.get("message"))
      return fail(400, "either \"inject\" (a prepared one) or \"from\" and \"message\" (written now), not both", "inject");
    auto id = fields.text("inject", true, 64);
    if (const auto* e = error_in(id)) return error_response(*e);
    const std::string& inject = std::get<std::string>(id);
    const bool known = std::any_of(scenario_.injects.begin(), scenario_.injects.end(), [&](const auto& i) { return i.id == inject; }) ||
                       std::any_of(scenario_.contingencies.begin(), scenario_.contingencies.end(),
                                   [&](const auto& c) { return c.id == inject; });
    if (!known) return fail(400, fmt::format("the scenario has no inject or contingency '{}'", inject), "inject");
    table.facilitate(FireInjectCommand{inject});
    return accepted();
  }
  auto from = fields.text("from", true, 128);
  if (const auto* e = error_in(from)) return error_response(*e);
  const std::string& node = std::get<std::string>(from);
  const auto policy = table.policy();
  if (!policy) return fail(409, "the exercise has not started yet");
  if (!policy->has_node(node)) return fail(400, fmt::format("the policy has no node '{}'", node), "from");
  if (!scenario_.nodes.empty() && std::find(scenario_.nodes.begin(), scenario_.nodes.end(), node) == scenario_.nodes.end())
    return fail(400, fmt::format("'{}' takes no part in this scenario", node), "from");
  if (table.plays(node))
    return fail(400, fmt::format("'{}' is played by a person, who sends their own messages", node), "from");
  const JsonValue* message = fields.get("message");
  if (!message || message->type != JsonValue::Type::object)
    return fail(400, "\"message\" (what to send) is required, as for a seat's api/send", "message");
  auto composed = read_message(*message, *policy, "message.", table.status().now);
  if (const auto* e = error_in(composed)) return error_response(*e);
  const auto& c = std::get<ComposedMessage>(composed);
  if (!c.in_reply_to.empty()) return fail(400, "a facilitator's inject is no reply", "message.in_reply_to");
  auto synopsis = fields.text("synopsis", false);
  if (const auto* e = error_in(synopsis)) return error_response(*e);
  table.facilitate(FireMessageCommand{node, c.spec, std::get<std::string>(synopsis)});
  return accepted();
}

Response HostSite::facilitator_media(const Route& route) {
  auto body = read_body(route.request, options_.max_body_bytes);
  if (const auto* e = error_in(body)) return error_response(*e);
  const Fields fields(std::get<JsonValue>(body), "");
  if (auto e = fields.only({"table", "media", "item"})) return error_response(*e);
  auto table = table_field(fields, tables_.size(), true);
  if (const auto* e = error_in(table)) return error_response(*e);
  ReleaseMediaCommand command;
  if (fields.get("media")) {
    if (fields.get("item")) return fail(400, "either \"media\" (a prepared item) or \"item\" (written now), not both", "media");
    auto id = fields.text("media", true, 64);
    if (const auto* e = error_in(id)) return error_response(*e);
    command.media_id = std::get<std::string>(id);
    if (std::none_of(scenario_.media.begin(), scenario_.media.end(), [&](const auto& m) { return m.id == command.media_id; }))
      return fail(400, fmt::format("the scenario has no media item '{}'", command.media_id), "media");
  } else {
    const JsonValue* item = fields.get("item");
    if (!item || item->type != JsonValue::Type::object)
      return fail(400, "\"media\" (a prepared item's id) or \"item\" (one written now) is required", "item");
    const Fields f(*item, "item.");
    if (auto e = f.only({"kind", "source", "headline", "body", "seats"})) return error_response(*e);
    auto kind = f.text("kind", true, 16);
    auto source = f.text("source", true, 256);
    auto headline = f.text("headline", true, 512);
    auto text = f.text("body", false, max_portion_body_bytes);
    auto seats = f.texts("seats", 256);
    for (const ApiError* e : {error_in(kind), error_in(source), error_in(headline), error_in(text), error_in(seats)})
      if (e) return error_response(*e);
    MediaItem made;
    made.id = fmt::format("M-now-{}", ++site_version_);
    made.kind = std::get<std::string>(kind);
    if (made.kind != "news" && made.kind != "social" && made.kind != "call")
      return fail(400, fmt::format("\"kind\" must be news, social or call, not '{}'", made.kind), "item.kind");
    made.source = std::get<std::string>(source);
    made.headline = std::get<std::string>(headline);
    made.body = std::get<std::string>(text);
    made.seats = std::get<std::vector<std::string>>(seats);
    for (std::size_t i = 0; i < made.seats.size(); ++i)
      if (std::none_of(tables_.begin(), tables_.end(), [&](const auto& t) { return t.table->plays(made.seats[i]); }))
        return fail(400, fmt::format("nobody plays '{}'", made.seats[i]), fmt::format("item.seats[{}]", i));
    command.item = std::move(made);
  }
  const auto which = std::get<std::optional<std::size_t>>(table);
  for (std::size_t k = 0; k < tables_.size(); ++k)
    if (!which || *which == k) tables_[k].table->facilitate(command);
  return accepted();
}

Response HostSite::facilitator_plan(const Route& route) {
  auto body = read_body(route.request, options_.max_body_bytes);
  if (const auto* e = error_in(body)) return error_response(*e);
  const Fields fields(std::get<JsonValue>(body), "");
  if (auto e = fields.only({"items"})) return error_response(*e);
  const JsonValue* items = fields.get("items");
  if (!items || items->type != JsonValue::Type::array) return fail(400, "\"items\" must be a list", "items");
  if (items->array.size() > 200) return fail(400, "at most 200 items", "items");
  std::vector<ImprovementItem> plan;
  for (std::size_t i = 0; i < items->array.size(); ++i) {
    const std::string at = fmt::format("items[{}]", i);
    if (items->array[i].type != JsonValue::Type::object) return fail(400, "an item is an object", at);
    const Fields f(items->array[i], at + ".");
    if (auto e = f.only({"issue", "corrective_action", "owner", "due", "objective"})) return error_response(*e);
    auto issue = f.text("issue", true);
    auto action = f.text("corrective_action", false);
    auto owner = f.text("owner", false, 256);
    auto due = f.text("due", false, 64);
    auto objective = f.text("objective", false, 64);
    for (const ApiError* e : {error_in(issue), error_in(action), error_in(owner), error_in(due), error_in(objective)})
      if (e) return error_response(*e);
    ImprovementItem item{std::get<std::string>(issue), std::get<std::string>(action), std::get<std::string>(owner),
                         std::get<std::string>(due), std::get<std::string>(objective)};
    if (!item.objective.empty() && std::none_of(scenario_.objectives.begin(), scenario_.objectives.end(),
                                                [&](const auto& o) { return o.id == item.objective; }))
      return fail(400, fmt::format("the scenario has no objective '{}'", item.objective), at + ".objective");
    plan.push_back(std::move(item));
  }
  // One plan for the exercise: each table's results carry it.
  for (auto& t : tables_) t.table->set_improvement_plan(plan);
  return accepted();
}

Response HostSite::facilitator_finish() {
  if (finishing()) return fail(409, "the exercise has finished");
  const auto names = request_finish();
  return accepted(json::Object().add("reports", names).str());
}

Response HostSite::facilitator_report(std::string_view name) {
  std::lock_guard lock(finish_mutex_);
  if (std::find(reports_.begin(), reports_.end(), name) == reports_.end())
    return fail(404, fmt::format("no report '{}'", name));
  if (!reports_ready_) return fail(404, "the reports are still being written");
  if (!reports_error_.empty()) return fail(500, "the reports could not be written: " + reports_error_);
  std::ifstream file(options_.reports_dir / std::string(name), std::ios::binary);
  if (!file) return fail(404, fmt::format("report '{}' is not on disk", name));
  Response r;
  r.body.assign(std::istreambuf_iterator<char>(file), {});
  r.content_type = std::string(http::content_type_for(name));
  r.headers.emplace_back("Content-Security-Policy", std::string(report_policy));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// ---- an evaluator --------------------------------------------------------------------

Response HostSite::evaluator_api(const Route& route, const Holder& holder) {
  const std::string_view api = route.rest;
  if (!api.starts_with("api/")) return console_file(route, "evaluator.html");
  const bool post = route.request.method == "POST";
  if (api == "api/state")
    return is_get(route.request) ? evaluator_state(route, holder) : method_not_allowed(route.request, "GET");
  if (api == "api/observation" || api == "api/rating") {
    if (!post) return method_not_allowed(route.request, "POST");
    return evaluator_record(route, holder, api == "api/rating");
  }
  return fail(404, fmt::format("an evaluator has no {}", api));
}

Response HostSite::evaluator_state(const Route& route, const Holder& holder) {
  std::uint64_t version = site_version_;
  for (const auto& t : tables_) version += t.table->version();
  if (since(route.request) == version) return http::json_response(unchanged(version));
  const std::string& me = options_.evaluators.at(holder.evaluator);
  std::vector<std::string> tables, observations, ratings;
  for (std::size_t k = 0; k < tables_.size(); ++k) {
    const Table& table = *tables_[k].table;
    tables.push_back(json::Object()
                         .add("index", static_cast<std::int64_t>(k))
                         .add("name", table.name())
                         .add_raw("clock", clock_json(table.status()))
                         .add_raw("human_actions", actions_json(k))
                         .add_raw("expectations", expectations_json(table.expectations()))
                         .str());
    for (const auto& o : table.observations())
      if (o.evaluator == me)
        observations.push_back(json::Object()
                                   .add("table", static_cast<std::int64_t>(k))
                                   .add("at", format_scenario_time(o.at))
                                   .add("objective", o.objective)
                                   .add("text", o.text)
                                   .str());
    for (const auto& r : table.ratings())
      if (r.evaluator == me)
        ratings.push_back(json::Object()
                              .add("table", static_cast<std::int64_t>(k))
                              .add("objective", r.objective)
                              .add("rating", to_string(r.rating))
                              .add("note", r.note)
                              .str());
  }
  return http::json_response(json::Object()
                                 .add("version", static_cast<std::int64_t>(version))
                                 .add_raw("me", json::Object().add("name", me).str())
                                 .add_raw("objectives", objectives_json(scenario_))
                                 .add_raw("tables", json_array(tables))
                                 .add_raw("observations", json_array(observations))
                                 .add_raw("ratings", json_array(ratings))
                                 .add("finished", finishing())
                                 .str());
}

Response HostSite::evaluator_record(const Route& route, const Holder& holder, bool rating) {
  auto body = read_body(route.request, options_.max_body_bytes);
  if (const auto* e = error_in(body)) return error_response(*e);
  const Fields fields(std::get<JsonValue>(body), "");
  if (auto e = rating ? fields.only({"table", "objective", "rating", "note"}) : fields.only({"table", "objective", "text"}))
    return error_response(*e);
  auto table_index = table_field(fields, tables_.size(), false);
  if (const auto* e = error_in(table_index)) return error_response(*e);
  const std::size_t k = *std::get<std::optional<std::size_t>>(table_index);
  // Evaluators may still write while the reports wait to be written, not after.
  {
    std::lock_guard lock(finish_mutex_);
    if (reports_ready_) return fail(409, "the exercise has finished and its reports are written");
  }
  auto objective = fields.text("objective", true, 64);
  if (const auto* e = error_in(objective)) return error_response(*e);
  const std::string& id = std::get<std::string>(objective);
  if (std::none_of(scenario_.objectives.begin(), scenario_.objectives.end(), [&](const auto& o) { return o.id == id; }))
    return fail(400, fmt::format("the scenario has no objective '{}'", id), "objective");
  Table& table = *tables_[k].table;
  const std::string& me = options_.evaluators.at(holder.evaluator);
  if (rating) {
    auto letter = fields.text("rating", true, 4);
    auto note = fields.text("note", false);
    for (const ApiError* e : {error_in(letter), error_in(note)})
      if (e) return error_response(*e);
    const std::string& r = std::get<std::string>(letter);
    std::optional<Rating> value;
    for (auto candidate : {Rating::P, Rating::S, Rating::M, Rating::U})
      if (to_string(candidate) == r) value = candidate;
    if (!value)
      return fail(400, fmt::format("\"rating\" must be P, S, M or U (HSEEP's scale), not '{}'", r), "rating");
    table.rate(ObjectiveRating{id, me, {}, *value, std::get<std::string>(note)});
  } else {
    auto text = fields.text("text", true);
    if (const auto* e = error_in(text)) return error_response(*e);
    table.observe(Observation{table.status().now, me, id, {}, std::get<std::string>(text)});
  }
  return accepted();
}

}  // namespace icegate::exercise::host

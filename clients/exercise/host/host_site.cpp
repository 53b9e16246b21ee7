// The host site: routing by secret, limits, the consoles' files and a seat's API;
// the facilitator's and an evaluator's APIs are in facilitator_api.cpp and
// evaluator_api.cpp, what they share in site_parts.hpp.
#include "clients/exercise/host/host_site.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "clients/exercise/host/assets.hpp"
#include "clients/exercise/host/site_parts.hpp"
#include "gateway/http/assets.hpp"
#include "gateway/http/dashboard.hpp"
#include "gateway/model/json.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::exercise::host {

using namespace site;

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

const std::string& HostSite::qr_of(const std::string& link) {
  auto it = qr_codes_.find(link);
  if (it == qr_codes_.end()) it = qr_codes_.emplace(link, options_.qr_svg ? options_.qr_svg(link) : "").first;
  return it->second;
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
  if (!has_policy) http::add_security_headers(response, console_policy);
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
  const auto policy = table.policy_for(holder.node);  // across gateways: its own gateway's
  input.policy = policy.get();
  input.gateway = table.gateway_of(holder.node);
  if (!input.gateway.empty()) input.gateway_of = [&table](const std::string& node) { return table.gateway_of(node); };
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
  const auto policy = table.policy_for(holder.node);  // across gateways: its own gateway's
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
  const auto policy = table.policy_for(holder.node);  // across gateways: its own gateway's
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
  const Table& table = *tables_[t].table;
  for (const auto& a : table.human_actions()) {
    std::vector<std::string> outcomes;
    for (const auto& o : a.outcomes) outcomes.push_back(outcome_json(o, table.gateway_of(o.node)));
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


}  // namespace icegate::exercise::host

// The facilitator's API (docs/HOSTING.md): the state of every table, the runs' controls,
// injects and media now, the improvement plan, the end, and table k's dashboard mounted.
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
  Response response = tables_[k].dashboard->handle(inner);
  // The facilitator's console shows the iceberg in a frame of its own page
  // (same origin, same secret); the dashboard alone may be framed by nobody.
  for (auto& [name, value] : response.headers)
    if (name == "Content-Security-Policy")
      if (const auto at = value.find("frame-ancestors 'none'"); at != std::string::npos)
        value.replace(at, std::string_view("frame-ancestors 'none'").size(), "frame-ancestors 'self'");
  return response;
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
      const auto own = table.policy_for(node);  // across gateways: the seat's gateway's
      const policy::Node* n = own ? own->find_node(node) : nullptr;
      int waiting = 0;
      for (const auto& r : seat.reviews) waiting += r.answer.empty();
      for (const auto& s : seat.sent) waiting += s.state == "queued";
      auto s = seen_.find({k, node});
      const std::string link = seat_link(k, node);
      json::Object seat_json;
      seat_json.add("node", node);
      if (const std::string gateway = table.gateway_of(node); !gateway.empty()) seat_json.add("gateway", gateway);
      seats.push_back(seat_json
                          .add("name", n ? n->name : "")
                          .add("organisation", n ? n->organisation : "")
                          .add("role", n ? n->role : "")
                          .add("connected", seat.connected)
                          .add("pages_open", static_cast<std::int64_t>(pages_open(k, node)))
                          .add("last_seen", s != seen_.end() && s->second.last_seen ? format_scenario_time(*s->second.last_seen) : "")
                          .add("last_action", seat.last_action ? format_scenario_time(*seat.last_action) : "")
                          .add("waiting", static_cast<std::int64_t>(waiting))
                          .add("link", link)
                          .add("qr_svg", qr_of(link))
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
    // Across several gateways: each, with its policy and its nodes (the
    // table's `policy` is then the first's, or the one --gateway replaced).
    std::vector<std::string> gateways;
    for (const auto& g : table.gateways())
      gateways.push_back(json::Object()
                             .add("id", g.id)
                             .add("policy_name", g.policy ? g.policy->source().name : "")
                             .add("nodes", g.nodes)
                             .str());
    json::Object table_json;
    table_json.add("index", static_cast<std::int64_t>(k)).add("name", table.name());
    if (!gateways.empty()) table_json.add_raw("gateways", json_array(gateways));
    tables.push_back(table_json
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
                             .add("qr_svg", qr_of(link))
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
  const auto policy = table.policy_for(node);  // across gateways: the node's own gateway's
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
  http::add_security_headers(r, report_policy);
  if (!r.content_type.starts_with("application/json")) r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}


}  // namespace icegate::exercise::host

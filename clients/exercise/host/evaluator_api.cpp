// An evaluator's API (docs/HOSTING.md): what people did, and observations and
// ratings against the scenario's objectives (HSEEP's Exercise Evaluation Guide).
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

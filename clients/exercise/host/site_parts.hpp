// What the host site's parts share (host_site.cpp: routing and seats;
// facilitator_api.cpp; evaluator_api.cpp): the answers every API gives, and
// the JSON pieces both boards show. Internal to icegate_exercise_host.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "clients/exercise/host/form.hpp"
#include "clients/exercise/host/host_site.hpp"
#include "clients/exercise/host/views.hpp"
#include "gateway/model/json.hpp"

namespace icegate::exercise::host {

using http::JsonValue;
using http::Request;
using http::Response;

struct HostSite::Route {
  const Request& request;
  char prefix;            // 's', 'f', 'e'
  std::string secret;
  std::string_view rest;  // the path after "/x/SECRET/"
};

namespace site {


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

inline Response fail(int status, std::string error, std::string field = {}) {
  return error_response(ApiError{status, std::move(error), std::move(field)});
}

inline Response accepted(std::string body = "{}") { return http::json_response(std::move(body), 202); }

inline Response method_not_allowed(const Request& request, std::string_view allowed) {
  Response r = fail(405, fmt::format("{} is not allowed here; use {}", request.method, allowed));
  r.headers.emplace_back("Allow", std::string(allowed));
  return r;
}

inline bool is_get(const Request& r) { return r.method == "GET" || r.method == "HEAD"; }

// "?since=V": the version a page already has, or none.
inline std::optional<std::uint64_t> since(const Request& request) {
  const std::string text = http::query_parameter(request.target, "since");
  if (text.empty() || text.size() > 19 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoull(text);
}

inline std::string unchanged(std::uint64_t version) {
  return json::Object().add("version", static_cast<std::int64_t>(version)).add("unchanged", true).str();
}

inline std::string_view kind_name(HumanAction::Kind kind) {
  switch (kind) {
    case HumanAction::Kind::send: return "send";
    case HumanAction::Kind::reply: return "reply";
    case HumanAction::Kind::review: return "review";
    case HumanAction::Kind::trigger: return "trigger";
  }
  return "";
}

// "12m", "1h30m": a duration as scenario times are written, without "T+".
inline std::string duration_text(Offset offset) {
  const std::string text = format_scenario_time(offset);
  return text == "T+0" ? "0s" : text.substr(2);
}

template <typename T>
const ApiError* error_in(const std::variant<T, ApiError>& v) {
  return std::get_if<ApiError>(&v);
}



inline std::string expectations_json(const std::vector<LiveExpectation>& board) {
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

inline std::string objectives_json(const Scenario& scenario) {
  std::vector<std::string> out;
  for (const auto& o : scenario.objectives) out.push_back(json::Object().add("id", o.id).add("text", o.text).str());
  return json_array(out);
}



// `"table": k` (one table) or `"table": null` / absent (every table, when `null_means_all`).
inline std::variant<std::optional<std::size_t>, ApiError> table_field(const Fields& fields, std::size_t tables, bool null_means_all) {
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


}  // namespace site

}  // namespace icegate::exercise::host

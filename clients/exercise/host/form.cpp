#include "clients/exercise/host/form.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "gateway/model/json.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/peers.hpp"

namespace icegate::exercise::host {

using http::JsonValue;

http::Response error_response(const ApiError& error) {
  json::Object body;
  body.add("error", error.error);
  if (!error.field.empty()) body.add("field", error.field);
  return http::json_response(body.str(), error.status);
}

std::variant<JsonValue, ApiError> read_body(const http::Request& request, std::size_t max_body_bytes) {
  const std::string_view type = std::string_view(request.content_type).substr(0, request.content_type.find(';'));
  if (type != "application/json")
    return ApiError{415, fmt::format("the body must be application/json, not '{}'", request.content_type), ""};
  if (request.body.size() > max_body_bytes)
    return ApiError{413, fmt::format("the body is {} bytes; at most {} are accepted", request.body.size(), max_body_bytes),
                    ""};
  auto parsed = http::parse_json(request.body);
  if (!parsed.ok()) return ApiError{400, "the body is not valid JSON: " + parsed.error, ""};
  if (parsed.value.type != JsonValue::Type::object) return ApiError{400, "the body must be a JSON object", ""};
  return std::move(parsed.value);
}

const JsonValue* Fields::get(std::string_view key) const {
  const JsonValue* value = object_.find(key);
  return value && !value->is_null() ? value : nullptr;
}

std::optional<ApiError> Fields::only(std::initializer_list<std::string_view> known) const {
  for (const auto& [key, value] : object_.object)
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::vector<std::string> names(known.begin(), known.end());
      return ApiError{400, fmt::format("unknown key \"{}\" (known: {})", key, fmt::join(names, ", ")), path(key)};
    }
  return std::nullopt;
}

std::variant<std::string, ApiError> Fields::text(std::string_view key, bool required, std::size_t max_bytes) const {
  const JsonValue* value = get(key);
  if (!value) {
    if (required) return ApiError{400, fmt::format("\"{}\" is required", key), path(key)};
    return std::string();
  }
  if (value->type != JsonValue::Type::string) return ApiError{400, fmt::format("\"{}\" must be a string", key), path(key)};
  if (value->string.size() > max_bytes)
    return ApiError{400, fmt::format("\"{}\" is {} bytes; at most {} are allowed", key, value->string.size(), max_bytes),
                    path(key)};
  if (required && value->string.empty()) return ApiError{400, fmt::format("\"{}\" must not be empty", key), path(key)};
  return value->string;
}

std::variant<bool, ApiError> Fields::flag(std::string_view key) const {
  const JsonValue* value = get(key);
  if (!value) return false;
  if (value->type != JsonValue::Type::boolean) return ApiError{400, fmt::format("\"{}\" must be true or false", key), path(key)};
  return value->boolean;
}

std::variant<double, ApiError> Fields::number(std::string_view key, double min, double max) const {
  const JsonValue* value = get(key);
  if (!value) return ApiError{400, fmt::format("\"{}\" is required", key), path(key)};
  if (value->type != JsonValue::Type::number || !(value->number >= min && value->number <= max))
    return ApiError{400, fmt::format("\"{}\" must be a number from {} to {}", key, min, max), path(key)};
  return value->number;
}

std::variant<std::int64_t, ApiError> Fields::integer(std::string_view key, std::int64_t min, std::int64_t max) const {
  const JsonValue* value = get(key);
  if (!value) {
    if (min > 0) return ApiError{400, fmt::format("\"{}\" is required", key), path(key)};
    return std::int64_t{0};
  }
  if (value->type != JsonValue::Type::number || value->number != std::floor(value->number) ||
      value->number < static_cast<double>(min) || value->number > static_cast<double>(max))
    return ApiError{400, fmt::format("\"{}\" must be a whole number from {} to {}", key, min, max), path(key)};
  return static_cast<std::int64_t>(value->number);
}

std::variant<std::vector<std::string>, ApiError> Fields::texts(std::string_view key, std::size_t max_items) const {
  const JsonValue* value = get(key);
  std::vector<std::string> out;
  if (!value) return out;
  if (value->type != JsonValue::Type::array) return ApiError{400, fmt::format("\"{}\" must be a list of strings", key), path(key)};
  if (value->array.size() > max_items)
    return ApiError{400, fmt::format("\"{}\" has {} items; at most {} are allowed", key, value->array.size(), max_items),
                    path(key)};
  for (std::size_t i = 0; i < value->array.size(); ++i) {
    const auto& item = value->array[i];
    const std::string field = fmt::format("{}[{}]", path(key), i);
    if (item.type != JsonValue::Type::string) return ApiError{400, "must be a string", field};
    if (item.string.size() > max_text_bytes) return ApiError{400, "too long", field};
    out.push_back(item.string);
  }
  return out;
}

namespace {

template <typename T>
bool failed(const std::variant<T, ApiError>& v, ApiError& error) {
  if (const auto* e = std::get_if<ApiError>(&v)) {
    error = *e;
    return true;
  }
  return false;
}

std::optional<AddresseeKind> addressee_kind(std::string_view text) {
  for (auto kind : {AddresseeKind::node, AddresseeKind::role, AddresseeKind::list, AddresseeKind::organisation})
    if (to_string(kind) == text) return kind;
  return std::nullopt;
}

bool addressee_exists(const policy::Policy& p, AddresseeKind kind, std::string_view name) {
  auto has = [&](const auto& items) {
    return std::any_of(items.begin(), items.end(), [&](const auto& item) { return item.id == name; });
  };
  switch (kind) {
    case AddresseeKind::node: return has(p.nodes);
    case AddresseeKind::role: return has(p.roles);
    case AddresseeKind::list: return has(p.lists);
    case AddresseeKind::organisation: return has(p.organisations);
  }
  return false;
}

// A name this gateway's policy defines, or one a peer gateway speaks for (the
// message is forwarded to it, and decided again at every hop).
bool addressable(const policy::Policy& p, AddresseeKind kind, std::string_view name) {
  return addressee_exists(p, kind, name) || policy::next_hop(p, Addressee{kind, std::string(name)}) != nullptr;
}

}  // namespace

std::variant<ComposedMessage, ApiError> read_message(const JsonValue& body, const policy::CompiledPolicy& policy,
                                                     const std::string& prefix, Offset now) {
  const policy::Policy& p = policy.source();
  const Fields fields(body, prefix);
  ApiError error;
  if (auto e = fields.only({"to", "category", "purpose", "title", "portions", "handling", "in_reply_to"})) return *e;
  ComposedMessage composed;
  MessageSpec& spec = composed.spec;

  const JsonValue* to = fields.get("to");
  if (!to || to->type != JsonValue::Type::array || to->array.empty())
    return ApiError{400, "\"to\" must list at least one addressee", fields.path("to")};
  if (to->array.size() > 100) return ApiError{400, "\"to\" lists more than 100 addressees", fields.path("to")};
  for (std::size_t i = 0; i < to->array.size(); ++i) {
    const std::string at = fmt::format("{}to[{}].", prefix, i);
    if (to->array[i].type != JsonValue::Type::object)
      return ApiError{400, "an addressee is an object {\"kind\",\"name\"}", fmt::format("{}to[{}]", prefix, i)};
    const Fields addressee(to->array[i], at);
    if (auto e = addressee.only({"kind", "name"})) return *e;
    auto kind_text = addressee.text("kind", true);
    auto name = addressee.text("name", true);
    if (failed(kind_text, error) || failed(name, error)) return error;
    const auto kind = addressee_kind(std::get<std::string>(kind_text));
    if (!kind)
      return ApiError{400, fmt::format("unknown addressee kind '{}' (node, role, list, organisation)",
                                       std::get<std::string>(kind_text)),
                      at + "kind"};
    if (!addressable(p, *kind, std::get<std::string>(name)))
      return ApiError{400, fmt::format("the policy has no {} '{}'", to_string(*kind), std::get<std::string>(name)),
                      at + "name"};
    spec.to.push_back({*kind, std::get<std::string>(name)});
  }

  auto category = fields.text("category", true);
  if (failed(category, error)) return error;
  spec.category = std::get<std::string>(category);
  if (std::find(p.information_categories.begin(), p.information_categories.end(), spec.category) ==
      p.information_categories.end())
    return ApiError{400, fmt::format("the policy has no information category '{}'", spec.category), fields.path("category")};
  auto purpose = fields.text("purpose", false);
  if (failed(purpose, error)) return error;
  spec.purpose = std::get<std::string>(purpose);
  if (!spec.purpose.empty() && std::find(p.purposes.begin(), p.purposes.end(), spec.purpose) == p.purposes.end())
    return ApiError{400, fmt::format("the policy has no purpose '{}'", spec.purpose), fields.path("purpose")};
  auto title = fields.text("title", true, 512);
  if (failed(title, error)) return error;
  spec.title = std::get<std::string>(title);

  const JsonValue* portions = fields.get("portions");
  if (!portions || portions->type != JsonValue::Type::array || portions->array.empty())
    return ApiError{400, "\"portions\" must list at least one portion", fields.path("portions")};
  if (portions->array.size() > max_portions)
    return ApiError{400, fmt::format("{} portions; at most {} are allowed", portions->array.size(), max_portions),
                    fields.path("portions")};
  for (std::size_t i = 0; i < portions->array.size(); ++i) {
    const std::string at = fmt::format("{}portions[{}].", prefix, i);
    if (portions->array[i].type != JsonValue::Type::object)
      return ApiError{400, "a portion is an object {\"label\",\"body\"}", fmt::format("{}portions[{}]", prefix, i)};
    const Fields portion(portions->array[i], at);
    if (auto e = portion.only({"label", "body"})) return *e;
    const JsonValue* label = portion.get("label");
    if (!label || label->type != JsonValue::Type::object)
      return ApiError{400, "a portion needs a label {\"classification\",\"categories\"}", at + "label"};
    const Fields label_fields(*label, at + "label.");
    if (auto e = label_fields.only({"classification", "categories"})) return *e;
    auto classification = label_fields.text("classification", true);
    auto categories = label_fields.texts("categories", 32);
    if (failed(classification, error) || failed(categories, error)) return error;
    Portion made;
    made.id = std::to_string(i + 1);
    made.label.classification = std::get<std::string>(classification);
    if (std::none_of(p.scheme.classifications.begin(), p.scheme.classifications.end(),
                     [&](const auto& c) { return c.name == made.label.classification; }))
      return ApiError{400, fmt::format("the scheme {} has no classification '{}'", p.scheme.name, made.label.classification),
                      at + "label.classification"};
    const auto& names = std::get<std::vector<std::string>>(categories);
    for (std::size_t c = 0; c < names.size(); ++c)
      if (std::none_of(p.scheme.categories.begin(), p.scheme.categories.end(),
                       [&](const auto& known) { return known.name == names[c]; }))
        return ApiError{400, fmt::format("the scheme {} has no category '{}'", p.scheme.name, names[c]),
                        fmt::format("{}label.categories[{}]", at, c)};
    made.label.categories = names;
    normalise(made.label);
    auto text = portion.text("body", true, max_portion_body_bytes);
    if (failed(text, error)) return error;
    made.body = std::get<std::string>(text);
    spec.portions.push_back(std::move(made));
  }

  if (const JsonValue* handling = fields.get("handling")) {
    if (handling->type != JsonValue::Type::object)
      return ApiError{400, "\"handling\" must be an object", fields.path("handling")};
    const Fields h(*handling, prefix + "handling.");
    if (auto e = h.only({"originator_control", "no_onward_sharing", "embargo_event", "expires_after_minutes"})) return *e;
    auto control = h.flag("originator_control");
    auto onward = h.flag("no_onward_sharing");
    auto event = h.text("embargo_event", false);
    auto expires = h.integer("expires_after_minutes", 0, 60 * 24 * 365);
    if (failed(control, error) || failed(onward, error) || failed(event, error) || failed(expires, error)) return error;
    spec.handling.originator_control = std::get<bool>(control);
    spec.handling.no_onward_sharing = std::get<bool>(onward);
    spec.handling.not_before_event = std::get<std::string>(event);
    if (!spec.handling.not_before_event.empty() && !policy.has_event(spec.handling.not_before_event))
      return ApiError{400, fmt::format("the policy has no event '{}'", spec.handling.not_before_event),
                      h.path("embargo_event")};
    if (const auto minutes = std::get<std::int64_t>(expires); minutes > 0)
      spec.not_after = now + std::chrono::minutes(minutes);
  }
  auto reply = fields.text("in_reply_to", false, 128);
  if (failed(reply, error)) return error;
  composed.in_reply_to = std::get<std::string>(reply);
  return composed;
}

Message to_message(const ComposedMessage& composed, const std::string& from, const policy::CompiledPolicy& policy,
                   std::int64_t t0_unix_ms, Offset now) {
  Message message = make_message(composed.spec, from, t0_unix_ms);
  message.created_unix_ms = t0_unix_ms + now.count();
  message.derived_from = composed.in_reply_to;
  std::vector<Label> labels;
  for (const auto& portion : message.portions) labels.push_back(portion.label);
  // The overall label is the portions' bound when the scheme allows it. A
  // category some scheme allows only below the highest portion (GSC's LOCSEN,
  // only with OFFICIAL-SENSITIVE, beside a SECRET portion) makes no valid
  // overall label: then none is set, and the gateway marks the message from
  // its portions, as it does for a scripted inject.
  const Label bound = policy.least_upper_bound(labels);
  if (policy.label_problems(bound).empty()) message.label = bound;
  return message;
}

}  // namespace icegate::exercise::host

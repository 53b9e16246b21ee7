#include "clients/exercise/scenario.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "clients/node/message_file.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/policy/checker.hpp"

namespace icegate::exercise {

namespace {

// Scenario times and durations are bounded so that t0 plus any offset stays far
// inside the clock's range; ten years either side of T+0 covers any exercise.
constexpr std::int64_t kMaxOffsetMs = 3650LL * 86'400'000;

// "1h30m" style: a sequence of <number><unit> with units d, h, m, s; "0" alone is zero.
std::optional<Offset> parse_units(std::string_view text) {
  if (text == "0") return Offset{0};
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i || j == text.size()) return std::nullopt;
    std::int64_t value = 0;
    // A number too large for 64 bits must not read as 0 (T+99999999999999999999h is not T+0).
    const auto [end, error] = std::from_chars(text.data() + i, text.data() + j, value);
    if (error != std::errc() || end != text.data() + j) return std::nullopt;
    std::int64_t unit = 0;
    switch (text[j]) {
      case 'd': unit = 86'400'000; break;
      case 'h': unit = 3'600'000; break;
      case 'm': unit = 60'000; break;
      case 's': unit = 1'000; break;
      default: return std::nullopt;
    }
    if (value > kMaxOffsetMs / unit) return std::nullopt;
    total += value * unit;
    if (total > kMaxOffsetMs) return std::nullopt;
    i = j + 1;
  }
  return Offset{total};
}

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace

const SourceLocation& Locations::operator[](std::string_view field) const {
  const auto it = fields.find(field);
  return it == fields.end() ? self : it->second;
}

ScenarioError::ScenarioError(Diagnostics diagnostics)
    : std::runtime_error(render(diagnostics)), diagnostics_(std::move(diagnostics)) {}

std::string render(const Diagnostics& diagnostics) {
  std::vector<std::string> lines;
  for (const auto& d : diagnostics.sorted()) lines.push_back(policy::to_string(d));
  return fmt::format("{}", fmt::join(lines, "\n"));
}

std::string_view to_string(ExpectationKind kind) {
  switch (kind) {
    case ExpectationKind::receives: return "receives";
    case ExpectationKind::does_not_receive: return "does_not_receive";
    case ExpectationKind::does_not_receive_before: return "does_not_receive_before";
    case ExpectationKind::never_receives_at_or_above: return "never_receives_at_or_above";
    case ExpectationKind::originator_receipt: return "originator_receipt";
    case ExpectationKind::approved_within: return "approved_within";
    case ExpectationKind::sends: return "sends";
  }
  return "receives";
}

std::optional<Offset> parse_duration(std::string_view text) { return parse_units(text); }

std::optional<Offset> parse_scenario_time(std::string_view text) {
  if (text.size() < 3 || (text[0] != 'T' && text[0] != 't')) return std::nullopt;
  const char sign = text[1];
  if (sign != '+' && sign != '-') return std::nullopt;
  auto offset = parse_units(text.substr(2));
  if (!offset) return std::nullopt;
  return sign == '-' ? -*offset : *offset;
}

std::string format_scenario_time(Offset offset) {
  const bool negative = offset.count() < 0;
  std::int64_t ms = negative ? -offset.count() : offset.count();
  std::string text = negative ? "T-" : "T+";
  if (ms == 0) return "T+0";
  // Hours, never days: scenario files and facilitators write T-48h.
  const std::int64_t hours = ms / 3'600'000, minutes = ms / 60'000 % 60, seconds = ms / 1000 % 60;
  if (hours) text += fmt::format("{}h", hours);
  if (minutes) text += fmt::format("{}m", minutes);
  if (seconds) text += fmt::format("{}s", seconds);
  if (!hours && !minutes && !seconds) text += fmt::format("{}ms", ms);
  return text;
}

namespace {

std::string suggestion(std::string_view word, const auto& candidates) {
  const auto best = policy::closest(word, candidates);
  return best ? fmt::format("; did you mean '{}'?", *best) : std::string();
}

// The same suggestion as a value, for the diagnostic's details.
policy::DiagnosticDetails nearest(std::string_view word, const auto& candidates) {
  return {.suggestion = policy::closest(word, candidates)};
}

// Reads a scenario, collecting every problem with its location.
class Reader {
 public:
  Reader(std::string source, Diagnostics& diagnostics) : source_(std::move(source)), diagnostics_(diagnostics) {}

  SourceLocation location(const YAML::Mark& mark) const {
    if (mark.is_null()) return {source_, 1, 1};
    return {source_, mark.line + 1, mark.column + 1};
  }
  SourceLocation location(const YAML::Node& node) const { return location(node.Mark()); }

  void fail(Code code, const YAML::Node& node, const std::string& message, policy::DiagnosticDetails details = {}) {
    diagnostics_.error(code, location(node), message, std::move(details));
  }

  // Notes where `node` (the value of `field`) was written.
  static void note(Locations& where, std::string field, const SourceLocation& at) {
    where.fields.emplace(std::move(field), at);
  }
  void note(Locations& where, std::string field, const YAML::Node& node) const {
    if (node) note(where, std::move(field), location(node));
  }

  // Checks that a mapping has only `allowed` keys.
  bool keys(const YAML::Node& map, std::string_view what, std::initializer_list<std::string_view> allowed) {
    if (!map.IsMap()) {
      fail(Code::X003, map, fmt::format("{} must be a mapping", what));
      return false;
    }
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.as<std::string>("");
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail(Code::X002, it->first,
             fmt::format("unknown key '{}' in {} (expected one of: {}){}", key, what, fmt::join(allowed, ", "),
                         suggestion(key, allowed)),
             nearest(key, allowed));
    }
    return true;
  }

  std::string text(const YAML::Node& node, std::string_view what, bool required = false) {
    if (!node) return {};
    if (!node.IsScalar()) {
      fail(Code::X003, node, fmt::format("{} must be text", what));
      return {};
    }
    std::string value = node.Scalar();
    if (required && value.empty()) fail(Code::X005, node, fmt::format("{} must not be empty", what));
    return value;
  }

  std::string required_text(const YAML::Node& parent, const char* key, std::string_view what) {
    if (!parent[key]) {
      fail(Code::X004, parent, fmt::format("{} needs '{}'", what, key));
      return {};
    }
    return text(parent[key], key, true);
  }

  std::optional<Offset> time(const YAML::Node& node, std::string_view what) {
    if (!node) return std::nullopt;
    const std::string value = text(node, what);
    auto offset = parse_scenario_time(value);
    if (!offset && node.IsScalar())
      fail(Code::X005, node,
           fmt::format("{} must be a scenario time such as T-48h, T+0 or T+2h30m, within 3650d of T+0 (not '{}')",
                       what, value));
    return offset;
  }

  std::optional<Offset> duration(const YAML::Node& node, std::string_view what) {
    if (!node) return std::nullopt;
    const std::string value = text(node, what);
    auto offset = parse_duration(value);
    if (!offset && node.IsScalar())
      fail(Code::X005, node, fmt::format("{} must be a duration such as 30m, 2h or 1d, at most 3650d (not '{}')", what, value));
    return offset;
  }

  // A list of text; `where`/`field` note each entry's location as "field[i]".
  std::vector<std::string> list(const YAML::Node& node, std::string_view what, Locations* where = nullptr) {
    std::vector<std::string> values;
    if (!node) return values;
    if (node.IsScalar()) {
      if (where) note(*where, fmt::format("{}[0]", what), node);
      return {node.Scalar()};
    }
    if (!node.IsSequence()) {
      fail(Code::X003, node, fmt::format("{} must be a list", what));
      return values;
    }
    for (const auto& item : node) {
      if (where) note(*where, fmt::format("{}[{}]", what, values.size()), item);
      values.push_back(text(item, what, true));
    }
    return values;
  }

  // The items of a list section; false (and a problem) when it is not a list.
  bool sequence(const YAML::Node& node, std::string_view what) {
    if (node.IsSequence()) return true;
    if (node.IsNull()) return false;  // `injects:` with nothing after it: an empty list
    fail(Code::X003, node, fmt::format("{} must be a list", what));
    return false;
  }

  Label label(const YAML::Node& node) {
    try {
      if (node.IsScalar()) return node::parse_label_text(node.Scalar());
      if (node.IsMap() && keys(node, "a label", {"classification", "categories"})) {
        Label result{text(node["classification"], "classification", true), list(node["categories"], "categories")};
        normalise(result);
        return result;
      }
      if (!node.IsMap()) fail(Code::X003, node, "a label is text such as 'SECRET/UK EYES ONLY' or {classification, categories}");
    } catch (const std::exception& e) {
      fail(Code::X005, node, e.what());
    }
    return {};
  }

  MessageSpec message(const YAML::Node& node) {
    MessageSpec spec;
    spec.where.self = location(node);
    if (!keys(node, "a message", {"title", "to", "category", "purpose", "handling", "portions"})) return spec;
    spec.title = text(node["title"], "title");
    if (!node["to"]) fail(Code::X004, node, "a message needs 'to'");
    Locations to_at;
    const auto to = list(node["to"], "to", &to_at);
    for (std::size_t i = 0; i < to.size(); ++i) {
      const auto& at = to_at[fmt::format("to[{}]", i)];
      if (to[i].empty()) continue;  // already reported as empty
      try {
        spec.to.push_back(node::parse_addressee(to[i]));
        note(spec.where, fmt::format("to[{}]", spec.to.size() - 1), at);
      } catch (const std::exception& e) {
        diagnostics_.error(Code::X005, at, e.what());
      }
    }
    if (node["to"] && to.empty())
      fail(Code::X005, node["to"], "'to' names nobody: a message needs at least one addressee");
    spec.category = required_text(node, "category", "a message");
    note(spec.where, "category", node["category"]);
    spec.purpose = text(node["purpose"], "purpose");
    note(spec.where, "purpose", node["purpose"]);
    if (const auto handling = node["handling"]) {
      if (keys(handling, "handling",
               {"originator_control", "no_onward_sharing", "not_before", "not_before_event", "not_after"})) {
        spec.handling.originator_control = flag(handling["originator_control"], "originator_control");
        spec.handling.no_onward_sharing = flag(handling["no_onward_sharing"], "no_onward_sharing");
        spec.not_before = time(handling["not_before"], "not_before");
        spec.not_after = time(handling["not_after"], "not_after");
        spec.handling.not_before_event = text(handling["not_before_event"], "not_before_event");
        note(spec.where, "not_before_event", handling["not_before_event"]);
      }
    }
    const auto portions = node["portions"];
    if (!portions) {
      fail(Code::X004, node, "a message needs 'portions', a non-empty list");
      return spec;
    }
    if (!portions.IsSequence() || portions.size() == 0) {
      fail(portions.IsSequence() ? Code::X005 : Code::X003, portions, "a message needs a non-empty list of portions");
      return spec;
    }
    int position = 0;
    for (const auto& portion : portions) {
      ++position;
      if (!keys(portion, "a portion", {"id", "label", "body"})) continue;
      Portion p;
      p.id = portion["id"] ? text(portion["id"], "id", true) : std::to_string(position);
      if (!portion["label"]) fail(Code::X004, portion, "a portion needs a label");
      else p.label = label(portion["label"]);
      note(spec.where, fmt::format("portions[{}].label", spec.portions.size()), portion["label"] ? portion["label"] : portion);
      p.body = text(portion["body"], "body");
      spec.portions.push_back(std::move(p));
    }
    return spec;
  }

  bool flag(const YAML::Node& node, std::string_view what) {
    if (!node) return false;
    const std::string value = node.IsScalar() ? node.Scalar() : "";
    if (value == "true") return true;
    if (value != "false") fail(Code::X005, node, fmt::format("{} must be true or false", what));
    return false;
  }

  // `contingency`: the id of the contingency whose inject this is; it has no `at`.
  Inject inject(const YAML::Node& node, const std::string* contingency = nullptr) {
    Inject result;
    result.line = node.Mark().line + 1;
    result.where.self = location(node);
    if (!keys(node, "an inject",
              {"id", "at", "from", "message", "trigger", "synopsis", "expected_action", "objective"}))
      return result;
    result.id = required_text(node, "id", "an inject");
    note(result.where, "id", node["id"]);
    if (!contingency) {
      if (!node["at"]) fail(Code::X004, node, fmt::format("inject {} needs 'at'", result.id));
      else if (auto at = time(node["at"], "at")) result.at = *at;
    } else if (node["at"]) {
      // Silently ignoring it would let a planner believe the inject is timed.
      fail(Code::X002, node["at"],
           fmt::format("contingency {}'s inject has no 'at': it fires when its expectation is found unmet",
                       *contingency));
    }
    result.from = required_text(node, "from", "an inject");
    note(result.where, "from", node["from"]);
    result.synopsis = text(node["synopsis"], "synopsis");
    result.expected_action = text(node["expected_action"], "expected_action");
    result.objective = text(node["objective"], "objective");
    note(result.where, "objective", node["objective"]);
    result.trigger = text(node["trigger"], "trigger");
    note(result.where, "trigger", node["trigger"]);
    if (node["message"]) result.message = message(node["message"]);
    if (result.message.has_value() == !result.trigger.empty())
      fail(result.message ? Code::X005 : Code::X004, node,
           fmt::format("inject {} needs exactly one of 'message' or 'trigger'", result.id));
    return result;
  }

  Expectation expectation(const YAML::Node& node) {
    Expectation e;
    e.line = node.Mark().line + 1;
    e.where.self = location(node);
    if (!keys(node, "an expectation",
              {"id", "description", "objective", "receives", "does_not_receive", "does_not_receive_before",
               "never_receives_at_or_above", "originator_receipt", "approved_within", "sends"}))
      return e;
    e.id = required_text(node, "id", "an expectation");
    note(e.where, "id", node["id"]);
    e.description = text(node["description"], "description");
    e.objective = text(node["objective"], "objective");
    note(e.where, "objective", node["objective"]);
    int kinds = 0;
    auto fields = [&](const YAML::Node& n) {
      for (const char* field : {"node", "inject", "classification"}) note(e.where, field, n[field]);
    };
    if (const auto n = node["receives"]) {
      ++kinds;
      e.kind = ExpectationKind::receives;
      if (keys(n, "receives", {"node", "inject", "by", "version"})) {
        fields(n);
        e.node = required_text(n, "node", "receives");
        e.inject = required_text(n, "inject", "receives");
        e.by = time(n["by"], "by");
        const std::string version = text(n["version"], "version");
        if (version == "full") e.version = Version::full;
        else if (version == "redacted") e.version = Version::redacted;
        else if (!version.empty() && version != "any")
          fail(Code::X005, n["version"], fmt::format("version is any, full or redacted (not '{}')", version));
      }
    }
    if (const auto n = node["does_not_receive"]) {
      ++kinds;
      e.kind = ExpectationKind::does_not_receive;
      if (keys(n, "does_not_receive", {"node", "inject"})) {
        fields(n);
        e.node = required_text(n, "node", "does_not_receive");
        e.inject = required_text(n, "inject", "does_not_receive");
      }
    }
    if (const auto n = node["does_not_receive_before"]) {
      ++kinds;
      e.kind = ExpectationKind::does_not_receive_before;
      if (keys(n, "does_not_receive_before", {"node", "inject", "before"})) {
        fields(n);
        e.node = required_text(n, "node", "does_not_receive_before");
        e.inject = required_text(n, "inject", "does_not_receive_before");
        if (!n["before"]) fail(Code::X004, n, "does_not_receive_before needs 'before'");
        e.before = time(n["before"], "before");
      }
    }
    if (const auto n = node["never_receives_at_or_above"]) {
      ++kinds;
      e.kind = ExpectationKind::never_receives_at_or_above;
      if (keys(n, "never_receives_at_or_above", {"node", "classification"})) {
        fields(n);
        e.node = required_text(n, "node", "never_receives_at_or_above");
        e.classification = required_text(n, "classification", "never_receives_at_or_above");
      }
    }
    if (const auto n = node["originator_receipt"]) {
      ++kinds;
      e.kind = ExpectationKind::originator_receipt;
      if (keys(n, "originator_receipt", {"inject", "by"})) {
        fields(n);
        e.inject = required_text(n, "inject", "originator_receipt");
        e.by = time(n["by"], "by");
      }
    }
    if (const auto n = node["approved_within"]) {
      ++kinds;
      e.kind = ExpectationKind::approved_within;
      if (keys(n, "approved_within", {"inject", "within"})) {
        fields(n);
        e.inject = required_text(n, "inject", "approved_within");
        e.within = duration(n["within"], "within");
        if (!n["within"]) fail(Code::X004, n, "approved_within needs 'within'");
      }
    }
    if (const auto n = node["sends"]) {
      ++kinds;
      e.kind = ExpectationKind::sends;
      if (keys(n, "sends", {"node", "category", "to", "by"})) {
        fields(n);
        note(e.where, "category", n["category"]);
        e.node = required_text(n, "node", "sends");
        e.category = required_text(n, "category", "sends");
        e.by = time(n["by"], "by");
        if (!n["to"]) fail(Code::X004, n, "sends needs 'to': the addressee (or addressees, any one of which) it must name");
        Locations to_at;
        const auto to = list(n["to"], "to", &to_at);
        for (std::size_t i = 0; i < to.size(); ++i) {
          if (to[i].empty()) continue;  // already reported as empty
          const auto& at = to_at[fmt::format("to[{}]", i)];
          try {
            e.to.push_back(node::parse_addressee(to[i]));
            note(e.where, fmt::format("to[{}]", e.to.size() - 1), at);
          } catch (const std::exception& error) {
            diagnostics_.error(Code::X005, at, error.what());
          }
        }
        if (n["to"] && to.empty()) fail(Code::X005, n["to"], "sends: 'to' names nobody");
      }
    }
    if (kinds != 1)
      fail(kinds == 0 ? Code::X004 : Code::X005, node,
           fmt::format("expectation {} needs exactly one of receives, does_not_receive, does_not_receive_before, "
                       "never_receives_at_or_above, originator_receipt, approved_within, sends",
                       e.id));
    return e;
  }

  Response response(const YAML::Node& node) {
    Response r;
    r.line = node.Mark().line + 1;
    r.where.self = location(node);
    if (!keys(node, "a response", {"id", "node", "on", "after", "send", "review", "trigger", "once", "synopsis"}))
      return r;
    r.id = required_text(node, "id", "a response");
    note(r.where, "id", node["id"]);
    r.node = required_text(node, "node", "a response");
    note(r.where, "node", node["node"]);
    r.synopsis = text(node["synopsis"], "synopsis");
    if (auto after = duration(node["after"], "after")) r.after = *after;
    if (node["once"]) r.once = flag(node["once"], "once");
    const auto on = node["on"];
    if (!on) {
      fail(Code::X004, node, fmt::format("response {} needs 'on'", r.id));
    } else if (keys(on, "on", {"receives_category", "receives_inject", "review_request", "event"}) && on.size() == 1) {
      const std::string key = on.begin()->first.as<std::string>("");
      r.on_value = text(on.begin()->second, key, true);
      note(r.where, "on", on.begin()->second);
      if (key == "receives_category") r.on = ResponseTrigger::receives_category;
      else if (key == "receives_inject") r.on = ResponseTrigger::receives_inject;
      else if (key == "review_request") r.on = ResponseTrigger::review_request;
      else r.on = ResponseTrigger::event;
    } else if (on.IsMap()) {
      fail(Code::X005, on, "'on' names exactly one trigger");
    }
    int actions = 0;
    if (node["send"]) {
      ++actions;
      r.send = message(node["send"]);
    }
    if (const auto review = node["review"]) {
      ++actions;
      if (review.IsScalar() && (review.Scalar() == "approve" || review.Scalar() == "refuse")) {
        r.review = review.Scalar();
      } else if (review.IsMap() && keys(review, "review", {"redact"})) {
        r.review = "redact";
        r.redact_portions = list(review["redact"], "redact");
        if (r.redact_portions.empty()) fail(Code::X005, review, "redact needs the portion ids to withhold");
      } else if (!review.IsMap()) {
        fail(Code::X005, review, "review is approve, refuse or {redact: [portion ids]}");
      }
    }
    if (node["trigger"]) {
      ++actions;
      r.trigger = text(node["trigger"], "trigger", true);
      note(r.where, "trigger", node["trigger"]);
    }
    if (actions != 1)
      fail(actions == 0 ? Code::X004 : Code::X005, node,
           fmt::format("response {} needs exactly one of send, review or trigger", r.id));
    return r;
  }

  MediaItem media(const YAML::Node& node) {
    MediaItem m;
    m.line = node.Mark().line + 1;
    m.where.self = location(node);
    if (!keys(node, "a media item", {"id", "at", "kind", "source", "headline", "body", "seats"})) return m;
    m.id = required_text(node, "id", "a media item");
    note(m.where, "id", node["id"]);
    m.at = time(node["at"], "at");  // absent: released by hand only
    note(m.where, "at", node["at"]);
    m.kind = required_text(node, "kind", "a media item");
    note(m.where, "kind", node["kind"]);
    if (!m.kind.empty() && m.kind != "news" && m.kind != "social" && m.kind != "call")
      fail(Code::X005, node["kind"],
           fmt::format("media item {}: kind is news, social or call (not '{}'){}", m.id, m.kind,
                       suggestion(m.kind, std::vector<std::string>{"news", "social", "call"})));
    m.source = required_text(node, "source", "a media item");
    m.headline = required_text(node, "headline", "a media item");
    m.body = text(node["body"], "body");
    m.seats = list(node["seats"], "seats", &m.where);
    return m;
  }

  ScenarioGateway gateway(const YAML::Node& node, const std::filesystem::path& file) {
    ScenarioGateway g;
    g.line = node.Mark().line + 1;
    g.where.self = location(node);
    if (!keys(node, "a gateway", {"id", "policy", "address", "nodes"})) return g;
    g.id = required_text(node, "id", "a gateway");
    note(g.where, "id", node["id"]);
    const std::string policy = required_text(node, "policy", "a gateway");
    if (!policy.empty()) g.policy = file.parent_path() / policy;
    note(g.where, "policy", node["policy"]);
    g.address = required_text(node, "address", "a gateway");
    note(g.where, "address", node["address"]);
    // Each gateway listens on a loopback address of its own (127.0.0.2, .3, ...):
    // its certificate names it, and its peers dial it there.
    if (!g.address.empty()) {
      boost::system::error_code error;
      const auto address = boost::asio::ip::make_address(g.address, error);
      if (error || !address.is_loopback())
        fail(Code::X005, node["address"],
             fmt::format("gateway {}: address must be a loopback IP address such as 127.0.0.2 (not '{}')", g.id,
                         g.address));
    }
    g.nodes = list(node["nodes"], "nodes", &g.where);
    return g;
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  Diagnostics& diagnostics_;
};

std::optional<std::string> read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Names the scenario refers to across sections: ids are unique, and every id
// it names is one it defines.
void check_references(const Scenario& scenario, Diagnostics& diagnostics) {
  std::set<std::string> inject_ids, expectation_ids, response_ids, objective_ids;
  for (const auto& o : scenario.objectives) objective_ids.insert(o.id);
  auto unique = [&](std::set<std::string>& ids, const std::string& id, const SourceLocation& at, std::string_view what) {
    if (!id.empty() && !ids.insert(id).second)
      diagnostics.error(Code::X010, at, fmt::format("{} id {} is used twice", what, id));
  };
  for (const auto& inject : scenario.injects) unique(inject_ids, inject.id, inject.where["id"], "inject");
  for (const auto& c : scenario.contingencies) unique(inject_ids, c.inject.id, c.inject.where["id"], "inject");
  // A response that sends a message can be named like an inject (its message).
  for (const auto& r : scenario.responses) {
    unique(response_ids, r.id, r.where["id"], "response");
    if (r.send && !r.id.empty() && inject_ids.contains(r.id))
      diagnostics.error(Code::X010, r.where["id"], fmt::format("response id {} is also an inject id", r.id));
  }
  std::set<std::string> named = inject_ids;
  for (const auto& r : scenario.responses)
    if (r.send) named.insert(r.id);
  auto objective = [&](const std::string& id, const SourceLocation& at) {
    if (!id.empty() && !objective_ids.contains(id))
      diagnostics.error(Code::X011, at,
                        fmt::format("objective {} is not one of the scenario's objectives{}", id,
                                    suggestion(id, objective_ids)),
                        nearest(id, objective_ids));
  };
  for (const auto& inject : scenario.injects) objective(inject.objective, inject.where["objective"]);
  for (const auto& c : scenario.contingencies) objective(c.inject.objective, c.inject.where["objective"]);
  for (const auto& e : scenario.expectations) {
    unique(expectation_ids, e.id, e.where["id"], "expectation");
    objective(e.objective, e.where["objective"]);
    if (!e.inject.empty() && !named.contains(e.inject))
      diagnostics.error(Code::X011, e.where["inject"],
                        fmt::format("expectation {} names inject {}, which the scenario does not have (as an inject "
                                    "or a sending response){}",
                                    e.id, e.inject, suggestion(e.inject, named)),
                        nearest(e.inject, named));
  }
  for (const auto& c : scenario.contingencies)
    if (!c.when_unmet.empty() && !expectation_ids.contains(c.when_unmet))
      diagnostics.error(Code::X011, c.where["when_unmet"],
                        fmt::format("contingency {} names expectation {}, which the scenario does not have{}", c.id,
                                    c.when_unmet, suggestion(c.when_unmet, expectation_ids)),
                        nearest(c.when_unmet, expectation_ids));
  for (const auto& r : scenario.responses) {
    const bool names_inject = r.on == ResponseTrigger::receives_inject ||
                              (r.on == ResponseTrigger::review_request && r.on_value != "any" && !r.on_value.empty());
    if (names_inject && !r.on_value.empty() && !named.contains(r.on_value))
      diagnostics.error(Code::X011, r.where["on"],
                        fmt::format("response {} waits for inject {}, which the scenario does not have{}", r.id,
                                    r.on_value, suggestion(r.on_value, named)),
                        nearest(r.on_value, named));
  }
  std::set<std::string> media_ids, players, evaluators;
  for (const auto& m : scenario.media) unique(media_ids, m.id, m.where["id"], "media item");
  // Gateways: ids and addresses their own, each node under one gateway only.
  std::set<std::string> gateway_ids;
  std::map<std::string, std::string> address_of, gateway_of_node;
  for (const auto& g : scenario.gateways) {
    unique(gateway_ids, g.id, g.where["id"], "gateway");
    if (!g.address.empty()) {
      if (auto [it, first] = address_of.emplace(g.address, g.id); !first && it->second != g.id)
        diagnostics.error(Code::X013, g.where["address"],
                          fmt::format("gateways {} and {} are both on {}: each gateway needs an address of its own",
                                      it->second, g.id, g.address));
    }
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
      if (g.nodes[i].empty()) continue;
      auto [it, first] = gateway_of_node.emplace(g.nodes[i], g.id);
      if (!first)
        diagnostics.error(Code::X013, g.where[fmt::format("nodes[{}]", i)],
                          it->second == g.id
                              ? fmt::format("gateway {} lists node {} twice", g.id, g.nodes[i])
                              : fmt::format("node {} is under two gateways, {} and {}: a node connects to one gateway",
                                            g.nodes[i], it->second, g.id));
    }
  }
  for (std::size_t i = 0; i < scenario.players.size(); ++i)
    if (!scenario.players[i].empty() && !players.insert(scenario.players[i]).second)
      diagnostics.error(Code::X010, scenario.where[fmt::format("players[{}]", i)],
                        fmt::format("player {} is named twice", scenario.players[i]));
  // Each evaluator gets a seat of their own, found by name in the report.
  for (std::size_t i = 0; i < scenario.evaluators.size(); ++i)
    if (!scenario.evaluators[i].empty() && !evaluators.insert(scenario.evaluators[i]).second)
      diagnostics.error(Code::X010, scenario.where[fmt::format("evaluators[{}]", i)],
                        fmt::format("evaluator {} is named twice", scenario.evaluators[i]));
}

}  // namespace

ScenarioLoad read_scenario_text(std::string_view text, const std::filesystem::path& file) {
  ScenarioLoad load;
  Diagnostics& diagnostics = load.diagnostics;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    diagnostics.error(Code::X001, {file.string(), e.mark.line + 1, e.mark.column + 1}, e.msg);
    return load;
  }
  Reader reader(file.string(), diagnostics);
  Scenario scenario;
  scenario.file = file;
  scenario.where.self = {file.string(), 1, 1};
  if (!root.IsMap()) {
    diagnostics.error(Code::X003, {file.string(), 1, 1}, "a scenario is a mapping");
    return load;
  }
  reader.keys(root, "the scenario",
              {"exercise", "title", "description", "policy", "gateways", "t0", "start", "end", "nodes", "objectives",
               "injects", "injects_csv", "expectations", "contingencies", "responses", "players", "evaluators",
               "media"});
  scenario.name = reader.required_text(root, "exercise", "the scenario");
  scenario.title = reader.text(root["title"], "title");
  scenario.description = reader.text(root["description"], "description");
  if (root["policy"]) scenario.policy = file.parent_path() / reader.text(root["policy"], "policy", true);
  reader.note(scenario.where, "policy", root["policy"]);
  const std::string t0 = reader.required_text(root, "t0", "the scenario");
  if (!t0.empty()) {
    if (auto ms = parse_utc(t0)) scenario.t0_unix_ms = *ms;
    else reader.fail(Code::X005, root["t0"], "t0 must be a UTC time such as 2026-11-21T06:00:00Z");
  }
  const auto start = reader.time(root["start"], "start");
  const auto end = reader.time(root["end"], "end");
  if (start) scenario.start = *start;
  if (end) scenario.end = *end;
  scenario.nodes = reader.list(root["nodes"], "nodes", &scenario.where);
  if (const auto gateways = root["gateways"]; gateways && reader.sequence(gateways, "gateways")) {
    for (const auto& node : gateways) scenario.gateways.push_back(reader.gateway(node, file));
    // With several gateways, each names its policy and its nodes.
    if (root["policy"])
      reader.fail(Code::X005, root["policy"],
                  "a scenario with gateways names a policy for each gateway, not one for the scenario: remove `policy`");
    if (root["nodes"])
      reader.fail(Code::X005, root["nodes"],
                  "a scenario with gateways lists each gateway's nodes under it, not the scenario's: remove `nodes`");
  }
  if (const auto objectives = root["objectives"]; objectives && reader.sequence(objectives, "objectives")) {
    for (const auto& o : objectives)
      if (reader.keys(o, "an objective", {"id", "text"}))
        scenario.objectives.push_back({reader.required_text(o, "id", "an objective"), reader.text(o["text"], "text")});
  }
  if (const auto injects = root["injects"]; injects && reader.sequence(injects, "injects"))
    for (const auto& node : injects) scenario.injects.push_back(reader.inject(node));
  if (const auto csv = root["injects_csv"]) {
    const std::string name = reader.text(csv, "injects_csv", true);
    if (!name.empty()) {
      const auto path = file.parent_path() / name;
      if (auto csv_text = read_file(path)) {
        for (auto& inject : read_injects_csv(*csv_text, path.string(), diagnostics))
          scenario.injects.push_back(std::move(inject));
      } else {
        reader.fail(Code::X007, csv, fmt::format("cannot read the inject list {}", path.string()));
      }
    }
  }
  if (const auto expectations = root["expectations"]; expectations && reader.sequence(expectations, "expectations"))
    for (const auto& node : expectations) scenario.expectations.push_back(reader.expectation(node));
  if (const auto contingencies = root["contingencies"];
      contingencies && reader.sequence(contingencies, "contingencies")) {
    for (const auto& node : contingencies) {
      if (!reader.keys(node, "a contingency", {"id", "when_unmet", "inject"})) continue;
      Contingency c;
      c.where.self = reader.location(node);
      c.id = reader.required_text(node, "id", "a contingency");
      c.when_unmet = reader.required_text(node, "when_unmet", "a contingency");
      reader.note(c.where, "when_unmet", node["when_unmet"]);
      if (node["inject"]) c.inject = reader.inject(node["inject"], &c.id);
      else reader.fail(Code::X004, node, "a contingency needs an inject");
      scenario.contingencies.push_back(std::move(c));
    }
  }
  if (const auto responses = root["responses"]; responses && reader.sequence(responses, "responses"))
    for (const auto& node : responses) scenario.responses.push_back(reader.response(node));
  scenario.players = reader.list(root["players"], "players", &scenario.where);
  scenario.evaluators = reader.list(root["evaluators"], "evaluators", &scenario.where);
  if (const auto media = root["media"]; media && reader.sequence(media, "media"))
    for (const auto& node : media) scenario.media.push_back(reader.media(node));
  // Only when both parsed (or defaulted): a bad time is reported once, as itself.
  if ((start || !root["start"]) && (end || !root["end"]) && scenario.end <= scenario.start)
    reader.fail(Code::X012, root["end"] ? root["end"] : root,
                fmt::format("end ({}) must come after start ({})", format_scenario_time(scenario.end),
                            format_scenario_time(scenario.start)));
  // The run stops at `end`: a later inject would silently never be played.
  if ((end || !root["end"]))
    for (const auto& inject : scenario.injects)
      if (inject.at > scenario.end)
        diagnostics.error(Code::X012, inject.where["at"],
                          fmt::format("inject {} at {} comes after the end ({}): it would never be played", inject.id,
                                      format_scenario_time(inject.at), format_scenario_time(scenario.end)));
  if ((end || !root["end"]))
    for (const auto& m : scenario.media)
      if (m.at && *m.at > scenario.end)
        diagnostics.error(Code::X012, m.where["at"],
                          fmt::format("media item {} at {} comes after the end ({}): it would never be released",
                                      m.id, format_scenario_time(*m.at), format_scenario_time(scenario.end)));
  check_references(scenario, diagnostics);
  if (diagnostics.has_errors()) return load;
  std::stable_sort(scenario.injects.begin(), scenario.injects.end(),
                   [](const Inject& a, const Inject& b) { return a.at < b.at; });
  // Timed items by time; the by-hand ones after them, in file order.
  std::stable_sort(scenario.media.begin(), scenario.media.end(), [](const MediaItem& a, const MediaItem& b) {
    if (a.at.has_value() != b.at.has_value()) return a.at.has_value();
    return a.at && *a.at < *b.at;
  });
  load.scenario = std::move(scenario);
  return load;
}

ScenarioLoad read_scenario(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text) {
    ScenarioLoad load;
    load.diagnostics.error(Code::X007, {file.string(), 0, 0}, "cannot read the scenario file");
    return load;
  }
  return read_scenario_text(*text, file);
}

Scenario parse_scenario(std::string_view text, const std::filesystem::path& file) {
  auto load = read_scenario_text(text, file);
  if (!load.scenario) throw ScenarioError(std::move(load.diagnostics));
  return std::move(*load.scenario);
}

Scenario load_scenario(const std::filesystem::path& file) {
  auto load = read_scenario(file);
  if (!load.scenario) throw ScenarioError(std::move(load.diagnostics));
  return std::move(*load.scenario);
}

// ---- CSV --------------------------------------------------------------------

namespace {

struct CsvCell {
  std::string text;
  int line = 0;  // where the cell starts, 1-based
  int column = 0;
};
using CsvRow = std::vector<CsvCell>;

// RFC 4180: fields separated by commas, optionally quoted with "" for a quote.
// A leading UTF-8 byte-order mark (a spreadsheet's "CSV UTF-8") is skipped.
std::vector<CsvRow> parse_csv(std::string_view text, std::string_view source, Diagnostics& diagnostics) {
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (text.substr(0, bom.size()) == bom) text.remove_prefix(bom.size());
  std::vector<CsvRow> rows;
  CsvRow row;
  CsvCell field;
  bool quoted = false, field_started = false;
  int line = 1, column = 1;  // of the character being read
  int quote_line = 0, quote_column = 0;
  auto begin_field = [&] {
    field.line = line;
    field.column = column;
  };
  begin_field();
  for (std::size_t i = 0; i < text.size(); ++i, ++column) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.text.push_back('"');
          ++i;
          ++column;
        } else {
          quoted = false;
        }
      } else {
        field.text.push_back(c);
        if (c == '\n') {
          ++line;
          column = 0;
        }
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = field_started = true;
      quote_line = line;
      quote_column = column;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field = {};
      field_started = false;
      begin_field();
      field.column = column + 1;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(std::move(field));
      field = {};
      field_started = false;
      if (!(row.size() == 1 && row[0].text.empty())) rows.push_back(std::move(row));
      row.clear();
      ++line;
      column = 0;
      field.line = line;
      field.column = 1;
    } else {
      field.text.push_back(c);
      field_started = true;
    }
  }
  if (quoted) {
    // Where the quote opened: the end of the file is where it was noticed, not where it is.
    diagnostics.error(Code::X001, {std::string(source), quote_line, quote_column},
                      "this quoted field is never closed (a '\"' is missing)");
    return {};
  }
  if (field_started || !row.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

// The columns a CSV inject list may have, besides label_N and body_N.
constexpr std::string_view kCsvColumns[] = {"id",    "at",      "from",     "to",       "category",        "purpose",
                                            "title", "trigger", "synopsis", "expected_action", "objective"};

// N for "label_N" or "body_N" (N >= 1), else 0.
int portion_number(std::string_view name, std::string_view prefix) {
  if (name.substr(0, prefix.size()) != prefix || name.size() == prefix.size()) return 0;
  int n = 0;
  const auto [end, error] = std::from_chars(name.data() + prefix.size(), name.data() + name.size(), n);
  return error == std::errc() && end == name.data() + name.size() && n >= 1 ? n : 0;
}

}  // namespace

std::vector<Inject> read_injects_csv(std::string_view text, std::string_view source_name, Diagnostics& diagnostics) {
  const std::string source(source_name);
  const std::size_t errors_before = diagnostics.error_count();
  const auto rows = parse_csv(text, source, diagnostics);
  if (diagnostics.error_count() > errors_before) return {};
  if (rows.empty()) {
    diagnostics.error(Code::X004, {source, 1, 1}, "the CSV has no header row");
    return {};
  }
  const auto& header = rows[0];
  std::map<std::string, std::size_t> columns;  // name -> index
  std::set<int> portion_numbers;
  std::vector<std::string> known(std::begin(kCsvColumns), std::end(kCsvColumns));
  known.push_back("label_1");
  known.push_back("body_1");
  for (std::size_t i = 0; i < header.size(); ++i) {
    const std::string name = trim(header[i].text);
    const SourceLocation at{source, header[i].line, header[i].column};
    const int label_n = portion_number(name, "label_"), body_n = portion_number(name, "body_");
    const bool allowed = std::find(std::begin(kCsvColumns), std::end(kCsvColumns), name) != std::end(kCsvColumns) ||
                         label_n > 0 || body_n > 0;
    if (name.empty()) continue;  // an unnamed column (e.g. a spreadsheet's trailing comma) holds nothing we read
    if (!allowed) {
      // A misspelt header would otherwise drop its whole column without a word.
      diagnostics.error(Code::X002, at,
                        fmt::format("unknown column '{}' (expected {}, label_N or body_N){}", name,
                                    fmt::join(kCsvColumns, ", "), suggestion(name, known)));
      continue;
    }
    if (!columns.emplace(name, i).second) {
      diagnostics.error(Code::X010, at, fmt::format("column '{}' appears twice in the header", name));
      continue;
    }
    if (label_n > 0) portion_numbers.insert(label_n);
    if (body_n > 0) portion_numbers.insert(body_n);
  }
  for (const char* required : {"id", "at", "from"})
    if (!columns.contains(required))
      diagnostics.error(Code::X004, {source, header.front().line, 1}, fmt::format("the header has no '{}' column", required));
  if (diagnostics.error_count() > errors_before) return {};

  std::vector<Inject> injects;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    // The cell's text and location; a cell missing from a short row is empty and located at the row's end.
    auto cell = [&](const std::string& name) -> std::string {
      const auto it = columns.find(name);
      return it != columns.end() && it->second < row.size() ? trim(row[it->second].text) : std::string();
    };
    auto at = [&](const std::string& name) -> SourceLocation {
      const auto it = columns.find(name);
      if (it != columns.end() && it->second < row.size())
        return {source, row[it->second].line, row[it->second].column};
      return {source, row.back().line, row.back().column};
    };
    Inject inject;
    inject.line = row.front().line;
    inject.where.self = {source, row.front().line, 1};
    inject.id = cell("id");
    inject.from = cell("from");
    inject.synopsis = cell("synopsis");
    inject.expected_action = cell("expected_action");
    inject.objective = cell("objective");
    for (const char* field : {"id", "from", "objective", "trigger"}) Reader::note(inject.where, field, at(field));
    if (inject.id.empty()) diagnostics.error(Code::X004, at("id"), "column 'id' is empty");
    if (inject.from.empty()) diagnostics.error(Code::X004, at("from"), "column 'from' is empty");
    if (auto time = parse_scenario_time(cell("at"))) inject.at = *time;
    else
      diagnostics.error(Code::X005, at("at"),
                        fmt::format("column 'at': '{}' is not a scenario time such as T-2h (within 3650d of T+0)",
                                    cell("at")));
    if (!cell("trigger").empty()) {
      inject.trigger = cell("trigger");
      injects.push_back(std::move(inject));
      continue;
    }
    MessageSpec spec;
    spec.where.self = inject.where.self;
    spec.category = cell("category");
    spec.purpose = cell("purpose");
    spec.title = cell("title");
    Reader::note(spec.where, "category", at("category"));
    Reader::note(spec.where, "purpose", at("purpose"));
    if (spec.category.empty()) diagnostics.error(Code::X004, at("category"), "column 'category' is empty");
    std::istringstream to(cell("to"));
    for (std::string name; std::getline(to, name, ';');) {
      name = trim(name);
      if (name.empty()) continue;
      try {
        spec.to.push_back(node::parse_addressee(name));
        Reader::note(spec.where, fmt::format("to[{}]", spec.to.size() - 1), at("to"));
      } catch (const std::exception& e) {
        diagnostics.error(Code::X005, at("to"), fmt::format("column 'to': {}", e.what()));
      }
    }
    if (spec.to.empty()) diagnostics.error(Code::X004, at("to"), "column 'to' names nobody");
    for (const int n : portion_numbers) {
      const std::string label_column = fmt::format("label_{}", n), body_column = fmt::format("body_{}", n);
      const std::string label = cell(label_column);
      const std::string body = cell(body_column);
      if (label.empty() && body.empty()) continue;
      try {
        Reader::note(spec.where, fmt::format("portions[{}].label", spec.portions.size()), at(label_column));
        spec.portions.push_back({std::to_string(spec.portions.size() + 1), node::parse_label_text(label), body});
      } catch (const std::exception& e) {
        diagnostics.error(Code::X005, at(label_column), fmt::format("column '{}': {}", label_column, e.what()));
      }
    }
    if (spec.portions.empty())
      diagnostics.error(Code::X004, inject.where.self, "the row has no portion (label_1/body_1)");
    inject.message = std::move(spec);
    injects.push_back(std::move(inject));
  }
  return injects;
}

std::vector<Inject> import_injects_csv(std::string_view text, std::string_view source_name) {
  Diagnostics diagnostics;
  auto injects = read_injects_csv(text, source_name, diagnostics);
  if (diagnostics.has_errors()) throw ScenarioError(std::move(diagnostics));
  return injects;
}

Message make_message(const MessageSpec& spec, const std::string& from, std::int64_t t0_unix_ms) {
  Message message;
  message.id = make_uuid();
  message.originator = from;
  message.addressees = spec.to;
  message.category = spec.category;
  message.purpose = spec.purpose;
  message.title = spec.title;
  message.portions = spec.portions;
  message.handling = spec.handling;
  if (spec.not_before) message.handling.not_before_unix_ms = t0_unix_ms + spec.not_before->count();
  if (spec.not_after) message.handling.not_after_unix_ms = t0_unix_ms + spec.not_after->count();
  return message;
}

}  // namespace icegate::exercise

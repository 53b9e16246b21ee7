#include "clients/exercise/scenario.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "clients/node/message_file.hpp"
#include "gateway/model/clock.hpp"

namespace icegate::exercise {

namespace {

// "1h30m" style: a sequence of <number><unit> with units d, h, m, s.
std::optional<Offset> parse_units(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i || j == text.size()) {
      if (j == text.size() && j > i && total == 0 && text.substr(i) == "0") return Offset{0};
      return std::nullopt;
    }
    std::int64_t value = 0;
    std::from_chars(text.data() + i, text.data() + j, value);
    switch (text[j]) {
      case 'd': total += value * 86'400'000; break;
      case 'h': total += value * 3'600'000; break;
      case 'm': total += value * 60'000; break;
      case 's': total += value * 1'000; break;
      default: return std::nullopt;
    }
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

// Reads a scenario, collecting every problem with its location.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  std::vector<std::string> problems;

  void fail(const YAML::Mark& mark, const std::string& message) {
    problems.push_back(fmt::format("{}:{}:{}: {}", source_, mark.is_null() ? 1 : mark.line + 1,
                                   mark.is_null() ? 1 : mark.column + 1, message));
  }
  void fail(const YAML::Node& node, const std::string& message) { fail(node.Mark(), message); }

  // Checks that a mapping has only `allowed` keys.
  bool keys(const YAML::Node& map, std::string_view what, std::initializer_list<std::string_view> allowed) {
    if (!map.IsMap()) {
      fail(map, fmt::format("{} must be a mapping", what));
      return false;
    }
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.as<std::string>("");
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail(it->first, fmt::format("unknown key '{}' in {} (expected one of: {})", key, what, fmt::join(allowed, ", ")));
    }
    return true;
  }

  std::string text(const YAML::Node& node, std::string_view what, bool required = false) {
    if (!node) {
      return {};
    }
    if (!node.IsScalar()) {
      fail(node, fmt::format("{} must be text", what));
      return {};
    }
    std::string value = node.Scalar();
    if (required && value.empty()) fail(node, fmt::format("{} must not be empty", what));
    return value;
  }

  std::string required_text(const YAML::Node& parent, const char* key, std::string_view what) {
    if (!parent[key]) {
      fail(parent, fmt::format("{} needs '{}'", what, key));
      return {};
    }
    return text(parent[key], key, true);
  }

  std::optional<Offset> time(const YAML::Node& node, std::string_view what) {
    if (!node) return std::nullopt;
    auto value = parse_scenario_time(text(node, what));
    if (!value) fail(node, fmt::format("{} must be a scenario time such as T-48h, T+0 or T+2h30m", what));
    return value;
  }

  std::optional<Offset> duration(const YAML::Node& node, std::string_view what) {
    if (!node) return std::nullopt;
    auto value = parse_duration(text(node, what));
    if (!value) fail(node, fmt::format("{} must be a duration such as 30m, 2h or 1d", what));
    return value;
  }

  std::vector<std::string> list(const YAML::Node& node, std::string_view what) {
    std::vector<std::string> values;
    if (!node) return values;
    if (node.IsScalar()) return {node.Scalar()};
    if (!node.IsSequence()) {
      fail(node, fmt::format("{} must be a list", what));
      return values;
    }
    for (const auto& item : node) values.push_back(text(item, what, true));
    return values;
  }

  Label label(const YAML::Node& node) {
    try {
      if (node.IsScalar()) return node::parse_label_text(node.Scalar());
      if (node.IsMap() && keys(node, "a label", {"classification", "categories"})) {
        Label result{text(node["classification"], "classification", true), list(node["categories"], "categories")};
        normalise(result);
        return result;
      }
      fail(node, "a label is text such as 'SECRET/UK EYES ONLY' or {classification, categories}");
    } catch (const std::exception& e) {
      fail(node, e.what());
    }
    return {};
  }

  MessageSpec message(const YAML::Node& node) {
    MessageSpec spec;
    if (!keys(node, "a message", {"title", "to", "category", "purpose", "handling", "portions"})) return spec;
    spec.title = text(node["title"], "title");
    if (!node["to"]) fail(node, "a message needs 'to'");
    for (const auto& to : list(node["to"], "to")) {
      try {
        spec.to.push_back(node::parse_addressee(to));
      } catch (const std::exception& e) {
        fail(node["to"], e.what());
      }
    }
    spec.category = required_text(node, "category", "a message");
    spec.purpose = text(node["purpose"], "purpose");
    if (const auto handling = node["handling"]) {
      if (keys(handling, "handling",
               {"originator_control", "no_onward_sharing", "not_before", "not_before_event", "not_after"})) {
        spec.handling.originator_control = flag(handling["originator_control"], "originator_control");
        spec.handling.no_onward_sharing = flag(handling["no_onward_sharing"], "no_onward_sharing");
        spec.not_before = time(handling["not_before"], "not_before");
        spec.not_after = time(handling["not_after"], "not_after");
        spec.handling.not_before_event = text(handling["not_before_event"], "not_before_event");
      }
    }
    const auto portions = node["portions"];
    if (!portions || !portions.IsSequence() || portions.size() == 0) {
      fail(portions ? portions : node, "a message needs a non-empty list of portions");
      return spec;
    }
    int position = 0;
    for (const auto& portion : portions) {
      ++position;
      if (!keys(portion, "a portion", {"id", "label", "body"})) continue;
      Portion p;
      p.id = portion["id"] ? text(portion["id"], "id", true) : std::to_string(position);
      if (!portion["label"]) fail(portion, "a portion needs a label");
      else p.label = label(portion["label"]);
      p.body = text(portion["body"], "body");
      spec.portions.push_back(std::move(p));
    }
    return spec;
  }

  bool flag(const YAML::Node& node, std::string_view what) {
    if (!node) return false;
    const std::string value = node.IsScalar() ? node.Scalar() : "";
    if (value == "true") return true;
    if (value != "false") fail(node, fmt::format("{} must be true or false", what));
    return false;
  }

  Inject inject(const YAML::Node& node, bool needs_time) {
    Inject result;
    result.line = node.Mark().line + 1;
    if (!keys(node, "an inject",
              {"id", "at", "from", "message", "trigger", "synopsis", "expected_action", "objective"}))
      return result;
    result.id = required_text(node, "id", "an inject");
    if (needs_time) {
      if (!node["at"]) fail(node, fmt::format("inject {} needs 'at'", result.id));
      else if (auto at = time(node["at"], "at")) result.at = *at;
    }
    result.from = required_text(node, "from", "an inject");
    result.synopsis = text(node["synopsis"], "synopsis");
    result.expected_action = text(node["expected_action"], "expected_action");
    result.objective = text(node["objective"], "objective");
    result.trigger = text(node["trigger"], "trigger");
    if (node["message"]) result.message = message(node["message"]);
    if (result.message.has_value() == !result.trigger.empty())
      fail(node, fmt::format("inject {} needs exactly one of 'message' or 'trigger'", result.id));
    return result;
  }

  Expectation expectation(const YAML::Node& node) {
    Expectation e;
    e.line = node.Mark().line + 1;
    if (!keys(node, "an expectation",
              {"id", "description", "objective", "receives", "does_not_receive", "never_receives_at_or_above",
               "originator_receipt", "approved_within"}))
      return e;
    e.id = required_text(node, "id", "an expectation");
    e.description = text(node["description"], "description");
    e.objective = text(node["objective"], "objective");
    int kinds = 0;
    if (const auto n = node["receives"]) {
      ++kinds;
      e.kind = ExpectationKind::receives;
      if (keys(n, "receives", {"node", "inject", "by", "version"})) {
        e.node = required_text(n, "node", "receives");
        e.inject = required_text(n, "inject", "receives");
        e.by = time(n["by"], "by");
        const std::string version = text(n["version"], "version");
        if (version == "full") e.version = Version::full;
        else if (version == "redacted") e.version = Version::redacted;
        else if (!version.empty() && version != "any") fail(n["version"], "version must be any, full or redacted");
      }
    }
    if (const auto n = node["does_not_receive"]) {
      ++kinds;
      e.kind = ExpectationKind::does_not_receive;
      if (keys(n, "does_not_receive", {"node", "inject"})) {
        e.node = required_text(n, "node", "does_not_receive");
        e.inject = required_text(n, "inject", "does_not_receive");
      }
    }
    if (const auto n = node["never_receives_at_or_above"]) {
      ++kinds;
      e.kind = ExpectationKind::never_receives_at_or_above;
      if (keys(n, "never_receives_at_or_above", {"node", "classification"})) {
        e.node = required_text(n, "node", "never_receives_at_or_above");
        e.classification = required_text(n, "classification", "never_receives_at_or_above");
      }
    }
    if (const auto n = node["originator_receipt"]) {
      ++kinds;
      e.kind = ExpectationKind::originator_receipt;
      if (keys(n, "originator_receipt", {"inject", "by"})) {
        e.inject = required_text(n, "inject", "originator_receipt");
        e.by = time(n["by"], "by");
      }
    }
    if (const auto n = node["approved_within"]) {
      ++kinds;
      e.kind = ExpectationKind::approved_within;
      if (keys(n, "approved_within", {"inject", "within"})) {
        e.inject = required_text(n, "inject", "approved_within");
        e.within = duration(n["within"], "within");
        if (!e.within) fail(n, "approved_within needs 'within'");
      }
    }
    if (kinds != 1)
      fail(node, fmt::format("expectation {} needs exactly one of receives, does_not_receive, "
                             "never_receives_at_or_above, originator_receipt, approved_within",
                             e.id));
    return e;
  }

  Response response(const YAML::Node& node) {
    Response r;
    r.line = node.Mark().line + 1;
    if (!keys(node, "a response", {"id", "node", "on", "after", "send", "review", "trigger", "once", "synopsis"}))
      return r;
    r.id = required_text(node, "id", "a response");
    r.node = required_text(node, "node", "a response");
    r.synopsis = text(node["synopsis"], "synopsis");
    if (auto after = duration(node["after"], "after")) r.after = *after;
    if (node["once"]) r.once = flag(node["once"], "once");
    const auto on = node["on"];
    if (!on) {
      fail(node, fmt::format("response {} needs 'on'", r.id));
    } else if (keys(on, "on", {"receives_category", "receives_inject", "review_request", "event"}) && on.size() == 1) {
      const std::string key = on.begin()->first.as<std::string>("");
      r.on_value = text(on.begin()->second, key);
      if (key == "receives_category") r.on = ResponseTrigger::receives_category;
      else if (key == "receives_inject") r.on = ResponseTrigger::receives_inject;
      else if (key == "review_request") r.on = ResponseTrigger::review_request;
      else r.on = ResponseTrigger::event;
    } else if (on.IsMap()) {
      fail(on, "'on' names exactly one trigger");
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
        if (r.redact_portions.empty()) fail(review, "redact needs the portion ids to withhold");
      } else if (!review.IsMap()) {
        fail(review, "review is approve, refuse or {redact: [portion ids]}");
      }
    }
    if (node["trigger"]) {
      ++actions;
      r.trigger = text(node["trigger"], "trigger", true);
    }
    if (actions != 1) fail(node, fmt::format("response {} needs exactly one of send, review or trigger", r.id));
    return r;
  }

 private:
  std::string source_;
};

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ScenarioError(fmt::format("{}: cannot read the file", file.string()));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

Scenario parse_scenario(std::string_view text, const std::filesystem::path& file) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    throw ScenarioError(fmt::format("{}:{}:{}: {}", file.string(), e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  Reader reader(file.string());
  Scenario scenario;
  scenario.file = file;
  if (!root.IsMap()) throw ScenarioError(fmt::format("{}:1:1: a scenario is a mapping", file.string()));
  reader.keys(root, "the scenario",
              {"exercise", "title", "description", "policy", "t0", "start", "end", "nodes", "objectives", "injects",
               "injects_csv", "expectations", "contingencies", "responses"});
  scenario.name = reader.required_text(root, "exercise", "the scenario");
  scenario.title = reader.text(root["title"], "title");
  scenario.description = reader.text(root["description"], "description");
  if (root["policy"]) scenario.policy = file.parent_path() / reader.text(root["policy"], "policy", true);
  const std::string t0 = reader.required_text(root, "t0", "the scenario");
  if (!t0.empty()) {
    if (auto ms = parse_utc(t0)) scenario.t0_unix_ms = *ms;
    else reader.fail(root["t0"], "t0 must be a UTC time such as 2026-11-21T06:00:00Z");
  }
  if (auto start = reader.time(root["start"], "start")) scenario.start = *start;
  if (auto end = reader.time(root["end"], "end")) scenario.end = *end;
  scenario.nodes = reader.list(root["nodes"], "nodes");
  if (const auto objectives = root["objectives"]) {
    for (const auto& o : objectives)
      if (reader.keys(o, "an objective", {"id", "text"}))
        scenario.objectives.push_back({reader.required_text(o, "id", "an objective"), reader.text(o["text"], "text")});
  }
  if (const auto injects = root["injects"]) {
    if (!injects.IsSequence()) reader.fail(injects, "injects must be a list");
    else
      for (const auto& node : injects) scenario.injects.push_back(reader.inject(node, true));
  }
  if (const auto csv = root["injects_csv"]) {
    const auto path = file.parent_path() / reader.text(csv, "injects_csv", true);
    try {
      for (auto& inject : import_injects_csv(read_file(path), path.string())) scenario.injects.push_back(std::move(inject));
    } catch (const std::exception& e) {
      reader.problems.push_back(e.what());
    }
  }
  if (const auto expectations = root["expectations"])
    for (const auto& node : expectations) scenario.expectations.push_back(reader.expectation(node));
  if (const auto contingencies = root["contingencies"]) {
    for (const auto& node : contingencies) {
      if (!reader.keys(node, "a contingency", {"id", "when_unmet", "inject"})) continue;
      Contingency c;
      c.id = reader.required_text(node, "id", "a contingency");
      c.when_unmet = reader.required_text(node, "when_unmet", "a contingency");
      if (node["inject"]) c.inject = reader.inject(node["inject"], false);
      else reader.fail(node, "a contingency needs an inject");
      scenario.contingencies.push_back(std::move(c));
    }
  }
  if (const auto responses = root["responses"])
    for (const auto& node : responses) scenario.responses.push_back(reader.response(node));
  if (scenario.end <= scenario.start && reader.problems.empty())
    reader.fail(root["end"] ? root["end"] : root, "end must come after start");

  // Cross-references.
  std::set<std::string> inject_ids, expectation_ids;
  for (const auto& inject : scenario.injects)
    if (!inject_ids.insert(inject.id).second)
      reader.problems.push_back(fmt::format("{}:{}:1: inject id {} is used twice", file.string(), inject.line, inject.id));
  for (const auto& c : scenario.contingencies) inject_ids.insert(c.inject.id);
  // A response that sends a message can be named like an inject (its message).
  for (const auto& r : scenario.responses)
    if (r.send && !inject_ids.insert(r.id).second)
      reader.problems.push_back(fmt::format("{}:{}:1: response id {} is also an inject id", file.string(), r.line, r.id));
  for (const auto& e : scenario.expectations) {
    if (!expectation_ids.insert(e.id).second)
      reader.problems.push_back(fmt::format("{}:{}:1: expectation id {} is used twice", file.string(), e.line, e.id));
    if (!e.inject.empty() && !inject_ids.contains(e.inject))
      reader.problems.push_back(
          fmt::format("{}:{}:1: expectation {} names inject {}, which the scenario does not have (as an inject or a sending response)", file.string(), e.line, e.id, e.inject));
  }
  for (const auto& c : scenario.contingencies)
    if (!expectation_ids.contains(c.when_unmet))
      reader.problems.push_back(fmt::format("{}: contingency {} names expectation {}, which the scenario does not have",
                                            file.string(), c.id, c.when_unmet));
  for (const auto& r : scenario.responses)
    if (r.on == ResponseTrigger::receives_inject && !inject_ids.contains(r.on_value))
      reader.problems.push_back(fmt::format("{}:{}:1: response {} waits for inject {}, which the scenario does not have",
                                            file.string(), r.line, r.id, r.on_value));
  if (!reader.problems.empty()) throw ScenarioError(fmt::format("{}", fmt::join(reader.problems, "\n")));
  std::stable_sort(scenario.injects.begin(), scenario.injects.end(),
                   [](const Inject& a, const Inject& b) { return a.at < b.at; });
  return scenario;
}

Scenario load_scenario(const std::filesystem::path& file) { return parse_scenario(read_file(file), file); }

// ---- CSV --------------------------------------------------------------------

namespace {

// RFC 4180: fields separated by commas, optionally quoted with "" for a quote.
std::vector<std::vector<std::string>> parse_csv(std::string_view text, std::string_view source) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_started = false;
  int line = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(std::move(field));
      field.clear();
      field_started = false;
      if (!(row.size() == 1 && row[0].empty())) rows.push_back(std::move(row));
      row.clear();
      ++line;
    } else {
      field.push_back(c);
      field_started = true;
    }
  }
  if (quoted) throw ScenarioError(fmt::format("{}:{}: a quoted field is not closed", source, line));
  if (field_started || !row.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

std::vector<Inject> import_injects_csv(std::string_view text, std::string_view source_name) {
  const auto rows = parse_csv(text, source_name);
  if (rows.empty()) throw ScenarioError(fmt::format("{}:1: the CSV has no header row", source_name));
  const auto& header = rows[0];
  auto column = [&](std::string_view name) -> int {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (trim(header[i]) == name) return static_cast<int>(i);
    return -1;
  };
  std::vector<std::string> problems;
  for (const char* required : {"id", "at", "from"})
    if (column(required) < 0) problems.push_back(fmt::format("{}:1: the header has no '{}' column", source_name, required));
  if (!problems.empty()) throw ScenarioError(fmt::format("{}", fmt::join(problems, "\n")));

  std::vector<Inject> injects;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    auto cell = [&](std::string_view name) -> std::string {
      const int c = column(name);
      return c >= 0 && static_cast<std::size_t>(c) < row.size() ? trim(row[static_cast<std::size_t>(c)]) : std::string();
    };
    const std::string where = fmt::format("{}:{}", source_name, r + 1);
    Inject inject;
    inject.line = static_cast<int>(r + 1);
    inject.id = cell("id");
    inject.from = cell("from");
    inject.synopsis = cell("synopsis");
    inject.expected_action = cell("expected_action");
    inject.objective = cell("objective");
    if (inject.id.empty()) problems.push_back(where + ": column 'id' is empty");
    if (inject.from.empty()) problems.push_back(where + ": column 'from' is empty");
    if (auto at = parse_scenario_time(cell("at"))) inject.at = *at;
    else problems.push_back(fmt::format("{}: column 'at': '{}' is not a scenario time such as T-2h", where, cell("at")));
    if (!cell("trigger").empty()) {
      inject.trigger = cell("trigger");
      injects.push_back(std::move(inject));
      continue;
    }
    MessageSpec spec;
    spec.category = cell("category");
    spec.purpose = cell("purpose");
    spec.title = cell("title");
    if (spec.category.empty()) problems.push_back(where + ": column 'category' is empty");
    std::istringstream to(cell("to"));
    for (std::string name; std::getline(to, name, ';');) {
      name = trim(name);
      if (name.empty()) continue;
      try {
        spec.to.push_back(node::parse_addressee(name));
      } catch (const std::exception& e) {
        problems.push_back(fmt::format("{}: column 'to': {}", where, e.what()));
      }
    }
    if (spec.to.empty()) problems.push_back(where + ": column 'to' names nobody");
    for (int n = 1; column(fmt::format("label_{}", n)) >= 0; ++n) {
      const std::string label = cell(fmt::format("label_{}", n));
      const std::string body = cell(fmt::format("body_{}", n));
      if (label.empty() && body.empty()) continue;
      try {
        spec.portions.push_back({std::to_string(spec.portions.size() + 1), node::parse_label_text(label), body});
      } catch (const std::exception& e) {
        problems.push_back(fmt::format("{}: column 'label_{}': {}", where, n, e.what()));
      }
    }
    if (spec.portions.empty()) problems.push_back(where + ": the row has no portion (label_1/body_1)");
    inject.message = std::move(spec);
    injects.push_back(std::move(inject));
  }
  if (!problems.empty()) throw ScenarioError(fmt::format("{}", fmt::join(problems, "\n")));
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

// The after-action report as JSON (report.hpp): the writer, with keys in a
// stable order, and the reader that takes a RunResult back from it.
#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "clients/exercise/report.hpp"
#include "clients/exercise/report_text.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/model/json.hpp"
#include "gateway/model/json_value.hpp"

namespace icegate::exercise {

namespace {

std::optional<HumanAction::Kind> action_kind_from_name(std::string_view name) {
  using K = HumanAction::Kind;
  for (K kind : {K::send, K::reply, K::review, K::trigger})
    if (action_kind_name(kind) == name) return kind;
  return std::nullopt;
}

std::optional<Rating> rating_from_name(std::string_view name) {
  for (Rating rating : {Rating::P, Rating::S, Rating::M, Rating::U})
    if (to_string(rating) == name) return rating;
  return std::nullopt;
}

std::optional<TimelineEntry::Kind> kind_from_name(std::string_view name) {
  using K = TimelineEntry::Kind;
  for (K kind : {K::inject, K::response, K::contingency, K::delivered, K::decision, K::review_request, K::review,
                 K::event, K::error, K::human, K::media}) {
    if (kind_name(kind) == name) return kind;
  }
  return std::nullopt;
}

std::optional<Decision> decision_from_name(std::string_view name) {
  for (Decision d : {Decision::release, Decision::release_redacted, Decision::hold, Decision::deny}) {
    if (to_string(d) == name) return d;
  }
  return std::nullopt;
}

bool passed(const RunResult& result) { return met_count(result) == result.expectations.size(); }

}  // namespace

// ===========================================================================
// JSON
// ===========================================================================

namespace {

// Builds a document with Boost.JSON, keys in the order given, and when the
// outermost object or array closes appends it to `out` as indented JSON
// (json::pretty: arrays of strings on one line, everything else one member per
// line, so diffs stay readable).
class JsonWriter {
 public:
  JsonWriter(std::string& out, int base_indent) : out_(&out), base_(base_indent) {}
  // Keeps the document in `root` instead.
  explicit JsonWriter(boost::json::value& root) : root_(&root) {}

  JsonWriter& begin_object() { return open(boost::json::object()); }
  JsonWriter& end_object() { return close(); }
  JsonWriter& begin_array() { return open(boost::json::array()); }
  JsonWriter& end_array() { return close(); }

  JsonWriter& key(std::string_view name) {
    key_ = name;
    return *this;
  }
  JsonWriter& str(std::string_view value) { return put(boost::json::string(value)); }
  JsonWriter& integer(std::int64_t value) { return put(value); }
  JsonWriter& boolean(bool value) { return put(value); }
  // JSON has no NaN or infinity.
  JsonWriter& real(double value) { return put(std::isfinite(value) ? value : 0.0); }
  JsonWriter& null() { return put(nullptr); }
  JsonWriter& strings(const std::vector<std::string>& values) {
    boost::json::array array;
    array.reserve(values.size());
    for (const std::string& value : values) array.emplace_back(boost::json::string_view(value));
    return put(std::move(array));
  }
  // Scenario time as text and milliseconds: "<name>": "T-2h", "<name>_ms": -7200000.
  JsonWriter& time(std::string_view name, Offset offset) {
    key(name).str(scenario_time_text(offset));
    key(std::string(name) + "_ms").integer(offset.count());
    return *this;
  }
  // A duration as text and milliseconds: "<name>": "4h", "<name>_ms": 14400000; both null when absent.
  JsonWriter& duration(std::string_view name, const std::optional<Offset>& value) {
    if (value) {
      key(name).str(duration_text(*value));
      key(std::string(name) + "_ms").integer(value->count());
    } else {
      key(name).null();
      key(std::string(name) + "_ms").null();
    }
    return *this;
  }

 private:
  // An open object or array, and the key it will have in its parent.
  struct Level {
    boost::json::value value;
    std::string key;
  };

  JsonWriter& open(boost::json::value container) {
    stack_.push_back(Level{std::move(container), std::move(key_)});
    key_.clear();
    return *this;
  }
  JsonWriter& close() {
    Level level = std::move(stack_.back());
    stack_.pop_back();
    key_ = std::move(level.key);
    return put(std::move(level.value));
  }
  JsonWriter& put(boost::json::value value) {
    if (stack_.empty()) {
      if (out_) *out_ += json::pretty(value, base_);
      else *root_ = std::move(value);
    } else if (boost::json::object* object = stack_.back().value.if_object()) {
      object->insert_or_assign(key_, std::move(value));
    } else {
      stack_.back().value.get_array().push_back(std::move(value));
    }
    key_.clear();
    return *this;
  }

  std::string* out_ = nullptr;
  boost::json::value* root_ = nullptr;
  int base_ = 0;
  std::vector<Level> stack_;
  std::string key_;
};

void write_label(JsonWriter& w, const Label& label) {
  w.key("label").begin_object();
  w.key("classification").str(label.classification);
  w.key("categories").strings(label.categories);
  w.end_object();
  w.key("marking").str(marking_text(label));
}

bool has_decision(TimelineEntry::Kind kind) {
  return kind == TimelineEntry::Kind::delivered || kind == TimelineEntry::Kind::decision;
}

void write_entry(JsonWriter& w, const TimelineEntry& e) {
  w.begin_object();
  w.time("at", e.at);
  w.key("kind").str(kind_name(e.kind));
  w.key("node").str(e.node);
  w.key("from").str(e.from);
  w.key("message_id").str(e.message_id);
  w.key("inject").str(e.inject);
  w.key("title").str(e.title);
  w.key("category").str(e.category);
  // Only a delivery or a decision has one; "RELEASE" on an inject, event or
  // refusal would tell a reader of the JSON something that never happened.
  if (has_decision(e.kind)) w.key("decision").str(to_string(e.decision));
  else w.key("decision").null();
  w.key("released").begin_array();
  for (const Portion& p : e.released) {
    w.begin_object();
    w.key("id").str(p.id);
    write_label(w, p.label);
    w.key("body").str(p.body);
    w.end_object();
  }
  w.end_array();
  w.key("withheld").begin_array();
  for (const WithheldPortion& p : e.withheld) {
    w.begin_object();
    w.key("portion_id").str(p.portion_id);
    write_label(w, p.label);
    w.key("reason").str(p.reason);
    w.key("rule_ids").strings(p.rule_ids);
    w.end_object();
  }
  w.end_array();
  w.key("rules").strings(e.rules);
  w.key("reason").str(e.reason);
  w.key("held_for").str(e.held_for);
  w.key("detail").str(e.detail);
  w.end_object();
}

void write_action(JsonWriter& w, const HumanAction& a) {
  w.begin_object();
  w.time("at", a.at);
  w.key("table").str(a.table);
  w.key("node").str(a.node);
  w.key("kind").str(action_kind_name(a.kind));
  w.key("message_id").str(a.message_id);
  w.key("title").str(a.title);
  w.key("category").str(a.category);
  w.key("purpose").str(a.purpose);
  w.key("to").strings(a.to);
  w.key("labels").strings(a.labels);
  w.key("detail").str(a.detail);
  w.key("in_reply_to").str(a.in_reply_to);
  w.key("prompted_by").str(a.prompted_by);
  w.duration("response_time", a.response_time);
  w.key("outcomes").begin_array();
  for (const ActionOutcome& o : a.outcomes) {
    w.begin_object();
    w.key("node").str(o.node);
    w.key("decision").str(to_string(o.decision));
    w.key("released_labels").strings(o.released_labels);
    w.key("withheld_labels").strings(o.withheld_labels);
    w.key("reason").str(o.reason);
    w.key("rules").strings(o.rules);
    w.key("follow_up").boolean(o.follow_up);
    w.end_object();
  }
  w.end_array();
  w.key("refused").str(a.refused);
  w.end_object();
}

// What people did, after everything a scripted run has (so that the keys of a
// scripted run keep their places); in the order the run recorded them.
void write_people(JsonWriter& w, const RunResult& r) {
  w.key("played").strings(r.played);
  w.key("table").str(r.table);
  w.key("human_actions").begin_array();
  for (const HumanAction& a : r.human_actions) write_action(w, a);
  w.end_array();
  w.key("media").begin_array();
  for (const MediaRelease& m : r.media) {
    w.begin_object();
    w.key("id").str(m.id);
    w.time("at", m.at);
    w.key("kind").str(m.kind);
    w.key("source").str(m.source);
    w.key("headline").str(m.headline);
    w.key("body").str(m.body);
    w.key("seats").strings(m.seats);
    w.key("by_hand").boolean(m.by_hand);
    w.end_object();
  }
  w.end_array();
  w.key("observations").begin_array();
  for (const Observation& o : r.observations) {
    w.begin_object();
    w.time("at", o.at);
    w.key("evaluator").str(o.evaluator);
    w.key("objective").str(o.objective);
    w.key("table").str(o.table);
    w.key("text").str(o.text);
    w.end_object();
  }
  w.end_array();
  w.key("ratings").begin_array();
  for (const ObjectiveRating& rating : r.ratings) {
    w.begin_object();
    w.key("objective").str(rating.objective);
    w.key("evaluator").str(rating.evaluator);
    w.key("table").str(rating.table);
    w.key("rating").str(to_string(rating.rating));
    w.key("rating_words").str(describe(rating.rating));  // for a reader of the JSON; ignored when read
    w.key("note").str(rating.note);
    w.end_object();
  }
  w.end_array();
  w.key("improvement_plan").begin_array();
  for (const ImprovementItem& item : r.improvement_plan) {
    w.begin_object();
    w.key("issue").str(item.issue);
    w.key("corrective_action").str(item.corrective_action);
    w.key("owner").str(item.owner);
    w.key("due").str(item.due);
    w.key("objective").str(item.objective);
    w.end_object();
  }
  w.end_array();
  w.key("objectives").begin_array();
  for (const Objective& objective : r.objectives) {
    w.begin_object();
    w.key("id").str(objective.id);
    w.key("text").str(objective.text);
    w.end_object();
  }
  w.end_array();
}

void write_result(JsonWriter& w, const RunResult& r) {
  w.begin_object();
  w.key("format").str("icegate-exercise-result");
  w.key("format_version").integer(1);
  w.key("scenario").str(r.scenario);
  w.key("scenario_title").str(r.scenario_title);
  w.key("policy_name").str(r.policy_name);
  w.key("policy_version").str(r.policy_version);
  w.key("policy_file").str(r.policy_file);
  w.key("t0_unix_ms").integer(r.t0_unix_ms);
  w.key("t0").str(clock_text(r.t0_unix_ms));
  w.time("start", r.start);
  w.time("end", r.end);
  w.key("all_met").boolean(passed(r));
  w.key("expectations_met").integer(static_cast<std::int64_t>(met_count(r)));
  w.key("expectations_total").integer(static_cast<std::int64_t>(r.expectations.size()));
  w.key("nodes").strings(r.nodes);
  // Several gateways only: a run with one writes what it always has.
  if (!r.gateways.empty()) {
    w.key("gateways").begin_array();
    for (const GatewayResult& g : r.gateways) {
      w.begin_object();
      w.key("id").str(g.id);
      w.key("address").str(g.address);
      w.key("policy_name").str(g.policy_name);
      w.key("policy_version").str(g.policy_version);
      w.key("policy_file").str(g.policy_file);
      w.key("nodes").strings(g.nodes);
      w.end_object();
    }
    w.end_array();
  }
  w.key("timeline").begin_array();
  for (const TimelineEntry& e : r.timeline) write_entry(w, e);
  w.end_array();
  w.key("expectations").begin_array();
  for (const ExpectationResult& e : r.expectations) {
    w.begin_object();
    w.key("id").str(e.id);
    w.key("kind").str(e.kind);
    w.key("description").str(e.description);
    w.key("met").boolean(e.met);
    if (e.when) {
      w.time("when", *e.when);
    } else {
      w.key("when").null();
      w.key("when_ms").null();
    }
    w.key("evidence").str(e.evidence);
    w.end_object();
  }
  w.end_array();
  w.key("knowledge").begin_array();
  for (const Knowledge& k : r.knowledge) {
    w.begin_object();
    w.key("node").str(k.node);
    w.key("inject").str(k.inject);
    w.key("message_id").str(k.message_id);
    w.time("first_at", k.first_at);
    w.key("decision").str(to_string(k.decision));
    w.key("released_labels").strings(k.released_labels);
    w.key("withheld_labels").strings(k.withheld_labels);
    w.end_object();
  }
  w.end_array();
  w.key("contingencies_fired").strings(r.contingencies_fired);
  w.key("frames_delivered").integer(r.frames_delivered);
  w.key("markings").begin_array();
  for (const MarkingStyle& m : r.markings) {
    w.begin_object();
    w.key("label").str(m.label);
    w.key("display").str(m.display);
    w.key("colour").str(m.colour);
    w.key("text_colour").str(m.text_colour);
    w.end_object();
  }
  w.end_array();
  write_people(w, r);
  // No wall_seconds: how long a run took is not a result, and a report must be
  // the same bytes each time the same scenario runs under the same policy.
  w.end_object();
}

void write_row(JsonWriter& w, const DecisionRow& row) {
  w.begin_object();
  w.time("at", row.at);
  w.key("decision").str(to_string(row.decision));
  std::vector<std::string> released;
  for (const Portion& p : row.released) released.push_back(marking_text(p.label));
  w.key("released_labels").strings(released);
  w.key("rules").strings(row.rules);
  w.key("reason").str(row.reason);
  w.end_object();
}

// ---- reading --------------------------------------------------------------

[[noreturn]] void bad(std::string_view where, std::string_view what) {
  throw ReportError(fmt::format("result JSON: {}: {}", where, what));
}

const boost::json::value& member(const boost::json::value& node, const char* name, std::string_view where) {
  if (!node.is_object()) bad(where, "expected an object");
  const boost::json::value* value = node.get_object().if_contains(name);
  if (!value) bad(where, fmt::format("missing \"{}\"", name));
  return *value;
}

std::string read_string(const boost::json::value& node, const char* name, std::string_view where) {
  const boost::json::value& value = member(node, name, where);
  if (!value.is_string()) bad(where, fmt::format("\"{}\" is not a string", name));
  return std::string(value.get_string());
}

std::int64_t read_integer(const boost::json::value& node, const char* name, std::string_view where) {
  const boost::json::value& value = member(node, name, where);
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64() && value.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(value.get_uint64());
  bad(where, fmt::format("\"{}\" is not an integer", name));
}

bool read_bool(const boost::json::value& node, const char* name, std::string_view where) {
  const boost::json::value& value = member(node, name, where);
  if (!value.is_bool()) bad(where, fmt::format("\"{}\" is not true or false", name));
  return value.get_bool();
}

std::vector<std::string> read_strings(const boost::json::value& node, const char* name, std::string_view where) {
  const boost::json::value& value = member(node, name, where);
  if (!value.is_array()) bad(where, fmt::format("\"{}\" is not an array", name));
  std::vector<std::string> out;
  for (const boost::json::value& item : value.get_array()) {
    if (!item.is_string()) bad(where, fmt::format("\"{}\" holds a non-string", name));
    out.emplace_back(item.get_string());
  }
  return out;
}

const boost::json::array& read_array(const boost::json::value& node, const char* name, std::string_view where) {
  const boost::json::value& value = member(node, name, where);
  if (!value.is_array()) bad(where, fmt::format("\"{}\" is not an array", name));
  return value.get_array();
}

// Whether an object has the member `name` (results written by earlier versions lack some).
bool has(const boost::json::value& node, const char* name) { return json::member(node, name) != nullptr; }

Offset read_time(const boost::json::value& node, const std::string& name, std::string_view where) {
  return Offset{read_integer(node, (name + "_ms").c_str(), where)};
}

Decision read_decision(const boost::json::value& node, std::string_view where) {
  const std::string name = read_string(node, "decision", where);
  const auto decision = decision_from_name(name);
  if (!decision) bad(where, fmt::format("unknown decision \"{}\"", name));
  return *decision;
}

Label read_label(const boost::json::value& node, std::string_view where) {
  const boost::json::value& label = member(node, "label", where);
  return Label{read_string(label, "classification", where), read_strings(label, "categories", where)};
}

TimelineEntry read_entry(const boost::json::value& node, std::string_view where) {
  TimelineEntry e;
  e.at = read_time(node, "at", where);
  const std::string kind = read_string(node, "kind", where);
  const auto parsed_kind = kind_from_name(kind);
  if (!parsed_kind) bad(where, fmt::format("unknown kind \"{}\"", kind));
  e.kind = *parsed_kind;
  e.node = read_string(node, "node", where);
  e.from = read_string(node, "from", where);
  e.message_id = read_string(node, "message_id", where);
  e.inject = read_string(node, "inject", where);
  e.title = read_string(node, "title", where);
  e.category = read_string(node, "category", where);
  // Results written before entries without a decision said null carry "RELEASE" there.
  if (has_decision(e.kind) || !member(node, "decision", where).is_null()) e.decision = read_decision(node, where);
  std::size_t index = 0;
  for (const boost::json::value& p : read_array(node, "released", where)) {
    const std::string at = fmt::format("{}.released[{}]", where, index++);
    e.released.push_back(Portion{read_string(p, "id", at), read_label(p, at), read_string(p, "body", at)});
  }
  index = 0;
  for (const boost::json::value& p : read_array(node, "withheld", where)) {
    const std::string at = fmt::format("{}.withheld[{}]", where, index++);
    e.withheld.push_back(WithheldPortion{read_string(p, "portion_id", at), read_label(p, at),
                                         read_string(p, "reason", at), read_strings(p, "rule_ids", at)});
  }
  e.rules = read_strings(node, "rules", where);
  e.reason = read_string(node, "reason", where);
  e.held_for = read_string(node, "held_for", where);
  e.detail = read_string(node, "detail", where);
  return e;
}

std::optional<Offset> read_duration(const boost::json::value& node, const std::string& name, std::string_view where) {
  if (member(node, (name + "_ms").c_str(), where).is_null()) return std::nullopt;
  return Offset{read_integer(node, (name + "_ms").c_str(), where)};
}

HumanAction read_action(const boost::json::value& node, std::string_view where) {
  HumanAction a;
  a.at = read_time(node, "at", where);
  a.table = read_string(node, "table", where);
  a.node = read_string(node, "node", where);
  const std::string kind = read_string(node, "kind", where);
  const auto parsed_kind = action_kind_from_name(kind);
  if (!parsed_kind) bad(where, fmt::format("unknown kind \"{}\" (send, reply, review or trigger)", kind));
  a.kind = *parsed_kind;
  a.message_id = read_string(node, "message_id", where);
  a.title = read_string(node, "title", where);
  a.category = read_string(node, "category", where);
  a.purpose = read_string(node, "purpose", where);
  a.to = read_strings(node, "to", where);
  a.labels = read_strings(node, "labels", where);
  a.detail = read_string(node, "detail", where);
  a.in_reply_to = read_string(node, "in_reply_to", where);
  a.prompted_by = read_string(node, "prompted_by", where);
  a.response_time = read_duration(node, "response_time", where);
  std::size_t index = 0;
  for (const boost::json::value& o : read_array(node, "outcomes", where)) {
    const std::string at = fmt::format("{}.outcomes[{}]", where, index++);
    ActionOutcome outcome;
    outcome.node = read_string(o, "node", at);
    outcome.decision = read_decision(o, at);
    outcome.released_labels = read_strings(o, "released_labels", at);
    outcome.withheld_labels = read_strings(o, "withheld_labels", at);
    outcome.reason = read_string(o, "reason", at);
    outcome.rules = read_strings(o, "rules", at);
    outcome.follow_up = read_bool(o, "follow_up", at);
    a.outcomes.push_back(std::move(outcome));
  }
  a.refused = read_string(node, "refused", where);
  return a;
}

// What people did; absent from results written before people played (and
// from scripted runs written then), so each key is read only when present.
void read_people(const boost::json::value& node, RunResult& r) {
  const std::string where = "result";
  if (has(node, "played")) r.played = read_strings(node, "played", where);
  if (has(node, "table")) r.table = read_string(node, "table", where);
  std::size_t index = 0;
  if (has(node, "human_actions"))
    for (const boost::json::value& a : read_array(node, "human_actions", where))
      r.human_actions.push_back(read_action(a, fmt::format("human_actions[{}]", index++)));
  index = 0;
  if (has(node, "media")) {
    for (const boost::json::value& m : read_array(node, "media", where)) {
      const std::string at = fmt::format("media[{}]", index++);
      MediaRelease release;
      release.id = read_string(m, "id", at);
      release.at = read_time(m, "at", at);
      release.kind = read_string(m, "kind", at);
      release.source = read_string(m, "source", at);
      release.headline = read_string(m, "headline", at);
      release.body = read_string(m, "body", at);
      release.seats = read_strings(m, "seats", at);
      release.by_hand = read_bool(m, "by_hand", at);
      r.media.push_back(std::move(release));
    }
  }
  index = 0;
  if (has(node, "observations")) {
    for (const boost::json::value& o : read_array(node, "observations", where)) {
      const std::string at = fmt::format("observations[{}]", index++);
      r.observations.push_back({read_time(o, "at", at), read_string(o, "evaluator", at),
                                read_string(o, "objective", at), read_string(o, "table", at),
                                read_string(o, "text", at)});
    }
  }
  index = 0;
  if (has(node, "ratings")) {
    for (const boost::json::value& x : read_array(node, "ratings", where)) {
      const std::string at = fmt::format("ratings[{}]", index++);
      ObjectiveRating rating;
      rating.objective = read_string(x, "objective", at);
      rating.evaluator = read_string(x, "evaluator", at);
      rating.table = read_string(x, "table", at);
      const std::string letter = read_string(x, "rating", at);
      const auto parsed = rating_from_name(letter);
      if (!parsed) bad(at, fmt::format("unknown rating \"{}\" (P, S, M or U)", letter));
      rating.rating = *parsed;
      rating.note = read_string(x, "note", at);
      r.ratings.push_back(std::move(rating));
    }
  }
  index = 0;
  if (has(node, "improvement_plan")) {
    for (const boost::json::value& x : read_array(node, "improvement_plan", where)) {
      const std::string at = fmt::format("improvement_plan[{}]", index++);
      r.improvement_plan.push_back({read_string(x, "issue", at), read_string(x, "corrective_action", at),
                                    read_string(x, "owner", at), read_string(x, "due", at),
                                    read_string(x, "objective", at)});
    }
  }
  index = 0;
  if (has(node, "objectives")) {
    for (const boost::json::value& x : read_array(node, "objectives", where)) {
      const std::string at = fmt::format("objectives[{}]", index++);
      r.objectives.push_back({read_string(x, "id", at), read_string(x, "text", at)});
    }
  }
}

RunResult read_result(const boost::json::value& node) {
  const std::string where = "result";
  if (!node.is_object()) bad(where, "expected an object");
  if (has(node, "format_version") && read_integer(node, "format_version", where) != 1)
    bad(where, "unsupported format_version (this icegate reads version 1)");
  RunResult r;
  r.scenario = read_string(node, "scenario", where);
  r.scenario_title = read_string(node, "scenario_title", where);
  r.policy_name = read_string(node, "policy_name", where);
  r.policy_version = read_string(node, "policy_version", where);
  r.policy_file = read_string(node, "policy_file", where);
  r.t0_unix_ms = read_integer(node, "t0_unix_ms", where);
  r.start = read_time(node, "start", where);
  r.end = read_time(node, "end", where);
  r.nodes = read_strings(node, "nodes", where);
  std::size_t index = 0;
  if (has(node, "gateways"))
    for (const boost::json::value& g : read_array(node, "gateways", where)) {
      const std::string at = fmt::format("gateways[{}]", index++);
      r.gateways.push_back({read_string(g, "id", at), read_string(g, "address", at), read_string(g, "policy_name", at),
                            read_string(g, "policy_version", at), read_string(g, "policy_file", at),
                            read_strings(g, "nodes", at)});
    }
  index = 0;
  for (const boost::json::value& entry : read_array(node, "timeline", where))
    r.timeline.push_back(read_entry(entry, fmt::format("timeline[{}]", index++)));
  index = 0;
  for (const boost::json::value& e : read_array(node, "expectations", where)) {
    const std::string at = fmt::format("expectations[{}]", index++);
    ExpectationResult x;
    x.id = read_string(e, "id", at);
    if (has(e, "kind")) x.kind = read_string(e, "kind", at);  // absent from results written before it
    x.description = read_string(e, "description", at);
    x.met = read_bool(e, "met", at);
    if (!member(e, "when_ms", at).is_null()) x.when = read_time(e, "when", at);
    x.evidence = read_string(e, "evidence", at);
    r.expectations.push_back(std::move(x));
  }
  index = 0;
  for (const boost::json::value& k : read_array(node, "knowledge", where)) {
    const std::string at = fmt::format("knowledge[{}]", index++);
    Knowledge x;
    x.node = read_string(k, "node", at);
    x.inject = read_string(k, "inject", at);
    x.message_id = read_string(k, "message_id", at);
    x.first_at = read_time(k, "first_at", at);
    x.decision = read_decision(k, at);
    x.released_labels = read_strings(k, "released_labels", at);
    x.withheld_labels = read_strings(k, "withheld_labels", at);
    r.knowledge.push_back(std::move(x));
  }
  r.contingencies_fired = read_strings(node, "contingencies_fired", where);
  r.frames_delivered = read_integer(node, "frames_delivered", where);
  // Results written before markings were kept have none: their reports use default colours.
  if (has(node, "markings")) {
    index = 0;
    for (const boost::json::value& m : read_array(node, "markings", where)) {
      const std::string at = fmt::format("markings[{}]", index++);
      r.markings.push_back({read_string(m, "label", at), read_string(m, "display", at), read_string(m, "colour", at),
                            read_string(m, "text_colour", at)});
    }
  }
  // Written by earlier versions; read when present.
  if (const boost::json::value* wall = json::member(node, "wall_seconds")) {
    if (!wall->is_number()) bad(where, "\"wall_seconds\" is not a number");
    r.wall_seconds = wall->to_number<double>();
  }
  read_people(node, r);
  return r;
}

boost::json::value parse_json(std::string_view text) {
  json::ParseResult parsed = json::parse(text);
  if (!parsed.error.empty()) throw ReportError(fmt::format("result JSON: {}", parsed.error));
  return std::move(parsed.value);
}

}  // namespace

boost::json::value detail::result_value(const RunResult& result) {
  boost::json::value root;
  JsonWriter writer(root);
  write_result(writer, result);
  return root;
}

RunResult detail::run_result_from_json(const boost::json::value& node) { return read_result(node); }

std::string to_json(const RunResult& result) {
  std::string out = json::pretty(detail::result_value(result));
  out.push_back('\n');
  return out;
}

std::string to_json(const Comparison& comparison) {
  std::string out;
  JsonWriter w(out, 0);
  w.begin_object();
  w.key("comparison_version").integer(1);
  w.key("first");
  write_result(w, comparison.first);
  w.key("second");
  write_result(w, comparison.second);
  w.key("decisions_differ").begin_array();
  for (const DecisionDifference& d : differing_decisions(comparison)) {
    w.begin_object();
    w.key("inject").str(d.inject);
    w.key("title").str(d.title);
    w.key("node").str(d.node);
    w.key("first").begin_array();
    for (const DecisionRow& row : d.first) write_row(w, row);
    w.end_array();
    w.key("second").begin_array();
    for (const DecisionRow& row : d.second) write_row(w, row);
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  out.push_back('\n');
  return out;
}

RunResult run_result_from_json(std::string_view json) { return read_result(parse_json(json)); }

Comparison comparison_from_json(std::string_view json) {
  const boost::json::value root = parse_json(json);
  const boost::json::value* first = json::member(root, "first");
  const boost::json::value* second = json::member(root, "second");
  if (!first || !second) throw ReportError("comparison JSON: expected an object with \"first\" and \"second\"");
  return Comparison{read_result(*first), read_result(*second)};
}

}  // namespace icegate::exercise

#include "clients/exercise/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "clients/exercise/report_html.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/model/html.hpp"
#include "gateway/model/json.hpp"
#include "gateway/model/json_value.hpp"

namespace icegate::exercise {

// ===========================================================================
// Shared helpers
// ===========================================================================

std::string scenario_time_text(Offset offset) {
  std::int64_t ms = offset.count();
  if (ms == 0) return "T+0";
  std::string text = ms < 0 ? "T-" : "T+";
  // Unsigned so that the most negative offset does not overflow when negated.
  std::uint64_t rest = ms < 0 ? 0 - static_cast<std::uint64_t>(ms) : static_cast<std::uint64_t>(ms);
  const std::uint64_t hours = rest / 3'600'000;
  rest %= 3'600'000;
  const std::uint64_t minutes = rest / 60'000;
  rest %= 60'000;
  const std::uint64_t seconds = rest / 1000;
  const std::uint64_t millis = rest % 1000;
  if (hours) text += fmt::format("{}h", hours);
  if (minutes) text += fmt::format("{}m", minutes);
  if (seconds) text += fmt::format("{}s", seconds);
  if (millis) text += fmt::format("{}ms", millis);
  return text;
}

std::string duration_text(Offset duration) {
  if (duration < Offset::zero()) return "-" + scenario_time_text(duration).substr(2);
  return scenario_time_text(duration).substr(2);  // "T+4h" -> "4h"
}

namespace {

std::string_view action_kind_name(HumanAction::Kind kind) {
  using K = HumanAction::Kind;
  switch (kind) {
    case K::send:
      return "send";
    case K::reply:
      return "reply";
    case K::review:
      return "review";
    case K::trigger:
      return "trigger";
  }
  return "unknown";
}

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

std::string_view kind_name(TimelineEntry::Kind kind) {
  using K = TimelineEntry::Kind;
  switch (kind) {
    case K::inject:
      return "inject";
    case K::response:
      return "response";
    case K::contingency:
      return "contingency";
    case K::delivered:
      return "delivered";
    case K::decision:
      return "decision";
    case K::review_request:
      return "review_request";
    case K::review:
      return "review";
    case K::event:
      return "event";
    case K::error:
      return "error";
    case K::human:
      return "human";
    case K::media:
      return "media";
  }
  return "unknown";
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

// Plain words for facilitators.
std::string_view decision_words(Decision decision) {
  switch (decision) {
    case Decision::release:
      return "Released";
    case Decision::release_redacted:
      return "Released with redactions";
    case Decision::hold:
      return "Held";
    case Decision::deny:
      return "Denied";
  }
  return "Unknown";
}

// CSS class suffix for a decision; also the SVG marker id suffix.
std::string_view decision_class(Decision decision) {
  switch (decision) {
    case Decision::release:
      return "release";
    case Decision::release_redacted:
      return "redacted";
    case Decision::hold:
      return "hold";
    case Decision::deny:
      return "deny";
  }
  return "unknown";
}

std::string marking_text(const Label& label) {
  if (label.classification.empty() && label.categories.empty()) return "UNMARKED";
  return to_string(label);
}

std::string clock_text(std::int64_t unix_ms) { return format_utc(unix_ms, UtcStyle::readable); }

std::size_t met_count(const RunResult& result) {
  return static_cast<std::size_t>(std::count_if(result.expectations.begin(), result.expectations.end(),
                                                [](const ExpectationResult& e) { return e.met; }));
}

bool passed(const RunResult& result) { return met_count(result) == result.expectations.size(); }

// The inject an entry belongs to, for grouping: its inject or response id, or
// the message title when it came from neither.
std::string inject_key(const TimelineEntry& entry) {
  if (!entry.inject.empty()) return entry.inject;
  if (!entry.title.empty()) return entry.title;
  return entry.message_id;
}

// Every node of the run, in the run's order, then any other node the timeline
// names, in order of appearance.
std::vector<std::string> all_nodes(const RunResult& result) {
  std::vector<std::string> nodes = result.nodes;
  std::set<std::string> seen(nodes.begin(), nodes.end());
  for (const TimelineEntry& entry : result.timeline) {
    for (const std::string* name : {&entry.from, &entry.node}) {
      if (!name->empty() && seen.insert(*name).second) nodes.push_back(*name);
    }
  }
  return nodes;
}

// Cuts `text` to at most `limit` bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string_view text, std::size_t limit, std::string_view ellipsis = "...") {
  if (text.size() <= limit) return std::string(text);
  std::size_t cut = limit > ellipsis.size() ? limit - ellipsis.size() : 0;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + std::string(ellipsis);
}

std::string portion_labels(const std::vector<Portion>& portions) {
  std::vector<std::string> labels;
  for (const Portion& p : portions) labels.push_back(marking_text(p.label));
  return fmt::format("{}", fmt::join(labels, ", "));
}

}  // namespace

std::vector<DecisionRow> decision_rows(const RunResult& result) {
  using K = TimelineEntry::Kind;
  std::vector<DecisionRow> rows;
  std::set<std::tuple<std::string, std::string, Decision>> decided;  // message, node, decision
  auto row_of = [](const TimelineEntry& e) {
    DecisionRow row;
    row.at = e.at;
    row.inject = inject_key(e);
    row.message_id = e.message_id;
    row.title = e.title;
    row.node = e.node;
    row.from = e.from;
    row.decision = e.decision;
    row.released = e.released;
    row.withheld = e.withheld;
    row.rules = e.rules;
    row.reason = e.reason;
    row.held_for = e.held_for;
    return row;
  };
  // A receipt's decision names neither the title nor the released portions:
  // take them from the message's other entries and from the delivery it led to.
  std::map<std::string, std::string> titles;  // message id -> title
  std::map<std::tuple<std::string, std::string, Decision>, const TimelineEntry*> deliveries;
  for (const TimelineEntry& e : result.timeline) {
    if (!e.title.empty()) titles.emplace(e.message_id, e.title);
    if (e.kind == K::delivered) deliveries.emplace(std::tuple{e.message_id, e.node, e.decision}, &e);
  }
  for (const TimelineEntry& e : result.timeline) {
    if (e.kind != K::decision) continue;
    decided.emplace(e.message_id, e.node, e.decision);
    DecisionRow row = row_of(e);
    if (row.title.empty()) {
      if (auto it = titles.find(e.message_id); it != titles.end()) row.title = it->second;
      if (e.inject.empty() && !row.title.empty()) row.inject = row.title;
    }
    if (row.released.empty()) {
      if (auto it = deliveries.find({e.message_id, e.node, e.decision}); it != deliveries.end())
        row.released = it->second->released;
    }
    rows.push_back(std::move(row));
  }
  for (const TimelineEntry& e : result.timeline) {
    if (e.kind != K::delivered || decided.count({e.message_id, e.node, e.decision})) continue;
    rows.push_back(row_of(e));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const DecisionRow& a, const DecisionRow& b) { return a.at < b.at; });
  return rows;
}

namespace {

// A decision's outcome for comparison: the decision and the released portions.
std::string outcome_signature(const DecisionRow& row) {
  std::vector<std::string> released;
  for (const Portion& p : row.released) released.push_back(p.id + "=" + marking_text(p.label));
  std::sort(released.begin(), released.end());
  return fmt::format("{}[{}]", to_string(row.decision), fmt::join(released, ","));
}

using DecisionKey = std::pair<std::string, std::string>;  // inject, node

std::map<DecisionKey, std::vector<DecisionRow>> rows_by_key(const RunResult& result) {
  std::map<DecisionKey, std::vector<DecisionRow>> grouped;
  for (DecisionRow& row : decision_rows(result)) {
    DecisionKey key{row.inject, row.node};
    grouped[key].push_back(std::move(row));
  }
  return grouped;
}

std::vector<std::string> signatures(const std::vector<DecisionRow>& rows) {
  std::vector<std::string> out;
  for (const DecisionRow& row : rows) {
    std::string signature = outcome_signature(row);
    if (out.empty() || out.back() != signature) out.push_back(std::move(signature));
  }
  return out;
}

}  // namespace

std::vector<DecisionDifference> differing_decisions(const Comparison& comparison) {
  auto first = rows_by_key(comparison.first);
  auto second = rows_by_key(comparison.second);
  std::set<DecisionKey> keys;
  for (const auto& [key, rows] : first) keys.insert(key);
  for (const auto& [key, rows] : second) keys.insert(key);

  std::vector<DecisionDifference> differences;
  for (const DecisionKey& key : keys) {
    const auto a = first.find(key);
    const auto b = second.find(key);
    const std::vector<DecisionRow> none;
    const auto& rows_a = a == first.end() ? none : a->second;
    const auto& rows_b = b == second.end() ? none : b->second;
    if (signatures(rows_a) == signatures(rows_b)) continue;
    DecisionDifference difference;
    difference.inject = key.first;
    difference.node = key.second;
    difference.title = !rows_a.empty() ? rows_a.front().title : rows_b.front().title;
    difference.first = rows_a;
    difference.second = rows_b;
    differences.push_back(std::move(difference));
  }
  // In the order the first of them happened.
  auto earliest = [](const DecisionDifference& d) {
    Offset at = Offset::max();
    if (!d.first.empty()) at = std::min(at, d.first.front().at);
    if (!d.second.empty()) at = std::min(at, d.second.front().at);
    return at;
  };
  std::stable_sort(differences.begin(), differences.end(),
                   [&](const DecisionDifference& x, const DecisionDifference& y) { return earliest(x) < earliest(y); });
  return differences;
}

std::vector<Knowledge> knowledge_of(const RunResult& result) {
  if (!result.knowledge.empty()) return result.knowledge;
  std::vector<Knowledge> knowledge;
  std::set<std::pair<std::string, std::string>> seen;
  for (const TimelineEntry& e : result.timeline) {
    if (e.kind != TimelineEntry::Kind::delivered) continue;
    if (!seen.emplace(e.node, inject_key(e)).second) continue;
    Knowledge k;
    k.node = e.node;
    k.inject = inject_key(e);
    k.message_id = e.message_id;
    k.first_at = e.at;
    k.decision = e.decision;
    // As the runner writes them: "SECRET/UK EYES ONLY".
    auto slashed = [](const Label& label) {
      std::string text = label.classification;
      for (const std::string& category : label.categories) text += "/" + category;
      return text;
    };
    for (const Portion& p : e.released) k.released_labels.push_back(slashed(p.label));
    for (const WithheldPortion& w : e.withheld) k.withheld_labels.push_back(slashed(w.label));
    knowledge.push_back(std::move(k));
  }
  return knowledge;
}

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

// ===========================================================================
// Mermaid
// ===========================================================================

namespace {

// Text Mermaid shows verbatim: no statement separators (;), entity codes (#),
// quotes, angle brackets (read as HTML) or line breaks; at most ~60 characters.
std::string mermaid_text(std::string_view text, std::size_t limit = 60) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case ';':
        out += ',';
        break;
      case '#':
        out += "no.";
        break;
      case '"':
        out += '\'';
        break;
      case '<':
        out += '(';
        break;
      case '>':
        out += ')';
        break;
      case '\n':
      case '\r':
      case '\t':
        out += ' ';
        break;
      case '%':  // "%%" would start a comment
        if (!out.empty() && out.back() == '%') out += ' ';
        out += '%';
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20) out.push_back(c);
    }
  }
  return truncate_utf8(out, limit);
}

bool mermaid_keyword(std::string_view id) {
  static const std::set<std::string> keywords = {"participant",
                                                 "actor",
                                                 "as",
                                                 "note",
                                                 "over",
                                                 "left",
                                                 "right",
                                                 "of",
                                                 "loop",
                                                 "alt",
                                                 "else",
                                                 "opt",
                                                 "par",
                                                 "and",
                                                 "rect",
                                                 "end",
                                                 "critical",
                                                 "break",
                                                 "box",
                                                 "activate",
                                                 "deactivate",
                                                 "autonumber",
                                                 "title",
                                                 "links",
                                                 "link",
                                                 "properties",
                                                 "details",
                                                 "create",
                                                 "destroy",
                                                 "option",
                                                 "sequencediagram",
                                                 "gw"};
  std::string lower(id);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return keywords.count(lower) > 0;
}

// Mermaid ids may not contain hyphens (they read as arrows): map each node id
// to letters, digits and underscores, unique within the diagram.
class MermaidAliases {
 public:
  MermaidAliases() { used_.insert("gw"); }
  const std::string& alias(const std::string& node) {
    auto found = aliases_.find(node);
    if (found != aliases_.end()) return found->second;
    std::string alias;
    for (const char c : node) alias.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    if (alias.empty() || std::isdigit(static_cast<unsigned char>(alias.front())) || mermaid_keyword(alias) ||
        alias.front() == 'x' || alias.front() == 'X' || alias.front() == '_')
      alias = "n_" + alias;  // "x..." could read as a cross arrow head after "--"
    std::string unique = alias;
    for (int n = 2; used_.count(unique); ++n) unique = fmt::format("{}_{}", alias, n);
    used_.insert(unique);
    return aliases_.emplace(node, unique).first->second;
  }

 private:
  std::map<std::string, std::string> aliases_;
  std::set<std::string> used_;
};

std::string synopsis_of(const TimelineEntry& e) { return !e.detail.empty() ? e.detail : e.title; }

// The person's action a `human` timeline entry records: the one at the same
// seat, time and message (a trigger has no message), or null.
const HumanAction* action_of(const RunResult& r, const TimelineEntry& e) {
  for (const HumanAction& a : r.human_actions)
    if (a.node == e.node && a.at == e.at && a.message_id == e.message_id) return &a;
  return nullptr;
}

std::string_view action_verb(HumanAction::Kind kind) {
  switch (kind) {
    case HumanAction::Kind::send:
      return "sends";
    case HumanAction::Kind::reply:
      return "replies";
    case HumanAction::Kind::review:
      return "reviews";
    case HumanAction::Kind::trigger:
      return "triggers";
  }
  return "acts";
}

// "sends <title>", "reviews <message>: approve", "triggers <event>", and
// "(refused)" when the gateway refused it: one line of what a person did.
std::string action_summary(const HumanAction* a, const TimelineEntry& e) {
  if (!a) return fmt::format("acts {}", !e.title.empty() ? e.title : e.detail);
  std::string text(action_verb(a->kind));
  switch (a->kind) {
    case HumanAction::Kind::send:
    case HumanAction::Kind::reply:
      text += " " + (a->title.empty() ? a->message_id : a->title);
      break;
    case HumanAction::Kind::review:
      text += " " + (a->title.empty() ? a->message_id : a->title) + (a->detail.empty() ? "" : ": " + a->detail);
      break;
    case HumanAction::Kind::trigger:
      text += " " + a->detail;
      break;
  }
  if (!a->refused.empty()) text += " (refused)";
  return text;
}

}  // namespace

std::string to_mermaid(const RunResult& result) {
  using K = TimelineEntry::Kind;
  std::string out = "sequenceDiagram\n";
  out += fmt::format("    %% {} under {} {}\n",
                     mermaid_text(result.scenario_title.empty() ? result.scenario : result.scenario_title, 80),
                     mermaid_text(result.policy_name, 40), mermaid_text(result.policy_version, 24));

  // Participants: the nodes that appear in the timeline, in the run's order.
  std::set<std::string> took_part;
  for (const TimelineEntry& e : result.timeline) {
    if (!e.node.empty()) took_part.insert(e.node);
    if (!e.from.empty()) took_part.insert(e.from);
  }
  MermaidAliases aliases;
  out += "    participant gw as gateway\n";
  for (const std::string& node : all_nodes(result)) {
    if (took_part.count(node))
      out += fmt::format("    participant {} as {}\n", aliases.alias(node), mermaid_text(node, 60));
  }

  auto line = [&](const std::string& text) { out += "    " + text + "\n"; };
  for (const TimelineEntry& e : result.timeline) {
    const std::string when = scenario_time_text(e.at);
    const std::string id = inject_key(e);
    switch (e.kind) {
      case K::inject:
      case K::response:
      case K::contingency: {
        if (e.node.empty()) break;
        const std::string& actor = aliases.alias(e.node);
        const char* what = e.kind == K::contingency ? " (contingency)" : "";
        if (!e.message_id.empty() || e.detail.empty() || !e.title.empty()) {
          line(fmt::format("{}->>gw: {}", actor, mermaid_text(fmt::format("{} {}{} {}", when, id, what, e.title))));
        } else {
          line(fmt::format("{}->>gw: {}", actor,
                           mermaid_text(fmt::format("{} {}{} triggers {}", when, id, what, e.detail))));
        }
        const std::string synopsis = synopsis_of(e);
        if (!synopsis.empty() && synopsis != e.title)
          line(fmt::format("Note over {}: {}", actor, mermaid_text(synopsis)));
        break;
      }
      case K::delivered: {
        if (e.node.empty()) break;
        std::string marking;
        if (!e.released.empty()) marking = portion_labels(e.released);
        line(fmt::format("gw->>{}: {}", aliases.alias(e.node),
                         mermaid_text(fmt::format("{} {} {} {}", when, id, to_string(e.decision), marking))));
        break;
      }
      case K::decision: {
        if (e.node.empty()) break;
        if (e.decision == Decision::deny) {
          line(fmt::format("gw--x{}: {}", aliases.alias(e.node),
                           mermaid_text(fmt::format("{} {} DENY {}", when, id, e.reason))));
        } else if (e.decision == Decision::hold) {
          line(fmt::format(
              "Note over gw,{}: {}", aliases.alias(e.node),
              mermaid_text(fmt::format("{} {} HOLD for {}", when, id, e.held_for.empty() ? "review" : e.held_for))));
        }
        break;  // releases are drawn as their deliveries
      }
      case K::review_request:
        if (e.node.empty()) break;
        line(fmt::format("gw-->>{}: {}", aliases.alias(e.node),
                         mermaid_text(fmt::format("{} {} review requested", when, id))));
        break;
      case K::review:
        if (e.node.empty()) break;
        line(fmt::format(
            "{}-->>gw: {}", aliases.alias(e.node),
            mermaid_text(fmt::format("{} {} review {}", when, id, e.detail.empty() ? "answered" : e.detail))));
        break;
      case K::event:
        line(fmt::format("Note over gw: {}",
                         mermaid_text(fmt::format("{} event {}", when, e.detail.empty() ? e.title : e.detail))));
        break;
      case K::error:
        if (e.node.empty()) break;
        line(fmt::format("gw--x{}: {}", aliases.alias(e.node),
                         mermaid_text(fmt::format("{} error {}", when, e.detail))));
        break;
      case K::human: {
        if (e.node.empty()) break;
        // The refusal's `--x` (an error entry) follows when the gateway refused it.
        line(fmt::format("{}->>gw: {}", aliases.alias(e.node),
                         mermaid_text(fmt::format("{} {}", when, action_summary(action_of(result, e), e)))));
        break;
      }
      case K::media:
        line(fmt::format("Note over gw: {}", mermaid_text(fmt::format("{} media {}", when, e.detail))));
        break;
    }
  }
  return out;
}

// ===========================================================================
// HTML
// ===========================================================================

// Shared with report_people.cpp (report_html.hpp).
std::string detail::html(std::string_view text) { return html::escape(text); }

namespace {

using detail::decision_badge;
using detail::html;
using detail::marking_badge;
using detail::rules_text;
using detail::time_cell;

// A CSS class for a label's text, so that common markings get their colours.
std::string marking_class(std::string_view label_text) {
  std::string c(label_text);
  std::transform(c.begin(), c.end(), c.begin(), [](unsigned char ch) { return std::toupper(ch); });
  if (c.find("TOP SECRET") != std::string::npos) return "m-topsecret";
  if (c.find("SECRET") != std::string::npos) return "m-secret";
  if (c.find("CONFIDENTIAL") != std::string::npos) return "m-confidential";
  if (c.find("RESTRICTED") != std::string::npos || c.find("SENSITIVE") != std::string::npos) return "m-restricted";
  return "m-low";
}

std::string marking_class(const Label& label) { return marking_class(label.classification); }

// "#rgb" or "#rrggbb": a colour from a result (which may come from an untrusted
// bundle) goes into a style attribute only in this form.
bool css_colour(std::string_view colour) {
  return (colour.size() == 4 || colour.size() == 7) && colour.front() == '#' &&
         std::all_of(colour.begin() + 1, colour.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

// A label, given as to_string(Label) writes it, as the run's scheme shows it
// (its display marking, in its colours), or as the text in the built-in
// colours of `fallback_class` when the result has no style for it.
std::string styled_marking(const RunResult& r, const std::string& text, const std::string& fallback_class) {
  for (const MarkingStyle& m : r.markings) {
    if (m.label != text) continue;
    const std::string& display = m.display.empty() ? text : m.display;
    if (css_colour(m.colour) && css_colour(m.text_colour))
      return fmt::format("<span class=\"marking\" title=\"{}\" style=\"background:{};color:{}\">{}</span>", html(text),
                         m.colour, m.text_colour, html(display));
    return fmt::format("<span class=\"marking {}\" title=\"{}\">{}</span>", fallback_class, html(text),
                       html(display));
  }
  return fmt::format("<span class=\"marking {}\">{}</span>", fallback_class, html(text));
}

std::string marking_badge(const RunResult& r, const Label& label) {
  return styled_marking(r, marking_text(label), marking_class(label));
}

}  // namespace

// A label as a HumanAction or ActionOutcome holds it: "SECRET [UK EYES ONLY]".
std::string detail::marking_badge(const RunResult& r, const std::string& label_text) {
  return styled_marking(r, label_text, marking_class(label_text));
}

std::string detail::time_cell(const RunResult& r, Offset at) {
  return fmt::format("<span class=\"t\" title=\"{}\">{}</span>", html(clock_text(r.t0_unix_ms + at.count())),
                     html(scenario_time_text(at)));
}

std::string detail::decision_badge(Decision decision) {
  return fmt::format("<span class=\"decision d-{}\">{}</span>", decision_class(decision), decision_words(decision));
}

std::string detail::rules_text(const std::vector<std::string>& rules) {
  if (rules.empty()) return "<span class=\"muted\">none</span>";
  std::string out;
  for (const std::string& rule : rules) out += fmt::format("<code>{}</code> ", html(rule));
  return out;
}

namespace {

using detail::evaluation_section;
using detail::human_actions_section;
using detail::improvement_plan_section;
using detail::media_section;
using detail::objectives_of;
using detail::people_links;
using detail::response_times_section;

constexpr std::string_view kStyle = R"(
:root{--release:#2e7d32;--redacted:#b26a00;--hold:#1565c0;--deny:#c62828;--inject:#424242;--review:#6a1b9a;
--human:#00838f;--bg:#fafafa;--card:#fff;--line:#ddd;--muted:#666}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;background:var(--bg);color:#222}
header,main,footer{max-width:1400px;margin:0 auto;padding:0 24px}
header{padding-top:20px}
h1{font-size:1.7em;margin:.2em 0}
h2{font-size:1.3em;border-bottom:2px solid var(--line);padding-bottom:4px;margin-top:2em}
h3{font-size:1.05em;margin:.3em 0}
.banner{font-size:1.25em;font-weight:700;padding:12px 16px;border-radius:6px;margin:12px 0;color:#fff}
.banner.pass{background:var(--release)}.banner.fail{background:var(--deny)}
.banners{display:grid;grid-template-columns:1fr 1fr;gap:12px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:8px 0}
dl.facts dt{font-weight:600;color:var(--muted)}dl.facts dd{margin:0}
nav a{margin-right:14px}
table{border-collapse:collapse;width:100%;background:var(--card);font-size:.93em}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eee}
tr.unmet td{background:#fdecea}tr.met td:first-child{color:var(--release);font-weight:700}
tr.unmet td:first-child{color:var(--deny);font-weight:700}
b.met{color:var(--release)}b.unmet{color:var(--deny)}
.muted{color:var(--muted)}
code{font-size:.9em;background:#f0f0f0;padding:0 3px;border-radius:3px}
.decision{display:inline-block;padding:1px 7px;border-radius:10px;color:#fff;font-size:.85em;font-weight:600;white-space:nowrap}
.d-release{background:var(--release)}.d-redacted{background:var(--redacted)}.d-hold{background:var(--hold)}.d-deny{background:var(--deny)}
.marking{display:inline-block;padding:0 6px;border:1px solid #999;border-radius:3px;font-size:.8em;font-weight:700;letter-spacing:.02em}
.m-topsecret{background:#c62828;color:#fff}.m-secret{background:#ef6c00;color:#000}.m-confidential{background:#1565c0;color:#fff}
.m-restricted{background:#fff3c4;color:#000}.m-low{background:#fff;color:#000}
.nodes{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:14px}
.node{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.node summary{cursor:pointer;font-weight:700}
.node ol{list-style:none;padding:0;margin:6px 0}
.node li{border-left:4px solid var(--line);padding:4px 8px;margin:6px 0}
.node li.k-release{border-color:var(--release)}.node li.k-redacted{border-color:var(--redacted)}
.node li.k-hold{border-color:var(--hold)}.node li.k-deny{border-color:var(--deny)}.node li.k-sent{border-color:var(--inject)}
.node li.k-review{border-color:var(--review)}.node li.k-human{border-color:var(--human)}
.portion{border:1px solid var(--line);border-radius:4px;padding:4px 6px;margin:4px 0;background:#fff}
.portion .body{white-space:pre-wrap;margin-top:3px}
.portion.withheld{background:repeating-linear-gradient(45deg,#f3f3f3,#f3f3f3 8px,#e6e6e6 8px,#e6e6e6 16px);border-style:dashed}
.withheld-note{font-style:italic;margin-top:3px}
.diagram{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:6px;padding:6px}
.legend span{margin-right:14px;white-space:nowrap}
.legend i{display:inline-block;width:22px;height:4px;vertical-align:middle;margin-right:4px}
.diff td.changed{background:#fff4d6}
.controls button{margin-right:8px}
.rating{display:inline-block;min-width:1.7em;text-align:center;padding:0 5px;border-radius:3px;font-weight:700;color:#fff}
.r-p{background:#2e7d32}.r-s{background:#827717}.r-m{background:#e65100}.r-u{background:#c62828}
.objective{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 12px;margin:10px 0}
.outcome{margin:2px 0}.refusal{color:var(--deny);font-weight:600}tr.refused td{background:#fdecea}
.follow-up{font-size:.8em;border:1px dashed var(--hold);border-radius:8px;padding:0 5px;color:var(--hold)}
.media .body{white-space:pre-wrap;color:#333}
div.action+div.action{border-top:1px solid var(--line);margin-top:4px;padding-top:4px}
footer{color:var(--muted);font-size:.85em;padding:30px 24px}
@media print{.controls{display:none}details{display:block}}
)";

// Collapsing: <details> works without it; this adds "open all / close all".
constexpr std::string_view kScript = R"(
function setAll(open){document.querySelectorAll('details').forEach(function(d){d.open=open;});}
)";

void page_start(std::string& out, std::string_view title) {
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>{}</title>\n<style>{}</style>\n<script>{}</script>\n</head>\n<body>\n", html(title),
                     kStyle, kScript);
}

void page_end(std::string& out) {
  out += "<footer>Generated by icegate " ICEGATE_VERSION
         ". Times are scenario times (T+0 is the moment the scenario turns on); hover a time for the clock "
         "time. Withheld portions are shown by their marking and the reason only: their content never left "
         "the gateway.</footer>\n</body>\n</html>\n";
}

std::string run_title(const RunResult& r) { return r.scenario_title.empty() ? r.scenario : r.scenario_title; }

std::string banner(const RunResult& r, std::string_view prefix = {}) {
  const std::size_t met = met_count(r), total = r.expectations.size();
  if (met == total)
    return fmt::format("<div class=\"banner pass\">{}PASS: every expectation was met ({} of {})</div>", prefix, met,
                       total);
  return fmt::format("<div class=\"banner fail\">{}FAIL: {} of {} expectations met, {} not met</div>", prefix, met,
                     total, total - met);
}

std::string policy_text(const RunResult& r) {
  if (r.policy_version.empty()) return html(r.policy_name);
  return fmt::format("{} <span class=\"muted\">version <code>{}</code></span>", html(r.policy_name),
                     html(truncate_utf8(r.policy_version, 23, "")));
}

// ---- sections -------------------------------------------------------------

void objectives_section(std::string& out, const RunResult& r, const Scenario* scenario) {
  out += "<section id=\"objectives\">\n<h2>Objectives</h2>\n";
  const std::vector<Objective> objectives = objectives_of(r, scenario);
  if (objectives.empty()) {
    out += "<p class=\"muted\">The objectives are in the scenario file; this report was made without it.</p>\n";
  } else {
    std::map<std::string, const ExpectationResult*> results;
    for (const ExpectationResult& e : r.expectations) results[e.id] = &e;
    const std::vector<Expectation> none;
    out += "<ul>\n";
    for (const Objective& objective : objectives) {
      out += fmt::format("<li><b>{}</b> {}", html(objective.id), html(objective.text));
      std::vector<std::string> served;
      for (const Expectation& e : scenario ? scenario->expectations : none) {
        if (e.objective != objective.id) continue;
        const auto found = results.find(e.id);
        const bool met = found != results.end() && found->second->met;
        served.push_back(
            fmt::format("<span class=\"{}\">{} {}</span>", met ? "" : "muted", html(e.id), met ? "met" : "not met"));
      }
      if (!served.empty())
        out += fmt::format(" <span class=\"muted\">(expectations: {})</span>", fmt::join(served, ", "));
      out += "</li>\n";
    }
    out += "</ul>\n";
  }
  out += "</section>\n";
}

void expectations_section(std::string& out, const RunResult& r, const Scenario* scenario) {
  out += "<section id=\"expectations\">\n<h2>Expectations</h2>\n";
  if (r.expectations.empty()) {
    out += "<p class=\"muted\">The scenario sets no expectations.</p>\n</section>\n";
    return;
  }
  std::map<std::string, std::string> objective_of;
  if (scenario)
    for (const Expectation& e : scenario->expectations) objective_of[e.id] = e.objective;
  out +=
      "<table>\n<thead><tr><th>Result</th><th>Expectation</th><th>What was expected</th><th>When</th>"
      "<th>Evidence</th></tr></thead>\n<tbody>\n";
  for (const ExpectationResult& e : r.expectations) {
    std::string objective;
    if (auto it = objective_of.find(e.id); it != objective_of.end() && !it->second.empty())
      objective = fmt::format(" <span class=\"muted\">(objective {})</span>", html(it->second));
    out +=
        fmt::format("<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>\n",
                    e.met ? "met" : "unmet", e.met ? "Met" : "Not met", html(e.id), html(e.description), objective,
                    e.when ? time_cell(r, *e.when) : std::string("<span class=\"muted\">-</span>"), html(e.evidence));
  }
  out += "</tbody>\n</table>\n";
  if (!r.contingencies_fired.empty()) {
    out += fmt::format("<p><b>Contingency injects that fired</b> because an expectation was not met: {}.</p>\n",
                       html(fmt::format("{}", fmt::join(r.contingencies_fired, ", "))));
  }
  out += "</section>\n";
}

void injects_section(std::string& out, const RunResult& r, const Scenario* scenario) {
  if (!scenario || scenario->injects.empty()) return;
  out +=
      "<section id=\"injects\">\n<h2>The scenario's injects</h2>\n<details>\n<summary>"
      "The master scenario events list: what each inject was for</summary>\n<table>\n<thead><tr><th>Inject</th>"
      "<th>When</th><th>From</th><th>Synopsis</th><th>Expected action</th><th>Objective</th></tr></thead>\n<tbody>\n";
  for (const Inject& inject : scenario->injects) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", html(inject.id),
                       time_cell(r, inject.at), html(inject.from), html(inject.synopsis), html(inject.expected_action),
                       html(inject.objective));
  }
  out += "</tbody>\n</table>\n</details>\n</section>\n";
}

void portions_html(std::string& out, const RunResult& r, const std::vector<Portion>& released,
                   const std::vector<WithheldPortion>& withheld) {
  for (const Portion& p : released) {
    out += fmt::format(
        "<div class=\"portion\">{} <span class=\"muted\">portion {}</span><div class=\"body\">{}</div></div>\n",
        marking_badge(r, p.label), html(p.id), html(p.body));
  }
  for (const WithheldPortion& w : withheld) {
    out += fmt::format(
        "<div class=\"portion withheld\">{} <span class=\"muted\">portion {}</span> <b>withheld</b>"
        "<div class=\"withheld-note\">Reason: {}{}</div></div>\n",
        marking_badge(r, w.label), html(w.portion_id), html(w.reason.empty() ? "not given" : w.reason),
        w.rule_ids.empty() ? std::string()
                           : fmt::format(" (rule {})", html(fmt::format("{}", fmt::join(w.rule_ids, ", ")))));
  }
}

// What one node saw and did, in time order.
void node_card(std::string& out, const RunResult& r, const std::string& node) {
  using K = TimelineEntry::Kind;
  std::set<std::string> delivered_messages;
  for (const TimelineEntry& e : r.timeline)
    if (e.kind == K::delivered && e.node == node) delivered_messages.insert(e.message_id);

  // A receipt's decision carries no title: the message's other entries do.
  std::map<std::string, std::string> titles;
  for (const TimelineEntry& e : r.timeline)
    if (!e.title.empty() && !e.message_id.empty()) titles.emplace(e.message_id, e.title);

  std::string items;
  int received = 0, redacted = 0, denied = 0, held = 0, withheld_count = 0;
  for (const TimelineEntry& e : r.timeline) {
    if (e.node != node) continue;
    const std::string when = time_cell(r, e.at);
    const std::string id = html(inject_key(e));
    std::string title_text = e.title;
    if (title_text.empty() && !e.message_id.empty())
      if (auto it = titles.find(e.message_id); it != titles.end()) title_text = it->second;
    const std::string title = title_text.empty() ? std::string() : fmt::format(" &ldquo;{}&rdquo;", html(title_text));
    switch (e.kind) {
      case K::delivered: {
        ++received;
        if (e.decision == Decision::release_redacted) ++redacted;
        withheld_count += static_cast<int>(e.withheld.size());
        items += fmt::format("<li class=\"k-{}\">{} Received <b>{}</b>{} from {} {}\n", decision_class(e.decision),
                             when, id, title, html(e.from), decision_badge(e.decision));
        portions_html(items, r, e.released, e.withheld);
        items += "</li>\n";
        break;
      }
      case K::decision:
        if (e.decision == Decision::deny) {
          ++denied;
          items += fmt::format("<li class=\"k-deny\">{} Not sent <b>{}</b>{} from {} {}<div>Reason: {}</div></li>\n",
                               when, id, title, html(e.from), decision_badge(e.decision), html(e.reason));
        } else if (e.decision == Decision::hold) {
          ++held;
          items +=
              fmt::format("<li class=\"k-hold\">{} <b>{}</b>{} from {} {} waiting for {}<div>Reason: {}</div></li>\n",
                          when, id, title, html(e.from), decision_badge(e.decision),
                          html(e.held_for.empty() ? "review" : e.held_for), html(e.reason));
        } else if (!delivered_messages.count(e.message_id)) {
          items += fmt::format("<li class=\"k-{}\">{} <b>{}</b>{} from {} {}, not delivered before the end</li>\n",
                               decision_class(e.decision), when, id, title, html(e.from), decision_badge(e.decision));
        }
        break;
      case K::inject:
      case K::response:
      case K::contingency: {
        const char* what = e.kind == K::inject ? "Sent inject" : e.kind == K::response ? "Responded" : "Contingency";
        items += fmt::format("<li class=\"k-sent\">{} {} <b>{}</b>{}", when, what, id, title);
        const std::string synopsis = synopsis_of(e);
        if (!synopsis.empty() && synopsis != e.title)
          items += fmt::format("<div class=\"muted\">{}</div>", html(synopsis));
        if (!e.released.empty()) {  // what was sent: markings only, the bodies are shown where they arrived
          items += "<div>";
          for (const Portion& p : e.released) items += marking_badge(r, p.label) + " ";
          items += "</div>";
        }
        items += "</li>\n";
        break;
      }
      case K::review_request:
        // A reviewer reads the product before release: that too is knowing it.
        items += fmt::format("<li class=\"k-review\">{} Asked to review <b>{}</b>{} from {}\n", when, id, title,
                             html(e.from));
        portions_html(items, r, e.released, e.withheld);
        items += "</li>\n";
        break;
      case K::review:
        items += fmt::format("<li class=\"k-review\">{} Answered the review of <b>{}</b>: {}</li>\n", when, id,
                             html(e.detail.empty() ? "answered" : e.detail));
        break;
      case K::event:
        items += fmt::format("<li>{} Event <b>{}</b></li>\n", when, html(e.detail.empty() ? e.title : e.detail));
        break;
      case K::error:
        items += fmt::format("<li class=\"k-deny\">{} Gateway error: {}</li>\n", when, html(e.detail));
        break;
      case K::human:
        items += fmt::format("<li class=\"k-human\">{} The person at this seat {}</li>\n", when,
                             html(action_summary(action_of(r, e), e)));
        break;
      case K::media:
        items += fmt::format("<li>{} Media: {}</li>\n", when, html(e.detail));
        break;
    }
  }
  std::string summary = fmt::format("received {} message{}", received, received == 1 ? "" : "s");
  if (redacted) summary += fmt::format(", {} with redactions", redacted);
  if (withheld_count) summary += fmt::format(", {} portion{} withheld", withheld_count, withheld_count == 1 ? "" : "s");
  if (denied) summary += fmt::format(", {} denied", denied);
  if (held) summary += fmt::format(", {} held", held);
  out += fmt::format(
      "<div class=\"node\" data-node=\"{}\"><details open><summary>{} <span class=\"muted\">{}</span>"
      "</summary>\n<ol>\n{}</ol>\n",
      html(node), html(node), html(summary), items);
  if (items.empty()) out += "<p class=\"muted\">Nothing reached or came from this node during the exercise.</p>\n";
  out += "</details></div>\n";
}

void who_knew_section(std::string& out, const RunResult& r) {
  out +=
      "<section id=\"who-knew\">\n<h2>Who knew what, and when</h2>\n"
      "<p>Each node's view of the exercise: what it received, when, and in which version. Withheld portions "
      "show only their marking and why they were withheld.</p>\n<div class=\"nodes\">\n";
  for (const std::string& node : all_nodes(r)) node_card(out, r, node);
  out += "</div>\n</section>\n";
}

// ---- the swimlane diagram -------------------------------------------------

constexpr int kTimeColumn = 80;
constexpr int kLaneWidth = 150;
constexpr int kHeaderHeight = 56;
constexpr int kRowHeight = 26;
constexpr std::size_t kMaxLanes = 80;
constexpr std::size_t kMaxRows = 2000;
constexpr std::size_t kRepeatLaneNamesEvery = 25;
constexpr int kRepeatedNamesHeight = 16;

struct SvgColour {
  std::string_view name;
  std::string_view value;
};
constexpr SvgColour kColours[] = {{"release", "#2e7d32"}, {"redacted", "#b26a00"}, {"hold", "#1565c0"},
                                  {"deny", "#c62828"},    {"inject", "#424242"},   {"review", "#6a1b9a"},
                                  {"event", "#757575"},   {"human", "#00838f"}};

std::string_view colour(std::string_view name) {
  for (const auto& c : kColours)
    if (c.name == name) return c.value;
  return "#000";
}

// A lane header: the node id, on two lines when long.
std::string lane_label(int x, const std::string& name) {
  std::string first = name, second;
  if (name.size() > 20) {
    // Break after a hyphen near the middle, keeping the hyphen on the first line.
    std::size_t split = name.rfind('-', name.size() / 2 + 4);
    split = split == std::string::npos || split < 4 ? name.size() / 2 : split + 1;
    first = name.substr(0, split);
    second = name.substr(split);
  }
  std::string out = fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"700\">{}</text>", x,
                                second.empty() ? 34 : 26, html(truncate_utf8(first, 24)));
  if (!second.empty())
    out += fmt::format("<text x=\"{}\" y=\"42\" text-anchor=\"middle\" font-weight=\"700\">{}</text>", x,
                       html(truncate_utf8(second, 24)));
  return out;
}

std::string swimlane_svg(const RunResult& r, std::string_view id_prefix) {
  using K = TimelineEntry::Kind;
  std::vector<std::string> lanes = all_nodes(r);
  std::string notice;
  if (lanes.size() > kMaxLanes) {
    notice += fmt::format("<p class=\"muted\">The diagram shows the first {} of {} nodes; the tables list all.</p>\n",
                          kMaxLanes, lanes.size());
    lanes.resize(kMaxLanes);
  }
  std::map<std::string, int> lane_x;
  const int gateway_x = kTimeColumn + kLaneWidth / 2;
  for (std::size_t i = 0; i < lanes.size(); ++i)
    lane_x[lanes[i]] = kTimeColumn + kLaneWidth * static_cast<int>(i + 1) + kLaneWidth / 2;

  // One row per drawn entry.
  struct Row {
    const TimelineEntry* entry;
    std::string style;  // colour name
  };
  std::vector<Row> rows;
  for (const TimelineEntry& e : r.timeline) {
    switch (e.kind) {
      case K::inject:
      case K::response:
      case K::contingency:
        if (lane_x.count(e.node)) rows.push_back({&e, "inject"});
        break;
      case K::delivered:
        if (lane_x.count(e.node)) rows.push_back({&e, std::string(decision_class(e.decision))});
        break;
      case K::decision:
        if ((e.decision == Decision::deny || e.decision == Decision::hold) && lane_x.count(e.node))
          rows.push_back({&e, std::string(decision_class(e.decision))});
        break;
      case K::review_request:
      case K::review:
        if (lane_x.count(e.node)) rows.push_back({&e, "review"});
        break;
      case K::event:
        rows.push_back({&e, "event"});
        break;
      case K::error:
        if (lane_x.count(e.node)) rows.push_back({&e, "deny"});
        break;
      case K::human:
        if (lane_x.count(e.node)) rows.push_back({&e, "human"});
        break;
      case K::media:
        rows.push_back({&e, "event"});
        break;
    }
  }
  if (rows.size() > kMaxRows) {
    notice += fmt::format("<p class=\"muted\">The diagram shows the first {} of {} steps; the tables list all.</p>\n",
                          kMaxRows, rows.size());
    rows.resize(kMaxRows);
  }

  const int width = kTimeColumn + kLaneWidth * static_cast<int>(lanes.size() + 1) + 10;
  // Rows, with room every kRepeatLaneNamesEvery rows for the lane names again.
  auto row_y = [](std::size_t i) {
    return kHeaderHeight + kRowHeight * static_cast<int>(i) + 16 +
           kRepeatedNamesHeight * static_cast<int>(i / kRepeatLaneNamesEvery);
  };
  const int height = (rows.empty() ? kHeaderHeight : row_y(rows.size() - 1)) + 30;
  std::string svg = fmt::format(
      "<svg class=\"swimlane\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"Message sequence of {}\" font-family=\"system-ui,Arial,sans-serif\" font-size=\"12\">\n<defs>\n",
      width, height, width, height, html(run_title(r)));
  for (const auto& c : kColours) {
    svg += fmt::format(
        "<marker id=\"{}-{}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" "
        "markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{}\"/></marker>\n",
        id_prefix, c.name, c.value);
  }
  svg += "</defs>\n";

  const int bottom = height - 10;
  auto lane = [&](const std::string& node, int x, bool gateway) {
    svg += fmt::format(
        "<g class=\"lane\" data-node=\"{}\"><rect x=\"{}\" y=\"4\" width=\"{}\" height=\"{}\" rx=\"5\" "
        "fill=\"{}\" stroke=\"#ccc\"/>{}<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#bbb\" "
        "stroke-dasharray=\"4 4\"/></g>\n",
        html(node), x - kLaneWidth / 2 + 6, kLaneWidth - 12, kHeaderHeight - 14, gateway ? "#e8eaf6" : "#f5f5f5",
        lane_label(x, node), x, kHeaderHeight - 10, x, bottom);
  };
  lane("gateway", gateway_x, true);
  for (const std::string& node : lanes) lane(node, lane_x[node], false);

  std::string last_time;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const TimelineEntry& e = *rows[i].entry;
    const int y = row_y(i);
    // On a long diagram the lane names scroll away: repeat them, faintly.
    if (i > 0 && i % kRepeatLaneNamesEvery == 0) {
      svg +=
          "<g class=\"lane-names\" fill=\"#999\" font-size=\"10\" stroke=\"#fff\" stroke-width=\"3\" "
          "paint-order=\"stroke\">";
      svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">gateway</text>", gateway_x, y - 18);
      for (const std::string& node : lanes)
        svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", lane_x[node], y - 18,
                           html(truncate_utf8(node, 24)));
      svg += "</g>\n";
    }
    const std::string when = scenario_time_text(e.at);
    if (when != last_time) {
      svg += fmt::format("<text x=\"6\" y=\"{}\" fill=\"#555\">{}</text>\n", y + 4, html(when));
      last_time = when;
    }
    const std::string_view stroke = colour(rows[i].style);
    const std::string id = inject_key(e);
    std::string tooltip = fmt::format("{} {} {}", when, kind_name(e.kind), id);
    if (!e.title.empty()) tooltip += ": " + e.title;
    if (e.kind == K::delivered || e.kind == K::decision) tooltip += fmt::format(" ({})", to_string(e.decision));
    if (!e.reason.empty()) tooltip += " - " + e.reason;

    if (e.kind == K::event || e.kind == K::media) {
      const std::string what = e.kind == K::media ? "media" : "event";
      svg += fmt::format(
          "<g class=\"msg event\"><title>{}</title><line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" "
          "stroke=\"{}\" stroke-dasharray=\"2 3\"/><text x=\"{}\" y=\"{}\" fill=\"{}\" "
          "font-style=\"italic\">{}: {}</text></g>\n",
          html(tooltip), kTimeColumn, y, width - 10, y, stroke, gateway_x + 8, y - 4, stroke, what,
          html(truncate_utf8(e.detail.empty() ? e.title : e.detail, 60)));
      continue;
    }
    const int node_x = lane_x[e.node];
    const bool towards_gateway = e.kind == K::inject || e.kind == K::response || e.kind == K::contingency ||
                                 e.kind == K::review || e.kind == K::human;
    const int x1 = towards_gateway ? node_x : gateway_x;
    const int x2 = towards_gateway ? gateway_x : node_x;
    const bool dashed = e.kind == K::review_request || e.kind == K::error || e.decision == Decision::hold ||
                        (e.kind == K::decision && e.decision == Decision::deny);
    const bool cross = e.kind == K::error || (e.kind == K::decision && e.decision == Decision::deny);
    std::string label = id;
    switch (e.kind) {
      case K::delivered:
        label += e.decision == Decision::release_redacted ? " redacted" : " released";
        break;
      case K::decision:
        label += e.decision == Decision::deny ? " denied" : " held";
        break;
      case K::review_request:
        label += " review?";
        break;
      case K::review:
        label += " " + (e.detail.empty() ? std::string("reviewed") : e.detail.substr(0, e.detail.find(' ')));
        break;
      case K::contingency:
        label += " contingency";
        break;
      case K::error:
        label = "error";
        break;
      case K::human:
        label = action_summary(action_of(r, e), e);
        break;
      default:
        break;
    }
    const int shorten = cross ? 0 : (x2 > x1 ? -2 : 2);
    svg += fmt::format("<g class=\"msg {}\" data-node=\"{}\"><title>{}</title>", rows[i].style, html(e.node),
                       html(tooltip));
    svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"{}{}/>", x1, y,
                       x2 + shorten, y, stroke, dashed ? " stroke-dasharray=\"6 4\"" : "",
                       cross ? "" : fmt::format(" marker-end=\"url(#{}-{})\"", id_prefix, rows[i].style));
    if (cross) {
      svg += fmt::format("<path d=\"M{},{} l10,10 M{},{} l10,-10\" stroke=\"{}\" stroke-width=\"2.5\"/>", x2 - 5, y - 5,
                         x2 - 5, y + 5, stroke);
    }
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"3\" "
        "paint-order=\"stroke\">{}</text></g>\n",
        (x1 + x2) / 2, y - 4, stroke, html(truncate_utf8(label, 28)));
  }
  svg += "</svg>\n";
  return notice + svg;
}

void sequence_section(std::string& out, const RunResult& r, std::string_view id_prefix, std::string_view heading) {
  out += fmt::format("<section id=\"{}-sequence\">\n<h2>{}</h2>\n", id_prefix, heading);
  out +=
      "<p class=\"legend\">Time runs down the page; the gateway is on the left. "
      "<span><i style=\"background:#424242\"></i>sent to the gateway</span>"
      "<span><i style=\"background:#2e7d32\"></i>released</span>"
      "<span><i style=\"background:#b26a00\"></i>released with redactions</span>"
      "<span><i style=\"background:#1565c0\"></i>held</span>"
      "<span><i style=\"background:#c62828\"></i>denied</span>"
      "<span><i style=\"background:#6a1b9a\"></i>review</span>"
      "<span><i style=\"background:#00838f\"></i>a person acted</span>"
      "Hover an arrow for details.</p>\n<div class=\"diagram\">\n";
  out += swimlane_svg(r, id_prefix);
  out += "</div>\n</section>\n";
}

void decision_table(std::string& out, const RunResult& r) {
  const std::vector<DecisionRow> rows = decision_rows(r);
  if (rows.empty()) {
    out += "<p class=\"muted\">The gateway made no decisions.</p>\n";
    return;
  }
  out +=
      "<table class=\"decisions\">\n<thead><tr><th>When</th><th>Inject</th><th>From</th><th>To</th>"
      "<th>Decision</th><th>Released</th><th>Withheld, and why</th><th>Rules</th><th>Reason</th></tr></thead>\n"
      "<tbody>\n";
  for (const DecisionRow& row : rows) {
    std::string released;
    for (const Portion& p : row.released) released += marking_badge(r, p.label) + " ";
    if (released.empty()) {
      released = row.decision == Decision::release || row.decision == Decision::release_redacted
                     ? "<span class=\"muted\">not delivered</span>"
                 : row.decision == Decision::hold ? "<span class=\"muted\">nothing yet</span>"
                                                  : "<span class=\"muted\">nothing</span>";
    }
    std::string withheld;
    for (const WithheldPortion& w : row.withheld)
      withheld += fmt::format("<div>{} {}</div>", marking_badge(r, w.label), html(w.reason));
    std::string decision = decision_badge(row.decision);
    if (row.decision == Decision::hold && !row.held_for.empty())
      decision += fmt::format("<div class=\"muted\">waiting for {}</div>", html(row.held_for));
    out += fmt::format(
        "<tr class=\"row-{}\"><td>{}</td><td><b>{}</b>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td class=\"reason\">{}</td></tr>\n",
        decision_class(row.decision), time_cell(r, row.at), html(row.inject),
        row.title.empty() || row.title == row.inject ? std::string()
                                                     : fmt::format("<div class=\"muted\">{}</div>", html(row.title)),
        html(row.from), html(row.node), decision, released, withheld, rules_text(row.rules), html(row.reason));
  }
  out += "</tbody>\n</table>\n";
}

void decisions_section(std::string& out, const RunResult& r) {
  out +=
      "<section id=\"decisions\">\n<h2>Decisions and why</h2>\n"
      "<p>Every decision the gateway made, for every recipient, with the rules that made it.</p>\n";
  decision_table(out, r);
  out += "</section>\n";
}

void log_section(std::string& out, const RunResult& r) {
  out += "<section id=\"log\">\n<h2>Everything that happened</h2>\n<details>\n<summary>The full timeline (" +
         std::to_string(r.timeline.size()) +
         " entries)</summary>\n<table>\n<thead><tr><th>When</th><th>What</th>"
         "<th>Node</th><th>From</th><th>Inject</th><th>Title</th><th>Detail</th></tr></thead>\n<tbody>\n";
  for (const TimelineEntry& e : r.timeline) {
    std::string what(kind_name(e.kind));
    if (e.kind == TimelineEntry::Kind::delivered || e.kind == TimelineEntry::Kind::decision)
      what += " " + decision_badge(e.decision);
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                       time_cell(r, e.at), what, html(e.node), html(e.from), html(e.inject), html(e.title),
                       html(!e.detail.empty() ? e.detail : e.reason));
  }
  out += "</tbody>\n</table>\n</details>\n</section>\n";
}

void facts(std::string& out, const RunResult& r) {
  out += "<dl class=\"facts\">\n";
  out += fmt::format("<dt>Scenario</dt><dd>{} <span class=\"muted\">({})</span></dd>\n", html(run_title(r)),
                     html(r.scenario));
  out += fmt::format("<dt>Policy</dt><dd>{}</dd>\n", policy_text(r));
  if (!r.policy_file.empty()) out += fmt::format("<dt>Policy file</dt><dd><code>{}</code></dd>\n", html(r.policy_file));
  out += fmt::format("<dt>T+0</dt><dd>{}</dd>\n", html(clock_text(r.t0_unix_ms)));
  out += fmt::format("<dt>Scenario time</dt><dd>{} to {}</dd>\n", html(scenario_time_text(r.start)),
                     html(scenario_time_text(r.end)));
  if (!r.table.empty()) out += fmt::format("<dt>Table</dt><dd>{}</dd>\n", html(r.table));
  if (!r.played.empty())
    out += fmt::format("<dt>Played by people</dt><dd>{}</dd>\n", html(fmt::format("{}", fmt::join(r.played, ", "))));
  out += fmt::format("<dt>Nodes</dt><dd>{}</dd>\n", all_nodes(r).size());
  out += fmt::format("<dt>Expectations met</dt><dd>{} of {}</dd>\n", met_count(r), r.expectations.size());
  out += fmt::format("<dt>Messages delivered</dt><dd>{}</dd>\n", r.frames_delivered);
  out += "</dl>\n";
}

}  // namespace

std::string to_html(const RunResult& r, const Scenario* scenario) {
  std::string out;
  out.reserve(64 * 1024);
  page_start(out, "After-action report: " + run_title(r));
  out += fmt::format("<header>\n<h1>After-action report: {}</h1>\n", html(run_title(r)));
  out += banner(r);
  facts(out, r);
  out +=
      "<nav class=\"controls\"><a href=\"#objectives\">Objectives</a><a href=\"#expectations\">Expectations</a>";
  out += people_links(r.ratings.size() + r.observations.size(), r.human_actions.size(), detail::has_response_times(r),
                      r.media.size(), r.improvement_plan.size());
  out +=
      "<a href=\"#who-knew\">Who knew what, and when</a><a href=\"#run-sequence\">Message sequence</a>"
      "<a href=\"#decisions\">Decisions and why</a><a href=\"#log\">Everything that happened</a>"
      "<button type=\"button\" onclick=\"setAll(true)\">Open all</button>"
      "<button type=\"button\" onclick=\"setAll(false)\">Close all</button></nav>\n</header>\n<main>\n";
  objectives_section(out, r, scenario);
  expectations_section(out, r, scenario);
  evaluation_section(out, r, scenario);
  human_actions_section(out, r);
  response_times_section(out, r);
  media_section(out, r);
  improvement_plan_section(out, r, scenario);
  injects_section(out, r, scenario);
  who_knew_section(out, r);
  sequence_section(out, r, "run", "Message sequence");
  decisions_section(out, r);
  log_section(out, r);
  out += "</main>\n";
  page_end(out);
  return out;
}

// ---- comparison -------------------------------------------------------------

namespace {

// Column headings: the policy names, told apart when they are the same.
std::pair<std::string, std::string> policy_headings(const Comparison& c) {
  std::string a = c.first.policy_name.empty() ? "first policy" : c.first.policy_name;
  std::string b = c.second.policy_name.empty() ? "second policy" : c.second.policy_name;
  if (a == b && !c.first.table.empty() && !c.second.table.empty() && c.first.table != c.second.table)
    return {c.first.table, c.second.table};  // two tables played under one policy
  if (a == b) {
    a += " (first run)";
    b += " (second run)";
  }
  return {a, b};
}

std::string knowledge_cell(const RunResult& r, const Knowledge* k) {
  if (!k) return "<span class=\"muted\">never learnt</span>";
  std::string cell = fmt::format("{} {}", time_cell(r, k->first_at), decision_badge(k->decision));
  if (!k->released_labels.empty())
    cell += fmt::format("<div>got: {}</div>", html(fmt::format("{}", fmt::join(k->released_labels, ", "))));
  if (!k->withheld_labels.empty())
    cell += fmt::format("<div class=\"muted\">withheld: {}</div>",
                        html(fmt::format("{}", fmt::join(k->withheld_labels, ", "))));
  return cell;
}

std::string duration_words(std::int64_t ms) { return duration_text(Offset{ms}); }

std::string knowledge_difference(const Knowledge* a, const Knowledge* b, const std::string& name_a,
                                 const std::string& name_b) {
  if (!a && !b) return "";
  if (!a) return "only under " + name_b;
  if (!b) return "only under " + name_a;
  std::vector<std::string> parts;
  if (a->first_at < b->first_at)
    parts.push_back(fmt::format("{} earlier under {}", duration_words((b->first_at - a->first_at).count()), name_a));
  else if (b->first_at < a->first_at)
    parts.push_back(fmt::format("{} earlier under {}", duration_words((a->first_at - b->first_at).count()), name_b));
  if (a->decision != b->decision || a->released_labels != b->released_labels) parts.push_back("a different version");
  return fmt::format("{}", fmt::join(parts, "; "));
}

std::map<std::string, std::string> inject_titles(const RunResult& r) {
  std::map<std::string, std::string> titles;
  for (const TimelineEntry& e : r.timeline)
    if (!e.title.empty()) titles.emplace(inject_key(e), e.title);
  return titles;
}

// The injects, responses and contingencies a run sent.
std::set<std::string> sent_injects(const RunResult& r) {
  using K = TimelineEntry::Kind;
  std::set<std::string> sent;
  for (const TimelineEntry& e : r.timeline)
    if (e.kind == K::inject || e.kind == K::response || e.kind == K::contingency) sent.insert(inject_key(e));
  return sent;
}

// What the gateway refused in a run (a Submit answered with an Error), by inject:
// "CODE: text". A refused message has no decisions, so without this a
// comparison could only say it was "not addressed" to its recipients.
std::map<std::string, std::string> refusals(const RunResult& r) {
  std::map<std::string, std::string> refused;
  for (const TimelineEntry& e : r.timeline)
    if (e.kind == TimelineEntry::Kind::error && !e.message_id.empty()) refused.emplace(inject_key(e), e.detail);
  return refused;
}

std::string rows_cell(const RunResult& r, const std::vector<DecisionRow>& rows, const std::set<std::string>& sent,
                      const std::map<std::string, std::string>& refused, const std::string& inject) {
  if (rows.empty()) {
    if (const auto it = refused.find(inject); it != refused.end())
      return fmt::format("{}<div class=\"reason\">refused by the gateway: {}</div>", decision_badge(Decision::deny),
                         html(it->second));
    return sent.count(inject) ? "<span class=\"muted\">not addressed to this recipient</span>"
                              : "<span class=\"muted\">never sent in this run</span>";
  }
  std::string cell;
  for (const DecisionRow& row : rows) {
    cell += fmt::format("<div>{} {}", time_cell(r, row.at), decision_badge(row.decision));
    if (!row.released.empty()) cell += fmt::format(" {}", html(portion_labels(row.released)));
    if (!row.reason.empty()) cell += fmt::format("<div class=\"muted\">{}</div>", html(row.reason));
    if (!row.rules.empty()) cell += fmt::format("<div>{}</div>", rules_text(row.rules));
    cell += "</div>";
  }
  return cell;
}

// What each node learnt of each inject under the two policies.
struct ComparedKnowledge {
  ComparedKnowledge(const RunResult& a, const RunResult& b) : first(knowledge_of(a)), second(knowledge_of(b)) {
    titles = inject_titles(a);
    for (auto& [key, title] : inject_titles(b)) titles.emplace(key, title);
  }
  std::vector<Knowledge> first, second;
  std::map<std::string, std::string> titles;
};

// One node's card: each inject it learnt of under either policy, side by side.
void knowledge_details(std::string& out, const Comparison& c, const ComparedKnowledge& knowledge,
                       const std::string& node, const std::string& name_a, const std::string& name_b) {
  const auto& titles = knowledge.titles;
  std::vector<std::string> injects;
  std::map<std::string, const Knowledge*> by_a, by_b;
  std::map<std::string, Offset> first_seen;
  for (const Knowledge& k : knowledge.first)
    if (k.node == node) {
      by_a.emplace(k.inject, &k);
      auto [it, fresh] = first_seen.emplace(k.inject, k.first_at);
      if (!fresh) it->second = std::min(it->second, k.first_at);
    }
  for (const Knowledge& k : knowledge.second)
    if (k.node == node) {
      by_b.emplace(k.inject, &k);
      auto [it, fresh] = first_seen.emplace(k.inject, k.first_at);
      if (!fresh) it->second = std::min(it->second, k.first_at);
    }
  for (const auto& [inject, at] : first_seen) injects.push_back(inject);
  std::stable_sort(injects.begin(), injects.end(),
                   [&](const std::string& x, const std::string& y) { return first_seen[x] < first_seen[y]; });
  int differing = 0;
  std::string rows;
  for (const std::string& inject : injects) {
    const Knowledge* x = by_a.count(inject) ? by_a[inject] : nullptr;
    const Knowledge* y = by_b.count(inject) ? by_b[inject] : nullptr;
    const std::string difference = knowledge_difference(x, y, name_a, name_b);
    if (!difference.empty()) ++differing;
    const auto title = titles.find(inject);
    rows += fmt::format(
        "<tr><td><b>{}</b>{}</td><td class=\"{}\">{}</td><td class=\"{}\">{}</td><td>{}</td></tr>\n", html(inject),
        title == titles.end() || title->second == inject
            ? std::string()
            : fmt::format("<div class=\"muted\">{}</div>", html(title->second)),
        difference.empty() ? "" : "changed", knowledge_cell(c.first, x), difference.empty() ? "" : "changed",
        knowledge_cell(c.second, y), difference.empty() ? "<span class=\"muted\">same</span>" : html(difference));
  }
  out += fmt::format(
      "<details class=\"node\" data-node=\"{}\" open><summary>{} <span class=\"muted\">{} "
      "inject{} learnt, {} different</span></summary>\n",
      html(node), html(node), injects.size(), injects.size() == 1 ? "" : "s", differing);
  if (injects.empty()) {
    out += "<p class=\"muted\">Learnt nothing under either policy.</p>\n";
  } else {
    out += fmt::format(
        "<table class=\"diff\">\n<thead><tr><th>Inject</th><th>Under {}</th><th>Under {}</th>"
        "<th>Difference</th></tr></thead>\n<tbody>\n{}</tbody>\n</table>\n",
        html(name_a), html(name_b), rows);
  }
  out += "</details>\n";
}

}  // namespace

std::string to_html(const Comparison& c, const Scenario* scenario) {
  const RunResult& a = c.first;
  const RunResult& b = c.second;
  const auto [name_a, name_b] = policy_headings(c);
  std::string out;
  out.reserve(128 * 1024);
  page_start(out, "Policy comparison: " + run_title(a));
  out += fmt::format("<header>\n<h1>Policy comparison: {}</h1>\n", html(run_title(a)));
  if (a.played.empty() && b.played.empty())
    out += fmt::format("<p>The same scenario run under two policies: <b>{}</b> and <b>{}</b>.</p>\n", html(name_a),
                       html(name_b));
  else if (a.policy_name == b.policy_name)
    out += fmt::format("<p>The same scenario played at two tables, <b>{}</b> and <b>{}</b>, under one policy: {}.</p>\n",
                       html(name_a), html(name_b), policy_text(a));
  else
    out += fmt::format("<p>The same scenario played at two tables under two policies: <b>{}</b> and <b>{}</b>.</p>\n",
                       html(name_a), html(name_b));
  out += "<div class=\"banners\">\n";
  out += banner(a, html(name_a) + ": ");
  out += banner(b, html(name_b) + ": ");
  out += "</div>\n<div class=\"banners\"><div>";
  facts(out, a);
  out += "</div><div>";
  facts(out, b);
  out +=
      "</div></div>\n<nav class=\"controls\"><a href=\"#objectives\">Objectives</a>"
      "<a href=\"#expectations\">Expectations</a>";
  if (!detail::played_seats(c).empty()) out += "<a href=\"#seats\">What each player saw</a>";
  out += people_links(a.ratings.size() + a.observations.size() + b.ratings.size() + b.observations.size(),
                      a.human_actions.size() + b.human_actions.size(),
                      detail::has_response_times(a) || detail::has_response_times(b), 0,
                      a.improvement_plan.size() + b.improvement_plan.size());
  out +=
      "<a href=\"#who-knew\">Who knew what, and when</a>"
      "<a href=\"#differences\">Decisions that differ</a>"
      "<button type=\"button\" onclick=\"setAll(true)\">Open all</button>"
      "<button type=\"button\" onclick=\"setAll(false)\">Close all</button></nav>\n</header>\n<main>\n";

  std::vector<Objective> objectives = objectives_of(a, scenario);
  for (const Objective& objective : objectives_of(b, nullptr))
    if (std::none_of(objectives.begin(), objectives.end(), [&](const Objective& o) { return o.id == objective.id; }))
      objectives.push_back(objective);
  if (!objectives.empty()) {
    out += "<section id=\"objectives\">\n<h2>Objectives</h2>\n<ul>\n";
    for (const Objective& objective : objectives)
      out += fmt::format("<li><b>{}</b> {}</li>\n", html(objective.id), html(objective.text));
    out += "</ul>\n</section>\n";
  }

  // Expectations under each policy, in the first run's order.
  out += fmt::format(
      "<section id=\"expectations\">\n<h2>Expectations</h2>\n<table class=\"diff\">\n<thead><tr>"
      "<th>Expectation</th><th>What was expected</th><th>Under {}</th><th>Under {}</th></tr></thead>\n"
      "<tbody>\n",
      html(name_a), html(name_b));
  {
    std::vector<std::string> ids;
    std::map<std::string, const ExpectationResult*> in_a, in_b;
    for (const ExpectationResult& e : a.expectations) {
      ids.push_back(e.id);
      in_a[e.id] = &e;
    }
    for (const ExpectationResult& e : b.expectations) {
      if (!in_a.count(e.id)) ids.push_back(e.id);
      in_b[e.id] = &e;
    }
    auto cell = [](const RunResult& r, const ExpectationResult* e) {
      if (!e) return std::string("<span class=\"muted\">not in this run</span>");
      return fmt::format("<b class=\"{}\">{}</b> {}<div class=\"muted\">{}</div>", e->met ? "met" : "unmet",
                         e->met ? "Met" : "Not met", e->when ? time_cell(r, *e->when) : std::string(),
                         html(e->evidence));
    };
    for (const std::string& id : ids) {
      const ExpectationResult* ea = in_a.count(id) ? in_a[id] : nullptr;
      const ExpectationResult* eb = in_b.count(id) ? in_b[id] : nullptr;
      const bool changed = !ea || !eb || ea->met != eb->met;
      const std::string& description = ea ? ea->description : eb->description;
      out +=
          fmt::format("<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"{}\">{}</td></tr>\n", html(id),
                      html(description), changed ? "changed" : "", cell(a, ea), changed ? "changed" : "", cell(b, eb));
    }
  }
  out += "</tbody>\n</table>\n</section>\n";

  // What the people at the played seats saw, under each policy.
  const ComparedKnowledge knowledge(a, b);
  const std::vector<std::string> seats = detail::played_seats(c);
  if (!seats.empty()) {
    out +=
        "<section id=\"seats\">\n<h2>What each player saw</h2>\n"
        "<p>For each seat people played, when it first learnt of each inject, and which version it got, under "
        "each policy.</p>\n";
    for (const std::string& node : seats) knowledge_details(out, c, knowledge, node, name_a, name_b);
    out += "</section>\n";
  }
  detail::people_comparison(out, c, scenario, name_a, name_b);

  // Who knew what, per node.
  out +=
      "<section id=\"who-knew\">\n<h2>Who knew what, and when</h2>\n"
      "<p>For each node, when it first learnt of each inject, and which version it got, under each policy.</p>\n";
  {
    std::vector<std::string> nodes = all_nodes(a);
    {
      std::set<std::string> seen(nodes.begin(), nodes.end());
      for (const std::string& n : all_nodes(b))
        if (seen.insert(n).second) nodes.push_back(n);
    }
    for (const std::string& node : nodes) knowledge_details(out, c, knowledge, node, name_a, name_b);
  }
  out += "</section>\n";

  // Decisions that differ.
  out += "<section id=\"differences\">\n<h2>Decisions that differ</h2>\n";
  const std::vector<DecisionDifference> differences = differing_decisions(c);
  const std::set<std::string> sent_a = sent_injects(a), sent_b = sent_injects(b);
  const std::map<std::string, std::string> refused_a = refusals(a), refused_b = refusals(b);
  if (differences.empty()) {
    out += "<p>Both policies made the same decisions for every recipient.</p>\n";
  } else {
    out += fmt::format(
        "<p>{} recipient{} of the same inject got a different decision or a different version.</p>\n"
        "<table class=\"diff differences\">\n<thead><tr><th>Inject</th><th>Recipient</th><th>Under {}</th>"
        "<th>Under {}</th></tr></thead>\n<tbody>\n",
        differences.size(), differences.size() == 1 ? "" : "s", html(name_a), html(name_b));
    for (const DecisionDifference& d : differences) {
      out += fmt::format(
          "<tr class=\"difference\"><td><b>{}</b>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", html(d.inject),
          d.title.empty() || d.title == d.inject ? std::string()
                                                 : fmt::format("<div class=\"muted\">{}</div>", html(d.title)),
          html(d.node), rows_cell(a, d.first, sent_a, refused_a, d.inject),
          rows_cell(b, d.second, sent_b, refused_b, d.inject));
    }
    out += "</tbody>\n</table>\n";
  }
  out += "</section>\n";

  // What the gateway refused outright, under either policy, with its reason.
  if (!refused_a.empty() || !refused_b.empty()) {
    out +=
        "<section id=\"refused\">\n<h2>Refused by the gateway</h2>\n<p>Messages the gateway refused outright, so "
        "that no recipient was decided for.</p>\n<table class=\"diff\">\n<thead><tr><th>When</th><th>Inject</th>"
        "<th>From</th><th>Under</th><th>Why</th></tr></thead>\n<tbody>\n";
    for (const auto& [run, name] : {std::pair{&a, name_a}, std::pair{&b, name_b}})
      for (const TimelineEntry& e : run->timeline)
        if (e.kind == TimelineEntry::Kind::error && !e.message_id.empty())
          out += fmt::format("<tr><td>{}</td><td><b>{}</b></td><td>{}</td><td>{}</td><td class=\"reason\">{}</td></tr>\n",
                             time_cell(*run, e.at), html(inject_key(e)), html(e.node), html(name), html(e.detail));
    out += "</tbody>\n</table>\n</section>\n";
  }

  // Each run in full, folded away.
  for (const auto& [run, name, prefix] :
       {std::tuple{&a, name_a, std::string("first")}, std::tuple{&b, name_b, std::string("second")}}) {
    out += fmt::format(
        "<section id=\"{}-run\">\n<h2>Under {}: decisions and why</h2>\n<details>\n<summary>Every "
        "decision under {}</summary>\n",
        prefix, html(name), html(name));
    decision_table(out, *run);
    out += "</details>\n</section>\n";
    out += "<details>\n<summary>Message sequence under " + html(name) + "</summary>\n";
    sequence_section(out, *run, prefix, "Message sequence under " + html(name));
    out += "</details>\n";
  }
  out += "</main>\n";
  page_end(out);
  return out;
}

}  // namespace icegate::exercise

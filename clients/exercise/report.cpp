// The after-action report's shared parts (scenario times, decision rows,
// differing decisions, knowledge) and its HTML pages' entry points. The JSON
// is report_json.cpp's, the Mermaid diagram report_mermaid.cpp's; the HTML
// pages' view models are report_view.cpp's and report_people.cpp's, their
// rendering from templates report_render.cpp's.
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

#include "clients/exercise/report_page.hpp"
#include "clients/exercise/report_text.hpp"
#include "gateway/model/clock.hpp"

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

namespace detail {

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
std::string truncate_utf8(std::string_view text, std::size_t limit, std::string_view ellipsis) {
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

}  // namespace detail

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
    for (const Portion& p : e.released) k.released_labels.push_back(label_text(p.label));
    for (const WithheldPortion& w : e.withheld) k.withheld_labels.push_back(label_text(w.label));
    knowledge.push_back(std::move(k));
  }
  return knowledge;
}

// ===========================================================================
// HTML: a view model (report_view.cpp) rendered from its template
// (report_render.cpp)
// ===========================================================================

std::string to_html(const RunResult& r, const Scenario* scenario) {
  return detail::render_run_page(detail::run_page(r, scenario));
}

std::string to_html(const Comparison& c, const Scenario* scenario) {
  return detail::render_comparison_page(detail::comparison_view(c, scenario));
}

}  // namespace icegate::exercise

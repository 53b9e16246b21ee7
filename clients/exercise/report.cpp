// The after-action report's shared parts (scenario times, decision rows,
// differing decisions, knowledge) and its HTML pages: the view model of a run
// (report_page.hpp) and the sections still built as HTML. The JSON is
// report_json.cpp's, the Mermaid diagram report_mermaid.cpp's, the rendering
// from templates report_render.cpp's.
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
#include "clients/exercise/report_page.hpp"
#include "clients/exercise/report_text.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/model/html.hpp"

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

// The head (style sheet and script) and foot of every page are templates:
// templates/head.html.mustache, templates/foot.html.mustache.
void page_start(std::string& out, const std::string& title) { out += detail::render_page_head(title); }

void page_end(std::string& out) { out += detail::render_page_foot(); }

std::string run_title(const RunResult& r) { return r.scenario_title.empty() ? r.scenario : r.scenario_title; }

detail::RunPage::Banner banner_of(const RunResult& r) {
  return {met_count(r) == r.expectations.size(), met_count(r), r.expectations.size()};
}

std::string policy_text(const RunResult& r) {
  if (r.policy_version.empty()) return html(r.policy_name);
  return fmt::format("{} <span class=\"muted\">version <code>{}</code></span>", html(r.policy_name),
                     html(truncate_utf8(r.policy_version, 23, "")));
}

// ---- the page's view model (report_page.hpp) --------------------------------

using detail::RunPage;
using detail::TimeView;

TimeView time_view(const RunResult& r, Offset at) {
  return {scenario_time_text(at), clock_text(r.t0_unix_ms + at.count())};
}

RunPage::Facts facts_of(const RunResult& r) {
  RunPage::Facts facts;
  facts.title = run_title(r);
  facts.scenario = r.scenario;
  facts.policy_name = r.policy_name;
  if (!r.policy_version.empty()) facts.policy_version = truncate_utf8(r.policy_version, 23, "");
  facts.policy_file = r.policy_file;
  facts.t0 = clock_text(r.t0_unix_ms);
  facts.start = scenario_time_text(r.start);
  facts.end = scenario_time_text(r.end);
  facts.table = r.table;
  facts.played = fmt::format("{}", fmt::join(r.played, ", "));
  facts.nodes = all_nodes(r).size();
  facts.met = met_count(r);
  facts.total = r.expectations.size();
  facts.delivered = r.frames_delivered;
  return facts;
}

// The objectives, each with the scenario's expectations that serve it.
std::vector<RunPage::Objective> objectives_view(const RunResult& r, const Scenario* scenario) {
  std::map<std::string, const ExpectationResult*> results;
  for (const ExpectationResult& e : r.expectations) results[e.id] = &e;
  std::vector<RunPage::Objective> objectives;
  for (const Objective& objective : objectives_of(r, scenario)) {
    RunPage::Objective view{objective.id, objective.text, {}};
    if (scenario) {
      for (const Expectation& e : scenario->expectations) {
        if (e.objective != objective.id) continue;
        const auto found = results.find(e.id);
        view.expectations.push_back({e.id, found != results.end() && found->second->met});
      }
    }
    objectives.push_back(std::move(view));
  }
  return objectives;
}

std::vector<RunPage::Expectation> expectations_view(const RunResult& r, const Scenario* scenario) {
  std::map<std::string, std::string> objective_of;
  if (scenario)
    for (const Expectation& e : scenario->expectations) objective_of[e.id] = e.objective;
  std::vector<RunPage::Expectation> expectations;
  for (const ExpectationResult& e : r.expectations) {
    RunPage::Expectation view{e.met, e.id, e.description, {}, e.evidence, {}};
    if (auto it = objective_of.find(e.id); it != objective_of.end()) view.objective = it->second;
    if (e.when) view.when = time_view(r, *e.when);
    expectations.push_back(std::move(view));
  }
  return expectations;
}

std::vector<RunPage::Inject> injects_view(const RunResult& r, const Scenario* scenario) {
  std::vector<RunPage::Inject> injects;
  if (!scenario) return injects;
  for (const Inject& inject : scenario->injects) {
    injects.push_back({inject.id, time_view(r, inject.at), inject.from, inject.synopsis, inject.expected_action,
                       inject.objective});
  }
  return injects;
}

std::vector<RunPage::LogEntry> log_view(const RunResult& r) {
  std::vector<RunPage::LogEntry> log;
  for (const TimelineEntry& e : r.timeline) {
    RunPage::LogEntry entry{time_view(r, e.at), std::string(kind_name(e.kind)), {}, e.node, e.from, e.inject,
                            e.title, !e.detail.empty() ? e.detail : e.reason};
    if (e.kind == TimelineEntry::Kind::delivered || e.kind == TimelineEntry::Kind::decision)
      entry.decision = detail::DecisionView{std::string(decision_class(e.decision)),
                                            std::string(decision_words(e.decision))};
    log.push_back(std::move(entry));
  }
  return log;
}

// ---- sections still built as HTML ------------------------------------------

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

// The timeline read once for every node card: each node's entries in time
// order, and each message's title (a receipt's decision carries none: the
// message's other entries do). Built per card, it made the report quadratic
// in the nodes: the 18,701-node run spent minutes here after the exercise.
struct NodeCardIndex {
  std::map<std::string, std::vector<const TimelineEntry*>> entries;
  std::map<std::string, std::string> titles;
};

NodeCardIndex node_card_index(const RunResult& r) {
  NodeCardIndex index;
  for (const TimelineEntry& e : r.timeline) {
    index.entries[e.node].push_back(&e);
    if (!e.title.empty() && !e.message_id.empty()) index.titles.emplace(e.message_id, e.title);
  }
  return index;
}

// What one node saw and did, in time order.
void node_card(std::string& out, const RunResult& r, const std::string& node, const NodeCardIndex& index) {
  using K = TimelineEntry::Kind;
  static const std::vector<const TimelineEntry*> none;
  const auto found = index.entries.find(node);
  const std::vector<const TimelineEntry*>& entries = found == index.entries.end() ? none : found->second;
  const std::map<std::string, std::string>& titles = index.titles;
  std::set<std::string> delivered_messages;
  for (const TimelineEntry* e : entries)
    if (e->kind == K::delivered) delivered_messages.insert(e->message_id);

  std::string items;
  int received = 0, redacted = 0, denied = 0, held = 0, withheld_count = 0;
  for (const TimelineEntry* entry : entries) {
    const TimelineEntry& e = *entry;
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
  const NodeCardIndex index = node_card_index(r);
  for (const std::string& node : all_nodes(r)) node_card(out, r, node, index);
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

}  // namespace

RunPage detail::run_page(const RunResult& r, const Scenario* scenario) {
  RunPage page;
  page.title = run_title(r);
  page.banner = banner_of(r);
  page.facts = facts_of(r);
  page.objectives = objectives_view(r, scenario);
  page.expectations = expectations_view(r, scenario);
  page.contingencies = fmt::format("{}", fmt::join(r.contingencies_fired, ", "));
  page.injects = injects_view(r, scenario);
  page.log = log_view(r);
  page.people_links_html = people_links(r.ratings.size() + r.observations.size(), r.human_actions.size(),
                                        detail::has_response_times(r), r.media.size(), r.improvement_plan.size());
  evaluation_section(page.people_sections_html, r, scenario);
  human_actions_section(page.people_sections_html, r);
  response_times_section(page.people_sections_html, r);
  media_section(page.people_sections_html, r);
  improvement_plan_section(page.people_sections_html, r, scenario);
  who_knew_section(page.who_knew_html, r);
  sequence_section(page.sequence_html, r, "run", "Message sequence");
  decision_table(page.decision_table_html, r);
  return page;
}

std::string to_html(const RunResult& r, const Scenario* scenario) {
  return detail::render_run_page(detail::run_page(r, scenario));
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
  out += detail::render_banner(banner_of(a), name_a + ": ");
  out += detail::render_banner(banner_of(b), name_b + ": ");
  out += "</div>\n<div class=\"banners\"><div>";
  out += detail::render_facts(facts_of(a));
  out += "</div><div>";
  out += detail::render_facts(facts_of(b));
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

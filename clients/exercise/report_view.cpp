// The after-action report's view models (report_view.hpp, report_page.hpp):
// a RunResult in; plain data out, for the templates (templates/*.mustache)
// that report_render.cpp renders: the building blocks every page uses, and
// the one-run page with its node cards, swimlane diagram and decision table
// (the comparison's is report_compare.cpp's). No markup here: what a view
// holds is text, numbers, flags and lists.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "clients/exercise/report.hpp"
#include "clients/exercise/report_page.hpp"
#include "clients/exercise/report_text.hpp"
#include "clients/exercise/report_view.hpp"

namespace icegate::exercise::detail {

// ===========================================================================
// Building blocks
// ===========================================================================

View list() { return View(View::type::list); }
View flag(bool value) { return value ? View(View::type::bool_true) : View(View::type::bool_false); }
View number(std::size_t value) { return View(std::to_string(value)); }

namespace {

// A coordinate of the swimlane diagram.
View coordinate(int value) { return View(std::to_string(value)); }

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

// "#rgb" or "#rrggbb": a colour from a result (which may come from an untrusted
// bundle) goes into a style attribute only in this form.
bool css_colour(std::string_view colour) {
  return (colour.size() == 4 || colour.size() == 7) && colour.front() == '#' &&
         std::all_of(colour.begin() + 1, colour.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

// A label, given as to_string(Label) writes it, as the run's scheme shows it
// (its display marking, in its colours), or as the text in the built-in
// colours of `fallback_class` when the result has no style for it.
View styled_marking(const RunResult& r, const std::string& text, const std::string& fallback_class) {
  View view;
  view.set("css_class", fallback_class);
  view.set("styled", flag(false));
  view.set("has_title", flag(false));
  view.set("title", text);
  view.set("display", text);
  for (const MarkingStyle& m : r.markings) {
    if (m.label != text) continue;
    view.set("has_title", flag(true));
    view.set("display", m.display.empty() ? text : m.display);
    if (css_colour(m.colour) && css_colour(m.text_colour)) {
      view.set("styled", flag(true));
      view.set("colour", m.colour);
      view.set("text_colour", m.text_colour);
    }
    break;
  }
  return view;
}

}  // namespace

std::string joined(const std::vector<std::string>& items) { return fmt::format("{}", fmt::join(items, ", ")); }

std::string run_title(const RunResult& r) { return r.scenario_title.empty() ? r.scenario : r.scenario_title; }

View time_view(const RunResult& r, Offset at) {
  View view;
  view.set("text", scenario_time_text(at));
  view.set("clock", clock_text(r.t0_unix_ms + at.count()));
  return view;
}

View decision_view(Decision decision) {
  View view;
  view.set("css_class", std::string(decision_class(decision)));
  view.set("words", std::string(decision_words(decision)));
  return view;
}

// A label as a HumanAction or ActionOutcome holds it: "SECRET [UK EYES ONLY]".
View marking_view(const RunResult& r, const std::string& label_text) {
  return styled_marking(r, label_text, marking_class(label_text));
}

View marking_view(const RunResult& r, const Label& label) {
  return styled_marking(r, marking_text(label), marking_class(label.classification));
}

View markings_view(const RunResult& r, const std::vector<std::string>& labels) {
  View items = list();
  for (const std::string& label : labels) items.push_back(marking_view(r, label));
  return items;
}

View markings_view(const RunResult& r, const std::vector<Portion>& portions) {
  View items = list();
  for (const Portion& p : portions) items.push_back(marking_view(r, p.label));
  return items;
}

View rules_view(const std::vector<std::string>& rules) {
  View items = list();
  for (const std::string& rule : rules) items.push_back(View(rule));
  return items;
}

// ===========================================================================
// The one-run page
// ===========================================================================

RunPage::Banner banner_of(const RunResult& r) {
  return {met_count(r) == r.expectations.size(), met_count(r), r.expectations.size()};
}

namespace {

TimeView time_of(const RunResult& r, Offset at) {
  return {scenario_time_text(at), clock_text(r.t0_unix_ms + at.count())};
}

}  // namespace

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
  facts.played = joined(r.played);
  facts.nodes = all_nodes(r).size();
  facts.met = met_count(r);
  facts.total = r.expectations.size();
  facts.delivered = r.frames_delivered;
  return facts;
}

namespace {

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
    if (e.when) view.when = time_of(r, *e.when);
    expectations.push_back(std::move(view));
  }
  return expectations;
}

std::vector<RunPage::Inject> injects_view(const RunResult& r, const Scenario* scenario) {
  std::vector<RunPage::Inject> injects;
  if (!scenario) return injects;
  for (const Inject& inject : scenario->injects) {
    injects.push_back({inject.id, time_of(r, inject.at), inject.from, inject.synopsis, inject.expected_action,
                       inject.objective});
  }
  return injects;
}

std::vector<RunPage::LogEntry> log_view(const RunResult& r) {
  std::vector<RunPage::LogEntry> log;
  for (const TimelineEntry& e : r.timeline) {
    RunPage::LogEntry entry{time_of(r, e.at), std::string(kind_name(e.kind)), {}, e.node, e.from, e.inject,
                            e.title, !e.detail.empty() ? e.detail : e.reason};
    if (e.kind == TimelineEntry::Kind::delivered || e.kind == TimelineEntry::Kind::decision)
      entry.decision = DecisionView{std::string(decision_class(e.decision)), std::string(decision_words(e.decision))};
    log.push_back(std::move(entry));
  }
  return log;
}

// ---- the node cards (templates/who_knew.html.mustache) ------------------------

// What a node got of a message, for templates/portions.html.mustache.
void set_portions(View& item, const RunResult& r, const std::vector<Portion>& released,
                  const std::vector<WithheldPortion>& withheld) {
  View released_items = list();
  for (const Portion& p : released) {
    View portion;
    portion.set("marking", marking_view(r, p.label));
    portion.set("id", p.id);
    portion.set("body", p.body);
    released_items.push_back(portion);
  }
  View withheld_items = list();
  for (const WithheldPortion& w : withheld) {
    View portion;
    portion.set("marking", marking_view(r, w.label));
    portion.set("id", w.portion_id);
    portion.set("reason", w.reason.empty() ? "not given" : w.reason);
    portion.set("has_rules", flag(!w.rule_ids.empty()));
    portion.set("rules", joined(w.rule_ids));
    withheld_items.push_back(portion);
  }
  item.set("released", released_items);
  item.set("withheld", withheld_items);
}

// What a node's card counts: the messages it received, and of them what was
// redacted, withheld, denied or held.
struct CardCounts {
  int received = 0, redacted = 0, denied = 0, held = 0, withheld = 0;

  std::string summary() const {
    std::string text = fmt::format("received {} message{}", received, received == 1 ? "" : "s");
    if (redacted) text += fmt::format(", {} with redactions", redacted);
    if (withheld) text += fmt::format(", {} portion{} withheld", withheld, withheld == 1 ? "" : "s");
    if (denied) text += fmt::format(", {} denied", denied);
    if (held) text += fmt::format(", {} held", held);
    return text;
  }
};

// One timeline entry on a node's card, flagged is_KIND; false when the card
// does not show it (a release the node received shows as the delivery).
View card_item(const RunResult& r, const TimelineEntry& e, const std::string& title,
               const std::set<std::string>& delivered_messages, CardCounts& counts) {
  using K = TimelineEntry::Kind;
  View item;
  item.set("when", time_view(r, e.at));
  item.set("id", inject_key(e));
  item.set("has_title", flag(!title.empty()));
  item.set("title", title);
  item.set("from", e.from);
  item.set("css_class", std::string(decision_class(e.decision)));
  item.set("decision", decision_view(e.decision));
  item.set("reason", e.reason);
  switch (e.kind) {
    case K::delivered:
      ++counts.received;
      if (e.decision == Decision::release_redacted) ++counts.redacted;
      counts.withheld += static_cast<int>(e.withheld.size());
      item.set("is_received", flag(true));
      set_portions(item, r, e.released, e.withheld);
      return item;
    case K::decision:
      if (e.decision == Decision::deny) {
        ++counts.denied;
        item.set("is_denied", flag(true));
      } else if (e.decision == Decision::hold) {
        ++counts.held;
        item.set("is_held", flag(true));
        item.set("held_for", e.held_for.empty() ? "review" : e.held_for);
      } else if (!delivered_messages.count(e.message_id)) {
        item.set("is_undelivered", flag(true));
      } else {
        return flag(false);
      }
      return item;
    case K::inject:
    case K::response:
    case K::contingency: {
      item.set("is_sent", flag(true));
      item.set("what", e.kind == K::inject ? "Sent inject" : e.kind == K::response ? "Responded" : "Contingency");
      const std::string synopsis = synopsis_of(e);
      item.set("has_synopsis", flag(!synopsis.empty() && synopsis != e.title));
      item.set("synopsis", synopsis);
      // What was sent: markings only, the bodies are shown where they arrived.
      item.set("has_markings", flag(!e.released.empty()));
      item.set("markings", markings_view(r, e.released));
      return item;
    }
    case K::review_request:
      // A reviewer reads the product before release: that too is knowing it.
      item.set("is_review_request", flag(true));
      set_portions(item, r, e.released, e.withheld);
      return item;
    case K::review:
      item.set("is_review", flag(true));
      item.set("detail", e.detail.empty() ? "answered" : e.detail);
      return item;
    case K::event:
      item.set("is_event", flag(true));
      item.set("detail", e.detail.empty() ? e.title : e.detail);
      return item;
    case K::error:
      item.set("is_error", flag(true));
      item.set("detail", e.detail);
      return item;
    case K::human:
      item.set("is_human", flag(true));
      item.set("detail", action_summary(action_of(r, e), e));
      return item;
    case K::media:
      item.set("is_media", flag(true));
      item.set("detail", e.detail);
      return item;
  }
  return flag(false);
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
View node_card(const RunResult& r, const std::string& node, const NodeCardIndex& index) {
  static const std::vector<const TimelineEntry*> none;
  const auto found = index.entries.find(node);
  const std::vector<const TimelineEntry*>& entries = found == index.entries.end() ? none : found->second;
  std::set<std::string> delivered_messages;
  for (const TimelineEntry* e : entries)
    if (e->kind == TimelineEntry::Kind::delivered) delivered_messages.insert(e->message_id);

  View items = list();
  CardCounts counts;
  for (const TimelineEntry* e : entries) {
    std::string title = e->title;
    if (title.empty() && !e->message_id.empty())
      if (auto it = index.titles.find(e->message_id); it != index.titles.end()) title = it->second;
    View item = card_item(r, *e, title, delivered_messages, counts);
    if (!item.is_false()) items.push_back(item);
  }
  View card;
  card.set("node", node);
  card.set("summary", counts.summary());
  card.set("items", items);
  return card;
}

View who_knew_view(const RunResult& r) {
  View cards = list();
  const NodeCardIndex index = node_card_index(r);
  for (const std::string& node : all_nodes(r)) cards.push_back(node_card(r, node, index));
  View view;
  view.set("nodes", cards);
  return view;
}

// ---- the swimlane diagram (templates/sequence.html.mustache) ------------------

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

std::string colour(std::string_view name) {
  for (const auto& c : kColours)
    if (c.name == name) return std::string(c.value);
  return "#000";
}

View text_at(int x, int y, const std::string& text) {
  View view;
  view.set("x", coordinate(x));
  view.set("y", coordinate(y));
  view.set("text", text);
  return view;
}

// A lane: its box, the node id (on two lines when long) and its line down the page.
View lane_view(const std::string& name, int x, bool gateway, int bottom) {
  std::string first = name, second;
  if (name.size() > 20) {
    // Break after a hyphen near the middle, keeping the hyphen on the first line.
    std::size_t split = name.rfind('-', name.size() / 2 + 4);
    split = split == std::string::npos || split < 4 ? name.size() / 2 : split + 1;
    first = name.substr(0, split);
    second = name.substr(split);
  }
  View names = list();
  names.push_back(text_at(x, second.empty() ? 34 : 26, truncate_utf8(first, 24)));
  if (!second.empty()) names.push_back(text_at(x, 42, truncate_utf8(second, 24)));
  View lane;
  lane.set("node", name);
  lane.set("x", coordinate(x));
  lane.set("box_x", coordinate(x - kLaneWidth / 2 + 6));
  lane.set("box_width", coordinate(kLaneWidth - 12));
  lane.set("box_height", coordinate(kHeaderHeight - 14));
  lane.set("fill", gateway ? "#e8eaf6" : "#f5f5f5");
  lane.set("names", names);
  lane.set("line_top", coordinate(kHeaderHeight - 10));
  lane.set("line_bottom", coordinate(bottom));
  return lane;
}

// The colour name of the row an entry draws, or "" when it draws none.
std::string row_style(const TimelineEntry& e, const std::map<std::string, int>& lane_x) {
  using K = TimelineEntry::Kind;
  const bool in_lane = lane_x.count(e.node) > 0;
  switch (e.kind) {
    case K::inject:
    case K::response:
    case K::contingency:
      return in_lane ? "inject" : "";
    case K::delivered:
      return in_lane ? std::string(decision_class(e.decision)) : "";
    case K::decision:
      return (e.decision == Decision::deny || e.decision == Decision::hold) && in_lane
                 ? std::string(decision_class(e.decision))
                 : "";
    case K::review_request:
    case K::review:
      return in_lane ? "review" : "";
    case K::event:
    case K::media:
      return "event";
    case K::error:
      return in_lane ? "deny" : "";
    case K::human:
      return in_lane ? "human" : "";
  }
  return "";
}

// The words on an arrow: "I01 released", "error", "ctu-sio sends ...".
std::string arrow_label(const RunResult& r, const TimelineEntry& e) {
  using K = TimelineEntry::Kind;
  std::string label = inject_key(e);
  switch (e.kind) {
    case K::delivered:
      return label + (e.decision == Decision::release_redacted ? " redacted" : " released");
    case K::decision:
      return label + (e.decision == Decision::deny ? " denied" : " held");
    case K::review_request:
      return label + " review?";
    case K::review:
      return label + " " + (e.detail.empty() ? std::string("reviewed") : e.detail.substr(0, e.detail.find(' ')));
    case K::contingency:
      return label + " contingency";
    case K::error:
      return "error";
    case K::human:
      return action_summary(action_of(r, e), e);
    default:
      return label;
  }
}

// "T+1h delivered I01: title (release) - reason": what hovering a row shows.
std::string tooltip(const TimelineEntry& e) {
  using K = TimelineEntry::Kind;
  std::string text = fmt::format("{} {} {}", scenario_time_text(e.at), kind_name(e.kind), inject_key(e));
  if (!e.title.empty()) text += ": " + e.title;
  if (e.kind == K::delivered || e.kind == K::decision) text += fmt::format(" ({})", to_string(e.decision));
  if (!e.reason.empty()) text += " - " + e.reason;
  return text;
}

// An event or a media item: a dotted line across every lane.
View event_row(const TimelineEntry& e, int y, int width, int gateway_x) {
  const std::string stroke = colour("event");
  View row;
  row.set("tooltip", tooltip(e));
  row.set("x1", coordinate(kTimeColumn));
  row.set("x2", coordinate(width - 10));
  row.set("y", coordinate(y));
  row.set("stroke", stroke);
  row.set("text_x", coordinate(gateway_x + 8));
  row.set("text_y", coordinate(y - 4));
  row.set("what", e.kind == TimelineEntry::Kind::media ? "media" : "event");
  row.set("label", truncate_utf8(e.detail.empty() ? e.title : e.detail, 60));
  return row;
}

// Anything else: an arrow between the node's lane and the gateway's.
View arrow_row(const RunResult& r, const TimelineEntry& e, const std::string& style, int y, int node_x,
               int gateway_x) {
  using K = TimelineEntry::Kind;
  const bool towards_gateway = e.kind == K::inject || e.kind == K::response || e.kind == K::contingency ||
                               e.kind == K::review || e.kind == K::human;
  const int x1 = towards_gateway ? node_x : gateway_x;
  const int x2 = towards_gateway ? gateway_x : node_x;
  const bool dashed = e.kind == K::review_request || e.kind == K::error || e.decision == Decision::hold ||
                      (e.kind == K::decision && e.decision == Decision::deny);
  const bool cross = e.kind == K::error || (e.kind == K::decision && e.decision == Decision::deny);
  const int shorten = cross ? 0 : (x2 > x1 ? -2 : 2);
  View row;
  row.set("style", style);
  row.set("node", e.node);
  row.set("tooltip", tooltip(e));
  row.set("x1", coordinate(x1));
  row.set("x2", coordinate(x2 + shorten));
  row.set("y", coordinate(y));
  row.set("stroke", colour(style));
  row.set("dashed", flag(dashed));
  row.set("cross", flag(cross));
  row.set("cross_x", coordinate(x2 - 5));
  row.set("cross_top", coordinate(y - 5));
  row.set("cross_bottom", coordinate(y + 5));
  row.set("text_x", coordinate((x1 + x2) / 2));
  row.set("text_y", coordinate(y - 4));
  row.set("label", truncate_utf8(arrow_label(r, e), 28));
  return row;
}

// {shown, total} when a diagram shows only the first `limit` of `total`, else false.
View cut_view(std::size_t total, std::size_t limit) {
  if (total <= limit) return flag(false);
  View view;
  view.set("shown", number(limit));
  view.set("total", number(total));
  return view;
}

}  // namespace

View sequence_view(const RunResult& r, const std::string& id_prefix, const std::string& heading) {
  std::vector<std::string> lanes = all_nodes(r);
  View view;
  view.set("id_prefix", id_prefix);
  view.set("heading", heading);
  view.set("title", run_title(r));
  view.set("lanes_cut", cut_view(lanes.size(), kMaxLanes));
  if (lanes.size() > kMaxLanes) lanes.resize(kMaxLanes);
  std::map<std::string, int> lane_x;
  const int gateway_x = kTimeColumn + kLaneWidth / 2;
  for (std::size_t i = 0; i < lanes.size(); ++i)
    lane_x[lanes[i]] = kTimeColumn + kLaneWidth * static_cast<int>(i + 1) + kLaneWidth / 2;

  // One row per drawn entry, with its colour name.
  std::vector<std::pair<const TimelineEntry*, std::string>> drawn;
  for (const TimelineEntry& e : r.timeline)
    if (std::string style = row_style(e, lane_x); !style.empty()) drawn.emplace_back(&e, std::move(style));
  view.set("rows_cut", cut_view(drawn.size(), kMaxRows));
  if (drawn.size() > kMaxRows) drawn.resize(kMaxRows);

  const int width = kTimeColumn + kLaneWidth * static_cast<int>(lanes.size() + 1) + 10;
  // Rows, with room every kRepeatLaneNamesEvery rows for the lane names again.
  auto row_y = [](std::size_t i) {
    return kHeaderHeight + kRowHeight * static_cast<int>(i) + 16 +
           kRepeatedNamesHeight * static_cast<int>(i / kRepeatLaneNamesEvery);
  };
  const int height = (drawn.empty() ? kHeaderHeight : row_y(drawn.size() - 1)) + 30;
  view.set("width", coordinate(width));
  view.set("height", coordinate(height));
  View markers = list();
  for (const auto& c : kColours) {
    View marker;
    marker.set("name", std::string(c.name));
    marker.set("colour", std::string(c.value));
    markers.push_back(marker);
  }
  view.set("markers", markers);
  View lane_views = list();
  lane_views.push_back(lane_view("gateway", gateway_x, true, height - 10));
  for (const std::string& node : lanes) lane_views.push_back(lane_view(node, lane_x[node], false, height - 10));
  view.set("lanes", lane_views);

  View rows = list();
  std::string last_time;
  for (std::size_t i = 0; i < drawn.size(); ++i) {
    const TimelineEntry& e = *drawn[i].first;
    const int y = row_y(i);
    View row;
    // On a long diagram the lane names scroll away: repeat them, faintly.
    View lane_names = flag(false);
    if (i > 0 && i % kRepeatLaneNamesEvery == 0) {
      View names = list();
      names.push_back(text_at(gateway_x, y - 18, "gateway"));
      for (const std::string& node : lanes) names.push_back(text_at(lane_x[node], y - 18, truncate_utf8(node, 24)));
      lane_names = View();
      lane_names.set("names", names);
    }
    row.set("lane_names", lane_names);
    const std::string when = scenario_time_text(e.at);
    row.set("time", when != last_time ? text_at(6, y + 4, when) : flag(false));
    last_time = when;
    const bool event = e.kind == TimelineEntry::Kind::event || e.kind == TimelineEntry::Kind::media;
    row.set("event", event ? event_row(e, y, width, gateway_x) : flag(false));
    row.set("arrow", event ? flag(false) : arrow_row(r, e, drawn[i].second, y, lane_x[e.node], gateway_x));
    rows.push_back(row);
  }
  view.set("rows", rows);
  return view;
}

// ---- the decision table (templates/decisions.html.mustache) -------------------

View decisions_view(const RunResult& r) {
  View rows = list();
  for (const DecisionRow& row : decision_rows(r)) {
    View view;
    view.set("css_class", std::string(decision_class(row.decision)));
    view.set("when", time_view(r, row.at));
    view.set("inject", row.inject);
    view.set("has_title", flag(!row.title.empty() && row.title != row.inject));
    view.set("title", row.title);
    view.set("from", row.from);
    view.set("node", row.node);
    // Across gateways: the recipient's own gateway decided for it.
    const std::string gateway = r.gateway_of(row.node);
    view.set("has_gateway", flag(!gateway.empty()));
    view.set("gateway", gateway);
    view.set("decision", decision_view(row.decision));
    view.set("has_held_for", flag(row.decision == Decision::hold && !row.held_for.empty()));
    view.set("held_for", row.held_for);
    view.set("released", markings_view(r, row.released));
    view.set("nothing", row.decision == Decision::release || row.decision == Decision::release_redacted
                            ? "not delivered"
                        : row.decision == Decision::hold ? "nothing yet"
                                                         : "nothing");
    View withheld = list();
    for (const WithheldPortion& w : row.withheld) {
      View portion;
      portion.set("marking", marking_view(r, w.label));
      portion.set("reason", w.reason);
      withheld.push_back(portion);
    }
    view.set("withheld", withheld);
    view.set("rules", rules_view(row.rules));
    view.set("reason", row.reason);
    rows.push_back(view);
  }
  View view;
  view.set("has_rows", flag(!rows.is_empty_list()));
  view.set("rows", rows);
  return view;
}

RunPage run_page(const RunResult& r, const Scenario* scenario) {
  RunPage page;
  page.title = run_title(r);
  page.banner = banner_of(r);
  page.facts = facts_of(r);
  page.objectives = objectives_view(r, scenario);
  page.expectations = expectations_view(r, scenario);
  page.contingencies = joined(r.contingencies_fired);
  page.injects = injects_view(r, scenario);
  page.log = log_view(r);
  page.people = people_view(r, scenario);
  page.who_knew = who_knew_view(r);
  page.sequence = sequence_view(r, "run", "Message sequence");
  page.decisions = decisions_view(r);
  return page;
}

}  // namespace icegate::exercise::detail

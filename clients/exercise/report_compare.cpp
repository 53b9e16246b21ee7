// The view model of the comparison page (templates/compare.html.mustache): two
// runs of one scenario, under two policies or at two tables, side by side. A
// Comparison in, plain data out; report_render.cpp renders it.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "clients/exercise/report.hpp"
#include "clients/exercise/report_page.hpp"
#include "clients/exercise/report_text.hpp"
#include "clients/exercise/report_view.hpp"

namespace icegate::exercise::detail {

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

// What one run's node learnt of one inject, for a cell of templates/knowledge.html.mustache.
View knowledge_cell(const RunResult& r, const Knowledge* k, bool changed) {
  View cell;
  cell.set("changed", flag(changed));
  cell.set("known", flag(k != nullptr));
  if (!k) return cell;
  cell.set("when", time_view(r, k->first_at));
  cell.set("decision", decision_view(k->decision));
  cell.set("has_got", flag(!k->released_labels.empty()));
  cell.set("got", joined(k->released_labels));
  cell.set("has_withheld", flag(!k->withheld_labels.empty()));
  cell.set("withheld", joined(k->withheld_labels));
  return cell;
}

std::string knowledge_difference(const Knowledge* a, const Knowledge* b, const std::string& name_a,
                                 const std::string& name_b) {
  if (!a && !b) return "";
  if (!a) return "only under " + name_b;
  if (!b) return "only under " + name_a;
  std::vector<std::string> parts;
  if (a->first_at < b->first_at)
    parts.push_back(fmt::format("{} earlier under {}", duration_text(b->first_at - a->first_at), name_a));
  else if (b->first_at < a->first_at)
    parts.push_back(fmt::format("{} earlier under {}", duration_text(a->first_at - b->first_at), name_b));
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

// One run's decisions for one inject and recipient, for a cell of the
// differences: the decisions, or why there were none.
View decisions_cell(const RunResult& r, const std::vector<DecisionRow>& rows) {
  View cell;
  cell.set("refused", flag(false));
  cell.set("not_addressed", flag(false));
  cell.set("never_sent", flag(false));
  View items = list();
  for (const DecisionRow& row : rows) {
    View item;
    item.set("when", time_view(r, row.at));
    item.set("decision", decision_view(row.decision));
    item.set("has_released", flag(!row.released.empty()));
    item.set("released", portion_labels(row.released));
    item.set("has_reason", flag(!row.reason.empty()));
    item.set("reason", row.reason);
    item.set("has_rules", flag(!row.rules.empty()));
    item.set("rules", rules_view(row.rules));
    items.push_back(item);
  }
  cell.set("rows", items);
  return cell;
}

View difference_cell(const RunResult& r, const std::vector<DecisionRow>& rows, const std::set<std::string>& sent,
                     const std::map<std::string, std::string>& refused, const std::string& inject) {
  View cell = decisions_cell(r, rows);
  if (!rows.empty()) return cell;
  if (const auto it = refused.find(inject); it != refused.end())
    cell.set("refused", it->second);
  else if (sent.count(inject))
    cell.set("not_addressed", flag(true));
  else
    cell.set("never_sent", flag(true));
  return cell;
}

// What each node learnt of each inject under the two policies.
struct ComparedKnowledge {
  ComparedKnowledge(const Comparison& c, std::string a, std::string b)
      : comparison(c), first(knowledge_of(c.first)), second(knowledge_of(c.second)), name_a(std::move(a)),
        name_b(std::move(b)) {
    titles = inject_titles(c.first);
    for (auto& [key, title] : inject_titles(c.second)) titles.emplace(key, title);
  }
  const Comparison& comparison;
  std::vector<Knowledge> first, second;
  std::map<std::string, std::string> titles;
  std::string name_a, name_b;
};

// One node's card: each inject it learnt of under either policy, side by side.
View knowledge_view(const ComparedKnowledge& knowledge, const std::string& node) {
  std::vector<std::string> injects;
  std::map<std::string, const Knowledge*> by_a, by_b;
  std::map<std::string, Offset> first_seen;
  for (const auto& [known, by] : {std::pair{&knowledge.first, &by_a}, std::pair{&knowledge.second, &by_b}}) {
    for (const Knowledge& k : *known) {
      if (k.node != node) continue;
      by->emplace(k.inject, &k);
      auto [it, fresh] = first_seen.emplace(k.inject, k.first_at);
      if (!fresh) it->second = std::min(it->second, k.first_at);
    }
  }
  for (const auto& [inject, at] : first_seen) injects.push_back(inject);
  std::stable_sort(injects.begin(), injects.end(),
                   [&](const std::string& x, const std::string& y) { return first_seen[x] < first_seen[y]; });
  std::size_t differing = 0;
  View rows = list();
  for (const std::string& inject : injects) {
    const Knowledge* x = by_a.count(inject) ? by_a[inject] : nullptr;
    const Knowledge* y = by_b.count(inject) ? by_b[inject] : nullptr;
    const std::string difference = knowledge_difference(x, y, knowledge.name_a, knowledge.name_b);
    if (!difference.empty()) ++differing;
    const auto title = knowledge.titles.find(inject);
    View cells = list();
    cells.push_back(knowledge_cell(knowledge.comparison.first, x, !difference.empty()));
    cells.push_back(knowledge_cell(knowledge.comparison.second, y, !difference.empty()));
    View row;
    row.set("inject", inject);
    row.set("has_title", flag(title != knowledge.titles.end() && title->second != inject));
    row.set("title", title == knowledge.titles.end() ? std::string() : title->second);
    row.set("cells", cells);
    row.set("changed", flag(!difference.empty()));
    row.set("difference", difference);
    rows.push_back(row);
  }
  View card;
  card.set("node", node);
  card.set("count", number(injects.size()));
  card.set("one", flag(injects.size() == 1));
  card.set("differing", number(differing));
  card.set("has_rows", flag(!injects.empty()));
  card.set("rows", rows);
  return card;
}

// The objectives of either run, the first's first.
View compared_objectives(const Comparison& c, const Scenario* scenario) {
  std::vector<Objective> objectives = objectives_of(c.first, scenario);
  for (const Objective& objective : objectives_of(c.second, nullptr))
    if (std::none_of(objectives.begin(), objectives.end(), [&](const Objective& o) { return o.id == objective.id; }))
      objectives.push_back(objective);
  View items = list();
  for (const Objective& objective : objectives) {
    View item;
    item.set("id", objective.id);
    item.set("text", objective.text);
    items.push_back(item);
  }
  return items;
}

View expectation_cell(const RunResult& r, const ExpectationResult* e, bool changed) {
  View cell;
  cell.set("changed", flag(changed));
  cell.set("in_run", flag(e != nullptr));
  if (!e) return cell;
  cell.set("met", flag(e->met));
  cell.set("when", e->when ? time_view(r, *e->when) : flag(false));
  cell.set("evidence", e->evidence);
  return cell;
}

// Expectations under each policy, in the first run's order.
View compared_expectations(const Comparison& c) {
  std::vector<std::string> ids;
  std::map<std::string, const ExpectationResult*> in_a, in_b;
  for (const ExpectationResult& e : c.first.expectations) {
    ids.push_back(e.id);
    in_a[e.id] = &e;
  }
  for (const ExpectationResult& e : c.second.expectations) {
    if (!in_a.count(e.id)) ids.push_back(e.id);
    in_b[e.id] = &e;
  }
  View rows = list();
  for (const std::string& id : ids) {
    const ExpectationResult* ea = in_a.count(id) ? in_a[id] : nullptr;
    const ExpectationResult* eb = in_b.count(id) ? in_b[id] : nullptr;
    const bool changed = !ea || !eb || ea->met != eb->met;
    View cells = list();
    cells.push_back(expectation_cell(c.first, ea, changed));
    cells.push_back(expectation_cell(c.second, eb, changed));
    View row;
    row.set("id", id);
    row.set("description", ea ? ea->description : eb->description);
    row.set("cells", cells);
    rows.push_back(row);
  }
  return rows;
}

View compared_differences(const Comparison& c) {
  const std::set<std::string> sent_a = sent_injects(c.first), sent_b = sent_injects(c.second);
  const std::map<std::string, std::string> refused_a = refusals(c.first), refused_b = refusals(c.second);
  View rows = list();
  for (const DecisionDifference& d : differing_decisions(c)) {
    View cells = list();
    cells.push_back(difference_cell(c.first, d.first, sent_a, refused_a, d.inject));
    cells.push_back(difference_cell(c.second, d.second, sent_b, refused_b, d.inject));
    View row;
    row.set("inject", d.inject);
    row.set("has_title", flag(!d.title.empty() && d.title != d.inject));
    row.set("title", d.title);
    row.set("node", d.node);
    row.set("cells", cells);
    rows.push_back(row);
  }
  return rows;
}

// What the gateway refused outright, under either policy, with its reason.
View compared_refusals(const Comparison& c, const std::string& name_a, const std::string& name_b) {
  View rows = list();
  for (const auto& [run, name] : {std::pair{&c.first, name_a}, std::pair{&c.second, name_b}}) {
    for (const TimelineEntry& e : run->timeline) {
      if (e.kind != TimelineEntry::Kind::error || e.message_id.empty()) continue;
      View row;
      row.set("when", time_view(*run, e.at));
      row.set("inject", inject_key(e));
      row.set("node", e.node);
      row.set("name", name);
      row.set("detail", e.detail);
      rows.push_back(row);
    }
  }
  return rows;
}

// Each run in full, folded away: its decisions and its message sequence.
View compared_runs(const Comparison& c, const std::string& name_a, const std::string& name_b) {
  View runs = list();
  for (const auto& [run, name, prefix] :
       {std::tuple{&c.first, name_a, std::string("first")}, std::tuple{&c.second, name_b, std::string("second")}}) {
    View view;
    view.set("id_prefix", prefix);
    view.set("name", name);
    view.set("decisions", decisions_view(*run));
    view.set("sequence", sequence_view(*run, prefix, "Message sequence under " + name));
    runs.push_back(view);
  }
  return runs;
}

// Each of `nodes`' cards.
View knowledge_cards(const ComparedKnowledge& knowledge, const std::vector<std::string>& nodes) {
  View cards = list();
  for (const std::string& node : nodes) cards.push_back(knowledge_view(knowledge, node));
  return cards;
}

// Every node of either run, the first run's first.
std::vector<std::string> compared_nodes(const Comparison& c) {
  std::vector<std::string> nodes = all_nodes(c.first);
  std::set<std::string> seen(nodes.begin(), nodes.end());
  for (const std::string& n : all_nodes(c.second))
    if (seen.insert(n).second) nodes.push_back(n);
  return nodes;
}

// Which of the three introductions the page has: two policies, two tables
// under one policy, or two tables under two.
void set_introduction(View& view, const Comparison& c) {
  const RunResult& a = c.first;
  const RunResult& b = c.second;
  const bool played = !a.played.empty() || !b.played.empty();
  view.set("two_policies", flag(!played));
  view.set("one_policy", flag(played && a.policy_name == b.policy_name));
  view.set("two_tables", flag(played && a.policy_name != b.policy_name));
  view.set("policy_name", a.policy_name);
  view.set("has_policy_version", flag(!a.policy_version.empty()));
  view.set("policy_version", truncate_utf8(a.policy_version, 23, ""));
}

}  // namespace

View comparison_view(const Comparison& c, const Scenario* scenario) {
  const RunResult& a = c.first;
  const RunResult& b = c.second;
  const auto [name_a, name_b] = policy_headings(c);
  View view;
  view.set("title", run_title(a));
  view.set("name_a", name_a);
  view.set("name_b", name_b);
  set_introduction(view, c);
  View banners = list();
  banners.push_back(banner_view(banner_of(a), name_a + ": "));
  banners.push_back(banner_view(banner_of(b), name_b + ": "));
  view.set("banners", banners);
  View facts = list();
  facts.push_back(facts_view(facts_of(a)));
  facts.push_back(facts_view(facts_of(b)));
  view.set("facts", facts);
  view.set("links", people_links_view(a.ratings.size() + a.observations.size() + b.ratings.size() +
                                          b.observations.size(),
                                      a.human_actions.size() + b.human_actions.size(),
                                      has_response_times(a) || has_response_times(b), 0,
                                      a.improvement_plan.size() + b.improvement_plan.size()));
  View objectives = compared_objectives(c, scenario);
  view.set("has_objectives", flag(!objectives.is_empty_list()));
  view.set("objectives", objectives);
  view.set("expectations", compared_expectations(c));
  const ComparedKnowledge knowledge(c, name_a, name_b);
  const std::vector<std::string> seats = played_seats(c);
  view.set("has_seats", flag(!seats.empty()));
  view.set("seats", knowledge_cards(knowledge, seats));
  view.set("people", people_comparison_view(c, scenario, name_a, name_b));
  view.set("nodes", knowledge_cards(knowledge, compared_nodes(c)));
  View differences = compared_differences(c);
  const std::size_t difference_count = differences.is_list() ? differences.list_value().size() : 0;
  view.set("has_differences", flag(difference_count > 0));
  view.set("difference_count", number(difference_count));
  view.set("one_difference", flag(difference_count == 1));
  view.set("differences", differences);
  View refused = compared_refusals(c, name_a, name_b);
  view.set("has_refusals", flag(!refused.is_empty_list()));
  view.set("refusals", refused);
  view.set("runs", compared_runs(c, name_a, name_b));
  return view;
}

}  // namespace icegate::exercise::detail

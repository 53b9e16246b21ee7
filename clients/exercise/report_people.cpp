// The views of the after-action report's sections about people (issue 14):
// what each person did and what the gateway made of it, how long they took,
// the media, the evaluators' ratings and observations, and the improvement
// plan, for one table and side by side for two (templates/people.html.mustache,
// people_compare.html.mustache). Nothing here shows when nobody played.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "clients/exercise/report.hpp"
#include "clients/exercise/report_text.hpp"
#include "clients/exercise/report_view.hpp"

namespace icegate::exercise::detail {

// The objectives the report names: the run's own (a played run keeps them),
// then any other the scenario has.
std::vector<Objective> objectives_of(const RunResult& r, const Scenario* scenario) {
  std::vector<Objective> objectives = r.objectives;
  if (scenario) {
    for (const Objective& objective : scenario->objectives) {
      const bool known = std::any_of(objectives.begin(), objectives.end(),
                                     [&](const Objective& o) { return o.id == objective.id; });
      if (!known) objectives.push_back(objective);
    }
  }
  return objectives;
}

namespace {

// For templates/objective.html.mustache: an objective's id and text, its id
// alone when the objective is not known, "-" for none.
View objective_view(const std::vector<Objective>& objectives, const std::string& id) {
  View view;
  view.set("none", flag(id.empty()));
  view.set("id", id);
  view.set("known", flag(false));
  view.set("text", "");
  for (const Objective& objective : objectives) {
    if (objective.id != id) continue;
    view.set("known", flag(true));
    view.set("text", objective.text);
    break;
  }
  return view;
}

// The title of an inject or message, from the timeline, or "".
std::string title_of(const RunResult& r, const std::string& id) {
  for (const TimelineEntry& e : r.timeline)
    if (!e.title.empty() && (e.inject == id || e.message_id == id)) return e.title;
  return "";
}

// The seats that acted: the played ones in their order, then any other.
std::vector<std::string> acting_seats(const RunResult& r) {
  std::vector<std::string> seats = r.played;
  std::set<std::string> seen(seats.begin(), seats.end());
  for (const HumanAction& a : r.human_actions)
    if (seen.insert(a.node).second) seats.push_back(a.node);
  return seats;
}

// For templates/rating.html.mustache.
View rating_view(Rating rating) {
  std::string letter(to_string(rating));
  std::string css = letter;
  std::transform(css.begin(), css.end(), css.begin(), [](unsigned char c) { return std::tolower(c); });
  View view;
  view.set("css_class", css);
  view.set("letter", letter);
  view.set("words", std::string(describe(rating)));
  return view;
}

// What a person did (templates/action_what.html.mustache) and what the gateway
// made of it (templates/action_outcomes.html.mustache).
View action_view(const RunResult& r, const HumanAction& a) {
  using K = HumanAction::Kind;
  View view;
  view.set("when", time_view(r, a.at));
  view.set("node", a.node);
  view.set("is_send", flag(a.kind == K::send));
  view.set("is_reply", flag(a.kind == K::reply));
  view.set("is_review", flag(a.kind == K::review));
  view.set("is_trigger", flag(a.kind == K::trigger));
  view.set("title", a.title.empty() ? a.message_id : a.title);
  view.set("in_reply_to", a.in_reply_to);
  view.set("detail", a.kind == K::review && a.detail.empty() ? std::string("answered") : a.detail);
  view.set("has_about", flag(!a.category.empty() || !a.purpose.empty()));
  view.set("has_category", flag(!a.category.empty()));
  view.set("category", a.category);
  view.set("has_both", flag(!a.category.empty() && !a.purpose.empty()));
  view.set("has_purpose", flag(!a.purpose.empty()));
  view.set("purpose", a.purpose);
  View to = list();
  for (const std::string& addressee : a.to) to.push_back(View(addressee));
  view.set("to", to);
  view.set("has_to", flag(!a.to.empty()));
  view.set("to_text", fmt::format("{}", fmt::join(a.to, ", ")));
  view.set("portions", markings_view(r, a.labels));
  // What the gateway decided for each recipient, follow-ups included; or why it refused the frame.
  view.set("has_refused", flag(!a.refused.empty()));
  view.set("refused", a.refused);
  View outcomes = list();
  for (const ActionOutcome& o : a.outcomes) {
    View outcome;
    outcome.set("node", o.node);
    outcome.set("decision", decision_view(o.decision));
    outcome.set("follow_up", flag(o.follow_up));
    outcome.set("released", markings_view(r, o.released_labels));
    outcome.set("has_withheld", flag(!o.withheld_labels.empty()));
    outcome.set("withheld", markings_view(r, o.withheld_labels));
    outcome.set("has_reason", flag(!o.reason.empty()));
    outcome.set("reason", o.reason);
    outcome.set("has_rules", flag(!o.rules.empty()));
    outcome.set("rules", rules_view(o.rules));
    outcomes.push_back(outcome);
  }
  view.set("outcomes", outcomes);
  const bool sends = a.kind == K::send || a.kind == K::reply;
  const bool no_receipt = a.refused.empty() && a.outcomes.empty() && sends;
  view.set("no_receipt", flag(no_receipt));
  // A review or a trigger has no recipients: nothing decided.
  view.set("decided", flag(!a.refused.empty() || !a.outcomes.empty() || no_receipt));
  return view;
}

// The actions of one seat that something prompted, with how long each took.
struct SeatTimes {
  std::vector<const HumanAction*> timed;  // in the run's order
  Offset median{0};
  const HumanAction* worst = nullptr;
};

// Per seat, in acting_seats order; seats with no timed action are left out.
// The median of an even number of times is the mean of the middle two.
std::vector<std::pair<std::string, SeatTimes>> response_times(const RunResult& r) {
  std::vector<std::pair<std::string, SeatTimes>> seats;
  for (const std::string& seat : acting_seats(r)) {
    SeatTimes times;
    std::vector<Offset> durations;
    for (const HumanAction& a : r.human_actions) {
      if (a.node != seat || !a.response_time) continue;
      times.timed.push_back(&a);
      durations.push_back(*a.response_time);
      if (!times.worst || *a.response_time > *times.worst->response_time) times.worst = &a;
    }
    if (times.timed.empty()) continue;
    std::sort(durations.begin(), durations.end());
    const std::size_t middle = durations.size() / 2;
    times.median = durations.size() % 2 ? durations[middle] : (durations[middle - 1] + durations[middle]) / 2;
    seats.emplace_back(seat, std::move(times));
  }
  return seats;
}

// For templates/median_worst.html.mustache: {times: {median, worst, prompted_by}}, or times false.
View median_and_worst(const SeatTimes* times) {
  View view;
  view.set("times", flag(false));
  if (!times) return view;
  View found;
  found.set("median", duration_text(times->median));
  found.set("worst", duration_text(*times->worst->response_time));
  found.set("prompted_by", times->worst->prompted_by);
  view.set("times", found);
  return view;
}

std::string media_kind_words(const std::string& kind) {
  if (kind == "news") return "News article";
  if (kind == "social") return "Social post";
  if (kind == "call") return "Journalist's call";
  return kind;
}

// The objectives to evaluate: the known ones, then any a rating or an
// observation names that is not known (by its id alone).
std::vector<Objective> evaluated_objectives(const RunResult& r, const Scenario* scenario) {
  std::vector<Objective> objectives = objectives_of(r, scenario);
  auto add = [&](const std::string& id) {
    if (std::none_of(objectives.begin(), objectives.end(), [&](const Objective& o) { return o.id == id; }))
      objectives.push_back({id, ""});
  };
  for (const ObjectiveRating& rating : r.ratings) add(rating.objective);
  for (const Observation& o : r.observations) add(o.objective);
  return objectives;
}

// The table a rating or an observation was made at, when it is another than `r`'s; else false.
View other_table(const RunResult& r, const std::string& table) {
  if (table.empty() || table == r.table) return flag(false);
  return View(table);
}

// An objective as an evaluation heads it: "General observations" for none.
void set_objective_heading(View& view, const Objective& objective) {
  view.set("id", objective.id);
  view.set("general", flag(objective.id.empty()));
  view.set("objective", objective.id.empty() ? flag(false) : objective_view({objective}, objective.id));
}

// For templates/improvement_plan.html.mustache.
View improvement_view(const RunResult& r, const Scenario* scenario) {
  const std::vector<Objective> objectives = objectives_of(r, scenario);
  View items = list();
  for (const ImprovementItem& item : r.improvement_plan) {
    View view;
    view.set("issue", item.issue);
    view.set("corrective_action", item.corrective_action);
    view.set("owner", item.owner);
    view.set("due", item.due);
    view.set("objective", objective_view(objectives, item.objective));
    items.push_back(view);
  }
  View view;
  view.set("items", items);
  return view;
}

// Every seat that acted at either table: played seats first.
std::vector<std::string> acting_seats(const Comparison& c) {
  std::vector<std::string> seats = acting_seats(c.first);
  std::set<std::string> seen(seats.begin(), seats.end());
  for (const std::string& seat : acting_seats(c.second))
    if (seen.insert(seat).second) seats.push_back(seat);
  return seats;
}

// A seat's actions at one table, for a side-by-side cell.
View actions_cell(const RunResult& r, const std::string& seat) {
  View actions = list();
  for (const HumanAction& a : r.human_actions)
    if (a.node == seat) actions.push_back(action_view(r, a));
  View cell;
  cell.set("actions", actions);
  return cell;
}

// A table's ratings and observations of one objective, for a side-by-side cell.
View evaluation_cell(const RunResult& r, const std::string& objective) {
  View ratings = list();
  for (const ObjectiveRating& rating : r.ratings) {
    if (rating.objective != objective) continue;
    View view;
    view.set("rating", rating_view(rating.rating));
    view.set("evaluator", rating.evaluator);
    view.set("has_note", flag(!rating.note.empty()));
    view.set("note", rating.note);
    ratings.push_back(view);
  }
  View observations = list();
  for (const Observation& o : r.observations) {
    if (o.objective != objective) continue;
    View view;
    view.set("when", time_view(r, o.at));
    view.set("evaluator", o.evaluator);
    view.set("text", o.text);
    observations.push_back(view);
  }
  View cell;
  cell.set("not_rated", flag(ratings.is_empty_list() && observations.is_empty_list()));
  cell.set("ratings", ratings);
  cell.set("observations", observations);
  return cell;
}

// ---- one run's sections ---------------------------------------------------------

View human_actions_view(const RunResult& r) {
  if (r.human_actions.empty()) return flag(false);
  View actions = list();
  for (const HumanAction& a : r.human_actions) actions.push_back(action_view(r, a));
  View view;
  view.set("actions", actions);
  return view;
}

View response_times_view(const RunResult& r) {
  const auto seats = response_times(r);
  if (seats.empty()) return flag(false);
  View items = list();
  for (const auto& [seat, times] : seats) {
    View timed = list();
    for (const HumanAction* a : times.timed) {
      const std::string title = title_of(r, a->prompted_by);
      View item;
      item.set("prompted_by", a->prompted_by);
      item.set("has_title", flag(!title.empty() && title != a->prompted_by));
      item.set("title", title);
      item.set("reached", time_view(r, a->at - *a->response_time));
      item.set("acted", time_view(r, a->at));
      item.set("took", duration_text(*a->response_time));
      timed.push_back(item);
    }
    View item = median_and_worst(&times);
    item.set("seat", seat);
    item.set("count", number(times.timed.size()));
    item.set("timed", timed);
    items.push_back(item);
  }
  View view;
  view.set("seats", items);
  return view;
}

View media_view(const RunResult& r) {
  if (r.media.empty()) return flag(false);
  View items = list();
  for (const MediaRelease& m : r.media) {
    View item;
    item.set("id", m.id);
    item.set("when", time_view(r, m.at));
    item.set("kind", media_kind_words(m.kind));
    item.set("source", m.source);
    item.set("headline", m.headline);
    item.set("body", m.body);
    item.set("seats", m.seats.empty() ? std::string("every seat") : fmt::format("{}", fmt::join(m.seats, ", ")));
    item.set("released", m.by_hand ? "by hand" : "scheduled");
    items.push_back(item);
  }
  View view;
  view.set("items", items);
  return view;
}

View evaluation_view(const RunResult& r, const Scenario* scenario) {
  if (r.ratings.empty() && r.observations.empty()) return flag(false);
  View objectives = list();
  for (const Objective& objective : evaluated_objectives(r, scenario)) {
    View ratings = list();
    for (const ObjectiveRating& rating : r.ratings) {
      if (rating.objective != objective.id) continue;
      View item;
      item.set("evaluator", rating.evaluator);
      item.set("other_table", other_table(r, rating.table));
      item.set("rating", rating_view(rating.rating));
      item.set("note", rating.note);
      ratings.push_back(item);
    }
    View observations = list();
    for (const Observation& o : r.observations) {
      if (o.objective != objective.id) continue;
      View item;
      item.set("when", time_view(r, o.at));
      item.set("evaluator", o.evaluator);
      item.set("other_table", other_table(r, o.table));
      item.set("text", o.text);
      observations.push_back(item);
    }
    View item;
    set_objective_heading(item, objective);
    item.set("has_ratings", flag(!ratings.is_empty_list()));
    item.set("ratings", ratings);
    item.set("not_rated", flag(ratings.is_empty_list() && !objective.id.empty()));
    item.set("has_observations", flag(!observations.is_empty_list()));
    item.set("observations", observations);
    objectives.push_back(item);
  }
  View view;
  view.set("objectives", objectives);
  return view;
}

View improvement_plan_view(const RunResult& r, const Scenario* scenario) {
  if (r.improvement_plan.empty()) return flag(false);
  return improvement_view(r, scenario);
}

// ---- two runs side by side -------------------------------------------------------

// One seat's row of a side-by-side table: its name, then a cell per run.
View seat_row(const std::string& seat, const View& first, const View& second) {
  View cells = list();
  cells.push_back(first);
  cells.push_back(second);
  View row;
  row.set("seat", seat);
  row.set("cells", cells);
  return row;
}

View compared_actions(const Comparison& c, const std::vector<std::string>& seats) {
  if (c.first.human_actions.empty() && c.second.human_actions.empty()) return flag(false);
  View rows = list();
  for (const std::string& seat : seats) {
    rows.push_back(seat_row(seat, actions_cell(c.first, seat), actions_cell(c.second, seat)));
  }
  View view;
  view.set("seats", rows);
  return view;
}

View compared_response_times(const Comparison& c, const std::vector<std::string>& seats) {
  const auto times_a = response_times(c.first), times_b = response_times(c.second);
  if (times_a.empty() && times_b.empty()) return flag(false);
  auto find = [](const auto& times, const std::string& seat) -> const SeatTimes* {
    for (const auto& [name, t] : times)
      if (name == seat) return &t;
    return nullptr;
  };
  View rows = list();
  for (const std::string& seat : seats) {
    const SeatTimes* x = find(times_a, seat);
    const SeatTimes* y = find(times_b, seat);
    if (!x && !y) continue;
    rows.push_back(seat_row(seat, median_and_worst(x), median_and_worst(y)));
  }
  View view;
  view.set("seats", rows);
  return view;
}

View compared_evaluation(const Comparison& c, const Scenario* scenario) {
  const RunResult& a = c.first;
  const RunResult& b = c.second;
  if (a.ratings.empty() && a.observations.empty() && b.ratings.empty() && b.observations.empty()) return flag(false);
  std::vector<Objective> objectives = evaluated_objectives(a, scenario);
  for (const Objective& objective : evaluated_objectives(b, scenario))
    if (std::none_of(objectives.begin(), objectives.end(), [&](const Objective& o) { return o.id == objective.id; }))
      objectives.push_back(objective);
  View rows = list();
  for (const Objective& objective : objectives) {
    View cells = list();
    cells.push_back(evaluation_cell(a, objective.id));
    cells.push_back(evaluation_cell(b, objective.id));
    View row;
    set_objective_heading(row, objective);
    row.set("cells", cells);
    rows.push_back(row);
  }
  View view;
  view.set("objectives", rows);
  return view;
}

View compared_improvement_plans(const Comparison& c, const Scenario* scenario, const std::string& name_a,
                                const std::string& name_b) {
  if (c.first.improvement_plan.empty() && c.second.improvement_plan.empty()) return flag(false);
  View plans = list();
  for (const auto& [run, name] : {std::pair{&c.first, name_a}, std::pair{&c.second, name_b}}) {
    if (run->improvement_plan.empty()) continue;
    View plan = improvement_view(*run, scenario);
    plan.set("name", name);
    plans.push_back(plan);
  }
  View view;
  view.set("plans", plans);
  return view;
}

}  // namespace

bool has_response_times(const RunResult& r) { return !response_times(r).empty(); }

View people_links_view(std::size_t evaluated, std::size_t actions, bool timed, std::size_t media, std::size_t plan) {
  View view;
  view.set("evaluated", flag(evaluated > 0));
  view.set("actions", flag(actions > 0));
  view.set("timed", flag(timed));
  view.set("media", flag(media > 0));
  view.set("plan", flag(plan > 0));
  return view;
}

View people_view(const RunResult& r, const Scenario* scenario) {
  View view;
  view.set("links", people_links_view(r.ratings.size() + r.observations.size(), r.human_actions.size(),
                                      has_response_times(r), r.media.size(), r.improvement_plan.size()));
  view.set("evaluation", evaluation_view(r, scenario));
  view.set("human_actions", human_actions_view(r));
  view.set("response_times", response_times_view(r));
  view.set("media", media_view(r));
  view.set("improvement_plan", improvement_plan_view(r, scenario));
  return view;
}

// The seats people played at either table, the first table's first.
std::vector<std::string> played_seats(const Comparison& c) {
  std::vector<std::string> seats = c.first.played;
  std::set<std::string> seen(seats.begin(), seats.end());
  for (const std::string& seat : c.second.played)
    if (seen.insert(seat).second) seats.push_back(seat);
  return seats;
}

// Two tables played by people: their actions, response times, ratings and
// improvement plans side by side. Nothing when nobody played either.
View people_comparison_view(const Comparison& c, const Scenario* scenario, const std::string& name_a,
                            const std::string& name_b) {
  const std::vector<std::string> seats = acting_seats(c);
  View view;
  view.set("human_actions", compared_actions(c, seats));
  view.set("response_times", compared_response_times(c, seats));
  view.set("evaluation", compared_evaluation(c, scenario));
  view.set("improvement_plan", compared_improvement_plans(c, scenario, name_a, name_b));
  return view;
}

}  // namespace icegate::exercise::detail

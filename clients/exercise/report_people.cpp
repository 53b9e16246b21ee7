// The after-action report's sections about people (issue 14): what each
// person did and what the gateway made of it, how long they took, the media,
// the evaluators' ratings and observations, and the improvement plan, for one
// table and side by side for two. Nothing here shows when nobody played.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "clients/exercise/report.hpp"
#include "clients/exercise/report_html.hpp"

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

// "<b>O1</b> text", or the id alone when the objective is not known.
std::string objective_cell(const std::vector<Objective>& objectives, const std::string& id) {
  if (id.empty()) return "<span class=\"muted\">-</span>";
  for (const Objective& objective : objectives)
    if (objective.id == id) return fmt::format("<b>{}</b> {}", html(id), html(objective.text));
  return fmt::format("<b>{}</b>", html(id));
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

std::string rating_badge(Rating rating) {
  // The letter and the words: readable without colour (printed in black and white, or by a screen reader).
  std::string letter(to_string(rating));
  std::string css = letter;
  std::transform(css.begin(), css.end(), css.begin(), [](unsigned char c) { return std::tolower(c); });
  return fmt::format("<span class=\"rating r-{}\">{}</span> {}", css, letter, describe(rating));
}

// What a person did, in words: "Sent <b>title</b>", "Replied to <code>m</code>: ...".
std::string action_what(const HumanAction& a) {
  std::string what;
  const std::string title = html(a.title.empty() ? a.message_id : a.title);
  switch (a.kind) {
    case HumanAction::Kind::send:
      what = fmt::format("Sent <b>{}</b>", title);
      break;
    case HumanAction::Kind::reply:
      what = fmt::format("Replied to <code>{}</code>: <b>{}</b>", html(a.in_reply_to), title);
      break;
    case HumanAction::Kind::review:
      what = fmt::format("Reviewed <b>{}</b>: {}", title, html(a.detail.empty() ? "answered" : a.detail));
      break;
    case HumanAction::Kind::trigger:
      what = fmt::format("Triggered the event <b>{}</b>", html(a.detail));
      break;
  }
  std::vector<std::string> about;
  if (!a.category.empty()) about.push_back(fmt::format("category <code>{}</code>", html(a.category)));
  if (!a.purpose.empty()) about.push_back(fmt::format("purpose <code>{}</code>", html(a.purpose)));
  if (!about.empty()) what += fmt::format("<div class=\"muted\">{}</div>", fmt::join(about, ", "));
  return what;
}

// What the gateway decided for each recipient, follow-ups included; or why it refused the frame.
std::string action_outcomes(const RunResult& r, const HumanAction& a) {
  std::string cell;
  if (!a.refused.empty())
    cell += fmt::format("<div class=\"refusal\">{} Refused by the gateway: {}</div>", decision_badge(Decision::deny),
                        html(a.refused));
  for (const ActionOutcome& o : a.outcomes) {
    cell += fmt::format("<div class=\"outcome\" data-node=\"{}\"><b>{}</b> {}", html(o.node), html(o.node),
                        decision_badge(o.decision));
    if (o.follow_up) cell += " <span class=\"follow-up\">follow-up</span>";
    for (const std::string& label : o.released_labels) cell += " " + marking_badge(r, label);
    if (!o.withheld_labels.empty()) {
      cell += " <span class=\"muted\">withheld:</span>";
      for (const std::string& label : o.withheld_labels) cell += " " + marking_badge(r, label);
    }
    if (!o.reason.empty()) cell += fmt::format(" <span class=\"muted\">{}</span>", html(o.reason));
    if (!o.rules.empty()) cell += " " + rules_text(o.rules);
    cell += "</div>";
  }
  const bool sends = a.kind == HumanAction::Kind::send || a.kind == HumanAction::Kind::reply;
  if (cell.empty() && sends) cell = "<span class=\"muted\">no receipt before the end</span>";
  return cell;  // empty for a review or a trigger, which have no recipients
}

// One row of the human actions table.
std::string action_row(const RunResult& r, const HumanAction& a) {
  std::string to;
  for (const std::string& addressee : a.to) to += fmt::format("<div>{}</div>", html(addressee));
  std::string portions;
  for (const std::string& label : a.labels) portions += marking_badge(r, label) + " ";
  const std::string outcomes = action_outcomes(r, a);
  return fmt::format(
      "<tr class=\"action{}\" data-node=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
      "<td>{}</td></tr>\n",
      a.refused.empty() ? "" : " refused", html(a.node), time_cell(r, a.at), html(a.node), action_what(a),
      to.empty() ? "<span class=\"muted\">-</span>" : to, portions,
      outcomes.empty() ? "<span class=\"muted\">-</span>" : outcomes);
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

std::string median_and_worst_cells(const SeatTimes* times) {
  if (!times) return "<td><span class=\"muted\">-</span></td><td><span class=\"muted\">-</span></td>";
  return fmt::format("<td>{}</td><td>{} <span class=\"muted\">({})</span></td>", html(duration_text(times->median)),
                     html(duration_text(*times->worst->response_time)), html(times->worst->prompted_by));
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

// " (table X)" when a rating or an observation was made at another table than `r`'s.
std::string other_table(const RunResult& r, const std::string& table) {
  if (table.empty() || table == r.table) return "";
  return fmt::format(" <span class=\"muted\">(table {})</span>", html(table));
}

constexpr std::string_view kRatingScale =
    "<p>On the model of HSEEP's Exercise Evaluation Guide: evaluators rate each objective "
    "<b>P</b> performed without challenges, <b>S</b> performed with some challenges, <b>M</b> performed with "
    "major challenges, or <b>U</b> unable to be performed, and record timed observations.</p>\n";

std::string improvement_rows(const RunResult& r, const Scenario* scenario) {
  const std::vector<Objective> objectives = objectives_of(r, scenario);
  std::string rows;
  for (const ImprovementItem& item : r.improvement_plan)
    rows += fmt::format("<tr class=\"improvement\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                        html(item.issue), html(item.corrective_action), html(item.owner), html(item.due),
                        objective_cell(objectives, item.objective));
  return rows;
}

constexpr std::string_view kImprovementHead =
    "<table class=\"improvement-plan\">\n<thead><tr><th>Issue</th><th>Corrective action</th><th>Owner</th>"
    "<th>Due</th><th>Objective</th></tr></thead>\n<tbody>\n";

// Every seat that acted at either table: played seats first.
std::vector<std::string> acting_seats(const Comparison& c) {
  std::vector<std::string> seats = acting_seats(c.first);
  std::set<std::string> seen(seats.begin(), seats.end());
  for (const std::string& seat : acting_seats(c.second))
    if (seen.insert(seat).second) seats.push_back(seat);
  return seats;
}

// A seat's actions at one table, compactly, for a side-by-side cell.
std::string actions_cell(const RunResult& r, const std::string& seat) {
  std::string cell;
  for (const HumanAction& a : r.human_actions) {
    if (a.node != seat) continue;
    std::string portions;
    for (const std::string& label : a.labels) portions += " " + marking_badge(r, label);
    std::string to;
    if (!a.to.empty()) {
      std::vector<std::string> names;
      for (const std::string& addressee : a.to) names.push_back(html(addressee));
      to = fmt::format("<div class=\"muted\">to {}</div>", fmt::join(names, ", "));
    }
    cell += fmt::format("<div class=\"action\">{} {}{}{}{}</div>", time_cell(r, a.at), action_what(a), portions, to,
                        action_outcomes(r, a));
  }
  return cell.empty() ? "<span class=\"muted\">no action</span>" : cell;
}

// A table's ratings and observations of one objective, for a side-by-side cell.
std::string evaluation_cell(const RunResult& r, const std::string& objective) {
  std::string cell;
  for (const ObjectiveRating& rating : r.ratings) {
    if (rating.objective != objective) continue;
    cell += fmt::format("<div>{} <span class=\"muted\">{}{}</span></div>", rating_badge(rating.rating),
                        html(rating.evaluator), rating.note.empty() ? "" : ": " + html(rating.note));
  }
  for (const Observation& o : r.observations) {
    if (o.objective != objective) continue;
    cell += fmt::format("<div class=\"muted\">{} {}: {}</div>", time_cell(r, o.at), html(o.evaluator), html(o.text));
  }
  return cell.empty() ? "<span class=\"muted\">not rated</span>" : cell;
}

}  // namespace

void human_actions_section(std::string& out, const RunResult& r) {
  if (r.human_actions.empty()) return;
  out +=
      "<section id=\"human-actions\">\n<h2>Human actions</h2>\n"
      "<p>What each person did at their seat, through their own node, at which marking, and what the gateway "
      "decided for each recipient.</p>\n<table class=\"human-actions\">\n<thead><tr><th>When</th><th>Seat</th>"
      "<th>What</th><th>To</th><th>Portions</th><th>What the gateway decided</th></tr></thead>\n<tbody>\n";
  for (const HumanAction& a : r.human_actions) out += action_row(r, a);
  out += "</tbody>\n</table>\n</section>\n";
}

bool has_response_times(const RunResult& r) { return !response_times(r).empty(); }

void response_times_section(std::string& out, const RunResult& r) {
  const auto seats = response_times(r);
  if (seats.empty()) return;
  out +=
      "<section id=\"response-times\">\n<h2>Response times</h2>\n"
      "<p>From the delivery to a seat of what prompted an action (the inject, or the message replied to) to the "
      "action.</p>\n<table class=\"response-times\">\n<thead><tr><th>Seat</th><th>Actions timed</th><th>Median</th>"
      "<th>Worst</th></tr></thead>\n<tbody>\n";
  for (const auto& [seat, times] : seats)
    out += fmt::format("<tr class=\"seat\" data-node=\"{}\"><td>{}</td><td>{}</td>{}</tr>\n", html(seat), html(seat),
                       times.timed.size(), median_and_worst_cells(&times));
  out +=
      "</tbody>\n</table>\n<details>\n<summary>Every timed action, per seat and inject</summary>\n<table>\n"
      "<thead><tr><th>Seat</th><th>Prompted by</th><th>Reached the seat</th><th>Acted</th><th>Took</th></tr>"
      "</thead>\n<tbody>\n";
  for (const auto& [seat, times] : seats) {
    for (const HumanAction* a : times.timed) {
      const std::string title = title_of(r, a->prompted_by);
      out += fmt::format(
          "<tr class=\"response\" data-node=\"{}\"><td>{}</td><td><b>{}</b>{}</td><td>{}</td><td>{}</td><td>{}</td>"
          "</tr>\n",
          html(seat), html(seat), html(a->prompted_by),
          title.empty() || title == a->prompted_by ? std::string()
                                                   : fmt::format(" <span class=\"muted\">{}</span>", html(title)),
          time_cell(r, a->at - *a->response_time), time_cell(r, a->at), html(duration_text(*a->response_time)));
    }
  }
  out += "</tbody>\n</table>\n</details>\n</section>\n";
}

void media_section(std::string& out, const RunResult& r) {
  if (r.media.empty()) return;
  out +=
      "<section id=\"media\">\n<h2>Media and public pressure</h2>\n"
      "<p>What the press and social media put to the seats, and when. Media items never pass through the "
      "gateway.</p>\n<table class=\"media\">\n<thead><tr><th>When</th><th>Kind</th><th>Source</th><th>What</th>"
      "<th>Shown to</th><th>Released</th></tr></thead>\n<tbody>\n";
  for (const MediaRelease& m : r.media) {
    std::string seats;
    for (const std::string& seat : m.seats) seats += (seats.empty() ? "" : ", ") + html(seat);
    out += fmt::format(
        "<tr class=\"media-item\" data-media=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td><b>{}</b>"
        "<div class=\"body\">{}</div></td><td>{}</td><td>{}</td></tr>\n",
        html(m.id), time_cell(r, m.at), html(media_kind_words(m.kind)), html(m.source), html(m.headline), html(m.body),
        seats.empty() ? std::string("every seat") : seats, m.by_hand ? "by hand" : "scheduled");
  }
  out += "</tbody>\n</table>\n</section>\n";
}

void evaluation_section(std::string& out, const RunResult& r, const Scenario* scenario) {
  if (r.ratings.empty() && r.observations.empty()) return;
  out += "<section id=\"evaluation\">\n<h2>Evaluation</h2>\n";
  out += kRatingScale;
  for (const Objective& objective : evaluated_objectives(r, scenario)) {
    out += fmt::format("<div class=\"objective\" data-objective=\"{}\">\n<h3>{}</h3>\n", html(objective.id),
                       objective.id.empty() ? std::string("General observations")
                                            : objective_cell({objective}, objective.id));
    std::string ratings;
    for (const ObjectiveRating& rating : r.ratings) {
      if (rating.objective != objective.id) continue;
      ratings += fmt::format("<tr><td>{}{}</td><td>{}</td><td>{}</td></tr>\n", html(rating.evaluator),
                             other_table(r, rating.table), rating_badge(rating.rating), html(rating.note));
    }
    if (!ratings.empty()) {
      out += "<table class=\"ratings\">\n<thead><tr><th>Evaluator</th><th>Rating</th><th>Note</th></tr></thead>\n"
             "<tbody>\n" + ratings + "</tbody>\n</table>\n";
    } else if (!objective.id.empty()) {
      out += "<p class=\"muted\">Not rated.</p>\n";
    }
    std::string observations;
    for (const Observation& o : r.observations) {
      if (o.objective != objective.id) continue;
      observations += fmt::format("<li>{} <b>{}</b>{}: {}</li>\n", time_cell(r, o.at), html(o.evaluator),
                                  other_table(r, o.table), html(o.text));
    }
    if (!observations.empty()) out += "<ul class=\"observations\">\n" + observations + "</ul>\n";
    out += "</div>\n";
  }
  out += "</section>\n";
}

void improvement_plan_section(std::string& out, const RunResult& r, const Scenario* scenario) {
  if (r.improvement_plan.empty()) return;
  out += "<section id=\"improvement-plan\">\n<h2>Improvement plan</h2>\n";
  out += kImprovementHead;
  out += improvement_rows(r, scenario);
  out += "</tbody>\n</table>\n</section>\n";
}

// Navigation to the sections for people that a report has.
std::string people_links(std::size_t evaluated, std::size_t actions, bool timed, std::size_t media,
                         std::size_t plan) {
  std::string links;
  if (evaluated) links += "<a href=\"#evaluation\">Evaluation</a>";
  if (actions) links += "<a href=\"#human-actions\">Human actions</a>";
  if (timed) links += "<a href=\"#response-times\">Response times</a>";
  if (media) links += "<a href=\"#media\">Media</a>";
  if (plan) links += "<a href=\"#improvement-plan\">Improvement plan</a>";
  return links;
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
void people_comparison(std::string& out, const Comparison& c, const Scenario* scenario, const std::string& name_a,
                       const std::string& name_b) {
  const RunResult& a = c.first;
  const RunResult& b = c.second;
  const std::vector<std::string> seats = acting_seats(c);
  if (!a.human_actions.empty() || !b.human_actions.empty()) {
    out += fmt::format(
        "<section id=\"human-actions\">\n<h2>Human actions</h2>\n<p>What each person did at their seat, and what "
        "the gateway decided for each recipient, at each table.</p>\n<table class=\"diff\">\n<thead><tr>"
        "<th>Seat</th><th>Under {}</th><th>Under {}</th></tr></thead>\n<tbody>\n",
        html(name_a), html(name_b));
    for (const std::string& seat : seats)
      out += fmt::format("<tr class=\"seat\" data-node=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>\n", html(seat),
                         html(seat), actions_cell(a, seat), actions_cell(b, seat));
    out += "</tbody>\n</table>\n</section>\n";
  }

  const auto times_a = response_times(a), times_b = response_times(b);
  if (!times_a.empty() || !times_b.empty()) {
    auto find = [](const auto& times, const std::string& seat) -> const SeatTimes* {
      for (const auto& [name, t] : times)
        if (name == seat) return &t;
      return nullptr;
    };
    out += fmt::format(
        "<section id=\"response-times\">\n<h2>Response times</h2>\n<p>From the delivery to a seat of what "
        "prompted an action to the action: the median and the worst, per seat, at each table.</p>\n"
        "<table class=\"diff\">\n<thead><tr><th>Seat</th><th>Median under {}</th><th>Worst under {}</th>"
        "<th>Median under {}</th><th>Worst under {}</th></tr></thead>\n<tbody>\n",
        html(name_a), html(name_a), html(name_b), html(name_b));
    for (const std::string& seat : seats) {
      const SeatTimes* x = find(times_a, seat);
      const SeatTimes* y = find(times_b, seat);
      if (!x && !y) continue;
      out += fmt::format("<tr class=\"seat\" data-node=\"{}\"><td>{}</td>{}{}</tr>\n", html(seat), html(seat),
                         median_and_worst_cells(x), median_and_worst_cells(y));
    }
    out += "</tbody>\n</table>\n</section>\n";
  }

  if (!a.ratings.empty() || !a.observations.empty() || !b.ratings.empty() || !b.observations.empty()) {
    std::vector<Objective> objectives = evaluated_objectives(a, scenario);
    for (const Objective& objective : evaluated_objectives(b, scenario))
      if (std::none_of(objectives.begin(), objectives.end(), [&](const Objective& o) { return o.id == objective.id; }))
        objectives.push_back(objective);
    out += "<section id=\"evaluation\">\n<h2>Evaluation</h2>\n";
    out += kRatingScale;
    out += fmt::format(
        "<table class=\"diff\">\n<thead><tr><th>Objective</th><th>Under {}</th><th>Under {}</th></tr></thead>\n"
        "<tbody>\n",
        html(name_a), html(name_b));
    for (const Objective& objective : objectives)
      out += fmt::format("<tr class=\"objective\" data-objective=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                         html(objective.id),
                         objective.id.empty() ? std::string("General observations")
                                              : objective_cell({objective}, objective.id),
                         evaluation_cell(a, objective.id), evaluation_cell(b, objective.id));
    out += "</tbody>\n</table>\n</section>\n";
  }

  if (!a.improvement_plan.empty() || !b.improvement_plan.empty()) {
    out += "<section id=\"improvement-plan\">\n<h2>Improvement plan</h2>\n";
    for (const auto& [run, name] : {std::pair{&a, name_a}, std::pair{&b, name_b}}) {
      if (run->improvement_plan.empty()) continue;
      out += fmt::format("<h3>Under {}</h3>\n", html(name));
      out += kImprovementHead;
      out += improvement_rows(*run, scenario);
      out += "</tbody>\n</table>\n";
    }
    out += "</section>\n";
  }
}

}  // namespace icegate::exercise::detail

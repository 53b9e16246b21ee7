// Internal to the after-action report: the HTML pieces report.cpp and
// report_people.cpp share, and the sections about people that report.cpp puts
// on its pages. Not part of the library's interface (see report.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "clients/exercise/results.hpp"
#include "clients/exercise/scenario.hpp"

namespace icegate::exercise::detail {

// ---- report.cpp ---------------------------------------------------------------
// Text escaped for HTML text and attribute values.
std::string html(std::string_view text);
// A scenario time, with the clock time on hover.
std::string time_cell(const RunResult& r, Offset at);
// A label written as to_string(Label) writes it ("SECRET [UK EYES ONLY]"), as
// the run's scheme shows it: its display marking, in its colours.
std::string marking_badge(const RunResult& r, const std::string& label_text);
std::string decision_badge(Decision decision);
std::string rules_text(const std::vector<std::string>& rules);

// ---- report_people.cpp: sections about people -----------------------------------
// Each section writes nothing when the result has nothing for it.

// The objectives a report names: the run's own (a played run keeps them), then
// any other the scenario has.
std::vector<Objective> objectives_of(const RunResult& r, const Scenario* scenario);
// Links to the sections about people a page has.
std::string people_links(std::size_t evaluated, std::size_t actions, bool timed, std::size_t media,
                         std::size_t plan);
void evaluation_section(std::string& out, const RunResult& r, const Scenario* scenario);
void human_actions_section(std::string& out, const RunResult& r);
bool has_response_times(const RunResult& r);
void response_times_section(std::string& out, const RunResult& r);
void media_section(std::string& out, const RunResult& r);
void improvement_plan_section(std::string& out, const RunResult& r, const Scenario* scenario);

// Two tables: the seats people played at either, and the sections about
// people side by side, the columns headed `name_a` and `name_b`.
std::vector<std::string> played_seats(const Comparison& c);
void people_comparison(std::string& out, const Comparison& c, const Scenario* scenario, const std::string& name_a,
                       const std::string& name_b);

}  // namespace icegate::exercise::detail

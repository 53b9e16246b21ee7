// Internal to the after-action report: the view models of its sections, what
// the templates (templates/*.mustache) show. A view is plain data, the
// mustache library's data object: text (escaped by the template's double
// braces, never here), numbers as text, flags, lists and nested views. No view
// holds markup. report_view.cpp and report_people.cpp build them;
// report_render.cpp renders them. Not part of the library's interface (see
// report.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <kainjow/mustache.hpp>

#include "clients/exercise/results.hpp"
#include "clients/exercise/scenario.hpp"

namespace icegate::exercise::detail {

using View = kainjow::mustache::data;

// ---- building blocks (report_view.cpp) ----------------------------------------
View list();
View flag(bool value);
View number(std::size_t value);

// For templates/time.html.mustache: {text, clock}.
View time_view(const RunResult& r, Offset at);
// For templates/decision.html.mustache: {css_class, words}.
View decision_view(Decision decision);
// For templates/marking.html.mustache: a label written as to_string(Label)
// writes it ("SECRET [UK EYES ONLY]"), as the run's scheme shows it (its
// display marking, in its colours).
View marking_view(const RunResult& r, const std::string& label_text);
View marking_view(const RunResult& r, const Label& label);
// Each of `labels`' markings, for a list of templates/marking.html.mustache.
View markings_view(const RunResult& r, const std::vector<std::string>& labels);
View markings_view(const RunResult& r, const std::vector<Portion>& portions);
// For templates/rules.html.mustache: {rules: [...]}.
View rules_view(const std::vector<std::string>& rules);
// "a, b, c".
std::string joined(const std::vector<std::string>& items);
// The scenario's title, or its name when it has none.
std::string run_title(const RunResult& r);

// ---- report_view.cpp: sections of the one-run page the comparison shows too -----
// For templates/decisions.html.mustache: every decision of the run.
View decisions_view(const RunResult& r);
// For templates/sequence.html.mustache: the run's swimlane diagram, in a
// section with the id "ID_PREFIX-sequence" under `heading`.
View sequence_view(const RunResult& r, const std::string& id_prefix, const std::string& heading);

// ---- report_people.cpp: the sections about people ------------------------------
// The objectives a report names: the run's own (a played run keeps them), then
// any other the scenario has.
std::vector<Objective> objectives_of(const RunResult& r, const Scenario* scenario);
// For templates/people_links.html.mustache: which sections about people a page has.
View people_links_view(std::size_t evaluated, std::size_t actions, bool timed, std::size_t media, std::size_t plan);
bool has_response_times(const RunResult& r);
// For templates/people.html.mustache: the sections about people of one run;
// each is false when the result has nothing for it.
View people_view(const RunResult& r, const Scenario* scenario);
// The seats people played at either run, the first run's first.
std::vector<std::string> played_seats(const Comparison& c);
// For templates/people_compare.html.mustache: the sections about people side
// by side, the columns headed `name_a` and `name_b`.
View people_comparison_view(const Comparison& c, const Scenario* scenario, const std::string& name_a,
                            const std::string& name_b);

}  // namespace icegate::exercise::detail

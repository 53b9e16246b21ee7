// Internal to the after-action report: the view model of the one-run page,
// what templates/run.html.mustache shows. Every field is plain data, no
// markup: text the template escapes, and the views (report_view.hpp) of the
// sections about people, the node cards, the swimlane diagram and the
// decision table. report_view.cpp builds a RunPage from a RunResult
// (run_page), report_compare.cpp the view of a comparison;
// report_render.cpp renders them.
// Not part of the library's interface (see report.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "clients/exercise/report_view.hpp"
#include "clients/exercise/results.hpp"
#include "clients/exercise/scenario.hpp"

namespace icegate::exercise::detail {

// A scenario time ("T+1h") and the clock time it was ("2026-03-14 09:00:00 UTC").
struct TimeView {
  std::string text;
  std::string clock;
};

// A decision as a badge: its CSS class suffix ("redacted") and plain words.
struct DecisionView {
  std::string css_class;
  std::string words;
};

struct RunPage {
  struct Banner {
    bool pass = false;
    std::size_t met = 0, total = 0;
  };
  struct Facts {
    std::string title, scenario;
    std::string policy_name, policy_version;  // the version cut to 23 bytes; "" when the result has none
    std::string policy_file, t0, start, end, table;
    std::string played;  // "seat-a, seat-b"
    std::size_t nodes = 0, met = 0, total = 0;
    std::int64_t delivered = 0;
  };
  struct ServedExpectation {
    std::string id;
    bool met = false;
  };
  struct Objective {
    std::string id, text;
    std::vector<ServedExpectation> expectations;  // the scenario's expectations that serve it
  };
  struct Expectation {
    bool met = false;
    std::string id, description, objective, evidence;
    std::optional<TimeView> when;
  };
  struct Inject {
    std::string id;
    TimeView when;
    std::string from, synopsis, expected_action, objective;
  };
  struct LogEntry {
    TimeView when;
    std::string kind;                     // kind_name: "delivered", "decision", ...
    std::optional<DecisionView> decision;  // for deliveries and decisions
    std::string node, from, inject, title, detail;
  };

  std::string title;
  Banner banner;
  Facts facts;
  std::vector<Objective> objectives;  // empty: the report was made without the scenario
  std::vector<Expectation> expectations;
  std::string contingencies;  // the contingency injects that fired, "a, b"; "" for none
  std::vector<Inject> injects;  // the scenario's, when given
  std::vector<LogEntry> log;

  View people;     // people_view (templates/people.html.mustache)
  View who_knew;   // who_knew_view (templates/who_knew.html.mustache)
  View sequence;   // sequence_view (templates/sequence.html.mustache)
  View decisions;  // decisions_view (templates/decisions.html.mustache)
};

// The page's view model of a run (report_view.cpp); the scenario, when given,
// adds the objectives' expectations and the injects.
RunPage run_page(const RunResult& result, const Scenario* scenario);
// A run's banner and facts (report_view.cpp), for the comparison's too.
RunPage::Banner banner_of(const RunResult& result);
RunPage::Facts facts_of(const RunResult& result);
// The view of a comparison (report_compare.cpp), what
// templates/compare.html.mustache shows.
View comparison_view(const Comparison& comparison, const Scenario* scenario);

// ---- report_render.cpp ----------------------------------------------------------
std::string render_run_page(const RunPage& page);
std::string render_comparison_page(View view);
// A run's banner, after `prefix` (plain text, "" for none), and its facts, as
// templates/banner.html.mustache and facts.html.mustache take them.
View banner_view(const RunPage::Banner& banner, const std::string& prefix);
View facts_view(const RunPage::Facts& facts);

}  // namespace icegate::exercise::detail

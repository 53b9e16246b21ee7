// After-action reports of an exercise run, rendered from a RunResult alone:
//  - JSON: every field, in a stable key order, read back by run_result_from_json;
//  - Mermaid: a sequenceDiagram for slides;
//  - HTML: one self-contained page for facilitators (inline CSS and SVG, works
//    offline), for one run or for the same scenario under two policies.
// Withheld portions carry labels and reasons only: a RunResult never holds a
// withheld body, and no report shows one.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "clients/exercise/results.hpp"
#include "clients/exercise/scenario.hpp"


namespace icegate::exercise {

// Malformed or incomplete report JSON.
class ReportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- JSON -----------------------------------------------------------------
// Times appear twice: as scenario time text ("at": "T-2h") and as milliseconds
// from T+0 ("at_ms": -7200000). Reading uses the milliseconds.
std::string to_json(const RunResult& result);
// {"comparison_version": 1, "first": RunResult, "second": RunResult,
//  "decisions_differ": [...]} (the last is derived, and ignored when read).
std::string to_json(const Comparison& comparison);

RunResult run_result_from_json(std::string_view json);
Comparison comparison_from_json(std::string_view json);

// ---- Mermaid --------------------------------------------------------------
// A `sequenceDiagram`: the gateway and every node that took part as
// participants, one arrow per inject (node ->> gateway) and per delivery
// (gateway ->> node), denials as `--x`, holds and events as notes. What a
// person did is an arrow from their seat ("T-20h sends ..."); media items are
// notes over the gateway.
std::string to_mermaid(const RunResult& result);

// ---- HTML -----------------------------------------------------------------
// The scenario is optional: given, the report also lists its objectives and
// the injects' synopses (never the injects' bodies).
std::string to_html(const RunResult& result, const Scenario* scenario = nullptr);
std::string to_html(const Comparison& comparison, const Scenario* scenario = nullptr);

// ---- Shared helpers -------------------------------------------------------
// "T-48h", "T+0", "T+1h30m", "T+1m30s", "T+2s250ms".
std::string scenario_time_text(Offset offset);
// A duration as a scenario file writes one: "4h", "1h30m", "30m", "0".
std::string duration_text(Offset duration);

// What the gateway decided for one node about one inject (or response), in
// time order: every decision entry, and each delivery no decision entry covers.
struct DecisionRow {
  Offset at{0};
  std::string inject;  // inject or response id; the message title when neither
  std::string message_id;
  std::string title;
  std::string node;  // the recipient
  std::string from;  // the originator
  Decision decision = Decision::release;
  std::vector<Portion> released;
  std::vector<WithheldPortion> withheld;
  std::vector<std::string> rules;
  std::string reason;
  std::string held_for;
};
std::vector<DecisionRow> decision_rows(const RunResult& result);

// Where the two runs of a comparison decided differently for the same inject
// and node: a different sequence of decisions, or a different released set.
struct DecisionDifference {
  std::string inject;
  std::string title;
  std::string node;
  std::vector<DecisionRow> first;  // empty: no decision for this node in that run
  std::vector<DecisionRow> second;
};
std::vector<DecisionDifference> differing_decisions(const Comparison& comparison);

// What each node learnt of each inject and when; result.knowledge, or when the
// runner left it empty, the first delivery of each (node, inject).
std::vector<Knowledge> knowledge_of(const RunResult& result);

namespace detail {
// For bundle.cpp: a RunResult as a JSON value, and back from one.
boost::json::value result_value(const RunResult& result);
RunResult run_result_from_json(const boost::json::value& node);
}  // namespace detail

}  // namespace icegate::exercise

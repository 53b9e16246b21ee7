// Internal to the after-action report: the words and small facts its outputs
// (JSON in report_json.cpp, Mermaid in report_mermaid.cpp, the HTML pages'
// views in report_view.cpp and report_people.cpp) share, defined once in
// report.cpp. Not part of the library's interface (see
// report.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "clients/exercise/results.hpp"

namespace icegate::exercise::detail {

// "send", "reply", "review", "trigger": as the JSON writes a HumanAction's kind.
std::string_view action_kind_name(HumanAction::Kind kind);
// "inject", "delivered", ...: as the JSON writes a timeline entry's kind.
std::string_view kind_name(TimelineEntry::Kind kind);
// Plain words for facilitators: "Released with redactions".
std::string_view decision_words(Decision decision);
// CSS class suffix for a decision ("redacted"); also the SVG marker id suffix.
std::string_view decision_class(Decision decision);
// A label as to_string(Label) writes it, or "UNMARKED".
std::string marking_text(const Label& label);
// "2024-06-14 05:00:00 UTC".
std::string clock_text(std::int64_t unix_ms);
std::size_t met_count(const RunResult& result);
// The inject an entry belongs to, for grouping: its inject or response id, or
// the message title when it came from neither.
std::string inject_key(const TimelineEntry& entry);
// Every node of the run, in the run's order, then any other node the timeline
// names, in order of appearance.
std::vector<std::string> all_nodes(const RunResult& result);
// Cuts `text` to at most `limit` bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string_view text, std::size_t limit, std::string_view ellipsis = "...");
// The portions' markings, ", "-separated.
std::string portion_labels(const std::vector<Portion>& portions);
// An entry's synopsis: its detail, or its title when it has none.
std::string synopsis_of(const TimelineEntry& e);
// The person's action a `human` timeline entry records: the one at the same
// seat, time and message (a trigger has no message), or null.
const HumanAction* action_of(const RunResult& r, const TimelineEntry& e);
// "sends", "replies", "reviews", "triggers".
std::string_view action_verb(HumanAction::Kind kind);
// "sends <title>", "reviews <message>: approve", "triggers <event>", and
// "(refused)" when the gateway refused it: one line of what a person did.
std::string action_summary(const HumanAction* a, const TimelineEntry& e);

}  // namespace icegate::exercise::detail

// The report's own files (report*.cpp, the only ones that include this
// header) call these unqualified.
namespace icegate::exercise {
using detail::action_kind_name;
using detail::kind_name;
using detail::decision_words;
using detail::decision_class;
using detail::marking_text;
using detail::clock_text;
using detail::met_count;
using detail::inject_key;
using detail::all_nodes;
using detail::truncate_utf8;
using detail::portion_labels;
using detail::synopsis_of;
using detail::action_of;
using detail::action_verb;
using detail::action_summary;
}  // namespace icegate::exercise

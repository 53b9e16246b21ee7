// What an exercise run produced: who knew what, and when; every decision and
// its reason; which expectations were met; what fired. Reports (HTML, JSON,
// Mermaid) and comparisons are rendered from this alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "clients/exercise/scenario.hpp"
#include "gateway/model/message.hpp"

namespace icegate::exercise {

// One thing that happened, in scenario time order.
struct TimelineEntry {
  Offset at{0};
  enum class Kind {
    inject,          // an inject was sent (or an event triggered) by `node`
    response,        // a scripted response acted
    contingency,     // a contingency inject fired
    delivered,       // `node` received a version of `message_id`
    decision,        // the gateway decided for `node` (from the originator's Receipt)
    review_request,  // `node` was asked to review or consent
    review,          // `node` answered a review
    event,           // an event was triggered
    error,           // the gateway refused something from `node`
  } kind = Kind::inject;
  std::string node;        // who received / acted
  std::string from;        // the originator / actor
  std::string message_id;
  std::string inject;      // the inject or response id it came from, if any
  std::string title;
  std::string category;
  Decision decision = Decision::release;
  std::vector<Portion> released;           // bodies included: what the node now knows
  std::vector<WithheldPortion> withheld;   // labels and reasons only
  std::vector<std::string> rules;
  std::string reason;
  std::string held_for;
  std::string detail;                      // free text (event name, error text...)
};

struct ExpectationResult {
  std::string id;
  std::string description;
  bool met = false;
  std::optional<Offset> when;  // when it was met (or found unmet)
  std::string evidence;        // why: "council-chief-exec received I03 (redacted) at T-2h"
  // The scenario's key for what was expected ("receives", "does_not_receive_before",
  // ...), so a reader of the results knows what `met` asserts; empty in older results.
  std::string kind;
};

// What one node learnt of one inject's message: the first version and when.
struct Knowledge {
  std::string node;
  std::string inject;
  std::string message_id;
  Offset first_at{0};
  Decision decision = Decision::release;
  std::vector<std::string> released_labels;  // "SECRET/UK EYES ONLY"
  std::vector<std::string> withheld_labels;
};

// How the policy's scheme shows one label: its display marking and colours.
struct MarkingStyle {
  std::string label;        // the label as to_string(Label) gives it: "SECRET [UK EYES ONLY]"
  std::string display;      // the scheme's marking for it
  std::string colour;       // "#rrggbb", or "" when the scheme gives none
  std::string text_colour;
};

struct RunResult {
  std::string scenario;        // name
  std::string scenario_title;
  std::string policy_name;
  std::string policy_version;
  std::string policy_file;     // relative to the scenario's directory, as `policy:` would name it
  std::int64_t t0_unix_ms = 0;
  Offset start{0};
  Offset end{0};
  std::vector<std::string> nodes;
  std::vector<TimelineEntry> timeline;
  std::vector<ExpectationResult> expectations;
  std::vector<Knowledge> knowledge;
  std::vector<std::string> contingencies_fired;  // contingency ids
  std::int64_t frames_delivered = 0;
  std::vector<MarkingStyle> markings;  // every label the timeline shows, in label order
  double wall_seconds = 0;     // how long the run took; not written into reports, which are reproducible
  bool all_met() const;
};

// The same scenario under two policies.
struct Comparison {
  RunResult first;
  RunResult second;
};

}  // namespace icegate::exercise

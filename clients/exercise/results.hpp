// What an exercise run produced: who knew what, and when; every decision and
// its reason; which expectations were met; what fired. Reports (HTML, JSON,
// Mermaid) and comparisons are rendered from this alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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
    human,           // a person at `node`'s seat acted (see RunResult::human_actions)
    media,           // a media item was released (`detail`: its headline; `node`: "" for every seat)
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

// What one recipient got of a person's message, from the originator's Receipt.
struct ActionOutcome {
  std::string node;
  Decision decision = Decision::deny;
  std::vector<std::string> released_labels;  // "SECRET [UK EYES ONLY]", as to_string(Label)
  std::vector<std::string> withheld_labels;
  std::string reason;
  std::vector<std::string> rules;
  bool follow_up = false;  // decided later (a hold settled, an embargo lifted)
};

// Something a person at a seat did, through their node, and what the gateway made of it.
struct HumanAction {
  Offset at{0};
  std::string table;  // which table (one per policy when two play side by side); "" for one
  std::string node;   // the seat
  enum class Kind { send, reply, review, trigger } kind = Kind::send;
  std::string message_id;  // send, reply: the message; review: the held message
  std::string title;
  std::string category;
  std::string purpose;
  std::vector<std::string> to;        // addressees as written: "node:npt-officer", "role:..."
  std::vector<std::string> labels;    // each portion's label, in portion order
  std::string detail;                 // review: "approve" / "refuse" / "redact 2"; trigger: the event
  std::string in_reply_to;            // reply: the message it answers
  // What prompted it: the inject (or message) last delivered to the seat before
  // the action (for a reply, the message replied to), and how long the person took.
  std::string prompted_by;            // inject id, or message id when it came from no inject
  std::optional<Offset> response_time;
  std::vector<ActionOutcome> outcomes;  // per recipient, as the Receipt(s) said
  std::string refused;                // the gateway refused the frame: "CODE: text"
};

// A media item (news article, social post, journalist's call) shown to seats.
struct MediaRelease {
  std::string id;
  Offset at{0};
  std::string kind;      // "news", "social", "call"
  std::string source;    // "Evening Standard", "@localreporter"
  std::string headline;
  std::string body;
  std::vector<std::string> seats;  // empty: every seat
  bool by_hand = false;            // released by the facilitator, not at its scheduled time
};

// HSEEP's Exercise Evaluation Guide: observations against objectives, and a
// rating of each objective on its four-level scale.
struct Observation {
  Offset at{0};
  std::string evaluator;
  std::string objective;  // objective id
  std::string table;
  std::string text;
};

enum class Rating { P, S, M, U };  // performed without challenges / some / major / unable to be performed
std::string_view to_string(Rating rating);
std::string_view describe(Rating rating);  // "Performed without challenges", ...

struct ObjectiveRating {
  std::string objective;
  std::string evaluator;
  std::string table;
  Rating rating = Rating::P;
  std::string note;
};

struct ImprovementItem {
  std::string issue;
  std::string corrective_action;
  std::string owner;
  std::string due;        // a date as the facilitator wrote it ("2027-01-31")
  std::string objective;  // optional objective id
};

// One gateway of a run across several (`gateways:`): it decided for its own nodes.
struct GatewayResult {
  std::string id;
  std::string address;
  std::string policy_name;
  std::string policy_version;
  std::string policy_file;  // relative to the scenario's directory
  std::vector<std::string> nodes;
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
  // Several gateways: each, with the nodes it decided for (empty: one
  // gateway, the policy_* fields above; with several, those are the first's).
  std::vector<GatewayResult> gateways;
  // The gateway that decided for `node` ("" with one gateway). Inline: the
  // runner's library and the reports' both use it.
  std::string gateway_of(const std::string& node) const {
    for (const auto& g : gateways)
      for (const auto& n : g.nodes)
        if (n == node) return g.id;
    return {};
  }
  std::vector<TimelineEntry> timeline;
  std::vector<ExpectationResult> expectations;
  std::vector<Knowledge> knowledge;
  std::vector<std::string> contingencies_fired;  // contingency ids
  std::int64_t frames_delivered = 0;
  std::vector<MarkingStyle> markings;  // every label the timeline shows, in label order
  double wall_seconds = 0;     // how long the run took; not written into reports, which are reproducible
  std::size_t worker_processes = 0;  // how many processes held the nodes (0: the runner's own); not in reports either
  // Played by people (exercise host): who sat where, what they did, what the
  // evaluators saw, and what the facilitator will do about it.
  std::vector<std::string> played;        // the nodes people played (empty: a scripted run)
  std::string table;                      // this table's name when two play side by side
  std::vector<HumanAction> human_actions; // in time order
  std::vector<MediaRelease> media;        // in time order
  std::vector<Observation> observations;
  std::vector<ObjectiveRating> ratings;
  std::vector<ImprovementItem> improvement_plan;
  std::vector<Objective> objectives;      // the scenario's, so a report can name them
  bool all_met() const;
};

// The same scenario under two policies.
struct Comparison {
  RunResult first;
  RunResult second;
};

}  // namespace icegate::exercise

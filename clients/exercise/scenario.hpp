// Exercise scenarios: a Master Scenario Events List (MSEL) of timed injects,
// the expectations a facilitator checks, contingency injects that fire when an
// expectation is unmet, and scripted responses of simulated agencies.
// The file format is documented in scenarios/README.md.
//
// Scenario time is relative to T+0 (the moment the scenario turns on, e.g.
// the arrest): "T-48h", "T+0", "T+2h30m". t0 maps it onto the clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/message.hpp"

namespace icegate::exercise {

using Offset = std::chrono::milliseconds;  // scenario time: offset from T+0

// "T-48h", "T+0", "T+1h30m", "T+90s" <-> offset.
std::optional<Offset> parse_scenario_time(std::string_view text);
std::string format_scenario_time(Offset offset);
// "30m", "2h", "1d", "1h30m".
std::optional<Offset> parse_duration(std::string_view text);

// What a scenario says a message is: like a message file, without id or originator.
struct MessageSpec {
  std::vector<Addressee> to;
  std::string category;
  std::string purpose;
  std::string title;
  std::vector<Portion> portions;  // ids "1", "2"... unless given
  Handling handling;              // not_before / not_after given as scenario times
  std::optional<Offset> not_before;
  std::optional<Offset> not_after;
};

struct Inject {
  std::string id;  // "I01"
  Offset at{0};
  std::string from;  // the sending node
  // Either a message...
  std::optional<MessageSpec> message;
  // ...or a named event the node triggers (e.g. "operation-start").
  std::string trigger;
  std::string synopsis;
  std::string expected_action;
  std::string objective;
  int line = 0;  // where it is in the scenario file
};

enum class ExpectationKind {
  receives,                    // node receives inject's message (a version of it) by a time
  does_not_receive,            // node never receives inject's message
  never_receives_at_or_above,  // node never receives a portion at or above a classification
  originator_receipt,          // the inject's originator gets a Receipt by a time
  approved_within,             // a held version of the inject is approved within a duration
};

enum class Version { any, full, redacted };

struct Expectation {
  std::string id;  // "E1"
  ExpectationKind kind = ExpectationKind::receives;
  std::string description;
  std::string node;
  // receives, does_not_receive, originator_receipt, approved_within: an inject
  // id, or the id of a response that sends a message.
  std::string inject;
  Version version = Version::any;      // receives
  std::string classification;          // never_receives_at_or_above
  std::optional<Offset> by;            // receives, originator_receipt: deadline (scenario time)
  std::optional<Offset> within;        // approved_within: from the inject's time
  std::string objective;
  int line = 0;
};

// Fires when an expectation is found unmet at its deadline (or at the end).
struct Contingency {
  std::string id;
  std::string when_unmet;  // expectation id
  Inject inject;           // its `at` is ignored: it fires when the expectation fails
};

enum class ResponseTrigger { receives_category, receives_inject, review_request, event };

// A simulated agency acting on what it receives.
struct Response {
  std::string id;
  std::string node;
  ResponseTrigger on = ResponseTrigger::receives_category;
  std::string on_value;   // the category, inject id, or event name
  Offset after{0};        // delay after the trigger
  // What it does: send a message, answer a review, or trigger an event.
  std::optional<MessageSpec> send;
  std::string review;     // "approve" | "refuse" | "redact"
  std::vector<std::string> redact_portions;
  std::string trigger;
  bool once = true;       // respond to the first matching occurrence only
  std::string synopsis;
  int line = 0;
};

struct Objective {
  std::string id;
  std::string text;
};

struct Scenario {
  std::string name;  // "operation-nicole"
  std::string title;
  std::string description;
  std::filesystem::path file;
  std::filesystem::path policy;  // default policy, resolved against the scenario file
  std::int64_t t0_unix_ms = 0;   // the clock time of T+0
  Offset start{0};               // the scenario starts at this scenario time (e.g. T-48h)
  Offset end{0};                 // and ends at this one
  std::vector<std::string> nodes;  // the participating nodes (empty: every node of the policy)
  std::vector<Objective> objectives;
  std::vector<Inject> injects;     // sorted by `at`, then file order
  std::vector<Expectation> expectations;
  std::vector<Contingency> contingencies;
  std::vector<Response> responses;
};

// what() is "file:line:col: message".
class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads a scenario (YAML). Every problem found is reported, one per line.
Scenario load_scenario(const std::filesystem::path& file);
Scenario parse_scenario(std::string_view text, const std::filesystem::path& file);

// The inject list of a spreadsheet (CSV, RFC 4180) as injects; see scenarios/README.md
// for the columns. Errors name the row and column.
std::vector<Inject> import_injects_csv(std::string_view text, std::string_view source_name);

// A message for an inject or response, at scenario time `now`.
Message make_message(const MessageSpec& spec, const std::string& from, std::int64_t t0_unix_ms);

}  // namespace icegate::exercise

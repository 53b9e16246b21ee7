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
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/diagnostics.hpp"

namespace icegate::exercise {

using Offset = std::chrono::milliseconds;  // scenario time: offset from T+0

// Scenario problems are policy-style diagnostics (`file:line:col:
// error[X005]: ...`), so a facilitator reads one format for both files; the
// X codes are listed in scenarios/README.md.
using policy::Code;
using policy::Diagnostics;
using policy::SourceLocation;

// Where the parts of a scenario item were written, so that a problem found
// later (against the policy, before a run) still points at the exact value.
struct Locations {
  SourceLocation self;  // the item itself (its mapping, or its CSV row)
  // By field: "from", "to[1]", "category", "portions[0].label", "on", ...
  std::map<std::string, SourceLocation, std::less<>> fields;
  // The field's location, else the item's.
  const SourceLocation& operator[](std::string_view field) const;
};

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
  Locations where;
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
  Locations where;
};

enum class ExpectationKind {
  receives,                    // node receives inject's message (a version of it) by a time
  does_not_receive,            // node never receives inject's message
  does_not_receive_before,     // node receives no version of inject's message before a time
  never_receives_at_or_above,  // node never receives a portion at or above a classification
  originator_receipt,          // the inject's originator gets a Receipt by a time
  approved_within,             // a held version of the inject is approved within a duration
  sends,                       // node sends a message of `category` to `to` by a time (people can meet it)
};

// The scenario file's key for the kind: "receives", "does_not_receive_before", ...
std::string_view to_string(ExpectationKind kind);

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
  std::optional<Offset> before;        // does_not_receive_before: the embargo (scenario time)
  std::optional<Offset> within;        // approved_within: from the inject's time
  std::string category;                // sends: the information category
  std::vector<Addressee> to;           // sends: an addressee the message must name (any one of these)
  std::string objective;
  int line = 0;
  Locations where;
};

// Fires when an expectation is found unmet at its deadline (or at the end).
struct Contingency {
  std::string id;
  std::string when_unmet;  // expectation id
  Inject inject;           // has no `at`: it fires when the expectation fails
  Locations where;
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
  Locations where;
};

// A media item: a news article, a social post or a journalist's call, shown
// to every seat or to named seats, at its time or when the facilitator
// releases it by hand (`at` absent: by hand only). Media pressure is one of
// Operation Nicole's dilemmas; an item never passes through the gateway.
struct MediaItem {
  std::string id;  // "M1"
  std::optional<Offset> at;
  std::string kind;      // "news", "social", "call"
  std::string source;    // "Birmingham Mail", "@sparkhill_news", "BBC WM producer"
  std::string headline;
  std::string body;
  std::vector<std::string> seats;  // nodes; empty: every seat
  int line = 0;
  Locations where;
};

// One gateway of a scenario across several (`gateways:`; docs/FEDERATION.md):
// its id (its certificate's Common Name, the id its peers' policies name),
// its policy, the loopback address it listens on, and the scenario's nodes
// that are its own (empty: every node of its policy).
struct ScenarioGateway {
  std::string id;                // "gw-wm-ctu"
  std::filesystem::path policy;  // resolved against the scenario file
  std::string address;           // "127.0.0.2"
  std::vector<std::string> nodes;
  int line = 0;
  Locations where;  // "id", "policy", "address", "nodes[i]"
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
  // Several gateways that peer, each with its policy and nodes (then `policy`
  // and `nodes` are empty); empty: one gateway, under `policy`.
  std::vector<ScenarioGateway> gateways;
  std::vector<Objective> objectives;
  std::vector<Inject> injects;     // sorted by `at`, then file order
  std::vector<Expectation> expectations;
  std::vector<Contingency> contingencies;
  std::vector<Response> responses;
  // People: the nodes played by people at their own screens (`players:`; the
  // host's --play overrides it), the evaluators' seats, and the media feed.
  std::vector<std::string> players;
  std::vector<std::string> evaluators;  // names: "Lead evaluator"; the host gives each a seat
  std::vector<MediaItem> media;         // sorted by `at` (by-hand items last), then file order
  Locations where;  // top-level keys, and "nodes[i]"
};

// A scenario that does not load: every problem, sorted by file, line and
// column; what() is their rendering, one per line.
class ScenarioError : public std::runtime_error {
 public:
  explicit ScenarioError(Diagnostics diagnostics);
  const Diagnostics& diagnostics() const { return diagnostics_; }

 private:
  Diagnostics diagnostics_;
};

// Every problem, sorted, one `file:line:col: error[X...]: message` per line.
std::string render(const Diagnostics& diagnostics);

// Reads a scenario (YAML) and the CSV it names; the scenario is set only when
// there is no error. Does not throw for bad input.
struct ScenarioLoad {
  std::optional<Scenario> scenario;
  Diagnostics diagnostics;
};
ScenarioLoad read_scenario(const std::filesystem::path& file);
ScenarioLoad read_scenario_text(std::string_view text, const std::filesystem::path& file);

// The same, throwing ScenarioError with every problem.
Scenario load_scenario(const std::filesystem::path& file);
Scenario parse_scenario(std::string_view text, const std::filesystem::path& file);

// The inject list of a spreadsheet (CSV, RFC 4180, with or without a UTF-8
// byte-order mark) as injects; see scenarios/README.md for the columns.
// Problems name the cell (`file:line:col`) and go into `diagnostics`.
std::vector<Inject> read_injects_csv(std::string_view text, std::string_view source_name, Diagnostics& diagnostics);
// The same, throwing ScenarioError.
std::vector<Inject> import_injects_csv(std::string_view text, std::string_view source_name);

// A message for an inject or response, at scenario time `now`.
Message make_message(const MessageSpec& spec, const std::string& from, std::int64_t t0_unix_ms);

}  // namespace icegate::exercise

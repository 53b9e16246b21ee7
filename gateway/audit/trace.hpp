// One message's path across gateways, rebuilt from their audit trails
// (`icegate audit trace MESSAGE_ID DIR...`; issue 18, docs/FEDERATION.md).
//
// Each gateway keeps its own trail and audits its own decisions: the
// originator's `submit`, a `decision` per local recipient, a `peer_forward`
// per next gateway (what it forwarded, what it withheld and why), and at the
// next gateway a `peer_receive` (or `peer_refused`) naming the gateway it came
// from. Given the trails of several gateways, trace:
//   - verifies each trail's hash chain (a broken chain is a problem);
//   - finds the origin (the trail holding the submit) and names each trail's
//     gateway, where not named by the caller, from the hops that reach it
//     (the origin's own forwards name it as their origin);
//   - pairs each forward with its receipt, and names where two trails
//     disagree: a gateway that recorded receiving portions its sender does
//     not say it forwarded, a receipt with no forward behind it, a message
//     received that the sender did not send.
// A hop to a gateway whose trail was not given, or a forward its trail shows
// no receipt of (still owed, or lost), is a note, not a problem: trace says
// what the trails given can show, and no more.
//
// Pure reading: the trails are opened read-only, as `audit verify` does.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/audit/audit.hpp"

namespace icegate::audit {

struct TraceInput {
  std::string gateway;  // the trail's gateway id; "" to infer it
  std::filesystem::path dir;
};

// One gateway's part: its trail's records about the message.
struct TraceGateway {
  std::string id;  // named, inferred, or "" when neither could be
  std::filesystem::path dir;
  bool origin = false;  // holds the message's submit
  VerifyReport chain;
  std::vector<StoredRecord> records;  // about the message, in seq order
};

// One step from a gateway to the next, as the two trails tell it.
struct TraceHop {
  std::string from;
  std::string to;
  std::string decision;  // the sender's: RELEASE, RELEASE_REDACTED or DENY (not sent)
  std::vector<std::string> forwarded;  // portion ids, as the sender recorded
  std::vector<std::string> withheld;   // "p1: above_ceiling: SECRET is above ..."
  std::string reason;                  // why not sent, for DENY
  bool receiver_trail = false;         // the receiving gateway's trail was given
  bool received = false;               // ... and records a peer_receive from `from`
  std::vector<std::string> received_portions;
  std::string refused;                 // the receiver's peer_refused reason and detail, if it refused
};

struct TraceFinding {
  std::string gateway;  // whose trail it is about ("" for the whole)
  std::string text;
};

struct Trace {
  std::string message_id;
  std::vector<TraceGateway> gateways;  // the origin first, then in the order the hops reach them; unreached last
  std::vector<TraceHop> hops;          // in the same order
  std::vector<TraceFinding> problems;  // a broken chain, trails that disagree
  std::vector<TraceFinding> notes;     // what the trails given cannot show
  bool consistent() const { return problems.empty(); }
};

// Reads every trail (std::runtime_error when one cannot be opened, naming it)
// and rebuilds the message's path.
Trace trace(std::string_view message_id, const std::vector<TraceInput>& trails);

void write_trace_text(std::ostream& out, const Trace& trace);
std::string trace_json(const Trace& trace);

}  // namespace icegate::audit

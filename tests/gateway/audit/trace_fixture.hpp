// Three gateways' trails of one message across a chain of peers, written as
// the gateways write them (docs/FEDERATION.md, "A decision at every hop"):
// the West Midlands CTU's gateway (the origin) forwards to Birmingham City
// Council's, which forwards to Staffordshire Police's. Each trail also holds
// other records, so the message's are not the whole trail.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "gateway/audit/audit.hpp"
#include "tests/gateway/audit/audit_fixture.hpp"

namespace icegate::testing {

inline constexpr const char* traced_message = "7d3c1f0e-5b1a-4c2e-9f6d-2a8b4c6d8e01";

inline audit::AuditRecord trace_record(std::int64_t at, std::string kind, std::string node, std::string recipient,
                                       std::string decision, std::string detail) {
  audit::AuditRecord record;
  record.time_unix_ms = sample_start_unix_ms + at;
  record.kind = std::move(kind);
  record.node = std::move(node);
  record.recipient = std::move(recipient);
  record.message_id = traced_message;
  record.decision = std::move(decision);
  record.policy_version = "sha256:test";
  record.detail = std::move(detail);
  return record;
}

struct TraceTrails {
  std::vector<audit::AuditRecord> origin, council, force;
};

// The chain as it should be: the origin withholds p1 (SECRET) from the
// council; the council withholds p2 (PERSONAL) from the force.
inline TraceTrails chain_of_three() {
  TraceTrails trails;
  trails.origin = sample_records(6);
  trails.origin.push_back(trace_record(1000, "submit", "ctu-analyst", "", "",
                                       R"({"category":"tension-report","purpose":"prevent","portions":3})"));
  trails.origin.push_back(trace_record(1001, "decision", "ctu-analyst", "ctu-sio", "RELEASE", "{}"));
  trails.origin.push_back(trace_record(
      1002, "peer_forward", "gw-birmingham", "", "RELEASE_REDACTED",
      R"({"peer":"gw-birmingham","origin":"gw-wm-ctu","via":[],"hop":1,"recipients":["org:birmingham-cc","org:staffs-police"],"forwarded":["p2","p3"],"withheld":[{"portion":"p1","reason":"above_ceiling","detail":"SECRET is above gw-birmingham's accreditation, which holds up to OFFICIAL-SENSITIVE"}]})"));
  trails.council = sample_records(4);
  trails.council.push_back(trace_record(
      1100, "peer_receive", "gw-wm-ctu", "", "",
      R"({"peer":"gw-wm-ctu","origin":"gw-wm-ctu","via":[],"hop":1,"portions":["p2","p3"],"binding":"verified"})"));
  trails.council.push_back(trace_record(1101, "decision", "ctu-analyst", "bcc-prevent-coordinator", "RELEASE", "{}"));
  trails.council.push_back(trace_record(
      1102, "peer_forward", "gw-staffordshire", "", "RELEASE_REDACTED",
      R"({"peer":"gw-staffordshire","origin":"gw-wm-ctu","via":["gw-birmingham"],"hop":2,"recipients":["org:staffs-police"],"forwarded":["p3"],"withheld":[{"portion":"p2","reason":"category_not_held","detail":"LOCSEN is not among the categories gw-staffordshire may hold"}]})"));
  trails.force = sample_records(3);
  trails.force.push_back(trace_record(
      1200, "peer_receive", "gw-birmingham", "", "",
      R"({"peer":"gw-birmingham","origin":"gw-wm-ctu","via":["gw-birmingham"],"hop":2,"portions":["p3"],"binding":"verified"})"));
  trails.force.push_back(trace_record(1201, "decision", "ctu-analyst", "staffs-prevent-lead", "RELEASE", "{}"));
  return trails;
}

}  // namespace icegate::testing

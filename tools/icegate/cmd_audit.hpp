// `icegate audit ...`: check and read the audit trail (gateway/audit) in a
// gateway's data directory (DIR/icegate.db), read-only.
//   audit verify DIR [--json] [--witness FILE... --ca CA.crt]
//       exit 0: the chain is intact; 2: problems found, one per line
//       ("seq N: modified: ..."); 1: error (no database, unreadable, or a
//       witness that cannot be read or was not signed under CA.crt).
//       Each witness is a signed head (audit head): a trail cut before it
//       is "truncated", one whose witnessed record changed is "rewritten".
//   audit head DIR --pki PKI [--out FILE]
//       signs the head of an intact trail with PKI/gateway.key, for a peer
//       (or anyone off this host) to keep as a witness; exit 2 if the trail
//       does not verify, 1 on error.
//   audit query DIR [--node N] [--message ID] [--decision D] [--kind K]
//                   [--since T] [--until T] [--format text|jsonl|csv]
//       T is ISO-8601 UTC (2026-11-21T06:00:00Z, fraction of a second allowed)
//       or Unix milliseconds; since and until are inclusive.
//       exit 0, or 1 on bad arguments or no database.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace icegate::cli {

struct AuditVerifyParams {
  std::filesystem::path dir;  // the gateway's data directory
  bool json = false;
  std::vector<std::filesystem::path> witnesses;  // signed heads to check the trail against
  // Peers' data directories: the witness records of DIR's gateway's heads in their trails.
  std::vector<std::filesystem::path> witnesses_from;
  std::filesystem::path ca;                       // the CA that issued the signing gateway's certificate
};

struct AuditHeadParams {
  std::filesystem::path dir;
  std::filesystem::path pki;  // signs with pki/gateway.key, names pki/gateway.crt
  std::filesystem::path out;  // empty: standard output
  std::int64_t now_unix_ms = 0;  // 0: the system clock (tests fix it)
};

// Empty strings mean "not given".
struct AuditQueryParams {
  std::filesystem::path dir;
  std::string node;        // the acting node or the recipient
  std::string message_id;
  std::string decision;    // RELEASE, RELEASE_REDACTED, HOLD or DENY (any case)
  std::string kind;        // one of audit::record_kinds
  std::string since;       // a time, see parse_time_argument
  std::string until;
  std::string format = "text";  // text, jsonl or csv
};

// `audit trace MESSAGE_ID DIR...`: each DIR a gateway's data directory, or
// GATEWAY=DIR to name the gateway whose trail it is.
struct AuditTraceParams {
  std::string message_id;
  std::vector<std::string> trails;
  bool json = false;
};

int run_audit_verify(const AuditVerifyParams& params, std::ostream& out, std::ostream& err);
int run_audit_trace(const AuditTraceParams& params, std::ostream& out, std::ostream& err);
int run_audit_head(const AuditHeadParams& params, std::ostream& out, std::ostream& err);
int run_audit_query(const AuditQueryParams& params, std::ostream& out, std::ostream& err);

// "2026-11-21T06:00:00Z", "2026-11-21T06:00:00.250Z" (or "+00:00" for "Z"),
// or Unix milliseconds ("1795240800000"); nullopt for anything else.
std::optional<std::int64_t> parse_time_argument(std::string_view text);

}  // namespace icegate::cli

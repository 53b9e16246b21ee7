// Signed audit heads and the witnesses that hold them (issue 18, point 5;
// docs/FEDERATION.md, "Peers witness each other's audit trail").
//
// The hash chain holds no secret: whoever can write a gateway's database can
// cut records from the end of its trail, or rewrite a record and re-hash every
// one after it, and the chain still verifies (docs/SECURITY.md). A signed head
// closes that gap. The gateway signs, with its certificate's key, "my trail
// held records 1..seq, the last with hash H, at time T", and the head is kept
// somewhere the gateway's own disk cannot reach: by its peers, as witnesses.
// Checked against a witness, a trail that now ends before `seq` was cut, and a
// trail whose record `seq` has another hash was rewritten; either is named.
//
// A witness file is one JSON object:
//   {"format": "icegate-audit-head/1", "gateway": CN, "seq": N, "hash": H,
//    "signed_unix_ms": T, "signed_at": ISO-8601, "signature": hex,
//    "certificate": PEM}
// The signature covers signed_bytes(): the format, seq, hash and time, one per
// line; "gateway" and "signed_at" are for people and are not trusted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/audit/audit.hpp"

namespace icegate::pki {
class SigningKey;
}

namespace icegate::audit {

// A witness file that cannot be read, parsed or trusted; the text names the file.
class WitnessError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A peer's trail whose own hash chain does not verify: none of its witness
// records is used, since a trail that cannot vouch for itself cannot vouch
// for another's. what() names the peer's database file, the first broken
// record (its seq and the kind of break) and why, and says how many problems
// the chain has in all; problems() gives each, in seq order.
class UnverifiedPeerTrail : public WitnessError {
 public:
  UnverifiedPeerTrail(std::filesystem::path database, std::vector<VerifyProblem> problems);
  const std::filesystem::path& database() const { return database_; }
  const std::vector<VerifyProblem>& problems() const { return problems_; }

 private:
  std::filesystem::path database_;
  std::vector<VerifyProblem> problems_;
};

inline constexpr std::string_view signed_head_format = "icegate-audit-head/1";

struct SignedHead {
  std::int64_t seq = 0;          // the last record's seq (the trail's length: seqs run 1..seq)
  std::string hash;              // its hash
  std::int64_t signed_unix_ms = 0;
  std::string signature;         // raw bytes
  std::string certificate_pem;   // the signing gateway's certificate
};

// The bytes the signature covers.
std::string signed_bytes(const SignedHead& head);

// Signs the head of DIR's trail with `key` (PEM), naming `certificate`. The
// trail must verify: a head is a statement that the trail up to it was intact,
// so a broken trail is refused (WitnessError listing its first problem).
SignedHead sign_head(const std::filesystem::path& data_dir, const std::filesystem::path& key,
                     const std::filesystem::path& certificate, std::int64_t now_unix_ms);

// Signs a head the caller already knows (a running gateway's durable head,
// Store::durable_audit_head), without reading the trail: with a key kept
// loaded, naming `certificate_pem`. Throws pki::PkiError when the key cannot sign.
SignedHead sign_head(const TrailHead& trail_head, const pki::SigningKey& key, std::string certificate_pem,
                     std::int64_t now_unix_ms);

// The witness file's text (one JSON object and a newline).
std::string to_witness_json(const SignedHead& head);
// Parses a witness file's text; `source` (its path) names it in errors.
SignedHead parse_witness(std::string_view text, std::string_view source);

struct Witness {
  std::string source;  // where it came from (its file), for the report
  SignedHead head;
};
// Reads and parses a witness file.
Witness read_witness(const std::filesystem::path& file);

// The record a gateway keeps of a head its peer `peer_id` sent (kind
// "witness", node = the peer): the witness file's object, and
// "peer_gateway": true, as its detail.
AuditRecord witness_record(const std::string& peer_id, const SignedHead& head);

// The witnesses a peer's trail holds of one gateway's heads: the `witness`
// records in PEER_DIR's trail whose certificate `ca` issued (heads of other
// gateways the peer witnesses are passed over), each named "PEER_DIR seq N".
// The peer's own chain is verified first (audit::verify), before any witness
// is read from it: UnverifiedPeerTrail when it does not hold. WitnessError
// when PEER_DIR has no trail or a witness record does not parse.
std::vector<Witness> witnesses_from(const std::filesystem::path& peer_dir, const std::filesystem::path& ca);

// The last head of `peer_id` DIR's trail keeps a witness record of, if any
// (read from the end of the trail: witness records are frequent).
std::optional<TrailHead> last_witnessed(const std::filesystem::path& data_dir, const std::string& peer_id);

// Checks DIR's trail against each witness, after checking that each was
// signed by a certificate `ca` issued (WitnessError otherwise: an untrusted
// witness proves nothing either way). Returns the problems found, in seq
// order: `truncated` where the trail ends before a witnessed head,
// `rewritten` where the witnessed record's hash differs.
std::vector<VerifyProblem> check_witnesses(const std::filesystem::path& data_dir, const std::vector<Witness>& witnesses,
                                           const std::filesystem::path& ca);

}  // namespace icegate::audit

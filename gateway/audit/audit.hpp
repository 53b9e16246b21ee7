// The audit trail: every decision, hold, approval, refusal, connection and
// refused connection, appended to a hash-chained table in the gateway's SQLite
// database (DIR/icegate.db), in the same transaction as the state it records.
//
// Each record's hash is SHA-256 over the previous record's hash and the
// record's canonical JSON, so `icegate audit verify` detects a modified,
// deleted, inserted or reordered record and says which.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace icegate::sqlite {
class Connection;
}

namespace icegate::audit {

// One event worth recording. `kind` is one of: connection, connection_refused,
// disconnection, submit, submit_refused, decision, hold, review, trigger,
// embargo_lifted, expired, hold_expired, undeliverable, labels_translated
// (a message marked under an accepted scheme, translated to the policy's),
// policy_loaded, policy_refused, shadow_difference (what the shadow policy,
// `serve --shadow-policy`, would have decided differently for one recipient;
// never enforced), peer_frame_refused (a frame a peer gateway sent that this
// gateway does not take: a Forward while forwarding is not enabled, or a
// frame only a node may send), and between gateways (docs/FEDERATION.md):
// peer_forward (what went to a next peer gateway, or why nothing did),
// peer_receive (a frame from a peer accepted) and peer_refused (one refused by
// the hop's checks, with its reason). A peer gateway's link going up and down
// is a connection or disconnection whose detail says "peer_gateway": true.
// witness: a peer gateway's signed audit head, checked and kept here so that
// a cut or rewrite of the peer's own trail can be named (witness.hpp; a head
// that fails the check is a peer_refused whose detail says "frame":
// "audit_head").
// (record_kinds below lists them; `icegate audit query --kind` checks against it.)
inline constexpr std::array<std::string_view, 22> record_kinds = {
    "connection",     "connection_refused", "disconnection",      "submit",            "submit_refused",
    "decision",       "hold",               "review",             "trigger",           "embargo_lifted",
    "expired",        "hold_expired",       "undeliverable",      "labels_translated", "policy_loaded",
    "policy_refused", "shadow_difference",  "peer_frame_refused", "peer_forward",      "peer_receive",
    "peer_refused",
    "witness"};

// The previous_hash of the first record: 64 '0's.
inline constexpr std::string_view genesis_hash =
    "0000000000000000000000000000000000000000000000000000000000000000";
struct AuditRecord {
  std::int64_t time_unix_ms = 0;
  std::string kind;
  std::string node;        // who acted: the sender, reviewer, connecting node
  std::string recipient;   // for decisions: the recipient
  std::string message_id;
  std::string decision;    // RELEASE | RELEASE_REDACTED | HOLD | DENY, for decisions
  std::vector<std::string> rules;
  std::string policy_version;
  // Everything else, as a JSON object's text (labels released and withheld,
  // reasons, peer address, hold id...). Must be valid JSON; "{}" if nothing.
  std::string detail = "{}";
  // Set by a writer of `detail` that guarantees it is exactly one JSON
  // object as the audit trail's reader reads one (nesting at most 200 deep),
  // with no white space around it: json::Writer's text (at most
  // json::Writer's 16 levels). The record is then written without `detail`
  // being checked again, which otherwise costs a read of every byte on the
  // store's writer thread. Left false, `detail` is checked, and text that is
  // not one object is kept as a string. Whoever sets `detail` to anything
  // else afterwards must clear it.
  bool detail_is_object = false;
};

// A record as stored: with its position and chain hashes.
struct StoredRecord {
  std::int64_t seq = 0;
  AuditRecord record;
  std::string canonical;  // the canonical JSON that was hashed
  std::string previous_hash;  // hex
  std::string hash;           // hex
};

// The canonical JSON of a record: fixed key order, no insignificant space.
// `detail` is embedded as it is if it is one JSON object (surrounding white
// space dropped), otherwise as a JSON string holding its text; with
// detail_is_object set, it is embedded as it is without being checked.
std::string canonical_json(const AuditRecord& record);
// hex(SHA-256(previous_hash_hex + "\n" + canonical))
std::string chain_hash(const std::string& previous_hash_hex, const std::string& canonical);
// `text` as a JSON string literal, quotes included: the escaping canonical_json
// uses (quote, backslash and control characters escaped; other bytes, UTF-8
// included, as they are).
std::string json_string(std::string_view text);

// Creates the audit tables (and indexes) if absent, and brings a trail
// written by an older icegate up to date (its indexes of node, recipient,
// time and message, or of message numbers, and the party index of later
// versions, replaced by blocks, which the writer then makes from the first
// record on, in bulk). Works inside or outside the caller's transaction.
void create_schema(const sqlite::Connection& db);

// Appends records inside the caller's open transaction. Owned by the one
// thread that writes the database. If the caller's transaction rolls back, it
// must call reload_head() before appending again.
// The audit table must exist (create_schema) before construction. The chain
// keeps `db` and prepared statements on it: destroy the chain first.
// append() throws std::runtime_error if the insert fails; the head is then
// unchanged.
class AuditChain {
 public:
  explicit AuditChain(const sqlite::Connection& db);
  ~AuditChain();
  AuditChain(const AuditChain&) = delete;
  AuditChain& operator=(const AuditChain&) = delete;
  void append(const AuditRecord& record);
  void reload_head();
  // The blocks (audit_blocks, audit_block_parties: docs in database.cpp),
  // which `query --node`, `--message-id`, `--since` and `--until` read, are not written
  // record by record: index_blocks(), which the store's writer calls once
  // enough records are waiting, summarises the next records in seq order as
  // one block. A query reads the records in no block yet (seq above
  // indexed()) from the table itself. Both run inside the caller's
  // transaction; a rollback is undone by reload_head(), as for append().
  std::int64_t indexed() const { return indexed_; }
  std::int64_t unindexed() const { return count_ - indexed_; }
  // Makes one block of the next `limit` records at most (in seq order);
  // returns how many it holds (0: none waiting, no block).
  std::int64_t index_blocks(std::int64_t limit);
  const std::string& head() const { return head_; }
  // The last record's seq: the number of records in a chain written only by
  // AuditChain (seq starts at 1, no gaps). Not a COUNT(*), which is O(n).
  std::int64_t count() const { return count_; }

 private:
  struct Writer;  // the prepared statements, a reusable hash context and JSON buffer
  const sqlite::Connection& db_;
  std::string head_;  // hash of the last record ("" + 64 zeros for an empty chain)
  std::int64_t count_ = 0;
  std::int64_t indexed_ = 0;  // every record up to this seq is in a block
  std::unique_ptr<Writer> writer_;
};

// A trail's head: the last record's seq (the trail's length) and its hash
// (genesis_hash for an empty trail). What a gateway signs for its peers to
// witness (witness.hpp).
struct TrailHead {
  std::int64_t seq = 0;
  std::string hash;
};

// The last two are found only against a signed head a peer witnessed
// (witness.hpp): the chain alone cannot tell them from a shorter trail.
enum class ProblemKind { modified, deleted, inserted, reordered, truncated, rewritten };
std::string_view to_string(ProblemKind kind);  // "modified", "deleted", ...

struct VerifyProblem {
  std::int64_t seq = 0;  // where the chain breaks
  ProblemKind kind = ProblemKind::modified;
  std::string text;      // why, e.g. "its hash does not match its content"; shown as
                         // "seq 42: modified: its hash does not match its content"
};

struct VerifyReport {
  std::int64_t records = 0;
  std::string head_hash;
  std::vector<VerifyProblem> problems;
  bool intact() const { return problems.empty(); }
};

// Reads DIR/icegate.db (read-only) and checks the whole chain, reporting every
// problem found, in seq order. Throws std::runtime_error if the database
// cannot be opened or has no audit table.
// Limitation: the chain holds no secret, so records removed from the end (a
// truncated tail), or a tail rewritten and re-hashed from some record on, look
// like a shorter or different intact chain. Checked against signed heads a
// peer witnessed (witness.hpp, check_witnesses), both are found.
VerifyReport verify(const std::filesystem::path& data_dir);

struct QueryFilter {
  std::optional<std::string> node;        // matches node or recipient
  std::optional<std::string> message_id;
  std::optional<std::string> decision;
  std::optional<std::string> kind;
  std::optional<std::int64_t> since_unix_ms;
  std::optional<std::int64_t> until_unix_ms;
};

std::vector<StoredRecord> query(const std::filesystem::path& data_dir, const QueryFilter& filter);

void write_jsonl(std::ostream& out, const std::vector<StoredRecord>& records);
void write_csv(std::ostream& out, const std::vector<StoredRecord>& records);
void write_text(std::ostream& out, const std::vector<StoredRecord>& records);

std::filesystem::path database_path(const std::filesystem::path& data_dir);  // DIR/icegate.db

}  // namespace icegate::audit

// Peers witness each other's audit trail (issue 18, point 5; docs/FEDERATION.md,
// "Peers witness each other's audit trail").
//
// Sending. Now and then (Gateway's loop calls send_due), the gateway signs its
// durable audit head (Store::durable_audit_head: the last record whose group
// is durable, never one a crash could still lose, which would make a later
// honest trail look truncated) with the gateway key it keeps loaded, and sends
// it as an AuditHead frame to each peer whose link is up and which is due one:
// one it has never been sent, or whose last head the trail has outgrown by
// `records` records, or by any record once `interval` has passed. Records
// this gateway wrote as witnesses of its peers' heads do not count as growth:
// two quiet gateways would otherwise witness each other's witnesses for ever.
// Only a head newer than the last one sent to that peer is sent; one
// signature serves every peer due the same head.
//
// Receiving. A peer's AuditHead is checked: its certificate issued by the CA
// the policy's `peers:` entry names for that peer, its Common Name that peer
// (the one the link authenticated), the signature over audit::signed_bytes,
// and its seq never going back (nor a seq witnessed before coming with
// another hash), against the last head witnessed of that peer, read from this
// gateway's own trail after a restart. A head that holds is kept as a
// `witness` record in this gateway's trail (audit::witness_record); one that
// does not is refused: a `peer_refused` record (detail "frame": "audit_head",
// the reason and what was sent), a non-fatal Error NOT_PERMITTED to the peer,
// and the link stays up. `icegate audit verify DIR --witnesses-from PEER_DIR`
// reads the witness records back (audit::witnesses_from).
//
// Threads: the executor of the PeerLinks it is given (the decision thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/audit/witness.hpp"
#include "gateway/federation/binding.hpp"
#include "gateway/federation/peer_link.hpp"

namespace icegate::federation {

struct HeadExchangeOptions {
  // A peer is sent a new head once the trail has grown by this many records
  // since the last head it was sent...
  std::int64_t records = 1000;
  // ...or has grown at all and this long has passed since then.
  std::chrono::milliseconds interval{10'000};
};

// Why a peer's AuditHead was refused: the record's "reason".
enum class HeadRefusal {
  malformed,                // hash not 64 lower-case hex digits, a negative seq, no signature
  no_peer_ca,               // the policy names no readable CA for the peer
  unreadable_certificate,   // certificate_pem is not a certificate
  certificate_not_from_ca,  // not issued by the peer's CA
  certificate_not_valid_then,
  bad_signature,
  signer_not_peer,          // its Common Name is not the peer the link authenticated
  seq_went_back,            // a lower seq than a head witnessed before
  hash_changed,             // the seq of a head witnessed before, with another hash
};
std::string_view to_string(HeadRefusal refusal);

class HeadExchange {
 public:
  struct Sources {
    // The trail's durable head (Store::durable_audit_head). Any thread.
    std::function<audit::TrailHead()> durable_head;
    // The gateway's signing identity; null when it has none (no gateway key):
    // then nothing is sent.
    std::function<std::shared_ptr<const OriginGateway>()> signer;
    // The CA file the policy in force names for a peer ("" when it is not a peer).
    std::function<std::string(const std::string& peer_id)> peer_ca;
    // The last head of `peer_id` this gateway's trail holds a witness of
    // (after a restart: the first head from each peer is checked against it).
    std::function<std::optional<audit::TrailHead>(const std::string& peer_id)> last_witnessed;
  };

  HeadExchange(PeerLinks& links, Sources sources, HeadExchangeOptions options);

  // Sends the durable head to each peer whose link is up and which is due
  // one (see the top of this file). Returns how many peers were sent it.
  std::size_t send_due(std::int64_t now_unix_ms);
  // A peer's AuditHead (PeerLinkOptions::on_audit_head): checked, then kept
  // as a witness record or refused.
  void received(const std::string& peer_id, const v1::AuditHead& frame);

  // Witness records appended so far (accepted heads).
  std::int64_t witnessed() const { return witness_records_; }
  const HeadExchangeOptions& options() const { return options_; }

 private:
  struct Sent {
    std::int64_t seq = 0;
    std::int64_t witness_records = 0;  // witness_records_ when it was sent
    std::int64_t at_unix_ms = 0;
  };
  void refuse(const std::string& peer_id, const audit::SignedHead& head, HeadRefusal reason, const std::string& text);

  PeerLinks& links_;
  Sources sources_;
  HeadExchangeOptions options_;
  std::map<std::string, Sent> sent_;                      // per peer: the last head sent
  std::map<std::string, audit::TrailHead> witnessed_;     // per peer: the last head witnessed
  std::optional<audit::SignedHead> signed_;               // the last head signed, reused while current
  std::int64_t witness_records_ = 0;
};

}  // namespace icegate::federation

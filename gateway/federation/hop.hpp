// A decision at every hop (issue 18, point 2; docs/FEDERATION.md, "A decision
// at every hop"): what a gateway forwards to each next peer, and what it does
// with a frame a peer sent it, as pure functions of its compiled policy, its
// signing identity and its peers' CAs. Nothing here reads the network or the
// store: the peer link calls receive() with a frame from an authenticated
// peer, and the router stores, delivers, sends and audits what comes back
// (gateway/server/audit_records.hpp builds the records).
//
//   forward_from_origin(message)      --> per next peer: the Forward, or why not sent
//   receive(frame, from peer P)       --> refused (why), or per local recipient its
//                                          decision and per next peer the Forward
//
// Both sides build each next peer's Forward in one place (narrow_for_peer):
// the message narrowed to the addressees that peer speaks for, every portion
// the peer may not hold withheld *before* the frame exists, and nothing at all
// when it may not receive the category or purpose. No hop trusts the previous
// hop's decision: a transit gateway checks again against its own next peer,
// and the destination decides each recipient under its own policy.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/federation/binding.hpp"
#include "gateway/model/message.hpp"
#include "gateway/model/route.hpp"
#include "gateway/pki/pki.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/peers.hpp"

namespace icegate::federation {

// A route longer than this is refused, so that a misconfigured loop ends.
inline constexpr std::uint32_t max_hops = 8;

// ---- What a hop sends a next peer ------------------------------------------------

enum class HopOutcome {
  forwarded,           // every portion of the message went
  forwarded_redacted,  // some portions were withheld for this peer
  not_sent,            // nothing went: see PeerForward::refusal
};
// "forwarded", "forwarded_redacted", "not_sent".
std::string_view to_string(HopOutcome outcome);

// A portion a hop withheld from a next peer, and why (policy::may_hold's answer).
struct HopWithheld {
  std::string portion_id;
  Label label;
  policy::PeerRefusal reason = policy::PeerRefusal::none;
  std::string detail;
};

struct PeerForward {
  std::string peer;  // the next hop's id (a copy: a result outlives the policy it was decided under)
  std::string message_id;
  // The route the frame has, or would have had when not sent: for the audit
  // record, which says where the message came from at every hop.
  std::string origin;
  std::vector<std::string> via;
  std::uint32_t hop_count = 1;
  std::vector<Addressee> addressees;   // those it speaks for, in the message's order
  HopOutcome outcome = HopOutcome::not_sent;
  std::vector<std::string> forwarded;  // portion ids in the frame, in order
  std::vector<HopWithheld> withheld;   // portions left out for this peer
  // For not_sent: category_not_received or purpose_not_received (may_receive),
  // or, when every portion was withheld, the first withheld portion's reason.
  policy::PeerRefusal refusal = policy::PeerRefusal::none;
  std::string reason;  // one sentence, for not_sent
  // The frame to send, for forwarded and forwarded_redacted: its message
  // carries only `addressees` and `forwarded`, its label their least upper bound.
  std::optional<ForwardedMessage> frame;
};

// ---- What a hop refuses -----------------------------------------------------------

// Why a hop refuses a whole frame from a peer. Each has a stable code
// (to_string) for the audit record's detail and the sending peer's Error.
enum class HopRefusal {
  unknown_peer,               // the sending gateway is not in this policy's peers
  malformed,                  // no id, no portions, no addressees, or a portion without an id
  route_malformed,            // hop_count is not via + 1, or the route's last gateway is not the sending peer
  route_too_long,             // more than max_hops
  route_loop,                 // a gateway named twice in the route, or a next hop already on it
  route_names_this_gateway,   // this gateway is the origin or already in via
  unknown_origin,             // the origin gateway is not a peer of this policy: no CA to verify it with
  binding,                    // the label binding does not hold (binding_problem says how)
  beyond_accreditation,       // a portion the sending peer may not hold under this policy
  unknown_category,           // an information category this policy does not declare
  unknown_purpose,            // a purpose this policy does not declare
  originator_is_local,        // the originator is one of this gateway's own nodes
};
// A stable code, e.g. "beyond-accreditation"; for `binding`, the binding's own
// code is used instead ("binding-" + BindingProblem's, e.g. "binding-portion-not-bound").
std::string_view to_string(HopRefusal refusal);

struct Refused {
  HopRefusal refusal = HopRefusal::malformed;
  std::optional<BindingProblem> binding_problem;  // for HopRefusal::binding
  std::string detail;                             // one sentence naming what was wrong and where

  // The code for the audit trail: to_string(refusal), or "binding-<problem>".
  std::string code() const;
};

// ---- What a hop decides for its own recipients ---------------------------------

struct LocalDecision {
  RecipientDecision decision;  // as the router's Decider gives it (policy::recipient_decision)
  std::vector<std::string> review_roles;
  bool originator_control = false;
  bool no_onward_sharing = false;
};

// ---- The hop ------------------------------------------------------------------------

struct OriginResult {
  std::vector<PeerForward> hops;      // one per next peer, in the order the addressees first need it
  std::vector<Addressee> unresolved;  // neither local nor spoken for by any peer
};

struct ReceiveResult {
  std::optional<Refused> refused;  // set: nothing below holds, nothing is delivered or forwarded
  std::vector<LocalDecision> local;  // per local recipient, in policy node order
  std::vector<PeerForward> onward;   // per next peer
  std::vector<Addressee> unresolved;
  std::vector<std::string> local_unresolved;  // local addressee names that name no node (expand())

  bool accepted() const { return !refused.has_value(); }
};

// Whether `node` may use an occasional release now; the router's Decider
// keeps that ledger. Default: never.
using OccasionalAvailable = std::function<bool(const std::string& node)>;

class Hop {
 public:
  // `policy`: this gateway's; `self`: its signing identity (self->name is this
  // gateway's id, as its peers name it); `peer_cas`: each peer's CA by peer id,
  // read once (load_peer_cas). A peer without one can originate nothing here.
  Hop(std::shared_ptr<const policy::CompiledPolicy> policy, std::shared_ptr<const OriginGateway> self,
      std::map<std::string, pki::TrustedCa, std::less<>> peer_cas);

  // Every peer's CA from its `ca` file. Throws pki::PkiError naming the file.
  static std::map<std::string, pki::TrustedCa, std::less<>> load_peer_cas(const policy::Policy& policy);

  const std::string& name() const { return self_->name; }
  const std::shared_ptr<const policy::CompiledPolicy>& shared_policy() const { return policy_; }
  const policy::CompiledPolicy& policy() const { return *policy_; }

  // 1. Origin: `message` was submitted by a local node and accepted. For each
  // next hop of its remote addressees, the Forward to send (bound by this
  // gateway), or why nothing goes.
  OriginResult forward_from_origin(const Message& message, std::int64_t now_unix_ms) const;

  // 2. Transit and destination: `frame` arrived from peer `from_peer` (the id
  // its certificate authenticated on the link). Refused as a whole when the
  // route, the binding or the sending peer's accreditation does not hold;
  // otherwise each local recipient's decision under this policy (the sender
  // matched as a remote sender of the frame's origin gateway), and each next
  // peer's Forward, checked against that peer as at the origin.
  ReceiveResult receive(std::string_view from_peer, const ForwardedMessage& frame,
                        const OccasionalAvailable& occasional_available = {}) const;

  // The check of a frame alone (receive's first step): nullopt when it may be
  // decided on. For `policy explain` and tests.
  std::optional<Refused> check_frame(std::string_view from_peer, const ForwardedMessage& frame) const;

  // The decision for one local recipient of a message that came from a peer.
  LocalDecision decide_local(const ForwardedMessage& frame, const std::string& recipient,
                             bool occasional_available) const;

 private:
  // The Forward for one next peer: narrowed, withheld, bound (origin) or
  // passed on (transit, `received` set).
  PeerForward narrow_for_peer(const Message& message, const policy::PeerRoute& route, std::int64_t now_unix_ms,
                              const Route* received) const;

  std::shared_ptr<const policy::CompiledPolicy> policy_;
  std::shared_ptr<const OriginGateway> self_;
  std::map<std::string, pki::TrustedCa, std::less<>> peer_cas_;
};

}  // namespace icegate::federation

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
//
// Different schemes (docs/FEDERATION.md, "Different schemes"): a frame is
// bound under the scheme its origin marks in (Message::label_scheme). A hop
// under another scheme verifies the binding on the labels as signed, then
// translates each portion's label into its own scheme by the equivalences of
// the scheme it accepts (policy::translate_label), and decides everything
// (the sending peer's accreditation, its recipients, its next peers) on the
// translation. What it forwards keeps the labels as signed. A label with no
// faithful translation refuses the frame, with the translator's reason.
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
#include "gateway/policy/translate.hpp"

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
  Label label;  // as this gateway judged it: under its own scheme (translated, when the frame was not)
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
  scheme_not_accepted,        // labels under a scheme this policy does not accept (no mapping to translate with)
  translation,                // a label with no faithful translation (translation_problem says why)
};
// A stable code, e.g. "beyond-accreditation"; for `binding`, the binding's own
// code is used instead ("binding-" + BindingProblem's, e.g. "binding-portion-not-bound"),
// and for `translation` the translator's ("translation-" + TranslationProblem's,
// e.g. "translation-ambiguous").
std::string_view to_string(HopRefusal refusal);

struct Refused {
  HopRefusal refusal = HopRefusal::malformed;
  std::optional<BindingProblem> binding_problem;  // for HopRefusal::binding
  std::string detail;                             // one sentence naming what was wrong and where
  // For HopRefusal::translation: the first untranslatable portion's first
  // problem; `detail` names every such portion and why.
  std::optional<policy::TranslationProblem> translation_problem = std::nullopt;

  // The code for the audit trail: to_string(refusal), "binding-<problem>" or
  // "translation-<problem>".
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
  // Set when the frame's labels are under another scheme than this
  // gateway's: the message as this gateway decided on it, and as it stores
  // and delivers it. Each portion's label is translated into this gateway's
  // scheme (label_scheme is its own), and an original is kept beside it
  // (Portion::original_label, Message::original_scheme/original_label): the
  // label its author marked, or, when the author marked under this gateway's
  // own scheme (and the label came back to exactly that), the label the
  // origin gateway signed. Not set: the frame's message is held as it is.
  std::optional<Message> translated;
  std::vector<LocalDecision> local;  // per local recipient, in policy node order
  std::vector<PeerForward> onward;   // per next peer
  std::vector<Addressee> unresolved;
  std::vector<std::string> local_unresolved;  // local addressee names that name no node (expand())

  bool accepted() const { return !refused.has_value(); }
  // The message to store and deliver for `frame` (the one given to receive()).
  const Message& message(const ForwardedMessage& frame) const { return translated ? *translated : frame.message; }
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

  // The decision for one local recipient of a message that came from a peer
  // (`frame`, whose labels are under this gateway's scheme).
  LocalDecision decide_local(const ForwardedMessage& frame, const std::string& recipient,
                             bool occasional_available) const;

 private:
  // check_frame's answer, and the translation it made (receive uses both).
  struct Admission {
    Admission() = default;
    Admission(Refused refusal) : refused(std::move(refusal)) {}  // implicit: each check returns its refusal
    std::optional<Refused> refused;
    std::optional<Message> translated;            // as ReceiveResult::translated
    const policy::CompiledPolicy* marked_under = nullptr;  // the scheme of the frame's labels
  };
  Admission admit(std::string_view from_peer, const ForwardedMessage& frame) const;

  // The labels of `frame`'s portions under this gateway's scheme, or why not.
  Admission translate(const ForwardedMessage& frame) const;

  // The decision for one local recipient of `held` (under this gateway's
  // scheme), originated at gateway `origin`.
  LocalDecision decide_held(const Message& held, const std::string& origin, const std::string& recipient,
                            bool occasional_available) const;

  // The Forward for one next peer: narrowed, withheld, bound (origin) or
  // passed on (transit, `received` set). `message` carries the labels as its
  // origin marked them, under `marked_under`'s scheme (which computes the
  // overall label of what goes); `judged` is each portion's label under this
  // gateway's scheme, on which the peer's accreditation is checked.
  PeerForward narrow_for_peer(const Message& message, const std::vector<Label>& judged,
                              const policy::CompiledPolicy& marked_under, const policy::PeerRoute& route,
                              std::int64_t now_unix_ms, const Route* received) const;

  std::shared_ptr<const policy::CompiledPolicy> policy_;
  std::shared_ptr<const OriginGateway> self_;
  std::map<std::string, pki::TrustedCa, std::less<>> peer_cas_;
};

}  // namespace icegate::federation

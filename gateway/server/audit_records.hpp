// The audit records the router writes, each kind built in one place: which
// fields it fills and the JSON its detail holds. `icegate audit query`,
// `policy replay` and the dashboard read these fields, so a kind's shape
// changes here or nowhere. (The chain and its canonical form are the audit
// module's; this only fills records.)
//
// Owns nothing but how to stamp a record: the time (the gateway's clock) and
// the policy version in force. Stateless otherwise, so it needs no guard;
// it is called on the router's executor.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/audit/audit.hpp"
#include "gateway/federation/hop.hpp"
#include "gateway/model/message.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/store/store.hpp"
#include "icegate/v1/icegate.pb.h"

namespace icegate::server {

class AuditRecords {
 public:
  using Now = std::function<std::int64_t()>;
  using PolicyVersion = std::function<std::string()>;

  AuditRecords(Now now, PolicyVersion policy_version);

  // A record of `kind` by `node`, stamped now under the policy in force.
  audit::AuditRecord record(std::string kind, std::string node) const;
  // Stamps a record made elsewhere (connections, reloads) that has no time or policy version yet.
  void stamp(audit::AuditRecord& record) const;

  // A Submit refused before anything changed.
  audit::AuditRecord submit_refused(const std::string& sender, const Message& message, v1::ErrorCode code,
                                    const std::string& text) const;
  // A Submit accepted: each portion's label (never its content) and the
  // handling, with the sender, category, purpose and recipients: enough for
  // `icegate policy replay` to decide it again under another policy.
  audit::AuditRecord submit(const std::string& sender, const Message& message, const policy::Expansion& expansion,
                            const std::string& derived_from) const;
  // Labels of another scheme translated on a Submit.
  audit::AuditRecord labels_translated(const std::string& sender, const Message& message) const;
  // One recipient's decision; `at`: when it took effect, if not now.
  audit::AuditRecord decision(const Message& message, const RecipientDecision& decision, std::string_view state,
                              std::int64_t at = 0) const;
  // A review or consent hold opened on a Submit.
  audit::AuditRecord hold_opened(const std::string& sender, const std::string& message_id, const std::string& hold_id,
                                 std::string_view kind, const std::string& held_for) const;
  audit::AuditRecord review_refused(const std::string& decider, const std::string& hold_id, v1::ErrorCode code,
                                    const std::string& text, bool via_dashboard) const;
  audit::AuditRecord review(const std::string& decider, const std::string& message_id, const std::string& hold_id,
                            std::string_view kind, const std::string& verdict, const std::string& comment,
                            bool via_dashboard) const;
  audit::AuditRecord trigger_refused(const std::string& node, const std::string& event, const std::string& text) const;
  audit::AuditRecord trigger(const std::string& node, const std::string& event, bool first) const;
  audit::AuditRecord embargo_lifted(const std::string& originator, const std::string& message_id,
                                    const std::string& hold_id, const std::string& held_for) const;
  // Took effect at `at` (the message's not_after), whenever it was recorded.
  audit::AuditRecord hold_expired(const std::string& originator, const std::string& message_id,
                                  const std::string& hold_id, const std::string& held_for, std::int64_t at) const;
  // An owed Deliver that expired undelivered (at its not_after).
  audit::AuditRecord expired(const store::OutboxEntry& entry, const std::string& reason) const;
  // Between gateways (docs/FEDERATION.md, "A decision at every hop"); the
  // fields are those `icegate audit trace` reads.
  // What went to a next peer: decision RELEASE (every portion forwarded),
  // RELEASE_REDACTED (some withheld) or DENY (not sent); node = the peer.
  audit::AuditRecord peer_forward(const federation::PeerForward& forward) const;
  // A frame a peer sent that this gateway accepted (its binding verified);
  // node = the sending peer.
  audit::AuditRecord peer_receive(const std::string& from_peer, const ForwardedMessage& frame) const;
  // A frame a peer sent that this gateway refused, and why; node = the sending peer.
  audit::AuditRecord peer_refused(const std::string& from_peer, const ForwardedMessage& frame,
                                  const federation::Refused& refused) const;
  // An owed frame over the frame limit, never sent.
  audit::AuditRecord undeliverable(const store::OutboxEntry& entry, const std::string& reason) const;

 private:
  Now now_;
  PolicyVersion policy_version_;
  // Decision details built lately, by everything that goes into one: the
  // message's category and purpose and the labels of the portions released,
  // the decision (same_outcome) and the
  // state. A fan-out to hundreds makes two or three; messages of the same
  // kind, decided by the same rule, make the same one again. At most
  // kDetails, the oldest replaced first. A cache of what decision()
  // computes from its arguments alone; confined, as the router is, to the
  // router's executor.
  struct DecisionDetail {
    std::string category;
    std::string purpose;
    // Of decision.released_portion_ids, in order; none for an id the message lacks.
    std::vector<std::optional<Label>> released_labels;
    RecipientDecision decision;
    std::string state;
    std::string detail;
  };
  static constexpr std::size_t kDetails = 8;
  mutable std::vector<DecisionDetail> details_;
  mutable std::size_t oldest_detail_ = 0;  // the next to be replaced once details_ is full
};

}  // namespace icegate::server

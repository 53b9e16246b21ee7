// The originator's Receipt, hop by hop (issue 18, point 2; docs/FEDERATION.md,
// "The originator's Receipt, hop by hop"): each gateway's own steps, made from
// the values it audits, so that the Receipt and the trails cannot disagree.
//
//   forward_steps(gateway, forwards)    one per next peer: its peer_forward record's
//                                       decision, withheld portions and addressees
//   refusal_step(gateway, frame, why)   a frame refused whole: DENY with its
//                                       peer_refused record's code
//   local_steps(...)                    its own recipients' decisions (its decision
//                                       records), summed per addressee as the
//                                       originator wrote it
//
// Pure functions: the router owes the steps back along the route
// (HopReport) and the origin puts them in the originator's Receipts.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/federation/hop.hpp"
#include "gateway/model/route.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::federation {

// The step of each next peer a gateway forwarded to (or did not): RELEASE
// (forwarded), RELEASE_REDACTED (forwarded redacted) or DENY (not sent, with
// the reason), the portions withheld with the sentence the audit record
// gives, and the addressees that peer speaks for. Its place on the route is
// the Forward's hop count (1 at the origin). Labels of withheld portions are
// named only at the origin (`origin`), where the originator marked them.
std::vector<HopStep> forward_steps(std::string_view gateway, const std::vector<PeerForward>& forwards, bool origin);

// A frame `gateway` refused whole: DENY, the refusal's code and sentence, for
// every addressee of the frame; its place is the frame's hop count plus one.
HopStep refusal_step(std::string_view gateway, const ForwardedMessage& frame, const Refused& refused);

// `gateway`'s own recipients of `message` (which reached it at `hop`, its
// place on the route): for each of the message's local addressees, in the
// message's order, one step per decision its nodes got, with how many got it
// and the portions withheld from any of them. Neither node ids nor rules nor
// the policy's reasons (which name both) leave the gateway: a withheld
// portion is named by id, with a reason that says only whose policy withheld it.
std::vector<HopStep> local_steps(std::string_view gateway, std::uint32_t hop, const policy::CompiledPolicy& policy,
                                 const Message& message, const std::vector<RecipientDecision>& decisions);

// Addressees of a frame that `gateway` (at `hop`) can neither decide for nor
// pass on (ReceiveResult::unresolved): one DENY step naming them all, or none.
std::optional<HopStep> unresolved_step(std::string_view gateway, std::uint32_t hop,
                                       const std::vector<Addressee>& unresolved);

// "<message id>/<gateway>": a report's id. A message id is a UUID, so never one.
std::string report_id(std::string_view message_id, std::string_view gateway);

}  // namespace icegate::federation

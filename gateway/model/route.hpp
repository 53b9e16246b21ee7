// A message forwarded between gateways (docs/FEDERATION.md): the message as
// the next hop may see it, and its Route: where it has been, and the label
// binding its origin gateway signed. These are the gateway's own types; the
// wire's (proto Forward, Route, LabelBinding) are converted in
// gateway/wire/codec.cpp only, and the binding is made and checked in
// gateway/federation/binding.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/model/digest.hpp"
#include "gateway/model/message.hpp"

namespace icegate {

// The message fields the origin gateway signed, as it signed them. A hop
// compares the message it received with these, so that a field changed in
// transit is named, not just "the signature does not hold".
struct BoundFields {
  std::string message_id;
  std::string originator;
  std::int64_t created_unix_ms = 0;
  std::string category;
  std::string purpose;
  std::string label_scheme;
  std::string title;
  std::string derived_from;
  std::string original_scheme;
  Handling handling;  // the caveats: originator control, no onward sharing, embargo, expiry

  friend bool operator==(const BoundFields&, const BoundFields&) = default;
};

// The only version of the binding's signed bytes there is (see
// federation::canonical_bytes); a binding of another version is refused.
inline constexpr std::uint32_t label_binding_version = 1;

struct LabelBinding {
  std::uint32_t version = label_binding_version;
  BoundFields fields;
  // One per portion the origin sent, in its order (federation::portion_digest).
  std::vector<Sha256Digest> portion_digests;
  std::int64_t signed_unix_ms = 0;
  std::string signature;        // raw bytes
  std::string certificate_pem;  // the origin gateway's certificate

  friend bool operator==(const LabelBinding&, const LabelBinding&) = default;
};

struct Route {
  std::string origin_gateway;    // its certificate's Common Name
  std::vector<std::string> via;  // the gateways that forwarded it after the origin, in order
  std::uint32_t hop_count = 1;   // links crossed, this one included: via.size() + 1
  LabelBinding binding;

  friend bool operator==(const Route&, const Route&) = default;
};

struct ForwardedMessage {
  Message message;
  Route route;
};

// One gateway's decision for one step of a message's way to remote
// recipients (docs/FEDERATION.md, "The originator's Receipt, hop by hop";
// v1::HopOutcome): made from what that gateway audits, reported back along
// the route to the originator's Receipt.
struct HopStep {
  std::string gateway;           // the gateway that decided
  std::uint32_t hop = 1;         // its place on the route: 1 at the origin
  std::string next_peer;         // forwarded to; empty for its own recipients, or a refusal
  Decision decision = Decision::deny;
  std::vector<WithheldPortion> withheld;  // by id and reason; never a gateway's rule ids
  std::string refusal;           // the code when the gateway refused the whole frame
  std::vector<std::string> addressees;  // as the originator wrote them, "kind:name"
  std::uint32_t recipients = 0;  // for its own recipients: how many of the addressee's got `decision`
  std::string reason;            // why not sent, or why refused
};

// A gateway's steps, on their way back to the origin (v1::HopReport).
struct HopReport {
  std::string report_id;   // "<message id>/<gateway>": the Ack names it
  std::string message_id;
  std::string originator;
  std::vector<std::string> path;  // the gateways before the reporter, origin first
  std::vector<HopStep> hops;
};

}  // namespace icegate

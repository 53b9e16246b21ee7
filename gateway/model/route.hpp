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

}  // namespace icegate

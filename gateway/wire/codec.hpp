// The boundary between the wire (icegate.v1 protos) and the gateway's own
// types. Decoding checks shape (required fields, enum values, limits); what a
// label means under the scheme is the policy's business, not the codec's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "gateway/model/message.hpp"
#include "gateway/model/route.hpp"
#include "icegate/v1/icegate.pb.h"

namespace icegate::wire {

struct MessageLimits {
  std::size_t max_portions = 256;
  std::size_t max_addressees = 1024;
  std::size_t max_categories = 32;   // per label
  std::size_t max_text_bytes = 256;  // ids, names, classifications, categories, title
};

// Why a message was refused: which field, and what was wrong with it.
struct DecodeProblem {
  std::string field;  // e.g. "portions[2].label.classification"
  std::string problem;
};

std::string to_string(const DecodeProblem& problem);

// nullopt and `problem` filled when the message is malformed.
std::optional<Message> decode(const v1::Message& proto, const MessageLimits& limits,
                              DecodeProblem& problem);

void encode(const Message& message, v1::Message& proto);
// The version of `message` the recipient of `decision` may see, encoded
// straight from the message (no copy of it first): only the portions the
// decision releases, under decision.released_label; the message's overall
// original label (a translated message's) only if no portion is withheld,
// since it describes the whole.
void encode(const Message& message, const RecipientDecision& decision, v1::Message& proto);

// A Forward between gateways: its message under `message`'s limits, and a
// route no longer than `max_hops` links. Decoding checks the shape of the
// route and the binding (sizes, required fields, a gateway named twice);
// whether the binding holds is federation::verify_binding's business.
struct ForwardLimits {
  MessageLimits message;
  std::uint32_t max_hops = 8;
  std::size_t max_signature_bytes = 512;        // ECDSA P-256 DER is at most 72, Ed25519 64
  std::size_t max_certificate_bytes = 16 * 1024;  // PEM
};

// nullopt and `problem` filled (the field under "message." or "route.") when
// the Forward is malformed.
std::optional<ForwardedMessage> decode(const v1::Forward& proto, const ForwardLimits& limits,
                                       DecodeProblem& problem);
void encode(const ForwardedMessage& forwarded, v1::Forward& proto);
void encode(const Label& label, v1::Label& proto);
Label decode(const v1::Label& proto);

v1::Decision encode(Decision decision);
std::optional<Decision> decode(v1::Decision decision);

void encode(const WithheldPortion& withheld, v1::Withheld& proto);
WithheldPortion decode(const v1::Withheld& proto);

void encode(const RecipientDecision& decision, bool delivered, v1::RecipientOutcome& proto);
RecipientDecision decode(const v1::RecipientOutcome& proto);

void encode(const Handling& handling, v1::Handling& proto);
Handling decode(const v1::Handling& proto);

void encode(const HopStep& step, v1::HopOutcome& proto);
HopStep decode(const v1::HopOutcome& proto);

// A HopReport from a peer: ids, the path (at most `limits.max_hops`
// gateways) and its steps checked for shape; nullopt and `problem` filled
// when it is malformed.
std::optional<HopReport> decode(const v1::HopReport& proto, const ForwardLimits& limits, DecodeProblem& problem);
void encode(const HopReport& report, v1::HopReport& proto);

}  // namespace icegate::wire

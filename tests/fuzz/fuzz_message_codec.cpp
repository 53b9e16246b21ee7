// Fuzzes the wire codec: what the gateway makes of a Submit from a peer.
//
// The input is one frame body (no length prefix). When it parses as a Frame
// carrying a message (Submit, and the Deliver and ReviewRequest a node
// decodes), wire::decode runs with the default limits. A message that decodes
// must survive encode -> serialize -> parse -> decode unchanged, and must
// respect the limits it was decoded under; anything else is a codec bug and
// traps so that libFuzzer keeps the input.
//
// A Forward (gateway to gateway) is decoded the same way with the default
// ForwardLimits, and must round-trip too, its Route field for field; the
// label binding's canonical bytes and portion digests (what verification
// hashes and checks the signature over) are computed from what was decoded
// and must be the same for the round-tripped copy. The signature itself is
// not checked: a fuzzer cannot forge one, so no input would get past it. A
// HopReport is decoded with the default ForwardLimits and round-trips too.
#include <cstddef>
#include <cstdint>
#include <string>

#include <google/protobuf/stubs/logging.h>

#include "gateway/federation/binding.hpp"
#include "gateway/wire/codec.hpp"
#include "gateway/wire/framing.hpp"

namespace {

using icegate::Message;
using icegate::wire::MessageLimits;

[[noreturn]] void bug() { __builtin_trap(); }

bool within(const std::string& text, const MessageLimits& limits) { return text.size() <= limits.max_text_bytes; }

bool label_sound(const icegate::Label& label, const MessageLimits& limits) {
  if (!within(label.classification, limits) || label.categories.size() > limits.max_categories) return false;
  for (std::size_t i = 0; i < label.categories.size(); ++i) {
    if (label.categories[i].empty() || !within(label.categories[i], limits)) return false;
    // decode normalises: sorted and unique.
    if (i > 0 && !(label.categories[i - 1] < label.categories[i])) return false;
  }
  return true;
}

// What decode promises about a message it accepts.
void check_shape(const Message& message, const MessageLimits& limits) {
  if (!icegate::looks_like_uuid(message.id)) bug();
  if (message.originator.empty() || !within(message.originator, limits)) bug();
  if (message.category.empty() || !within(message.category, limits)) bug();
  if (!within(message.purpose, limits) || !within(message.title, limits)) bug();
  if (!within(message.derived_from, limits) || !within(message.handling.not_before_event, limits)) bug();
  if (message.addressees.empty() || message.addressees.size() > limits.max_addressees) bug();
  for (const auto& addressee : message.addressees)
    if (addressee.name.empty() || !within(addressee.name, limits)) bug();
  if (message.portions.empty() || message.portions.size() > limits.max_portions) bug();
  for (const auto& portion : message.portions) {
    if (portion.id.empty() || !within(portion.id, limits)) bug();
    if (portion.label.classification.empty() || !label_sound(portion.label, limits)) bug();
  }
  if (!label_sound(message.label, limits)) bug();
}

// Every field of the gateway's Message, not only the ones decisions use.
void check_same(const Message& a, const Message& b) {
  if (a.id != b.id || a.originator != b.originator || a.created_unix_ms != b.created_unix_ms) bug();
  if (a.category != b.category || a.purpose != b.purpose || a.title != b.title) bug();
  if (a.derived_from != b.derived_from || !(a.handling == b.handling)) bug();
  if (!(a.addressees == b.addressees) || !(a.label == b.label)) bug();
  if (a.portions.size() != b.portions.size()) bug();
  for (std::size_t i = 0; i < a.portions.size(); ++i) {
    const auto& pa = a.portions[i];
    const auto& pb = b.portions[i];
    if (pa.id != pb.id || !(pa.label == pb.label) || pa.body != pb.body) bug();
  }
}

void round_trip(const icegate::v1::Message& proto) {
  const MessageLimits limits;
  icegate::wire::DecodeProblem problem;
  const auto message = icegate::wire::decode(proto, limits, problem);
  if (!message) {
    if (problem.field.empty() || problem.problem.empty()) bug();  // a refusal says why
    (void)icegate::wire::to_string(problem);
    return;
  }
  check_shape(*message, limits);

  icegate::v1::Message encoded;
  icegate::wire::encode(*message, encoded);
  std::string bytes;
  if (!encoded.SerializeToString(&bytes)) bug();
  icegate::v1::Message reparsed;
  if (!reparsed.ParseFromString(bytes)) bug();

  icegate::wire::DecodeProblem second_problem;
  const auto again = icegate::wire::decode(reparsed, limits, second_problem);
  if (!again) bug();  // what we encode, we must accept
  check_same(*message, *again);
}

// What decode promises about a route it accepts.
void check_route(const icegate::Route& route, const icegate::wire::ForwardLimits& limits) {
  if (route.origin_gateway.empty() || route.hop_count == 0 || route.hop_count > limits.max_hops) bug();
  if (route.via.size() + 1 != route.hop_count) bug();
  for (const auto& gateway : route.via)
    if (gateway.empty() || gateway == route.origin_gateway) bug();
  const auto& binding = route.binding;
  if (binding.version != icegate::label_binding_version) bug();
  if (binding.portion_digests.empty() || binding.portion_digests.size() > limits.message.max_portions) bug();
  if (binding.signature.empty() || binding.signature.size() > limits.max_signature_bytes) bug();
  if (binding.certificate_pem.empty() || binding.certificate_pem.size() > limits.max_certificate_bytes) bug();
}

void round_trip(const icegate::v1::Forward& proto) {
  const icegate::wire::ForwardLimits limits;
  icegate::wire::DecodeProblem problem;
  const auto forwarded = icegate::wire::decode(proto, limits, problem);
  if (!forwarded) {
    if (problem.field.empty() || problem.problem.empty()) bug();
    return;
  }
  check_shape(forwarded->message, limits.message);
  check_route(forwarded->route, limits);

  icegate::v1::Forward encoded;
  icegate::wire::encode(*forwarded, encoded);
  std::string bytes;
  if (!encoded.SerializeToString(&bytes)) bug();
  icegate::v1::Forward reparsed;
  if (!reparsed.ParseFromString(bytes)) bug();
  icegate::wire::DecodeProblem second_problem;
  const auto again = icegate::wire::decode(reparsed, limits, second_problem);
  if (!again) bug();
  check_same(forwarded->message, again->message);
  if (!(forwarded->route == again->route)) bug();

  namespace federation = icegate::federation;
  if (federation::canonical_bytes(forwarded->route) != federation::canonical_bytes(again->route)) bug();
  for (std::size_t i = 0; i < forwarded->message.portions.size(); ++i)
    if (federation::portion_digest(forwarded->message.portions[i]) !=
        federation::portion_digest(again->message.portions[i]))
      bug();
}

// A HopReport (gateway to gateway) decoded with the default ForwardLimits
// keeps to them, and round-trips step for step.
void round_trip(const icegate::v1::HopReport& proto) {
  const icegate::wire::ForwardLimits limits;
  icegate::wire::DecodeProblem problem;
  const auto report = icegate::wire::decode(proto, limits, problem);
  if (!report) {
    if (problem.field.empty() || problem.problem.empty()) bug();
    return;
  }
  if (report->path.empty() || report->path.size() > limits.max_hops) bug();
  if (report->report_id.rfind(report->message_id + "/", 0) != 0) bug();
  icegate::v1::HopReport encoded;
  icegate::wire::encode(*report, encoded);
  std::string bytes;
  if (!encoded.SerializeToString(&bytes)) bug();
  icegate::v1::HopReport reparsed;
  if (!reparsed.ParseFromString(bytes)) bug();
  icegate::wire::DecodeProblem second_problem;
  const auto again = icegate::wire::decode(reparsed, limits, second_problem);
  if (!again || again->report_id != report->report_id || again->path != report->path ||
      again->hops.size() != report->hops.size())
    bug();
  for (std::size_t i = 0; i < report->hops.size(); ++i) {
    const auto& a = report->hops[i];
    const auto& b = again->hops[i];
    if (a.gateway != b.gateway || a.hop != b.hop || a.decision != b.decision || a.addressees != b.addressees ||
        a.withheld.size() != b.withheld.size())
      bug();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Invalid UTF-8 in a string field fails the parse, as it should; protobuf
  // would also log every one.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  icegate::v1::Frame frame;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  if (icegate::wire::parse_frame(body, frame) != icegate::wire::FrameError::none) return 0;
  switch (frame.body_case()) {
    case icegate::v1::Frame::kSubmit:
      round_trip(frame.submit().message());
      break;
    case icegate::v1::Frame::kDeliver:
      round_trip(frame.deliver().message());
      break;
    case icegate::v1::Frame::kReviewRequest:
      round_trip(frame.review_request().message());
      break;
    case icegate::v1::Frame::kForward:
      round_trip(frame.forward());
      break;
    case icegate::v1::Frame::kHopReport:
      round_trip(frame.hop_report());
      break;
    default:
      break;
  }
  return 0;
}

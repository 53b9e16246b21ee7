// The label binding: see binding.hpp.
#include "gateway/federation/binding.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>


namespace icegate::federation {

namespace {

// The canonical writer: every text length-prefixed, every integer fixed-width
// big-endian, so that no two different field sequences give the same bytes.
class CanonicalWriter {
 public:
  void u32(std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<char>((value >> shift) & 0xff));
  }
  void i64(std::int64_t value) {
    const auto bits = static_cast<std::uint64_t>(value);
    for (int shift = 56; shift >= 0; shift -= 8) out_.push_back(static_cast<char>((bits >> shift) & 0xff));
  }
  void flag(bool value) { out_.push_back(value ? '\1' : '\0'); }
  void text(std::string_view value) {
    u32(static_cast<std::uint32_t>(value.size()));
    out_.append(value);
  }
  void raw(const Sha256Digest& digest) { out_.append(reinterpret_cast<const char*>(digest.data()), digest.size()); }
  void label(const Label& label) {
    Label sorted = label;
    normalise(sorted);
    text(sorted.classification);
    u32(static_cast<std::uint32_t>(sorted.categories.size()));
    for (const auto& category : sorted.categories) text(category);
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

std::string in_quotes(std::string_view text) { return fmt::format("'{}'", text); }
std::string yes_no(bool value) { return value ? "true" : "false"; }

// The first bound field the message does not carry as signed, if any.
std::optional<BindingFailure> compare_fields(const BoundFields& signed_fields, const BoundFields& received) {
  const auto altered = [](BindingProblem problem, std::string_view field, const std::string& signed_value,
                          const std::string& received_value) {
    return BindingFailure{problem, fmt::format("{}: the origin gateway signed {}, the message carries {}", field,
                                               signed_value, received_value)};
  };
  struct Text {
    std::string_view field;
    const std::string BoundFields::*member;
  };
  static constexpr Text texts[] = {
      {"id", &BoundFields::message_id},
      {"originator", &BoundFields::originator},
      {"category", &BoundFields::category},
      {"purpose", &BoundFields::purpose},
      {"label_scheme", &BoundFields::label_scheme},
      {"derived_from", &BoundFields::derived_from},
      {"original_scheme", &BoundFields::original_scheme},
  };
  for (const auto& [field, member] : texts)
    if (signed_fields.*member != received.*member)
      return altered(BindingProblem::field_altered, field, in_quotes(signed_fields.*member),
                     in_quotes(received.*member));
  if (signed_fields.created_unix_ms != received.created_unix_ms)
    return altered(BindingProblem::field_altered, "created_unix_ms", std::to_string(signed_fields.created_unix_ms),
                   std::to_string(received.created_unix_ms));
  if (signed_fields.title != received.title)
    return BindingFailure{BindingProblem::field_altered, "title: differs from the title the origin gateway signed"};

  const Handling& was = signed_fields.handling;
  const Handling& is = received.handling;
  if (was.originator_control != is.originator_control)
    return altered(BindingProblem::caveat_altered, "handling.originator_control", yes_no(was.originator_control),
                   yes_no(is.originator_control));
  if (was.no_onward_sharing != is.no_onward_sharing)
    return altered(BindingProblem::caveat_altered, "handling.no_onward_sharing", yes_no(was.no_onward_sharing),
                   yes_no(is.no_onward_sharing));
  if (was.not_before_unix_ms != is.not_before_unix_ms)
    return altered(BindingProblem::caveat_altered, "handling.not_before_unix_ms",
                   std::to_string(was.not_before_unix_ms), std::to_string(is.not_before_unix_ms));
  if (was.not_before_event != is.not_before_event)
    return altered(BindingProblem::caveat_altered, "handling.not_before_event", in_quotes(was.not_before_event),
                   in_quotes(is.not_before_event));
  if (was.not_after_unix_ms != is.not_after_unix_ms)
    return altered(BindingProblem::caveat_altered, "handling.not_after_unix_ms", std::to_string(was.not_after_unix_ms),
                   std::to_string(is.not_after_unix_ms));
  return std::nullopt;
}

// Every present portion's digest signed, once, in the origin's order.
std::optional<BindingFailure> check_portions(const Message& message, const LabelBinding& binding) {
  std::map<Sha256Digest, std::size_t> signed_at;  // digest -> its place in the origin's order
  for (std::size_t i = 0; i < binding.portion_digests.size(); ++i) signed_at.emplace(binding.portion_digests[i], i);
  std::vector<bool> seen(binding.portion_digests.size(), false);
  std::optional<std::size_t> previous;
  for (std::size_t i = 0; i < message.portions.size(); ++i) {
    const Portion& portion = message.portions[i];
    const auto found = signed_at.find(portion_digest(portion));
    if (found == signed_at.end())
      return BindingFailure{BindingProblem::portion_not_bound,
                            fmt::format("portion '{}' (portions[{}]): its id, label or body is not what the origin "
                                        "gateway signed, or it was added in transit",
                                        portion.id, i)};
    const std::size_t place = found->second;
    if (seen[place])
      return BindingFailure{BindingProblem::portion_duplicated,
                            fmt::format("portion '{}' (portions[{}]) is present twice", portion.id, i)};
    if (previous && place < *previous)
      return BindingFailure{BindingProblem::portion_out_of_order,
                            fmt::format("portion '{}' (portions[{}]) comes after portion '{}', but the origin "
                                        "gateway sent it before",
                                        portion.id, i, message.portions[i - 1].id)};
    seen[place] = true;
    previous = place;
  }
  return std::nullopt;
}

}  // namespace

Sha256Digest portion_digest(const Portion& portion) {
  CanonicalWriter writer;
  writer.text(portion_domain);
  writer.text(portion.salt);
  writer.text(portion.id);
  writer.label(portion.label);
  writer.label(portion.original_label);
  const Sha256Digest body = sha256(portion.body);
  writer.text(std::string_view(reinterpret_cast<const char*>(body.data()), body.size()));
  return sha256(writer.bytes());
}

BoundFields bound_fields(const Message& message) {
  return {message.id,    message.originator,   message.created_unix_ms, message.category,
          message.purpose, message.label_scheme, message.title,         message.derived_from,
          message.original_scheme, message.handling};
}

std::string canonical_bytes(const Route& route) {
  const LabelBinding& binding = route.binding;
  const BoundFields& fields = binding.fields;
  CanonicalWriter writer;
  writer.text(binding_domain);
  writer.u32(binding.version);
  writer.text(route.origin_gateway);
  writer.text(fields.message_id);
  writer.text(fields.originator);
  writer.i64(fields.created_unix_ms);
  writer.text(fields.category);
  writer.text(fields.purpose);
  writer.text(fields.label_scheme);
  writer.text(fields.title);
  writer.text(fields.derived_from);
  writer.text(fields.original_scheme);
  writer.flag(fields.handling.originator_control);
  writer.flag(fields.handling.no_onward_sharing);
  writer.i64(fields.handling.not_before_unix_ms);
  writer.text(fields.handling.not_before_event);
  writer.i64(fields.handling.not_after_unix_ms);
  writer.i64(binding.signed_unix_ms);
  writer.u32(static_cast<std::uint32_t>(binding.portion_digests.size()));
  for (const auto& digest : binding.portion_digests) writer.raw(digest);
  return writer.bytes();
}

OriginGateway::OriginGateway(const std::filesystem::path& key, const std::filesystem::path& certificate)
    : key(key), certificate_pem(pki::read_certificate_pem(certificate)), name(pki::pem_common_name(certificate_pem)) {
  if (name.empty())
    throw pki::PkiError(fmt::format("{}: the certificate has no Common Name, so it cannot name an origin gateway",
                                    certificate.string()));
}

void salt_portions(Message& message) {
  for (Portion& portion : message.portions) {
    portion.salt.assign(portion_salt_bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(portion.salt.data()), static_cast<int>(portion.salt.size())) != 1)
      throw std::runtime_error("the random generator failed: a portion cannot be salted");
  }
}

Route bind_labels(const Message& message, const OriginGateway& origin, std::int64_t now_unix_ms) {
  for (std::size_t i = 0; i < message.portions.size(); ++i)
    if (message.portions[i].salt.size() != portion_salt_bytes)
      throw std::invalid_argument(fmt::format("portion '{}' (portions[{}]) is not salted: salt_portions() first, or "
                                              "a hop could confirm a guess of it from its digest",
                                              message.portions[i].id, i));
  Route route;
  route.origin_gateway = origin.name;
  route.hop_count = 1;
  LabelBinding& binding = route.binding;
  binding.version = label_binding_version;
  binding.fields = bound_fields(message);
  binding.portion_digests.reserve(message.portions.size());
  for (const auto& portion : message.portions) binding.portion_digests.push_back(portion_digest(portion));
  binding.signed_unix_ms = now_unix_ms;
  binding.certificate_pem = origin.certificate_pem;
  binding.signature = origin.key.sign(canonical_bytes(route));
  return route;
}

Route onward(Route route, std::string_view this_gateway) {
  route.via.emplace_back(this_gateway);
  ++route.hop_count;
  return route;
}

std::string_view to_string(BindingProblem problem) {
  switch (problem) {
    case BindingProblem::unknown_version: return "unknown-version";
    case BindingProblem::unreadable_certificate: return "unreadable-certificate";
    case BindingProblem::certificate_not_from_ca: return "certificate-not-from-ca";
    case BindingProblem::certificate_not_valid_then: return "certificate-not-valid-then";
    case BindingProblem::origin_mismatch: return "origin-mismatch";
    case BindingProblem::bad_signature: return "bad-signature";
    case BindingProblem::field_altered: return "field-altered";
    case BindingProblem::caveat_altered: return "caveat-altered";
    case BindingProblem::portion_not_bound: return "portion-not-bound";
    case BindingProblem::portion_duplicated: return "portion-duplicated";
    case BindingProblem::portion_out_of_order: return "portion-out-of-order";
  }
  return "unknown";
}

std::optional<BindingFailure> verify(const ForwardedMessage& forwarded, const pki::TrustedCa& origin_ca) {
  const Route& route = forwarded.route;
  const LabelBinding& binding = route.binding;
  if (binding.version != label_binding_version)
    return BindingFailure{BindingProblem::unknown_version,
                          fmt::format("route.binding.version: is {}; this gateway knows version {}", binding.version,
                                      label_binding_version)};

  const pki::SignatureCheck check =
      origin_ca.check_signature(binding.certificate_pem, canonical_bytes(route), binding.signature,
                                binding.signed_unix_ms);
  const auto failure = [&check](BindingProblem problem) {
    return BindingFailure{problem, "route.binding: " + check.text};
  };
  switch (check.problem) {
    case pki::SignatureProblem::unreadable_certificate: return failure(BindingProblem::unreadable_certificate);
    case pki::SignatureProblem::not_issued_by_ca: return failure(BindingProblem::certificate_not_from_ca);
    case pki::SignatureProblem::not_valid_then: return failure(BindingProblem::certificate_not_valid_then);
    case pki::SignatureProblem::none:
    case pki::SignatureProblem::bad_signature: break;
  }
  // Before the signature: a certificate of another gateway of the same CA is
  // named as such, whether or not its signature holds.
  if (check.common_name != route.origin_gateway)
    return BindingFailure{BindingProblem::origin_mismatch,
                          fmt::format("route.origin_gateway: is '{}', but the binding is signed by '{}'",
                                      route.origin_gateway, check.common_name)};
  if (check.problem == pki::SignatureProblem::bad_signature) return failure(BindingProblem::bad_signature);

  if (auto altered = compare_fields(binding.fields, bound_fields(forwarded.message))) return altered;
  return check_portions(forwarded.message, binding);
}

}  // namespace icegate::federation

// The label binding of a message forwarded between gateways (issue 18, point 4;
// docs/FEDERATION.md, "Labels bound to their content"): the idea of STANAG
// 4778, a label cryptographically bound to the data object it labels.
//
// The origin gateway signs, with its certificate's key, canonical_bytes(): the
// message fields no hop may change (BoundFields: id, originator, created
// time, category, purpose, label scheme, title, derived-from, original scheme
// and the caveats: originator control, no onward sharing, embargo, expiry),
// the origin's name, the signing time, and one digest per portion:
//
//   d = SHA-256(portion_domain || id || canonical label || SHA-256(body))
//
// A hop that withholds a portion removes it from the message and leaves its
// digest in the binding: 32 opaque bytes, so the next hop learns nothing of
// the withheld portion's label or body beyond that a portion was there, and
// what remains still verifies. The origin signs the version it forwards, after
// its own redaction for the next peer, so a portion the origin withholds
// leaves no digest at all.
//
// Not bound, on purpose: the addressees (each hop narrows them to the ones its
// next peer speaks for) and the whole message's label (each hop recomputes it
// from the portions it forwards); Route::via and hop_count (each link is
// authenticated by its own mutual TLS, and the sending peer appends itself).
//
// Labels are bound as the origin marked them, under the binding's
// label_scheme (which the origin always names: Hop::forward_from_origin). A
// hop under another scheme verifies them as signed, translates for its own
// decision (hop.hpp) but forwards the origin's labels unchanged, or the
// binding no longer holds.
//
// Portion order is bound: a hop may remove portions but not reorder them, so
// the present portions must appear in the order of their digests.
//
// Each portion carries a salt the origin chose at random (Portion::salt,
// salt_portions), hashed into its digest and dropped with the portion: a hop
// the portion is withheld from sees only the digest, and cannot confirm a
// guess of the portion's id, label and body (a short body, a previous
// version) against it without the salt.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/model/digest.hpp"
#include "gateway/model/message.hpp"
#include "gateway/model/route.hpp"
#include "gateway/pki/pki.hpp"

namespace icegate::federation {

// Domain separators: the first length-prefixed field of each hashed or signed
// byte string, so that no other icegate signature or hash can be taken for one.
inline constexpr std::string_view binding_domain = "icegate label binding v1";
inline constexpr std::string_view portion_domain = "icegate portion digest v1";

// The digest the binding holds for a portion: over the domain, the portion's
// salt, its id, its canonical label (classification, then the count and each of its
// sorted, unique categories, then its original label the same way, empty when
// not translated) and the SHA-256 of its body. Every text is a 4-byte
// big-endian length and its bytes.
Sha256Digest portion_digest(const Portion& portion);

// The message's fields as a binding holds them.
BoundFields bound_fields(const Message& message);

// The bytes the origin signs, version 1. Each field in this order, texts as a
// 4-byte big-endian length and the bytes, integers as 8-byte big-endian two's
// complement, booleans as one byte 0 or 1:
//   binding_domain, version (4 bytes), route.origin_gateway,
//   message_id, originator, created_unix_ms, category, purpose, label_scheme,
//   title, derived_from, original_scheme,
//   originator_control, no_onward_sharing, not_before_unix_ms,
//   not_before_event, not_after_unix_ms,
//   signed_unix_ms, the number of digests (4 bytes), each digest (32 bytes).
// Never a protobuf serialisation, which is not canonical.
std::string canonical_bytes(const Route& route);

// The origin gateway's signing identity, read once and kept: under OpenSSL
// 3.0, reading the key and parsing the certificate per message would cost
// several times the signature (docs/PERFORMANCE.md, "The label binding").
struct OriginGateway {
  // Throws pki::PkiError naming the file when either cannot be read, or
  // when the certificate has no Common Name.
  OriginGateway(const std::filesystem::path& key, const std::filesystem::path& certificate);
  pki::SigningKey key;
  std::string certificate_pem;  // sent with every binding
  std::string name;             // the certificate's Common Name: Route::origin_gateway
};

// Gives every portion of `message` a fresh random salt (portion_salt_bytes,
// from OpenSSL's generator), replacing any it had: the origin gateway's first
// step before bind_labels, so that no sender chooses a salt.
void salt_portions(Message& message);

// The origin gateway's side: the Route for `message` as it leaves the origin
// (no via, hop_count 1), its labels bound by `origin`'s key. Every portion
// must be salted (salt_portions): std::invalid_argument naming the portion
// otherwise, since an unsalted digest lets a guess be confirmed.
// Throws pki::PkiError when the key cannot be used.
Route bind_labels(const Message& message, const OriginGateway& origin, std::int64_t now_unix_ms);

// A transit gateway's side: the route as it forwards the message on, with
// `this_gateway` appended to via and one more hop. The binding is unchanged.
Route onward(Route route, std::string_view this_gateway);

// Why a binding does not hold; each is a reason a hop refuses and audits.
enum class BindingProblem {
  unknown_version,             // not label_binding_version
  unreadable_certificate,      // certificate_pem is not a certificate
  certificate_not_from_ca,     // not issued by the origin gateway's CA
  certificate_not_valid_then,  // expired, or not yet valid, at signed_unix_ms
  origin_mismatch,             // its Common Name is not Route::origin_gateway
  bad_signature,               // the signature does not hold over canonical_bytes
  field_altered,               // a message field differs from the signed one
  caveat_altered,              // a handling caveat differs from the signed one
  portion_not_bound,           // a portion whose digest was not signed: altered or added
  portion_duplicated,          // the same portion twice
  portion_out_of_order,        // portions in another order than the origin's
};

// A stable code for audit records and tests, e.g. "portion-not-bound".
std::string_view to_string(BindingProblem problem);

struct BindingFailure {
  BindingProblem problem;
  std::string text;  // names the field or the portion, and what was wrong
};

// Checks, at any hop after the origin, that `forwarded` is what its origin
// gateway signed, less withheld portions: the binding's version; that its
// certificate was issued by `origin_ca` (the origin gateway's CA, from the
// hop's `peers:` entry, read once) and valid at the signing time; that its
// Common Name is Route::origin_gateway; the signature; each bound field and
// caveat; and that every portion's digest is signed, once, in the origin's
// order. nullopt when all holds.
std::optional<BindingFailure> verify(const ForwardedMessage& forwarded, const pki::TrustedCa& origin_ca);

}  // namespace icegate::federation

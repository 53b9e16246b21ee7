// A small certificate authority for icegate nodes, built on OpenSSL's own API
// (no shelling out to `openssl`).
//
// Directory layout (DIR):
//   ca.key, ca.crt            the CA (ECDSA P-256 unless KeyType says Ed25519; self-signed, CA:TRUE)
//   gateway.key, gateway.crt  the gateway's server certificate (CN=gateway, SAN 127.0.0.1, localhost)
//   nodes/ID.key, nodes/ID.crt   one per node; CN = node id, clientAuth
//   servers/NAME.key, servers/NAME.crt   web servers browsers reach (the exercise
//                             host); CN = NAME, serverAuth, SANs as given
//   crl.pem                   revoked node certificates, signed by the CA (once any is revoked)
// Serial numbers are random 128-bit values, so no serial file is kept.
// Keys are written with mode 0600 (PEM, PKCS#8); every file is written to a
// temporary name and renamed, so a reader never sees half a file.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace icegate::pki {

class PkiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The kind of key a certificate certifies. ECDSA P-256 is what `icegate pki`
// issues; Ed25519 is there so that handshakes can be measured with both
// (tools/bench/handshake_bench). A CA signs with its own key, whatever the
// subject's: an Ed25519 CA signs PureEdDSA, a P-256 CA ECDSA with SHA-256.
enum class KeyType { ecdsa_p256, ed25519 };

struct IssueOptions {
  std::chrono::hours validity{24 * 365};
  // For tests of expiry handling: a certificate whose validity ended already.
  bool already_expired = false;
  KeyType key_type = KeyType::ecdsa_p256;
  // Each file is still written whole and renamed into place; false skips the
  // fsync before the rename. Only for a scratch PKI that dies with its run
  // (an exercise's: 18,701 nodes are 37,402 fsyncs, minutes on a busy disk).
  bool sync = true;
};

struct Paths {
  std::filesystem::path key;
  std::filesystem::path certificate;
};

// Creates DIR (if needed), a CA, and the gateway's server certificate.
// Refuses (PkiError) when DIR already holds a CA, unless `overwrite`.
// Overwriting starts a fresh PKI: the old crl.pem and nodes/, which the new CA
// cannot vouch for, are removed.
// `key_type` is the CA's key and the gateway's.
void init_ca(const std::filesystem::path& dir, std::string_view ca_name = "icegate test CA",
             bool overwrite = false, KeyType key_type = KeyType::ecdsa_p256);

// Issues a node key and certificate signed by DIR's CA; CN = node_id.
// Node ids are [A-Za-z0-9._-]{1,64}; anything else is refused.
Paths issue_node(const std::filesystem::path& dir, std::string_view node_id,
                 const IssueOptions& options = {});

// Issues a key and server certificate signed by DIR's CA for a web server that
// browsers reach (the exercise host's pages): CN = name, serverAuth only (it
// cannot pass as a node), and one subject alternative name per entry of
// `names`: an IPv4 or IPv6 address becomes an iPAddress, anything else must be
// a DNS name (letters, digits, hyphens; no wildcards) and becomes a dNSName.
// Browsers match only the SANs, never the CN, so an empty list is refused, as
// is a validity beyond 398 days (the longest browsers accept). Names follow
// valid_node_id. Throws PkiError, writing nothing, for anything refused.
Paths issue_server(const std::filesystem::path& dir, std::string_view name, const std::vector<std::string>& names,
                   const IssueOptions& options = {});

Paths ca_paths(const std::filesystem::path& dir);
Paths gateway_paths(const std::filesystem::path& dir);
Paths node_paths(const std::filesystem::path& dir, std::string_view node_id);
Paths server_paths(const std::filesystem::path& dir, std::string_view name);

bool valid_node_id(std::string_view node_id);

// The subject Common Name of a PEM certificate file (for `pki show` and tests).
std::string certificate_common_name(const std::filesystem::path& certificate);

// The subject Common Name of a certificate as UTF-8, or nullopt when there is
// none, more than one, or it holds a NUL byte (an identity must be unambiguous).
std::optional<std::string> subject_common_name(const X509* certificate);

// Drains OpenSSL's (thread-local) error queue into one line, oldest first
// ("" when it is empty).
std::string drain_openssl_errors();

// The SHA-256 fingerprint of a PEM certificate file's DER encoding, as
// upper-case hex pairs joined by ':' (what browsers and `openssl x509
// -fingerprint -sha256` show), so that a person can compare the two.
std::string certificate_sha256_fingerprint(const std::filesystem::path& certificate);

// What `pki show` and `pki issue` print about a certificate file.
struct CertificateInfo {
  std::string common_name;
  std::string serial_hex;  // upper-case hex, no prefix
  std::string key_type;    // e.g. "ECDSA P-256"
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
};
CertificateInfo read_certificate_info(const std::filesystem::path& certificate);

// DIR/crl.pem: the CA's certificate revocation list (absent until a revocation).
std::filesystem::path crl_path(const std::filesystem::path& dir);

// Adds the node's current certificate (its serial) to DIR/crl.pem, signed by
// DIR's CA. Revoking an already revoked certificate changes nothing. Throws
// PkiError naming the file when the CA or the node certificate is missing, or
// when the certificate was not issued by DIR's CA. Servers read the CRL when
// their TLS context is created, so they must be restarted to see a revocation.
void revoke_node(const std::filesystem::path& dir, std::string_view node_id);

// Whether DIR/crl.pem lists the certificate's serial (false when there is no CRL).
bool is_revoked(const std::filesystem::path& dir, const std::filesystem::path& certificate);

// ---- Signatures (the audit head a peer witnesses; docs/FEDERATION.md) ----

// Signs `data` with the PEM private key in `key`: ECDSA P-256 over SHA-256,
// or Ed25519, whichever the key is. Returns the signature's bytes (DER for
// ECDSA). Throws PkiError naming the file when it is missing or unreadable.
std::string sign(const std::filesystem::path& key, std::string_view data);

// The PEM text of the certificate file (read whole; PkiError if it does not parse).
std::string read_certificate_pem(const std::filesystem::path& certificate);

// Checks that `certificate_pem` was issued by the CA certificate in `ca`
// (its signature and validity at `at`, a Unix time in ms) and that
// `signature` over `data` verifies with its public key. Returns "" when all
// holds, else one sentence saying what does not. Throws PkiError when `ca`
// cannot be read.
std::string check_signature(std::string_view certificate_pem, std::string_view data, std::string_view signature,
                            const std::filesystem::path& ca, std::int64_t at_unix_ms);

// What a signature check found, for a caller that must tell the cases apart
// (a gateway refusing a label binding audits which; federation/binding.hpp).
// not_valid_then: the chain is the CA's, but a certificate in it had expired,
// or was not yet valid, at the signing time. `text` is check_signature's
// sentence ("" when all holds).
enum class SignatureProblem { none, unreadable_certificate, not_issued_by_ca, not_valid_then, bad_signature };
struct SignatureCheck {
  SignatureProblem problem = SignatureProblem::none;
  std::string text;
  // The signer certificate's subject Common Name, once it parsed ("" when it
  // has none), so that the caller need not parse it again.
  std::string common_name;
};

// A private key read once, to sign many times (a gateway binding every message
// it forwards): under OpenSSL 3.0, reading and decoding the PEM file costs
// about twenty times the signature itself (docs/PERFORMANCE.md, "The label
// binding"). Signs as sign() does; safe to share between threads.
class SigningKey {
 public:
  // Throws PkiError naming the file when it is missing or unreadable.
  explicit SigningKey(const std::filesystem::path& key);
  std::string sign(std::string_view data) const;

 private:
  std::shared_ptr<EVP_PKEY> key_;
  std::string source_;
};

// A CA certificate read once, to check many signatures against: what
// check_signature does, without reading the CA file each time. The signers'
// certificates (carried with each signature, the same few over and over: a
// peer's origin gateways) are kept parsed too, up to 64, keyed by their PEM
// text; parsing one costs OpenSSL 3.0 more than checking the signature.
// Copies share the parsed certificates; safe to share between threads.
class TrustedCa {
 public:
  // Throws PkiError naming the file when it is missing or unreadable.
  explicit TrustedCa(const std::filesystem::path& ca);
  SignatureCheck check_signature(std::string_view certificate_pem, std::string_view data,
                                 std::string_view signature, std::int64_t at_unix_ms) const;

 private:
  struct ParsedCertificates;
  // The parsed certificate (null when it does not parse), and whether it was
  // already found to be issued by this CA.
  std::shared_ptr<X509> parsed(std::string_view certificate_pem, bool* issued_by_ca) const;
  void remember_issued(std::string_view certificate_pem) const;
  // nullopt when `certificate` chains to this CA and both are valid at `at`.
  std::optional<SignatureCheck> verify_issued(X509* certificate, time_t at, const std::string& common_name) const;
  SignatureCheck check_signed(X509* certificate, std::string_view data, std::string_view signature,
                              std::string common_name) const;

  std::shared_ptr<X509> ca_;
  std::string source_;
  std::shared_ptr<ParsedCertificates> parsed_;
};

// The subject Common Name of a PEM certificate text ("" when there is none).
std::string pem_common_name(std::string_view certificate_pem);
// Whether `text` holds a PEM certificate (-----BEGIN CERTIFICATE-----) that parses.
bool is_pem_certificate(std::string_view text);

}  // namespace icegate::pki

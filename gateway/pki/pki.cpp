// The icegate certificate authority, on OpenSSL 3's own API. Every OpenSSL
// object is held by a unique_ptr with its free function; every failure becomes
// a PkiError that names what was being done and carries OpenSSL's error queue.
#include "gateway/pki/pki.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace icegate::pki {

std::string drain_openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text;
}

namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// Ownership of OpenSSL objects.

template <auto free_function>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* object) const noexcept {
    free_function(object);
  }
};
template <typename T, auto free_function>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter<free_function>>;

using BioPtr = OpenSslPtr<BIO, BIO_free_all>;
using BignumPtr = OpenSslPtr<BIGNUM, BN_free>;
using Asn1IntegerPtr = OpenSslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1TimePtr = OpenSslPtr<ASN1_TIME, ASN1_TIME_free>;
using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;
using X509ExtensionPtr = OpenSslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using X509CrlPtr = OpenSslPtr<X509_CRL, X509_CRL_free>;
using X509RevokedPtr = OpenSslPtr<X509_REVOKED, X509_REVOKED_free>;
using X509NamePtr = OpenSslPtr<X509_NAME, X509_NAME_free>;

struct OpenSslStringDeleter {
  void operator()(char* text) const noexcept { OPENSSL_free(text); }
};
using OpenSslStringPtr = std::unique_ptr<char, OpenSslStringDeleter>;

struct OpenSslBytesDeleter {
  void operator()(unsigned char* bytes) const noexcept { OPENSSL_free(bytes); }
};
using OpenSslBytesPtr = std::unique_ptr<unsigned char, OpenSslBytesDeleter>;

// ---------------------------------------------------------------------------
// Errors.


[[noreturn]] void fail(const std::string& what) {
  const std::string openssl_text = drain_openssl_errors();
  if (openssl_text.empty()) throw PkiError(what);
  throw PkiError(fmt::format("{}: {}", what, openssl_text));
}

// For calls that return 1 (or a non-null pointer) on success.
void check(bool succeeded, std::string_view what) {
  if (!succeeded) fail(std::string(what));
}

// ---------------------------------------------------------------------------
// Files.

// Writes `content` to a temporary file beside `target` (created 0600 by
// mkstemp, so a key is never readable by others, not even briefly), sets
// `mode`, and renames it over `target`.
void write_file_atomically(const fs::path& target, std::string_view content, mode_t mode, bool sync = true) {
  std::string temporary = target.string() + ".tmp-XXXXXX";
  const int descriptor = ::mkstemp(temporary.data());
  if (descriptor < 0) {
    throw PkiError(fmt::format("cannot create a file beside {}: {}", target.string(), std::strerror(errno)));
  }
  auto abandon = [&](std::string_view what) {
    const int saved_errno = errno;
    ::close(descriptor);
    ::unlink(temporary.c_str());
    throw PkiError(fmt::format("cannot {} {}: {}", what, target.string(), std::strerror(saved_errno)));
  };
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t count = ::write(descriptor, content.data() + written, content.size() - written);
    if (count < 0) {
      if (errno == EINTR) continue;
      abandon("write");
    }
    written += static_cast<std::size_t>(count);
  }
  if (::fchmod(descriptor, mode) != 0) abandon("set the mode of");
  if (sync && ::fsync(descriptor) != 0) abandon("flush");
  if (::close(descriptor) != 0) {
    const int saved_errno = errno;
    ::unlink(temporary.c_str());
    throw PkiError(fmt::format("cannot write {}: {}", target.string(), std::strerror(saved_errno)));
  }
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    const int saved_errno = errno;
    ::unlink(temporary.c_str());
    throw PkiError(fmt::format("cannot write {}: {}", target.string(), std::strerror(saved_errno)));
  }
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(length));
}

constexpr mode_t private_key_mode = 0600;
constexpr mode_t public_file_mode = 0644;

void write_private_key(const fs::path& path, EVP_PKEY* key, bool sync = true) {
  BioPtr bio{BIO_new(BIO_s_mem())};
  check(bio != nullptr, "cannot allocate a memory BIO");
  // Unencrypted PKCS#8 ("BEGIN PRIVATE KEY"); the file mode protects it.
  check(PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        fmt::format("cannot encode the private key for {}", path.string()));
  write_file_atomically(path, bio_contents(bio.get()), private_key_mode, sync);
}

void write_certificate(const fs::path& path, X509* certificate, bool sync = true) {
  BioPtr bio{BIO_new(BIO_s_mem())};
  check(bio != nullptr, "cannot allocate a memory BIO");
  check(PEM_write_bio_X509(bio.get(), certificate) == 1,
        fmt::format("cannot encode the certificate for {}", path.string()));
  write_file_atomically(path, bio_contents(bio.get()), public_file_mode, sync);
}

void write_crl(const fs::path& path, X509_CRL* crl) {
  BioPtr bio{BIO_new(BIO_s_mem())};
  check(bio != nullptr, "cannot allocate a memory BIO");
  check(PEM_write_bio_X509_CRL(bio.get(), crl) == 1, fmt::format("cannot encode the CRL for {}", path.string()));
  write_file_atomically(path, bio_contents(bio.get()), public_file_mode);
}

BioPtr open_for_reading(const fs::path& path, std::string_view what) {
  if (!fs::exists(path)) throw PkiError(fmt::format("{} not found: {}", what, path.string()));
  BioPtr bio{BIO_new_file(path.c_str(), "rb")};
  if (!bio) fail(fmt::format("cannot open {} {}", what, path.string()));
  return bio;
}

X509Ptr load_certificate(const fs::path& path, std::string_view what = "certificate") {
  BioPtr bio = open_for_reading(path, what);
  X509Ptr certificate{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
  if (!certificate) fail(fmt::format("cannot parse {} {}", what, path.string()));
  return certificate;
}

EvpPkeyPtr load_private_key(const fs::path& path, std::string_view what) {
  BioPtr bio = open_for_reading(path, what);
  EvpPkeyPtr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
  if (!key) fail(fmt::format("cannot parse {} {}", what, path.string()));
  return key;
}

X509CrlPtr load_crl(const fs::path& path) {
  BioPtr bio = open_for_reading(path, "CRL");
  X509CrlPtr crl{PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)};
  if (!crl) fail(fmt::format("cannot parse CRL {}", path.string()));
  return crl;
}

// ---------------------------------------------------------------------------
// Keys and certificates.

EvpPkeyPtr generate_key(KeyType key_type) {
  if (key_type == KeyType::ed25519) {
    EvpPkeyPtr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")};
    if (!key) fail("cannot generate an Ed25519 key");
    return key;
  }
  EvpPkeyPtr key{EVP_EC_gen("P-256")};
  if (!key) fail("cannot generate an ECDSA P-256 key");
  return key;
}

// The digest to sign with: SHA-256 for ECDSA; none for Ed25519, which hashes
// inside the algorithm (PureEdDSA) and refuses a digest.
const EVP_MD* signing_digest(EVP_PKEY* signing_key) {
  return EVP_PKEY_get_base_id(signing_key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
}

// A random, positive, non-zero 128-bit serial (RFC 5280 allows up to 20 octets).
Asn1IntegerPtr random_serial() {
  BignumPtr number{BN_new()};
  check(number != nullptr, "cannot allocate a serial number");
  do {
    check(BN_rand(number.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1,
          "cannot draw a random serial number");
  } while (BN_is_zero(number.get()));
  Asn1IntegerPtr serial{BN_to_ASN1_INTEGER(number.get(), nullptr)};
  check(serial != nullptr, "cannot encode a serial number");
  return serial;
}

X509NamePtr name_with_common_name(std::string_view common_name) {
  X509NamePtr name{X509_NAME_new()};
  check(name != nullptr, "cannot allocate a name");
  check(X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.data()),
                                   static_cast<int>(common_name.size()), -1, 0) == 1,
        fmt::format("cannot use \"{}\" as a common name", common_name));
  return name;
}

// Sets [now + from_offset, now + until_offset] as the validity window.
void set_validity(X509* certificate, std::chrono::seconds from_offset, std::chrono::seconds until_offset) {
  std::time_t now = std::time(nullptr);
  // X509_time_adj_ex takes days and seconds separately, so long windows
  // (ten years) do not depend on the width of `long`.
  auto adjust = [&](ASN1_TIME* time, std::chrono::seconds offset) {
    const auto days = std::chrono::duration_cast<std::chrono::days>(offset);
    const auto seconds = offset - days;
    return X509_time_adj_ex(time, static_cast<int>(days.count()), static_cast<long>(seconds.count()),
                            &now) != nullptr;
  };
  check(adjust(X509_getm_notBefore(certificate), from_offset), "cannot set notBefore");
  check(adjust(X509_getm_notAfter(certificate), until_offset), "cannot set notAfter");
}

void add_extension(X509* certificate, X509V3_CTX* context, int nid, const char* value) {
  X509ExtensionPtr extension{X509V3_EXT_conf_nid(nullptr, context, nid, value)};
  if (!extension) fail(fmt::format("cannot build extension {}={}", OBJ_nid2sn(nid), value));
  check(X509_add_ext(certificate, extension.get(), -1) == 1,
        fmt::format("cannot add extension {}", OBJ_nid2sn(nid)));
}

struct CertificateRequest {
  std::string_view common_name;
  EVP_PKEY* subject_key = nullptr;
  X509* issuer = nullptr;       // null: self-signed
  EVP_PKEY* issuer_key = nullptr;
  std::chrono::seconds not_before_offset{};
  std::chrono::seconds not_after_offset{};
  // (nid, value) pairs in X509V3 config syntax, added in order; the subject
  // key identifier must come before the authority key identifier.
  std::vector<std::pair<int, const char*>> extensions;
};

X509Ptr build_certificate(const CertificateRequest& request) {
  X509Ptr certificate{X509_new()};
  check(certificate != nullptr, "cannot allocate a certificate");
  check(X509_set_version(certificate.get(), X509_VERSION_3) == 1, "cannot set the certificate version");
  const Asn1IntegerPtr serial = random_serial();
  check(X509_set_serialNumber(certificate.get(), serial.get()) == 1, "cannot set the serial number");

  const X509NamePtr subject = name_with_common_name(request.common_name);
  check(X509_set_subject_name(certificate.get(), subject.get()) == 1, "cannot set the subject");
  X509* issuer = request.issuer != nullptr ? request.issuer : certificate.get();
  check(X509_set_issuer_name(certificate.get(), X509_get_subject_name(issuer)) == 1,
        "cannot set the issuer");
  set_validity(certificate.get(), request.not_before_offset, request.not_after_offset);
  check(X509_set_pubkey(certificate.get(), request.subject_key) == 1, "cannot set the public key");

  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer, certificate.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : request.extensions) add_extension(certificate.get(), &context, nid, value);

  EVP_PKEY* signing_key = request.issuer_key != nullptr ? request.issuer_key : request.subject_key;
  if (X509_sign(certificate.get(), signing_key, signing_digest(signing_key)) <= 0) {
    fail(fmt::format("cannot sign the certificate for \"{}\"", request.common_name));
  }
  return certificate;
}

using namespace std::chrono_literals;

// Issued certificates start a little in the past so that a peer whose clock
// is slightly behind does not see them as not yet valid.
constexpr std::chrono::seconds clock_skew_allowance = 5min;
constexpr std::chrono::seconds ca_validity = std::chrono::days(3652);  // ten years
// The gateway certificate is only reissued by `pki init --force`; a little
// over two years (the old CA/Browser Forum limit) keeps that rare.
constexpr std::chrono::seconds gateway_validity = std::chrono::days(825);
// Browsers refuse TLS server certificates valid for longer (Apple's rule; the
// CA/Browser Forum's for public CAs).
constexpr std::chrono::hours browser_server_validity_limit = std::chrono::days(398);

void require_ca_files(const fs::path& dir) {
  const Paths ca = ca_paths(dir);
  if (!fs::exists(ca.certificate)) {
    throw PkiError(fmt::format("no CA in {}: {} not found", dir.string(), ca.certificate.string()));
  }
  if (!fs::exists(ca.key)) throw PkiError(fmt::format("CA key not found: {}", ca.key.string()));
}

std::string serial_hex(const ASN1_INTEGER* serial) {
  BignumPtr number{ASN1_INTEGER_to_BN(serial, nullptr)};
  check(number != nullptr, "cannot read a serial number");
  OpenSslStringPtr hex{BN_bn2hex(number.get())};
  check(hex != nullptr, "cannot print a serial number");
  return hex.get();
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* time, std::string_view what) {
  std::tm broken_down{};
  check(ASN1_TIME_to_tm(time, &broken_down) == 1, fmt::format("cannot read {}", what));
  return std::chrono::system_clock::from_time_t(::timegm(&broken_down));
}

std::string describe_key(EVP_PKEY* key) {
  const int type = EVP_PKEY_get_base_id(key);
  if (type == EVP_PKEY_EC) {
    char group[64] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) == 1) {
      const std::string_view name(group, length);
      if (name == "prime256v1" || name == "P-256") return "ECDSA P-256";
      return fmt::format("ECDSA {}", name);
    }
    ERR_clear_error();
    return "ECDSA";
  }
  if (type == EVP_PKEY_RSA) return fmt::format("RSA {}", EVP_PKEY_get_bits(key));
  if (type == EVP_PKEY_ED25519) return "Ed25519";
  return OBJ_nid2sn(type);
}

}  // namespace

// ---------------------------------------------------------------------------
// Paths and names.

Paths ca_paths(const fs::path& dir) { return {dir / "ca.key", dir / "ca.crt"}; }
Paths gateway_paths(const fs::path& dir) { return {dir / "gateway.key", dir / "gateway.crt"}; }

Paths node_paths(const fs::path& dir, std::string_view node_id) {
  if (!valid_node_id(node_id)) {
    throw PkiError(fmt::format("invalid node id \"{}\": use 1 to 64 of A-Z a-z 0-9 . _ -", node_id));
  }
  const std::string id(node_id);
  return {dir / "nodes" / (id + ".key"), dir / "nodes" / (id + ".crt")};
}

Paths server_paths(const fs::path& dir, std::string_view name) {
  if (!valid_node_id(name)) {
    throw PkiError(fmt::format("invalid server name \"{}\": use 1 to 64 of A-Z a-z 0-9 . _ -", name));
  }
  const std::string id(name);
  return {dir / "servers" / (id + ".key"), dir / "servers" / (id + ".crt")};
}

fs::path crl_path(const fs::path& dir) { return dir / "crl.pem"; }

bool valid_node_id(std::string_view node_id) {
  if (node_id.empty() || node_id.size() > 64) return false;
  return std::all_of(node_id.begin(), node_id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::optional<std::string> subject_common_name(const X509* certificate) {
  if (certificate == nullptr) return std::nullopt;
  const X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return std::nullopt;
  if (X509_NAME_get_index_by_NID(subject, NID_commonName, index) >= 0) return std::nullopt;  // ambiguous
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);  // converts BMP/Universal/Latin-1 strings
  if (length < 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  const OpenSslBytesPtr owned{utf8};
  std::string name(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  if (name.find('\0') != std::string::npos) return std::nullopt;  // "good.example\0evil"
  return name;
}

std::string certificate_common_name(const fs::path& certificate) {
  const X509Ptr loaded = load_certificate(certificate);
  std::optional<std::string> name = subject_common_name(loaded.get());
  if (!name) throw PkiError(fmt::format("certificate {} has no single common name", certificate.string()));
  return *name;
}

CertificateInfo read_certificate_info(const fs::path& certificate) {
  const X509Ptr loaded = load_certificate(certificate);
  CertificateInfo info;
  info.common_name = subject_common_name(loaded.get()).value_or("");
  info.serial_hex = serial_hex(X509_get0_serialNumber(loaded.get()));
  EVP_PKEY* key = X509_get0_pubkey(loaded.get());
  info.key_type = key != nullptr ? describe_key(key) : "unknown key";
  info.not_before = to_time_point(X509_get0_notBefore(loaded.get()), "notBefore");
  info.not_after = to_time_point(X509_get0_notAfter(loaded.get()), "notAfter");
  return info;
}

// ---------------------------------------------------------------------------
// The CA.

void init_ca(const fs::path& dir, std::string_view ca_name, bool overwrite, KeyType key_type) {
  const Paths ca = ca_paths(dir);
  const Paths gateway = gateway_paths(dir);
  if (fs::exists(ca.certificate) && !overwrite) {
    throw PkiError(fmt::format("refusing to overwrite the existing CA {}", ca.certificate.string()));
  }
  if (ca_name.empty()) throw PkiError("the CA name must not be empty");

  // Build everything in memory first, so a failure leaves DIR as it was.
  const EvpPkeyPtr ca_key = generate_key(key_type);
  const X509Ptr ca_certificate = build_certificate({
      .common_name = ca_name,
      .subject_key = ca_key.get(),
      .not_before_offset = -clock_skew_allowance,
      .not_after_offset = ca_validity,
      .extensions = {{NID_basic_constraints, "critical,CA:TRUE"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"}},
  });

  const EvpPkeyPtr gateway_key = generate_key(key_type);
  const X509Ptr gateway_certificate = build_certificate({
      .common_name = "gateway",
      .subject_key = gateway_key.get(),
      .issuer = ca_certificate.get(),
      .issuer_key = ca_key.get(),
      .not_before_offset = -clock_skew_allowance,
      .not_after_offset = gateway_validity,
      .extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                     {NID_key_usage, "critical,digitalSignature"},
                     {NID_ext_key_usage, "serverAuth"},
                     {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
                     {NID_subject_key_identifier, "hash"},
                     {NID_authority_key_identifier, "keyid:always"}},
  });

  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw PkiError(fmt::format("cannot create {}: {}", dir.string(), error.message()));
  if (overwrite) {
    // Certificates from the old CA cannot verify any more, and its CRL would
    // fail the new CA's signature check and so refuse every client.
    fs::remove(crl_path(dir), error);
    if (error) throw PkiError(fmt::format("cannot remove {}: {}", crl_path(dir).string(), error.message()));
    fs::remove_all(dir / "nodes", error);
    if (error) throw PkiError(fmt::format("cannot remove {}: {}", (dir / "nodes").string(), error.message()));
  }
  // Keys first: a certificate on disk always has its key beside it.
  write_private_key(ca.key, ca_key.get());
  write_private_key(gateway.key, gateway_key.get());
  write_certificate(gateway.certificate, gateway_certificate.get());
  write_certificate(ca.certificate, ca_certificate.get());  // last: it marks DIR as initialised
}

namespace {

// The CA of DIR as issuing signs with it: its certificate and its key,
// checked to belong together.
struct SigningCa {
  X509Ptr certificate;
  EvpPkeyPtr key;
};

SigningCa load_signing_ca(const fs::path& dir) {
  require_ca_files(dir);
  const Paths ca = ca_paths(dir);
  SigningCa loaded{load_certificate(ca.certificate, "CA certificate"), load_private_key(ca.key, "CA key")};
  if (X509_check_private_key(loaded.certificate.get(), loaded.key.get()) != 1) {
    fail(fmt::format("CA key {} does not match {}", ca.key.string(), ca.certificate.string()));
  }
  return loaded;
}

}  // namespace

Paths issue_node(const fs::path& dir, std::string_view node_id, const IssueOptions& options) {
  const Paths paths = node_paths(dir, node_id);  // refuses invalid ids
  if (!options.already_expired && options.validity <= std::chrono::hours::zero()) {
    throw PkiError(fmt::format("validity for \"{}\" must be positive", node_id));
  }
  const SigningCa ca = load_signing_ca(dir);

  const EvpPkeyPtr key = generate_key(options.key_type);
  const auto not_before = options.already_expired ? -std::chrono::seconds(std::chrono::days(2))
                                                  : -clock_skew_allowance;
  const auto not_after = options.already_expired ? -std::chrono::seconds(std::chrono::days(1))
                                                 : std::chrono::seconds(options.validity);
  const X509Ptr certificate = build_certificate({
      .common_name = node_id,
      .subject_key = key.get(),
      .issuer = ca.certificate.get(),
      .issuer_key = ca.key.get(),
      .not_before_offset = not_before,
      .not_after_offset = not_after,
      .extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                     {NID_key_usage, "critical,digitalSignature"},
                     {NID_ext_key_usage, "clientAuth"},
                     {NID_subject_key_identifier, "hash"},
                     {NID_authority_key_identifier, "keyid:always"}},
  });

  std::error_code error;
  fs::create_directories(paths.certificate.parent_path().string(), error);
  if (error) throw PkiError(fmt::format("cannot create {}: {}", paths.certificate.parent_path().string(), error.message()));
  write_private_key(paths.key, key.get(), options.sync);
  write_certificate(paths.certificate, certificate.get(), options.sync);
  return paths;
}

namespace {

// A DNS name as RFC 1123 has it: dot-separated labels of letters, digits and
// hyphens, 1 to 63 characters each, not starting or ending with a hyphen.
bool valid_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_ip_address(const std::string& text) {
  unsigned char address[16];
  return ::inet_pton(AF_INET, text.c_str(), address) == 1 || ::inet_pton(AF_INET6, text.c_str(), address) == 1;
}

}  // namespace

Paths issue_server(const fs::path& dir, std::string_view name, const std::vector<std::string>& names,
                   const IssueOptions& options) {
  const Paths paths = server_paths(dir, name);  // refuses invalid names
  if (names.empty()) {
    throw PkiError(fmt::format("server \"{}\" needs at least one subject alternative name (an IP address or a DNS "
                               "name): browsers ignore the common name",
                               name));
  }
  // Every entry is checked before it goes into the X509V3 configuration text
  // below, where a comma or a colon of our own making would add a name.
  std::string alternative_names;
  for (const std::string& entry : names) {
    const bool nul_free = entry.find('\0') == std::string::npos;
    std::string item;
    if (nul_free && is_ip_address(entry)) item = "IP:" + entry;
    else if (nul_free && valid_dns_name(entry)) item = "DNS:" + entry;
    else {
      throw PkiError(fmt::format("invalid subject alternative name \"{}\" for server \"{}\": neither an IP address "
                                 "nor a DNS name (letters, digits, hyphens and dots; no wildcards)",
                                 nul_free ? entry : std::string("(holds a NUL byte)"), name));
    }
    if (!alternative_names.empty()) alternative_names += ',';
    alternative_names += item;
  }
  if (options.validity <= std::chrono::hours::zero() || options.validity > browser_server_validity_limit) {
    throw PkiError(fmt::format("validity for server \"{}\" must be between 1 hour and 398 days (browsers refuse "
                               "longer), not {} hours",
                               name, options.validity.count()));
  }
  const SigningCa ca = load_signing_ca(dir);

  const EvpPkeyPtr key = generate_key(options.key_type);
  const X509Ptr certificate = build_certificate({
      .common_name = name,
      .subject_key = key.get(),
      .issuer = ca.certificate.get(),
      .issuer_key = ca.key.get(),
      .not_before_offset = -clock_skew_allowance,
      .not_after_offset = std::chrono::seconds(options.validity),
      .extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                     {NID_key_usage, "critical,digitalSignature"},
                     {NID_ext_key_usage, "serverAuth"},
                     {NID_subject_alt_name, alternative_names.c_str()},
                     {NID_subject_key_identifier, "hash"},
                     {NID_authority_key_identifier, "keyid:always"}},
  });

  std::error_code error;
  fs::create_directories(paths.certificate.parent_path(), error);
  if (error) throw PkiError(fmt::format("cannot create {}: {}", paths.certificate.parent_path().string(), error.message()));
  write_private_key(paths.key, key.get());
  write_certificate(paths.certificate, certificate.get());
  return paths;
}

std::string certificate_sha256_fingerprint(const fs::path& certificate) {
  const X509Ptr loaded = load_certificate(certificate);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  check(X509_digest(loaded.get(), EVP_sha256(), digest, &length) == 1,
        fmt::format("cannot hash certificate {}", certificate.string()));
  std::string text;
  for (unsigned int i = 0; i < length; ++i) text += fmt::format("{}{:02X}", i == 0 ? "" : ":", digest[i]);
  return text;
}

// ---------------------------------------------------------------------------
// Revocation.

namespace {

// Loads DIR/crl.pem and checks that DIR's CA signed it.
X509CrlPtr load_verified_crl(const fs::path& dir, X509* ca_certificate) {
  const fs::path path = crl_path(dir);
  X509CrlPtr crl = load_crl(path);
  if (X509_CRL_verify(crl.get(), X509_get0_pubkey(ca_certificate)) != 1) {
    fail(fmt::format("CRL {} is not signed by the CA {}", path.string(), ca_paths(dir).certificate.string()));
  }
  return crl;
}

bool crl_lists(X509_CRL* crl, const ASN1_INTEGER* serial) {
  X509_REVOKED* entry = nullptr;
  // X509_CRL_get0_by_serial takes a non-const serial but does not modify it.
  return X509_CRL_get0_by_serial(crl, &entry, const_cast<ASN1_INTEGER*>(serial)) == 1;
}

long crl_number(X509_CRL* crl) {
  int critical = 0;
  Asn1IntegerPtr number{static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, &critical, nullptr))};
  if (!number) return 0;
  const long value = ASN1_INTEGER_get(number.get());
  return value < 0 ? 0 : value;
}

}  // namespace

void revoke_node(const fs::path& dir, std::string_view node_id) {
  const Paths paths = node_paths(dir, node_id);  // refuses invalid ids
  require_ca_files(dir);
  const Paths ca = ca_paths(dir);
  const X509Ptr ca_certificate = load_certificate(ca.certificate, "CA certificate");
  const X509Ptr node_certificate = load_certificate(paths.certificate, "node certificate");
  if (X509_verify(node_certificate.get(), X509_get0_pubkey(ca_certificate.get())) != 1) {
    fail(fmt::format("{} was not issued by the CA {}", paths.certificate.string(), ca.certificate.string()));
  }
  const ASN1_INTEGER* serial = X509_get0_serialNumber(node_certificate.get());

  X509CrlPtr previous;
  if (fs::exists(crl_path(dir))) {
    previous = load_verified_crl(dir, ca_certificate.get());
    if (crl_lists(previous.get(), serial)) return;  // already revoked: nothing to do
  }
  const EvpPkeyPtr ca_key = load_private_key(ca.key, "CA key");

  X509CrlPtr crl{X509_CRL_new()};
  check(crl != nullptr, "cannot allocate a CRL");
  check(X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1, "cannot set the CRL version");
  check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_certificate.get())) == 1,
        "cannot set the CRL issuer");
  const Asn1TimePtr now{X509_time_adj_ex(nullptr, 0, 0, nullptr)};
  check(now != nullptr, "cannot read the time");
  check(X509_CRL_set1_lastUpdate(crl.get(), now.get()) == 1, "cannot set the CRL lastUpdate");
  // Verifiers refuse every certificate once a CRL's nextUpdate has passed, so
  // the list stays current for as long as the CA that signs it.
  check(X509_CRL_set1_nextUpdate(crl.get(), X509_get0_notAfter(ca_certificate.get())) == 1,
        "cannot set the CRL nextUpdate");

  if (previous) {
    const STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(previous.get());
    for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
      X509RevokedPtr copy{X509_REVOKED_dup(sk_X509_REVOKED_value(entries, i))};
      check(copy != nullptr, "cannot copy a CRL entry");
      check(X509_CRL_add0_revoked(crl.get(), copy.get()) == 1, "cannot add a CRL entry");
      copy.release();  // owned by the CRL now
    }
  }
  X509RevokedPtr entry{X509_REVOKED_new()};
  check(entry != nullptr, "cannot allocate a CRL entry");
  check(X509_REVOKED_set_serialNumber(entry.get(), const_cast<ASN1_INTEGER*>(serial)) == 1,
        "cannot set the revoked serial");
  check(X509_REVOKED_set_revocationDate(entry.get(), now.get()) == 1, "cannot set the revocation date");
  check(X509_CRL_add0_revoked(crl.get(), entry.get()) == 1, "cannot add the CRL entry");
  entry.release();
  check(X509_CRL_sort(crl.get()) == 1, "cannot sort the CRL");

  X509V3_CTX context;
  X509V3_set_ctx(&context, ca_certificate.get(), nullptr, nullptr, crl.get(), 0);
  X509ExtensionPtr authority{X509V3_EXT_conf_nid(nullptr, &context, NID_authority_key_identifier, "keyid:always")};
  check(authority != nullptr, "cannot build the CRL authorityKeyIdentifier");
  check(X509_CRL_add_ext(crl.get(), authority.get(), -1) == 1, "cannot add the CRL authorityKeyIdentifier");
  Asn1IntegerPtr number{ASN1_INTEGER_new()};
  check(number != nullptr && ASN1_INTEGER_set(number.get(), (previous ? crl_number(previous.get()) : 0) + 1) == 1,
        "cannot set the CRL number");
  check(X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) == 1, "cannot add the CRL number");

  if (X509_CRL_sign(crl.get(), ca_key.get(), signing_digest(ca_key.get())) <= 0) fail("cannot sign the CRL");
  write_crl(crl_path(dir), crl.get());
}

bool is_revoked(const fs::path& dir, const fs::path& certificate) {
  if (!fs::exists(crl_path(dir))) return false;
  const X509Ptr ca_certificate = load_certificate(ca_paths(dir).certificate, "CA certificate");
  const X509CrlPtr crl = load_verified_crl(dir, ca_certificate.get());
  const X509Ptr loaded = load_certificate(certificate);
  return crl_lists(crl.get(), X509_get0_serialNumber(loaded.get()));
}

// ---------------------------------------------------------------------------
// Signatures.

namespace {

using EvpMdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using X509StorePtr = OpenSslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;

X509Ptr parse_certificate_pem(std::string_view pem) {
  BioPtr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  if (!bio) return nullptr;
  return X509Ptr{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
}

}  // namespace

SigningKey::SigningKey(const fs::path& key)
    : key_(load_private_key(key, "private key").release(), EVP_PKEY_free), source_(key.string()) {}

std::string SigningKey::sign(std::string_view data) const {
  EvpMdCtxPtr context{EVP_MD_CTX_new()};
  check(context != nullptr, "cannot allocate a signing context");
  check(EVP_DigestSignInit(context.get(), nullptr, signing_digest(key_.get()), nullptr, key_.get()) == 1,
        fmt::format("cannot sign with {}", source_));
  std::size_t size = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  check(EVP_DigestSign(context.get(), nullptr, &size, bytes, data.size()) == 1, "cannot size the signature");
  std::string signature(size, '\0');
  check(EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, bytes, data.size()) ==
            1,
        fmt::format("cannot sign with {}", source_));
  signature.resize(size);
  return signature;
}

std::string sign(const fs::path& key, std::string_view data) { return SigningKey(key).sign(data); }

std::string read_certificate_pem(const fs::path& certificate) {
  const X509Ptr loaded = load_certificate(certificate);
  BioPtr bio{BIO_new(BIO_s_mem())};
  check(bio != nullptr && PEM_write_bio_X509(bio.get(), loaded.get()) == 1,
        fmt::format("cannot write {} as PEM", certificate.string()));
  return bio_contents(bio.get());
}

bool is_pem_certificate(std::string_view text) {
  const bool parses = parse_certificate_pem(text) != nullptr;
  drain_openssl_errors();
  return parses;
}

std::string pem_common_name(std::string_view certificate_pem) {
  const X509Ptr certificate = parse_certificate_pem(certificate_pem);
  drain_openssl_errors();
  if (!certificate) return {};
  return subject_common_name(certificate.get()).value_or("");
}

struct TrustedCa::ParsedCertificates {
  static constexpr std::size_t limit = 64;
  std::mutex mutex;  // guards by_pem and every Entry's issued_by_ca
  struct Entry {
    std::shared_ptr<X509> certificate;
    // X509_verify_cert succeeded once against this CA. Nothing it checks
    // changes with time but the validity periods (no CRL is consulted), so
    // later checks need only compare the time with both certificates'.
    bool issued_by_ca = false;
  };
  std::map<std::string, Entry, std::less<>> by_pem;
};

namespace {
// Whether `certificate` is valid at `at`, as X509_verify_cert judges it
// (not before notBefore, before notAfter); false when a time cannot be read.
bool valid_at(const X509* certificate, time_t at) {
  return X509_cmp_time(X509_get0_notBefore(certificate), &at) < 0 &&
         X509_cmp_time(X509_get0_notAfter(certificate), &at) > 0;
}
}  // namespace

TrustedCa::TrustedCa(const fs::path& ca)
    : ca_(load_certificate(ca, "CA certificate").release(), X509_free),
      source_(ca.string()),
      parsed_(std::make_shared<ParsedCertificates>()) {}

std::shared_ptr<X509> TrustedCa::parsed(std::string_view certificate_pem, bool* issued_by_ca) const {
  {
    const std::lock_guard lock(parsed_->mutex);
    if (const auto found = parsed_->by_pem.find(certificate_pem); found != parsed_->by_pem.end()) {
      *issued_by_ca = found->second.issued_by_ca;
      return found->second.certificate;
    }
  }
  *issued_by_ca = false;
  X509Ptr certificate = parse_certificate_pem(certificate_pem);
  if (!certificate) return nullptr;
  std::shared_ptr<X509> shared(certificate.release(), X509_free);
  const std::lock_guard lock(parsed_->mutex);
  // More signers than a gateway has origins: start again rather than grow.
  if (parsed_->by_pem.size() >= ParsedCertificates::limit) parsed_->by_pem.clear();
  parsed_->by_pem.emplace(std::string(certificate_pem), ParsedCertificates::Entry{shared});
  return shared;
}

void TrustedCa::remember_issued(std::string_view certificate_pem) const {
  const std::lock_guard lock(parsed_->mutex);
  if (const auto found = parsed_->by_pem.find(certificate_pem); found != parsed_->by_pem.end())
    found->second.issued_by_ca = true;
}

SignatureCheck TrustedCa::check_signature(std::string_view certificate_pem, std::string_view data,
                                          std::string_view signature, std::int64_t at_unix_ms) const {
  bool issued_by_ca = false;
  const std::shared_ptr<X509> certificate = parsed(certificate_pem, &issued_by_ca);
  if (!certificate) {
    drain_openssl_errors();
    return {SignatureProblem::unreadable_certificate, "its certificate is not a PEM certificate"};
  }
  std::string common_name = subject_common_name(certificate.get()).value_or("");
  // Issued by the CA, and valid at the time it claims to have signed: a
  // certificate this CA was found to have issued needs only the times
  // checked again (about 60 µs saved per check, docs/PERFORMANCE.md "The
  // label binding"); outside them, the full check below names the problem.
  const time_t at = static_cast<time_t>(at_unix_ms / 1000);
  if (!issued_by_ca || !valid_at(certificate.get(), at) || !valid_at(ca_.get(), at)) {
    if (auto refused = verify_issued(certificate.get(), at, common_name)) return std::move(*refused);
    remember_issued(certificate_pem);
  }
  return check_signed(certificate.get(), data, signature, std::move(common_name));
}

std::optional<SignatureCheck> TrustedCa::verify_issued(X509* certificate, time_t at,
                                                       const std::string& common_name) const {
  X509StorePtr store{X509_STORE_new()};
  X509StoreCtxPtr verify{X509_STORE_CTX_new()};
  check(store && verify && X509_STORE_add_cert(store.get(), ca_.get()) == 1 &&
            X509_STORE_CTX_init(verify.get(), store.get(), certificate, nullptr) == 1,
        "cannot set up certificate verification");
  X509_STORE_CTX_set_time(verify.get(), 0, at);
  if (X509_verify_cert(verify.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(verify.get());
    drain_openssl_errors();
    const bool out_of_date = error == X509_V_ERR_CERT_HAS_EXPIRED || error == X509_V_ERR_CERT_NOT_YET_VALID;
    return SignatureCheck{out_of_date ? SignatureProblem::not_valid_then : SignatureProblem::not_issued_by_ca,
                          fmt::format("its certificate ({}) was not issued by {} or was not valid then: {}",
                                      common_name.empty() ? "no common name" : common_name, source_,
                                      X509_verify_cert_error_string(error)),
                          common_name};
  }
  return std::nullopt;
}

SignatureCheck TrustedCa::check_signed(X509* certificate, std::string_view data, std::string_view signature,
                                       std::string common_name) const {
  EVP_PKEY* public_key = X509_get0_pubkey(certificate);
  EvpMdCtxPtr context{EVP_MD_CTX_new()};
  check(public_key != nullptr && context != nullptr, "cannot set up signature verification");
  const bool good =
      EVP_DigestVerifyInit(context.get(), nullptr, signing_digest(public_key), nullptr, public_key) == 1 &&
      EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  drain_openssl_errors();
  if (good) return {SignatureProblem::none, "", std::move(common_name)};
  return {SignatureProblem::bad_signature, "its signature does not verify with its certificate's key",
          std::move(common_name)};
}

std::string check_signature(std::string_view certificate_pem, std::string_view data, std::string_view signature,
                            const fs::path& ca, std::int64_t at_unix_ms) {
  return TrustedCa(ca).check_signature(certificate_pem, data, signature, at_unix_ms).text;
}

}  // namespace icegate::pki

// gateway/pki: the CA, gateway and node certificates it writes, checked with
// OpenSSL's own verifier, and the CRL that revoke_node maintains.
#include "gateway/pki/pki.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/support/temporary_directory.hpp"

namespace icegate::pki {
namespace {

namespace fs = std::filesystem;
using icegate::testing::TemporaryDirectory;
using namespace std::chrono_literals;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct X509CrlFree {
  void operator()(X509_CRL* x) const { X509_CRL_free(x); }
};
struct X509StoreFree {
  void operator()(X509_STORE* x) const { X509_STORE_free(x); }
};
struct X509StoreCtxFree {
  void operator()(X509_STORE_CTX* x) const { X509_STORE_CTX_free(x); }
};
struct X509NameFree {
  void operator()(X509_NAME* x) const { X509_NAME_free(x); }
};
struct BignumFree {
  void operator()(BIGNUM* x) const { BN_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using X509CrlPtr = std::unique_ptr<X509_CRL, X509CrlFree>;

std::string read_text(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream content;
  content << file.rdbuf();
  return content.str();
}

X509Ptr load_certificate(const fs::path& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return nullptr;
  X509Ptr certificate{PEM_read_X509(file, nullptr, nullptr, nullptr)};
  std::fclose(file);
  return certificate;
}

X509CrlPtr load_crl(const fs::path& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return nullptr;
  X509CrlPtr crl{PEM_read_X509_CRL(file, nullptr, nullptr, nullptr)};
  std::fclose(file);
  return crl;
}

// Runs X509_verify_cert for `certificate` against the CA in `ca_file` (and,
// when given, with CRL checking) and returns X509_V_OK or the error.
int verify(const fs::path& ca_file, const fs::path& certificate_file, const fs::path& crl_file = {},
           int purpose = X509_PURPOSE_SSL_CLIENT) {
  const X509Ptr ca = load_certificate(ca_file);
  const X509Ptr certificate = load_certificate(certificate_file);
  if (!ca || !certificate) return -1;
  std::unique_ptr<X509_STORE, X509StoreFree> store{X509_STORE_new()};
  X509_STORE_add_cert(store.get(), ca.get());
  if (!crl_file.empty()) {
    const X509CrlPtr crl = load_crl(crl_file);
    if (!crl) return -1;
    X509_STORE_add_crl(store.get(), crl.get());
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  }
  std::unique_ptr<X509_STORE_CTX, X509StoreCtxFree> context{X509_STORE_CTX_new()};
  X509_STORE_CTX_init(context.get(), store.get(), certificate.get(), nullptr);
  X509_STORE_CTX_set_purpose(context.get(), purpose);
  if (X509_verify_cert(context.get()) == 1) return X509_V_OK;
  return X509_STORE_CTX_get_error(context.get());
}

std::string verify_error_text(int code) { return code < 0 ? "unreadable file" : X509_verify_cert_error_string(code); }

bool is_ecdsa_p256(X509* certificate) {
  EVP_PKEY* key = X509_get0_pubkey(certificate);
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char group[64] = {};
  size_t length = 0;
  return EVP_PKEY_get_group_name(key, group, sizeof group, &length) == 1 && std::string(group) == "prime256v1";
}

bool extension_is_critical(X509* certificate, int nid) {
  const int index = X509_get_ext_by_NID(certificate, nid, -1);
  return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(certificate, index)) == 1;
}

std::chrono::seconds validity_length(X509* certificate) {
  int days = 0;
  int seconds = 0;
  ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(certificate), X509_get0_notAfter(certificate));
  return std::chrono::days(days) + std::chrono::seconds(seconds);
}

std::chrono::seconds time_left(X509* certificate) {
  int days = 0;
  int seconds = 0;
  ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(certificate));
  return std::chrono::days(days) + std::chrono::seconds(seconds);
}

std::vector<std::string> crl_serials(const fs::path& crl_file) {
  std::vector<std::string> serials;
  const X509CrlPtr crl = load_crl(crl_file);
  if (!crl) return serials;
  const STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
    std::unique_ptr<BIGNUM, BignumFree> number{
        ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(entries, i)), nullptr)};
    char* hex = BN_bn2hex(number.get());
    serials.emplace_back(hex);
    OPENSSL_free(hex);
  }
  return serials;
}

constexpr fs::perms owner_read_write = fs::perms::owner_read | fs::perms::owner_write;

class PkiTest : public ::testing::Test {
 protected:
  TemporaryDirectory temporary_;
  fs::path dir_ = temporary_ / "pki";
};

// --- init_ca -------------------------------------------------------------------

TEST_F(PkiTest, InitWritesCaAndGatewayWithOwnerOnlyPkcs8Keys) {
  init_ca(dir_);
  for (const Paths& paths : {ca_paths(dir_), gateway_paths(dir_)}) {
    ASSERT_TRUE(fs::exists(paths.certificate)) << paths.certificate;
    ASSERT_TRUE(fs::exists(paths.key)) << paths.key;
    EXPECT_EQ(fs::status(paths.key).permissions(), owner_read_write) << paths.key;
    EXPECT_EQ(fs::status(paths.certificate).permissions() & fs::perms::others_write, fs::perms::none);
    EXPECT_EQ(read_text(paths.key).rfind("-----BEGIN PRIVATE KEY-----", 0), 0u) << "not PKCS#8: " << paths.key;
    EXPECT_EQ(read_text(paths.certificate).rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  }
  // Nothing else: no leftover temporary files, no CRL yet.
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"ca.crt", "ca.key", "gateway.crt", "gateway.key"}));
}

TEST_F(PkiTest, CaIsSelfSignedP256WithCaConstraintsAndTenYears) {
  init_ca(dir_, "unit test CA");
  const X509Ptr ca = load_certificate(ca_paths(dir_).certificate);
  ASSERT_TRUE(ca);
  EXPECT_EQ(certificate_common_name(ca_paths(dir_).certificate), "unit test CA");
  EXPECT_EQ(X509_self_signed(ca.get(), 1), 1) << "signature must verify with its own key";
  EXPECT_TRUE(is_ecdsa_p256(ca.get()));
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_TRUE(extension_is_critical(ca.get(), NID_basic_constraints));
  EXPECT_EQ(X509_get_key_usage(ca.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(ca.get()), nullptr);
  const auto length = validity_length(ca.get());
  EXPECT_GE(length, std::chrono::days(3650));
  EXPECT_LE(length, std::chrono::days(3653));
}

TEST_F(PkiTest, GatewayCertificateServesLocalhostAndLoopbackAddresses) {
  init_ca(dir_);
  const Paths gateway = gateway_paths(dir_);
  const X509Ptr certificate = load_certificate(gateway.certificate);
  ASSERT_TRUE(certificate);
  EXPECT_EQ(certificate_common_name(gateway.certificate), "gateway");
  EXPECT_TRUE(is_ecdsa_p256(certificate.get()));
  EXPECT_EQ(X509_check_host(certificate.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(certificate.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(certificate.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_host(certificate.get(), "example.com", 0, 0, nullptr), 0);
  const uint32_t usages = X509_get_extended_key_usage(certificate.get());
  EXPECT_TRUE(usages & XKU_SSL_SERVER);
  EXPECT_FALSE(usages & XKU_SSL_CLIENT);
  EXPECT_EQ(verify(ca_paths(dir_).certificate, gateway.certificate, {}, X509_PURPOSE_SSL_SERVER), X509_V_OK);
}

TEST_F(PkiTest, ReinitIsRefusedUnlessOverwriteWhichStartsAFreshPki) {
  init_ca(dir_);
  const std::string first_ca = read_text(ca_paths(dir_).certificate);
  issue_node(dir_, "ctu-wm");
  revoke_node(dir_, "ctu-wm");

  try {
    init_ca(dir_);
    FAIL() << "second init_ca must throw";
  } catch (const PkiError& error) {
    EXPECT_NE(std::string(error.what()).find(ca_paths(dir_).certificate.string()), std::string::npos) << error.what();
  }
  EXPECT_EQ(read_text(ca_paths(dir_).certificate), first_ca) << "a refused init must not touch the CA";

  init_ca(dir_, "icegate test CA", /*overwrite=*/true);
  EXPECT_NE(read_text(ca_paths(dir_).certificate), first_ca);
  EXPECT_FALSE(fs::exists(crl_path(dir_)));
  EXPECT_FALSE(fs::exists(node_paths(dir_, "ctu-wm").certificate));
  EXPECT_EQ(verify(ca_paths(dir_).certificate, gateway_paths(dir_).certificate, {}, X509_PURPOSE_SSL_SERVER),
            X509_V_OK);
}

// --- issue_node ----------------------------------------------------------------

TEST_F(PkiTest, IssuedNodeCertificateNamesTheNodeAndVerifiesAgainstTheCa) {
  init_ca(dir_);
  const Paths node = issue_node(dir_, "ctu-wm");
  EXPECT_EQ(node.certificate, dir_ / "nodes" / "ctu-wm.crt");
  EXPECT_EQ(node.key, dir_ / "nodes" / "ctu-wm.key");
  EXPECT_EQ(fs::status(node.key).permissions(), owner_read_write);
  EXPECT_EQ(read_text(node.key).rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);

  const X509Ptr certificate = load_certificate(node.certificate);
  ASSERT_TRUE(certificate);
  EXPECT_EQ(certificate_common_name(node.certificate), "ctu-wm");
  EXPECT_TRUE(is_ecdsa_p256(certificate.get()));
  EXPECT_EQ(X509_check_ca(certificate.get()), 0);
  EXPECT_EQ(X509_get_key_usage(certificate.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  const uint32_t usages = X509_get_extended_key_usage(certificate.get());
  EXPECT_TRUE(usages & XKU_SSL_CLIENT);
  EXPECT_FALSE(usages & XKU_SSL_SERVER) << "a node must not be able to pose as the gateway";

  const X509Ptr ca = load_certificate(ca_paths(dir_).certificate);
  const ASN1_OCTET_STRING* authority = X509_get0_authority_key_id(certificate.get());
  ASSERT_NE(authority, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(authority, X509_get0_subject_key_id(ca.get())), 0);

  const int result = verify(ca_paths(dir_).certificate, node.certificate);
  EXPECT_EQ(result, X509_V_OK) << verify_error_text(result);
  EXPECT_NE(verify(ca_paths(dir_).certificate, node.certificate, {}, X509_PURPOSE_SSL_SERVER), X509_V_OK);

  const auto length = validity_length(certificate.get());
  EXPECT_GE(length, std::chrono::days(365));
  EXPECT_LE(length, std::chrono::days(366));
}

TEST_F(PkiTest, SerialsAreRandom128BitNumbers) {
  init_ca(dir_);
  const CertificateInfo first = read_certificate_info(issue_node(dir_, "a").certificate);
  const CertificateInfo second = read_certificate_info(issue_node(dir_, "b").certificate);
  EXPECT_NE(first.serial_hex, second.serial_hex);
  for (const CertificateInfo& info : {first, second}) {
    EXPECT_LE(info.serial_hex.size(), 32u);
    EXPECT_GT(info.serial_hex.size(), 16u) << "fewer than 64 bits: " << info.serial_hex;  // p < 2^-64
    EXPECT_EQ(info.key_type, "ECDSA P-256");
  }
}

TEST_F(PkiTest, NodeCertificateDoesNotVerifyAgainstAnotherCa) {
  const fs::path other = temporary_ / "other";
  init_ca(dir_);
  init_ca(other);
  const Paths node = issue_node(dir_, "ctu-wm");
  EXPECT_EQ(verify(ca_paths(other).certificate, node.certificate), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST_F(PkiTest, InvalidNodeIdsAreRefused) {
  init_ca(dir_);
  for (const std::string& id : {std::string("../x"), std::string(""), std::string(65, 'a'), std::string("a b"),
                                std::string("a/b"), std::string("caf\xc3\xa9"), std::string("a\0b", 3)}) {
    EXPECT_FALSE(valid_node_id(id)) << id;
    EXPECT_THROW(issue_node(dir_, id), PkiError) << id;
    EXPECT_THROW(node_paths(dir_, id), PkiError) << id;
  }
  EXPECT_FALSE(fs::exists(temporary_ / "x.crt"));
  EXPECT_FALSE(fs::exists(dir_ / "nodes")) << "nothing may be written for a refused id";
  for (const std::string& id : {std::string(64, 'a'), std::string("ctu-wm"), std::string("A.b_c-9")}) {
    EXPECT_TRUE(valid_node_id(id)) << id;
  }
}

TEST_F(PkiTest, IssueWithoutCaNamesTheMissingFile) {
  try {
    issue_node(dir_, "ctu-wm");
    FAIL() << "issue_node without a CA must throw";
  } catch (const PkiError& error) {
    EXPECT_NE(std::string(error.what()).find((dir_ / "ca.crt").string()), std::string::npos) << error.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "nodes"));
}

TEST_F(PkiTest, ExpiredOptionGivesACertificateThatFailsVerificationAsExpired) {
  init_ca(dir_);
  const Paths node = issue_node(dir_, "late", IssueOptions{.already_expired = true});
  const X509Ptr certificate = load_certificate(node.certificate);
  ASSERT_TRUE(certificate);
  EXPECT_LT(time_left(certificate.get()), -std::chrono::hours(23));
  EXPECT_EQ(verify(ca_paths(dir_).certificate, node.certificate), X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_F(PkiTest, ValidityOptionSetsNotAfter) {
  init_ca(dir_);
  const Paths node = issue_node(dir_, "short", IssueOptions{.validity = std::chrono::hours(24 * 30)});
  const X509Ptr certificate = load_certificate(node.certificate);
  const auto left = time_left(certificate.get());
  EXPECT_GT(left, std::chrono::days(30) - 1min);
  EXPECT_LE(left, std::chrono::days(30));
  EXPECT_THROW(issue_node(dir_, "never", IssueOptions{.validity = std::chrono::hours(0)}), PkiError);
}

TEST_F(PkiTest, ReadCertificateInfoReportsNameSerialKeyAndDates) {
  init_ca(dir_);
  const Paths node = issue_node(dir_, "ctu-wm");
  const CertificateInfo info = read_certificate_info(node.certificate);
  EXPECT_EQ(info.common_name, "ctu-wm");
  EXPECT_EQ(info.key_type, "ECDSA P-256");
  const auto now = std::chrono::system_clock::now();
  EXPECT_LE(info.not_before, now);
  EXPECT_GT(info.not_after, now + std::chrono::days(364));
  EXPECT_THROW(read_certificate_info(dir_ / "nodes" / "missing.crt"), PkiError);
}

// --- subject_common_name -------------------------------------------------------

X509Ptr certificate_with_name_entries(const std::vector<std::pair<int, std::string>>& common_names) {
  X509Ptr certificate{X509_new()};
  X509_NAME* name = X509_get_subject_name(certificate.get());
  for (const auto& [type, bytes] : common_names) {
    X509_NAME_add_entry_by_NID(name, NID_commonName, type, reinterpret_cast<const unsigned char*>(bytes.data()),
                               static_cast<int>(bytes.size()), -1, 0);
  }
  return certificate;
}

TEST(SubjectCommonName, ConvertsBmpStringToUtf8) {
  // "Zürich" as a BMPString (UCS-2, big-endian).
  const std::string bmp("\0Z\0\xfc\0r\0i\0c\0h", 12);
  const X509Ptr certificate = certificate_with_name_entries({{V_ASN1_BMPSTRING, bmp}});
  EXPECT_EQ(subject_common_name(certificate.get()), std::optional<std::string>("Z\xc3\xbcrich"));
}

TEST(SubjectCommonName, RefusesAmbiguousOrMissingNamesAndEmbeddedNul) {
  EXPECT_EQ(subject_common_name(nullptr), std::nullopt);
  EXPECT_EQ(subject_common_name(certificate_with_name_entries({}).get()), std::nullopt);
  EXPECT_EQ(subject_common_name(
                certificate_with_name_entries({{MBSTRING_UTF8, "a"}, {MBSTRING_UTF8, "b"}}).get()),
            std::nullopt);
  EXPECT_EQ(subject_common_name(certificate_with_name_entries({{V_ASN1_UTF8STRING, std::string("a\0b", 3)}}).get()),
            std::nullopt);
  EXPECT_EQ(subject_common_name(certificate_with_name_entries({{MBSTRING_UTF8, "ctu-wm"}}).get()),
            std::optional<std::string>("ctu-wm"));
}

// --- revoke_node ---------------------------------------------------------------

TEST_F(PkiTest, RevokeWritesASignedCrlListingTheSerialAndIsIdempotent) {
  init_ca(dir_);
  const Paths revoked = issue_node(dir_, "revoked-node");
  const Paths kept = issue_node(dir_, "kept-node");
  const std::string revoked_serial = read_certificate_info(revoked.certificate).serial_hex;
  const std::string kept_serial = read_certificate_info(kept.certificate).serial_hex;
  EXPECT_FALSE(fs::exists(crl_path(dir_)));
  EXPECT_FALSE(is_revoked(dir_, revoked.certificate));

  revoke_node(dir_, "revoked-node");
  ASSERT_TRUE(fs::exists(crl_path(dir_)));
  EXPECT_EQ(crl_path(dir_), dir_ / "crl.pem");
  EXPECT_EQ(crl_serials(crl_path(dir_)), std::vector<std::string>{revoked_serial});
  {
    const X509CrlPtr crl = load_crl(crl_path(dir_));
    const X509Ptr ca = load_certificate(ca_paths(dir_).certificate);
    EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.get())), 1) << "the CA must sign the CRL";
    EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca.get())), 0);
  }
  EXPECT_TRUE(is_revoked(dir_, revoked.certificate));
  EXPECT_FALSE(is_revoked(dir_, kept.certificate));
  EXPECT_EQ(verify(ca_paths(dir_).certificate, revoked.certificate, crl_path(dir_)), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(verify(ca_paths(dir_).certificate, kept.certificate, crl_path(dir_)), X509_V_OK);

  const std::string crl_after_first = read_text(crl_path(dir_));
  revoke_node(dir_, "revoked-node");
  EXPECT_EQ(read_text(crl_path(dir_)), crl_after_first) << "re-revoking must change nothing";

  revoke_node(dir_, "kept-node");
  std::vector<std::string> serials = crl_serials(crl_path(dir_));
  std::sort(serials.begin(), serials.end());
  std::vector<std::string> expected{revoked_serial, kept_serial};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(serials, expected) << "earlier entries are kept";
  EXPECT_EQ(verify(ca_paths(dir_).certificate, kept.certificate, crl_path(dir_)), X509_V_ERR_CERT_REVOKED);
}

TEST_F(PkiTest, Ed25519PkiIssuesVerifiesAndRevokesLikeP256) {
  init_ca(dir_, "icegate test CA", false, KeyType::ed25519);
  const Paths node = issue_node(dir_, "ctu-wm", IssueOptions{.key_type = KeyType::ed25519});
  const Paths kept = issue_node(dir_, "kept-node", IssueOptions{.key_type = KeyType::ed25519});
  EXPECT_EQ(read_certificate_info(ca_paths(dir_).certificate).key_type, "Ed25519");
  EXPECT_EQ(read_certificate_info(gateway_paths(dir_).certificate).key_type, "Ed25519");
  EXPECT_EQ(read_certificate_info(node.certificate).key_type, "Ed25519");
  EXPECT_EQ(verify(ca_paths(dir_).certificate, node.certificate), X509_V_OK);
  EXPECT_EQ(verify(ca_paths(dir_).certificate, gateway_paths(dir_).certificate, {}, X509_PURPOSE_SSL_SERVER),
            X509_V_OK);

  revoke_node(dir_, "ctu-wm");
  EXPECT_TRUE(is_revoked(dir_, node.certificate));
  EXPECT_EQ(verify(ca_paths(dir_).certificate, node.certificate, crl_path(dir_)), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(verify(ca_paths(dir_).certificate, kept.certificate, crl_path(dir_)), X509_V_OK);

  // A P-256 node under the Ed25519 CA: the CA signs with its own key type.
  const Paths mixed = issue_node(dir_, "mixed");
  EXPECT_EQ(read_certificate_info(mixed.certificate).key_type, "ECDSA P-256");
  EXPECT_EQ(verify(ca_paths(dir_).certificate, mixed.certificate), X509_V_OK);
}

TEST_F(PkiTest, ReissuingARevokedNodeGivesAFreshUnrevokedCertificate) {
  init_ca(dir_);
  issue_node(dir_, "ctu-wm");
  revoke_node(dir_, "ctu-wm");
  const Paths reissued = issue_node(dir_, "ctu-wm");
  EXPECT_FALSE(is_revoked(dir_, reissued.certificate));
  EXPECT_EQ(verify(ca_paths(dir_).certificate, reissued.certificate, crl_path(dir_)), X509_V_OK);
}

TEST_F(PkiTest, RevokeRefusesUnknownNodesAndForeignCertificates) {
  init_ca(dir_);
  try {
    revoke_node(dir_, "nobody");
    FAIL() << "revoking a node with no certificate must throw";
  } catch (const PkiError& error) {
    EXPECT_NE(std::string(error.what()).find((dir_ / "nodes" / "nobody.crt").string()), std::string::npos)
        << error.what();
  }
  EXPECT_THROW(revoke_node(dir_, "../ca"), PkiError);

  const fs::path other = temporary_ / "other";
  init_ca(other);
  const Paths foreign = issue_node(other, "foreign");
  fs::create_directories(dir_ / "nodes");
  fs::copy_file(foreign.certificate, dir_ / "nodes" / "foreign.crt");
  EXPECT_THROW(revoke_node(dir_, "foreign"), PkiError);
  EXPECT_FALSE(fs::exists(crl_path(dir_)));

  EXPECT_THROW(revoke_node(temporary_ / "empty", "foreign"), PkiError);
}

// --- issue_server --------------------------------------------------------------

// The subject alternative names of a certificate, as "DNS:name" and "IP:address".
std::vector<std::string> subject_alternative_names(X509* certificate) {
  std::vector<std::string> names;
  auto* general = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (general == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(general); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(general, i);
    if (name->type == GEN_DNS) {
      names.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                                           static_cast<std::size_t>(ASN1_STRING_length(name->d.dNSName))));
    } else if (name->type == GEN_IPADD) {
      const int length = ASN1_STRING_length(name->d.iPAddress);
      char text[INET6_ADDRSTRLEN] = "?";
      if (length == 4 || length == 16)
        inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(name->d.iPAddress), text, sizeof text);
      names.push_back(std::string("IP:") + text);
    } else {
      names.push_back("other");
    }
  }
  GENERAL_NAMES_free(general);
  return names;
}

TEST_F(PkiTest, ServerCertificateCarriesEveryAddressAndNameGivenForServerAuth) {
  init_ca(dir_);
  const Paths server = issue_server(dir_, "exercise-host", {"192.0.2.10", "2001:db8::7", "exercise.example", "localhost"});
  EXPECT_EQ(server.certificate, dir_ / "servers" / "exercise-host.crt");
  EXPECT_EQ(server.key, dir_ / "servers" / "exercise-host.key");
  EXPECT_EQ(server_paths(dir_, "exercise-host").certificate, server.certificate);
  EXPECT_EQ(fs::status(server.key).permissions(), owner_read_write);
  const X509Ptr certificate = load_certificate(server.certificate);
  ASSERT_TRUE(certificate);
  EXPECT_EQ(certificate_common_name(server.certificate), "exercise-host");
  EXPECT_TRUE(is_ecdsa_p256(certificate.get()));
  EXPECT_EQ(subject_alternative_names(certificate.get()),
            (std::vector<std::string>{"IP:192.0.2.10", "IP:2001:db8::7", "DNS:exercise.example",
                                      "DNS:localhost"}));
  EXPECT_EQ(X509_check_ip_asc(certificate.get(), "192.0.2.10", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(certificate.get(), "2001:db8::7", 0), 1);
  EXPECT_EQ(X509_check_host(certificate.get(), "exercise.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(certificate.get(), "192.0.2.11", 0), 0);
  EXPECT_EQ(X509_check_host(certificate.get(), "other.example", 0, 0, nullptr), 0);
  const uint32_t usages = X509_get_extended_key_usage(certificate.get());
  EXPECT_TRUE(usages & XKU_SSL_SERVER);
  EXPECT_FALSE(usages & XKU_SSL_CLIENT) << "a web server certificate must not pass as a node's";
  EXPECT_EQ(X509_check_ca(certificate.get()), 0);
  EXPECT_EQ(verify(ca_paths(dir_).certificate, server.certificate, {}, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  // Browsers (Apple's rules are the strictest) refuse server certificates valid for more than 398 days.
  EXPECT_LE(validity_length(certificate.get()), std::chrono::days(398));
}

TEST_F(PkiTest, ServerCertificateRefusesBadNamesAndAnEmptyList) {
  init_ca(dir_);
  EXPECT_THROW(issue_server(dir_, "host", {}), PkiError) << "browsers ignore the CN: a SAN is needed";
  for (const std::string& san : {std::string("a b"), std::string("*.example"), std::string("x,IP:1.2.3.4"),
                                 std::string("fe80::1%eth0"), std::string("-bad.example"), std::string(""),
                                 std::string("a..b"), std::string(64, 'a') + ".example", std::string("a\0b", 3)}) {
    try {
      issue_server(dir_, "host", {"127.0.0.1", san});
      ADD_FAILURE() << "accepted \"" << san << "\"";
    } catch (const PkiError& error) {
      EXPECT_NE(std::string(error.what()).find("subject alternative name"), std::string::npos) << error.what();
    }
  }
  EXPECT_THROW(issue_server(dir_, "../host", {"127.0.0.1"}), PkiError);
  EXPECT_FALSE(fs::exists(dir_ / "servers")) << "nothing may be written for a refused request";
  EXPECT_THROW(issue_server(temporary_ / "no-ca", "host", {"127.0.0.1"}), PkiError);
}

TEST_F(PkiTest, FingerprintIsTheSha256OfTheDerCertificateInColonHex) {
  init_ca(dir_);
  const X509Ptr ca = load_certificate(ca_paths(dir_).certificate);
  ASSERT_TRUE(ca);
  unsigned char* der = nullptr;
  const int length = i2d_X509(ca.get(), &der);
  ASSERT_GT(length, 0);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  ASSERT_EQ(EVP_Digest(der, static_cast<std::size_t>(length), digest, &digest_length, EVP_sha256(), nullptr), 1);
  OPENSSL_free(der);
  std::string expected;
  for (unsigned int i = 0; i < digest_length; ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, i == 0 ? "%02X" : ":%02X", digest[i]);
    expected += i == 0 ? std::string(hex, 2) : std::string(hex, 3);
  }
  EXPECT_EQ(expected.size(), 95u);
  EXPECT_EQ(certificate_sha256_fingerprint(ca_paths(dir_).certificate), expected);
  EXPECT_NE(certificate_sha256_fingerprint(gateway_paths(dir_).certificate), expected);
  EXPECT_THROW(certificate_sha256_fingerprint(dir_ / "missing.crt"), PkiError);
}

}  // namespace
}  // namespace icegate::pki

namespace icegate::pki {
namespace {

// A TrustedCa remembers which certificates it found its CA had issued, so as
// not to verify their chains again (federation's per-message check): what it
// remembers must never stand in for the times, nor for another certificate.
TEST(TrustedCaTest, ACertificateOnceVerifiedIsStillRefusedOutsideItsValidityAndAnotherStillChecked) {
  icegate::testing::TemporaryDirectory dir;
  init_ca(dir / "ca");
  const Paths signer = issue_node(dir / "ca", "gw-signer");
  init_ca(dir / "other", "another CA");
  const Paths stranger = issue_node(dir / "other", "gw-signer");
  const TrustedCa ca(ca_paths(dir / "ca").certificate);
  const SigningKey key(signer.key);
  const std::string data = "bytes to sign";
  const std::string signature = key.sign(data);
  const std::string pem = read_certificate_pem(signer.certificate);
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const std::int64_t day = 24 * 3600 * 1000LL;
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "first sight" : "remembered");
    EXPECT_EQ(ca.check_signature(pem, data, signature, now).problem, SignatureProblem::none);
    EXPECT_EQ(ca.check_signature(pem, data, signature, now + 400 * day).problem, SignatureProblem::not_valid_then)
        << "after the certificate's notAfter (365 days)";
    EXPECT_EQ(ca.check_signature(pem, data, signature, now - 2 * day).problem, SignatureProblem::not_valid_then)
        << "before its notBefore";
    EXPECT_EQ(ca.check_signature(pem, data + "!", signature, now).problem, SignatureProblem::bad_signature);
    EXPECT_EQ(ca.check_signature(read_certificate_pem(stranger.certificate), data,
                                 SigningKey(stranger.key).sign(data), now)
                  .problem,
              SignatureProblem::not_issued_by_ca)
        << "the same name from another CA";
  }
}

}  // namespace
}  // namespace icegate::pki

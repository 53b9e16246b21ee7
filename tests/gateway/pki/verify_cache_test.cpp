// gateway/transport/verify_cache: the verified-chain cache must answer only
// for the exact chain it verified, only while that chain, the CA and the CRL
// would still verify, and never for a revoked, expired or foreign
// certificate. Real contexts (make_server_context, make_client_context),
// real certificates (gateway/pki), complete TLS 1.3 handshakes between two
// SSL objects joined by a BIO pair; the expiry cases drive X509_STORE_CTX
// directly at chosen verification times.
#include "gateway/transport/verify_cache.hpp"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "gateway/pki/pki.hpp"
#include "gateway/transport/tls.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::transport {
namespace {

namespace fs = std::filesystem;
namespace ssl = boost::asio::ssl;
using icegate::testing::TemporaryDirectory;
using namespace std::chrono_literals;

struct SslDeleter {
  void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};
struct X509Deleter {
  void operator()(X509* certificate) const noexcept { X509_free(certificate); }
};
struct StoreDeleter {
  void operator()(X509_STORE* store) const noexcept { X509_STORE_free(store); }
};
struct StoreContextDeleter {
  void operator()(X509_STORE_CTX* context) const noexcept { X509_STORE_CTX_free(context); }
};
struct CrlDeleter {
  void operator()(X509_CRL* crl) const noexcept { X509_CRL_free(crl); }
};

struct Outcome {
  bool server_accepted = false;
  long verify_result = X509_V_OK;
  std::optional<std::string> peer_name;
  int verified_chain_length = 0;
};

// One complete handshake in memory; the server's view of it.
Outcome handshake(ssl::context& server_context, ssl::context& client_context) {
  std::unique_ptr<SSL, SslDeleter> server{SSL_new(server_context.native_handle())};
  std::unique_ptr<SSL, SslDeleter> client{SSL_new(client_context.native_handle())};
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (!server || !client || BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) {
    ADD_FAILURE() << "cannot set up the SSL objects";
    return {};
  }
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());

  bool client_done = false;
  bool server_done = false;
  bool failed = false;
  auto step = [&failed](SSL* side) {
    const int result = SSL_do_handshake(side);
    if (result == 1) return true;
    const int error = SSL_get_error(side, result);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) failed = true;
    return false;
  };
  for (int round = 0; round < 8 && !failed && !(client_done && server_done); ++round) {
    if (!client_done) client_done = step(client.get());
    if (!server_done && !failed) server_done = step(server.get());
  }
  ERR_clear_error();
  Outcome outcome;
  outcome.server_accepted = server_done && !failed;
  outcome.verify_result = SSL_get_verify_result(server.get());
  outcome.peer_name = peer_common_name(server.get());
  if (STACK_OF(X509)* chain = SSL_get0_verified_chain(server.get())) outcome.verified_chain_length = sk_X509_num(chain);
  return outcome;
}

VerifiedChainCacheStats stats_of(ssl::context& context) {
  VerifiedChainCache* cache = verified_chain_cache(context.native_handle());
  return cache != nullptr ? cache->stats() : VerifiedChainCacheStats{};
}

class TlsVerifiedChainCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki::init_ca(dir_);
    pki::issue_node(dir_, "ctu-wm");
  }

  ssl::context cached_server_context(VerifiedChainCacheOptions options = {}) {
    ssl::context context = make_server_context(dir_);
    enable_verified_chain_cache(context.native_handle(), options);
    return context;
  }
  ssl::context client_for(std::string_view node) { return make_client_context(node_credentials(dir_, node)); }

  TemporaryDirectory temporary_;
  fs::path dir_ = temporary_ / "pki";
};

TEST_F(TlsVerifiedChainCacheTest, SameChainAgainIsAnsweredFromTheCacheAndStillNamesThePeer) {
  ssl::context server = cached_server_context();
  ssl::context client = client_for("ctu-wm");

  const Outcome first = handshake(server, client);
  ASSERT_TRUE(first.server_accepted) << X509_verify_cert_error_string(first.verify_result);
  const Outcome second = handshake(server, client);
  ASSERT_TRUE(second.server_accepted) << X509_verify_cert_error_string(second.verify_result);

  const VerifiedChainCacheStats stats = stats_of(server);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.entries, 1u);
  // What the session reads is the same either way.
  EXPECT_EQ(second.verify_result, X509_V_OK);
  EXPECT_EQ(second.peer_name, std::optional<std::string>("ctu-wm"));
  EXPECT_EQ(second.verified_chain_length, first.verified_chain_length);
  EXPECT_EQ(second.verified_chain_length, 2);  // the node, then the CA
}

TEST_F(TlsVerifiedChainCacheTest, RevokedCertificateIsRefusedAfterItWasCachedOnceTheGatewayLoadsTheCrl) {
  ssl::context client = client_for("ctu-wm");
  {
    ssl::context server = cached_server_context();
    ASSERT_TRUE(handshake(server, client).server_accepted);
    ASSERT_TRUE(handshake(server, client).server_accepted);
    ASSERT_EQ(stats_of(server).hits, 1u);
  }
  pki::revoke_node(dir_, "ctu-wm");
  // The gateway reads crl.pem when it creates its context (pki.hpp): a new
  // context, so a new cache that has never seen the node.
  ssl::context server = cached_server_context();
  const Outcome revoked = handshake(server, client);
  EXPECT_FALSE(revoked.server_accepted);
  EXPECT_EQ(revoked.verify_result, X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(revoked.peer_name, std::nullopt);
  const Outcome again = handshake(server, client);
  EXPECT_FALSE(again.server_accepted);
  EXPECT_EQ(again.verify_result, X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(stats_of(server).hits, 0u);
}

TEST_F(TlsVerifiedChainCacheTest, CrlAddedToALiveContextEmptiesTheCache) {
  ssl::context server = cached_server_context();
  ssl::context client = client_for("ctu-wm");
  ASSERT_TRUE(handshake(server, client).server_accepted);
  ASSERT_EQ(stats_of(server).entries, 1u);

  // Whoever changes the trust store of a running context (not the gateway
  // today) must not be undone by the cache.
  pki::revoke_node(dir_, "ctu-wm");
  BIO* file = BIO_new_file(pki::crl_path(dir_).c_str(), "rb");
  ASSERT_NE(file, nullptr);
  std::unique_ptr<X509_CRL, CrlDeleter> crl{PEM_read_bio_X509_CRL(file, nullptr, nullptr, nullptr)};
  BIO_free(file);
  ASSERT_TRUE(crl);
  X509_STORE* store = SSL_CTX_get_cert_store(server.native_handle());
  ASSERT_EQ(X509_STORE_add_crl(store, crl.get()), 1);
  ASSERT_EQ(X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK), 1);

  const Outcome revoked = handshake(server, client);
  EXPECT_FALSE(revoked.server_accepted);
  EXPECT_EQ(revoked.verify_result, X509_V_ERR_CERT_REVOKED);
  const VerifiedChainCacheStats stats = stats_of(server);
  EXPECT_EQ(stats.hits, 0u);
  EXPECT_EQ(stats.flushes, 1u);
  EXPECT_EQ(stats.entries, 0u);
}

TEST_F(TlsVerifiedChainCacheTest, ADifferentCertificateWithTheSameCommonNameIsVerifiedAfresh) {
  ssl::context server = cached_server_context();
  {
    ssl::context original = client_for("ctu-wm");
    ASSERT_TRUE(handshake(server, original).server_accepted);
    ASSERT_TRUE(handshake(server, original).server_accepted);
  }
  ASSERT_EQ(stats_of(server).hits, 1u);

  // Reissued by our CA: a new key and serial, the same CN. Verified in full, accepted.
  pki::issue_node(dir_, "ctu-wm");
  ssl::context reissued = client_for("ctu-wm");
  const Outcome renewed = handshake(server, reissued);
  EXPECT_TRUE(renewed.server_accepted);
  EXPECT_EQ(renewed.peer_name, std::optional<std::string>("ctu-wm"));
  EXPECT_EQ(stats_of(server).misses, 2u);
  EXPECT_EQ(stats_of(server).hits, 1u);

  // From another CA, the same CN: verified in full, refused.
  const fs::path other = temporary_ / "other";
  pki::init_ca(other);
  pki::issue_node(other, "ctu-wm");
  ssl::context impostor = make_client_context(
      {pki::ca_paths(dir_).certificate, pki::node_paths(other, "ctu-wm").certificate, pki::node_paths(other, "ctu-wm").key});
  for (int attempt = 0; attempt < 2; ++attempt) {
    const Outcome forged = handshake(server, impostor);
    EXPECT_FALSE(forged.server_accepted);
    EXPECT_EQ(forged.verify_result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    EXPECT_EQ(forged.peer_name, std::nullopt);
  }
  EXPECT_EQ(stats_of(server).hits, 1u);
}

TEST_F(TlsVerifiedChainCacheTest, ExpiredCertificateIsRefusedEveryTimeAndNeverCached) {
  pki::issue_node(dir_, "late", pki::IssueOptions{.already_expired = true});
  ssl::context server = cached_server_context();
  ssl::context client = client_for("late");
  for (int attempt = 0; attempt < 2; ++attempt) {
    const Outcome outcome = handshake(server, client);
    EXPECT_FALSE(outcome.server_accepted);
    EXPECT_EQ(outcome.verify_result, X509_V_ERR_CERT_HAS_EXPIRED);
  }
  const VerifiedChainCacheStats stats = stats_of(server);
  EXPECT_EQ(stats.insertions, 0u);
  EXPECT_EQ(stats.hits, 0u);
  EXPECT_EQ(stats.misses, 2u);
}

TEST_F(TlsVerifiedChainCacheTest, CapacityIsBoundedOldestFirst) {
  pki::issue_node(dir_, "npt-a");
  pki::issue_node(dir_, "npt-b");
  ssl::context server = cached_server_context({.capacity = 2});
  ssl::context first = client_for("ctu-wm");
  ssl::context second = client_for("npt-a");
  ssl::context third = client_for("npt-b");
  ASSERT_TRUE(handshake(server, first).server_accepted);
  ASSERT_TRUE(handshake(server, second).server_accepted);
  ASSERT_TRUE(handshake(server, third).server_accepted);
  VerifiedChainCacheStats stats = stats_of(server);
  EXPECT_EQ(stats.entries, 2u);
  EXPECT_EQ(stats.evictions, 1u);

  ASSERT_TRUE(handshake(server, third).server_accepted);  // still there
  ASSERT_TRUE(handshake(server, first).server_accepted);  // evicted: verified again
  stats = stats_of(server);
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 4u);
  EXPECT_EQ(stats.entries, 2u);
}

// --- the cache driven directly, at chosen verification times ---------------

std::unique_ptr<X509, X509Deleter> read_certificate(const fs::path& file) {
  BIO* bio = BIO_new_file(file.c_str(), "rb");
  if (bio == nullptr) return nullptr;
  std::unique_ptr<X509, X509Deleter> certificate{PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)};
  BIO_free(bio);
  return certificate;
}

// Verifies `leaf` against `store` as a TLS server checks a client, at `when`.
struct Verification {
  int result = 0;
  int error = X509_V_OK;
};
Verification verify_at(VerifiedChainCache& cache, X509_STORE* store, X509* leaf, std::chrono::system_clock::time_point when,
                       const char* host = nullptr) {
  std::unique_ptr<X509_STORE_CTX, StoreContextDeleter> context{X509_STORE_CTX_new()};
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  sk_X509_push(untrusted, leaf);  // as libssl passes the peer's chain: the leaf first
  Verification verification;
  if (context && X509_STORE_CTX_init(context.get(), store, leaf, untrusted) == 1 &&
      X509_STORE_CTX_set_default(context.get(), "ssl_client") == 1) {
    X509_STORE_CTX_set_time(context.get(), 0, std::chrono::system_clock::to_time_t(when));
    if (host != nullptr) X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(context.get()), host, 0);
    verification.result = cache.verify(context.get());
    verification.error = X509_STORE_CTX_get_error(context.get());
  }
  sk_X509_free(untrusted);
  return verification;
}

class TlsVerifiedChainCacheTimeTest : public TlsVerifiedChainCacheTest {
 protected:
  void SetUp() override {
    TlsVerifiedChainCacheTest::SetUp();
    pki::issue_node(dir_, "short-lived", pki::IssueOptions{.validity = std::chrono::hours(1)});
    store_.reset(X509_STORE_new());
    ca_ = read_certificate(pki::ca_paths(dir_).certificate);
    ASSERT_TRUE(store_ && ca_);
    ASSERT_EQ(X509_STORE_add_cert(store_.get(), ca_.get()), 1);
  }

  std::unique_ptr<X509_STORE, StoreDeleter> store_;
  std::unique_ptr<X509, X509Deleter> ca_;
  const std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
};

TEST_F(TlsVerifiedChainCacheTimeTest, EntryAnswersOnlyWithinItsTimeToLive) {
  VerifiedChainCache cache({.capacity = 16, .time_to_live = 10min});
  const auto leaf = read_certificate(pki::node_paths(dir_, "ctu-wm").certificate);
  ASSERT_TRUE(leaf);

  EXPECT_EQ(verify_at(cache, store_.get(), leaf.get(), now_).result, 1);
  EXPECT_EQ(verify_at(cache, store_.get(), leaf.get(), now_ + 9min).result, 1);
  EXPECT_EQ(cache.stats().hits, 1u);
  // Past the time to live: verified in full again (and still valid for a year).
  EXPECT_EQ(verify_at(cache, store_.get(), leaf.get(), now_ + 11min).result, 1);
  EXPECT_EQ(cache.stats().hits, 1u);
  EXPECT_EQ(cache.stats().misses, 2u);
  // Before the time it was verified at (a clock set back): not answered.
  EXPECT_EQ(verify_at(cache, store_.get(), leaf.get(), now_ - 1min).result, 1);
  EXPECT_EQ(cache.stats().hits, 1u);
}

TEST_F(TlsVerifiedChainCacheTimeTest, EntryNeverOutlivesTheCertificatesNotAfter) {
  VerifiedChainCache cache({.capacity = 16, .time_to_live = std::chrono::hours(24)});
  const auto leaf = read_certificate(pki::node_paths(dir_, "short-lived").certificate);
  ASSERT_TRUE(leaf);

  ASSERT_EQ(verify_at(cache, store_.get(), leaf.get(), now_).result, 1);
  ASSERT_EQ(verify_at(cache, store_.get(), leaf.get(), now_ + 30min).result, 1);
  ASSERT_EQ(cache.stats().hits, 1u);
  // Two hours on, the certificate has expired though the entry's time to live has not.
  const Verification late = verify_at(cache, store_.get(), leaf.get(), now_ + std::chrono::hours(2));
  EXPECT_EQ(late.result, 0);
  EXPECT_EQ(late.error, X509_V_ERR_CERT_HAS_EXPIRED);
  EXPECT_EQ(cache.stats().hits, 1u);
}

TEST_F(TlsVerifiedChainCacheTimeTest, LeavesNothingOnOpenSslsErrorQueue) {
  // A failed handshake reports the first error queued: a stray one from the
  // cache would replace "certificate verify failed".
  VerifiedChainCache cache;
  const auto leaf = read_certificate(pki::node_paths(dir_, "ctu-wm").certificate);
  ASSERT_TRUE(leaf);
  ERR_clear_error();
  ASSERT_EQ(verify_at(cache, store_.get(), leaf.get(), now_).result, 1);
  EXPECT_EQ(ERR_peek_error(), 0u) << ERR_reason_error_string(ERR_peek_error());
  ASSERT_EQ(verify_at(cache, store_.get(), leaf.get(), now_).result, 1);
  EXPECT_EQ(cache.stats().hits, 1u);
  EXPECT_EQ(ERR_peek_error(), 0u) << ERR_reason_error_string(ERR_peek_error());
}

TEST_F(TlsVerifiedChainCacheTimeTest, NameChecksAreNeverAnsweredFromTheCache) {
  VerifiedChainCache cache;
  const auto leaf = read_certificate(pki::node_paths(dir_, "ctu-wm").certificate);
  ASSERT_TRUE(leaf);
  ASSERT_EQ(verify_at(cache, store_.get(), leaf.get(), now_).result, 1);
  const Verification named = verify_at(cache, store_.get(), leaf.get(), now_, "someone-else");
  EXPECT_EQ(named.result, 0);
  EXPECT_EQ(named.error, X509_V_ERR_HOSTNAME_MISMATCH);
  EXPECT_EQ(cache.stats().bypassed, 1u);
  EXPECT_EQ(cache.stats().hits, 0u);
}

}  // namespace
}  // namespace icegate::transport

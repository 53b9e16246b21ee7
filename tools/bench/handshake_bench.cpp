// Full mutual TLS 1.3 handshakes in memory (issue 8, W4): what one handshake
// costs the gateway's side when no socket, no event loop and no session are
// involved, i.e. the floor OpenSSL allows with the gateway's own contexts.
//
// Each iteration is one complete handshake between two SSL objects joined by
// a BIO pair: a client built by transport::make_client_context and a server
// built by transport::make_server_context, with certificates issued by
// gateway/pki into a temporary directory. Only the server's work is timed,
// with the thread's CPU clock: SSL_new, every SSL_do_handshake call on the
// server side, reading the peer's name as the session does, and SSL_free.
// The client's work runs on the same thread but is not counted. So the
// "Time" column (manual time) is server CPU time per handshake, and the
// counter `server_hs_per_cpu_s` is the figure issue 8 asks about: full
// handshakes per second of one core.
//
// The variants run in the same process, so their ratios are same-run:
//   gateway                the contexts as the gateway and nodes use them:
//                          no auto-built chains, the verified-chain cache on
//                          (after the warm-up, every handshake is a hit)
//   gateway_cache_miss     the same with a one-entry cache and two clients
//                          taking turns: every handshake misses
//   gateway_no_cache       the verified-chain cache off
//   client_sends_ca_...,   SSL_MODE_NO_AUTO_CHAIN cleared on the client, or
//   auto_chain_...         on both sides (as before it was set)
//   server_auth_only       the server asks for no client certificate: what
//                          mutual authentication costs is the difference
//   ..._crl                the PKI has a CRL (another node revoked), so the
//                          server checks revocation as it does once any is
//   suite_..., group_...   alternatives measured and not taken
//   .../p256, .../ed25519  the key type of every certificate (CA, gateway, node)
// Counters: server_hs_per_cpu_s, server_us_per_hs, client_bytes (the
// client's flight as the server read it), cache_hit_pct.
// How to run it and what it measured: docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>

#include <stdlib.h>
#include <time.h>

#include <cstdint>
#include <filesystem>
#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gateway/pki/pki.hpp"
#include "gateway/transport/tls.hpp"
#include "gateway/transport/verify_cache.hpp"

namespace {

namespace fs = std::filesystem;
namespace ssl = boost::asio::ssl;
namespace pki = icegate::pki;
namespace transport = icegate::transport;

constexpr std::string_view kNodeId = "bench-node";
constexpr std::string_view kOtherNodeId = "bench-node-2";

// A directory for this process's PKIs, removed at exit.
class ScratchDirectory {
 public:
  ScratchDirectory() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = (fs::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") / "icegate-hs-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct PkiSpec {
  pki::KeyType key_type = pki::KeyType::ecdsa_p256;
  bool with_crl = false;
  auto operator<=>(const PkiSpec&) const = default;
};

// One PKI per spec, issued on first use: a CA, the gateway, two nodes, and for
// with_crl a second node that is revoked (so DIR/crl.pem exists and lists a
// serial that is not the client's).
const fs::path& pki_for(const PkiSpec& spec) {
  static ScratchDirectory scratch;
  static std::map<PkiSpec, fs::path> made;
  auto found = made.find(spec);
  if (found != made.end()) return found->second;
  const fs::path dir = scratch.path() / (std::string(spec.key_type == pki::KeyType::ed25519 ? "ed25519" : "p256") +
                                         (spec.with_crl ? "-crl" : ""));
  pki::init_ca(dir, "icegate handshake bench CA", false, spec.key_type);
  pki::issue_node(dir, kNodeId, pki::IssueOptions{.key_type = spec.key_type});
  pki::issue_node(dir, kOtherNodeId, pki::IssueOptions{.key_type = spec.key_type});
  if (spec.with_crl) {
    pki::issue_node(dir, "revoked-node", pki::IssueOptions{.key_type = spec.key_type});
    pki::revoke_node(dir, "revoked-node");
  }
  return made.emplace(spec, dir).first->second;
}

using ContextTweak = std::function<void(SSL_CTX* server, SSL_CTX* client)>;

struct Variant {
  PkiSpec pki;
  transport::ServerContextOptions server_options;
  ContextTweak tweak;  // applied to the gateway's contexts before any handshake
  // The server's verify mode asks for a client certificate, so the
  // handshake must end with the client's CN as the session reads it.
  bool expect_client_identity = true;
  // Clients take turns (each its own certificate); with a cache of one
  // entry, every handshake is then a cache miss.
  int clients = 1;
};

double thread_cpu_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

struct SslDeleter {
  void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};

// One handshake step: true when this side has finished, false when it waits
// for the peer; throws on anything else. Not inlined, and one function per
// side, so that a profile (perf record -g) tells the server's samples apart.
bool handshake_step(SSL* ssl, const char* side) {
  const int result = SSL_do_handshake(ssl);
  if (result == 1) return true;
  const int error = SSL_get_error(ssl, result);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return false;
  throw std::runtime_error(std::string(side) + " handshake failed (SSL error " + std::to_string(error) +
                           "): " + pki::drain_openssl_errors() + "; verify: " +
                           X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
}

[[gnu::noinline]] bool server_handshake_step(SSL* ssl) { return handshake_step(ssl, "server"); }
[[gnu::noinline]] bool client_handshake_step(SSL* ssl) { return handshake_step(ssl, "client"); }

struct HandshakeResult {
  double server_cpu_seconds = 0;
  std::uint64_t client_to_server_bytes = 0;
};

// One complete handshake; the server's share of it timed.
HandshakeResult run_handshake(SSL_CTX* server_context, SSL_CTX* client_context,
                              std::optional<std::string_view> expected_peer) {
  HandshakeResult result;
  double started = thread_cpu_seconds();
  std::unique_ptr<SSL, SslDeleter> server{SSL_new(server_context)};
  result.server_cpu_seconds += thread_cpu_seconds() - started;
  std::unique_ptr<SSL, SslDeleter> client{SSL_new(client_context)};
  if (!server || !client) throw std::runtime_error("SSL_new failed: " + pki::drain_openssl_errors());

  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) throw std::runtime_error("BIO_new_bio_pair failed");
  SSL_set_bio(client.get(), client_bio, client_bio);  // each SSL owns its end
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());

  bool client_done = false;
  bool server_done = false;
  // TLS 1.3 takes two rounds (ClientHello; the server's flight; the client's
  // Certificate, CertificateVerify and Finished); a few more is a failure.
  for (int round = 0; round < 8 && !(client_done && server_done); ++round) {
    if (!client_done) client_done = client_handshake_step(client.get());
    if (!server_done) {
      started = thread_cpu_seconds();
      server_done = server_handshake_step(server.get());
      result.server_cpu_seconds += thread_cpu_seconds() - started;
    }
  }
  if (!(client_done && server_done)) throw std::runtime_error("handshake did not finish in 8 rounds");

  started = thread_cpu_seconds();
  const std::optional<std::string> peer = transport::peer_common_name(server.get());
  result.client_to_server_bytes = BIO_number_read(server_bio);
  server.reset();
  result.server_cpu_seconds += thread_cpu_seconds() - started;
  if (expected_peer && peer != std::optional<std::string>(*expected_peer)) {
    throw std::runtime_error("the server did not learn the client's name: " + peer.value_or("(none)"));
  }
  return result;
}

void BM_ServerHandshake(benchmark::State& state, const Variant& variant) {
  double server_seconds = 0;
  std::uint64_t client_bytes = 0;
  transport::VerifiedChainCacheStats cache_stats;
  try {
    const fs::path& dir = pki_for(variant.pki);
    ssl::context server = transport::make_server_context(dir, variant.server_options);
    const std::string_view node_ids[] = {kNodeId, kOtherNodeId};
    std::vector<ssl::context> clients;
    for (int i = 0; i < std::clamp(variant.clients, 1, 2); ++i) {
      clients.push_back(transport::make_client_context(transport::node_credentials(dir, node_ids[i])));
      if (variant.tweak) variant.tweak(server.native_handle(), clients.back().native_handle());
    }
    auto expected = [&](std::size_t client) {
      return variant.expect_client_identity ? std::optional<std::string_view>(node_ids[client]) : std::nullopt;
    };
    for (std::size_t i = 0; i < clients.size(); ++i) {  // warm-up, and the cache's first entries
      run_handshake(server.native_handle(), clients[i].native_handle(), expected(i));
    }
    std::size_t turn = 0;
    for (auto _ : state) {
      const std::size_t client = turn++ % clients.size();
      const HandshakeResult result = run_handshake(server.native_handle(), clients[client].native_handle(),
                                                   expected(client));
      state.SetIterationTime(result.server_cpu_seconds);
      server_seconds += result.server_cpu_seconds;
      client_bytes = result.client_to_server_bytes;
    }
    if (const auto* cache = transport::verified_chain_cache(server.native_handle())) cache_stats = cache->stats();
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
    return;
  }
  const double handshakes = static_cast<double>(state.iterations());
  state.counters["server_hs_per_cpu_s"] = server_seconds > 0 ? handshakes / server_seconds : 0;
  state.counters["server_us_per_hs"] = handshakes > 0 ? server_seconds * 1e6 / handshakes : 0;
  state.counters["client_bytes"] = static_cast<double>(client_bytes);
  const double lookups = static_cast<double>(cache_stats.hits + cache_stats.misses);
  state.counters["cache_hit_pct"] = lookups > 0 ? 100.0 * static_cast<double>(cache_stats.hits) / lookups : 0;
}

// --- variants ---------------------------------------------------------------

// What mutual authentication costs: the server asks for no certificate.
void server_auth_only(SSL_CTX* server, SSL_CTX* /*client*/) { SSL_CTX_set_verify(server, SSL_VERIFY_NONE, nullptr); }

// Before SSL_MODE_NO_AUTO_CHAIN (tls.cpp): each side builds its chain from
// its trust store per handshake, and the client sends the CA too.
void auto_chain(SSL_CTX* server, SSL_CTX* client) {
  SSL_CTX_clear_mode(server, SSL_MODE_NO_AUTO_CHAIN);
  SSL_CTX_clear_mode(client, SSL_MODE_NO_AUTO_CHAIN);
}
void client_auto_chain(SSL_CTX* /*server*/, SSL_CTX* client) { SSL_CTX_clear_mode(client, SSL_MODE_NO_AUTO_CHAIN); }

// Alternatives measured and not taken (docs/PERFORMANCE.md says why).
void suite_aes128_sha256(SSL_CTX* server, SSL_CTX* /*client*/) {
  SSL_CTX_set_ciphersuites(server, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384");
  SSL_CTX_set_options(server, SSL_OP_CIPHER_SERVER_PREFERENCE);
}
void group_p256(SSL_CTX* server, SSL_CTX* client) {
  SSL_CTX_set1_groups_list(server, "P-256");
  SSL_CTX_set1_groups_list(client, "P-256");
}

constexpr PkiSpec kP256{pki::KeyType::ecdsa_p256, false};
constexpr PkiSpec kP256Crl{pki::KeyType::ecdsa_p256, true};
constexpr PkiSpec kEd25519{pki::KeyType::ed25519, false};

const transport::ServerContextOptions kCache{};  // the gateway's default
const transport::ServerContextOptions kNoCache{.verified_chain_cache = false};
const transport::ServerContextOptions kOneEntryCache{.cache = {.capacity = 1}};

#define HANDSHAKE_BENCHMARK(name, ...)                                                           \
  BENCHMARK_CAPTURE(BM_ServerHandshake, name, Variant{__VA_ARGS__})->UseManualTime()->Unit(benchmark::kMicrosecond)

// The gateway as it is, and what each of its choices is worth.
HANDSHAKE_BENCHMARK(gateway/p256, kP256, kCache, {});
HANDSHAKE_BENCHMARK(gateway_cache_miss/p256, kP256, kOneEntryCache, {}, true, 2);
HANDSHAKE_BENCHMARK(gateway_no_cache/p256, kP256, kNoCache, {});
HANDSHAKE_BENCHMARK(client_sends_ca_no_cache/p256, kP256, kNoCache, client_auto_chain);
HANDSHAKE_BENCHMARK(auto_chain_no_cache/p256, kP256, kNoCache, auto_chain);
HANDSHAKE_BENCHMARK(server_auth_only/p256, kP256, kNoCache, server_auth_only, false);
// With a CRL (once any node is revoked): X509_verify_cert checks its signature too.
HANDSHAKE_BENCHMARK(gateway_crl/p256, kP256Crl, kCache, {});
HANDSHAKE_BENCHMARK(gateway_crl_no_cache/p256, kP256Crl, kNoCache, {});
HANDSHAKE_BENCHMARK(auto_chain_crl_no_cache/p256, kP256Crl, kNoCache, auto_chain);
// Not taken.
HANDSHAKE_BENCHMARK(suite_aes128_sha256/p256, kP256, kCache, suite_aes128_sha256);
HANDSHAKE_BENCHMARK(group_p256/p256, kP256, kCache, group_p256);
// Ed25519 certificates throughout (CA, gateway, node).
HANDSHAKE_BENCHMARK(gateway/ed25519, kEd25519, kCache, {});
HANDSHAKE_BENCHMARK(gateway_no_cache/ed25519, kEd25519, kNoCache, {});
HANDSHAKE_BENCHMARK(server_auth_only/ed25519, kEd25519, kNoCache, server_auth_only, false);

}  // namespace

BENCHMARK_MAIN();

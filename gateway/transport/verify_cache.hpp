// A cache of client certificate chains the gateway has already verified, so
// that a node reconnecting with the very same chain skips X509_verify_cert
// (the chain's signatures, and the CRL's, checked again) on its next full
// handshake. It changes nothing else in the handshake: the client still
// proves it holds the key (CertificateVerify), and a chain that is not
// byte-for-byte one verified on this context is verified in full.
//
// What a cached answer relies on, and how each is kept true:
//   - the chain: keyed on SHA-256 over the DER of every certificate the
//     client presented, in order; a different certificate with the same
//     subject is a different key;
//   - time: an entry is answered only between when it was verified and the
//     earliest of its chain's notAfter, the notAfter of the CA and the
//     nextUpdate of every CRL in the trust store, and `time_to_live` after it
//     was verified ("now" is the verification time OpenSSL would use: the
//     store's check time when one is set, otherwise the clock);
//   - the trust store (CA certificates, CRLs) and its flags: the cache is
//     emptied when the store, its flags or its number of objects change.
//     The gateway reads DIR/crl.pem only when it creates its context, so a
//     revocation takes a new context, which has a new, empty cache;
//   - what the connection asks for: a handshake whose verification
//     parameters name a host, e-mail or IP address is never answered from
//     the cache (the gateway's server context sets none).
// Only successful verifications are remembered; failures are verified in
// full every time. The cache holds at most `capacity` entries, evicting the
// oldest first.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_st X509;
typedef struct x509_store_ctx_st X509_STORE_CTX;
typedef struct x509_store_st X509_STORE;

namespace icegate::transport {

struct VerifiedChainCacheOptions {
  std::size_t capacity = 20'000;  // one entry per node certificate, about 150 bytes each
  std::chrono::seconds time_to_live{std::chrono::minutes(5)};
};

struct VerifiedChainCacheStats {
  std::uint64_t hits = 0;       // answered from the cache
  std::uint64_t misses = 0;     // verified in full (X509_verify_cert)
  std::uint64_t bypassed = 0;   // verified in full without looking (name checks asked for)
  std::uint64_t insertions = 0;
  std::uint64_t evictions = 0;  // dropped for capacity
  std::uint64_t flushes = 0;    // emptied because the trust store changed (or flush())
  std::size_t entries = 0;
};

class VerifiedChainCache {
 public:
  explicit VerifiedChainCache(VerifiedChainCacheOptions options = {});
  ~VerifiedChainCache();
  VerifiedChainCache(const VerifiedChainCache&) = delete;
  VerifiedChainCache& operator=(const VerifiedChainCache&) = delete;

  // What SSL_CTX_set_cert_verify_callback calls in place of
  // X509_verify_cert, with the same contract: 1 and X509_V_OK when the
  // chain is accepted; otherwise X509_verify_cert's answer and error.
  int verify(X509_STORE_CTX* context);

  void flush();
  VerifiedChainCacheStats stats() const;

 private:
  using Digest = std::array<unsigned char, 32>;
  using TimePoint = std::chrono::system_clock::time_point;
  struct DigestHash {
    std::size_t operator()(const Digest& digest) const noexcept;
  };
  struct X509Release {
    void operator()(X509* certificate) const noexcept;
  };
  struct Entry {
    TimePoint verified_at;
    TimePoint expires_at;
    std::uint64_t sequence = 0;
    // The verified chain beyond the leaf (the CA, usually the store's own
    // object, so holding it costs a reference count).
    std::vector<std::unique_ptr<X509, X509Release>> issuers;
  };
  // What the cached answers were given against.
  struct TrustGeneration {
    const X509_STORE* store = nullptr;
    unsigned long flags = 0;
    int objects = -1;
    bool operator==(const TrustGeneration&) const = default;
  };

  bool answer_from_cache(X509_STORE_CTX* context, const Digest& key, TimePoint now);
  void remember(X509_STORE_CTX* context, const Digest& key, TimePoint now);
  void clear_locked();

  VerifiedChainCacheOptions options_;
  mutable std::mutex mutex_;  // guards everything below: an SSL_CTX may be shared by threads
  std::unordered_map<Digest, Entry, DigestHash> entries_;
  std::deque<std::pair<Digest, std::uint64_t>> insertion_order_;  // oldest first; stale pairs skipped
  std::uint64_t next_sequence_ = 0;
  TrustGeneration generation_;
  VerifiedChainCacheStats stats_;
};

// Installs a cache on a server context (SSL_CTX_set_cert_verify_callback);
// the context owns it and frees it with itself.
void enable_verified_chain_cache(SSL_CTX* context, VerifiedChainCacheOptions options = {});

// The context's cache, or null when it has none.
VerifiedChainCache* verified_chain_cache(SSL_CTX* context);

}  // namespace icegate::transport

// The verified-chain cache (verify_cache.hpp): what it keys on, when an entry
// may answer, and how it stays bounded.
#include "gateway/transport/verify_cache.hpp"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <utility>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "gateway/model/digest.hpp"

namespace icegate::transport {
namespace {

using TimePoint = std::chrono::system_clock::time_point;

// The time X509_verify_cert checks validity at: the parameters' own time
// when one is set (X509_V_FLAG_USE_CHECK_TIME), otherwise now.
TimePoint verification_time(const X509_VERIFY_PARAM* param) {
  if ((X509_VERIFY_PARAM_get_flags(param) & X509_V_FLAG_USE_CHECK_TIME) != 0) {
    return std::chrono::system_clock::from_time_t(X509_VERIFY_PARAM_get_time(param));
  }
  return std::chrono::system_clock::now();
}

// Whether the verification checks a name against the certificate (host,
// e-mail, IP), which is not part of the cache's key.
bool asks_for_names(X509_VERIFY_PARAM* param) {
  if (X509_VERIFY_PARAM_get0_host(param, 0) != nullptr) return true;
  if (X509_VERIFY_PARAM_get0_email(param) != nullptr) return true;
  // OpenSSL reports "no IP address set" as an error (PASSED_NULL_PARAMETER);
  // left on the queue, it would become the reason a failed handshake gives.
  ERR_set_mark();
  char* ip = X509_VERIFY_PARAM_get1_ip_asc(param);
  ERR_pop_to_mark();
  const bool has_ip = ip != nullptr;
  OPENSSL_free(ip);
  return has_ip;
}

// An ASN1_TIME as a time point; nullopt when it cannot be read.
std::optional<TimePoint> to_time_point(const ASN1_TIME* time) {
  if (time == nullptr) return std::nullopt;
  std::tm broken_down{};
  if (ASN1_TIME_to_tm(time, &broken_down) != 1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(::timegm(&broken_down));
}

bool hash_certificate(Sha256& digest, X509* certificate, std::vector<unsigned char>& buffer) {
  const int length = i2d_X509(certificate, nullptr);
  if (length <= 0) return false;
  buffer.resize(static_cast<std::size_t>(length));
  unsigned char* out = buffer.data();
  if (i2d_X509(certificate, &out) != length) return false;
  // Length-prefixed, so that no two different chains hash the same bytes.
  const std::uint32_t size = static_cast<std::uint32_t>(length);
  const unsigned char prefix[4] = {static_cast<unsigned char>(size >> 24), static_cast<unsigned char>(size >> 16),
                                   static_cast<unsigned char>(size >> 8), static_cast<unsigned char>(size)};
  digest.update(prefix, sizeof prefix).update(buffer.data(), buffer.size());
  return true;
}

// ex_data slot holding the context's cache; the context frees it.
void free_cache(void* /*parent*/, void* cache, CRYPTO_EX_DATA* /*data*/, int /*index*/, long /*argl*/,
                void* /*argp*/) {
  delete static_cast<VerifiedChainCache*>(cache);
}

int cache_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_cache);
  return index;
}

int verify_through_cache(X509_STORE_CTX* context, void* cache) {
  return static_cast<VerifiedChainCache*>(cache)->verify(context);
}

}  // namespace

std::size_t VerifiedChainCache::DigestHash::operator()(const Digest& digest) const noexcept {
  std::size_t value = 0;
  std::memcpy(&value, digest.data(), sizeof value);  // already uniformly distributed
  return value;
}

void VerifiedChainCache::X509Release::operator()(X509* certificate) const noexcept { X509_free(certificate); }

VerifiedChainCache::VerifiedChainCache(VerifiedChainCacheOptions options) : options_(options) {
  options_.capacity = std::max<std::size_t>(options_.capacity, 1);
}

VerifiedChainCache::~VerifiedChainCache() = default;

int VerifiedChainCache::verify(X509_STORE_CTX* context) {
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(context);
  if (param == nullptr || asks_for_names(param)) {
    {
      const std::lock_guard lock(mutex_);
      ++stats_.bypassed;
    }
    return X509_verify_cert(context);  // never under the lock
  }

  // The key: SHA-256 over the leaf and every certificate the peer sent.
  Digest key{};
  bool have_key = false;
  try {  // OpenSSL calls us from C: no exception may leave (std::bad_alloc)
    Sha256 digest;
    std::vector<unsigned char> buffer;
    X509* leaf = X509_STORE_CTX_get0_cert(context);
    STACK_OF(X509)* presented = X509_STORE_CTX_get0_untrusted(context);
    have_key = leaf != nullptr && hash_certificate(digest, leaf, buffer);
    for (int i = 0; have_key && i < sk_X509_num(presented); ++i) {
      have_key = hash_certificate(digest, sk_X509_value(presented, i), buffer);
    }
    if (have_key) key = digest.finish();
  } catch (...) {
    have_key = false;  // verified in full, uncached
  }
  const TimePoint now = verification_time(param);
  if (have_key && answer_from_cache(context, key, now)) return 1;

  const int result = X509_verify_cert(context);
  if (have_key && result == 1 && X509_STORE_CTX_get_error(context) == X509_V_OK) {
    try {
      remember(context, key, now);
    } catch (...) {
      // Out of memory: the handshake goes on uncached; OpenSSL must not see a C++ exception.
    }
  }
  return result;
}

bool VerifiedChainCache::answer_from_cache(X509_STORE_CTX* context, const Digest& key, TimePoint now) {
  X509_STORE* store = X509_STORE_CTX_get0_store(context);
  TrustGeneration current;
  current.store = store;
  // USE_CHECK_TIME only moves "now", which every entry is checked against.
  current.flags = X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(context)) & ~X509_V_FLAG_USE_CHECK_TIME;
  if (store != nullptr && X509_STORE_lock(store) == 1) {
    current.objects = sk_X509_OBJECT_num(X509_STORE_get0_objects(store));
    X509_STORE_unlock(store);
  }

  const std::lock_guard lock(mutex_);
  if (!(current == generation_)) {
    if (!entries_.empty()) ++stats_.flushes;
    clear_locked();
    generation_ = current;
  }
  const auto found = entries_.find(key);
  if (found == entries_.end()) {
    ++stats_.misses;
    return false;
  }
  if (now < found->second.verified_at || now >= found->second.expires_at) {
    entries_.erase(found);
    ++stats_.misses;
    return false;
  }

  // What X509_verify_cert leaves behind on success: the verified chain
  // (this connection's leaf, then the issuers found the first time) and
  // X509_V_OK, which SSL_get_verify_result reports.
  STACK_OF(X509)* chain = sk_X509_new_reserve(nullptr, static_cast<int>(found->second.issuers.size()) + 1);
  if (chain == nullptr) {
    ++stats_.misses;
    return false;
  }
  X509* leaf = X509_STORE_CTX_get0_cert(context);
  X509_up_ref(leaf);
  sk_X509_push(chain, leaf);
  for (const auto& issuer : found->second.issuers) {
    X509_up_ref(issuer.get());
    sk_X509_push(chain, issuer.get());
  }
  X509_STORE_CTX_set0_verified_chain(context, chain);
  X509_STORE_CTX_set_current_cert(context, leaf);
  X509_STORE_CTX_set_error_depth(context, 0);
  X509_STORE_CTX_set_error(context, X509_V_OK);
  ++stats_.hits;
  return true;
}

void VerifiedChainCache::remember(X509_STORE_CTX* context, const Digest& key, TimePoint now) {
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context);
  if (chain == nullptr || sk_X509_num(chain) < 1) return;

  Entry entry;
  entry.verified_at = now;
  entry.expires_at = now + options_.time_to_live;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* certificate = sk_X509_value(chain, i);
    const std::optional<TimePoint> not_after = to_time_point(X509_get0_notAfter(certificate));
    if (!not_after) return;  // cannot tell when it ends: do not cache
    entry.expires_at = std::min(entry.expires_at, *not_after);
    if (i > 0) {
      X509_up_ref(certificate);
      entry.issuers.emplace_back(certificate);
    }
  }
  // A CRL stops vouching for anything at its nextUpdate (OpenSSL then
  // refuses with X509_V_ERR_CRL_HAS_EXPIRED), so no entry outlives one.
  if (X509_STORE* store = X509_STORE_CTX_get0_store(context); store != nullptr && X509_STORE_lock(store) == 1) {
    STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
    bool readable = true;
    for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
      X509_OBJECT* object = sk_X509_OBJECT_value(objects, i);
      if (X509_OBJECT_get_type(object) != X509_LU_CRL) continue;
      const ASN1_TIME* next_update = X509_CRL_get0_nextUpdate(X509_OBJECT_get0_X509_CRL(object));
      if (next_update == nullptr) continue;
      const std::optional<TimePoint> until = to_time_point(next_update);
      if (!until) readable = false;
      else entry.expires_at = std::min(entry.expires_at, *until);
    }
    X509_STORE_unlock(store);
    if (!readable) return;
  }
  if (entry.expires_at <= now) return;

  const std::lock_guard lock(mutex_);
  // A generation change since the lookup flushes at the next lookup; an
  // entry added now belongs to the old generation, so drop it here.
  if (generation_.store != X509_STORE_CTX_get0_store(context)) return;
  while (entries_.size() >= options_.capacity && !insertion_order_.empty()) {
    const std::pair<Digest, std::uint64_t> oldest = insertion_order_.front();
    insertion_order_.pop_front();
    const auto found = entries_.find(oldest.first);
    if (found != entries_.end() && found->second.sequence == oldest.second) {
      entries_.erase(found);
      ++stats_.evictions;
    }
  }
  entry.sequence = ++next_sequence_;
  insertion_order_.emplace_back(key, entry.sequence);
  entries_.insert_or_assign(key, std::move(entry));
  ++stats_.insertions;
  // Entries erased on expiry leave their pair behind; keep the queue in
  // proportion to the map.
  if (insertion_order_.size() > 2 * std::max<std::size_t>(entries_.size(), 64)) {
    std::deque<std::pair<Digest, std::uint64_t>> live;
    for (const auto& pair : insertion_order_) {
      const auto found = entries_.find(pair.first);
      if (found != entries_.end() && found->second.sequence == pair.second) live.push_back(pair);
    }
    insertion_order_.swap(live);
  }
}

void VerifiedChainCache::clear_locked() {
  entries_.clear();
  insertion_order_.clear();
}

void VerifiedChainCache::flush() {
  const std::lock_guard lock(mutex_);
  if (!entries_.empty()) ++stats_.flushes;
  clear_locked();
}

VerifiedChainCacheStats VerifiedChainCache::stats() const {
  const std::lock_guard lock(mutex_);
  VerifiedChainCacheStats copy = stats_;
  copy.entries = entries_.size();
  return copy;
}

void enable_verified_chain_cache(SSL_CTX* context, VerifiedChainCacheOptions options) {
  auto cache = std::make_unique<VerifiedChainCache>(options);
  VerifiedChainCache* previous = verified_chain_cache(context);
  if (SSL_CTX_set_ex_data(context, cache_index(), cache.get()) != 1) {
    throw std::runtime_error("cannot attach the verified-chain cache to the TLS context");
  }
  delete previous;  // replaced, not freed by OpenSSL
  SSL_CTX_set_cert_verify_callback(context, verify_through_cache, cache.release());
}

VerifiedChainCache* verified_chain_cache(SSL_CTX* context) {
  return static_cast<VerifiedChainCache*>(SSL_CTX_get_ex_data(context, cache_index()));
}

}  // namespace icegate::transport

#include "clients/exercise/host/keys.hpp"

#include <algorithm>
#include <cmath>

#include "gateway/http/access.hpp"

namespace icegate::exercise::host {

std::string Keys::add(Holder holder) {
  std::string secret = http::random_token();
  entries_.push_back({secret, std::move(holder)});
  return secret;
}

std::optional<Holder> Keys::find(std::string_view secret) const {
  // No early exit: every entry is compared, each in constant time.
  const Entry* found = nullptr;
  for (const auto& entry : entries_) {
    const bool equal = http::constant_time_equal(entry.secret, secret);
    if (equal && !found) found = &entry;
  }
  if (!found) return std::nullopt;
  return found->holder;
}

std::string Keys::secret_of(Holder::Kind kind, std::size_t table, std::string_view node, std::size_t evaluator) const {
  for (const auto& entry : entries_) {
    const Holder& h = entry.holder;
    if (h.kind != kind) continue;
    if (kind == Holder::Kind::seat && (h.table != table || h.node != node)) continue;
    if (kind == Holder::Kind::evaluator && h.evaluator != evaluator) continue;
    return entry.secret;
  }
  return {};
}

std::optional<std::chrono::seconds> RateLimiter::take(const std::string& key, Clock::time_point now) {
  auto it = buckets_.find(key);
  if (it == buckets_.end()) it = buckets_.emplace(key, Bucket{burst_, now}).first;
  Bucket& bucket = it->second;
  const double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
  if (elapsed > 0) {
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed * rate_);
    bucket.refilled = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return std::nullopt;
  }
  const double wait = (1 - bucket.tokens) / rate_;
  return std::chrono::seconds(std::max<long long>(1, static_cast<long long>(std::ceil(wait))));
}

}  // namespace icegate::exercise::host

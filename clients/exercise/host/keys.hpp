// Who a secret in the path is: a seat (table, node), an evaluator or the
// facilitator. One secret grants exactly one console; lookups compare every
// secret in constant time, so a page cannot learn a secret byte by byte from
// how long a wrong one takes to refuse.
//
// Threading: made before the server starts, read-only afterwards.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace icegate::exercise::host {

struct Holder {
  enum class Kind { seat, evaluator, facilitator } kind = Kind::seat;
  std::size_t table = 0;     // seat
  std::string node;          // seat
  std::size_t evaluator = 0; // evaluator: index into the evaluators
};

class Keys {
 public:
  // Returns the new secret (32 random bytes, hex).
  std::string add(Holder holder);
  // The holder of `secret`, taking the same time whichever secret (if any) it matches.
  std::optional<Holder> find(std::string_view secret) const;
  // The secret of the first holder equal to `holder`'s identity, or "".
  std::string secret_of(Holder::Kind kind, std::size_t table, std::string_view node, std::size_t evaluator) const;

 private:
  struct Entry {
    std::string secret;
    Holder holder;
  };
  std::vector<Entry> entries_;
};

// A token bucket per key: `burst` requests at once, refilled at `rate` a
// second. A page polls about once a second and loads a handful of files, far
// below it; a script hammering the API is slowed without harming anyone else.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  // Whether one more request from `key` may go ahead now; else how long to wait.
  std::optional<std::chrono::seconds> take(const std::string& key, Clock::time_point now);

 private:
  struct Bucket {
    double tokens;
    Clock::time_point refilled;
  };
  double rate_, burst_;
  std::map<std::string, Bucket, std::less<>> buckets_;
};

}  // namespace icegate::exercise::host

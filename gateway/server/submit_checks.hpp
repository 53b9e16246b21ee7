// The checks on a Submit, made before anything is decided or changed: the
// sender is the originator, the id is new (replay and duplicates), category,
// purpose and embargo event are the policy's, the labels are well formed
// (translated first when marked under another scheme the policy accepts) and
// the message label dominates its portions', and the content is not someone
// else's that may not be shared onward. (A message's size and shape are
// checked before, by the wire decoder; whether its frames fit, after, once
// decided.)
//
// Owns: the ids of the messages accepted recently, a bounded number of them.
// Every id accepted and not yet committed is held (its commit is in flight);
// of those committed, at most `recent_ids` and none older than
// `recent_window`. An id not held is looked up on disk (`accepted_before`,
// the store's index on message ids) unless every id ever accepted is held.
// So memory is O(recent_ids + commits in flight), whatever the store holds;
// see docs/ARCHITECTURE.md, "Memory bounds".
//
// Guard: none of its own. It is state of the router and confined to the
// router's executor, as the router is.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/controlled_content.hpp"
#include "gateway/store/store.hpp"
#include "icegate/v1/icegate.pb.h"

namespace icegate::server {

// Why a Submit is refused: the code and text the node is sent.
struct SubmitRefusal {
  v1::ErrorCode code = v1::ERROR_CODE_UNSPECIFIED;
  std::string text;
};

class SubmitChecks {
 public:
  // How many committed ids are held at most, and for how long.
  static constexpr std::size_t default_recent_ids = 65'536;
  static constexpr std::chrono::milliseconds default_recent_window{std::chrono::minutes(10)};
  // Whether a message of this id was committed (null: nothing is on disk
  // that is not held here).
  using AcceptedBefore = std::function<bool(const std::string& id)>;

  explicit SubmitChecks(AcceptedBefore accepted_before = {}, std::size_t recent_ids = default_recent_ids,
                        std::chrono::milliseconds recent_window = default_recent_window);

  // Checks `message` from the authenticated node `sender` under `policy`.
  // Completes it on the way: labels of another scheme are translated and an
  // empty message label becomes its portions' bound. On success `source` is
  // the controlled content it re-sends (null if none, or the sender's own).
  std::optional<SubmitRefusal> check(const policy::CompiledPolicy& policy, const std::string& sender,
                                     Message& message, const ControlledContentBook& controlled,
                                     const ControlledContent*& source) const;

  // The message `id` was accepted at `now_unix_ms` (its commit queued): a
  // Submit of it again is a duplicate. Also forgets what has aged out.
  void accept(const std::string& id, std::int64_t now_unix_ms);
  // The commit of the next `count` ids accepted (in the order accepted) is
  // durable: they may be forgotten once they age out.
  void committed(std::size_t count);
  // Forgets committed ids older than the window (the clock's tick).
  void age(std::int64_t now_unix_ms);
  // What the store returned (the newest messages, oldest first; `all`: every
  // message it holds), all committed.
  void load(const std::vector<store::AcceptedMessage>& messages, bool all);
  void clear();
  // Ids held in memory.
  std::size_t seen_count() const { return order_.size(); }
  // Whether `id` was accepted: held here, or else found on disk.
  bool seen(const std::string& id) const;

 private:
  struct Seen {
    std::int64_t accepted_unix_ms = 0;
    std::string id;
  };
  void remember(std::string id, std::int64_t accepted_unix_ms);
  void forget_aged(std::int64_t now_unix_ms);

  AcceptedBefore accepted_before_;
  std::size_t recent_ids_;
  std::int64_t recent_window_ms_;
  // Oldest first. A deque's elements stay where they are as it grows and
  // shrinks at its ends, so `held_` may view their ids.
  std::deque<Seen> order_;
  std::unordered_set<std::string_view> held_;
  std::size_t uncommitted_ = 0;  // the newest entries of order_ whose commit is in flight
  bool all_held_ = true;         // nothing accepted has been forgotten: no need to look on disk
};

}  // namespace icegate::server

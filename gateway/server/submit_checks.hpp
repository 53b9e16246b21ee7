// The checks on a Submit, made before anything is decided or changed: the
// sender is the originator, the id is new (replay and duplicates), category,
// purpose and embargo event are the policy's, the labels are well formed
// (translated first when marked under another scheme the policy accepts) and
// the message label dominates its portions', and the content is not someone
// else's that may not be shared onward. (A message's size and shape are
// checked before, by the wire decoder; whether its frames fit, after, once
// decided.)
//
// Owns: the ids of the messages accepted (loaded from the store at start).
//
// Guard: none of its own. It is state of the router and confined to the
// router's executor, as the router is.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/controlled_content.hpp"
#include "icegate/v1/icegate.pb.h"

namespace icegate::server {

// Why a Submit is refused: the code and text the node is sent.
struct SubmitRefusal {
  v1::ErrorCode code = v1::ERROR_CODE_UNSPECIFIED;
  std::string text;
};

class SubmitChecks {
 public:
  // Checks `message` from the authenticated node `sender` under `policy`.
  // Completes it on the way: labels of another scheme are translated and an
  // empty message label becomes its portions' bound. On success `source` is
  // the controlled content it re-sends (null if none, or the sender's own).
  std::optional<SubmitRefusal> check(const policy::CompiledPolicy& policy, const std::string& sender,
                                     Message& message, const ControlledContentBook& controlled,
                                     const ControlledContent*& source) const;

  // The message `id` was accepted: a Submit of it again is a duplicate.
  void accept(const std::string& id) { seen_.insert(id); }
  void load(const std::vector<std::string>& ids) { seen_.insert(ids.begin(), ids.end()); }
  void clear() { seen_.clear(); }
  std::size_t seen_count() const { return seen_.size(); }

 private:
  std::set<std::string, std::less<>> seen_;  // every message id accepted
};

}  // namespace icegate::server

// The decisions: for each recipient of a Submit, what the policy releases of
// it (portion by portion, redacting what it withholds), under which rules,
// and what the release requires (review, originator control, no onward
// sharing); and the redactions a reviewer adds later. It asks the policy;
// holds, delivery and audit are the router's, which acts on what it returns.
// (The shadow policy's comparison is made by the router, with the enforced
// decisions this returns.)
//
// Owns: the occasional-access uses of each node within the policy's window
// (loaded from the store at start), which a decision may draw on.
//
// Guard: none of its own. It is state of the router and confined to the
// router's executor, as the router is.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/store/store.hpp"

namespace icegate::server {

// The policy's decision for one recipient, and what its release requires.
struct Decided {
  RecipientDecision decision;
  std::vector<std::string> review_roles;
  bool originator_control = false;
  bool no_onward_sharing = false;
};

class Decider {
 public:
  // The policy's decision for `recipient` of `message` at `now_unix_ms`.
  // Changes nothing but forgetting occasional uses that left the window: an
  // occasional release it grants is counted by `use_occasional`, once the
  // Submit is accepted.
  Decided decide(const policy::CompiledPolicy& policy, const Message& message, const std::string& recipient,
                 std::int64_t now_unix_ms);
  // `node` used an occasional release at `now_unix_ms`; returns the use to store.
  store::OccasionalUse use_occasional(const std::string& node, std::int64_t now_unix_ms);
  void load(const store::OccasionalUse& use) { occasional_uses_[use.node].push_back(use.time_unix_ms); }
  void clear() { occasional_uses_.clear(); }

  // Withholds `portion_ids` from a decision that was going to release them,
  // for `reason`, and recomputes the label of what it still releases.
  static void withhold(const policy::CompiledPolicy& policy, const Message& message, RecipientDecision& decision,
                       const std::vector<std::string>& portion_ids, const std::string& reason);
  // A held decision made final: RELEASE, RELEASE_REDACTED, or DENY if nothing is left.
  static void settle(RecipientDecision& decision);

  // Whether `node` may use an occasional release now (forgets uses that left the window).
  bool occasional_available(const policy::CompiledPolicy& policy, const std::string& node, std::int64_t now_unix_ms);

 private:

  std::map<std::string, std::deque<std::int64_t>, std::less<>> occasional_uses_;  // node -> times, oldest first
};

}  // namespace icegate::server

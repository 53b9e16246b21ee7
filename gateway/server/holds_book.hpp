// The holds book: products waiting before they may go out, for a critical
// reader's review, for the originator's consent to onward release, or for an
// embargo (a time, an event, or both) to lift; and what became of each hold
// closed since the gateway started (so a late decision is told why it is
// refused).
//
// Owns: the open holds, by id, the closed holds' outcomes, and the events
// triggered so far (which embargoes wait on). It decides
// nothing and writes nothing: the router opens, fills and closes holds as a
// decision, review, trigger or the clock requires, and stores each hold in
// the form `serialise` gives (read back with `parse`).
//
// Guard: none of its own. It is state of the router and confined to the
// router's executor, as the router is.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/observer.hpp"

namespace icegate::server {

// Stored as numbers: do not renumber.
enum class HoldKind { review = 1, consent = 2, embargo = 3 };

struct Hold {
  std::string id;
  HoldKind kind = HoldKind::review;
  Message message;
  std::vector<RecipientDecision> recipients;  // what each would get once released
  std::vector<std::string> reviewer_roles;    // review: any node holding one may act
  std::string consent_node;                   // consent: the originator who must agree
  std::string held_for;
  std::string reason;
};

class HoldsBook {
 public:
  // Opens a hold with a new id on `message`, with no recipients yet.
  Hold& open(HoldKind kind, const Message& message, std::string held_for, std::string reason);
  // A hold read back from the store (it is open again, whatever was recorded of its closing).
  void load(Hold hold);
  // The open hold `id`, or null.
  Hold* find(std::string_view id);
  const Hold* find(std::string_view id) const;
  // The open embargo hold of message `message_id`, or null (one per message
  // gathers every recipient the embargo applies to).
  Hold* embargo_of(std::string_view message_id);
  // Closes the open hold `id` (which must exist), recording what became of it; returns it.
  Hold close(std::string_view id, std::string outcome);
  // What became of the closed hold `id`, or null if it was never closed here.
  const std::string* closed_as(std::string_view id) const;
  // Forgets what mirrors the store, the open holds and the triggered events
  // (to be loaded again); the closed holds' outcomes are kept.
  void clear_stored();

  // Event `name` has been triggered. True the first time.
  bool trigger(const std::string& name) { return triggered_.insert(name).second; }
  std::size_t event_count() const { return triggered_.size(); }
  // Whether an embargo with this handling has lifted at `now_unix_ms`: its
  // time has come (if it names one) and its event was triggered (if it names one).
  bool embargo_lifted(const Handling& handling, std::int64_t now_unix_ms) const;

  std::size_t size() const { return open_.size(); }
  // The ids of the open holds, in id order.
  std::vector<std::string> ids() const;
  // Every open hold, in id order.
  template <class F>
  void for_each(F&& visit) const {
    for (const auto& [id, hold] : open_) visit(hold);
  }

  // Whether `node` may decide `hold` under `policy`: the originator for
  // consent, a node holding one of the reviewer roles for a review; nobody
  // for an embargo.
  static bool may_decide(const policy::CompiledPolicy& policy, const Hold& hold, std::string_view node);
  // What watchers see of a hold, with the nodes that may decide it now.
  static HoldView view(const Hold& hold, const policy::CompiledPolicy& policy);
  // The stored form of a hold (icegate.store.v1.StoredHold), and back.
  static std::string serialise(const Hold& hold);
  static std::optional<Hold> parse(const std::string& blob);

 private:
  std::map<std::string, Hold, std::less<>> open_;
  std::map<std::string, std::string, std::less<>> closed_;  // hold id -> what became of it
  std::set<std::string, std::less<>> triggered_;
};

}  // namespace icegate::server

// What the gateway tells a watcher (the dashboard): structured events as they
// happen, and the counters it keeps for /metrics.
//
// Cost when nobody watches: the gateway holds an `Observer*` that is null, and
// every hook is behind one pointer check; no JSON, no strings, no text format
// is built. The metrics are plain integers, always kept, because they cost an
// increment. Both are confined to the gateway's io_context thread, the
// decision thread (the observer is called there, and the metrics are read
// there), so no locks; the two frame counters, counted by sessions on their
// own threads, are relaxed atomics.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/message.hpp"

namespace icegate::v1 {
class Frame;
}
namespace icegate::policy {
class CompiledPolicy;
}

namespace icegate::server {

enum class FrameDirection { in, out };  // as seen by the gateway

// A hold as the router keeps it, for watchers: what it waits for and who may decide it.
struct HoldView {
  std::string id;
  std::string_view kind;  // "review", "consent", "embargo"
  std::string message_id;
  std::string originator;
  std::string held_for;
  std::vector<std::string> reviewer_roles;  // review: any node holding one may decide
  std::vector<std::string> reviewers;       // the node ids that may decide it now (none for an embargo)
  std::vector<std::string> recipients;      // who gets the message once it is released
  std::string reason;
};

// One recipient of one message whose outcome under the shadow policy
// (`serve --shadow-policy`) differs from the enforced one. Never enforced.
struct ShadowDifference {
  struct Change {
    std::string portion;
    Label label;
    std::string_view change;    // "opened", "closed", "hold_added", "hold_removed"
    std::string_view enforced;  // "withheld", "released", "held"
    std::string_view shadow;
  };
  std::string message_id;
  std::string sender;
  std::string recipient;
  Decision enforced = Decision::deny;
  Decision shadow = Decision::deny;
  std::vector<Change> changes;  // in portion order
  std::vector<std::string> shadow_rules;
  std::string shadow_reason;
  std::string shadow_version;
};

// One decision of this gateway about a message between gateways (issue 18,
// docs/FEDERATION.md): a Forward to a next peer (or why nothing went), a
// Forward received from a peer and accepted, or one refused. The same facts
// as the peer_forward, peer_receive and peer_refused audit records.
struct HopView {
  std::string_view kind;  // "forward", "receive", "refused"
  std::string message_id;
  std::string peer;    // forward: the next peer; receive, refused: the peer it came from
  std::string origin;  // the origin gateway
  std::vector<std::string> via;  // the gateways after the origin it passed through
  std::uint32_t hop = 0;         // the route's hop count on this step
  // forward: "forwarded", "forwarded_redacted", "not_sent"; receive: "accepted";
  // refused: the refusal's code (e.g. "beyond-accreditation", "binding-portion-not-bound").
  std::string outcome;
  std::vector<std::string> portions;  // forward: the portions sent; receive: received
  struct Withheld {
    std::string portion;
    std::string reason;  // policy::PeerRefusal's code
  };
  std::vector<Withheld> withheld;  // forward: left out for this peer
  std::string reason;              // not_sent, refused: one sentence
};

// Called on the gateway's io_context thread, in the order things happen.
// Implementations must not call back into the gateway from a hook.
class Observer {
 public:
  virtual ~Observer() = default;
  // A node said Hello and was welcomed (connected), or its session ended.
  virtual void connection(const std::string& node, const std::string& peer, bool connected,
                          std::string_view reason) = 0;
  // A frame read from (in) or written to (out) a node; `bytes` counts the wire
  // size with its length prefix.
  virtual void frame(const std::string& node, FrameDirection direction, const v1::Frame& frame,
                     std::size_t bytes) = 0;
  // A Submit passed every check; its decisions follow.
  virtual void submission(const Message& message, const policy::CompiledPolicy& policy,
                          std::string_view derived_from) = 0;
  // One recipient's decision on a message (at submission, after a review, an
  // embargo or an expiry). `state` is the audit trail's ("delivered", "held for review", ...).
  virtual void decision(const std::string& message_id, const RecipientDecision& decision,
                        std::string_view state) = 0;
  // A Deliver was written to `node`.
  virtual void delivery(const std::string& node, const std::string& message_id, Decision decision) = 0;
  // `node` acknowledged a Deliver.
  virtual void acknowledged(const std::string& node, const std::string& message_id) = 0;
  // A Receipt was written to the originator.
  virtual void receipt(const std::string& originator, const std::string& message_id) = 0;
  // A hold was opened, or gained recipients (the view replaces any earlier one with its id).
  virtual void hold_opened(const HoldView& hold) = 0;
  // result: "approved", "refused" or "lifted"; `by` the node that decided (or what lifted it).
  virtual void hold_closed(const std::string& hold_id, const std::string& message_id, std::string_view result,
                           std::string_view by) = 0;
  // A reload installed a new policy.
  virtual void policy_loaded(const policy::CompiledPolicy& policy) = 0;
  // The shadow policy would have decided a recipient differently (nothing
  // was enforced). Empty by default: only watchers that show it override it.
  virtual void shadow_difference(const ShadowDifference& /*difference*/) {}
  // A decision between gateways (HopView). Empty by default, as above.
  virtual void hop(const HopView& /*hop*/) {}
};

// How long one policy decision for one recipient took, in seconds: a
// Prometheus histogram with fixed buckets (1 µs to 10 ms; decisions are fast).
struct LatencyHistogram {
  static constexpr std::array<double, 13> bounds{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4,
                                                 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2};
  std::array<std::uint64_t, bounds.size() + 1> counts{};  // per bucket, not cumulative; last is +Inf
  std::uint64_t count = 0;
  double sum = 0;

  void observe(double seconds) {
    std::size_t bucket = 0;
    while (bucket < bounds.size() && seconds > bounds[bucket]) ++bucket;
    ++counts[bucket];
    ++count;
    sum += seconds;
  }
};

// Counters the gateway keeps for itself (gauges such as connections and queue
// depths are read from the router when asked).
struct GatewayMetrics {
  std::uint64_t messages_submitted = 0;  // Submits accepted
  std::uint64_t messages_refused = 0;    // Submits refused (bad label, duplicate, ...)
  // Decisions made when a message is submitted, one per recipient, by
  // Decision (release, release_redacted, hold, deny); a hold's later outcome
  // is counted in holds_closed, not here.
  std::array<std::uint64_t, 4> decisions{};
  std::uint64_t holds_approved = 0, holds_refused = 0, holds_lifted = 0;
  // guarded by: atomic (incremented on the session threads, read on the decision thread).
  std::atomic<std::uint64_t> frames_in = 0, frames_out = 0;
  std::uint64_t acks_unexpected = 0;  // Acks naming no Deliver awaiting that node's Ack
  LatencyHistogram decision_latency;  // one observation per entry of `decisions`
  // Portions of a recipient's decision that the shadow policy would decide
  // differently, by change: opened, closed, hold_added, hold_removed.
  std::array<std::uint64_t, 4> shadow_differences{};
};

}  // namespace icegate::server

// The router: sessions register here; on Submit it expands the addressees,
// asks the policy for each recipient's decision, hands each its version (or
// queues it while the recipient is offline), and answers the originator.
// It also keeps the holds: products waiting for a critical reader's review,
// for the originator's consent to onward release, or for an embargo to lift.
// Confined to the gateway's io_context thread.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gateway/model/clock.hpp"
#include "gateway/model/message.hpp"
#include "gateway/policy/engine.hpp"
#include "icegate/v1/icegate.pb.h"

namespace icegate::server {

struct GatewayConfig;
class Session;

using FrameBytes = std::shared_ptr<const std::string>;

// What a request from a node came to, for the session to answer with.
struct SubmitResult {
  bool accepted = false;
  v1::ErrorCode error = v1::ERROR_CODE_UNSPECIFIED;
  std::string error_text;
};

class Router {
 public:
  using PolicyGetter = std::function<std::shared_ptr<const policy::CompiledPolicy>()>;

  Router(const GatewayConfig& config, PolicyGetter policy);

  // A session for `node_id` has said Hello. Returns the session it replaces, if any.
  std::shared_ptr<Session> attach(const std::string& node_id, const std::shared_ptr<Session>& session);
  void detach(const std::string& node_id, const Session* session);
  std::size_t session_count() const { return sessions_.size(); }
  std::vector<std::shared_ptr<Session>> sessions() const;

  // Handles a decoded Submit from the authenticated node `sender`.
  SubmitResult submit(const std::string& sender, Message message);
  // A reviewer's (or originator's) answer to a hold.
  SubmitResult review(const std::string& decider, const v1::ReviewDecision& decision);
  // A named event has happened; embargoes waiting on it lift.
  SubmitResult trigger(const std::string& node, const std::string& event);
  // Lifts embargoes whose time has come (called periodically by the gateway).
  void tick();

  std::size_t hold_count() const { return holds_.size(); }

 private:
  enum class HoldKind { review, consent, embargo };

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

  // A message whose content is under originator control or may not be shared onward.
  struct ControlledContent {
    std::string message_id;
    std::string originator;
    Handling handling;
    std::set<std::string, std::less<>> recipients;
  };

  struct Pending {
    FrameBytes bytes;
    std::int64_t not_after_unix_ms = 0;
    std::string message_id;
    std::string originator;
    RecipientDecision decision;  // for the follow-up Receipt if it expires in the queue
  };

  struct Delivered {
    RecipientDecision decision;
    bool delivered = false;
  };

  // Hands framed bytes to the node's session, or queues them while it is offline.
  bool deliver(const std::string& node_id, FrameBytes bytes);
  bool deliver(const std::string& node_id, const v1::Frame& frame);
  // Releases a version: through the embargo, then to the recipient (or its queue).
  Delivered release(const Message& message, RecipientDecision decision);
  Delivered deliver_version(const Message& message, RecipientDecision decision);
  void send_follow_up(const Message& message, const std::vector<Delivered>& outcomes);
  Hold& open_hold(HoldKind kind, const Message& message, std::string held_for, std::string reason);
  void request_review(const Hold& hold, const std::string& reviewer);
  void lift_embargo(Hold& hold);
  bool embargo_lifted(const Handling& handling) const;
  const ControlledContent* controlled_source(const Message& message) const;
  void remember_controlled(const Message& message, const Handling& handling,
                           const std::vector<std::string>& recipients);

  struct Decided {
    RecipientDecision decision;
    std::vector<std::string> review_roles;
    bool originator_control = false;
    bool no_onward_sharing = false;
  };
  Decided decide(const policy::CompiledPolicy& policy, const Message& message, const std::string& recipient);
  bool occasional_available(const policy::CompiledPolicy& policy, const std::string& node_id);
  std::int64_t now_ms() const;

  const GatewayConfig& config_;
  PolicyGetter policy_;
  std::map<std::string, std::weak_ptr<Session>, std::less<>> sessions_;
  // Frames for nodes that are offline, in order. In memory for now: the
  // durable store (SQLite) replaces this.
  std::map<std::string, std::deque<Pending>, std::less<>> pending_;
  std::set<std::string, std::less<>> seen_message_ids_;
  std::map<std::string, std::deque<std::int64_t>, std::less<>> occasional_uses_;
  std::map<std::string, Hold, std::less<>> holds_;
  std::map<std::string, std::string, std::less<>> closed_holds_;  // hold id -> what became of it
  std::set<std::string, std::less<>> triggered_events_;
  std::map<std::string, ControlledContent, std::less<>> controlled_;            // by message id
  std::map<std::string, std::string, std::less<>> controlled_by_content_;       // body digest -> message id
};

}  // namespace icegate::server

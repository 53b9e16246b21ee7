// The router: sessions register here; on Submit it expands the addressees,
// asks the policy for each recipient's decision, hands each its version (or
// queues it while the recipient is offline) and answers the originator.
// Confined to the gateway's io_context thread.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/engine.hpp"
#include "icegate/v1/icegate.pb.h"

namespace icegate::server {

struct GatewayConfig;
class Session;

using FrameBytes = std::shared_ptr<const std::string>;

// What a Submit came to, for the session to answer with.
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

 private:
  // Hands framed bytes to the node's session, or queues them while it is offline.
  bool deliver(const std::string& node_id, FrameBytes bytes);
  RecipientDecision decide(const policy::CompiledPolicy& policy, const Message& message,
                           const std::string& recipient);
  bool occasional_available(const policy::CompiledPolicy& policy, const std::string& node_id);
  void record_occasional(const std::string& node_id);

  const GatewayConfig& config_;
  PolicyGetter policy_;
  std::map<std::string, std::weak_ptr<Session>, std::less<>> sessions_;
  // Frames for nodes that are offline, in order. In memory for now: the
  // durable store (SQLite) replaces this.
  std::map<std::string, std::deque<FrameBytes>, std::less<>> pending_;
  std::set<std::string, std::less<>> seen_message_ids_;
  std::map<std::string, std::deque<std::chrono::system_clock::time_point>, std::less<>> occasional_uses_;
};

}  // namespace icegate::server

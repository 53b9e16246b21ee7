#include "gateway/server/router.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/server/gateway.hpp"
#include "gateway/server/session.hpp"
#include "gateway/wire/codec.hpp"
#include "gateway/wire/framing.hpp"

namespace icegate::server {

namespace {

FrameBytes frame_bytes(const v1::Frame& frame) {
  return std::make_shared<const std::string>(wire::encode_frame(frame));
}

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Whether `upper` dominates `lower`: classification at least as high and
// every category of `lower` present.
bool dominates(const policy::CompiledPolicy& policy, const Label& upper, const Label& lower) {
  if (policy.classification_rank(upper.classification) < policy.classification_rank(lower.classification)) return false;
  return std::includes(upper.categories.begin(), upper.categories.end(), lower.categories.begin(),
                       lower.categories.end());
}

std::string short_id(const std::string& id) { return id.substr(0, 8); }

}  // namespace

Router::Router(const GatewayConfig& config, PolicyGetter policy) : config_(config), policy_(std::move(policy)) {}

std::shared_ptr<Session> Router::attach(const std::string& node_id, const std::shared_ptr<Session>& session) {
  std::shared_ptr<Session> previous;
  auto [it, inserted] = sessions_.try_emplace(node_id, session);
  if (!inserted) {
    previous = it->second.lock();
    it->second = session;
  }
  // Whatever waited while the node was offline goes first, in order.
  if (auto pending = pending_.find(node_id); pending != pending_.end()) {
    auto frames = std::move(pending->second);
    pending_.erase(pending);
    spdlog::info("delivering {} queued frame(s) to node={}", frames.size(), node_id);
    for (auto& frame : frames) session->send(std::move(frame));
  }
  return previous;
}

void Router::detach(const std::string& node_id, const Session* session) {
  auto it = sessions_.find(node_id);
  if (it == sessions_.end()) return;
  auto current = it->second.lock();
  if (!current || current.get() == session) sessions_.erase(it);
}

std::vector<std::shared_ptr<Session>> Router::sessions() const {
  std::vector<std::shared_ptr<Session>> result;
  for (const auto& [node, weak] : sessions_)
    if (auto session = weak.lock()) result.push_back(std::move(session));
  return result;
}

bool Router::deliver(const std::string& node_id, FrameBytes bytes) {
  if (auto it = sessions_.find(node_id); it != sessions_.end()) {
    if (auto session = it->second.lock()) return session->send(std::move(bytes));
  }
  auto& queue = pending_[node_id];
  if (queue.size() >= config_.pending_limit) {
    spdlog::warn("pending queue for offline node={} is full ({} frames); dropping the oldest", node_id, queue.size());
    queue.pop_front();
  }
  queue.push_back(std::move(bytes));
  return false;
}

bool Router::occasional_available(const policy::CompiledPolicy& policy, const std::string& node_id) {
  const auto& allowance = policy.source().occasional;
  if (allowance.releases <= 0) return false;
  auto& uses = occasional_uses_[node_id];
  const auto cutoff = std::chrono::system_clock::now() - allowance.window;
  while (!uses.empty() && uses.front() < cutoff) uses.pop_front();
  return uses.size() < static_cast<std::size_t>(allowance.releases);
}

void Router::record_occasional(const std::string& node_id) {
  occasional_uses_[node_id].push_back(std::chrono::system_clock::now());
}

RecipientDecision Router::decide(const policy::CompiledPolicy& policy, const Message& message,
                                 const std::string& recipient) {
  std::vector<Label> labels;
  labels.reserve(message.portions.size());
  for (const auto& portion : message.portions) labels.push_back(portion.label);
  const policy::DecisionRequest request{message.originator, recipient, message.category, message.purpose, labels,
                                        occasional_available(policy, recipient)};
  const policy::PolicyDecision decision = policy.decide(request);

  RecipientDecision result;
  result.node_id = recipient;
  result.decision = decision.decision;
  result.reason = decision.reason;
  std::vector<Label> released;
  for (std::size_t i = 0; i < message.portions.size(); ++i) {
    const auto& portion = message.portions[i];
    const auto& outcome = decision.portions.at(i);
    if (outcome.released) {
      result.released_portion_ids.push_back(portion.id);
      released.push_back(portion.label);
    } else {
      WithheldPortion withheld{portion.id, portion.label,
                               outcome.detail.empty() ? std::string(policy::to_string(outcome.reason)) : outcome.detail,
                               {}};
      if (outcome.rule >= 0) withheld.rule_ids.push_back(policy.rule(outcome.rule).id);
      result.withheld.push_back(std::move(withheld));
    }
  }
  if (!released.empty()) result.released_label = policy.least_upper_bound(released);
  for (int rule : decision.rules) result.rule_ids.push_back(policy.rule(rule).id);
  if (decision.used_occasional) {
    record_occasional(recipient);
    spdlog::info("occasional access node={} message={}: {}", recipient, message.id, decision.reason);
  }
  return result;
}

SubmitResult Router::submit(const std::string& sender, Message message) {
  const auto policy = policy_();
  auto refuse = [&](v1::ErrorCode code, std::string text) {
    spdlog::warn("refused message={} from={}: {}", message.id, sender, text);
    return SubmitResult{false, code, std::move(text)};
  };
  if (message.originator != sender)
    return refuse(v1::ERROR_CODE_ORIGINATOR_MISMATCH,
                  fmt::format("originator '{}' is not the authenticated node '{}'", message.originator, sender));
  if (seen_message_ids_.contains(message.id))
    return refuse(v1::ERROR_CODE_DUPLICATE_MESSAGE, fmt::format("message id {} was already submitted", message.id));
  const auto& source = policy->source();
  if (!contains(source.information_categories, message.category))
    return refuse(v1::ERROR_CODE_INVALID_MESSAGE,
                  fmt::format("information category '{}' is not defined by policy {}", message.category, source.name));
  if (!message.purpose.empty() && !contains(source.purposes, message.purpose))
    return refuse(v1::ERROR_CODE_INVALID_MESSAGE,
                  fmt::format("purpose '{}' is not defined by policy {}", message.purpose, source.name));
  std::vector<Label> labels;
  for (const auto& portion : message.portions) {
    if (auto problems = policy->label_problems(portion.label); !problems.empty())
      return refuse(v1::ERROR_CODE_INVALID_LABEL, fmt::format("portion '{}' label {}: {}", portion.id,
                                                              to_string(portion.label), fmt::join(problems, "; ")));
    labels.push_back(portion.label);
  }
  const Label bound = policy->least_upper_bound(labels);
  if (message.label.classification.empty()) {
    message.label = bound;
  } else {
    if (auto problems = policy->label_problems(message.label); !problems.empty())
      return refuse(v1::ERROR_CODE_INVALID_LABEL,
                    fmt::format("message label {}: {}", to_string(message.label), fmt::join(problems, "; ")));
    if (!dominates(*policy, message.label, bound))
      return refuse(v1::ERROR_CODE_INVALID_LABEL,
                    fmt::format("message label {} does not dominate its portions ({})", to_string(message.label),
                                to_string(bound)));
  }
  seen_message_ids_.insert(message.id);

  const policy::Expansion expansion = policy->expand(message.addressees, sender);
  spdlog::info("submit message={} from={} category={} purpose={} label=\"{}\" portions={} recipients={}",
               message.id, sender, message.category, message.purpose, policy->display_marking(message.label),
               message.portions.size(), expansion.recipients.size());

  v1::Frame ack;
  ack.mutable_ack()->set_message_id(message.id);
  ack.mutable_ack()->set_ok(true);
  deliver(sender, frame_bytes(ack));

  v1::Frame receipt_frame;
  auto* receipt = receipt_frame.mutable_receipt();
  receipt->set_message_id(message.id);
  receipt->set_policy_version(policy->version());
  for (const auto& name : expansion.unresolved) receipt->add_unresolved_addressees(name);

  for (const auto& recipient : expansion.recipients) {
    const RecipientDecision decision = decide(*policy, message, recipient);
    bool delivered = false;
    if (decision.decision == Decision::release || decision.decision == Decision::release_redacted) {
      v1::Frame frame;
      auto* deliver_body = frame.mutable_deliver();
      wire::encode(releasable_version(message, decision), *deliver_body->mutable_message());
      deliver_body->set_decision(wire::encode(decision.decision));
      for (const auto& withheld : decision.withheld) wire::encode(withheld, *deliver_body->add_withheld());
      for (const auto& rule : decision.rule_ids) deliver_body->add_rule_ids(rule);
      deliver_body->set_reason(decision.reason);
      deliver_body->set_policy_version(policy->version());
      delivered = deliver(recipient, frame_bytes(frame));
    }
    std::vector<std::string> withheld_text;
    for (const auto& w : decision.withheld) withheld_text.push_back(fmt::format("{} ({}): {}", w.portion_id, to_string(w.label), w.reason));
    spdlog::info("decision message={} from={} to={} {} rules=[{}] released=[{}] withheld=[{}] {}", short_id(message.id),
                 sender, recipient, to_string(decision.decision), fmt::join(decision.rule_ids, ","),
                 fmt::join(decision.released_portion_ids, ","), fmt::join(withheld_text, "; "),
                 decision.decision == Decision::deny ? "" : (delivered ? "delivered" : "queued (offline)"));
    wire::encode(decision, delivered, *receipt->add_outcomes());
  }
  for (const auto& name : expansion.unresolved)
    spdlog::info("decision message={} from={} addressee {} resolves to no node", short_id(message.id), sender, name);
  deliver(sender, frame_bytes(receipt_frame));
  return {true, v1::ERROR_CODE_UNSPECIFIED, {}};
}

}  // namespace icegate::server

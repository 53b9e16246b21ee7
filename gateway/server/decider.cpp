#include "gateway/server/decider.hpp"

#include <algorithm>
#include <chrono>

namespace icegate::server {

namespace {

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace

bool Decider::occasional_available(const policy::CompiledPolicy& policy, const std::string& node,
                                   std::int64_t now_unix_ms) {
  const auto& allowance = policy.source().occasional;
  if (allowance.releases <= 0) return false;
  auto& uses = occasional_uses_[node];
  const auto cutoff =
      now_unix_ms - std::chrono::duration_cast<std::chrono::milliseconds>(allowance.window).count();
  while (!uses.empty() && uses.front() < cutoff) uses.pop_front();
  return uses.size() < static_cast<std::size_t>(allowance.releases);
}

Decided Decider::decide(const policy::CompiledPolicy& policy, const Message& message, const std::string& recipient,
                        std::int64_t now_unix_ms) {
  std::vector<Label> labels;
  labels.reserve(message.portions.size());
  for (const auto& portion : message.portions) labels.push_back(portion.label);
  const policy::DecisionRequest request{message.originator, recipient, message.category, message.purpose, labels,
                                        occasional_available(policy, recipient, now_unix_ms)};
  const policy::PolicyDecision decision = policy.decide(request);

  Decided result;
  result.decision = policy::recipient_decision(policy, message, recipient, decision);
  result.review_roles = decision.review_roles;
  result.originator_control = decision.originator_control;
  result.no_onward_sharing = decision.no_onward_sharing;
  return result;
}

store::OccasionalUse Decider::use_occasional(const std::string& node, std::int64_t now_unix_ms) {
  occasional_uses_[node].push_back(now_unix_ms);
  return {node, now_unix_ms};
}

void Decider::withhold(const policy::CompiledPolicy& policy, const Message& message, RecipientDecision& decision,
                       const std::vector<std::string>& portion_ids, const std::string& reason) {
  std::vector<std::string> kept;
  std::vector<Label> kept_labels;
  for (const auto& portion : message.portions) {
    if (!contains(decision.released_portion_ids, portion.id)) continue;
    if (contains(portion_ids, portion.id)) {
      decision.withheld.push_back({portion.id, portion.label, reason, {}});
    } else {
      kept.push_back(portion.id);
      kept_labels.push_back(portion.label);
    }
  }
  decision.released_portion_ids = std::move(kept);
  decision.released_label = kept_labels.empty() ? Label{} : policy.least_upper_bound(kept_labels);
}

void Decider::settle(RecipientDecision& decision) {
  decision.hold_id.clear();
  decision.held_for.clear();
  if (decision.released_portion_ids.empty()) decision.decision = Decision::deny;
  else decision.decision = decision.withheld.empty() ? Decision::release : Decision::release_redacted;
}

}  // namespace icegate::server

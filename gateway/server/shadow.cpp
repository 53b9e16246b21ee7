#include "gateway/server/shadow.hpp"

#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/model/json_value.hpp"

namespace icegate::server {
namespace {

std::string_view state_code(policy::FlowState state) {
  switch (state) {
    case policy::FlowState::withheld: return "withheld";
    case policy::FlowState::held:
    case policy::FlowState::held_occasional: return "held";
    case policy::FlowState::released:
    case policy::FlowState::occasional: return "released";
  }
  return "withheld";
}

std::string detail_json(const ShadowDifference& difference, std::string_view shadow_name) {
  const std::string changes = changes_json(difference);
  return json::Object()
      .add("shadow_policy", shadow_name)
      .add("shadow_version", difference.shadow_version)
      .add("enforced", to_string(difference.enforced))
      .add("shadow", to_string(difference.shadow))
      .add_raw("changes", changes)
      .add("shadow_rules", difference.shadow_rules)
      .add("shadow_reason", difference.shadow_reason)
      .str();
}

}  // namespace

std::string changes_json(const ShadowDifference& difference) {
  boost::json::array changes;
  for (const auto& change : difference.changes)
    changes.emplace_back(json::Object()
                             .add("portion", change.portion)
                             .add("label", policy::label_text(change.label))
                             .add("change", change.change)
                             .add("enforced", change.enforced)
                             .add("shadow", change.shadow)
                             .native());
  return json::serialize(changes);
}

ShadowPolicy::ShadowPolicy(std::shared_ptr<const policy::CompiledPolicy> policy, GatewayMetrics& metrics)
    : policy_(std::move(policy)), metrics_(metrics) {}

void ShadowPolicy::set_policy(std::shared_ptr<const policy::CompiledPolicy> policy) { policy_ = std::move(policy); }

void ShadowPolicy::compare(const Message& message, const std::vector<const RecipientDecision*>& enforced,
                           const audit::AuditRecord& prototype, std::vector<audit::AuditRecord>& records,
                           Observer* observer) {
  const policy::CompiledPolicy& shadow = *policy_;
  std::vector<Label> labels;
  labels.reserve(message.portions.size());
  for (const auto& portion : message.portions) labels.push_back(portion.label);
  const std::string refusal = policy::submission_refusal(shadow, message.originator, message.category, message.purpose,
                                                         message.handling.not_before_event, labels);
  for (const RecipientDecision* made : enforced) {
    const std::string& recipient = made->node_id;
    policy::PolicyDecision decided;
    if (!refusal.empty() || !shadow.has_node(recipient)) {
      decided.reason = !refusal.empty() ? fmt::format("the shadow policy would refuse the submission: {}", refusal)
                                        : fmt::format("{} is not a node of the shadow policy", recipient);
      decided.portions.assign(labels.size(), {});
    } else {
      const policy::DecisionRequest request{message.originator, recipient, message.category, message.purpose, labels,
                                            ledger_.available(shadow, recipient, prototype.time_unix_ms)};
      decided = shadow.decide(request);
      if (decided.used_occasional) ledger_.use(recipient, prototype.time_unix_ms);
    }
    const auto changes = policy::compare_states(policy::portion_states(message, *made), policy::portion_states(decided));
    if (changes.empty()) continue;

    ShadowDifference difference;
    difference.message_id = message.id;
    difference.sender = message.originator;
    difference.recipient = recipient;
    difference.enforced = made->decision;
    difference.shadow = decided.decision;
    for (int rule : decided.rules) difference.shadow_rules.push_back(shadow.rule(rule).id);
    difference.shadow_reason = decided.reason;
    difference.shadow_version = shadow.version();
    for (const auto& change : changes) {
      const Portion& portion = message.portions[change.portion];
      difference.changes.push_back({portion.id, portion.label, policy::to_string(change.kind),
                                    state_code(change.old_state), state_code(change.new_state)});
      ++metrics_.shadow_differences.at(static_cast<std::size_t>(change.kind));
    }
    spdlog::info("shadow message={} to={}: enforced {}, shadow {} would decide {} ({} portion(s) differ)",
                 message.id.substr(0, 8), recipient, to_string(made->decision), shadow.source().name,
                 to_string(decided.decision), changes.size());
    audit::AuditRecord record = prototype;
    record.recipient = recipient;
    record.message_id = message.id;
    record.detail = detail_json(difference, shadow.source().name);
    records.push_back(std::move(record));
    if (observer) observer->shadow_difference(difference);
  }
}

}  // namespace icegate::server

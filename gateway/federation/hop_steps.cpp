#include "gateway/federation/hop_steps.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "gateway/policy/peers.hpp"

namespace icegate::federation {

namespace {

std::vector<std::string> names(const std::vector<Addressee>& addressees) {
  std::vector<std::string> out;
  out.reserve(addressees.size());
  for (const auto& addressee : addressees) out.push_back(policy::unresolved_name(addressee));
  return out;
}

Decision decision_of(HopOutcome outcome) {
  switch (outcome) {
    case HopOutcome::forwarded: return Decision::release;
    case HopOutcome::forwarded_redacted: return Decision::release_redacted;
    case HopOutcome::not_sent: return Decision::deny;
  }
  return Decision::deny;
}

// A step's head: who decided, at which hop, what, for which addressees.
HopStep step_at(std::string_view gateway, std::uint32_t hop, Decision decision, std::vector<std::string> addressees) {
  HopStep step;
  step.gateway = std::string(gateway);
  step.hop = hop;
  step.decision = decision;
  step.addressees = std::move(addressees);
  return step;
}

}  // namespace

std::vector<HopStep> forward_steps(std::string_view gateway, const std::vector<PeerForward>& forwards, bool origin) {
  std::vector<HopStep> steps;
  steps.reserve(forwards.size());
  for (const PeerForward& forward : forwards) {
    HopStep step = step_at(gateway, forward.hop_count, decision_of(forward.outcome), names(forward.addressees));
    step.next_peer = forward.peer;
    for (const HopWithheld& withheld : forward.withheld)
      step.withheld.push_back({withheld.portion_id, origin ? withheld.label : Label{}, withheld.detail, {}});
    step.reason = forward.reason;
    steps.push_back(std::move(step));
  }
  return steps;
}

HopStep refusal_step(std::string_view gateway, const ForwardedMessage& frame, const Refused& refused) {
  HopStep step = step_at(gateway, frame.route.hop_count + 1, Decision::deny, names(frame.message.addressees));
  step.refusal = refused.code();
  step.reason = refused.detail;
  return step;
}

std::vector<HopStep> local_steps(std::string_view gateway, std::uint32_t hop, const policy::CompiledPolicy& policy,
                                 const Message& message, const std::vector<RecipientDecision>& decisions) {
  std::map<std::string_view, const RecipientDecision*> by_node;
  for (const auto& decision : decisions) by_node.emplace(decision.node_id, &decision);
  const std::string withheld_reason = fmt::format("withheld under {}'s policy", gateway);
  std::vector<HopStep> steps;
  std::vector<std::string> done;
  for (const Addressee& addressee : message.addressees) {
    if (!policy::is_local(policy, addressee)) continue;
    std::string name = policy::unresolved_name(addressee);
    if (std::find(done.begin(), done.end(), name) != done.end()) continue;
    done.push_back(name);
    // Its nodes, as the gateway expanded it (the sender is never its own recipient).
    const policy::Expansion expansion = policy.expand({&addressee, 1}, message.originator);
    // One step per decision, in the order decisions rank (release first).
    std::map<Decision, HopStep> by_decision;
    for (const auto& node : expansion.recipients) {
      auto found = by_node.find(node);
      if (found == by_node.end()) continue;
      const RecipientDecision& decision = *found->second;
      auto [at, first] = by_decision.try_emplace(decision.decision);
      if (first) at->second = step_at(gateway, hop, decision.decision, {name});
      HopStep& step = at->second;
      ++step.recipients;
      for (const auto& withheld : decision.withheld) {
        const bool known = std::any_of(step.withheld.begin(), step.withheld.end(),
                                       [&](const WithheldPortion& w) { return w.portion_id == withheld.portion_id; });
        if (!known) step.withheld.push_back({withheld.portion_id, {}, withheld_reason, {}});
      }
    }
    if (by_decision.empty()) {
      // Named nobody here: no node of this gateway was decided for.
      HopStep step = step_at(gateway, hop, Decision::deny, {name});
      step.reason = fmt::format("{} names no recipient at {}", name, gateway);
      steps.push_back(std::move(step));
      continue;
    }
    for (auto& [decision, step] : by_decision) steps.push_back(std::move(step));
  }
  return steps;
}

std::optional<HopStep> unresolved_step(std::string_view gateway, std::uint32_t hop,
                                       const std::vector<Addressee>& unresolved) {
  if (unresolved.empty()) return std::nullopt;
  HopStep step = step_at(gateway, hop, Decision::deny, names(unresolved));
  step.reason = fmt::format("neither {} nor any peer of it speaks for {}", gateway,
                            unresolved.size() == 1 ? "this addressee" : "these addressees");
  return step;
}

std::string report_id(std::string_view message_id, std::string_view gateway) {
  return fmt::format("{}/{}", message_id, gateway);
}

}  // namespace icegate::federation

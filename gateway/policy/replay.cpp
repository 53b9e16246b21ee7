#include "gateway/policy/replay.hpp"

#include <algorithm>
#include <chrono>
#include <tuple>

#include <fmt/format.h>

namespace icegate::policy {

// ---- Comparing two outcomes -------------------------------------------------

PortionStates portion_states(const PolicyDecision& decision) {
  PortionStates states;
  states.reserve(decision.portions.size());
  const bool held = decision.decision == Decision::hold;
  for (const auto& portion : decision.portions)
    states.push_back(!portion.released ? FlowState::withheld : held ? FlowState::held : FlowState::released);
  return states;
}

PortionStates portion_states(const Message& message, const RecipientDecision& decision) {
  PortionStates states;
  states.reserve(message.portions.size());
  const bool held = decision.decision == Decision::hold;
  for (const auto& portion : message.portions) {
    const auto& ids = decision.released_portion_ids;
    const bool released = std::find(ids.begin(), ids.end(), portion.id) != ids.end();
    states.push_back(!released ? FlowState::withheld : held ? FlowState::held : FlowState::released);
  }
  return states;
}

std::vector<PortionChange> compare_states(const PortionStates& old_states, const PortionStates& new_states) {
  std::vector<PortionChange> changes;
  const std::size_t count = std::min(old_states.size(), new_states.size());
  for (std::size_t i = 0; i < count; ++i) {
    const FlowState before = old_states[i], after = new_states[i];
    if (before == after) continue;
    ChangeKind kind;
    if (release_level(after) > release_level(before)) {
      kind = ChangeKind::opened;
    } else if (release_level(after) < release_level(before)) {
      kind = ChangeKind::closed;
    } else {
      kind = is_held(after) ? ChangeKind::hold_added : ChangeKind::hold_removed;
    }
    changes.push_back({i, kind, before, after});
  }
  return changes;
}

std::string submission_refusal(const CompiledPolicy& policy, std::string_view sender, std::string_view category,
                               std::string_view purpose, std::string_view embargo_event,
                               const std::vector<Label>& portion_labels) {
  const Policy& source = policy.source();
  auto defined = [](const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  if (!policy.has_node(sender)) return fmt::format("sender {} is not a node of policy {}", sender, source.name);
  if (!defined(source.information_categories, category))
    return fmt::format("information category '{}' is not defined by policy {}", category, source.name);
  if (!purpose.empty() && !defined(source.purposes, purpose))
    return fmt::format("purpose '{}' is not defined by policy {}", purpose, source.name);
  if (!embargo_event.empty() && !policy.has_event(embargo_event))
    return fmt::format("embargo event '{}' is not defined by policy {}", embargo_event, source.name);
  for (const Label& label : portion_labels)
    if (auto problems = policy.label_problems(label); !problems.empty())
      return fmt::format("label {}: {}", label_text(label), fmt::join(problems, "; "));
  return {};
}

bool OccasionalLedger::available(const CompiledPolicy& policy, const std::string& node, std::int64_t now_unix_ms) {
  const auto& allowance = policy.source().occasional;
  if (allowance.releases <= 0) return false;
  auto& uses = uses_[node];
  const auto cutoff = now_unix_ms - std::chrono::duration_cast<std::chrono::milliseconds>(allowance.window).count();
  uses.erase(uses.begin(), std::find_if(uses.begin(), uses.end(), [&](std::int64_t at) { return at >= cutoff; }));
  return uses.size() < static_cast<std::size_t>(allowance.releases);
}

void OccasionalLedger::use(const std::string& node, std::int64_t now_unix_ms) { uses_[node].push_back(now_unix_ms); }

// ---- Replay -----------------------------------------------------------------

namespace {

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// What the recorded decision says each portion came to: released portions are
// held when the policy held them for review. An embargo or an originator's
// consent also hold a message, but those are the gateway's, not the policy's:
// the policy released.
PortionStates recorded_states(const RecordedSubmission& submission, const RecordedDecision& decision) {
  PortionStates states;
  const bool held = decision.state == "held for review";
  for (const auto& portion : submission.portions)
    states.push_back(!contains(decision.released, portion.id) ? FlowState::withheld
                     : held                                     ? FlowState::held
                                                                : FlowState::released);
  return states;
}

struct GroupKey {
  ChangeKind kind;
  std::string sender, recipient;
  FlowState old_state, new_state;
  friend bool operator<(const GroupKey& a, const GroupKey& b) {
    return std::tie(a.kind, a.sender, a.recipient, a.old_state, a.new_state) <
           std::tie(b.kind, b.sender, b.recipient, b.old_state, b.new_state);
  }
};

struct Gathering {
  ReplayGroup group;
  std::string last_message;
};

}  // namespace

std::size_t ReplayReport::count(ChangeKind kind) const {
  return static_cast<std::size_t>(std::count_if(groups.begin(), groups.end(), [&](const auto& g) { return g.kind == kind; }));
}

std::size_t ReplayReport::portion_count(ChangeKind kind) const {
  std::size_t total = 0;
  for (const auto& group : groups)
    if (group.kind == kind) total += group.portions;
  return total;
}

ReplayReport replay_submissions(const std::vector<RecordedSubmission>& submissions, const CompiledPolicy& policy) {
  ReplayReport report;
  report.policy_name = policy.source().name;
  report.policy_version = policy.version();
  report.submissions = submissions.size();
  OccasionalLedger ledger;
  std::map<GroupKey, Gathering> groups;

  for (const RecordedSubmission& submission : submissions) {
    ++report.recorded_versions[submission.policy_version];
    if (!submission.undecidable.empty()) {
      report.undecidable.push_back({submission.seq, submission.message_id, submission.sender, submission.undecidable});
      continue;
    }
    ++report.replayed;
    std::vector<Label> labels;
    for (const auto& portion : submission.portions) labels.push_back(portion.label);
    const std::string refusal = submission_refusal(policy, submission.sender, submission.category, submission.purpose,
                                                   submission.embargo_event, labels);
    if (!refusal.empty())
      report.refused.push_back({submission.seq, submission.message_id, submission.sender, refusal});

    for (const RecordedDecision& recorded : submission.decisions) {
      ++report.decisions;
      report.portions += submission.portions.size();
      const PortionStates old_states = recorded_states(submission, recorded);
      PolicyDecision decided;
      if (!refusal.empty() || !policy.has_node(recorded.recipient)) {
        // Refused outright, or to a recipient the policy does not know: nothing goes.
        const std::string why = !refusal.empty()
                                    ? fmt::format("the submission would be refused: {}", refusal)
                                    : fmt::format("{} is not a node of policy {}", recorded.recipient,
                                                  policy.source().name);
        decided.reason = why;
        for (std::size_t i = 0; i < labels.size(); ++i) decided.portions.push_back({false, PortionReason::none, -1, false, why});
      } else {
        const DecisionRequest request{submission.sender, recorded.recipient, submission.category, submission.purpose,
                                      labels, ledger.available(policy, recorded.recipient, submission.time_unix_ms)};
        decided = policy.decide(request);
        if (decided.used_occasional) ledger.use(recorded.recipient, submission.time_unix_ms);
      }
      for (const PortionChange& change : compare_states(old_states, portion_states(decided))) {
        const RecordedPortion& portion = submission.portions[change.portion];
        Gathering& gathering =
            groups[{change.kind, submission.sender, recorded.recipient, change.old_state, change.new_state}];
        ReplayGroup& group = gathering.group;
        if (group.portions == 0) {
          group.kind = change.kind;
          group.old_state = change.old_state;
          group.new_state = change.new_state;
          group.sender = submission.sender;
          group.recipient = recorded.recipient;
          ReplayExample& example = group.example;
          example.seq = submission.seq;
          example.time_unix_ms = submission.time_unix_ms;
          example.message_id = submission.message_id;
          example.category = submission.category;
          example.purpose = submission.purpose;
          example.portion = portion.id;
          example.label = portion.label;
          example.old_rules = recorded.rules;
          if (auto reason = recorded.withheld_reasons.find(portion.id); reason != recorded.withheld_reasons.end())
            example.old_detail = reason->second;
          else
            example.old_detail = recorded.reason;
          const PortionDecision& now = decided.portions[change.portion];
          if (now.rule >= 0) example.new_rules.push_back(policy.rule(now.rule).id);
          example.new_detail = !now.detail.empty() ? now.detail
                               : now.released      ? decided.reason
                                                   : std::string(to_string(now.reason));
          example.old_occasional = recorded.occasional;
          example.new_occasional = now.occasional;
        }
        ++group.portions;
        if (gathering.last_message != submission.message_id) {
          gathering.last_message = submission.message_id;
          ++group.submissions;
        }
        if (!contains(group.categories, submission.category)) group.categories.push_back(submission.category);
      }
    }
  }
  for (auto& [key, gathering] : groups) report.groups.push_back(std::move(gathering.group));
  return report;
}

}  // namespace icegate::policy

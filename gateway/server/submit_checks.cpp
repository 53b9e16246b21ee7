#include "gateway/server/submit_checks.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "gateway/policy/translate.hpp"

namespace icegate::server {

namespace {

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

}  // namespace

SubmitChecks::SubmitChecks(AcceptedBefore accepted_before, std::size_t recent_ids,
                           std::chrono::milliseconds recent_window)
    : accepted_before_(std::move(accepted_before)), recent_ids_(recent_ids), recent_window_ms_(recent_window.count()) {}

bool SubmitChecks::seen(const std::string& id) const {
  if (held_.contains(id)) return true;
  return !all_held_ && accepted_before_ && accepted_before_(id);
}

void SubmitChecks::remember(std::string id, std::int64_t accepted_unix_ms) {
  order_.push_back({accepted_unix_ms, std::move(id)});
  held_.insert(order_.back().id);
}

void SubmitChecks::accept(const std::string& id, std::int64_t now_unix_ms) {
  remember(id, now_unix_ms);
  ++uncommitted_;
  forget_aged(now_unix_ms);
}

void SubmitChecks::committed(std::size_t count) { uncommitted_ -= std::min(count, uncommitted_); }

void SubmitChecks::age(std::int64_t now_unix_ms) { forget_aged(now_unix_ms); }

void SubmitChecks::forget_aged(std::int64_t now_unix_ms) {
  // Only committed ids (the oldest) are forgotten: the store finds those.
  // Without a store to look in, nothing is.
  if (!accepted_before_) return;
  while (order_.size() > uncommitted_) {
    const Seen& oldest = order_.front();
    const bool over = order_.size() - uncommitted_ > recent_ids_;
    if (!over && now_unix_ms - oldest.accepted_unix_ms <= recent_window_ms_) break;
    held_.erase(oldest.id);
    order_.pop_front();
    all_held_ = false;
  }
}

void SubmitChecks::load(const std::vector<store::AcceptedMessage>& messages, bool all) {
  for (const auto& m : messages) remember(m.id, m.accepted_unix_ms);
  all_held_ = all_held_ && all;
  // Aged by the newest time loaded: the clock may be a simulated one.
  if (!order_.empty()) forget_aged(order_.back().accepted_unix_ms);
}

void SubmitChecks::clear() {
  held_.clear();
  order_.clear();
  uncommitted_ = 0;
  all_held_ = true;
}

std::optional<SubmitRefusal> SubmitChecks::check(const policy::CompiledPolicy& policy, const std::string& sender,
                                                 Message& message, const ControlledContentBook& controlled,
                                                 const ControlledContent*& source) const {
  source = nullptr;
  auto refuse = [](v1::ErrorCode code, std::string text) {
    return std::optional<SubmitRefusal>(SubmitRefusal{code, std::move(text)});
  };
  if (message.originator != sender)
    return refuse(v1::ERROR_CODE_ORIGINATOR_MISMATCH,
                  fmt::format("originator '{}' is not the authenticated node '{}'", message.originator, sender));
  if (seen(message.id))
    return refuse(v1::ERROR_CODE_DUPLICATE_MESSAGE, fmt::format("message id {} was already submitted", message.id));
  const auto& policy_source = policy.source();
  if (!contains(policy_source.information_categories, message.category))
    return refuse(v1::ERROR_CODE_INVALID_MESSAGE, fmt::format("information category '{}' is not defined by policy {}",
                                                              message.category, policy_source.name));
  if (!message.purpose.empty() && !contains(policy_source.purposes, message.purpose))
    return refuse(v1::ERROR_CODE_INVALID_MESSAGE,
                  fmt::format("purpose '{}' is not defined by policy {}", message.purpose, policy_source.name));
  if (!message.handling.not_before_event.empty() && !policy.has_event(message.handling.not_before_event))
    return refuse(v1::ERROR_CODE_INVALID_MESSAGE,
                  fmt::format("embargo event '{}' is not defined by policy {}", message.handling.not_before_event,
                              policy_source.name));
  // Labels under another scheme the policy accepts are translated (originals
  // kept beside them) before anything is checked or decided.
  if (auto refusal = policy::translate_submitted_labels(policy, message))
    return refuse(v1::ERROR_CODE_INVALID_LABEL, std::move(*refusal));
  std::vector<Label> labels;
  for (const auto& portion : message.portions) {
    if (auto problems = policy.label_problems(portion.label); !problems.empty())
      return refuse(v1::ERROR_CODE_INVALID_LABEL, fmt::format("portion '{}' label {}: {}", portion.id,
                                                              to_string(portion.label), fmt::join(problems, "; ")));
    labels.push_back(portion.label);
  }
  const Label bound = policy.least_upper_bound(labels);
  if (message.label.classification.empty()) {
    message.label = bound;
  } else {
    if (auto problems = policy.label_problems(message.label); !problems.empty())
      return refuse(v1::ERROR_CODE_INVALID_LABEL,
                    fmt::format("message label {}: {}", to_string(message.label), fmt::join(problems, "; ")));
    if (!dominates(policy, message.label, bound))
      return refuse(v1::ERROR_CODE_INVALID_LABEL,
                    fmt::format("message label {} does not dominate its portions ({})", to_string(message.label),
                                to_string(bound)));
  }
  // Re-sending someone else's controlled content: forbidden outright, or
  // beyond its first recipients only with the originator's consent (which
  // the decisions ask for).
  const ControlledContent* content = controlled.source_of(message);
  if (content && content->originator == sender) content = nullptr;
  if (content && content->handling.no_onward_sharing)
    return refuse(v1::ERROR_CODE_ONWARD_SHARING_FORBIDDEN,
                  fmt::format("message {} from {} may not be shared onward; this message re-sends its content",
                              content->message_id, content->originator));
  source = content;
  return std::nullopt;
}

}  // namespace icegate::server

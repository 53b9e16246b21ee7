#include "gateway/server/holds_book.hpp"

#include <algorithm>
#include <utility>

#include "gateway/wire/codec.hpp"
#include "icegate/store/v1/store.pb.h"

namespace icegate::server {

Hold& HoldsBook::open(HoldKind kind, const Message& message, std::string held_for, std::string reason) {
  Hold hold;
  hold.id = make_uuid();
  hold.kind = kind;
  hold.message = message;
  hold.held_for = std::move(held_for);
  hold.reason = std::move(reason);
  const std::string id = hold.id;
  return open_.emplace(id, std::move(hold)).first->second;
}

void HoldsBook::load(Hold hold) {
  if (auto closed = closed_.find(hold.id); closed != closed_.end()) closed_.erase(closed);
  std::string id = hold.id;
  open_.insert_or_assign(std::move(id), std::move(hold));
}

Hold* HoldsBook::find(std::string_view id) {
  auto it = open_.find(id);
  return it == open_.end() ? nullptr : &it->second;
}

const Hold* HoldsBook::find(std::string_view id) const {
  auto it = open_.find(id);
  return it == open_.end() ? nullptr : &it->second;
}

Hold* HoldsBook::embargo_of(std::string_view message_id) {
  Hold* found = nullptr;
  for (auto& [id, hold] : open_)
    if (hold.kind == HoldKind::embargo && hold.message.id == message_id) found = &hold;
  return found;
}

Hold HoldsBook::close(std::string_view id, std::string outcome) {
  auto it = open_.find(id);
  Hold hold = std::move(it->second);
  open_.erase(it);
  closed_.insert_or_assign(hold.id, std::move(outcome));
  return hold;
}

const std::string* HoldsBook::closed_as(std::string_view id) const {
  auto it = closed_.find(id);
  return it == closed_.end() ? nullptr : &it->second;
}

void HoldsBook::clear_stored() {
  open_.clear();
  triggered_.clear();
}

bool HoldsBook::embargo_lifted(const Handling& handling, std::int64_t now_unix_ms) const {
  if (handling.not_before_unix_ms != 0 && now_unix_ms < handling.not_before_unix_ms) return false;
  if (!handling.not_before_event.empty() && !triggered_.contains(handling.not_before_event)) return false;
  return true;
}

std::vector<std::string> HoldsBook::ids() const {
  std::vector<std::string> ids;
  ids.reserve(open_.size());
  for (const auto& [id, hold] : open_) ids.push_back(id);
  return ids;
}

bool HoldsBook::may_decide(const policy::CompiledPolicy& policy, const Hold& hold, std::string_view node) {
  switch (hold.kind) {
    case HoldKind::consent: return node == hold.consent_node;
    case HoldKind::review:
      return std::any_of(hold.reviewer_roles.begin(), hold.reviewer_roles.end(),
                         [&](const auto& role) { return policy.holds_role(node, role); });
    case HoldKind::embargo: return false;
  }
  return false;
}

HoldView HoldsBook::view(const Hold& hold, const policy::CompiledPolicy& policy) {
  HoldView view;
  view.id = hold.id;
  view.kind = hold.kind == HoldKind::review ? "review" : hold.kind == HoldKind::consent ? "consent" : "embargo";
  view.message_id = hold.message.id;
  view.originator = hold.message.originator;
  view.held_for = hold.held_for;
  view.reviewer_roles = hold.reviewer_roles;
  view.reason = hold.reason;
  for (const auto& recipient : hold.recipients) view.recipients.push_back(recipient.node_id);
  if (hold.kind == HoldKind::consent) {
    view.reviewers.push_back(hold.consent_node);
  } else if (hold.kind == HoldKind::review) {
    // Exactly the nodes the router accepts a review from, in policy order.
    for (const auto& node : policy.source().nodes)
      if (may_decide(policy, hold, node.id)) view.reviewers.push_back(node.id);
  }
  return view;
}

std::string HoldsBook::serialise(const Hold& hold) {
  store::v1::StoredHold stored;
  stored.set_id(hold.id);
  stored.set_kind(static_cast<int>(hold.kind));
  wire::encode(hold.message, *stored.mutable_message());
  for (const auto& recipient : hold.recipients) wire::encode(recipient, false, *stored.add_recipients());
  for (const auto& role : hold.reviewer_roles) stored.add_reviewer_roles(role);
  stored.set_consent_node(hold.consent_node);
  stored.set_held_for(hold.held_for);
  stored.set_reason(hold.reason);
  return stored.SerializeAsString();
}

std::optional<Hold> HoldsBook::parse(const std::string& blob) {
  store::v1::StoredHold stored;
  if (!stored.ParseFromString(blob)) return std::nullopt;
  Hold hold;
  hold.id = stored.id();
  hold.kind = static_cast<HoldKind>(stored.kind());
  wire::DecodeProblem problem;
  wire::MessageLimits generous;
  generous.max_portions = generous.max_addressees = 1u << 20;
  generous.max_text_bytes = 1u << 20;
  if (auto message = wire::decode(stored.message(), generous, problem)) hold.message = std::move(*message);
  for (const auto& outcome : stored.recipients()) hold.recipients.push_back(wire::decode(outcome));
  hold.reviewer_roles.assign(stored.reviewer_roles().begin(), stored.reviewer_roles().end());
  hold.consent_node = stored.consent_node();
  hold.held_for = stored.held_for();
  hold.reason = stored.reason();
  return hold;
}

}  // namespace icegate::server

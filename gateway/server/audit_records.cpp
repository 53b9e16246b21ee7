#include "gateway/server/audit_records.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "gateway/model/json.hpp"
#include "gateway/policy/translate.hpp"

namespace icegate::server {

AuditRecords::AuditRecords(Now now, PolicyVersion policy_version)
    : now_(std::move(now)), policy_version_(std::move(policy_version)) {}

audit::AuditRecord AuditRecords::record(std::string kind, std::string node) const {
  audit::AuditRecord record;
  record.time_unix_ms = now_();
  record.kind = std::move(kind);
  record.node = std::move(node);
  record.policy_version = policy_version_();
  return record;
}

void AuditRecords::stamp(audit::AuditRecord& record) const {
  if (record.time_unix_ms == 0) record.time_unix_ms = now_();
  if (record.policy_version.empty()) record.policy_version = policy_version_();
}

audit::AuditRecord AuditRecords::submit_refused(const std::string& sender, const Message& message, v1::ErrorCode code,
                                                const std::string& text) const {
  auto entry = record("submit_refused", sender);
  entry.message_id = message.id;
  entry.detail = json::Writer()
                     .add("code", v1::ErrorCode_Name(code))
                     .add("text", text)
                     .add("claimed_originator", message.originator)
                     .finish();
  return entry;
}

audit::AuditRecord AuditRecords::submit(const std::string& sender, const Message& message,
                                        const policy::Expansion& expansion, const std::string& derived_from) const {
  auto entry = record("submit", sender);
  entry.message_id = message.id;
  json::Writer detail;
  detail.add("category", message.category)
      .add("purpose", message.purpose)
      .add("title", message.title)
      .add("label", label_text(message.label))
      .add("portions", static_cast<std::int64_t>(message.portions.size()))
      .add("recipients", expansion.recipients)
      .add("unresolved", expansion.unresolved)
      .add("derived_from", derived_from)
      .begin_array("portion_labels");
  for (const auto& portion : message.portions)
    detail.begin_object().add("portion", portion.id).add("label", label_text(portion.label)).end();
  const Handling& handling = message.handling;
  detail.end()
      .begin_object("handling")
      .add("originator_control", handling.originator_control)
      .add("no_onward_sharing", handling.no_onward_sharing)
      .add("not_before_unix_ms", handling.not_before_unix_ms)
      .add("not_before_event", handling.not_before_event)
      .add("not_after_unix_ms", handling.not_after_unix_ms)
      .end();
  entry.detail = detail.finish();
  entry.detail_is_object = true;  // json::Writer's: the store need not check it (every message has one)
  return entry;
}

audit::AuditRecord AuditRecords::labels_translated(const std::string& sender, const Message& message) const {
  auto entry = record("labels_translated", sender);
  entry.message_id = message.id;
  entry.detail = policy::translation_audit_detail(message);
  return entry;
}

audit::AuditRecord AuditRecords::decision(const Message& message, const RecipientDecision& decision,
                                          std::string_view state, std::int64_t at) const {
  auto entry = record("decision", message.originator);
  if (at != 0) entry.time_unix_ms = at;
  entry.recipient = decision.node_id;
  entry.message_id = message.id;
  entry.decision = std::string(to_string(decision.decision));
  entry.rules = decision.rule_ids;
  // The label of each released portion, as the detail names it (none for
  // an id the message does not have).
  const auto label_of = [&](const std::string& id) -> const Label* {
    const auto portion =
        std::find_if(message.portions.begin(), message.portions.end(), [&](const auto& p) { return p.id == id; });
    return portion == message.portions.end() ? nullptr : &portion->label;
  };
  const auto same_labels = [&](const std::vector<std::optional<Label>>& labels) {
    const auto& ids = decision.released_portion_ids;
    if (labels.size() != ids.size()) return false;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const Label* label = label_of(ids[i]);
      if (label == nullptr ? labels[i].has_value() : !(labels[i] && *labels[i] == *label)) return false;
    }
    return true;
  };
  const auto known = std::find_if(details_.begin(), details_.end(), [&](const DecisionDetail& d) {
    return d.state == state && d.category == message.category && d.purpose == message.purpose &&
           same_outcome(d.decision, decision) && same_labels(d.released_labels);
  });
  entry.detail_is_object = true;  // json::Writer's: the store need not check it (every message has some)
  if (known != details_.end()) {
    entry.detail = known->detail;
    return entry;
  }
  json::Writer detail;
  detail.add("category", message.category).add("purpose", message.purpose).begin_array("released");
  std::vector<std::optional<Label>> released_labels;
  released_labels.reserve(decision.released_portion_ids.size());
  for (const auto& id : decision.released_portion_ids) {
    const Label* label = label_of(id);
    released_labels.push_back(label == nullptr ? std::nullopt : std::optional<Label>(*label));
    detail.begin_object().add("portion", id).add("label", label == nullptr ? "" : label_text(*label)).end();
  }
  detail.end().add("released_label", label_text(decision.released_label)).begin_array("withheld");
  for (const auto& w : decision.withheld) {
    detail.begin_object()
        .add("portion", w.portion_id)
        .add("label", label_text(w.label))
        .add("reason", w.reason)
        .add("rules", w.rule_ids)
        .end();
  }
  entry.detail = detail.end()
                     .add("reason", decision.reason)
                     .add("hold_id", decision.hold_id)
                     .add("held_for", decision.held_for)
                     .add("occasional", decision.occasional)
                     .add("state", state)
                     .finish();
  DecisionDetail made{message.category, message.purpose, std::move(released_labels), decision, std::string(state),
                      entry.detail};
  if (details_.size() < kDetails) {
    details_.push_back(std::move(made));
  } else {
    details_[oldest_detail_] = std::move(made);
    oldest_detail_ = (oldest_detail_ + 1) % kDetails;
  }
  return entry;
}

audit::AuditRecord AuditRecords::hold_opened(const std::string& sender, const std::string& message_id,
                                             const std::string& hold_id, std::string_view kind,
                                             const std::string& held_for) const {
  auto entry = record("hold", sender);
  entry.message_id = message_id;
  entry.detail = json::Writer().add("hold_id", hold_id).add("kind", kind).add("held_for", held_for).finish();
  return entry;
}

audit::AuditRecord AuditRecords::review_refused(const std::string& decider, const std::string& hold_id,
                                                v1::ErrorCode code, const std::string& text, bool via_dashboard) const {
  auto entry = record("review", decider);
  entry.detail = json::Writer()
                     .add("hold_id", hold_id)
                     .add("refused", true)
                     .add("code", v1::ErrorCode_Name(code))
                     .add("text", text)
                     .add("via", via_dashboard ? "dashboard" : "node")
                     .finish();
  return entry;
}

audit::AuditRecord AuditRecords::review(const std::string& decider, const std::string& message_id,
                                        const std::string& hold_id, std::string_view kind, const std::string& verdict,
                                        const std::string& comment, bool via_dashboard) const {
  auto entry = record("review", decider);
  entry.message_id = message_id;
  entry.detail = json::Writer()
                     .add("hold_id", hold_id)
                     .add("kind", kind)
                     .add("verdict", verdict)
                     .add("comment", comment)
                     .add("via", via_dashboard ? "dashboard" : "node")
                     .finish();
  return entry;
}

audit::AuditRecord AuditRecords::trigger_refused(const std::string& node, const std::string& event,
                                                 const std::string& text) const {
  auto entry = record("trigger", node);
  entry.detail = json::Writer().add("event", event).add("refused", true).add("text", text).finish();
  return entry;
}

audit::AuditRecord AuditRecords::trigger(const std::string& node, const std::string& event, bool first) const {
  auto entry = record("trigger", node);
  entry.detail = json::Writer().add("event", event).add("first", first).finish();
  return entry;
}

audit::AuditRecord AuditRecords::embargo_lifted(const std::string& originator, const std::string& message_id,
                                                const std::string& hold_id, const std::string& held_for) const {
  auto entry = record("embargo_lifted", originator);
  entry.message_id = message_id;
  entry.detail = json::Writer().add("hold_id", hold_id).add("held_for", held_for).finish();
  return entry;
}

audit::AuditRecord AuditRecords::hold_expired(const std::string& originator, const std::string& message_id,
                                              const std::string& hold_id, const std::string& held_for,
                                              std::int64_t at) const {
  auto entry = record("hold_expired", originator);
  entry.time_unix_ms = at;
  entry.message_id = message_id;
  entry.detail = json::Writer().add("hold_id", hold_id).add("held_for", held_for).finish();
  return entry;
}

audit::AuditRecord AuditRecords::expired(const store::OutboxEntry& entry, const std::string& reason) const {
  auto out = record("expired", entry.originator);
  // The expiry took effect at not_after, whenever the gateway came to record it.
  out.time_unix_ms = entry.not_after_unix_ms;
  out.recipient = entry.node;
  out.message_id = entry.message_id;
  out.decision = "DENY";
  out.detail = json::Writer().add("reason", reason).finish();
  return out;
}

audit::AuditRecord AuditRecords::undeliverable(const store::OutboxEntry& entry, const std::string& reason) const {
  auto out = record("undeliverable", entry.originator.empty() ? entry.node : entry.originator);
  out.recipient = entry.node;
  out.message_id = entry.message_id;
  out.decision = entry.needs_ack ? "DENY" : "";
  out.detail = json::Writer().add("reason", reason).add("seq", entry.seq).finish();
  return out;
}

namespace {

std::vector<std::string> addressee_texts(const std::vector<Addressee>& addressees) {
  std::vector<std::string> texts;
  for (const Addressee& addressee : addressees) texts.push_back(fmt::format("{}:{}", to_string(addressee.kind), addressee.name));
  return texts;
}

std::vector<std::string> portion_ids(const Message& message) {
  std::vector<std::string> ids;
  for (const Portion& portion : message.portions) ids.push_back(portion.id);
  return ids;
}

}  // namespace

audit::AuditRecord AuditRecords::peer_forward(const federation::PeerForward& forward) const {
  auto entry = record("peer_forward", forward.peer);
  entry.message_id = forward.message_id;
  switch (forward.outcome) {
    case federation::HopOutcome::forwarded: entry.decision = std::string(to_string(Decision::release)); break;
    case federation::HopOutcome::forwarded_redacted:
      entry.decision = std::string(to_string(Decision::release_redacted));
      break;
    case federation::HopOutcome::not_sent: entry.decision = std::string(to_string(Decision::deny)); break;
  }
  json::Writer detail;
  detail.add("peer", entry.node)
      .add("origin", forward.origin)
      .add("via", forward.via)
      .add("hop", static_cast<std::int64_t>(forward.hop_count))
      .add("recipients", addressee_texts(forward.addressees))
      .add("forwarded", forward.forwarded)
      .begin_array("withheld");
  for (const federation::HopWithheld& w : forward.withheld) {
    detail.begin_object()
        .add("portion", w.portion_id)
        .add("reason", policy::to_string(w.reason))
        .add("detail", w.detail)
        .end();
  }
  detail.end();
  if (forward.outcome == federation::HopOutcome::not_sent) detail.add("reason", forward.reason);
  entry.detail = detail.finish();
  return entry;
}

audit::AuditRecord AuditRecords::peer_receive(const std::string& from_peer, const ForwardedMessage& frame) const {
  auto entry = record("peer_receive", from_peer);
  entry.message_id = frame.message.id;
  entry.detail = json::Writer()
                     .add("peer", from_peer)
                     .add("origin", frame.route.origin_gateway)
                     .add("via", frame.route.via)
                     .add("hop", static_cast<std::int64_t>(frame.route.hop_count))
                     .add("portions", portion_ids(frame.message))
                     .add("binding", "verified")
                     .finish();
  return entry;
}

audit::AuditRecord AuditRecords::peer_refused(const std::string& from_peer, const ForwardedMessage& frame,
                                              const federation::Refused& refused) const {
  auto entry = record("peer_refused", from_peer);
  entry.message_id = frame.message.id;
  entry.detail = json::Writer()
                     .add("peer", from_peer)
                     .add("origin", frame.route.origin_gateway)
                     .add("via", frame.route.via)
                     .add("hop", static_cast<std::int64_t>(frame.route.hop_count))
                     .add("reason", refused.code())
                     .add("detail", refused.detail)
                     .finish();
  return entry;
}

}  // namespace icegate::server

#include "gateway/server/router.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/model/digest.hpp"
#include "gateway/model/json.hpp"
#include "gateway/policy/translate.hpp"
#include "gateway/server/gateway.hpp"
#include "gateway/server/session.hpp"
#include "gateway/server/shadow.hpp"
#include "gateway/wire/codec.hpp"
#include "gateway/wire/framing.hpp"
#include "icegate/store/v1/store.pb.h"

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

// SHA-256 of a portion body: how re-sent content is recognised.
std::string digest(const std::string& body) {
  const Sha256Digest out = sha256(body);
  return std::string(out.begin(), out.end());
}

// Withholds `portion_ids` (and recomputes the rest) from a decision that was
// going to release them.
void withhold(const policy::CompiledPolicy& policy, const Message& message, RecipientDecision& decision,
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

void settle(RecipientDecision& decision) {
  decision.hold_id.clear();
  decision.held_for.clear();
  if (decision.released_portion_ids.empty()) decision.decision = Decision::deny;
  else decision.decision = decision.withheld.empty() ? Decision::release : Decision::release_redacted;
}

std::string encode_outcome(const RecipientDecision& decision) {
  v1::RecipientOutcome outcome;
  wire::encode(decision, false, outcome);
  return outcome.SerializeAsString();
}

}  // namespace

Router::Router(const GatewayConfig& config, PolicyGetter policy, store::Store& store,
               boost::asio::any_io_executor executor)
    : config_(config), policy_(std::move(policy)), store_(store), executor_(std::move(executor)) {}

Router::~Router() { flush_settled(false); }

std::int64_t Router::now_ms() const { return config_.clock->now_unix_ms(); }

audit::AuditRecord Router::record(std::string kind, std::string node) const {
  audit::AuditRecord record;
  record.time_unix_ms = now_ms();
  record.kind = std::move(kind);
  record.node = std::move(node);
  record.policy_version = policy_()->version();
  return record;
}

// ---- durability -------------------------------------------------------------

void Router::recover() {
  store::Recovered recovered = store_.recover();
  const auto audit_records = recovered.audit_records;
  finish(load(std::move(recovered)));
  std::size_t owed = 0;
  for (const auto& [node, entries] : outbox_) owed += entries.size();
  spdlog::info("store {}: {} message(s) seen, {} frame(s) owed to {} node(s), {} hold(s), {} event(s), {} audit record(s)",
               store_.path().string(), seen_message_ids_.size(), owed, outbox_.size(), holds_.size(),
               triggered_events_.size(), audit_records);
}

Router::Work Router::load(store::Recovered recovered) {
  seen_message_ids_.insert(recovered.message_ids.begin(), recovered.message_ids.end());
  Work refused;
  for (auto& entry : recovered.outbox) {
    if (refuse_oversized(refused, entry, entry.frame.size())) continue;
    auto bytes = std::make_shared<const std::string>(std::move(entry.frame));
    entry.frame.clear();
    add_owed(std::move(entry), std::move(bytes));
  }
  for (const auto& blob : recovered.holds) {
    store::v1::StoredHold stored;
    if (!stored.ParseFromString(blob.value)) {
      spdlog::error("store: hold {} cannot be read; skipped", blob.key);
      continue;
    }
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
    holds_.emplace(hold.id, std::move(hold));
  }
  for (const auto& blob : recovered.controlled) {
    store::v1::StoredControlled stored;
    if (!stored.ParseFromString(blob.value)) continue;
    ControlledContent content{stored.message_id(), stored.originator(), wire::decode(stored.handling()),
                              {stored.recipients().begin(), stored.recipients().end()},
                              {stored.digests().begin(), stored.digests().end()}};
    for (const auto& d : content.digests) controlled_by_content_.emplace(d, content.message_id);
    controlled_.emplace(content.message_id, std::move(content));
  }
  for (const auto& event : recovered.events) triggered_events_.insert(event.name);
  for (const auto& use : recovered.occasional) occasional_uses_[use.node].push_back(use.time_unix_ms);
  return refused;
}

std::size_t Router::owed_count() const {
  std::size_t owed = 0;
  for (const auto& [node, entries] : outbox_) owed += entries.size();
  return owed;
}

std::size_t Router::owed_to_connected() const {
  std::size_t owed = 0;
  for (const auto& [node, entries] : outbox_)
    if (connected(node)) owed += entries.size();
  return owed;
}

void Router::owe(Work& work, const std::string& node, const v1::Frame& frame, bool needs_ack,
                 const std::string& message_id, std::int64_t not_after, const std::string& originator,
                 const RecipientDecision* outcome) {
  store::OutboxEntry entry;
  entry.seq = store_.next_seq();
  entry.node = node;
  entry.message_id = message_id;
  entry.needs_ack = needs_ack;
  entry.not_after_unix_ms = not_after;
  entry.originator = originator;
  if (outcome) entry.outcome = encode_outcome(*outcome);
  entry.frame = wire::encode_frame(frame);
  work.batch.outbox.push_back(std::move(entry));
}

bool Router::connected(const std::string& node) const {
  auto it = sessions_.find(node);
  return it != sessions_.end() && !it->second.expired();
}

void Router::finish(Work work) {
  if (observer_) {
    std::set<std::string_view> told;
    for (const auto& id : work.holds_touched)
      if (auto it = holds_.find(id); it != holds_.end() && told.insert(id).second) observer_->hold_opened(view(it->second));
  }
  // Settlements gathered so far are queued first, so that the store sees
  // every change in the order the router made it.
  flush_settled();
  if (work.batch.empty() && work.immediate.empty()) return;
  // After the commit: say what must be said, then add the owed frames to the
  // outboxes and hand them to whoever is connected, in commit order. The store
  // hands the outbox entries back, so their frames are not copied.
  store_.commit(std::move(work.batch), executor_,
                store::Store::OutboxDone([this, immediate = std::move(work.immediate), askers = std::move(work.askers),
                                          epoch = store_.epoch()](bool ok, std::vector<store::OutboxEntry>& entries) {
                  if (!ok) {
                    commit_failed(epoch, askers);
                    return;
                  }
                  for (auto& [node, bytes] : immediate) {
                    if (auto it = sessions_.find(node); it != sessions_.end())
                      if (auto session = it->second.lock()) session->send({bytes, 0, false});
                  }
                  const std::string* last_woken = nullptr;
                  std::set<std::string_view> woken;
                  Work refused;
                  for (auto& entry : entries) {
                    // Sized at submit time; this guards every other frame owed.
                    if (refuse_oversized(refused, entry, entry.frame.size())) continue;
                    auto bytes = std::make_shared<const std::string>(std::move(entry.frame));
                    entry.frame.clear();
                    const std::string& node = add_owed(std::move(entry), std::move(bytes));
                    if (last_woken == &node) continue;
                    last_woken = &node;
                    if (woken.insert(node).second)
                      if (auto it = sessions_.find(node); it != sessions_.end())
                        if (auto session = it->second.lock()) session->owed_frames_waiting();
                  }
                  finish(std::move(refused));
                }));
}

void Router::flush_settled(bool told) {
  if (settled_.acked.empty() && settled_.sent.empty()) return;
  std::function<void(bool)> done;
  if (told)
    done = [this, epoch = store_.epoch()](bool ok) {
      if (!ok) commit_failed(epoch, {});
    };
  store_.commit(std::exchange(settled_, store::Batch{}), executor_, std::move(done));
}

// Fail-stop. Before its commit an operation has already changed the router's
// memory: the message ids it accepted (so a resend would be a DUPLICATE),
// holds opened, decided or given recipients, events triggered, occasional
// accesses used, content under originator control, owed frames settled as
// expired, and the audit chain's head (the store reloads that itself). Later
// operations, queued behind it, were decided on top of those changes. Rather
// than undo each change of each operation in the right order (and keep the
// undo in step with every change made to the router later), the store refuses
// everything queued behind the failure, and the router forgets its in-memory
// state and reads it back from the store, which after the rollback holds
// exactly what was committed. The askers of every refused operation are told
// it was not stored, so they may send it again; their frames were never sent
// (outbox entries reach the outboxes only after their commit). Settlements
// (Acks, written frames) lost with a failed commit only mean a frame is sent
// again after a reconnection, which nodes drop as a repeat.
std::string Router::Asker::what() const {
  switch (kind) {
    case Kind::submit: return fmt::format("message {}", id);
    case Kind::hold_decision: return fmt::format("the decision on hold {}", id);
    case Kind::trigger: return fmt::format("the trigger of event {}", id);
  }
  return id;
}

void Router::commit_failed(std::uint64_t epoch, const std::vector<Asker>& askers) {
  const std::string reason = store_.health().reason;
  for (const auto& asker : askers) {
    const std::string what = asker.what();
    const std::string text = fmt::format(
        "{} was not stored: the gateway's store failed ({}); it was not accepted and nothing of it was sent: send "
        "it again later",
        what, reason);
    spdlog::error("not stored, so not acknowledged: {} from {}: {}", what, asker.node, reason);
    const bool submit = asker.kind == Asker::Kind::submit;
    if (submit && metrics_.messages_submitted > 0) --metrics_.messages_submitted;  // counted as accepted
    auto it = sessions_.find(asker.node);
    auto session = it == sessions_.end() ? nullptr : it->second.lock();
    if (!session) continue;  // the node resends what it was never acknowledged when it reconnects
    session->send_error(v1::ERROR_CODE_INTERNAL, text, false, asker.id);
    if (submit) {
      v1::Frame ack;
      ack.mutable_ack()->set_message_id(asker.id);
      ack.mutable_ack()->set_ok(false);
      session->send(frame_bytes(ack));
    }
  }
  if (epoch != store_.epoch()) return;  // refused behind a failure already read back
  Work refused = reload();
  store_.resume();
  // What was waiting to settle when the state was read back still settles.
  for (const auto& [node, message_id] : settled_.acked) {
    auto waiting = awaiting_ack_.find(node);
    if (waiting == awaiting_ack_.end()) continue;
    auto it = waiting->second.find(message_id);
    if (it == waiting->second.end()) continue;
    if (auto owed = outbox_.find(node); owed != outbox_.end()) owed->second.erase(it->second);
    waiting->second.erase(it);
  }
  for (const auto seq : settled_.sent)
    for (auto& [node, entries] : outbox_) entries.erase(seq);
  finish(std::move(refused));
}

Router::Work Router::reload() {
  std::map<std::string, std::string, std::less<>> held_before;  // hold id -> message id
  for (const auto& [id, hold] : holds_) held_before.emplace(id, hold.message.id);
  seen_message_ids_.clear();
  outbox_.clear();
  awaiting_ack_.clear();
  expiring_.clear();
  holds_.clear();
  controlled_.clear();
  controlled_by_content_.clear();
  triggered_events_.clear();
  occasional_uses_.clear();
  Work refused = load(store_.recover());
  for (const auto& [id, hold] : holds_) closed_holds_.erase(id);
  spdlog::warn("store: read back after a failed commit: {} message(s) seen, {} frame(s) owed, {} hold(s)",
                seen_message_ids_.size(), owed_count(), holds_.size());
  if (!observer_) return refused;
  // The watcher saw the refused operations' holds open and close: it hears what stands now.
  for (const auto& [id, message_id] : held_before)
    if (!holds_.contains(id)) observer_->hold_closed(id, message_id, "withdrawn", "a failed commit (not stored)");
  for (const auto& [id, hold] : holds_)
    if (!held_before.contains(id)) observer_->hold_opened(view(hold));
  return refused;
}

// Acknowledgements and written frames only delete outbox rows: they are
// gathered, and queued as one batch before the next operation's or once the
// frames read in this turn of the io loop have been handled. (A crash before
// that commit redelivers a frame, which nodes drop as a repeat, as they do
// for a crash between the write and its commit.)
void Router::settle_later() {
  if (settle_posted_) return;
  settle_posted_ = true;
  boost::asio::post(executor_, [this] {
    settle_posted_ = false;
    flush_settled();
  });
}

const std::string& Router::add_owed(store::OutboxEntry entry, FrameBytes bytes) {
  if (entry.needs_ack) awaiting_ack_[entry.node][entry.message_id] = entry.seq;
  if (entry.not_after_unix_ms != 0) expiring_.emplace(entry.not_after_unix_ms, std::make_pair(entry.node, entry.seq));
  auto owed = outbox_.find(entry.node);
  if (owed == outbox_.end()) owed = outbox_.emplace(entry.node, std::map<std::int64_t, Owed>{}).first;
  const auto seq = entry.seq;
  owed->second.emplace_hint(owed->second.end(), seq, Owed{std::move(entry), std::move(bytes)});
  return owed->first;
}

const store::OutboxEntry* Router::owed_after(const std::string& node, std::int64_t seq, FrameBytes& bytes) const {
  auto owed = outbox_.find(node);
  if (owed == outbox_.end()) return nullptr;
  auto next = owed->second.upper_bound(seq);
  if (next == owed->second.end()) return nullptr;
  bytes = next->second.bytes;
  return &next->second.entry;
}

void Router::after_commits(std::function<void()> then) {
  flush_settled();  // settlements still gathering go first
  store_.commit({}, executor_, [then = std::move(then)](bool) { then(); });
}

void Router::audit(audit::AuditRecord record) {
  Work work;
  if (record.time_unix_ms == 0) record.time_unix_ms = now_ms();
  if (record.policy_version.empty()) record.policy_version = policy_()->version();
  work.batch.audit.push_back(std::move(record));
  finish(std::move(work));
}

// ---- sessions ---------------------------------------------------------------

std::shared_ptr<Session> Router::attach(const std::string& node_id, const std::shared_ptr<Session>& session) {
  std::shared_ptr<Session> previous;
  auto [it, inserted] = sessions_.try_emplace(node_id, session);
  if (!inserted) {
    previous = it->second.lock();
    it->second = session;
  }
  // What expired while the node was away is not delivered, and its
  // originator is told; the rest the session pulls, in order. (tick() does
  // the same as each expiry passes; this catches what passed while the
  // gateway was down.)
  auto owed = outbox_.find(node_id);
  if (owed == outbox_.end()) return previous;
  Work work;
  const auto now = now_ms();
  for (auto it = owed->second.begin(); it != owed->second.end();) {
    const store::OutboxEntry& entry = it->second.entry;
    if (entry.not_after_unix_ms == 0 || now <= entry.not_after_unix_ms) {
      ++it;
      continue;
    }
    expire_queued(work, entry);
    it = owed->second.erase(it);
  }
  if (!owed->second.empty()) spdlog::info("node={} is owed {} frame(s)", node_id, owed->second.size());
  finish(std::move(work));
  return previous;
}

void Router::expire_queued(Work& work, const store::OutboxEntry& entry) {
  const std::string& node_id = entry.node;
  const RecipientDecision expired = denied(
      entry, fmt::format("expired at {} before {} connected", format_utc(entry.not_after_unix_ms), node_id));
  spdlog::info("expired message={} to={} while queued", short_id(entry.message_id), node_id);
  send_follow_up(work, entry.originator, entry.message_id, {{expired, false}});
  auto record = this->record("expired", entry.originator);
  // The expiry took effect at not_after, whenever the gateway came to record it.
  record.time_unix_ms = entry.not_after_unix_ms;
  record.recipient = node_id;
  record.message_id = entry.message_id;
  record.decision = "DENY";
  record.detail = json::Object().add("reason", expired.reason).str();
  work.batch.audit.push_back(std::move(record));
  if (observer_) observer_->decision(entry.message_id, expired, "expired");
  work.batch.sent.push_back(entry.seq);
  if (auto waiting = awaiting_ack_.find(node_id); waiting != awaiting_ack_.end())
    waiting->second.erase(entry.message_id);
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

bool Router::acknowledged(const std::string& node, const std::string& message_id) {
  auto waiting = awaiting_ack_.find(node);
  if (waiting == awaiting_ack_.end()) return false;
  auto it = waiting->second.find(message_id);
  if (it == waiting->second.end()) return false;  // a repeated Ack, or for something never owed here
  if (auto owed = outbox_.find(node); owed != outbox_.end()) owed->second.erase(it->second);
  waiting->second.erase(it);
  settled_.acked.emplace_back(node, message_id);
  settle_later();
  return true;
}

void Router::written(const std::string& node, std::int64_t seq) {
  auto owed = outbox_.find(node);
  if (owed == outbox_.end()) return;
  auto it = owed->second.find(seq);
  if (it == owed->second.end() || it->second.entry.needs_ack) return;
  owed->second.erase(it);
  settled_.sent.push_back(seq);
  settle_later();
}

// ---- decisions --------------------------------------------------------------

bool Router::occasional_available(const policy::CompiledPolicy& policy, const std::string& node_id) {
  const auto& allowance = policy.source().occasional;
  if (allowance.releases <= 0) return false;
  auto& uses = occasional_uses_[node_id];
  const auto cutoff = now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(allowance.window).count();
  while (!uses.empty() && uses.front() < cutoff) uses.pop_front();
  return uses.size() < static_cast<std::size_t>(allowance.releases);
}

Router::Decided Router::decide(const policy::CompiledPolicy& policy, const Message& message,
                               const std::string& recipient) {
  std::vector<Label> labels;
  labels.reserve(message.portions.size());
  for (const auto& portion : message.portions) labels.push_back(portion.label);
  const policy::DecisionRequest request{message.originator, recipient, message.category, message.purpose, labels,
                                        occasional_available(policy, recipient)};
  const policy::PolicyDecision decision = policy.decide(request);

  Decided result;
  RecipientDecision& out = result.decision;
  out.node_id = recipient;
  out.decision = decision.decision;
  out.reason = decision.reason;
  out.occasional = decision.used_occasional;
  std::vector<Label> released;
  for (std::size_t i = 0; i < message.portions.size(); ++i) {
    const auto& portion = message.portions[i];
    const auto& outcome = decision.portions.at(i);
    if (outcome.released) {
      out.released_portion_ids.push_back(portion.id);
      released.push_back(portion.label);
    } else {
      WithheldPortion withheld{portion.id, portion.label,
                               outcome.detail.empty() ? std::string(policy::to_string(outcome.reason)) : outcome.detail,
                               {}};
      if (outcome.rule >= 0) withheld.rule_ids.push_back(policy.rule(outcome.rule).id);
      out.withheld.push_back(std::move(withheld));
    }
  }
  if (!released.empty()) out.released_label = policy.least_upper_bound(released);
  for (int rule : decision.rules) out.rule_ids.push_back(policy.rule(rule).id);
  result.review_roles = decision.review_roles;
  result.originator_control = decision.originator_control;
  result.no_onward_sharing = decision.no_onward_sharing;
  return result;
}

void Router::note_occasional(Work& work, const Message& message, const std::string& recipient,
                             const std::string& reason) {
  // Recorded with its reason: the allowance is enforced from these records.
  const auto now = now_ms();
  occasional_uses_[recipient].push_back(now);
  work.batch.occasional.push_back({recipient, now});
  spdlog::info("occasional access granted node={} message={}: {}", recipient, message.id, reason);
}

// Room left in a frame for what a later step adds to an owed frame's text: an
// embargo lifting or a review verdict rewrites the reason of a Deliver, a
// hold fills in its id, what it waits for and why in the Receipt.
constexpr std::size_t later_text_headroom = 2048;

std::string Router::oversized(const Message& message, const policy::Expansion& expansion,
                              const std::vector<Decided>& decided,
                              std::vector<std::optional<v1::Frame>>& delivers) const {
  const std::size_t limit = config_.max_frame_bytes;
  const std::string policy_version = policy_()->version();
  v1::Frame receipt;
  receipt.mutable_receipt()->set_message_id(message.id);
  receipt.mutable_receipt()->set_policy_version(policy_version);
  for (const auto& name : expansion.unresolved) receipt.mutable_receipt()->add_unresolved_addressees(name);
  std::size_t receipt_headroom = 0;
  delivers.assign(decided.size(), std::nullopt);
  for (std::size_t i = 0; i < decided.size(); ++i) {
    const RecipientDecision& decision = decided[i].decision;
    wire::encode(decision, false, *receipt.mutable_receipt()->add_outcomes());
    if (decision.decision == Decision::deny) continue;
    receipt_headroom += later_text_headroom;
    v1::Frame deliver = deliver_frame(message, decision);
    const std::size_t size = deliver.ByteSizeLong();
    // Released at once: sent as built. Otherwise (held for review, or under
    // an embargo that has not lifted) rebuilt when it is released, with a
    // longer reason.
    const bool at_once = (decision.decision == Decision::release || decision.decision == Decision::release_redacted) &&
                         embargo_lifted(message.handling);
    if (size + (at_once ? 0 : later_text_headroom) > limit)
      return fmt::format("the Deliver to {} would be {} bytes{}, over the frame limit of {} bytes that a node "
                         "accepts: send less",
                         decision.node_id, size + (at_once ? 0 : later_text_headroom),
                         at_once ? "" : fmt::format(" (with {} for the text its release adds)", later_text_headroom),
                         limit);
    delivers[i] = std::move(deliver);
  }
  const std::size_t receipt_size = receipt.ByteSizeLong() + receipt_headroom;
  if (receipt_size > limit)
    return fmt::format("the Receipt for this message would be about {} bytes ({} recipients, {} portions), over the "
                       "frame limit of {} bytes: send it to fewer recipients or in fewer portions",
                       receipt_size, decided.size(), message.portions.size(), limit);
  return {};
}

v1::Frame Router::deliver_frame(const Message& message, const RecipientDecision& decision) const {
  v1::Frame frame;
  auto* body = frame.mutable_deliver();
  wire::encode(releasable_version(message, decision), *body->mutable_message());
  body->set_decision(wire::encode(decision.decision));
  for (const auto& withheld : decision.withheld) wire::encode(withheld, *body->add_withheld());
  for (const auto& rule : decision.rule_ids) body->add_rule_ids(rule);
  body->set_reason(decision.reason);
  body->set_policy_version(policy_()->version());
  return frame;
}

bool Router::refuse_oversized(Work& work, const store::OutboxEntry& entry, std::size_t frame_bytes) {
  if (frame_bytes <= config_.max_frame_bytes + wire::frame_header_bytes) return false;
  const std::string reason =
      fmt::format("not delivered: the frame would be {} bytes, over the frame limit of {} bytes",
                  frame_bytes - wire::frame_header_bytes, config_.max_frame_bytes);
  spdlog::error("outbox seq={} to={} message={}: {}", entry.seq, entry.node, short_id(entry.message_id), reason);
  work.batch.sent.push_back(entry.seq);
  auto record = this->record("undeliverable", entry.originator.empty() ? entry.node : entry.originator);
  record.recipient = entry.node;
  record.message_id = entry.message_id;
  record.decision = entry.needs_ack ? "DENY" : "";
  record.detail = json::Object().add("reason", reason).add("seq", entry.seq).str();
  work.batch.audit.push_back(std::move(record));
  if (entry.needs_ack && !entry.originator.empty()) {
    // The originator hears that this recipient will not get it.
    const RecipientDecision outcome = denied(entry, reason);
    send_follow_up(work, entry.originator, entry.message_id, {{outcome, false}});
    if (observer_) observer_->decision(entry.message_id, outcome, "undeliverable");
  }
  return true;
}

void Router::record_decision(Work& work, const Message& message, const RecipientDecision& decision,
                             std::string_view state, std::int64_t at) {
  std::vector<std::string> withheld_text;
  std::string released_json = "[", withheld_json = "[";
  for (const auto& id : decision.released_portion_ids) {
    const auto portion = std::find_if(message.portions.begin(), message.portions.end(), [&](const auto& p) { return p.id == id; });
    if (released_json.size() > 1) released_json += ",";
    released_json += json::Object()
                         .add("portion", id)
                         .add("label", portion == message.portions.end() ? "" : label_text(portion->label))
                         .str();
  }
  for (const auto& w : decision.withheld) {
    withheld_text.push_back(fmt::format("{} ({}): {}", w.portion_id, to_string(w.label), w.reason));
    if (withheld_json.size() > 1) withheld_json += ",";
    withheld_json += json::Object()
                         .add("portion", w.portion_id)
                         .add("label", label_text(w.label))
                         .add("reason", w.reason)
                         .add("rules", w.rule_ids)
                         .str();
  }
  released_json += "]";
  withheld_json += "]";
  spdlog::info("decision message={} from={} to={} {} rules=[{}] released=[{}] withheld=[{}]{}{} {}",
               short_id(message.id), message.originator, decision.node_id, to_string(decision.decision),
               fmt::join(decision.rule_ids, ","), fmt::join(decision.released_portion_ids, ","),
               fmt::join(withheld_text, "; "), decision.held_for.empty() ? "" : " held_for=", decision.held_for, state);
  auto entry = record("decision", message.originator);
  if (at != 0) entry.time_unix_ms = at;
  entry.recipient = decision.node_id;
  entry.message_id = message.id;
  entry.decision = std::string(to_string(decision.decision));
  entry.rules = decision.rule_ids;
  entry.detail = json::Object()
                     .add("category", message.category)
                     .add("purpose", message.purpose)
                     .add_raw("released", released_json)
                     .add("released_label", label_text(decision.released_label))
                     .add_raw("withheld", withheld_json)
                     .add("reason", decision.reason)
                     .add("hold_id", decision.hold_id)
                     .add("held_for", decision.held_for)
                     .add("occasional", decision.occasional)
                     .add("state", state)
                     .str();
  work.batch.audit.push_back(std::move(entry));
  if (observer_) observer_->decision(message.id, decision, state);
}

bool Router::embargo_lifted(const Handling& handling) const {
  if (handling.not_before_unix_ms != 0 && now_ms() < handling.not_before_unix_ms) return false;
  if (!handling.not_before_event.empty() && !triggered_events_.contains(handling.not_before_event)) return false;
  return true;
}

Router::Delivered Router::deliver_version(Work& work, const Message& message, RecipientDecision decision,
                                         std::optional<v1::Frame>* prepared) {
  if (message.handling.not_after_unix_ms != 0 && now_ms() > message.handling.not_after_unix_ms) {
    decision.decision = Decision::deny;
    decision.reason = fmt::format("expired at {}", format_utc(message.handling.not_after_unix_ms));
    record_decision(work, message, decision, "expired", message.handling.not_after_unix_ms);
    return {std::move(decision), false};
  }
  const v1::Frame frame = prepared && *prepared ? std::move(**prepared) : deliver_frame(message, decision);
  owe(work, decision.node_id, frame, true, message.id, message.handling.not_after_unix_ms, message.originator, &decision);
  // "Delivered" means handed to a live connection once committed; otherwise queued.
  const bool delivered = connected(decision.node_id);
  record_decision(work, message, decision, delivered ? "delivered" : "queued (offline)");
  return {std::move(decision), delivered};
}

Router::Hold& Router::open_hold(Work& work, HoldKind kind, const Message& message, std::string held_for,
                               std::string reason) {
  Hold hold;
  hold.id = make_uuid();
  hold.kind = kind;
  hold.message = message;
  hold.held_for = std::move(held_for);
  hold.reason = std::move(reason);
  work.holds_touched.push_back(hold.id);
  return holds_.emplace(hold.id, std::move(hold)).first->second;
}

bool Router::may_decide(const policy::CompiledPolicy& policy, const Hold& hold, std::string_view node) const {
  switch (hold.kind) {
    case HoldKind::consent: return node == hold.consent_node;
    case HoldKind::review:
      return std::any_of(hold.reviewer_roles.begin(), hold.reviewer_roles.end(),
                         [&](const auto& role) { return policy.holds_role(node, role); });
    case HoldKind::embargo: return false;
  }
  return false;
}

HoldView Router::view(const Hold& hold) const {
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
    // Exactly the nodes review() accepts, in policy order.
    const auto policy = policy_();
    for (const auto& node : policy->source().nodes)
      if (may_decide(*policy, hold, node.id)) view.reviewers.push_back(node.id);
  }
  return view;
}

std::vector<HoldView> Router::holds() const {
  std::vector<HoldView> views;
  views.reserve(holds_.size());
  for (const auto& [id, hold] : holds_) views.push_back(view(hold));
  return views;
}

void Router::persist(Work& work, const Hold& hold) {
  store::v1::StoredHold stored;
  stored.set_id(hold.id);
  stored.set_kind(static_cast<int>(hold.kind));
  wire::encode(hold.message, *stored.mutable_message());
  for (const auto& recipient : hold.recipients) wire::encode(recipient, false, *stored.add_recipients());
  for (const auto& role : hold.reviewer_roles) stored.add_reviewer_roles(role);
  stored.set_consent_node(hold.consent_node);
  stored.set_held_for(hold.held_for);
  stored.set_reason(hold.reason);
  // Replaces any earlier version of the same hold in this batch.
  auto& puts = work.batch.holds_put;
  puts.erase(std::remove_if(puts.begin(), puts.end(), [&](const auto& p) { return p.key == hold.id; }), puts.end());
  puts.push_back({hold.id, stored.SerializeAsString()});
}

Router::Delivered Router::release(Work& work, const Message& message, RecipientDecision decision,
                                 std::optional<v1::Frame>* prepared) {
  if (embargo_lifted(message.handling)) return deliver_version(work, message, std::move(decision), prepared);
  // One embargo hold per message gathers every recipient it applies to.
  Hold* hold = nullptr;
  for (auto& [id, existing] : holds_)
    if (existing.kind == HoldKind::embargo && existing.message.id == message.id) hold = &existing;
  if (!hold) {
    const auto& h = message.handling;
    std::string held_for = h.not_before_event.empty() ? fmt::format("time:{}", format_utc(h.not_before_unix_ms))
                                                      : fmt::format("event:{}", h.not_before_event);
    if (!h.not_before_event.empty() && h.not_before_unix_ms != 0)
      held_for += fmt::format(" and time:{}", format_utc(h.not_before_unix_ms));
    hold = &open_hold(work, HoldKind::embargo, message, held_for, "embargoed by the originator");
  } else {
    work.holds_touched.push_back(hold->id);
  }
  hold->recipients.push_back(decision);
  persist(work, *hold);
  RecipientDecision held = std::move(decision);
  held.decision = Decision::hold;
  held.hold_id = hold->id;
  held.held_for = hold->held_for;
  held.reason = fmt::format("embargoed until {}", hold->held_for);
  record_decision(work, message, held, "embargoed");
  return {std::move(held), false};
}

void Router::request_review(Work& work, const Hold& hold, const std::string& reviewer) {
  const auto policy = policy_();
  v1::Frame frame;
  auto* request = frame.mutable_review_request();
  request->set_hold_id(hold.id);
  request->set_kind(hold.kind == HoldKind::consent ? v1::HOLD_KIND_ORIGINATOR_CONSENT : v1::HOLD_KIND_REVIEW);
  request->set_reason(hold.reason);
  std::set<std::string> rules;
  std::vector<std::string> released;
  for (const auto& recipient : hold.recipients) {
    request->add_recipients(recipient.node_id);
    rules.insert(recipient.rule_ids.begin(), recipient.rule_ids.end());
    for (const auto& id : recipient.released_portion_ids)
      if (!contains(released, id)) released.push_back(id);
  }
  for (const auto& rule : rules) request->add_rule_ids(rule);
  // The reviewer sees what would be released, as far as its own clearance allows.
  RecipientDecision view;
  view.node_id = reviewer;
  std::vector<Label> shown;
  for (const auto& portion : hold.message.portions) {
    if (!contains(released, portion.id)) continue;
    if (hold.kind == HoldKind::consent || policy->cleared_for(reviewer, portion.label)) {
      view.released_portion_ids.push_back(portion.id);
      shown.push_back(portion.label);
    } else {
      wire::encode(WithheldPortion{portion.id, portion.label, "above the reviewer's own clearance", {}},
                   *request->add_not_shown());
    }
  }
  if (!shown.empty()) view.released_label = policy->least_upper_bound(shown);
  wire::encode(releasable_version(hold.message, view), *request->mutable_message());
  spdlog::info("review requested hold={} message={} from={} kind={} held_for={} recipients={}", short_id(hold.id),
               short_id(hold.message.id), reviewer, hold.kind == HoldKind::consent ? "consent" : "review",
               hold.held_for, hold.recipients.size());
  owe(work, reviewer, frame, false, hold.message.id);
}

void Router::send_follow_up(Work& work, const std::string& originator, const std::string& message_id,
                            const std::vector<Delivered>& outcomes) {
  if (outcomes.empty()) return;
  v1::Frame frame;
  auto* receipt = frame.mutable_receipt();
  receipt->set_message_id(message_id);
  receipt->set_policy_version(policy_()->version());
  receipt->set_follow_up(true);
  for (const auto& outcome : outcomes) wire::encode(outcome.decision, outcome.delivered, *receipt->add_outcomes());
  owe(work, originator, frame, false, message_id);
}

RecipientDecision Router::denied(const store::OutboxEntry& entry, std::string reason) const {
  RecipientDecision decision;
  v1::RecipientOutcome stored;
  if (stored.ParseFromString(entry.outcome)) decision = wire::decode(stored);
  decision.node_id = entry.node;
  decision.decision = Decision::deny;
  decision.reason = std::move(reason);
  return decision;
}

const Router::ControlledContent* Router::controlled_source(const Message& message) const {
  if (!message.derived_from.empty())
    if (auto it = controlled_.find(message.derived_from); it != controlled_.end()) return &it->second;
  for (const auto& portion : message.portions)
    if (auto it = controlled_by_content_.find(digest(portion.body)); it != controlled_by_content_.end())
      return &controlled_.at(it->second);
  return nullptr;
}

void Router::remember_controlled(Work& work, const Message& message, const Handling& handling,
                                 const std::vector<std::string>& recipients) {
  ControlledContent content{message.id, message.originator, handling, {recipients.begin(), recipients.end()}, {}};
  for (const auto& portion : message.portions) {
    content.digests.push_back(digest(portion.body));
    controlled_by_content_.emplace(content.digests.back(), message.id);
  }
  store::v1::StoredControlled stored;
  stored.set_message_id(message.id);
  stored.set_originator(message.originator);
  wire::encode(handling, *stored.mutable_handling());
  for (const auto& r : recipients) stored.add_recipients(r);
  for (const auto& d : content.digests) stored.add_digests(d);
  work.batch.controlled_put.push_back({message.id, stored.SerializeAsString()});
  controlled_.emplace(message.id, std::move(content));
}

// ---- operations -------------------------------------------------------------

SubmitResult Router::submit(const std::string& sender, Message message) {
  const auto policy = policy_();
  auto refuse = [&](v1::ErrorCode code, std::string text) {
    spdlog::warn("refused message={} from={}: {}", message.id, sender, text);
    auto entry = record("submit_refused", sender);
    entry.message_id = message.id;
    entry.detail = json::Object()
                       .add("code", v1::ErrorCode_Name(code))
                       .add("text", text)
                       .add("claimed_originator", message.originator)
                       .str();
    audit(std::move(entry));
    ++metrics_.messages_refused;
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
  if (!message.handling.not_before_event.empty() && !policy->has_event(message.handling.not_before_event))
    return refuse(v1::ERROR_CODE_INVALID_MESSAGE,
                  fmt::format("embargo event '{}' is not defined by policy {}", message.handling.not_before_event,
                              source.name));
  // Labels under another scheme the policy accepts are translated (originals
  // kept beside them) before anything is checked or decided.
  if (auto refusal = policy::translate_submitted_labels(*policy, message))
    return refuse(v1::ERROR_CODE_INVALID_LABEL, std::move(*refusal));
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
  // Re-sending someone else's controlled content: forbidden outright, or
  // beyond its first recipients only with the originator's consent.
  const ControlledContent* source_content = controlled_source(message);
  if (source_content && source_content->originator == sender) source_content = nullptr;
  if (source_content && source_content->handling.no_onward_sharing)
    return refuse(v1::ERROR_CODE_ONWARD_SHARING_FORBIDDEN,
                  fmt::format("message {} from {} may not be shared onward; this message re-sends its content",
                              source_content->message_id, source_content->originator));
  // Every decision is made before anything changes, so that a Submit whose
  // frames would not fit is refused whole, as if never sent.
  const policy::Expansion expansion = policy->expand(message.addressees, sender);
  std::vector<Decided> decided;
  decided.reserve(expansion.recipients.size());
  for (const auto& recipient : expansion.recipients) {
    const auto started = std::chrono::steady_clock::now();
    decided.push_back(decide(*policy, message, recipient));
    metrics_.decision_latency.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  std::vector<std::optional<v1::Frame>> delivers;
  if (auto problem = oversized(message, expansion, decided, delivers); !problem.empty())
    return refuse(v1::ERROR_CODE_INVALID_MESSAGE, std::move(problem));

  seen_message_ids_.insert(message.id);
  ++metrics_.messages_submitted;
  if (observer_)
    observer_->submission(message, *policy, source_content ? std::string_view(source_content->message_id)
                                                           : std::string_view(message.derived_from));

  Work work;
  work.batch.messages.push_back({message.id, sender, now_ms()});
  spdlog::info("submit message={} from={} category={} purpose={} label=\"{}\" portions={} recipients={}{}", message.id,
               sender, message.category, message.purpose, policy->display_marking(message.label),
               message.portions.size(), expansion.recipients.size(),
               source_content ? fmt::format(" derived_from={}", source_content->message_id) : "");
  {
    auto entry = record("submit", sender);
    entry.message_id = message.id;
    // Each portion's label (never its content) and the handling: with the
    // sender, category, purpose and recipients, enough for `icegate policy
    // replay` to decide the submission again under another policy.
    std::string portion_labels = "[";
    for (const auto& portion : message.portions)
      portion_labels += (portion_labels.size() > 1 ? "," : "") +
                        json::Object().add("portion", portion.id).add("label", label_text(portion.label)).str();
    portion_labels += "]";
    const Handling& handling = message.handling;
    entry.detail = json::Object()
                       .add("category", message.category)
                       .add("purpose", message.purpose)
                       .add("title", message.title)
                       .add("label", label_text(message.label))
                       .add("portions", static_cast<std::int64_t>(message.portions.size()))
                       .add("recipients", expansion.recipients)
                       .add("unresolved", expansion.unresolved)
                       .add("derived_from", source_content ? source_content->message_id : message.derived_from)
                       .add_raw("portion_labels", portion_labels)
                       .add_raw("handling", json::Object()
                                                .add("originator_control", handling.originator_control)
                                                .add("no_onward_sharing", handling.no_onward_sharing)
                                                .add("not_before_unix_ms", handling.not_before_unix_ms)
                                                .add("not_before_event", handling.not_before_event)
                                                .add("not_after_unix_ms", handling.not_after_unix_ms)
                                                .str())
                       .str();
    work.batch.audit.push_back(std::move(entry));
  }
  if (!message.original_scheme.empty()) {
    auto entry = record("labels_translated", sender);
    entry.message_id = message.id;
    entry.detail = policy::translation_audit_detail(message);
    work.batch.audit.push_back(std::move(entry));
  }
  if (shadow_) {  // decided again under the shadow policy: recorded, never enforced
    std::vector<const RecipientDecision*> enforced;
    for (const auto& made : decided) enforced.push_back(&made.decision);
    shadow_->compare(message, enforced, record("shadow_difference", sender), work.batch.audit, observer_);
  }

  // The Ack is not stored: it goes out once the commit makes the message durable.
  v1::Frame ack;
  ack.mutable_ack()->set_message_id(message.id);
  ack.mutable_ack()->set_ok(true);
  work.immediate.emplace_back(sender, frame_bytes(ack));
  work.askers.push_back({sender, message.id, Asker::Kind::submit});

  v1::Frame receipt_frame;
  auto* receipt = receipt_frame.mutable_receipt();
  receipt->set_message_id(message.id);
  receipt->set_policy_version(policy->version());
  for (const auto& name : expansion.unresolved) receipt->add_unresolved_addressees(name);

  Handling effective = message.handling;
  std::map<std::vector<std::string>, Hold*> review_holds;  // by reviewer roles
  Hold* consent_hold = nullptr;
  auto counted = [this](Decision decision) { ++metrics_.decisions.at(static_cast<std::size_t>(decision)); };
  for (std::size_t i = 0; i < decided.size(); ++i) {
    const Decided& made = decided[i];
    RecipientDecision decision = made.decision;
    if (decision.occasional) note_occasional(work, message, decision.node_id, decision.reason);
    const bool releasing = decision.decision != Decision::deny;
    if (releasing) {
      effective.originator_control |= made.originator_control;
      effective.no_onward_sharing |= made.no_onward_sharing;
    }
    if (decision.decision == Decision::hold) {
      Hold*& hold = review_holds[made.review_roles];
      if (!hold) {
        std::vector<std::string> roles;
        for (const auto& role : made.review_roles) roles.push_back("role:" + role);
        hold = &open_hold(work, HoldKind::review, message, fmt::format("{}", fmt::join(roles, " or ")),
                          decision.reason);
        hold->reviewer_roles = made.review_roles;
      }
      hold->recipients.push_back(decision);
      decision.hold_id = hold->id;
      decision.held_for = hold->held_for;
      record_decision(work, message, decision, "held for review");
      counted(Decision::hold);
      wire::encode(decision, false, *receipt->add_outcomes());
    } else if (releasing && source_content && source_content->handling.originator_control &&
               !source_content->recipients.contains(decision.node_id)) {
      if (!consent_hold) {
        consent_hold = &open_hold(work, HoldKind::consent, message,
                                  fmt::format("node:{} (originator consent)", source_content->originator),
                                  fmt::format("re-sends {} from {} beyond its first recipients; originator control",
                                              short_id(source_content->message_id), source_content->originator));
        consent_hold->consent_node = source_content->originator;
      }
      consent_hold->recipients.push_back(decision);
      decision.decision = Decision::hold;
      decision.hold_id = consent_hold->id;
      decision.held_for = consent_hold->held_for;
      decision.reason = consent_hold->reason;
      record_decision(work, message, decision, "held for originator consent");
      counted(Decision::hold);
      wire::encode(decision, false, *receipt->add_outcomes());
    } else if (releasing) {
      const Delivered outcome = release(work, message, std::move(decision), &delivers[i]);
      counted(outcome.decision.decision);
      wire::encode(outcome.decision, outcome.delivered, *receipt->add_outcomes());
    } else {
      record_decision(work, message, decision, "");
      counted(Decision::deny);
      wire::encode(decision, false, *receipt->add_outcomes());
    }
  }
  for (const auto& name : expansion.unresolved)
    spdlog::info("decision message={} from={} addressee {} resolves to no node", short_id(message.id), sender, name);
  if (effective.originator_control || effective.no_onward_sharing)
    remember_controlled(work, message, effective, expansion.recipients);
  owe(work, sender, receipt_frame, false, message.id);

  // Ask for the reviews after the Receipt, so the originator hears of the hold first.
  for (const auto& [roles, hold] : review_holds) {
    persist(work, *hold);
    auto entry = record("hold", sender);
    entry.message_id = message.id;
    entry.detail = json::Object().add("hold_id", hold->id).add("kind", "review").add("held_for", hold->held_for).str();
    work.batch.audit.push_back(std::move(entry));
    std::set<std::string> reviewers;
    for (const auto& role : roles)
      for (const auto& node : policy->nodes_with_role(role))
        if (node != sender) reviewers.insert(node);
    if (reviewers.empty())
      spdlog::warn("hold={} message={} waits for {} but no node holds that role", short_id(hold->id),
                   short_id(message.id), hold->held_for);
    for (const auto& reviewer : reviewers) request_review(work, *hold, reviewer);
  }
  if (consent_hold) {
    persist(work, *consent_hold);
    auto entry = record("hold", sender);
    entry.message_id = message.id;
    entry.detail =
        json::Object().add("hold_id", consent_hold->id).add("kind", "consent").add("held_for", consent_hold->held_for).str();
    work.batch.audit.push_back(std::move(entry));
    request_review(work, *consent_hold, consent_hold->consent_node);
  }
  finish(std::move(work));
  return {true, v1::ERROR_CODE_UNSPECIFIED, {}};
}

SubmitResult Router::review(const std::string& decider, const v1::ReviewDecision& answer, ReviewVia via) {
  const bool from_dashboard = via == ReviewVia::dashboard;
  const auto policy = policy_();
  auto refuse = [&](v1::ErrorCode code, std::string text) {
    spdlog::warn("refused review hold={} from={}: {}", answer.hold_id(), decider, text);
    auto entry = record("review", decider);
    entry.detail = json::Object()
                       .add("hold_id", answer.hold_id())
                       .add("refused", true)
                       .add("code", v1::ErrorCode_Name(code))
                       .add("text", text)
                       .add("via", from_dashboard ? "dashboard" : "node")
                       .str();
    audit(std::move(entry));
    return SubmitResult{false, code, std::move(text)};
  };
  auto it = holds_.find(answer.hold_id());
  if (it == holds_.end() || it->second.kind == HoldKind::embargo) {
    if (auto closed = closed_holds_.find(answer.hold_id()); closed != closed_holds_.end())
      return refuse(v1::ERROR_CODE_UNKNOWN_HOLD, fmt::format("hold {} was already {}", answer.hold_id(), closed->second));
    return refuse(v1::ERROR_CODE_UNKNOWN_HOLD, fmt::format("no hold {} is waiting for a decision", answer.hold_id()));
  }
  Hold& hold = it->second;
  if (!may_decide(*policy, hold, decider))
    return refuse(v1::ERROR_CODE_NOT_PERMITTED, fmt::format("{} may not decide hold {}: it waits for {}", decider,
                                                            short_id(hold.id), hold.held_for));
  for (const auto& id : answer.withhold_portion_ids()) {
    if (std::none_of(hold.message.portions.begin(), hold.message.portions.end(),
                     [&](const Portion& p) { return p.id == id; }))
      return refuse(v1::ERROR_CODE_INVALID_MESSAGE,
                    fmt::format("portion '{}' is not part of message {}", id, short_id(hold.message.id)));
  }
  const bool by_originator = hold.kind == HoldKind::consent;
  const std::string who = fmt::format("{} {}", by_originator ? "the originator" : "critical reader", decider);
  const std::string comment = answer.comment().empty() ? "" : fmt::format(" ({})", answer.comment());
  std::string verdict;
  std::vector<Delivered> outcomes;
  Work work;
  switch (answer.verdict()) {
    case v1::VERDICT_APPROVE:
    case v1::VERDICT_APPROVE_REDACTED: {
      const std::vector<std::string> cut(answer.withhold_portion_ids().begin(), answer.withhold_portion_ids().end());
      verdict = cut.empty() ? "approved" : fmt::format("approved without portion(s) {}", fmt::join(cut, ", "));
      for (auto decision : hold.recipients) {
        if (!cut.empty()) withhold(*policy, hold.message, decision, cut, fmt::format("withheld by {}{}", who, comment));
        settle(decision);
        decision.reason = fmt::format("{} by {}{}", verdict, who, comment);
        if (decision.decision == Decision::deny) {
          record_decision(work, hold.message, decision, "");
          outcomes.push_back({std::move(decision), false});
        } else {
          outcomes.push_back(release(work, hold.message, std::move(decision)));
        }
      }
      break;
    }
    case v1::VERDICT_REFUSE:
      verdict = "refused";
      for (auto decision : hold.recipients) {
        withhold(*policy, hold.message, decision, decision.released_portion_ids, fmt::format("refused by {}{}", who, comment));
        settle(decision);
        decision.reason = fmt::format("refused by {}{}", who, comment);
        record_decision(work, hold.message, decision, "");
        outcomes.push_back({std::move(decision), false});
      }
      break;
    default:
      return refuse(v1::ERROR_CODE_INVALID_MESSAGE, "the verdict must be APPROVE, REFUSE or APPROVE_REDACTED");
  }
  spdlog::info("review hold={} message={} {} by {}{}", short_id(hold.id), short_id(hold.message.id), verdict, decider,
               comment);
  auto entry = record("review", decider);
  entry.message_id = hold.message.id;
  entry.detail = json::Object()
                     .add("hold_id", hold.id)
                     .add("kind", by_originator ? "consent" : "review")
                     .add("verdict", verdict)
                     .add("comment", answer.comment())
                     .add("via", from_dashboard ? "dashboard" : "node")
                     .str();
  work.batch.audit.push_back(std::move(entry));
  closed_holds_[hold.id] = fmt::format("{} by {}", verdict, decider);
  const bool approved = answer.verdict() != v1::VERDICT_REFUSE;
  ++(approved ? metrics_.holds_approved : metrics_.holds_refused);
  if (observer_) observer_->hold_closed(hold.id, hold.message.id, approved ? "approved" : "refused", decider);
  work.batch.holds_removed.push_back(hold.id);
  const Message message = std::move(hold.message);
  holds_.erase(it);
  send_follow_up(work, message.originator, message.id, outcomes);
  if (!from_dashboard) {
    v1::Frame ack;
    ack.mutable_ack()->set_message_id(answer.hold_id());
    ack.mutable_ack()->set_ok(true);
    work.immediate.emplace_back(decider, frame_bytes(ack));
    work.askers.push_back({decider, answer.hold_id(), Asker::Kind::hold_decision});
  }
  finish(std::move(work));
  return {true, v1::ERROR_CODE_UNSPECIFIED, {}};
}

void Router::lift_embargo(Work& work, Hold& hold, std::string_view by) {
  std::vector<Delivered> outcomes;
  for (auto& decision : hold.recipients) {
    decision.reason = fmt::format("embargo lifted ({}); {}", hold.held_for, decision.reason);
    outcomes.push_back(deliver_version(work, hold.message, decision));
  }
  spdlog::info("embargo lifted hold={} message={} ({}): {} recipient(s)", short_id(hold.id), short_id(hold.message.id),
               hold.held_for, outcomes.size());
  auto entry = record("embargo_lifted", hold.message.originator);
  entry.message_id = hold.message.id;
  entry.detail = json::Object().add("hold_id", hold.id).add("held_for", hold.held_for).str();
  work.batch.audit.push_back(std::move(entry));
  closed_holds_[hold.id] = "released at the embargo";
  work.batch.holds_removed.push_back(hold.id);
  ++metrics_.holds_lifted;
  if (observer_) observer_->hold_closed(hold.id, hold.message.id, "lifted", by);
  send_follow_up(work, hold.message.originator, hold.message.id, outcomes);
}

bool Router::expired(const Handling& handling) const {
  return handling.not_after_unix_ms != 0 && now_ms() > handling.not_after_unix_ms;
}

void Router::expire_hold(Work& work, Hold& hold) {
  const auto at = hold.message.handling.not_after_unix_ms;
  std::vector<Delivered> outcomes;
  for (auto decision : hold.recipients) {
    settle(decision);
    decision.decision = Decision::deny;
    decision.reason = fmt::format("expired at {} while held for {}", format_utc(at), hold.held_for);
    record_decision(work, hold.message, decision, "expired", at);
    outcomes.push_back({std::move(decision), false});
  }
  spdlog::info("hold expired hold={} message={} ({}): {} recipient(s)", short_id(hold.id), short_id(hold.message.id),
               hold.held_for, outcomes.size());
  auto entry = record("hold_expired", hold.message.originator);
  entry.time_unix_ms = at;
  entry.message_id = hold.message.id;
  entry.detail = json::Object().add("hold_id", hold.id).add("held_for", hold.held_for).str();
  work.batch.audit.push_back(std::move(entry));
  closed_holds_[hold.id] = fmt::format("closed: the message expired at {}", format_utc(at));
  work.batch.holds_removed.push_back(hold.id);
  if (observer_) observer_->hold_closed(hold.id, hold.message.id, "expired", "the clock");
  send_follow_up(work, hold.message.originator, hold.message.id, outcomes);
}

void Router::settle_time(Work& work, std::string_view by) {
  // Expiry first: a hold whose message expired before its event came, or
  // before the clock reached its embargo, is never released.
  for (auto it = holds_.begin(); it != holds_.end();) {
    if (expired(it->second.message.handling)) {
      expire_hold(work, it->second);
      it = holds_.erase(it);
    } else if (it->second.kind == HoldKind::embargo && embargo_lifted(it->second.message.handling)) {
      lift_embargo(work, it->second, by);
      it = holds_.erase(it);
    } else {
      ++it;
    }
  }
  // Queued for a node that is offline as its expiry passes.
  const auto now = now_ms();
  while (!expiring_.empty() && expiring_.begin()->first < now) {
    const auto [node, seq] = expiring_.begin()->second;
    expiring_.erase(expiring_.begin());
    auto owed = outbox_.find(node);
    if (owed == outbox_.end() || connected(node)) continue;  // handed to its connection already
    auto it = owed->second.find(seq);
    if (it == owed->second.end()) continue;  // acknowledged or settled since
    expire_queued(work, it->second.entry);
    owed->second.erase(it);
  }
}

void Router::tick() {
  Work work;
  settle_time(work, "the clock");
  finish(std::move(work));
}

SubmitResult Router::trigger(const std::string& node, const std::string& event) {
  const auto policy = policy_();
  auto refuse = [&](std::string text) {
    spdlog::warn("refused trigger event={} from={}: {}", event, node, text);
    auto entry = record("trigger", node);
    entry.detail = json::Object().add("event", event).add("refused", true).add("text", text).str();
    audit(std::move(entry));
    return SubmitResult{false, v1::ERROR_CODE_NOT_PERMITTED, std::move(text)};
  };
  if (!policy->has_event(event)) return refuse(fmt::format("no event '{}' is defined by the policy", event));
  if (!policy->may_trigger(node, event)) return refuse(fmt::format("{} may not trigger event '{}'", node, event));
  Work work;
  const bool first = triggered_events_.insert(event).second;
  spdlog::info("event {} triggered by {}{}", event, node, first ? "" : " (again)");
  if (first) work.batch.events.push_back({event, node, now_ms()});
  auto entry = record("trigger", node);
  entry.detail = json::Object().add("event", event).add("first", first).str();
  work.batch.audit.push_back(std::move(entry));
  settle_time(work, fmt::format("event {} (by {})", event, node));
  v1::Frame ack;
  ack.mutable_ack()->set_message_id(event);
  ack.mutable_ack()->set_ok(true);
  work.immediate.emplace_back(node, frame_bytes(ack));
  work.askers.push_back({node, event, Asker::Kind::trigger});
  finish(std::move(work));
  return {true, v1::ERROR_CODE_UNSPECIFIED, {}};
}

}  // namespace icegate::server

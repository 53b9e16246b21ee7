#include "gateway/server/router.hpp"

#include <algorithm>
#include <cstddef>
#include <unordered_map>
#include <utility>

#include <boost/asio/post.hpp>
#include <google/protobuf/arena.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/federation/hop_steps.hpp"
#include "gateway/policy/peers.hpp"
#include "gateway/server/gateway.hpp"
#include "gateway/server/session.hpp"
#include "gateway/server/shadow.hpp"
#include "gateway/wire/codec.hpp"
#include "gateway/wire/error_frame.hpp"
#include "gateway/wire/framing.hpp"

namespace icegate::server {

namespace {

// Why a peer's frame is refused by a gateway that has no hop (no peers, or no key).
constexpr const char* kForwardsNothing =
    "this gateway forwards nothing: its policy names no peers, or it has no signing key";

// Frames a call builds only to encode them: on an arena that lives as long
// as the call, so that building one allocates no object or string per field
// (the first 8 KiB come from the arena's own block) and dropping it walks
// none of them. A Submit builds three or more (its Receipt twice, a Deliver
// per version, its Ack).
class FrameArena {
 public:
  FrameArena() : arena_(options(block_, sizeof block_)) {}
  FrameArena(const FrameArena&) = delete;
  FrameArena& operator=(const FrameArena&) = delete;
  v1::Frame& frame() { return *google::protobuf::Arena::CreateMessage<v1::Frame>(&arena_); }

 private:
  static google::protobuf::ArenaOptions options(char* block, std::size_t size) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = size;
    return options;
  }
  alignas(std::max_align_t) char block_[8192];  // before arena_, which is given it
  google::protobuf::Arena arena_;
};

FrameBytes frame_bytes(const v1::Frame& frame) {
  return std::make_shared<const std::string>(wire::encode_frame(frame));
}

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

std::string short_id(const std::string& id) { return id.substr(0, 8); }

// What an owed Deliver's row keeps of its recipient's decision, for the
// originator's follow-up if the frame expires or cannot be sent (denied()).
// Not its node, which the row has: the recipients of one version of a
// fan-out then share the same bytes, encoded once.
std::string encode_outcome(const RecipientDecision& decision) {
  v1::RecipientOutcome outcome;
  wire::encode(decision, false, outcome);
  outcome.clear_node_id();
  return outcome.SerializeAsString();
}

}  // namespace

Router::Router(const GatewayConfig& config, PolicyGetter policy, store::Store& store,
               boost::asio::any_io_executor executor)
    : config_(config),
      policy_(std::move(policy)),
      store_(store),
      executor_(std::move(executor)),
      ledger_(DeliveryLedger::default_window_frames, DeliveryLedger::default_window_bytes,
              config.owed_frames_in_memory, config.owed_bytes_in_memory, config.owed_bytes_in_memory_total),
      records_([this] { return now_ms(); }, [this] { return policy_()->version(); }),
      checks_([&store](const std::string& id) { return store.accepted(id); }, config.recent_message_ids,
              config.recent_message_window) {}

Router::~Router() { flush_settled(false); }

std::int64_t Router::now_ms() const { return config_.clock->now_unix_ms(); }

// ---- durability -------------------------------------------------------------

void Router::recover() {
  store::Recovered recovered =
      store_.recover(config_.recent_message_ids, config_.owed_frames_in_memory, config_.owed_bytes_in_memory);
  const auto audit_records = recovered.audit_records;
  finish(load(std::move(recovered)));
  spdlog::info("store {}: {} message(s) seen, {} frame(s) owed to {} node(s), {} hold(s), {} event(s), {} audit record(s)",
               store_.path().string(), checks_.seen_count(), ledger_.owed_count(), ledger_.node_count(), holds_.size(),
               holds_.event_count(), audit_records);
}

Router::Work Router::load(store::Recovered recovered) {
  checks_.load(recovered.messages, recovered.all_messages);
  Work refused;
  // Only each node's first frames come back with their bytes; the ledger is
  // told how many more are on disk, and when the first of all expires.
  std::map<std::string, std::size_t, std::less<>> settled_now;  // node -> frames refused as oversized
  for (auto& entry : recovered.outbox) {
    if (refuse_oversized(refused, entry, entry.frame.size())) {
      ++settled_now[entry.node];
      continue;
    }
    auto bytes = std::make_shared<const std::string>(std::move(entry.frame));
    entry.frame.clear();
    ledger_.add(std::move(entry), std::move(bytes));
  }
  for (const auto& owed : recovered.owed) {
    const auto settled = settled_now.find(owed.node);
    const std::size_t gone = settled == settled_now.end() ? 0 : settled->second;
    ledger_.restore(owed.node, owed.count - std::min(gone, owed.count), owed.last_seq);
  }
  ledger_.expires_on_disk(recovered.first_expiry_unix_ms);
  for (const auto& blob : recovered.holds) {
    auto hold = HoldsBook::parse(blob.value);
    if (!hold) {
      spdlog::error("store: hold {} cannot be read; skipped", blob.key);
      continue;
    }
    holds_.load(std::move(*hold));
  }
  for (const auto& blob : recovered.controlled)
    if (!controlled_.load(blob)) spdlog::error("store: controlled content {} cannot be read; skipped", blob.key);
  for (const auto& event : recovered.events) holds_.trigger(event.name);
  for (const auto& use : recovered.occasional) decider_.load(use);
  return refused;
}

std::size_t Router::owed_count() const { return ledger_.owed_count(); }

std::size_t Router::owed_to_connected() const {
  std::size_t owed = 0;
  for (const auto& [node, count] : ledger_.owed_by_node())
    if (connected(node)) owed += count;
  return owed;
}

void Router::owe(Work& work, const std::string& node, const v1::Frame& frame, bool needs_ack,
                 const std::string& message_id, std::int64_t not_after, const std::string& originator,
                 const RecipientDecision* outcome) {
  owe_encoded(work, node, wire::encode_frame(frame), needs_ack, message_id, not_after, originator, outcome);
}

void Router::owe_shared(Work& work, const std::string& node, FrameBytes frame, std::int64_t frame_id,
                        const std::string& message_id, std::int64_t not_after, const std::string& originator,
                        const RecipientDecision& outcome) {
  owe_encoded(work, node, {}, true, message_id, not_after, originator, &outcome);
  store::OutboxEntry& entry = work.batch.outbox.back();
  entry.shared_frame = std::move(frame);
  entry.frame_id = frame_id;
}

void Router::owe_encoded(Work& work, const std::string& node, std::string frame, bool needs_ack,
                         const std::string& message_id, std::int64_t not_after, const std::string& originator,
                         const RecipientDecision* outcome) {
  store::OutboxEntry entry;
  entry.seq = store_.next_seq();
  entry.node = node;
  entry.message_id = message_id;
  entry.needs_ack = needs_ack;
  entry.not_after_unix_ms = not_after;
  entry.originator = originator;
  if (outcome) {
    if (!outcome_of_ || !same_outcome(*outcome_of_, *outcome)) {
      outcome_of_ = *outcome;
      outcome_ = encode_outcome(*outcome);
    }
    entry.outcome = outcome_;
  }
  entry.frame = std::move(frame);
  work.batch.outbox.push_back(std::move(entry));
}

bool Router::connected(std::string_view node) const {
  auto it = sessions_.find(node);
  return (it != sessions_.end() && !it->second.expired()) || peer_lanes_.contains(node);
}

void Router::hand_over(std::string_view node) {
  if (auto peer = peer_lanes_.find(node); peer != peer_lanes_.end()) {
    hand_over_peer(peer->first, peer->second);
    return;
  }
  auto it = sessions_.find(node);
  if (it == sessions_.end()) return;
  auto session = it->second.lock();
  if (!session) return;
  if (auto frames = ledger_.take(node); !frames.empty()) session->deliver(std::move(frames));
  if (ledger_.behind(node)) refill(it->first);
}

void Router::finish(Work work) {
  if (observer()) {
    std::set<std::string_view> told;
    for (const auto& id : work.holds_touched)
      if (const Hold* hold = holds_.find(id); hold && told.insert(id).second) observer()->hold_opened(view(*hold));
  }
  // Settlements gathered so far are queued first, so that the store sees
  // every change in the order the router made it.
  flush_settled();
  if (work.batch.empty() && work.immediate.empty()) return;
  // After the commit: say what must be said, then add the owed frames to the
  // ledger and hand each connected node's session what its window has room
  // for, in commit order. The store
  // hands the outbox entries back, so their frames are not copied.
  const std::size_t accepted = work.batch.messages.size();  // read before the batch is moved
  store_.commit(std::move(work.batch), executor_,
                store::Store::OutboxDone([this, immediate = std::move(work.immediate), askers = std::move(work.askers),
                                          accepted,
                                          epoch = store_.epoch()](bool ok, std::vector<store::OutboxEntry>& entries) {
                  if (!ok) {
                    commit_failed(epoch, askers);
                    return;
                  }
                  checks_.committed(accepted);
                  for (auto& [node, bytes] : immediate) {
                    if (auto it = sessions_.find(node); it != sessions_.end()) {
                      if (auto session = it->second.lock()) session->reply(bytes);
                    } else if (peer_lanes_.contains(node) && federation_.send) {
                      federation_.send(node, bytes);
                    }
                  }
                  const std::string* last_woken = nullptr;
                  std::set<std::string_view> woken;
                  Work refused;
                  for (auto& entry : entries) {
                    // Sized at submit time; this guards every other frame owed.
                    if (refuse_oversized(refused, entry, entry.bytes().size())) continue;
                    // A fan-out's recipients of one version share its bytes
                    // (moved out: the ledger alone decides how long they stay).
                    auto bytes = entry.shared_frame ? std::move(entry.shared_frame)
                                                    : std::make_shared<const std::string>(std::move(entry.frame));
                    entry.frame.clear();
                    const std::string& node = ledger_.add(std::move(entry), std::move(bytes));
                    if (last_woken == &node) continue;
                    last_woken = &node;
                    woken.insert(node);
                  }
                  for (const auto node : woken) hand_over(node);
                  finish(std::move(refused));
                }));
}

void Router::flush_settled(bool told) {
  if (settled_.settled.empty()) return;
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
    case Kind::forward: return fmt::format("forwarded message {}", id);
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
    if (asker.kind == Asker::Kind::forward) {
      // The peer is not answered, so it keeps the Forward owed: closing the
      // link makes it send again what it has not had answered once it redials.
      if (federation_.close) federation_.close(asker.node, v1::ERROR_CODE_INTERNAL, text);
      continue;
    }
    const bool submit = asker.kind == Asker::Kind::submit;
    if (submit && metrics_.messages_submitted > 0) --metrics_.messages_submitted;  // counted as accepted
    auto it = sessions_.find(asker.node);
    auto session = it == sessions_.end() ? nullptr : it->second.lock();
    if (!session) continue;  // the node resends what it was never acknowledged when it reconnects
    session->reply_error(v1::ERROR_CODE_INTERNAL, text, false, asker.id);
    if (submit) {
      v1::Frame ack;
      ack.mutable_ack()->set_message_id(asker.id);
      ack.mutable_ack()->set_ok(false);
      session->reply(frame_bytes(ack));
    }
  }
  // A failed sync: what the store holds is not to be trusted, so it is not
  // read back, and nothing more is accepted (submit() refuses) until restart.
  if (store_.restart_required()) return;
  if (epoch != store_.epoch()) return;  // refused behind a failure already read back
  Work refused = reload();
  store_.resume();
  // What was waiting to settle when the state was read back still settles.
  for (const auto seq : settled_.settled) ledger_.forget(seq);
  finish(std::move(refused));
  // Lanes keep their cursors (seqs do not change): each session is handed
  // what was committed beyond what it already holds.
  for (const auto& node : ledger_.lane_nodes()) hand_over(node);
}

Router::Work Router::reload() {
  std::map<std::string, std::string, std::less<>> held_before;  // hold id -> message id
  holds_.for_each([&](const Hold& hold) { held_before.emplace(hold.id, hold.message.id); });
  checks_.clear();
  ledger_.clear_owed();
  holds_.clear_stored();
  controlled_.clear();
  decider_.clear();
  Work refused =
      load(store_.recover(config_.recent_message_ids, config_.owed_frames_in_memory, config_.owed_bytes_in_memory));
  spdlog::warn("store: read back after a failed commit: {} message(s) seen, {} frame(s) owed, {} hold(s)",
                checks_.seen_count(), owed_count(), holds_.size());
  if (!observer()) return refused;
  // The watcher saw the refused operations' holds open and close: it hears what stands now.
  for (const auto& [id, message_id] : held_before)
    if (!holds_.find(id)) observer()->hold_closed(id, message_id, "withdrawn", "a failed commit (not stored)");
  holds_.for_each([&](const Hold& hold) {
    if (!held_before.contains(hold.id)) observer()->hold_opened(view(hold));
  });
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

void Router::after_commits(std::function<void()> then) {
  flush_settled();  // settlements still gathering go first
  store_.commit({}, executor_, [then = std::move(then)](bool) { then(); });
}

void Router::audit(audit::AuditRecord record) {
  Work work;
  records_.stamp(record);
  work.batch.audit.push_back(std::move(record));
  work.batch.unawaited = true;
  finish(std::move(work));
}

// Reads back frames owed to `node` that wait on disk, once its resident
// frames run low, and the bytes of those it is to be handed again. The read
// runs on the store's reader thread (Store::read_owed), not here: a node's
// backlog read back does not hold up other nodes' decisions. Its page comes
// back to this executor, where the ledger takes what is still wanted
// (DeliveryLedger::read_done: the guard of order and exactly once is the
// ledger's state, confined to this executor like the rest of the router), and
// the node's session is handed what it may now have. At most one read per
// node is under way (docs/ARCHITECTURE.md, "Memory bounds").
void Router::refill(const std::string& node) {
  auto read = ledger_.next_read(node);
  if (!read) return;
  store_.read_owed(*read, executor_,
                   [this, alive = std::weak_ptr<const bool>(alive_), read = *read](store::Store::OwedPage page) {
                     if (alive.expired()) return;  // the router has gone
                     Work work;
                     const auto expired = ledger_.read_done(
                         read, std::move(page.entries), page.complete, now_ms(),
                         [this, &work](const store::OutboxEntry& entry) {
                           return refuse_oversized(work, entry, entry.frame.size());
                         });
                     for (const auto& entry : expired) expire_queued(work, entry);
                     if (!work.batch.empty()) finish(std::move(work));
                     hand_over(read.node);
                     note_settled(read.node);
                   });
}

// ---- sessions ---------------------------------------------------------------

Router::Attachment Router::attach(const std::string& node_id, const std::shared_ptr<Session>& session) {
  Attachment attachment;
  auto [it, inserted] = sessions_.try_emplace(node_id, session);
  if (!inserted) {
    attachment.replaced = it->second.lock();
    it->second = session;
  }
  attachment.lane = ledger_.open_lane(node_id);
  // What expired while the node was away is not delivered, and its
  // originator is told; the rest is handed to the session, in order, a window
  // at a time. (tick() does the same as each expiry passes; this catches what
  // passed while the gateway was down.)
  Work work;
  for (const auto& entry : ledger_.expire_owed_to(node_id, now_ms())) expire_queued(work, entry);
  if (const auto owed = ledger_.owed_count(node_id); owed > 0)
    spdlog::info("node={} is owed {} frame(s)", node_id, owed);
  finish(std::move(work));
  hand_over(node_id);
  return attachment;
}

void Router::expire_queued(Work& work, const store::OutboxEntry& entry) {
  const std::string& node_id = entry.node;
  const RecipientDecision expired = denied(
      entry, fmt::format("expired at {} before {} connected", format_utc(entry.not_after_unix_ms), node_id));
  spdlog::info("expired message={} to={} while queued", short_id(entry.message_id), node_id);
  send_follow_up(work, entry.originator, entry.message_id, {{expired, false}});
  work.batch.audit.push_back(records_.expired(entry, expired.reason));
  if (observer()) observer()->decision(entry.message_id, expired, "expired");
  work.batch.settled.push_back(entry.seq);
}

void Router::detach(const std::string& node_id, const std::weak_ptr<Session>& session, std::uint64_t lane) {
  ledger_.close_lane(node_id, lane);  // nothing if a newer session's lane replaced it
  auto it = sessions_.find(node_id);
  if (it == sessions_.end()) return;
  // The same session (compared by owner: it may be gone by now), or one that has gone.
  const bool same = !session.owner_before(it->second) && !it->second.owner_before(session);
  if (same || it->second.expired()) {
    sessions_.erase(it);
    // What it is still owed no longer counts as owed to a connected node.
    if (settled_watch_ && ledger_.owed_count(node_id) > 0) settled_watch_();
  }
}

std::vector<std::shared_ptr<Session>> Router::sessions() const {
  std::vector<std::shared_ptr<Session>> result;
  for (const auto& [node, weak] : sessions_)
    if (auto session = weak.lock()) result.push_back(std::move(session));
  return result;
}

bool Router::acknowledged(const std::string& node, const std::string& message_id) {
  const auto seq = ledger_.acknowledge(node, message_id);
  if (!seq) return false;  // a repeated Ack, or for something never owed here
  settled_.settled.push_back(*seq);
  settle_later();
  // Resident frames left: with a backlog on disk, or Delivers to be read
  // back, more may be read back and handed.
  if (ledger_.behind(node)) hand_over(node);
  note_settled(node);
  return true;
}

void Router::note_settled(std::string_view node) {
  if (settled_watch_ && ledger_.owed_count(node) == 0) settled_watch_();
}

void Router::written(const std::string& node, std::uint64_t lane, const std::vector<Outgoing>& frames) {
  std::size_t owed_frames = 0, owed_bytes = 0;
  bool settled = false;
  for (const auto& frame : frames) {
    if (frame.seq <= 0) continue;  // not from the outbox
    ++owed_frames;
    owed_bytes += frame.bytes->size();
    // Owed frames that need no acknowledgement are settled once written; a
    // Deliver keeps its key until acknowledged, its bytes dropped.
    if (ledger_.written(node, frame.seq)) {
      settled_.settled.push_back(frame.seq);
      settle_later();
      settled = true;
    }
  }
  if (ledger_.returned(node, lane, owed_frames, owed_bytes)) hand_over(node);
  if (settled && settled_watch_) written_unacknowledged_.emplace(node);
  if (settled) note_settled(node);
}

std::vector<std::string> Router::take_written_unacknowledged() {
  std::vector<std::string> nodes(written_unacknowledged_.begin(), written_unacknowledged_.end());
  written_unacknowledged_.clear();
  return nodes;
}

// ---- decisions --------------------------------------------------------------

void Router::note_occasional(Work& work, const Message& message, const std::string& recipient,
                             const std::string& reason) {
  // Recorded with its reason: the allowance is enforced from these records.
  work.batch.occasional.push_back(decider_.use_occasional(recipient, now_ms()));
  spdlog::info("occasional access granted node={} message={}: {}", recipient, message.id, reason);
}

// Room left in a frame for what a later step adds to an owed frame's text: an
// embargo lifting or a review verdict rewrites the reason of a Deliver, a
// hold fills in its id, what it waits for and why in the Receipt.
constexpr std::size_t later_text_headroom = 2048;

std::string Router::oversized(const Message& message, const policy::Expansion& expansion,
                              const std::vector<Decided>& decided, std::vector<FrameBytes>& delivers) const {
  const std::size_t limit = config_.max_frame_bytes;
  const std::string policy_version = policy_()->version();
  FrameArena arena;
  v1::Frame& receipt = arena.frame();
  receipt.mutable_receipt()->set_message_id(message.id);
  receipt.mutable_receipt()->set_policy_version(policy_version);
  for (const auto& name : expansion.unresolved) receipt.mutable_receipt()->add_unresolved_addressees(name);
  std::size_t receipt_headroom = 0;
  delivers.assign(decided.size(), nullptr);
  // The versions built so far, each with its frame's size: a fan-out to
  // hundreds usually makes two or three (the whole, a redacted one). At most
  // kVersions are kept; a recipient whose version is not among them gets a
  // frame of its own.
  static constexpr std::size_t kVersions = 8;
  struct Version {
    const RecipientDecision* decision;
    FrameBytes frame;
    std::size_t size;
  };
  std::vector<Version> versions;
  for (std::size_t i = 0; i < decided.size(); ++i) {
    const RecipientDecision& decision = decided[i].decision;
    wire::encode(decision, false, *receipt.mutable_receipt()->add_outcomes());
    if (decision.decision == Decision::deny) continue;
    receipt_headroom += later_text_headroom;
    const auto known = std::find_if(versions.begin(), versions.end(),
                                    [&](const Version& v) { return same_version(*v.decision, decision); });
    std::size_t size = 0;
    FrameBytes encoded;
    if (known != versions.end()) {
      size = known->size;
      encoded = known->frame;
    } else {
      v1::Frame& deliver = arena.frame();
      deliver_frame(message, decision, deliver);
      size = deliver.ByteSizeLong();
      encoded = std::make_shared<const std::string>(wire::encode_frame(deliver));
      if (versions.size() < kVersions) versions.push_back({&decision, encoded, size});
    }
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
    delivers[i] = std::move(encoded);
  }
  const std::size_t receipt_size = receipt.ByteSizeLong() + receipt_headroom;
  if (receipt_size > limit)
    return fmt::format("the Receipt for this message would be about {} bytes ({} recipients, {} portions), over the "
                       "frame limit of {} bytes: send it to fewer recipients or in fewer portions",
                       receipt_size, decided.size(), message.portions.size(), limit);
  return {};
}

void Router::deliver_frame(const Message& message, const RecipientDecision& decision, v1::Frame& frame) const {
  auto* body = frame.mutable_deliver();
  wire::encode(message, decision, *body->mutable_message());
  body->set_decision(wire::encode(decision.decision));
  for (const auto& withheld : decision.withheld) wire::encode(withheld, *body->add_withheld());
  for (const auto& rule : decision.rule_ids) body->add_rule_ids(rule);
  body->set_reason(decision.reason);
  body->set_policy_version(policy_()->version());
}

bool Router::refuse_oversized(Work& work, const store::OutboxEntry& entry, std::size_t frame_bytes) {
  if (frame_bytes <= config_.max_frame_bytes + wire::frame_header_bytes) return false;
  const std::string reason =
      fmt::format("not delivered: the frame would be {} bytes, over the frame limit of {} bytes",
                  frame_bytes - wire::frame_header_bytes, config_.max_frame_bytes);
  spdlog::error("outbox seq={} to={} message={}: {}", entry.seq, entry.node, short_id(entry.message_id), reason);
  work.batch.settled.push_back(entry.seq);
  work.batch.audit.push_back(records_.undeliverable(entry, reason));
  if (entry.needs_ack && !entry.originator.empty()) {
    // The originator hears that this recipient will not get it.
    const RecipientDecision outcome = denied(entry, reason);
    send_follow_up(work, entry.originator, entry.message_id, {{outcome, false}});
    if (observer()) observer()->decision(entry.message_id, outcome, "undeliverable");
  }
  return true;
}

void Router::record_decision(Work& work, const Message& message, const RecipientDecision& decision,
                             std::string_view state, std::int64_t at) {
  if (spdlog::should_log(spdlog::level::info)) {  // the withheld portions' text only if it will be logged
    std::vector<std::string> withheld_text;
    for (const auto& w : decision.withheld)
      withheld_text.push_back(fmt::format("{} ({}): {}", w.portion_id, to_string(w.label), w.reason));
    spdlog::info("decision message={} from={} to={} {} rules=[{}] released=[{}] withheld=[{}]{}{} {}",
                 short_id(message.id), message.originator, decision.node_id, to_string(decision.decision),
                 fmt::join(decision.rule_ids, ","), fmt::join(decision.released_portion_ids, ","),
                 fmt::join(withheld_text, "; "), decision.held_for.empty() ? "" : " held_for=", decision.held_for,
                 state);
  }
  work.batch.audit.push_back(records_.decision(message, decision, state, at));
  if (observer()) observer()->decision(message.id, decision, state);
}

bool Router::embargo_lifted(const Handling& handling) const { return holds_.embargo_lifted(handling, now_ms()); }

Router::Delivered Router::deliver_version(Work& work, const Message& message, RecipientDecision decision,
                                         const Prepared* prepared) {
  if (message.handling.not_after_unix_ms != 0 && now_ms() > message.handling.not_after_unix_ms) {
    decision.decision = Decision::deny;
    decision.reason = fmt::format("expired at {}", format_utc(message.handling.not_after_unix_ms));
    record_decision(work, message, decision, "expired", message.handling.not_after_unix_ms);
    return {std::move(decision), false};
  }
  if (prepared && prepared->frame) {
    owe_shared(work, decision.node_id, prepared->frame, prepared->frame_id, message.id,
               message.handling.not_after_unix_ms, message.originator, decision);
  } else {
    FrameArena arena;
    v1::Frame& deliver = arena.frame();
    deliver_frame(message, decision, deliver);
    owe_encoded(work, decision.node_id, wire::encode_frame(deliver), true, message.id,
                message.handling.not_after_unix_ms, message.originator, &decision);
  }
  // "Delivered" means handed to a live connection once committed; otherwise queued.
  const bool delivered = connected(decision.node_id);
  record_decision(work, message, decision, delivered ? "delivered" : "queued (offline)");
  return {std::move(decision), delivered};
}

Hold& Router::open_hold(Work& work, HoldKind kind, const Message& message, std::string held_for, std::string reason) {
  Hold& hold = holds_.open(kind, message, std::move(held_for), std::move(reason));
  work.holds_touched.push_back(hold.id);
  return hold;
}

HoldView Router::view(const Hold& hold) const { return HoldsBook::view(hold, *policy_()); }

std::vector<HoldView> Router::holds() const {
  std::vector<HoldView> views;
  views.reserve(holds_.size());
  const auto policy = policy_();
  holds_.for_each([&](const Hold& hold) { views.push_back(HoldsBook::view(hold, *policy)); });
  return views;
}

void Router::persist(Work& work, const Hold& hold) {
  // Replaces any earlier version of the same hold in this batch.
  auto& puts = work.batch.holds_put;
  puts.erase(std::remove_if(puts.begin(), puts.end(), [&](const auto& p) { return p.key == hold.id; }), puts.end());
  puts.push_back({hold.id, HoldsBook::serialise(hold)});
}

Router::Delivered Router::release(Work& work, const Message& message, RecipientDecision decision,
                                 const Prepared* prepared) {
  if (embargo_lifted(message.handling)) return deliver_version(work, message, std::move(decision), prepared);
  // One embargo hold per message gathers every recipient it applies to.
  Hold* hold = holds_.embargo_of(message.id);
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
  wire::encode(hold.message, view, *request->mutable_message());
  spdlog::info("review requested hold={} message={} from={} kind={} held_for={} recipients={}", short_id(hold.id),
               short_id(hold.message.id), reviewer, hold.kind == HoldKind::consent ? "consent" : "review",
               hold.held_for, hold.recipients.size());
  owe(work, reviewer, frame, false, hold.message.id);
}

void Router::send_follow_up(Work& work, const std::string& originator, const std::string& message_id,
                            const std::vector<Delivered>& outcomes) {
  // A message from another gateway: its originator is not a node of this
  // one, and is told nothing from here (its own gateway's trail and this
  // one's say what became of it).
  if (outcomes.empty() || !local_node(originator)) return;
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

// ---- operations -------------------------------------------------------------

SubmitResult Router::submit(const std::string& sender, Message message) {
  const auto policy = policy_();
  auto refuse = [&](v1::ErrorCode code, std::string text) {
    spdlog::warn("refused message={} from={}: {}", message.id, sender, text);
    audit(records_.submit_refused(sender, message, code, text));
    ++metrics_.messages_refused;
    return SubmitResult{false, code, std::move(text)};
  };
  // After a failed sync the ids of the operations refused with it are still
  // held here as accepted: a resend must hear INTERNAL, not DUPLICATE (which
  // a node takes as accepted).
  if (store_.restart_required()) {
    std::string text = fmt::format("message {} was not stored: the gateway's store failed ({}); send it again later",
                                   message.id, store_.health().reason);
    spdlog::error("not stored, so not acknowledged: message {} from {}: the store must be restarted", message.id,
                  sender);
    return SubmitResult{false, v1::ERROR_CODE_INTERNAL, std::move(text)};
  }
  const ControlledContent* source_content = nullptr;
  if (auto refusal = checks_.check(*policy, sender, message, controlled_, source_content))
    return refuse(refusal->code, std::move(refusal->text));
  // Every decision is made before anything changes, so that a Submit whose
  // frames would not fit is refused whole, as if never sent.
  const policy::Expansion expansion = policy->expand(message.addressees, sender);
  std::vector<Decided> decided;
  decided.reserve(expansion.recipients.size());
  for (const auto& recipient : expansion.recipients) {
    const auto started = std::chrono::steady_clock::now();
    decided.push_back(decider_.decide(*policy, message, recipient, now_ms()));
    metrics_.decision_latency.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  std::vector<FrameBytes> frames;
  if (auto problem = oversized(message, expansion, decided, frames); !problem.empty())
    return refuse(v1::ERROR_CODE_INVALID_MESSAGE, std::move(problem));
  // A version two recipients or more get (oversized built it once: they
  // hold the same bytes) is stored once, under an id of its own; one that
  // only one gets is stored in that recipient's row. One pass: a fan-out
  // may have thousands of recipients.
  std::unordered_map<const std::string*, std::int64_t> frame_ids;  // 0 while one recipient has it
  for (const auto& frame : frames) {
    if (!frame) continue;
    const auto [it, first] = frame_ids.try_emplace(frame.get(), 0);
    if (!first && it->second == 0) it->second = store_.next_frame_id();
  }
  std::vector<Prepared> delivers(frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i)
    if (frames[i]) delivers[i] = {frames[i], frame_ids.at(frames[i].get())};

  checks_.accept(message.id, now_ms());
  ++metrics_.messages_submitted;
  if (observer())
    observer()->submission(message, *policy, source_content ? std::string_view(source_content->message_id)
                                                           : std::string_view(message.derived_from));

  Work work;
  // A decision record and an outbox entry a recipient at most, plus the
  // submit's record(s): no regrowth, each moving every record built so far,
  // in a fan-out to hundreds.
  work.batch.audit.reserve(2 + decided.size());
  work.batch.outbox.reserve(decided.size());
  work.batch.messages.push_back({message.id, sender, now_ms()});
  spdlog::info("submit message={} from={} category={} purpose={} label=\"{}\" portions={} recipients={}{}", message.id,
               sender, message.category, message.purpose, policy->display_marking(message.label),
               message.portions.size(), expansion.recipients.size(),
               source_content ? fmt::format(" derived_from={}", source_content->message_id) : "");
  work.batch.audit.push_back(
      records_.submit(sender, message, expansion, source_content ? source_content->message_id : message.derived_from));
  if (!message.original_scheme.empty()) work.batch.audit.push_back(records_.labels_translated(sender, message));
  if (shadow_) {  // decided again under the shadow policy: recorded, never enforced
    std::vector<const RecipientDecision*> enforced;
    for (const auto& made : decided) enforced.push_back(&made.decision);
    shadow_->compare(message, enforced, records_.record("shadow_difference", sender), work.batch.audit, observer());
  }

  // The Ack is not stored: it goes out once the commit makes the message durable.
  FrameArena arena;
  v1::Frame& ack = arena.frame();
  ack.mutable_ack()->set_message_id(message.id);
  ack.mutable_ack()->set_ok(true);
  work.immediate.emplace_back(sender, frame_bytes(ack));
  work.askers.push_back({sender, message.id, Asker::Kind::submit});

  v1::Frame& receipt_frame = arena.frame();
  auto* receipt = receipt_frame.mutable_receipt();
  receipt->set_message_id(message.id);
  receipt->set_policy_version(policy->version());
  // Addressees no node of this gateway answers to may be spoken for by a
  // peer: each next peer is owed the Forward it may have (the hop decides,
  // portion by portion, what may leave), and only what nobody speaks for is
  // unresolved.
  const auto hop = federation_.hop && !expansion.unresolved.empty() ? federation_.hop() : nullptr;
  federation::OriginResult onward;
  // The binding is signed now, in real time, whatever the gateway's clock
  // says (an exercise runs on a simulated one): its time is checked against
  // the signing certificate's validity, which is real.
  if (hop) onward = hop->forward_from_origin(message, to_unix_ms(std::chrono::system_clock::now()));
  for (const auto& name : expansion.unresolved) {
    const bool spoken_for = std::any_of(onward.hops.begin(), onward.hops.end(), [&](const auto& next) {
      return std::any_of(next.addressees.begin(), next.addressees.end(), [&](const Addressee& addressee) {
        return name == policy::unresolved_name(addressee);
      });
    });
    if (!spoken_for) receipt->add_unresolved_addressees(name);
  }
  // The first hop of the Receipt hop by hop: this gateway's step per next
  // peer, the values of its peer_forward records.
  if (hop)
    for (const auto& step : federation::forward_steps(hop->name(), onward.hops, true))
      wire::encode(step, *receipt->add_hops());

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
      decision = hold_for_review(work, message, made, review_holds);
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
  for (const auto& name : receipt->unresolved_addressees())
    spdlog::info("decision message={} from={} addressee {} resolves to no node", short_id(message.id), sender, name);
  forward(work, onward.hops);
  if (effective.originator_control || effective.no_onward_sharing)
    work.batch.controlled_put.push_back(controlled_.remember(message, effective, expansion.recipients));
  owe(work, sender, receipt_frame, false, message.id);

  // Ask for the reviews after the Receipt, so the originator hears of the hold first.
  open_reviews(work, message, review_holds);
  if (consent_hold) {
    persist(work, *consent_hold);
    work.batch.audit.push_back(
        records_.hold_opened(sender, message.id, consent_hold->id, "consent", consent_hold->held_for));
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
    audit(records_.review_refused(decider, answer.hold_id(), code, text, from_dashboard));
    return SubmitResult{false, code, std::move(text)};
  };
  Hold* open = holds_.find(answer.hold_id());
  if (!open || open->kind == HoldKind::embargo) {
    if (const std::string* closed = holds_.closed_as(answer.hold_id()))
      return refuse(v1::ERROR_CODE_UNKNOWN_HOLD, fmt::format("hold {} was already {}", answer.hold_id(), *closed));
    return refuse(v1::ERROR_CODE_UNKNOWN_HOLD, fmt::format("no hold {} is waiting for a decision", answer.hold_id()));
  }
  Hold& hold = *open;
  if (!HoldsBook::may_decide(*policy, hold, decider))
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
        if (!cut.empty()) Decider::withhold(*policy, hold.message, decision, cut, fmt::format("withheld by {}{}", who, comment));
        Decider::settle(decision);
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
        Decider::withhold(*policy, hold.message, decision, decision.released_portion_ids, fmt::format("refused by {}{}", who, comment));
        Decider::settle(decision);
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
  work.batch.audit.push_back(records_.review(decider, hold.message.id, hold.id, by_originator ? "consent" : "review",
                                             verdict, answer.comment(), from_dashboard));
  const bool approved = answer.verdict() != v1::VERDICT_REFUSE;
  ++(approved ? metrics_.holds_approved : metrics_.holds_refused);
  if (observer()) observer()->hold_closed(hold.id, hold.message.id, approved ? "approved" : "refused", decider);
  work.batch.holds_removed.push_back(hold.id);
  const Message message = holds_.close(hold.id, fmt::format("{} by {}", verdict, decider)).message;
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
  work.batch.audit.push_back(
      records_.embargo_lifted(hold.message.originator, hold.message.id, hold.id, hold.held_for));
  work.batch.holds_removed.push_back(hold.id);
  ++metrics_.holds_lifted;
  if (observer()) observer()->hold_closed(hold.id, hold.message.id, "lifted", by);
  send_follow_up(work, hold.message.originator, hold.message.id, outcomes);
  holds_.close(hold.id, "released at the embargo");
}

bool Router::expired(const Handling& handling) const {
  return handling.not_after_unix_ms != 0 && now_ms() > handling.not_after_unix_ms;
}

void Router::expire_hold(Work& work, const Hold& hold) {
  const auto at = hold.message.handling.not_after_unix_ms;
  std::vector<Delivered> outcomes;
  for (auto decision : hold.recipients) {
    Decider::settle(decision);
    decision.decision = Decision::deny;
    decision.reason = fmt::format("expired at {} while held for {}", format_utc(at), hold.held_for);
    record_decision(work, hold.message, decision, "expired", at);
    outcomes.push_back({std::move(decision), false});
  }
  spdlog::info("hold expired hold={} message={} ({}): {} recipient(s)", short_id(hold.id), short_id(hold.message.id),
               hold.held_for, outcomes.size());
  work.batch.audit.push_back(
      records_.hold_expired(hold.message.originator, hold.message.id, hold.id, hold.held_for, at));
  work.batch.holds_removed.push_back(hold.id);
  if (observer()) observer()->hold_closed(hold.id, hold.message.id, "expired", "the clock");
  send_follow_up(work, hold.message.originator, hold.message.id, outcomes);
  holds_.close(hold.id, fmt::format("closed: the message expired at {}", format_utc(at)));
}

void Router::settle_time(Work& work, std::string_view by) {
  // Expiry first: a hold whose message expired before its event came, or
  // before the clock reached its embargo, is never released.
  for (const auto& id : holds_.ids()) {
    Hold* hold = holds_.find(id);
    if (expired(hold->message.handling)) expire_hold(work, *hold);
    else if (hold->kind == HoldKind::embargo && embargo_lifted(hold->message.handling)) lift_embargo(work, *hold, by);
  }
  // Queued for a node that is offline as its expiry passes (one that is
  // connected has been handed it already): those in memory now; those on
  // disk through a scan of the store's expiry index, which runs on the
  // store's reader thread, not here, so that a long scan holds up no
  // decision (as refill's reads).
  const auto skip_connected = [this](std::string_view node) { return connected(node); };
  for (const auto& entry : ledger_.expire_before(now_ms(), skip_connected)) expire_queued(work, entry);
  auto scan = ledger_.next_disk_scan(now_ms());
  if (!scan) return;
  store_.scan_expiring(
      *scan, executor_,
      [this, alive = std::weak_ptr<const bool>(alive_), scan = *scan, skip_connected](store::Store::ExpiryPage page) {
        if (alive.expired()) return;  // the router has gone
        Work expired;
        for (const auto& entry : ledger_.disk_scan_done(scan, std::move(page), skip_connected))
          expire_queued(expired, entry);
        if (!expired.batch.empty()) finish(std::move(expired));
      });
}

void Router::tick() {
  checks_.age(now_ms());
  Work work;
  settle_time(work, "the clock");
  finish(std::move(work));
}

SubmitResult Router::trigger(const std::string& node, const std::string& event) {
  const auto policy = policy_();
  auto refuse = [&](std::string text) {
    spdlog::warn("refused trigger event={} from={}: {}", event, node, text);
    audit(records_.trigger_refused(node, event, text));
    return SubmitResult{false, v1::ERROR_CODE_NOT_PERMITTED, std::move(text)};
  };
  if (!policy->has_event(event)) return refuse(fmt::format("no event '{}' is defined by the policy", event));
  if (!policy->may_trigger(node, event)) return refuse(fmt::format("{} may not trigger event '{}'", node, event));
  Work work;
  const bool first = holds_.trigger(event);
  spdlog::info("event {} triggered by {}{}", event, node, first ? "" : " (again)");
  if (first) work.batch.events.push_back({event, node, now_ms()});
  work.batch.audit.push_back(records_.trigger(node, event, first));
  settle_time(work, fmt::format("event {} (by {})", event, node));
  v1::Frame ack;
  ack.mutable_ack()->set_message_id(event);
  ack.mutable_ack()->set_ok(true);
  work.immediate.emplace_back(node, frame_bytes(ack));
  work.askers.push_back({node, event, Asker::Kind::trigger});
  finish(std::move(work));
  return {true, v1::ERROR_CODE_UNSPECIFIED, {}};
}

// ---- between gateways -------------------------------------------------------

namespace {

HopView hop_view(const federation::PeerForward& forward) {
  HopView view;
  view.kind = "forward";
  view.message_id = forward.message_id;
  view.peer = forward.peer;
  view.origin = forward.origin;
  view.via = forward.via;
  view.hop = forward.hop_count;
  view.outcome = std::string(federation::to_string(forward.outcome));
  view.portions = forward.forwarded;
  for (const auto& withheld : forward.withheld)
    view.withheld.push_back({withheld.portion_id, std::string(policy::to_string(withheld.reason))});
  view.reason = forward.reason;
  return view;
}

HopView hop_view(std::string_view kind, const std::string& from_peer, const ForwardedMessage& frame) {
  HopView view;
  view.kind = kind;
  view.message_id = frame.message.id;
  view.peer = from_peer;
  view.origin = frame.route.origin_gateway;
  view.via = frame.route.via;
  view.hop = frame.route.hop_count;
  for (const auto& portion : frame.message.portions) view.portions.push_back(portion.id);
  return view;
}

FrameBytes answer_frame(const std::string& message_id, bool accepted) {
  v1::Frame ack;
  ack.mutable_ack()->set_message_id(message_id);
  ack.mutable_ack()->set_ok(accepted);
  return frame_bytes(ack);
}

}  // namespace

bool Router::local_node(const std::string& node) const { return policy_()->has_node(node); }

void Router::forward(Work& work, const std::vector<federation::PeerForward>& hops) {
  for (const auto& next : hops) {
    if (next.frame) {
      v1::Frame frame;
      wire::encode(*next.frame, *frame.mutable_forward());
      // Not expired in the outbox: each hop checks the message's expiry for itself.
      owe(work, next.peer, frame, true, next.message_id);
    }
    spdlog::info("forward message={} to peer={} {} portions=[{}] withheld={}{}{}", short_id(next.message_id),
                 next.peer, federation::to_string(next.outcome), fmt::join(next.forwarded, ","), next.withheld.size(),
                 next.reason.empty() ? "" : ": ", next.reason);
    work.batch.audit.push_back(records_.peer_forward(next));
    if (observer()) observer()->hop(hop_view(next));
  }
}

void Router::peer_up(const std::string& peer) {
  PeerLane& lane = peer_lanes_[peer];
  lane.lane = ledger_.open_lane(peer);  // from its first owed frame: what was not answered goes again
  lane.unanswered = 0;
  if (const auto owed = ledger_.owed_count(peer); owed > 0) spdlog::info("peer={} is owed {} frame(s)", peer, owed);
  hand_over_peer(peer, lane);
}

void Router::peer_down(const std::string& peer) {
  auto found = peer_lanes_.find(peer);
  if (found == peer_lanes_.end()) return;
  ledger_.close_lane(peer, found->second.lane);
  peer_lanes_.erase(found);
  if (settled_watch_ && ledger_.owed_count(peer) > 0) settled_watch_();
}

// A peer's window is counted in Forwards sent and not yet answered: its Ack
// comes once the frame is durable there, so a peer that is slow to store
// is sent no more than the window (and the link's queue stays bounded).
// The ledger's own window is returned at once: its bound is this one.
void Router::hand_over_peer(const std::string& peer, PeerLane& lane) {
  while (lane.unanswered < peer_window) {
    auto frames = ledger_.take(peer);
    if (frames.empty()) break;
    std::size_t bytes = 0;
    for (const auto& frame : frames) {
      bytes += frame.bytes->size();
      if (federation_.send) federation_.send(peer, frame.bytes);
      if (frame.needs_ack) ++lane.unanswered;
      // A Forward keeps its key until answered; anything else is settled.
      if (frame.seq > 0 && ledger_.written(peer, frame.seq)) {
        settled_.settled.push_back(frame.seq);
        settle_later();
      }
    }
    if (!ledger_.returned(peer, lane.lane, frames.size(), bytes)) break;
  }
  if (ledger_.behind(peer)) refill(peer);
}

bool Router::peer_answered(const std::string& peer, const std::string& message_id, bool accepted) {
  const auto seq = ledger_.acknowledge(peer, message_id);
  if (!seq) return false;  // answered already, or never owed
  settled_.settled.push_back(*seq);
  settle_later();
  if (accepted)
    spdlog::info("peer={} holds message={}", peer, short_id(message_id));
  else
    spdlog::warn("peer={} refused message={}: settled, not sent again (its audit trail says why)", peer,
                 short_id(message_id));
  if (auto lane = peer_lanes_.find(peer); lane != peer_lanes_.end()) {
    if (lane->second.unanswered > 0) --lane->second.unanswered;
    hand_over_peer(lane->first, lane->second);
  }
  note_settled(peer);
  return true;
}

void Router::refuse_forward(const std::string& from_peer, const ForwardedMessage& frame,
                            const federation::Refused& refused) {
  const std::string& id = frame.message.id;
  spdlog::warn("refused forward message={} from peer={}: {}: {}", short_id(id), from_peer, refused.code(),
               refused.detail);
  Work work;
  work.batch.audit.push_back(records_.peer_refused(from_peer, frame, refused));
  // The originator hears of it too, back along the route (the refusal's
  // step, the values of the record above).
  if (const auto hop = federation_.hop ? federation_.hop() : nullptr)
    report_back(work, from_peer, hop->name(), frame, {federation::refusal_step(hop->name(), frame, refused)});
  if (observer()) {
    HopView view = hop_view("refused", from_peer, frame);
    view.outcome = refused.code();
    view.reason = refused.detail;
    observer()->hop(view);
  }
  // Refused for good: Ack{ok: false} settles it at the sender, which would
  // otherwise send it again on every link; the Error says why. Both once
  // the refusal is in the trail.
  if (!id.empty()) work.immediate.emplace_back(from_peer, answer_frame(id, false));
  work.immediate.emplace_back(
      from_peer, frame_bytes(wire::error_frame(v1::ERROR_CODE_NOT_PERMITTED,
                                               fmt::format("message {} refused: {}: {}", id, refused.code(),
                                                           refused.detail),
                                               false, id)));
  finish(std::move(work));
}

void Router::forward_malformed(const std::string& from_peer, const std::string& message_id,
                               const std::string& problem) {
  ForwardedMessage frame;
  frame.message.id = message_id;
  refuse_forward(from_peer, frame, {federation::HopRefusal::malformed, std::nullopt, problem});
}

// After a failed sync nothing is stored until the gateway restarts: a peer's
// frame is not answered, and its link is closed with INTERNAL, so that the
// peer keeps it owed and sends it again once this gateway is back.
bool Router::closed_for_a_failed_store(const std::string& peer, const std::string& what) {
  if (!store_.restart_required()) return false;
  if (federation_.close)
    federation_.close(peer, v1::ERROR_CODE_INTERNAL,
                      fmt::format("{} was not stored: the gateway's store failed ({})", what, store_.health().reason));
  return true;
}

void Router::answer_again(const std::string& from_peer, const std::string& id) {
  flush_settled();
  store_.commit({}, executor_, [this, from_peer, id](bool ok) {
    if (ok && federation_.send) federation_.send(from_peer, answer_frame(id, true));
  });
}

void Router::forwarded(const std::string& from_peer, ForwardedMessage frame) {
  if (draining_) return;  // not answered: the peer sends it again to whoever comes up next
  const std::string id = frame.message.id;
  const auto hop = federation_.hop ? federation_.hop() : nullptr;
  if (!hop) {
    refuse_forward(from_peer, frame, {federation::HopRefusal::unknown_peer, std::nullopt, kForwardsNothing});
    return;
  }
  if (closed_for_a_failed_store(from_peer, fmt::format("message {}", id))) return;
  const auto policy = hop->shared_policy();
  const std::int64_t now = now_ms();
  federation::ReceiveResult result = hop->receive(
      from_peer, frame, [&](const std::string& node) { return decider_.occasional_available(*policy, node, now); });
  if (!result.accepted()) {
    refuse_forward(from_peer, frame, *result.refused);
    return;
  }
  // A Forward sent again (the link went down before its Ack): answered
  // once what was accepted of it is durable, not decided twice.
  if (checks_.seen(id)) {
    spdlog::info("forward message={} from peer={} again: accepted already", short_id(id), from_peer);
    answer_again(from_peer, id);
    return;
  }
  checks_.accept(id, now);
  Work work;
  work.batch.messages.push_back({id, frame.message.originator, now});
  work.askers.push_back({from_peer, id, Asker::Kind::forward});
  work.batch.audit.push_back(records_.peer_receive(from_peer, frame));
  spdlog::info("forward message={} from peer={} origin={} hop={} portions={} local recipients={} onward={}",
               short_id(id), from_peer, frame.route.origin_gateway, frame.route.hop_count,
               frame.message.portions.size(), result.local.size(), result.onward.size());
  if (observer()) {
    HopView view = hop_view("receive", from_peer, frame);
    view.outcome = "accepted";
    observer()->hop(view);
  }
  // What this gateway's nodes are given, held and recorded is the message
  // under this gateway's scheme (translated by the hop when the origin marks
  // under another, the original labels kept beside), without the binding's
  // salts (a node neither sends nor receives one); the Forwards onward keep
  // theirs, and the labels as signed.
  Message local = result.message(frame);
  for (auto& portion : local.portions) portion.salt.clear();
  // The watcher (the dashboard) knows the message as this gateway holds it,
  // as it knows one submitted here: its labels under this gateway's scheme,
  // its originator a node of the origin gateway.
  if (observer()) observer()->submission(local, *policy, {});
  if (result.translated) work.batch.audit.push_back(records_.labels_translated(from_peer, local));
  std::map<std::vector<std::string>, Hold*> review_holds;
  std::vector<RecipientDecision> decided_here;  // as recorded: for the report back
  decided_here.reserve(result.local.size());
  for (auto& made : result.local) {
    Decided decided{std::move(made.decision), std::move(made.review_roles), made.originator_control,
                    made.no_onward_sharing};
    RecipientDecision& decision = decided.decision;
    decided_here.push_back(decision);
    ++metrics_.decisions.at(static_cast<std::size_t>(decision.decision));
    if (decision.occasional) note_occasional(work, local, decision.node_id, decision.reason);
    if (decision.decision == Decision::hold)
      hold_for_review(work, local, decided, review_holds);
    else if (decision.decision != Decision::deny)
      release(work, local, std::move(decision));
    else
      record_decision(work, local, decision, "");
  }
  for (const auto& name : result.local_unresolved)
    spdlog::info("forward message={} addressee {} resolves to no node here", short_id(id), name);
  open_reviews(work, local, review_holds);
  forward(work, result.onward);
  // This gateway's steps, back to the peer the frame came from and on to the
  // originator: its own recipients' decisions per addressee, then its
  // forwards (the values of its decision and peer_forward records), then
  // what it could neither decide for nor pass on.
  std::vector<HopStep> steps =
      federation::local_steps(hop->name(), frame.route.hop_count + 1, *policy, frame.message, decided_here);
  for (auto& step : federation::forward_steps(hop->name(), result.onward, false)) steps.push_back(std::move(step));
  if (auto step = federation::unresolved_step(hop->name(), frame.route.hop_count + 1, result.unresolved))
    steps.push_back(std::move(*step));
  report_back(work, from_peer, hop->name(), frame, std::move(steps));
  // Answered once all of it is durable (Ack{ok: true}): the sender then forgets it.
  work.immediate.emplace_back(from_peer, answer_frame(id, true));
  finish(std::move(work));
}

void Router::report_back(Work& work, const std::string& to_peer, const std::string& self,
                         const ForwardedMessage& frame, std::vector<HopStep> steps) {
  if (steps.empty() || frame.message.id.empty() || frame.route.origin_gateway.empty()) return;
  HopReport report;
  report.report_id = federation::report_id(frame.message.id, self);
  // Owed once: a frame refused again (its refusal's answer was lost) is not reported twice.
  if (checks_.seen(report.report_id)) return;
  const std::int64_t now = now_ms();
  checks_.accept(report.report_id, now);
  work.batch.messages.push_back({report.report_id, to_peer, now});
  report.message_id = frame.message.id;
  report.originator = frame.message.originator;
  report.path.push_back(frame.route.origin_gateway);
  report.path.insert(report.path.end(), frame.route.via.begin(), frame.route.via.end());
  report.hops = std::move(steps);
  v1::Frame out;
  wire::encode(report, *out.mutable_hop_report());
  spdlog::info("hop report={} to peer={} steps={}", report.report_id, to_peer, report.hops.size());
  owe(work, to_peer, out, true, report.report_id);
}

void Router::refuse_hop_report(const std::string& from_peer, const std::string& report_id,
                               const std::string& problem) {
  spdlog::warn("refused hop report={} from peer={}: {}", report_id, from_peer, problem);
  Work work;
  if (!report_id.empty()) work.immediate.emplace_back(from_peer, answer_frame(report_id, false));
  work.immediate.emplace_back(
      from_peer, frame_bytes(wire::error_frame(v1::ERROR_CODE_NOT_PERMITTED,
                                               fmt::format("hop report {} refused: {}", report_id, problem), false,
                                               report_id)));
  finish(std::move(work));
}

void Router::hop_reported(const std::string& from_peer, HopReport report) {
  if (draining_) return;  // not answered: the peer sends it again on its next link
  const std::string id = report.report_id;
  const auto hop = federation_.hop ? federation_.hop() : nullptr;
  if (!hop) {
    refuse_hop_report(from_peer, id, kForwardsNothing);
    return;
  }
  if (report.path.empty() || report.path.back() != hop->name()) {
    refuse_hop_report(from_peer, id,
                      fmt::format("its route back ends at '{}', not at this gateway ({})",
                                  report.path.empty() ? std::string() : report.path.back(), hop->name()));
    return;
  }
  const bool at_origin = report.path.size() == 1;
  if (!at_origin && !policy::find_peer(hop->policy().source(), report.path[report.path.size() - 2])) {
    refuse_hop_report(from_peer, id,
                      fmt::format("its route back goes to '{}', which is not a peer of this gateway",
                                  report.path[report.path.size() - 2]));
    return;
  }
  if (closed_for_a_failed_store(from_peer, fmt::format("hop report {}", id))) return;
  // Sent again (the link went down before its Ack): answered once what was
  // taken of it is durable, not passed on twice.
  if (checks_.seen(id)) {
    spdlog::info("hop report={} from peer={} again: taken already", id, from_peer);
    answer_again(from_peer, id);
    return;
  }
  const std::int64_t now = now_ms();
  checks_.accept(id, now);
  Work work;
  work.batch.messages.push_back({id, from_peer, now});
  work.askers.push_back({from_peer, id, Asker::Kind::forward});
  if (at_origin) {
    // The originator's follow-up Receipt, owed as every follow-up is: only
    // for a message this gateway accepted, to a node of its own.
    if (local_node(report.originator) && checks_.seen(report.message_id)) {
      v1::Frame frame;
      auto* receipt = frame.mutable_receipt();
      receipt->set_message_id(report.message_id);
      receipt->set_policy_version(policy_()->version());
      receipt->set_follow_up(true);
      for (const auto& step : report.hops) wire::encode(step, *receipt->add_hops());
      spdlog::info("hop report={} from peer={}: {} step(s) for originator={}", id, from_peer, report.hops.size(),
                   report.originator);
      owe(work, report.originator, frame, false, report.message_id);
    } else {
      spdlog::warn("hop report={} from peer={}: originator={} submitted no message {} here: nobody to tell", id,
                   from_peer, report.originator, report.message_id);
    }
  } else {
    report.path.pop_back();
    const std::string back = report.path.back();
    v1::Frame frame;
    wire::encode(report, *frame.mutable_hop_report());
    spdlog::info("hop report={} from peer={} passed back to peer={}", id, from_peer, back);
    owe(work, back, frame, true, id);
  }
  work.immediate.emplace_back(from_peer, answer_frame(id, true));
  finish(std::move(work));
}

RecipientDecision Router::hold_for_review(Work& work, const Message& message, const Decided& made,
                                          std::map<std::vector<std::string>, Hold*>& holds) {
  RecipientDecision decision = made.decision;
  Hold*& hold = holds[made.review_roles];
  if (!hold) {
    std::vector<std::string> roles;
    for (const auto& role : made.review_roles) roles.push_back("role:" + role);
    hold = &open_hold(work, HoldKind::review, message, fmt::format("{}", fmt::join(roles, " or ")), decision.reason);
    hold->reviewer_roles = made.review_roles;
  }
  hold->recipients.push_back(decision);
  decision.hold_id = hold->id;
  decision.held_for = hold->held_for;
  record_decision(work, message, decision, "held for review");
  return decision;
}

void Router::open_reviews(Work& work, const Message& message, const std::map<std::vector<std::string>, Hold*>& holds) {
  const auto policy = policy_();
  for (const auto& [roles, hold] : holds) {
    persist(work, *hold);
    work.batch.audit.push_back(records_.hold_opened(message.originator, message.id, hold->id, "review", hold->held_for));
    // Never its own originator (a remote one is none of this gateway's nodes).
    std::set<std::string> reviewers;
    for (const auto& role : roles)
      for (const auto& node : policy->nodes_with_role(role))
        if (node != message.originator) reviewers.insert(node);
    if (reviewers.empty())
      spdlog::warn("hold={} message={} waits for {} but no node holds that role", short_id(hold->id),
                   short_id(message.id), hold->held_for);
    for (const auto& reviewer : reviewers) request_review(work, *hold, reviewer);
  }
}

}  // namespace icegate::server

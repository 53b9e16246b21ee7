// The router: sessions register here; on Submit it expands the addressees,
// asks the policy for each recipient's decision, and owes each recipient its
// version; it answers the originator; and it keeps the holds (products waiting
// for a critical reader, for the originator's consent to onward release, or
// for an embargo).
//
// Durability: everything one operation changes (the message, the frames it
// owes each node, holds, events, audit records) is written to the store in
// one transaction, and only after that commit is the sender acknowledged and
// anything sent. Frames owed to a node stay in its outbox until acknowledged
// (Deliver) or written (the rest), so they survive restarts and reconnections.
//
// A commit that fails (disk full, I/O error) is fail-stop: whoever asked for
// the operation gets ERROR_CODE_INTERNAL (a Submit also Ack{ok: false}),
// nothing it would have sent is sent, and the router reads its state back
// from the store, which holds exactly what was committed (see commit_failed).
//
// Confined to the gateway's io_context thread (its executor is the guard).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "gateway/audit/audit.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/model/message.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/observer.hpp"
#include "gateway/store/store.hpp"
#include "icegate/v1/icegate.pb.h"

namespace icegate::server {

struct GatewayConfig;
class Session;
class ShadowPolicy;

using FrameBytes = std::shared_ptr<const std::string>;

// A frame on its way to a node; seq > 0 when it comes from the node's outbox.
struct Outgoing {
  FrameBytes bytes;
  std::int64_t seq = 0;
  bool needs_ack = false;
};

// What a request from a node came to, for the session to answer with.
struct SubmitResult {
  bool accepted = false;
  v1::ErrorCode error = v1::ERROR_CODE_UNSPECIFIED;
  std::string error_text;
};

class Router {
 public:
  using PolicyGetter = std::function<std::shared_ptr<const policy::CompiledPolicy>()>;

  Router(const GatewayConfig& config, PolicyGetter policy, store::Store& store, boost::asio::any_io_executor executor);
  // Queues what is still gathering for the store (which outlives the router).
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Loads what the store held: the outboxes, holds, events, replay ids.
  void recover();

  // A session for `node_id` has said Hello; it will pull what the node is owed.
  // Returns the session it replaces, if any.
  std::shared_ptr<Session> attach(const std::string& node_id, const std::shared_ptr<Session>& session);
  void detach(const std::string& node_id, const Session* session);
  std::size_t session_count() const { return sessions_.size(); }
  std::vector<std::shared_ptr<Session>> sessions() const;

  // Handles a decoded Submit from the authenticated node `sender`.
  SubmitResult submit(const std::string& sender, Message message);
  // Where a review decision came from: the reviewer node's own session, or
  // the dashboard acting for it (same rules; the audit record says so, and no
  // Ack is sent to the node, which did not ask).
  enum class ReviewVia { node, dashboard };
  // A reviewer's (or originator's) answer to a hold.
  SubmitResult review(const std::string& decider, const v1::ReviewDecision& decision, ReviewVia via = ReviewVia::node);
  // A named event has happened; embargoes waiting on it lift.
  SubmitResult trigger(const std::string& node, const std::string& event);
  // The first frame owed to `node` after `seq` (in order), or null. Sessions
  // pull from here as their writer drains, so a backlog never floods a
  // session's queue (the outboxes themselves are held in memory: see
  // docs/SECURITY.md).
  const store::OutboxEntry* owed_after(const std::string& node, std::int64_t seq, FrameBytes& bytes) const;
  // A node acknowledged a Deliver. False when no Deliver of that message is
  // awaiting this node's Ack (never sent to it, owed to another node, or
  // acknowledged already): nothing changes then.
  bool acknowledged(const std::string& node, const std::string& message_id);
  // A session wrote an outbox frame that needs no acknowledgement.
  void written(const std::string& node, std::int64_t seq);
  // Lifts embargoes whose time has come (called periodically by the gateway).
  void tick();
  // Appends an audit record on its own (connections, refusals, reloads).
  void audit(audit::AuditRecord record);
  // Runs `then` once everything queued so far is committed (for draining).
  void after_commits(std::function<void()> then);

  std::size_t hold_count() const { return holds_.size(); }
  // Every open hold, for watchers.
  std::vector<HoldView> holds() const;
  bool is_connected(const std::string& node) const { return connected(node); }
  std::size_t owed_count() const;
  // Frames owed to nodes that are connected now: zero when everything sent has arrived.
  std::size_t owed_to_connected() const;

  // The watcher (null: nobody watches, and the hooks cost a pointer check).
  Observer* observer() const { return observer_; }
  void set_observer(Observer* observer) { observer_ = observer; }
  // The shadow policy to compare every submission with (null: none). Not owned.
  void set_shadow(ShadowPolicy* shadow) { shadow_ = shadow; }
  GatewayMetrics& metrics() { return metrics_; }
  const GatewayMetrics& metrics() const { return metrics_; }

 private:
  enum class HoldKind { review = 1, consent = 2, embargo = 3 };

  struct Hold {
    std::string id;
    HoldKind kind = HoldKind::review;
    Message message;
    std::vector<RecipientDecision> recipients;  // what each would get once released
    std::vector<std::string> reviewer_roles;    // review: any node holding one may act
    std::string consent_node;                   // consent: the originator who must agree
    std::string held_for;
    std::string reason;
  };

  // A message whose content is under originator control or may not be shared onward.
  struct ControlledContent {
    std::string message_id;
    std::string originator;
    Handling handling;
    std::set<std::string, std::less<>> recipients;
    std::vector<std::string> digests;
  };

  // A node that asked for an operation: told ERROR_CODE_INTERNAL if its commit fails.
  struct Asker {
    enum class Kind { submit, hold_decision, trigger };
    std::string node;
    std::string id;  // the Error's message_id: the message, hold or event concerned
    Kind kind = Kind::submit;  // a Submit also gets Ack{ok: false}, as every refused Submit does
    // "message ID", "the decision on hold ID", "the trigger of event ID":
    // made only when a commit fails, not on every operation.
    std::string what() const;
  };

  // What one operation writes, and what it sends once that is committed.
  struct Work {
    store::Batch batch;
    std::vector<std::pair<std::string, FrameBytes>> immediate;  // sent after commit, never stored
    std::vector<std::string> holds_touched;  // opened or given recipients: told to the observer
    std::vector<Asker> askers;               // told if the commit fails
  };

  struct Delivered {
    RecipientDecision decision;
    bool delivered = false;
  };

  void finish(Work work);
  // The commit of an operation queued in store epoch `epoch` failed, or was
  // refused behind one that failed: tells the askers, and (once per epoch)
  // reads the router's state back from the store and resumes it.
  void commit_failed(std::uint64_t epoch, const std::vector<Asker>& askers);
  // Loads what the store holds into the (empty) in-memory state. Returns the
  // work of settling owed frames too large to send (see refuse_oversized).
  Work load(store::Recovered recovered);
  // Forgets the in-memory state that mirrors the store, then loads it again.
  Work reload();
  // Owes `node` a frame: stored in its outbox and sent after the commit.
  void owe(Work& work, const std::string& node, const v1::Frame& frame, bool needs_ack = false,
           const std::string& message_id = {}, std::int64_t not_after = 0, const std::string& originator = {},
           const RecipientDecision* outcome = nullptr);
  bool connected(const std::string& node) const;
  // `prepared`: the Deliver frame for exactly this decision, if already built.
  Delivered release(Work& work, const Message& message, RecipientDecision decision,
                    std::optional<v1::Frame>* prepared = nullptr);
  Delivered deliver_version(Work& work, const Message& message, RecipientDecision decision,
                            std::optional<v1::Frame>* prepared = nullptr);
  // A follow-up Receipt to `originator` with these outcomes (none: nothing owed).
  void send_follow_up(Work& work, const std::string& originator, const std::string& message_id,
                      const std::vector<Delivered>& outcomes);
  // What an owed Deliver's recipient will now not get: its outcome as stored, DENY for `reason`.
  RecipientDecision denied(const store::OutboxEntry& entry, std::string reason) const;
  Hold& open_hold(Work& work, HoldKind kind, const Message& message, std::string held_for, std::string reason);
  HoldView view(const Hold& hold) const;
  bool may_decide(const policy::CompiledPolicy& policy, const Hold& hold, std::string_view node) const;
  void persist(Work& work, const Hold& hold);
  void request_review(Work& work, const Hold& hold, const std::string& reviewer);
  void lift_embargo(Work& work, Hold& hold, std::string_view by);
  bool embargo_lifted(const Handling& handling) const;
  const ControlledContent* controlled_source(const Message& message) const;
  void remember_controlled(Work& work, const Message& message, const Handling& handling,
                           const std::vector<std::string>& recipients);
  // `at`: when the decision took effect, if not now (an expiry takes effect at not_after).
  void record_decision(Work& work, const Message& message, const RecipientDecision& decision, std::string_view state,
                       std::int64_t at = 0);
  bool expired(const Handling& handling) const;
  // Closes a hold whose message expired: every recipient DENY, the originator told.
  void expire_hold(Work& work, Hold& hold);
  // An owed Deliver that expired undelivered: settled, the originator told.
  void expire_queued(Work& work, const store::OutboxEntry& entry);
  // What the clock (or an event, `by`) settles now: expired holds and queued
  // Delivers, then embargoes that lift.
  void settle_time(Work& work, std::string_view by);
  audit::AuditRecord record(std::string kind, std::string node) const;

  struct Decided {
    RecipientDecision decision;
    std::vector<std::string> review_roles;
    bool originator_control = false;
    bool no_onward_sharing = false;
  };
  // The policy's decision for one recipient; changes nothing (an occasional
  // release it grants is recorded by note_occasional once the Submit is accepted).
  Decided decide(const policy::CompiledPolicy& policy, const Message& message, const std::string& recipient);
  void note_occasional(Work& work, const Message& message, const std::string& recipient, const std::string& reason);
  // Why the frames `message` would make the gateway owe do not all fit the
  // frame limit (empty when they do). `delivers` receives the Deliver frame
  // of each recipient released to at once, to be sent as it is.
  std::string oversized(const Message& message, const policy::Expansion& expansion,
                        const std::vector<Decided>& decided, std::vector<std::optional<v1::Frame>>& delivers) const;
  // An owed frame over the frame limit (from a store written with a larger
  // limit): never sent, settled at once, its originator told. True if so.
  bool refuse_oversized(Work& work, const store::OutboxEntry& entry, std::size_t frame_bytes);
  v1::Frame deliver_frame(const Message& message, const RecipientDecision& decision) const;
  bool occasional_available(const policy::CompiledPolicy& policy, const std::string& node_id);
  std::int64_t now_ms() const;

  const GatewayConfig& config_;
  PolicyGetter policy_;
  store::Store& store_;
  boost::asio::any_io_executor executor_;
  std::map<std::string, std::weak_ptr<Session>, std::less<>> sessions_;
  // Each node's outbox as committed: what it is owed, by seq. Mirrors the store.
  struct Owed {
    store::OutboxEntry entry;  // frame bytes moved out into `bytes`
    FrameBytes bytes;
  };
  std::map<std::string, std::map<std::int64_t, Owed>, std::less<>> outbox_;
  // node -> message id -> seq of the Deliver awaiting that node's Ack.
  std::map<std::string, std::map<std::string, std::int64_t, std::less<>>, std::less<>> awaiting_ack_;
  // not_after -> (node, seq) of owed frames that expire, for tick() to settle on time.
  std::multimap<std::int64_t, std::pair<std::string, std::int64_t>> expiring_;
  // Returns the node's name as the outbox map keeps it (stable).
  const std::string& add_owed(store::OutboxEntry entry, FrameBytes bytes);
  // Outbox rows to delete (acknowledged Delivers, written frames), not yet queued for a commit.
  store::Batch settled_;
  bool settle_posted_ = false;
  // `told`: a failed commit of the settlements triggers commit_failed (not from the destructor).
  void flush_settled(bool told = true);
  void settle_later();
  std::set<std::string, std::less<>> seen_message_ids_;
  std::map<std::string, std::deque<std::int64_t>, std::less<>> occasional_uses_;
  std::map<std::string, Hold, std::less<>> holds_;
  std::map<std::string, std::string, std::less<>> closed_holds_;  // hold id -> what became of it
  std::set<std::string, std::less<>> triggered_events_;
  std::map<std::string, ControlledContent, std::less<>> controlled_;       // by message id
  std::map<std::string, std::string, std::less<>> controlled_by_content_;  // body digest -> message id
  Observer* observer_ = nullptr;
  ShadowPolicy* shadow_ = nullptr;
  GatewayMetrics metrics_;
};

}  // namespace icegate::server

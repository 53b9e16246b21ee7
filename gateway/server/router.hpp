// The router: the coordinator of the message path. A session hands it what a
// node asked for (submit, review, trigger, Ack); it runs the components in
// one direction and owns the transaction around them:
//
//   SubmitChecks -> Decider -> HoldsBook -> store commit -> DeliveryLedger -> Session::deliver
//   (refusal)       (policy)   (review,       (one batch,     (outboxes,        (a window of
//                               consent,       AuditRecords    acks, lanes)       owed frames)
//                               embargo)       built for it)
//
// Sessions never call back to pull frames: once a commit is durable the
// router hands each connected node's session what its delivery window has
// room for, and a session's report that it wrote them (written) opens the
// window again. See docs/ARCHITECTURE.md.
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
// Guard: the router and every component it owns are confined to the
// gateway's io_context thread, the decision thread (its executor is the
// guard): every member function is called there, unless its comment says
// otherwise. Sessions run on their own threads (`serve --threads`); what
// crosses between them is values (frame bytes shared read-only, seqs, lanes,
// decoded messages), never a reference into the router's maps: a session runs
// its requests on this executor (Session::on_router) and the router's calls
// to a session are dispatched to the session's (Session::deliver, reply).
// Only the observer pointer and two frame counters are read from session
// threads: they are atomics.
#pragma once

#include <atomic>
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
#include "gateway/federation/hop.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/model/route.hpp"
#include "gateway/model/message.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/audit_records.hpp"
#include "gateway/server/controlled_content.hpp"
#include "gateway/server/decider.hpp"
#include "gateway/server/delivery_ledger.hpp"
#include "gateway/server/holds_book.hpp"
#include "gateway/server/observer.hpp"
#include "gateway/server/submit_checks.hpp"
#include "gateway/store/store.hpp"
#include "icegate/v1/icegate.pb.h"

namespace icegate::server {

struct GatewayConfig;
class Session;
class ShadowPolicy;

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

  // A session for `node_id` has said Hello. The router hands it what the node
  // is owed (Session::deliver), a window at a time. Returns the session it
  // replaces, if any, and the session's delivery lane (named when it reports
  // frames written).
  struct Attachment {
    std::shared_ptr<Session> replaced;
    std::uint64_t lane = 0;
  };
  Attachment attach(const std::string& node_id, const std::shared_ptr<Session>& session);
  // The session of `lane` has ended: what it was handed and did not write is
  // handed again to the node's next session. (`session` may have gone already.)
  void detach(const std::string& node_id, const std::weak_ptr<Session>& session, std::uint64_t lane);
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
  // A node acknowledged a Deliver. False when no Deliver of that message is
  // awaiting this node's Ack (never sent to it, owed to another node, or
  // acknowledged already): nothing changes then.
  bool acknowledged(const std::string& node, const std::string& message_id);
  // The session of `lane` wrote these frames (an event, not a request: the
  // session pulls nothing). Owed frames that need no Ack are settled, and the
  // lane's window opens by as many owed frames as were written, so the router
  // hands the session more (a backlog never floods a session's queue; of the
  // outboxes only the first frames of each are in memory, the rest read back
  // from the store as they are needed: see DeliveryLedger).
  void written(const std::string& node, std::uint64_t lane, const std::vector<Outgoing>& frames);
  // Lifts embargoes whose time has come (called periodically by the gateway).
  void tick();

  // ---- Between gateways (docs/FEDERATION.md) ----
  // A peer is, to the router, a node it owes frames to: each Forward to a
  // next peer is owed in that peer's outbox (the peer's id is never a node's:
  // `policy check` refuses that), sent while its link is up, and kept until
  // the peer's Ack, which the peer sends once the frame is durable in its own
  // store. So the exactly-once rule, the byte bound and recovery after a
  // crash are the nodes' own.
  struct Federation {
    // The hop of the policy in force (null: no peers, or no signing key).
    std::function<std::shared_ptr<const federation::Hop>()> hop;
    // Sends frame bytes on the peer's link; false when no link is up.
    std::function<bool(const std::string& peer, FrameBytes bytes)> send;
    // Closes the peer's link with a fatal Error (it redials, and is sent again what it has not acknowledged).
    std::function<void(const std::string& peer, v1::ErrorCode code, std::string text)> close;
  };
  void set_federation(Federation federation) { federation_ = std::move(federation); }
  // A link with `peer` is up (a new one each time): it is handed what it is owed.
  void peer_up(const std::string& peer);
  void peer_down(const std::string& peer);
  // A Forward from `from_peer` (authenticated by its link): refused whole, or
  // accepted, decided for each local recipient, passed on to next peers, and
  // committed in one batch; the peer is sent Ack{ok: true} once that is
  // durable, or Ack{ok: false} and an Error naming why it was refused.
  void forwarded(const std::string& from_peer, ForwardedMessage frame);
  // A Forward from `from_peer` that could not be decoded: refused, as above.
  void forward_malformed(const std::string& from_peer, const std::string& message_id, const std::string& problem);
  // The peer's answer to a Forward this gateway owed it: accepted (durable
  // there) or refused. Either way it is settled here. False when no Forward
  // of that message awaits this peer's answer.
  bool peer_answered(const std::string& peer, const std::string& message_id, bool accepted);
  // A HopReport from `from_peer`: the steps a gateway further along decided
  // for a message this gateway forwarded (docs/FEDERATION.md, "The
  // originator's Receipt, hop by hop"). At the origin, a follow-up Receipt
  // owed to the originator; at a transit gateway, the report owed to the
  // gateway before it on the route. Taken once per report id, and answered
  // Ack{ok: true, message_id: report id} once that is durable; a report not
  // for this gateway is answered Ack{ok: false} and an Error.
  void hop_reported(const std::string& from_peer, HopReport report);
  // A HopReport from `from_peer` that could not be decoded, or not taken: answered as refused.
  void refuse_hop_report(const std::string& from_peer, const std::string& report_id, const std::string& problem);
  // Frames sent to a peer and not yet answered, at most, before more are sent.
  static constexpr std::size_t peer_window = 256;
  // Appends an audit record on its own (connections, refusals, reloads). No
  // one waits for it to be durable, so the store may hold it back briefly to
  // share a transaction with what follows (store::Batch::unawaited).
  void audit(audit::AuditRecord record);
  // Runs `then` once everything queued so far is committed (for draining).
  void after_commits(std::function<void()> then);
  // The gateway is draining: requests reaching the router from now on are
  // not handled (nor answered), as a session's reader does not read them.
  void drain() { draining_ = true; }
  bool draining() const { return draining_; }
  // The decision thread's executor. Any thread.
  const boost::asio::any_io_executor& executor() const { return executor_; }

  std::size_t hold_count() const { return holds_.size(); }
  // Every open hold, for watchers.
  std::vector<HoldView> holds() const;
  bool is_connected(const std::string& node) const { return connected(node); }
  std::size_t owed_count() const;
  // Frames owed to one node (or peer gateway).
  std::size_t owed_count(std::string_view node) const { return ledger_.owed_count(node); }
  // Owed frames held in memory with their bytes (bounded: DeliveryLedger).
  std::size_t resident_frames() const { return ledger_.resident_frames(); }
  std::size_t resident_frames(std::string_view node) const { return ledger_.resident_frames(node); }
  // The bytes of those frames (bounded: DeliveryLedger), over every node and for `node`.
  std::size_t resident_bytes() const { return ledger_.resident_bytes(); }
  std::size_t resident_bytes(std::string_view node) const { return ledger_.resident_bytes(node); }
  // Entries of the in-memory index of owed frames that expire (resident ones only).
  std::size_t expiry_entries() const { return ledger_.expiry_entries(); }
  // Message ids held in memory for duplicate detection (bounded: SubmitChecks).
  std::size_t message_ids_held() const { return checks_.seen_count(); }
  // Frames owed to nodes that are connected now: zero when everything sent has arrived.
  std::size_t owed_to_connected() const;

  // The watcher (null: nobody watches, and the hooks cost a pointer check).
  // observer() may be read from any thread (a session checks whether to post
  // it a frame); the observer itself is only called on the router's executor.
  Observer* observer() const { return observer_.load(std::memory_order_acquire); }
  void set_observer(Observer* observer) { observer_.store(observer, std::memory_order_release); }
  // Tells a waiter (the exercise runner, which waits for everything sent to
  // have arrived) when owed_to_connected() may have dropped to zero: a node's
  // outbox emptied (its last Deliver acknowledged, its last other frame
  // written), or a node still owed frames disconnected. Called on this
  // executor, as it happens; it may read the router (owed_to_connected()) but
  // must not change it, and a waiter on another thread is best signalled to
  // ask. Empty: nobody waits.
  void set_settled_watch(std::function<void()> watch) { settled_watch_ = std::move(watch); }
  // The nodes written an owed frame that needs no acknowledgement (a Receipt,
  // a review request) since the last call. Such a frame is settled once
  // written, so it may still be on its way: a waiter asks each node for an
  // echo, which arrives after it. Kept only while a settled watch is set.
  std::vector<std::string> take_written_unacknowledged();
  // The shadow policy to compare every submission with (null: none). Not owned.
  void set_shadow(ShadowPolicy* shadow) { shadow_ = shadow; }
  GatewayMetrics& metrics() { return metrics_; }
  const GatewayMetrics& metrics() const { return metrics_; }

 private:
  // A node that asked for an operation: told ERROR_CODE_INTERNAL if its commit fails.
  struct Asker {
    enum class Kind { submit, hold_decision, trigger, forward };
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
  // The same with the frame already encoded (wire::encode_frame).
  void owe_encoded(Work& work, const std::string& node, std::string frame, bool needs_ack,
                   const std::string& message_id, std::int64_t not_after, const std::string& originator,
                   const RecipientDecision* outcome);
  // A Deliver whose frame other entries may share (frame_id 0: none do).
  void owe_shared(Work& work, const std::string& node, FrameBytes frame, std::int64_t frame_id,
                  const std::string& message_id, std::int64_t not_after, const std::string& originator,
                  const RecipientDecision& outcome);
  bool connected(std::string_view node) const;
  // Hands `node`'s session what its delivery window has room for.
  void hand_over(std::string_view node);
  // Reads back frames owed to `node` that wait on disk, or the bytes of those
  // to be sent again, off this thread (DeliveryLedger::next_read).
  void refill(const std::string& node);
  // A Deliver frame for exactly one decision, already built and encoded
  // (shared by the recipients who get the same version); with an id when
  // more than one recipient gets it, so that the store keeps it once
  // (store::OutboxEntry::frame_id).
  struct Prepared {
    FrameBytes frame;
    std::int64_t frame_id = 0;
  };
  Delivered release(Work& work, const Message& message, RecipientDecision decision,
                    const Prepared* prepared = nullptr);
  Delivered deliver_version(Work& work, const Message& message, RecipientDecision decision,
                            const Prepared* prepared = nullptr);
  // A follow-up Receipt to `originator` with these outcomes (none: nothing owed).
  void send_follow_up(Work& work, const std::string& originator, const std::string& message_id,
                      const std::vector<Delivered>& outcomes);
  // What an owed Deliver's recipient will now not get: its outcome as stored, DENY for `reason`.
  RecipientDecision denied(const store::OutboxEntry& entry, std::string reason) const;
  Hold& open_hold(Work& work, HoldKind kind, const Message& message, std::string held_for, std::string reason);
  HoldView view(const Hold& hold) const;
  void persist(Work& work, const Hold& hold);
  void request_review(Work& work, const Hold& hold, const std::string& reviewer);
  // Releases an embargo hold's recipients and closes it.
  void lift_embargo(Work& work, Hold& hold, std::string_view by);
  bool embargo_lifted(const Handling& handling) const;
  // `at`: when the decision took effect, if not now (an expiry takes effect at not_after).
  void record_decision(Work& work, const Message& message, const RecipientDecision& decision, std::string_view state,
                       std::int64_t at = 0);
  bool expired(const Handling& handling) const;
  // Closes a hold whose message expired: every recipient DENY, the originator told.
  void expire_hold(Work& work, const Hold& hold);
  // An owed Deliver that expired undelivered: settled, the originator told.
  void expire_queued(Work& work, const store::OutboxEntry& entry);
  // What the clock (or an event, `by`) settles now: expired holds and queued
  // Delivers, then embargoes that lift.
  void settle_time(Work& work, std::string_view by);

  void note_occasional(Work& work, const Message& message, const std::string& recipient, const std::string& reason);
  // Why the frames `message` would make the gateway owe do not all fit the
  // frame limit (empty when they do). `delivers` receives the encoded
  // Deliver frame of each recipient not denied, to be sent as it is if
  // released at once: one frame, shared, for the recipients who get the same
  // version with the same decision, rules and reason.
  std::string oversized(const Message& message, const policy::Expansion& expansion,
                        const std::vector<Decided>& decided, std::vector<FrameBytes>& delivers) const;
  // An owed frame over the frame limit (from a store written with a larger
  // limit): never sent, settled at once, its originator told. True if so.
  bool refuse_oversized(Work& work, const store::OutboxEntry& entry, std::size_t frame_bytes);
  void deliver_frame(const Message& message, const RecipientDecision& decision, v1::Frame& frame) const;
  std::int64_t now_ms() const;

  // Between gateways: the Forward for each next peer owed (and audited,
  // whether it goes or not) in `work`.
  void forward(Work& work, const std::vector<federation::PeerForward>& hops);
  // Sends a peer what it is owed while its window has room.
  struct PeerLane {
    std::uint64_t lane = 0;
    std::size_t unanswered = 0;  // Forwards sent on this link and not yet answered
  };
  void hand_over_peer(const std::string& peer, PeerLane& lane);
  void refuse_forward(const std::string& from_peer, const ForwardedMessage& frame, const federation::Refused& refused);
  // True (and the peer's link closed) when a failed sync means nothing is stored until restart.
  bool closed_for_a_failed_store(const std::string& peer, const std::string& what);
  // A frame `id` from `from_peer` that was taken before (its answer was lost):
  // answered Ack{ok: true} again once everything before it is durable, not taken twice.
  void answer_again(const std::string& from_peer, const std::string& id);
  // Owes `to_peer` a HopReport of `steps` (the gateway `self`'s own
  // decisions on `frame`, which came from `to_peer`), unless it was owed before.
  void report_back(Work& work, const std::string& to_peer, const std::string& self, const ForwardedMessage& frame,
                   std::vector<HopStep> steps);
  // A recipient held for review: the hold for its reviewer roles (opened the
  // first time), and the decision as held. Then open_reviews asks for them.
  RecipientDecision hold_for_review(Work& work, const Message& message, const Decided& made,
                                    std::map<std::vector<std::string>, Hold*>& holds);
  void open_reviews(Work& work, const Message& message, const std::map<std::vector<std::string>, Hold*>& holds);
  // Whether `node` is one of this gateway's nodes (an originator to tell), not a remote sender.
  bool local_node(const std::string& node) const;

  const GatewayConfig& config_;
  PolicyGetter policy_;
  store::Store& store_;
  boost::asio::any_io_executor executor_;
  // The connected sessions, by node (each with its delivery lane in ledger_).
  std::map<std::string, std::weak_ptr<Session>, std::less<>> sessions_;
  // What each node is owed and has acknowledged, and what its session holds.
  DeliveryLedger ledger_;
  // Builds every audit record the router writes.
  AuditRecords records_;
  // The outcome last stored with an owed Deliver (see owe_encoded), and
  // the decision it was encoded from: a fan-out's recipients of one version,
  // and messages decided alike one after another, share it.
  std::optional<RecipientDecision> outcome_of_;
  std::string outcome_;
  // Outbox rows to delete (acknowledged Delivers, written frames), not yet queued for a commit.
  store::Batch settled_;
  bool settle_posted_ = false;
  // `told`: a failed commit of the settlements triggers commit_failed (not from the destructor).
  void flush_settled(bool told = true);
  void settle_later();
  // What a Submit must pass before it is decided (and the ids accepted).
  SubmitChecks checks_;
  // The policy's decisions (and the occasional releases used).
  Decider decider_;
  // Products waiting for a review, consent or an embargo, and what became of closed ones.
  HoldsBook holds_;
  // Content under its originator's control, recognised when re-sent.
  ControlledContentBook controlled_;
  // guarded by: atomic (read from session threads; set on this executor).
  std::atomic<Observer*> observer_ = nullptr;
  bool draining_ = false;
  // See set_settled_watch; note_settled tells it when `node`'s outbox is empty.
  std::function<void()> settled_watch_;
  std::set<std::string, std::less<>> written_unacknowledged_;  // see take_written_unacknowledged
  void note_settled(std::string_view node);
  ShadowPolicy* shadow_ = nullptr;
  Federation federation_;
  // The peers whose link is up, each with its lane in ledger_.
  std::map<std::string, PeerLane, std::less<>> peer_lanes_;
  // Expires with the router: a store read that comes back after it has gone is dropped.
  std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);
  // guarded by: this executor, except frames_in and frames_out (atomics,
  // counted by the sessions on their threads).
  GatewayMetrics metrics_;
};

}  // namespace icegate::server

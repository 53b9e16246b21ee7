// The delivery ledger: what each node is owed (its outbox, as committed) and
// what it has acknowledged, and which of those frames have been handed to the
// node's session.
//
// Owns: the outboxes (node -> seq -> frame), the Delivers awaiting each node's
// Ack, the index of owed frames that expire, and one delivery lane per
// connected node (how far its session has been handed frames, and how many
// are still in the session's hands). It knows nothing of sessions, the store
// or the policy: the router adds what a commit made durable, and hands a
// session what `take` returns.
//
// The window: a lane holds at most `window_frames` frames and `window_bytes`
// bytes handed and not yet written (always at least one frame). A node owed a
// backlog of a million frames so never has more than a window of them queued
// in its session; the rest stay here until the session reports them written.
//
// Guard: none of its own. It is state of the router and confined to the
// router's executor, as the router is.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/store/store.hpp"

namespace icegate::server {

using FrameBytes = std::shared_ptr<const std::string>;

// A frame on its way to a node; seq > 0 when it comes from the node's outbox.
struct Outgoing {
  FrameBytes bytes;
  std::int64_t seq = 0;
  bool needs_ack = false;
};

class DeliveryLedger {
 public:
  // A session's writer coalesces up to 64 KiB per write: a window of that
  // size keeps it as busy as pulling did.
  static constexpr std::size_t default_window_frames = 256;
  static constexpr std::size_t default_window_bytes = 64 * 1024;

  explicit DeliveryLedger(std::size_t window_frames = default_window_frames,
                          std::size_t window_bytes = default_window_bytes);

  // ---- what is owed ----
  // Owes `entry.node` a committed frame (its bytes moved out of the entry into
  // `bytes`). Seqs are added in increasing order per node. Returns the node's
  // name as the ledger keeps it (stable while the node is owed anything).
  const std::string& add(store::OutboxEntry entry, FrameBytes bytes);
  // The node acknowledged the Deliver of `message_id`: it leaves the outbox.
  // False (nothing changes) when no Deliver of that message awaits its Ack.
  bool acknowledge(std::string_view node, std::string_view message_id);
  // An owed frame that needs no Ack was written: it leaves the outbox. False
  // when it is not owed, or needs an Ack.
  bool written(std::string_view node, std::int64_t seq);
  // Drops the frame `seq` wherever it is owed (a settlement read back after a
  // failed commit).
  void forget(std::int64_t seq);
  // Owed to `node` and expired at `now` (not_after < now): removed and returned.
  std::vector<store::OutboxEntry> expire_owed_to(std::string_view node, std::int64_t now);
  // Owed to nodes for which `skip` is false and expired before `now`: removed
  // and returned, in expiry order.
  std::vector<store::OutboxEntry> expire_before(std::int64_t now, const std::function<bool(std::string_view)>& skip);
  // Forgets everything owed (to be loaded again); the lanes stay, with their
  // cursors (seqs do not change across a reload).
  void clear_owed();

  std::size_t owed_count() const;
  std::size_t owed_count(std::string_view node) const;
  std::size_t node_count() const { return outbox_.size(); }
  // Every node owed something, with how many frames.
  std::vector<std::pair<std::string, std::size_t>> owed_by_node() const;

  // ---- delivery lanes ----
  // A session for `node` starts taking frames: from its first owed frame, with
  // an empty window. Replaces the node's previous lane. Returns the lane's id.
  std::uint64_t open_lane(const std::string& node);
  // The session of lane `lane` has gone (nothing if a newer lane replaced it).
  void close_lane(std::string_view node, std::uint64_t lane);
  bool has_lane(std::string_view node) const { return lanes_.find(node) != lanes_.end(); }
  // The frames `node`'s lane may be handed now, in seq order: those after its
  // cursor, as many as its window has room for. They count as in the
  // session's hands until `returned`.
  std::vector<Outgoing> take(std::string_view node);
  // The session of `lane` wrote `frames` frames of `bytes` bytes that it was
  // handed: its window has room for as many again. Ignored for a lane that
  // was replaced or closed. True if the window opened.
  bool returned(std::string_view node, std::uint64_t lane, std::size_t frames, std::size_t bytes);
  // Frames handed to `node`'s lane and not yet written (0 without a lane).
  std::size_t in_flight(std::string_view node) const;
  // The nodes with a lane.
  std::vector<std::string> lane_nodes() const;

 private:
  struct Owed {
    store::OutboxEntry entry;  // frame bytes moved out into `bytes`
    FrameBytes bytes;
  };
  struct Lane {
    std::uint64_t id = 0;
    std::int64_t handed_up_to = 0;  // the last seq handed to the session
    std::size_t frames_in_flight = 0;
    std::size_t bytes_in_flight = 0;
  };
  void erase_awaiting(const store::OutboxEntry& entry);

  std::size_t window_frames_;
  std::size_t window_bytes_;
  // Each node's outbox as committed: what it is owed, by seq. Mirrors the store.
  std::map<std::string, std::map<std::int64_t, Owed>, std::less<>> outbox_;
  // node -> message id -> seq of the Deliver awaiting that node's Ack.
  std::map<std::string, std::map<std::string, std::int64_t, std::less<>>, std::less<>> awaiting_ack_;
  // not_after -> (node, seq) of owed frames that expire (stale pairs are skipped).
  std::multimap<std::int64_t, std::pair<std::string, std::int64_t>> expiring_;
  std::map<std::string, Lane, std::less<>> lanes_;
  std::uint64_t next_lane_ = 1;
};

}  // namespace icegate::server

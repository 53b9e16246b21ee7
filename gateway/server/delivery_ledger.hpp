// The delivery ledger: what each node is owed (its outbox, as committed) and
// what it has acknowledged, and which of those frames have been handed to the
// node's session.
//
// Owns: the outboxes (node -> count owed, and the first frames by seq), the
// Delivers awaiting each node's Ack (of those resident), the index of owed
// frames that expire, and one delivery lane per connected node (how far its
// session has been handed frames, and how many are still in the session's
// hands). It knows nothing of sessions, the store or the policy: the router
// adds what a commit made durable, reads frames back from disk for it
// (Reader, Loader), and hands a session what `take` returns.
//
// The window: a lane holds at most `window_frames` frames and `window_bytes`
// bytes handed and not yet written (always at least one frame). A node owed a
// backlog of a million frames so never has more than a window of them queued
// in its session; the rest stay here until the session reports them written.
//
// Resident frames: of what a node is owed, only the first `resident_frames`
// (by seq) are held here, and of their bytes at most `resident_bytes` per
// node and `total_bytes` over every node (always one frame's a node, however
// large, so that no node waits for another's); the rest stay on disk,
// counted, and are read back in seq order as the resident ones leave. When
// the total is full and a connected node needs room, the bytes held for
// nodes without a lane (offline) are taken back, their newest frames' first:
// they keep their keys and are read back when their node connects. A
// Deliver written to the node and awaiting its Ack keeps only its key (seq,
// message id, the outbox row's fields): its bytes are dropped when the
// session reports it written, and read back from disk only if it must be
// sent again (a new lane, after a reconnect). So a node that reads but never
// acknowledges holds at most `resident_frames` keys and is handed nothing
// more (it is throttled), and one that does not read is handed at most a
// window and is disconnected by the session's write deadline.
//
// Reads from disk are asked for, not made: `next_read` says what to read for
// a node (the frames beyond those resident, and the bytes of resident ones
// about to be handed again), at most one read per node at a time; the router
// runs it off this thread (Store::read_owed) and hands the page to
// `read_done`. Anything that changed meanwhile is accounted for there: frames
// settled on disk while the read was under way (`gone`) are skipped, frames
// committed meanwhile stay counted on disk, and a read asked for before
// clear_owed() is ignored. (`refill` runs the same steps with a Reader called
// at once.) A frame committed for a node whose
// backlog is on disk is only counted: it is read back in its turn. What
// expires is indexed by (not_after, node, seq) for the resident frames only;
// for those on disk the ledger keeps one time, the earliest any of them may
// expire, and when it passes has the store's expiry index read a few pages
// at a time (next_disk_scan; the router runs the scan on the store's reader
// thread, and hands what it found to disk_scan_done) to settle the frames on
// disk that expired. So memory is
// bounded by the resident frames, however many frames on disk expire. See
// docs/ARCHITECTURE.md, "Memory bounds".
//
// Guard: none of its own. It is state of the router and confined to the
// router's executor, as the router is.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
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
  // Owed frames held in memory per node at most (the rest on disk): four
  // windows, so that a session is never starved while Acks are on their way.
  static constexpr std::size_t default_resident_frames = 4 * default_window_frames;
  // Bytes of those frames held in memory per node at most (16 windows), and
  // over every node (the one frame a node may always hold aside).
  static constexpr std::size_t default_resident_bytes = 16 * default_window_bytes;  // 1 MiB
  static constexpr std::size_t default_total_bytes = 256 * default_resident_bytes;  // 256 MiB

  // Reads `node`'s owed frames with after < seq <= through, by seq, at most
  // `limit` and `max_bytes` of frames (always the first), as Store::read_owed does.
  using Reader = std::function<store::Store::OwedPage(const std::string& node, std::int64_t after,
                                                      std::int64_t through, std::size_t limit, std::size_t max_bytes)>;
  // Reads, over every node, owed frames (without their bytes) that expire
  // before `before`, in expiry order after the position (not_after, seq), at
  // most `limit`; and the earliest expiry at or after `from` (0: none).
  struct ExpiryIndex {
    store::Store::ExpiryPageReader scan;
    store::Store::NextExpiryReader next;
  };
  // Frames read from the expiry index at most per expire_before call: a
  // million frames expiring at once are settled over many ticks.
  static constexpr std::size_t expiry_scan_page = 1024;
  static constexpr std::size_t expiry_scan_pages_per_call = 4;

  explicit DeliveryLedger(std::size_t window_frames = default_window_frames,
                          std::size_t window_bytes = default_window_bytes,
                          std::size_t resident_frames = default_resident_frames,
                          std::size_t resident_bytes = default_resident_bytes,
                          std::size_t total_bytes = default_total_bytes);

  // ---- what is owed ----
  // Owes `entry.node` a committed frame (its bytes moved out of the entry into
  // `bytes`). Seqs are added in increasing order per node. Returns the node's
  // name as the ledger keeps it (stable while the node is owed anything).
  // If the node's backlog is on disk (or its resident frames are full) the
  // frame is only counted, and its bytes dropped: it is read back in turn.
  const std::string& add(store::OutboxEntry entry, FrameBytes bytes);
  // After a recovery that added only the first owed frames of `node`: it is
  // owed `count` frames in all, the last of them `last_seq`.
  void restore(const std::string& node, std::size_t count, std::int64_t last_seq);
  // After a recovery: the earliest expiry of any owed frame (0: none), so
  // that those on disk are looked for when it passes.
  void expires_on_disk(std::int64_t first_expiry);
  // A read from disk for `node`: its owed frames with after < seq <= through,
  // by seq, at most `limit` of them and `max_bytes` of frames.
  // The store's query (node, after, through, limit, max_bytes), and when it was asked.
  struct Read : store::OwedQuery {
    std::uint64_t generation = 0;  // of clear_owed(): a read from before it is ignored
  };
  // What to read back for `node` now, if anything: the bytes of resident
  // frames its lane is about to be handed again, and (once half its resident
  // frames, by count and by bytes, have left) the frames on disk after them.
  // Nothing while a read for it is under way: it is under way from here
  // until read_done.
  std::optional<Read> next_read(std::string_view node);
  // The frames `read` found (`complete`: none of its range was left out).
  // Frames read back that expired at `now` are not made resident but removed
  // and returned (to be settled as expired); those `refuse` returns true for
  // are removed. Frames beyond the bounds are left on disk, for the next read.
  std::vector<store::OutboxEntry> read_done(const Read& read, std::vector<store::OutboxEntry> entries, bool complete,
                                            std::int64_t now,
                                            const std::function<bool(const store::OutboxEntry&)>& refuse);
  // next_read and read_done at once, with `read` called here (tests, tools).
  std::vector<store::OutboxEntry> refill(const std::string& node, const Reader& read, std::int64_t now,
                                         const std::function<bool(const store::OutboxEntry&)>& refuse);
  // Whether `node` may have a read to ask for (next_read): its backlog is on
  // disk, or its lane's last take stopped at a frame without its bytes. Cheap.
  bool behind(std::string_view node) const;
  // Whether `node` is owed frames that are on disk only.
  bool spilled(std::string_view node) const;
  // The node acknowledged the Deliver of `message_id`: it leaves the outbox.
  // Returns its seq (what the store deletes), or nothing (and nothing
  // changes) when no Deliver of that message awaits the node's Ack.
  std::optional<std::int64_t> acknowledge(std::string_view node, std::string_view message_id);
  // An owed frame that needs no Ack was written: it leaves the outbox. False
  // when it is not owed, or needs an Ack (a Deliver written keeps its key but
  // drops its bytes here: they are read back if it is handed again).
  bool written(std::string_view node, std::int64_t seq);
  // Drops the frame `seq` wherever it is owed (a settlement read back after a
  // failed commit).
  void forget(std::int64_t seq);
  // Owed to `node`, resident and expired at `now` (not_after < now): removed
  // and returned. (Those on disk are caught by refill, or expire_before.)
  std::vector<store::OutboxEntry> expire_owed_to(std::string_view node, std::int64_t now);
  // Owed to nodes for which `skip` is false and expired before `now`: removed
  // and returned (without their bytes), the resident ones in expiry order,
  // then those on disk found through `disk` (at most
  // expiry_scan_pages_per_call pages of them per call; the rest next call).
  std::vector<store::OutboxEntry> expire_before(std::int64_t now, const std::function<bool(std::string_view)>& skip,
                                                const ExpiryIndex& disk = {});
  // The same scan of the store's index, asked for rather than made (the
  // router runs it on the store's reader thread, Store::scan_expiring): what
  // to scan now, if frames on disk may have expired before `now` and no scan
  // is under way; it is under way from here until disk_scan_done.
  // The store's scan (from the position the last scan reached, at most
  // expiry_scan_pages_per_call pages), and when it was asked.
  struct DiskScan : store::Store::ExpiryScan {
    std::uint64_t generation = 0;  // of clear_owed(): a scan from before it is ignored
  };
  std::optional<DiskScan> next_disk_scan(std::int64_t now);
  // What `scan` found (`through`: it reached the end of what expires before
  // scan.before, and `next` is the earliest expiry after it, 0 for none):
  // the frames of nodes for which `skip` is false that are still owed on
  // disk are removed and returned, to be settled as expired.
  std::vector<store::OutboxEntry> disk_scan_done(const DiskScan& scan, store::Store::ExpiryPage found,
                                                 const std::function<bool(std::string_view)>& skip);
  // Forgets everything owed (to be loaded again); the lanes stay, with their
  // cursors (seqs do not change across a reload).
  void clear_owed();

  std::size_t owed_count() const;
  std::size_t owed_count(std::string_view node) const;
  std::size_t node_count() const { return outbox_.size(); }
  // Owed frames held in memory (with their bytes), over every node.
  std::size_t resident_frames() const;
  // Entries of the in-memory expiry index (at most one per resident frame
  // that expires, plus stale ones until their time passes).
  std::size_t expiry_entries() const { return expiring_.size(); }
  std::size_t resident_frames(std::string_view node) const;
  std::size_t resident_limit() const { return resident_frames_; }
  // Bytes of the owed frames held in memory, over every node and for `node`.
  std::size_t resident_bytes() const { return total_resident_bytes_; }
  std::size_t resident_bytes(std::string_view node) const;
  // Bytes of frames owed to nodes without a lane dropped to make room for a
  // connected node's (their keys stay; read back when they connect), in all.
  std::size_t bytes_taken_back() const { return bytes_taken_back_; }
  // Every node owed something, with how many frames, in no order.
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
  // The nodes with a lane, in no order.
  std::vector<std::string> lane_nodes() const;

 private:
  // Maps by node name (and message id), found by string_view without
  // building a string: a message looks its nodes up here several times, and
  // a hash and one compare cost less than a walk down a tree of names.
  // Nothing here, nor any caller of the lists built from them, depends on
  // their order.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept { return std::hash<std::string_view>{}(name); }
  };
  template <typename T>
  using ByName = std::unordered_map<std::string, T, NameHash, std::equal_to<>>;
  struct Owed {
    store::OutboxEntry entry;  // frame bytes moved out into `bytes`
    FrameBytes bytes;          // null: written and awaiting its Ack (read back if handed again)
  };
  // What one node is owed. Every owed frame with seq <= loaded_through is
  // resident (or has left); those after it are on disk, `gone` excepted.
  struct Box {
    std::map<std::int64_t, Owed> resident;  // the first owed frames, by seq
    std::size_t count = 0;                  // frames owed in all, resident or not
    std::int64_t loaded_through = 0;
    std::int64_t known_through = 0;         // the last seq owed that the ledger was told of
    std::set<std::int64_t> gone;            // seqs after loaded_through that left before being read back
    std::size_t bytes = 0;                  // of the resident frames that have their bytes
    std::size_t keys_only = 0;              // resident frames without their bytes
    bool reading = false;                   // a read (next_read) is under way
    std::int64_t reading_through = 0;       // its range's end, if it reads beyond loaded_through
    std::size_t added_while_reading = 0;    // frames counted on disk by add() since it was asked for
    bool spilled() const { return count > resident.size(); }
  };
  struct Lane {
    std::uint64_t id = 0;
    std::int64_t handed_up_to = 0;  // the last seq handed to the session
    std::size_t frames_in_flight = 0;
    std::size_t bytes_in_flight = 0;
    bool stopped_at_key = false;  // the last take stopped at a frame whose bytes must be read back
  };
  void erase_awaiting(const store::OutboxEntry& entry);

  void make_resident(Box& box, store::OutboxEntry entry, FrameBytes bytes);
  // The box of a node owed nothing until now.
  ByName<Box>::iterator new_box(const std::string& node);
  // Whether `box` may hold `size` bytes more of frames in memory.
  bool room_for(const Box& box, std::size_t size) const;
  // room_for, after taking bytes back from nodes without a lane when only
  // the total bound stands in the way of `node`, which has one.
  bool fits(std::string_view node, Box& box, std::size_t size);
  // Drops the bytes of resident frames of nodes without a lane, the newest
  // first, until `wanted` bytes are freed or none are left. Returns the
  // bytes freed.
  std::size_t take_back(std::size_t wanted);
  // Bytes held in memory for nodes without a lane, `node` aside.
  std::size_t held_offline(std::string_view node) const;
  // Every resident frame leaves through here, so the byte counts stay true.
  std::map<std::int64_t, Owed>::iterator erase_resident(Box& box, std::map<std::int64_t, Owed>::iterator it);
  void drop_bytes(Box& box, Owed& owed);

  std::size_t window_frames_;
  std::size_t window_bytes_;
  std::size_t resident_frames_;
  std::size_t resident_bytes_;
  std::size_t total_bytes_;
  std::size_t total_resident_bytes_ = 0;  // the sum of every box's `bytes`
  std::uint64_t generation_ = 0;          // clear_owed() calls
  // Each node's outbox as committed: what it is owed, the first frames by seq
  // in memory. Mirrors the store.
  ByName<Box> outbox_;
  // node -> message id -> seq of the Deliver awaiting that node's Ack.
  ByName<ByName<std::int64_t>> awaiting_ack_;
  // not_after -> (node, seq) of resident owed frames that expire (stale pairs are skipped).
  std::multimap<std::int64_t, std::pair<std::string, std::int64_t>> expiring_;
  // Frames on disk: none expires before disk_expiry_ (0: none expires). While
  // a scan of the store's index is under way (it passed), the position it has
  // reached, and the earliest expiry of a frame spilled meanwhile.
  std::int64_t disk_expiry_ = 0;
  std::pair<std::int64_t, std::int64_t> disk_scan_at_{0, 0};
  std::int64_t spilled_during_scan_ = 0;
  bool disk_scanning_ = false;  // a scan (next_disk_scan) is under way
  void note_disk_expiry(std::int64_t not_after);
  void expire_on_disk(std::int64_t now, const std::function<bool(std::string_view)>& skip, const ExpiryIndex& disk,
                      std::vector<store::OutboxEntry>& expired);
  ByName<Lane> lanes_;
  std::uint64_t next_lane_ = 1;
  // Nodes owed something that had no lane when last looked at: where bytes
  // may be taken back from (a superset: one that has connected since is
  // dropped when next looked at).
  std::set<std::string, std::less<>> offline_;
  std::size_t bytes_taken_back_ = 0;
};

}  // namespace icegate::server

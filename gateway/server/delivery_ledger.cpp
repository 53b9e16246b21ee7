#include "gateway/server/delivery_ledger.hpp"

#include <algorithm>
#include <iterator>
#include <tuple>
#include <utility>

namespace icegate::server {

DeliveryLedger::DeliveryLedger(std::size_t window_frames, std::size_t window_bytes, std::size_t resident_frames,
                               std::size_t resident_bytes, std::size_t total_bytes)
    : window_frames_(window_frames == 0 ? 1 : window_frames),
      window_bytes_(window_bytes),
      resident_frames_(std::max<std::size_t>(resident_frames, 1)),
      resident_bytes_(resident_bytes),
      total_bytes_(total_bytes) {}

bool DeliveryLedger::room_for(const Box& box, std::size_t size) const {
  if (box.bytes == 0) return true;  // one frame a node always, however large
  return box.bytes + size <= resident_bytes_ && total_resident_bytes_ + size <= total_bytes_;
}

std::map<std::int64_t, DeliveryLedger::Owed>::iterator DeliveryLedger::erase_resident(
    Box& box, std::map<std::int64_t, Owed>::iterator it) {
  if (it->second.bytes) {
    box.bytes -= it->second.bytes->size();
    total_resident_bytes_ -= it->second.bytes->size();
  } else {
    --box.keys_only;
  }
  return box.resident.erase(it);
}

DeliveryLedger::ByName<DeliveryLedger::Box>::iterator DeliveryLedger::new_box(const std::string& node) {
  // Owed something while it has no lane: what it holds may be taken back (fits).
  if (lanes_.find(node) == lanes_.end()) offline_.insert(node);
  return outbox_.emplace(node, Box{}).first;
}

bool DeliveryLedger::fits(std::string_view node, Box& box, std::size_t size) {
  if (room_for(box, size)) return true;
  // Only the total stands in the way of a connected node: bytes held for
  // nodes without a lane are taken back first.
  if (box.bytes + size > resident_bytes_ || lanes_.find(node) == lanes_.end()) return false;
  take_back(total_resident_bytes_ + size - total_bytes_);
  return room_for(box, size);
}

std::size_t DeliveryLedger::take_back(std::size_t wanted) {
  std::size_t taken = 0;
  for (auto it = offline_.begin(); it != offline_.end() && taken < wanted;) {
    auto owed = outbox_.find(*it);
    if (owed == outbox_.end() || lanes_.find(*it) != lanes_.end()) {  // connected again since
      it = offline_.erase(it);
      continue;
    }
    // The newest first: they would be handed last. Their keys stay; their
    // bytes are read back when the node connects (next_read).
    Box& box = owed->second;
    for (auto frame = box.resident.rbegin(); frame != box.resident.rend() && taken < wanted; ++frame) {
      const std::size_t size = frame->second.bytes ? frame->second.bytes->size() : 0;
      drop_bytes(box, frame->second);
      taken += size;
    }
    ++it;
  }
  bytes_taken_back_ += taken;
  return taken;
}

std::size_t DeliveryLedger::held_offline(std::string_view node) const {
  std::size_t held = 0;
  for (const auto& other : offline_) {
    if (other == node || lanes_.find(other) != lanes_.end()) continue;
    if (auto owed = outbox_.find(other); owed != outbox_.end()) held += owed->second.bytes;
  }
  return held;
}

void DeliveryLedger::drop_bytes(Box& box, Owed& owed) {
  if (!owed.bytes) return;
  box.bytes -= owed.bytes->size();
  total_resident_bytes_ -= owed.bytes->size();
  ++box.keys_only;
  owed.bytes.reset();
}

void DeliveryLedger::make_resident(Box& box, store::OutboxEntry entry, FrameBytes bytes) {
  box.bytes += bytes->size();
  total_resident_bytes_ += bytes->size();
  if (entry.needs_ack) awaiting_ack_[entry.node][entry.message_id] = entry.seq;
  if (entry.not_after_unix_ms != 0) expiring_.emplace(entry.not_after_unix_ms, std::make_pair(entry.node, entry.seq));
  box.loaded_through = std::max(box.loaded_through, entry.seq);
  const auto seq = entry.seq;
  box.resident.emplace_hint(box.resident.end(), seq, Owed{std::move(entry), std::move(bytes)});
}

const std::string& DeliveryLedger::add(store::OutboxEntry entry, FrameBytes bytes) {
  auto owed = outbox_.find(entry.node);
  if (owed == outbox_.end()) owed = new_box(entry.node);
  Box& box = owed->second;
  box.known_through = std::max(box.known_through, entry.seq);
  // Resident only while every frame owed before it is, and there is room;
  // otherwise it waits on disk for its turn (refill).
  const bool room = !box.spilled() && box.resident.size() < resident_frames_ && fits(owed->first, box, bytes->size());
  ++box.count;
  if (room) {
    make_resident(box, std::move(entry), std::move(bytes));
  } else {
    note_disk_expiry(entry.not_after_unix_ms);
    if (box.reading) ++box.added_while_reading;
  }
  return owed->first;
}

void DeliveryLedger::restore(const std::string& node, std::size_t count, std::int64_t last_seq) {
  auto owed = outbox_.find(node);
  if (owed == outbox_.end()) owed = new_box(node);
  Box& box = owed->second;
  box.count = std::max(count, box.resident.size());
  box.known_through = std::max(box.known_through, last_seq);
}

void DeliveryLedger::expires_on_disk(std::int64_t first_expiry) { note_disk_expiry(first_expiry); }

void DeliveryLedger::note_disk_expiry(std::int64_t not_after) {
  if (not_after == 0) return;
  disk_expiry_ = disk_expiry_ == 0 ? not_after : std::min(disk_expiry_, not_after);
  if (disk_scan_at_ != std::pair<std::int64_t, std::int64_t>{0, 0})
    spilled_during_scan_ = spilled_during_scan_ == 0 ? not_after : std::min(spilled_during_scan_, not_after);
}

bool DeliveryLedger::spilled(std::string_view node) const {
  auto owed = outbox_.find(node);
  return owed != outbox_.end() && owed->second.spilled();
}

bool DeliveryLedger::behind(std::string_view node) const {
  auto owed = outbox_.find(node);
  if (owed == outbox_.end()) return false;
  if (owed->second.spilled()) return true;
  if (owed->second.keys_only == 0) return false;
  auto lane = lanes_.find(node);
  return lane != lanes_.end() && lane->second.stopped_at_key;
}

std::optional<DeliveryLedger::Read> DeliveryLedger::next_read(std::string_view node) {
  auto owed = outbox_.find(node);
  if (owed == outbox_.end() || owed->second.reading) return std::nullopt;
  Box& box = owed->second;
  Read read;
  read.node = owed->first;
  read.generation = generation_;
  // The bytes of a Deliver written and not acknowledged, once it is the next
  // frame the lane is to be handed, and the frames in the session's hands
  // leave room (those after it give way: read_done).
  bool rehydrate = false;
  if (auto lane = lanes_.find(node); lane != lanes_.end() && box.keys_only > 0) {
    auto next = box.resident.upper_bound(lane->second.handed_up_to);
    if (next != box.resident.end() && !next->second.bytes && lane->second.bytes_in_flight <= resident_bytes_ / 2) {
      rehydrate = true;
      read.after = next->first - 1;
    }
  }
  // The frames on disk, once half the resident frames (by count and by
  // bytes) have left: a read per half of them, not one per frame.
  // Bytes held for nodes without a lane count as room for a node with one:
  // they are taken back as its frames are read (read_done).
  const bool connected = lanes_.find(node) != lanes_.end();
  const bool total_binds = total_resident_bytes_ + resident_bytes_ > total_bytes_;  // else room for a node's all
  const std::size_t reclaimable = connected && total_binds ? held_offline(node) : 0;
  const std::size_t total = total_resident_bytes_ - std::min(reclaimable, total_resident_bytes_);
  const bool refill = box.spilled() && box.resident.size() <= resident_frames_ / 2 &&
                      box.bytes <= resident_bytes_ / 2 && (box.bytes == 0 || total < total_bytes_);
  if (!rehydrate && !refill) return std::nullopt;
  if (!rehydrate) read.after = box.loaded_through;
  read.through = refill ? box.known_through : box.loaded_through;
  read.limit = (rehydrate ? resident_frames_ : 0) + (refill ? resident_frames_ - box.resident.size() : 0);
  read.max_bytes = std::min(resident_bytes_ - std::min(box.bytes, resident_bytes_),
                            total_bytes_ - std::min(total, total_bytes_));
  box.reading = true;
  box.reading_through = refill ? read.through : 0;
  box.added_while_reading = 0;
  return read;
}

std::vector<store::OutboxEntry> DeliveryLedger::read_done(
    const Read& read, std::vector<store::OutboxEntry> entries, bool complete, std::int64_t now,
    const std::function<bool(const store::OutboxEntry&)>& refuse) {
  std::vector<store::OutboxEntry> expired;
  if (read.generation != generation_) return expired;  // asked for before clear_owed()
  auto owed = outbox_.find(read.node);
  if (owed == outbox_.end()) return expired;
  Box& box = owed->second;
  box.reading = false;
  const std::int64_t through = std::exchange(box.reading_through, 0);
  bool stopped = false;
  for (auto& entry : entries) {
    if (entry.seq <= box.loaded_through) {
      // Resident: the bytes of one that lost them, if it still waits (not
      // acknowledged since); frames after it give theirs up for room, as
      // they are handed after it.
      auto it = box.resident.find(entry.seq);
      if (it == box.resident.end() || it->second.bytes) continue;
      for (auto last = box.resident.end(); !room_for(box, entry.frame.size());) {
        if (last == std::next(it)) break;
        --last;
        drop_bytes(box, last->second);
      }
      if (!fits(owed->first, box, entry.frame.size())) {
        stopped = true;
        break;
      }
      auto bytes = std::make_shared<const std::string>(std::move(entry.frame));
      box.bytes += bytes->size();
      total_resident_bytes_ += bytes->size();
      --box.keys_only;
      it->second.bytes = std::move(bytes);
      continue;
    }
    if (box.gone.erase(entry.seq) > 0) {  // expired or settled before its turn
      box.loaded_through = entry.seq;
      continue;
    }
    if (entry.not_after_unix_ms != 0 && entry.not_after_unix_ms < now) {
      box.loaded_through = entry.seq;
      --box.count;
      expired.push_back(std::move(entry));
      continue;
    }
    if (box.resident.size() >= resident_frames_ || !fits(owed->first, box, entry.frame.size())) {
      stopped = true;  // left on disk for the next read
      break;
    }
    box.loaded_through = entry.seq;
    if (refuse(entry)) {
      --box.count;
      continue;
    }
    auto bytes = std::make_shared<const std::string>(std::move(entry.frame));
    entry.frame.clear();
    make_resident(box, std::move(entry), std::move(bytes));
  }
  if (through != 0 && complete && !stopped) {
    // Everything up to `through` has been read: what the count says is still
    // on disk is only what was committed since the read was asked for, less
    // what of it left (a frame settled elsewhere). Trust the disk.
    box.loaded_through = std::max(box.loaded_through, through);
    box.gone.erase(box.gone.begin(), box.gone.upper_bound(box.loaded_through));
    const std::size_t on_disk = box.added_while_reading - std::min(box.gone.size(), box.added_while_reading);
    box.count = box.resident.size() + on_disk;
  }
  box.gone.erase(box.gone.begin(), box.gone.upper_bound(box.loaded_through));
  box.added_while_reading = 0;
  return expired;
}

std::vector<store::OutboxEntry> DeliveryLedger::refill(const std::string& node, const Reader& read, std::int64_t now,
                                                       const std::function<bool(const store::OutboxEntry&)>& refuse) {
  std::vector<store::OutboxEntry> expired;
  auto owed = outbox_.find(node);
  if (owed == outbox_.end()) return expired;
  const Box& box = owed->second;
  while (auto next = next_read(node)) {
    auto page = read(node, next->after, next->through, next->limit, next->max_bytes);
    const bool empty = page.entries.empty();
    const auto before = std::make_tuple(box.loaded_through, box.keys_only, box.count);
    for (auto& entry : read_done(*next, std::move(page.entries), page.complete, now, refuse))
      expired.push_back(std::move(entry));
    // Nothing more came of it (no room yet): again when frames have left.
    if (empty || before == std::make_tuple(box.loaded_through, box.keys_only, box.count)) break;
  }
  return expired;
}

std::optional<std::int64_t> DeliveryLedger::acknowledge(std::string_view node, std::string_view message_id) {
  auto waiting = awaiting_ack_.find(node);
  if (waiting == awaiting_ack_.end()) return std::nullopt;
  auto it = waiting->second.find(message_id);
  if (it == waiting->second.end()) return std::nullopt;  // a repeated Ack, or for something never owed here
  const std::int64_t seq = it->second;
  if (auto owed = outbox_.find(node); owed != outbox_.end()) {
    if (auto frame = owed->second.resident.find(seq); frame != owed->second.resident.end()) {
      erase_resident(owed->second, frame);
      --owed->second.count;
    }
  }
  waiting->second.erase(it);
  return seq;
}

bool DeliveryLedger::written(std::string_view node, std::int64_t seq) {
  auto owed = outbox_.find(node);
  if (owed == outbox_.end()) return false;
  auto it = owed->second.resident.find(seq);
  if (it == owed->second.resident.end()) return false;
  if (it->second.entry.needs_ack) {
    drop_bytes(owed->second, it->second);  // on the node's connection now: read back only if handed again
    return false;
  }
  erase_resident(owed->second, it);
  --owed->second.count;
  return true;
}

void DeliveryLedger::forget(std::int64_t seq) {
  for (auto& [node, box] : outbox_) {
    auto it = box.resident.find(seq);
    if (it == box.resident.end()) continue;
    erase_awaiting(it->second.entry);
    erase_resident(box, it);
    --box.count;
  }
}

void DeliveryLedger::erase_awaiting(const store::OutboxEntry& entry) {
  if (!entry.needs_ack) return;
  if (auto waiting = awaiting_ack_.find(entry.node); waiting != awaiting_ack_.end()) {
    auto it = waiting->second.find(entry.message_id);
    if (it != waiting->second.end() && it->second == entry.seq) waiting->second.erase(it);
  }
}

std::vector<store::OutboxEntry> DeliveryLedger::expire_owed_to(std::string_view node, std::int64_t now) {
  std::vector<store::OutboxEntry> expired;
  auto owed = outbox_.find(node);
  if (owed == outbox_.end()) return expired;
  Box& box = owed->second;
  for (auto it = box.resident.begin(); it != box.resident.end();) {
    const store::OutboxEntry& entry = it->second.entry;
    if (entry.not_after_unix_ms == 0 || now <= entry.not_after_unix_ms) {
      ++it;
      continue;
    }
    erase_awaiting(entry);
    expired.push_back(std::move(it->second.entry));
    it = erase_resident(box, it);
    --box.count;
  }
  return expired;
}

std::vector<store::OutboxEntry> DeliveryLedger::expire_before(std::int64_t now,
                                                              const std::function<bool(std::string_view)>& skip,
                                                              const ExpiryIndex& disk) {
  std::vector<store::OutboxEntry> expired;
  while (!expiring_.empty() && expiring_.begin()->first < now) {
    const auto [node, seq] = expiring_.begin()->second;
    expiring_.erase(expiring_.begin());
    auto owed = outbox_.find(node);
    if (owed == outbox_.end() || skip(node)) continue;  // handed to its connection already
    Box& box = owed->second;
    auto it = box.resident.find(seq);
    if (it == box.resident.end()) continue;  // acknowledged or settled since
    erase_awaiting(it->second.entry);
    expired.push_back(std::move(it->second.entry));
    erase_resident(box, it);
    --box.count;
  }
  if (disk.scan && disk_expiry_ != 0 && disk_expiry_ < now) expire_on_disk(now, skip, disk, expired);
  return expired;
}

std::optional<DeliveryLedger::DiskScan> DeliveryLedger::next_disk_scan(std::int64_t now) {
  if (disk_scanning_ || disk_expiry_ == 0 || disk_expiry_ >= now) return std::nullopt;
  disk_scanning_ = true;
  DiskScan scan;
  scan.before = now;
  std::tie(scan.after_not_after, scan.after_seq) = disk_scan_at_;
  scan.limit = expiry_scan_page;
  scan.pages = expiry_scan_pages_per_call;
  scan.generation = generation_;
  return scan;
}

std::vector<store::OutboxEntry> DeliveryLedger::disk_scan_done(const DiskScan& scan, store::Store::ExpiryPage found,
                                                               const std::function<bool(std::string_view)>& skip) {
  std::vector<store::OutboxEntry> expired;
  if (scan.generation != generation_) return expired;  // asked for before clear_owed()
  disk_scanning_ = false;
  // The index holds every owed frame that expires, as committed: resident
  // ones (settled by expire_before, their deletion perhaps not yet
  // committed), ones already settled on disk (`gone`), ones not yet counted
  // here (after known_through: they come through add). Only the rest are
  // settled here. Each test is made now, on the ledger as it is when the
  // scan comes back: a frame read back while the scan was under way has
  // loaded_through past it.
  for (auto& entry : found.entries) {
    disk_scan_at_ = {entry.not_after_unix_ms, entry.seq};
    auto owed = outbox_.find(entry.node);
    if (owed == outbox_.end() || skip(entry.node)) continue;  // its connection reads it back, and refill settles it
    Box& box = owed->second;
    if (entry.seq <= box.loaded_through || entry.seq > box.known_through || box.gone.contains(entry.seq)) continue;
    box.gone.insert(entry.seq);
    --box.count;
    expired.push_back(std::move(entry));
  }
  if (found.through) {
    // The scan is through: look again when the next frame on disk expires
    // (or one spilled during the scan, which may have been passed over).
    const std::int64_t next = found.next;
    disk_expiry_ = next;
    if (spilled_during_scan_ != 0) disk_expiry_ = next == 0 ? spilled_during_scan_ : std::min(next, spilled_during_scan_);
    disk_scan_at_ = {0, 0};
    spilled_during_scan_ = 0;
  }
  return expired;
}

void DeliveryLedger::expire_on_disk(std::int64_t now, const std::function<bool(std::string_view)>& skip,
                                    const ExpiryIndex& disk, std::vector<store::OutboxEntry>& expired) {
  auto scan = next_disk_scan(now);
  if (!scan) return;
  for (auto& entry : disk_scan_done(*scan, store::Store::scan_pages(*scan, disk.scan, disk.next), skip))
    expired.push_back(std::move(entry));
}

void DeliveryLedger::clear_owed() {
  outbox_.clear();
  total_resident_bytes_ = 0;
  ++generation_;  // reads under way are ignored when they come back
  awaiting_ack_.clear();
  expiring_.clear();
  disk_expiry_ = 0;
  disk_scan_at_ = {0, 0};
  spilled_during_scan_ = 0;
  disk_scanning_ = false;  // a scan under way comes back to a new generation, and is ignored
}

std::size_t DeliveryLedger::owed_count() const {
  std::size_t owed = 0;
  for (const auto& [node, box] : outbox_) owed += box.count;
  return owed;
}

std::size_t DeliveryLedger::owed_count(std::string_view node) const {
  auto owed = outbox_.find(node);
  return owed == outbox_.end() ? 0 : owed->second.count;
}

std::size_t DeliveryLedger::resident_frames() const {
  std::size_t resident = 0;
  for (const auto& [node, box] : outbox_) resident += box.resident.size();
  return resident;
}

std::size_t DeliveryLedger::resident_frames(std::string_view node) const {
  auto owed = outbox_.find(node);
  return owed == outbox_.end() ? 0 : owed->second.resident.size();
}

std::size_t DeliveryLedger::resident_bytes(std::string_view node) const {
  auto owed = outbox_.find(node);
  return owed == outbox_.end() ? 0 : owed->second.bytes;
}

std::vector<std::pair<std::string, std::size_t>> DeliveryLedger::owed_by_node() const {
  std::vector<std::pair<std::string, std::size_t>> result;
  for (const auto& [node, box] : outbox_) result.emplace_back(node, box.count);
  return result;
}

std::uint64_t DeliveryLedger::open_lane(const std::string& node) {
  Lane& lane = lanes_[node];
  lane = Lane{};
  lane.id = next_lane_++;
  return lane.id;
}

void DeliveryLedger::close_lane(std::string_view node, std::uint64_t lane) {
  auto it = lanes_.find(node);
  if (it == lanes_.end() || it->second.id != lane) return;
  lanes_.erase(it);
  // What it holds in memory may be taken back for a connected node (fits).
  if (auto owed = outbox_.find(node); owed != outbox_.end()) offline_.insert(owed->first);
}

std::vector<Outgoing> DeliveryLedger::take(std::string_view node) {
  std::vector<Outgoing> frames;
  auto lane = lanes_.find(node);
  if (lane == lanes_.end()) return frames;
  auto owed = outbox_.find(node);
  if (owed == outbox_.end()) return frames;
  Lane& state = lane->second;
  state.stopped_at_key = false;
  auto& resident = owed->second.resident;
  for (auto it = resident.upper_bound(state.handed_up_to); it != resident.end(); ++it) {
    if (!it->second.bytes) {  // written before, awaiting its Ack: handed once read back (next_read)
      state.stopped_at_key = true;
      break;
    }
    const std::size_t size = it->second.bytes->size();
    // Always room for one frame, however large; otherwise both bounds hold.
    if (state.frames_in_flight > 0 &&
        (state.frames_in_flight >= window_frames_ || state.bytes_in_flight + size > window_bytes_))
      break;
    frames.push_back({it->second.bytes, it->first, it->second.entry.needs_ack});
    state.handed_up_to = it->first;
    ++state.frames_in_flight;
    state.bytes_in_flight += size;
  }
  return frames;
}

bool DeliveryLedger::returned(std::string_view node, std::uint64_t lane, std::size_t frames, std::size_t bytes) {
  auto it = lanes_.find(node);
  if (it == lanes_.end() || it->second.id != lane || frames == 0) return false;
  Lane& state = it->second;
  state.frames_in_flight -= std::min(frames, state.frames_in_flight);
  state.bytes_in_flight -= std::min(bytes, state.bytes_in_flight);
  return true;
}

std::size_t DeliveryLedger::in_flight(std::string_view node) const {
  auto it = lanes_.find(node);
  return it == lanes_.end() ? 0 : it->second.frames_in_flight;
}

std::vector<std::string> DeliveryLedger::lane_nodes() const {
  std::vector<std::string> nodes;
  for (const auto& [node, lane] : lanes_) nodes.push_back(node);
  return nodes;
}

}  // namespace icegate::server

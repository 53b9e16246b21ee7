#include "gateway/server/delivery_ledger.hpp"

#include <algorithm>
#include <utility>

namespace icegate::server {

DeliveryLedger::DeliveryLedger(std::size_t window_frames, std::size_t window_bytes, std::size_t resident_frames)
    : window_frames_(window_frames == 0 ? 1 : window_frames),
      window_bytes_(window_bytes),
      resident_frames_(std::max<std::size_t>(resident_frames, 1)) {}

void DeliveryLedger::make_resident(Box& box, store::OutboxEntry entry, FrameBytes bytes) {
  if (entry.needs_ack) awaiting_ack_[entry.node][entry.message_id] = entry.seq;
  if (entry.not_after_unix_ms != 0) expiring_.emplace(entry.not_after_unix_ms, std::make_pair(entry.node, entry.seq));
  box.loaded_through = std::max(box.loaded_through, entry.seq);
  const auto seq = entry.seq;
  box.resident.emplace_hint(box.resident.end(), seq, Owed{std::move(entry), std::move(bytes)});
}

const std::string& DeliveryLedger::add(store::OutboxEntry entry, FrameBytes bytes) {
  auto owed = outbox_.find(entry.node);
  if (owed == outbox_.end()) owed = outbox_.emplace(entry.node, Box{}).first;
  Box& box = owed->second;
  box.known_through = std::max(box.known_through, entry.seq);
  // Resident only while every frame owed before it is, and there is room;
  // otherwise it waits on disk for its turn (refill).
  const bool room = !box.spilled() && box.resident.size() < resident_frames_;
  ++box.count;
  if (room) make_resident(box, std::move(entry), std::move(bytes));
  else note_disk_expiry(entry.not_after_unix_ms);
  return owed->first;
}

void DeliveryLedger::restore(const std::string& node, std::size_t count, std::int64_t last_seq) {
  auto owed = outbox_.find(node);
  if (owed == outbox_.end()) owed = outbox_.emplace(node, Box{}).first;
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

std::vector<store::OutboxEntry> DeliveryLedger::refill(const std::string& node, const Reader& read, std::int64_t now,
                                                       const std::function<bool(const store::OutboxEntry&)>& refuse) {
  std::vector<store::OutboxEntry> expired;
  auto owed = outbox_.find(node);
  if (owed == outbox_.end()) return expired;
  Box& box = owed->second;
  // Read back once half the resident frames have left: a read per half of
  // them, not one per frame.
  while (box.spilled() && box.resident.size() <= resident_frames_ / 2) {
    const std::size_t room = resident_frames_ - box.resident.size();
    auto entries = read(node, box.loaded_through, box.known_through, room);
    for (auto& entry : entries) {
      box.loaded_through = std::max(box.loaded_through, entry.seq);
      if (box.gone.erase(entry.seq) > 0) continue;  // expired or settled before its turn
      if (entry.not_after_unix_ms != 0 && entry.not_after_unix_ms < now) {
        --box.count;
        expired.push_back(std::move(entry));
        continue;
      }
      if (refuse(entry)) {
        --box.count;
        continue;
      }
      auto bytes = std::make_shared<const std::string>(std::move(entry.frame));
      entry.frame.clear();
      make_resident(box, std::move(entry), std::move(bytes));
    }
    if (entries.size() < room) {
      // Everything up to known_through has been read: what the count says is
      // still on disk is not (a frame settled elsewhere). Trust the disk.
      box.loaded_through = box.known_through;
      box.gone.clear();
      box.count = box.resident.size();
    }
    box.gone.erase(box.gone.begin(), box.gone.upper_bound(box.loaded_through));
    if (entries.empty()) break;
  }
  return expired;
}

bool DeliveryLedger::acknowledge(std::string_view node, std::string_view message_id) {
  auto waiting = awaiting_ack_.find(node);
  if (waiting == awaiting_ack_.end()) return false;
  auto it = waiting->second.find(message_id);
  if (it == waiting->second.end()) return false;  // a repeated Ack, or for something never owed here
  if (auto owed = outbox_.find(node); owed != outbox_.end() && owed->second.resident.erase(it->second) > 0)
    --owed->second.count;
  waiting->second.erase(it);
  return true;
}

bool DeliveryLedger::written(std::string_view node, std::int64_t seq) {
  auto owed = outbox_.find(node);
  if (owed == outbox_.end()) return false;
  auto it = owed->second.resident.find(seq);
  if (it == owed->second.resident.end() || it->second.entry.needs_ack) return false;
  owed->second.resident.erase(it);
  --owed->second.count;
  return true;
}

void DeliveryLedger::forget(std::int64_t seq) {
  for (auto& [node, box] : outbox_) {
    auto it = box.resident.find(seq);
    if (it == box.resident.end()) continue;
    erase_awaiting(it->second.entry);
    box.resident.erase(it);
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
    it = box.resident.erase(it);
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
    box.resident.erase(it);
    --box.count;
  }
  if (disk.scan && disk_expiry_ != 0 && disk_expiry_ < now) expire_on_disk(now, skip, disk, expired);
  return expired;
}

void DeliveryLedger::expire_on_disk(std::int64_t now, const std::function<bool(std::string_view)>& skip,
                                    const ExpiryIndex& disk, std::vector<store::OutboxEntry>& expired) {
  // The index holds every owed frame that expires, as committed: resident
  // ones (settled above, their deletion perhaps not yet committed), ones
  // already settled on disk (`gone`), ones not yet counted here (after
  // known_through: they come through add). Only the rest are settled here.
  for (std::size_t page = 0; page < expiry_scan_pages_per_call; ++page) {
    auto entries = disk.scan(now, disk_scan_at_.first, disk_scan_at_.second, expiry_scan_page);
    for (auto& entry : entries) {
      disk_scan_at_ = {entry.not_after_unix_ms, entry.seq};
      auto owed = outbox_.find(entry.node);
      if (owed == outbox_.end() || skip(entry.node)) continue;  // its connection reads it back, and refill settles it
      Box& box = owed->second;
      if (entry.seq <= box.loaded_through || entry.seq > box.known_through || box.gone.contains(entry.seq)) continue;
      box.gone.insert(entry.seq);
      --box.count;
      expired.push_back(std::move(entry));
    }
    if (entries.size() < expiry_scan_page) {
      // The scan is through: look again when the next frame on disk expires
      // (or one spilled during the scan, which may have been passed over).
      const std::int64_t next = disk.next ? disk.next(now) : 0;
      disk_expiry_ = next;
      if (spilled_during_scan_ != 0) disk_expiry_ = next == 0 ? spilled_during_scan_ : std::min(next, spilled_during_scan_);
      disk_scan_at_ = {0, 0};
      spilled_during_scan_ = 0;
      return;
    }
  }
}

void DeliveryLedger::clear_owed() {
  outbox_.clear();
  awaiting_ack_.clear();
  expiring_.clear();
  disk_expiry_ = 0;
  disk_scan_at_ = {0, 0};
  spilled_during_scan_ = 0;
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
  if (auto it = lanes_.find(node); it != lanes_.end() && it->second.id == lane) lanes_.erase(it);
}

std::vector<Outgoing> DeliveryLedger::take(std::string_view node) {
  std::vector<Outgoing> frames;
  auto lane = lanes_.find(node);
  if (lane == lanes_.end()) return frames;
  auto owed = outbox_.find(node);
  if (owed == outbox_.end()) return frames;
  Lane& state = lane->second;
  auto& resident = owed->second.resident;
  for (auto it = resident.upper_bound(state.handed_up_to); it != resident.end(); ++it) {
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

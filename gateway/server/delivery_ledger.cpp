#include "gateway/server/delivery_ledger.hpp"

#include <algorithm>
#include <utility>

namespace icegate::server {

DeliveryLedger::DeliveryLedger(std::size_t window_frames, std::size_t window_bytes)
    : window_frames_(window_frames == 0 ? 1 : window_frames), window_bytes_(window_bytes) {}

const std::string& DeliveryLedger::add(store::OutboxEntry entry, FrameBytes bytes) {
  if (entry.needs_ack) awaiting_ack_[entry.node][entry.message_id] = entry.seq;
  if (entry.not_after_unix_ms != 0) expiring_.emplace(entry.not_after_unix_ms, std::make_pair(entry.node, entry.seq));
  auto owed = outbox_.find(entry.node);
  if (owed == outbox_.end()) owed = outbox_.emplace(entry.node, std::map<std::int64_t, Owed>{}).first;
  const auto seq = entry.seq;
  owed->second.emplace_hint(owed->second.end(), seq, Owed{std::move(entry), std::move(bytes)});
  return owed->first;
}

bool DeliveryLedger::acknowledge(std::string_view node, std::string_view message_id) {
  auto waiting = awaiting_ack_.find(node);
  if (waiting == awaiting_ack_.end()) return false;
  auto it = waiting->second.find(message_id);
  if (it == waiting->second.end()) return false;  // a repeated Ack, or for something never owed here
  if (auto owed = outbox_.find(node); owed != outbox_.end()) owed->second.erase(it->second);
  waiting->second.erase(it);
  return true;
}

bool DeliveryLedger::written(std::string_view node, std::int64_t seq) {
  auto owed = outbox_.find(node);
  if (owed == outbox_.end()) return false;
  auto it = owed->second.find(seq);
  if (it == owed->second.end() || it->second.entry.needs_ack) return false;
  owed->second.erase(it);
  return true;
}

void DeliveryLedger::forget(std::int64_t seq) {
  for (auto& [node, entries] : outbox_) {
    auto it = entries.find(seq);
    if (it == entries.end()) continue;
    erase_awaiting(it->second.entry);
    entries.erase(it);
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
  for (auto it = owed->second.begin(); it != owed->second.end();) {
    const store::OutboxEntry& entry = it->second.entry;
    if (entry.not_after_unix_ms == 0 || now <= entry.not_after_unix_ms) {
      ++it;
      continue;
    }
    erase_awaiting(entry);
    expired.push_back(std::move(it->second.entry));
    it = owed->second.erase(it);
  }
  return expired;
}

std::vector<store::OutboxEntry> DeliveryLedger::expire_before(std::int64_t now,
                                                              const std::function<bool(std::string_view)>& skip) {
  std::vector<store::OutboxEntry> expired;
  while (!expiring_.empty() && expiring_.begin()->first < now) {
    const auto [node, seq] = expiring_.begin()->second;
    expiring_.erase(expiring_.begin());
    auto owed = outbox_.find(node);
    if (owed == outbox_.end() || skip(node)) continue;  // handed to its connection already
    auto it = owed->second.find(seq);
    if (it == owed->second.end()) continue;  // acknowledged or settled since
    erase_awaiting(it->second.entry);
    expired.push_back(std::move(it->second.entry));
    owed->second.erase(it);
  }
  return expired;
}

void DeliveryLedger::clear_owed() {
  outbox_.clear();
  awaiting_ack_.clear();
  expiring_.clear();
}

std::size_t DeliveryLedger::owed_count() const {
  std::size_t owed = 0;
  for (const auto& [node, entries] : outbox_) owed += entries.size();
  return owed;
}

std::size_t DeliveryLedger::owed_count(std::string_view node) const {
  auto owed = outbox_.find(node);
  return owed == outbox_.end() ? 0 : owed->second.size();
}

std::vector<std::pair<std::string, std::size_t>> DeliveryLedger::owed_by_node() const {
  std::vector<std::pair<std::string, std::size_t>> result;
  for (const auto& [node, entries] : outbox_) result.emplace_back(node, entries.size());
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
  for (auto it = owed->second.upper_bound(state.handed_up_to); it != owed->second.end(); ++it) {
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

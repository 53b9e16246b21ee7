#include "gateway/store/id_filter.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <new>

namespace icegate::store {

IdFilter::IdFilter(std::size_t bytes)
    : blocks_(std::clamp<std::size_t>(bytes / block_bytes, 1, std::size_t{0xffffffff})),
      words_(static_cast<std::uint64_t*>(std::calloc(blocks_ * words_per_block, sizeof(std::uint64_t)))) {
  if (!words_) throw std::bad_alloc();
}

bloom::Position IdFilter::position(std::string_view id) const {
  return bloom::position(std::hash<std::string_view>{}(id), blocks_);
}

void IdFilter::add(std::string_view id) {
  const bloom::Position p = position(id);
  std::uint64_t* block = &words_[p.block * words_per_block];
  for (std::size_t w = 0; w < words_per_block; ++w)
    std::atomic_ref(block[w]).fetch_or(p.masks[w], std::memory_order_relaxed);
}

bool IdFilter::may_contain(std::string_view id) const {
  const bloom::Position p = position(id);
  std::uint64_t* block = &words_[p.block * words_per_block];
  for (std::size_t w = 0; w < words_per_block; ++w)
    if ((std::atomic_ref(block[w]).load(std::memory_order_relaxed) & p.masks[w]) != p.masks[w]) return false;
  return true;
}

double IdFilter::expected_false_positive_rate(std::size_t ids) const {
  return bloom::expected_false_positive_rate(ids, blocks_);
}

}  // namespace icegate::store

#include "gateway/store/id_filter.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <new>

namespace icegate::store {

namespace {

// splitmix64's finaliser: spreads std::hash's bits over the whole word, so
// that the block and the bit positions come from independent-looking bits.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

IdFilter::IdFilter(std::size_t bytes)
    : blocks_(std::clamp<std::size_t>(bytes / block_bytes, 1, std::size_t{0xffffffff})),
      words_(static_cast<std::uint64_t*>(std::calloc(blocks_ * words_per_block, sizeof(std::uint64_t)))) {
  if (!words_) throw std::bad_alloc();
}

IdFilter::Position IdFilter::position(std::string_view id) const {
  const std::uint64_t h = std::hash<std::string_view>{}(id);
  Position p{};
  // The top 32 bits scaled to [0, blocks): blocks_ < 2^32 (the constructor).
  p.block = static_cast<std::size_t>(((h >> 32) * blocks_) >> 32);
  // One bit in each of the block's eight words (a split block Bloom filter,
  // as Parquet's and Impala's), six bits of the mixed hash each.
  const std::uint64_t g = mix(h);
  for (std::size_t w = 0; w < words_per_block; ++w) p.masks[w] = std::uint64_t{1} << ((g >> (6 * w)) & 63);
  return p;
}

void IdFilter::add(std::string_view id) {
  const Position p = position(id);
  std::uint64_t* block = &words_[p.block * words_per_block];
  for (std::size_t w = 0; w < words_per_block; ++w)
    std::atomic_ref(block[w]).fetch_or(p.masks[w], std::memory_order_relaxed);
}

bool IdFilter::may_contain(std::string_view id) const {
  const Position p = position(id);
  std::uint64_t* block = &words_[p.block * words_per_block];
  for (std::size_t w = 0; w < words_per_block; ++w)
    if ((std::atomic_ref(block[w]).load(std::memory_order_relaxed) & p.masks[w]) != p.masks[w]) return false;
  return true;
}

double IdFilter::expected_false_positive_rate(std::size_t ids) const {
  // A block holds j ids with probability Poisson(lambda); a query in a block
  // of j ids finds each of its eight bits set with probability
  // 1 - (1 - 1/64)^j (each id set one bit of each 64-bit word).
  const double lambda = static_cast<double>(ids) / static_cast<double>(blocks_);
  const double spread = 12 * std::sqrt(lambda) + 40;
  const auto first = static_cast<std::size_t>(std::max(0.0, lambda - spread));
  const auto last = static_cast<std::size_t>(lambda + spread);
  double rate = 0;
  for (std::size_t j = first; j <= last; ++j) {
    const auto n = static_cast<double>(j);
    const double p = lambda > 0 ? std::exp(-lambda + n * std::log(lambda) - std::lgamma(n + 1)) : (j == 0 ? 1 : 0);
    const double set = 1 - std::pow(1 - 1.0 / 64, n);
    rate += p * std::pow(set, bits_per_id);
  }
  return rate;
}

}  // namespace icegate::store

#include "gateway/model/bloom.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace icegate::bloom {

namespace {

// splitmix64's finaliser: spreads the hash's bits over the whole word, so
// that the block and the bit positions come from independent-looking bits.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static_assert(std::endian::native == std::endian::little, "the stored filters' words are little-endian");

std::uint64_t load(const char* at) {
  std::uint64_t word;
  std::memcpy(&word, at, sizeof word);
  return word;
}

}  // namespace

Position position(std::uint64_t hash, std::size_t blocks) {
  Position p{};
  // The top 32 bits scaled to [0, blocks).
  p.block = static_cast<std::size_t>(((hash >> 32) * blocks) >> 32);
  // One bit in each of the block's eight words, six bits of the mixed hash each.
  const std::uint64_t g = mix(hash);
  for (std::size_t w = 0; w < words_per_block; ++w) p.masks[w] = std::uint64_t{1} << ((g >> (6 * w)) & 63);
  return p;
}

std::uint64_t stable_hash(std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, 64-bit
  for (const char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return mix(h);
}

double expected_false_positive_rate(std::size_t keys, std::size_t blocks) {
  // A block holds j keys with probability Poisson(lambda); a query in a block
  // of j keys finds each of its eight bits set with probability
  // 1 - (1 - 1/64)^j (each key set one bit of each 64-bit word).
  const double lambda = static_cast<double>(keys) / static_cast<double>(std::max<std::size_t>(blocks, 1));
  const double spread = 12 * std::sqrt(lambda) + 40;
  const auto first = static_cast<std::size_t>(std::max(0.0, lambda - spread));
  const auto last = static_cast<std::size_t>(lambda + spread);
  double rate = 0;
  for (std::size_t j = first; j <= last; ++j) {
    const auto n = static_cast<double>(j);
    const double p = lambda > 0 ? std::exp(-lambda + n * std::log(lambda) - std::lgamma(n + 1)) : (j == 0 ? 1 : 0);
    const double set = 1 - std::pow(1 - 1.0 / 64, n);
    rate += p * std::pow(set, bits_per_key);
  }
  return rate;
}

std::size_t Bytes::size_for(std::size_t keys, std::size_t bits_per_key_budget) {
  const std::size_t bits = keys * bits_per_key_budget;
  return std::max<std::size_t>(1, (bits + block_bytes * 8 - 1) / (block_bytes * 8)) * block_bytes;
}

Bytes::Bytes(std::size_t bytes) : bytes_(std::max<std::size_t>(1, bytes / block_bytes) * block_bytes, '\0') {}

void Bytes::add(std::string_view key) {
  const Position p = position(stable_hash(key), bytes_.size() / block_bytes);
  char* block = bytes_.data() + p.block * block_bytes;
  for (std::size_t w = 0; w < words_per_block; ++w) {
    const std::uint64_t word = load(block + w * sizeof(std::uint64_t)) | p.masks[w];
    std::memcpy(block + w * sizeof(std::uint64_t), &word, sizeof word);
  }
}

bool Bytes::well_formed(std::string_view filter) {
  return !filter.empty() && filter.size() % block_bytes == 0 && filter.size() / block_bytes < (std::size_t{1} << 32);
}

bool Bytes::may_contain(std::string_view filter, std::string_view key) {
  const Position p = position(stable_hash(key), filter.size() / block_bytes);
  const char* block = filter.data() + p.block * block_bytes;
  for (std::size_t w = 0; w < words_per_block; ++w)
    if ((load(block + w * sizeof(std::uint64_t)) & p.masks[w]) != p.masks[w]) return false;
  return true;
}

}  // namespace icegate::bloom

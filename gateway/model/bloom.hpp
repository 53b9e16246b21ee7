// Split block Bloom filters (as Parquet's and Impala's): each key sets one bit
// in each of the eight 64-bit words of one 64-byte block (one cache line), all
// chosen by its hash, so that adding or asking costs one cache miss. Two users:
// the store's filter of message ids in memory (gateway/store/id_filter.hpp,
// with std::hash), and the audit blocks' filters of message ids on disk
// (gateway/audit), which need a hash that is the same in every build and on
// every machine: stable_hash.
//
// "Not in the filter" is certain; "maybe" is wrong at a rate that grows with
// the keys per block (expected_false_positive_rate).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace icegate::bloom {

inline constexpr std::size_t block_bytes = 64;
inline constexpr std::size_t words_per_block = block_bytes / sizeof(std::uint64_t);
inline constexpr unsigned bits_per_key = words_per_block;  // one a word

// Where a key with hash `hash` goes among `blocks` blocks (blocks < 2^32):
// the block, and the one bit it sets in each of the block's words.
struct Position {
  std::size_t block;
  std::uint64_t masks[words_per_block];
};
Position position(std::uint64_t hash, std::size_t blocks);

// A hash of `key` that does not depend on the build, the library or the
// machine: FNV-1a over its bytes, then splitmix64's finaliser.
std::uint64_t stable_hash(std::string_view key);

// The share of queries for keys never added expected to answer "maybe", with
// `keys` distinct keys added to `blocks` blocks (a Poisson estimate over
// blocks).
double expected_false_positive_rate(std::size_t keys, std::size_t blocks);

// A filter held as bytes (a whole number of blocks, little-endian words), as
// stored in a database: built with add(), read with may_contain(). Keys are
// hashed with stable_hash.
class Bytes {
 public:
  // Enough blocks for `keys` keys at `bits_per_key_budget` bits each (at least one block).
  static std::size_t size_for(std::size_t keys, std::size_t bits_per_key_budget);
  explicit Bytes(std::size_t bytes);
  void add(std::string_view key);
  const std::string& bytes() const { return bytes_; }
  // False if `filter` is not a whole, non-zero number of blocks.
  static bool well_formed(std::string_view filter);
  // `filter` must be well_formed.
  static bool may_contain(std::string_view filter, std::string_view key);

 private:
  std::string bytes_;
};

}  // namespace icegate::bloom

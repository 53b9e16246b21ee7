// A fixed-size Bloom filter of message ids, in front of the store's on-disk
// index of every id ever accepted (Store::accepted). A Submit's id is new
// almost always; without the filter, every new id that had aged out of the
// router's memory was looked up in that index on the router's thread (a
// B-tree descent, often a read(2) of a page): 6% of that thread's CPU under
// W1 (docs/PERFORMANCE.md). "Not in the filter" is certain, so those
// lookups are skipped; "maybe" goes to the index as before, so answers are
// unchanged.
//
// Blocked: each id sets one bit in each of the eight 64-bit words of one
// 64-byte block (one cache line), all chosen by its hash, so a query costs
// one cache miss (a split block Bloom filter: gateway/model/bloom.hpp). The size is
// fixed when constructed, so memory is bounded however many ids are added;
// as ids accumulate, more answers are "maybe" and go to disk, and none is
// ever wrong. At the store's default of 8 MiB, a query for an id never
// added is a "maybe" about once in 78,000 after 2 million ids, once in 430
// after 5 million, once in 16 after 10 million and once in 2 after 20
// million (expected_false_positive_rate; id_filter_test.cpp checks that
// formula against filters of its own).
//
// Guard: none needed. Bits are words accessed through std::atomic_ref, set
// with a relaxed fetch_or and read relaxed; bits are only ever set. Whoever relies on seeing an add()
// (the router, asking about an id it saw committed) has a happens-before
// edge to it already (the store's completion posted through a mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "gateway/model/bloom.hpp"

namespace icegate::store {

class IdFilter {
 public:
  static constexpr std::size_t block_bytes = bloom::block_bytes;
  static constexpr unsigned bits_per_id = bloom::bits_per_key;

  // `bytes` rounded down to whole blocks (at least one). Throws
  // std::bad_alloc if they cannot be had.
  explicit IdFilter(std::size_t bytes);

  void add(std::string_view id);
  // False: `id` was never added. True: it may have been.
  bool may_contain(std::string_view id) const;

  std::size_t bytes() const { return blocks_ * block_bytes; }
  // The share of queries for ids never added expected to answer true, with
  // `ids` distinct ids added (a Poisson estimate over blocks).
  double expected_false_positive_rate(std::size_t ids) const;

 private:
  static constexpr std::size_t words_per_block = bloom::words_per_block;
  bloom::Position position(std::string_view id) const;

  struct Free {
    void operator()(std::uint64_t* words) const { std::free(words); }
  };
  std::size_t blocks_;
  // calloc'd: pages the allocator gets from the system are zero already and
  // cost no memory until a bit in them is set.
  std::unique_ptr<std::uint64_t[], Free> words_;
};

}  // namespace icegate::store

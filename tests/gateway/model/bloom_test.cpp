// The split block Bloom filters: the layout the store's id filter and the
// audit blocks' message filters share, and the stored form, whose bytes must
// be the same for the same ids in every build and on every machine (a trail
// is read by other builds of icegate than the one that wrote it).
#include "gateway/model/bloom.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace icegate::bloom {
namespace {

std::string id(const char* prefix, std::size_t n) { return prefix + std::to_string(n) + "-4b1c-9f0e-message"; }

std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text;
  for (const char c : bytes) {
    text += digits[static_cast<unsigned char>(c) >> 4];
    text += digits[static_cast<unsigned char>(c) & 15];
  }
  return text;
}

// The expected values were computed by a separate implementation of the
// same definition (FNV-1a 64, splitmix64's finaliser; the block from the top
// 32 bits, one bit a word from six bits each of the mixed hash), not by this
// one.
TEST(BloomTest, TheStableHashAndAStoredFiltersBytesAreFixedByTheirDefinition) {
  EXPECT_EQ(stable_hash(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_EQ(stable_hash("m-1"), 0x1ae39b472aef3885ULL);
  Bytes filter(128);
  filter.add("m-1");
  filter.add("m-2");
  EXPECT_EQ(hex(filter.bytes()),
            "0000000000200000000000020000000000020000000000000000000080000000000001000000000000080000000000000000000800"
            "000000000000000000000800000000040000008000000000000000004000000000000000000000000001000001000000000000000000"
            "000000020000000000080000000000000100000000");
}

TEST(BloomTest, AKeyAddedIsNeverMissingAndKeysNeverAddedAreMaybeAsOftenAsTheFormulaSays) {
  // As an audit block's filter: 4,096 ids at 16 bits each.
  constexpr std::size_t keys = 4096, probes = 400'000;
  Bytes filter(Bytes::size_for(keys, 16));
  ASSERT_EQ(filter.bytes().size(), keys * 16 / 8);
  for (std::size_t n = 0; n < keys; ++n) filter.add(id("added-", n));
  std::size_t missing = 0;
  for (std::size_t n = 0; n < keys; ++n) missing += Bytes::may_contain(filter.bytes(), id("added-", n)) ? 0 : 1;
  EXPECT_EQ(missing, 0u);
  std::size_t maybe = 0;
  for (std::size_t n = 0; n < probes; ++n) maybe += Bytes::may_contain(filter.bytes(), id("other-", n)) ? 1 : 0;
  const double rate = expected_false_positive_rate(keys, filter.bytes().size() / block_bytes);
  EXPECT_LT(rate, 1.0 / 1000) << "what the audit's documentation says";
  const double expected = rate * probes;
  EXPECT_NEAR(static_cast<double>(maybe), expected, expected / 5 + 10);
}

TEST(BloomTest, OnlyAWholeNonZeroNumberOfBlocksIsAStoredFilter) {
  EXPECT_FALSE(Bytes::well_formed(""));
  EXPECT_FALSE(Bytes::well_formed(std::string(63, '\0')));
  EXPECT_FALSE(Bytes::well_formed(std::string(65, '\0')));
  EXPECT_TRUE(Bytes::well_formed(std::string(64, '\0')));
  EXPECT_TRUE(Bytes::well_formed(std::string(192, '\0')));
  EXPECT_EQ(Bytes::size_for(0, 16), block_bytes) << "an empty block's filter is one block";
  EXPECT_EQ(Bytes(10).bytes().size(), block_bytes);
}

}  // namespace
}  // namespace icegate::bloom

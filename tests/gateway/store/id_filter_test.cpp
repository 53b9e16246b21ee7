// The message id filter in front of the store's on-disk index: an id added
// is always "maybe" (the store's answers depend on it), and ids never added
// are "maybe" as often as the formula the store's documentation quotes says.
#include "gateway/store/id_filter.hpp"

#include <cstddef>
#include <string>

#include <gtest/gtest.h>

namespace icegate::store {
namespace {

std::string id(const char* prefix, std::size_t n) { return prefix + std::to_string(n) + "-4b1c-9f0e-message"; }

TEST(IdFilterTest, AnIdAddedIsNeverMissingEvenWhenTheFilterIsOverfull) {
  IdFilter filter(64 * 1024);  // 1,024 blocks
  constexpr std::size_t ids = 60'000;  // about 59 ids a block: most answers for others are "maybe"
  for (std::size_t n = 0; n < ids; ++n) {
    EXPECT_FALSE(n < 100 && filter.may_contain(id("added-", n))) << n << ": maybe before it was added";
    filter.add(id("added-", n));
  }
  std::size_t missing = 0;
  for (std::size_t n = 0; n < ids; ++n) missing += filter.may_contain(id("added-", n)) ? 0 : 1;
  EXPECT_EQ(missing, 0u);
}

TEST(IdFilterTest, IdsNeverAddedAreMaybeAsOftenAsTheFormulaSays) {
  constexpr std::size_t probes = 200'000;
  for (const std::size_t per_block : {20, 40, 80}) {
    IdFilter filter(64 * 1024);
    ASSERT_EQ(filter.bytes(), 64u * 1024);
    const std::size_t ids = per_block * 1024;
    for (std::size_t n = 0; n < ids; ++n) filter.add(id("added-", n));
    std::size_t maybe = 0;
    for (std::size_t n = 0; n < probes; ++n) maybe += filter.may_contain(id("other-", n)) ? 1 : 0;
    const double expected = filter.expected_false_positive_rate(ids) * probes;
    // Counts of a few hundred or thousand: within a fifth of the estimate,
    // give or take ten.
    EXPECT_NEAR(static_cast<double>(maybe), expected, expected / 5 + 10) << per_block << " ids a block";
  }
}

TEST(IdFilterTest, TheEstimateGrowsWithTheIdsAndTheSizeIsFixed) {
  IdFilter filter(8u << 20);
  EXPECT_EQ(filter.bytes(), 8u << 20);
  EXPECT_LT(filter.expected_false_positive_rate(1'000'000), 1e-6);
  EXPECT_LT(filter.expected_false_positive_rate(5'000'000), 0.003);
  EXPECT_GT(filter.expected_false_positive_rate(20'000'000), 0.4);
  EXPECT_EQ(IdFilter(10).bytes(), IdFilter::block_bytes) << "at least one block";
}

}  // namespace
}  // namespace icegate::store

// The allocator the build links (cmake/IcegateMalloc.cmake) is the one that
// serves malloc and operator new in the process, not merely loaded beside
// glibc's: the test binary links it as icegate and icegate-bench do.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#if __has_include(<mimalloc.h>)
#include <mimalloc.h>
#pragma weak mi_option_get
#endif

#include "gateway/model/allocator.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define ICEGATE_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ICEGATE_TEST_SANITIZED 1
#endif
#endif

namespace icegate {
namespace {

std::string expected_name() {
  const std::string_view configured = ICEGATE_MALLOC_IN_USE;
  return configured == "system" ? "glibc" : std::string(configured);
}

TEST(Allocator, TheOneTheBuildLinksServesMalloc) {
  const std::string in_use = allocator_in_use();
  EXPECT_TRUE(in_use.starts_with(expected_name())) << "the build links " << ICEGATE_MALLOC_IN_USE
                                                    << ", but malloc is served by " << in_use;
}

TEST(Allocator, SaysItsVersion) {
  if (expected_name() != "mimalloc") GTEST_SKIP() << "this build links " << ICEGATE_MALLOC_IN_USE;
  // "mimalloc 2.0.9": a version, not just a name.
  const std::string in_use = allocator_in_use();
  ASSERT_GT(in_use.size(), std::string_view("mimalloc ").size());
  EXPECT_NE(in_use.find('.'), std::string::npos) << in_use;
}

// The process's resident set, in bytes.
std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// A burst of small allocations freed inside the scope (as a policy's load
// makes) is given back when it ends, and the allocator's settings are what
// they were before, so that the hot path keeps what it frees again.
TEST(Allocator, GivesBackWhatABurstFreedAndRestoresItsSettings) {
#ifdef ICEGATE_TEST_SANITIZED
  GTEST_SKIP() << "AddressSanitizer's allocator serves this build";
#endif
  const std::string in_use = allocator_in_use();
  if (!in_use.starts_with("mimalloc") && in_use != "glibc") GTEST_SKIP() << in_use << " keeps what it keeps";
#if __has_include(<mimalloc.h>)
  const bool mimalloc = in_use.starts_with("mimalloc");
  const mi_option_t options[] = {mi_option_page_reset, mi_option_decommit_delay, mi_option_segment_decommit_delay};
  std::vector<long> before;
  if (mimalloc) {
    for (const auto option : options) before.push_back(mi_option_get(option));
  }
#endif
  constexpr std::size_t blocks = 24 * 1024, block_bytes = 4096;  // 96 MiB
  std::size_t peak = 0;
  {
    const GiveBackFreedMemory give_back;
    std::vector<std::unique_ptr<char[]>> burst;
    burst.reserve(blocks);
    for (std::size_t i = 0; i < blocks; ++i) {
      burst.push_back(std::make_unique<char[]>(block_bytes));
      std::memset(burst.back().get(), 1, block_bytes);
    }
    peak = resident_bytes();
  }
  const std::size_t after = resident_bytes();
  EXPECT_LT(after + 64 * 1024 * 1024, peak) << in_use << ": " << after << " bytes resident after, " << peak
                                            << " at the burst's peak";
#if __has_include(<mimalloc.h>)
  if (mimalloc) {
    for (std::size_t i = 0; i < std::size(options); ++i) {
      EXPECT_EQ(mi_option_get(options[i]), before[i]) << "mimalloc option " << options[i] << " not restored";
    }
  }
#endif
}

// Scopes may overlap (two gateways of one process reloading at once): the
// settings hold until the last one ends, and are then what they were.
TEST(Allocator, OverlappingScopesRestoreTheSettingsWhenTheLastEnds) {
#if __has_include(<mimalloc.h>)
  if (!allocator_in_use().starts_with("mimalloc")) GTEST_SKIP() << "mimalloc does not serve this build";
  const long before = mi_option_get(mi_option_decommit_delay);
  auto first = std::make_unique<GiveBackFreedMemory>();
  {
    const GiveBackFreedMemory second;
    EXPECT_EQ(mi_option_get(mi_option_decommit_delay), 0);
    first.reset();  // the first ends before the second
    EXPECT_EQ(mi_option_get(mi_option_decommit_delay), 0) << "restored while a scope still lives";
  }
  EXPECT_EQ(mi_option_get(mi_option_decommit_delay), before);
#else
  GTEST_SKIP() << "no mimalloc.h";
#endif
}

}  // namespace
}  // namespace icegate

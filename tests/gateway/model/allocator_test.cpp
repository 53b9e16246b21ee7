// The allocator the build links (cmake/IcegateMalloc.cmake) is the one that
// serves malloc and operator new in the process, not merely loaded beside
// glibc's: the test binary links it as icegate and icegate-bench do.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#if __has_include(<mimalloc.h>)
#include <mimalloc.h>
#pragma weak mi_option_get
#endif

#include "gateway/model/allocator.hpp"

namespace icegate {
namespace {

std::string expected_name() {
  const std::string_view configured = ICEGATE_MALLOC_IN_USE;
  return configured == "system" ? "glibc" : std::string(configured);  // "sanitizer" under ASan
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

#if __has_include(<mimalloc.h>) && defined(MI_MALLOC_VERSION) && MI_MALLOC_VERSION >= 200 && MI_MALLOC_VERSION < 212
#define ICEGATE_TEST_MIMALLOC_2_0 1
#endif

// A burst of small allocations freed inside the scope (as a policy's load
// makes) is given back when it ends, and the allocator's setting is what it
// was before, so that the hot path keeps what it frees again. One block
// allocated after the burst stays until after the scope, so that glibc
// cannot give the burst back by trimming the top of its heap on free: only
// the scope's malloc_trim can.
TEST(Allocator, GivesBackWhatABurstFreedAndRestoresItsSettings) {
  const std::string in_use = allocator_in_use();
  if (!in_use.starts_with("mimalloc") && in_use != "glibc") GTEST_SKIP() << in_use << " keeps what it keeps";
#ifdef ICEGATE_TEST_MIMALLOC_2_0
  const bool mimalloc = in_use.starts_with("mimalloc");
  const long before = mimalloc ? mi_option_get(mi_option_decommit_delay) : 0;
#else
  if (in_use.starts_with("mimalloc")) GTEST_SKIP() << in_use << ": only mimalloc 2.0 is given back to";
#endif
  constexpr std::size_t blocks = 24 * 1024, block_bytes = 4096;  // 96 MiB
  std::size_t peak = 0;
  std::unique_ptr<char[]> kept;
  {
    const GiveBackFreedMemory give_back;
    std::vector<std::unique_ptr<char[]>> burst;
    burst.reserve(blocks);
    for (std::size_t i = 0; i < blocks; ++i) {
      burst.push_back(std::make_unique<char[]>(block_bytes));
      std::memset(burst.back().get(), 1, block_bytes);
    }
    kept = std::make_unique<char[]>(block_bytes);
    peak = resident_bytes();
  }
  const std::size_t after = resident_bytes();
  EXPECT_LT(after + 64 * 1024 * 1024, peak) << in_use << ": " << after << " bytes resident after, " << peak
                                            << " at the burst's peak";
#ifdef ICEGATE_TEST_MIMALLOC_2_0
  if (mimalloc) {
    EXPECT_EQ(mi_option_get(mi_option_decommit_delay), before) << "mimalloc's decommit delay not restored";
  }
#endif
}

// Scopes may overlap (two gateways of one process loading at once): the
// setting holds until the last one ends, and is then what it was.
TEST(Allocator, OverlappingScopesRestoreTheSettingsWhenTheLastEnds) {
#ifdef ICEGATE_TEST_MIMALLOC_2_0
  if (!allocator_in_use().starts_with("mimalloc")) GTEST_SKIP() << "mimalloc does not serve this build";
  const long before = mi_option_get(mi_option_decommit_delay);
  ASSERT_NE(before, 0) << "the default delay must differ from the scope's for this test to show anything";
  auto first = std::make_unique<GiveBackFreedMemory>();
  {
    const GiveBackFreedMemory second;
    EXPECT_EQ(mi_option_get(mi_option_decommit_delay), 0);
    first.reset();  // the first ends before the second
    EXPECT_EQ(mi_option_get(mi_option_decommit_delay), 0) << "restored while a scope still lives";
  }
  EXPECT_EQ(mi_option_get(mi_option_decommit_delay), before);
#else
  GTEST_SKIP() << "no mimalloc 2.0 header";
#endif
}

// Scopes begun on several threads at once (two exercise tables loading their
// policies) in a process that has not begun one before: each in a child of
// its own, so that each is the first. Under ASan, which serves malloc without
// glibc's heap ever being set up, this crashed 1 to 4 children of 200 in
// each of three runs (and 34 of 200 in a bare program that did only that)
// while the scope called glibc's malloc_trim there.
TEST(Allocator, ScopesBegunOnSeveralThreadsAtOnceAreSafe) {
  constexpr int children = 600, threads = 4;
  int failed = 0;
  for (int child = 0; child < children; ++child) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << std::strerror(errno);
    if (pid == 0) {
      try {  // nothing may return into gtest from the child
        std::atomic<bool> go{false};
        std::vector<std::thread> loaders;
        for (int i = 0; i < threads; ++i)
          loaders.emplace_back([&] {
            while (!go) std::this_thread::yield();
            const GiveBackFreedMemory give_back;
            std::vector<std::unique_ptr<char[]>> burst;
            for (int j = 0; j < 64; ++j) burst.push_back(std::make_unique<char[]>(1024));
          });
        go = true;
        for (auto& loader : loaders) loader.join();
      } catch (...) {
        ::_exit(2);
      }
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  EXPECT_EQ(failed, 0) << failed << " of " << children << " children crashed (" << allocator_in_use() << ")";
}

}  // namespace
}  // namespace icegate

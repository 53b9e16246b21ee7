// The allocator the build links (cmake/IcegateMalloc.cmake) is the one that
// serves malloc and operator new in the process, not merely loaded beside
// glibc's: the test binary links it as icegate and icegate-bench do.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "gateway/model/allocator.hpp"

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

}  // namespace
}  // namespace icegate

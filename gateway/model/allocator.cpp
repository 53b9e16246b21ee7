#include "gateway/model/allocator.hpp"

#include <cstdlib>

#include <fmt/format.h>

// Weak: null unless the allocator that defines them is loaded.
extern "C" {
int mi_version(void) __attribute__((weak));
bool mi_is_in_heap_region(const void* p) __attribute__((weak));
int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp, std::size_t newlen) __attribute__((weak));
const char* tc_version(int* major, int* minor, const char** patch) __attribute__((weak));
}

namespace icegate {

std::string allocator_in_use() {
  if (mi_version != nullptr && mi_is_in_heap_region != nullptr) {
    // Loaded is not enough: its malloc must be the one the process calls.
    void* probe = std::calloc(1, 64);  // zeroed: the probe is only looked at, never read
    const bool served = probe != nullptr && mi_is_in_heap_region(probe);
    std::free(probe);
    if (served) {
      const int version = mi_version();  // 209 for 2.0.9
      return fmt::format("mimalloc {}.{}.{}", version / 100, version / 10 % 10, version % 10);
    }
  }
  if (mallctl != nullptr) {
    const char* version = nullptr;
    std::size_t size = sizeof version;
    if (mallctl("version", static_cast<void*>(&version), &size, nullptr, 0) == 0 && version != nullptr)
      return fmt::format("jemalloc {}", version);
    return "jemalloc";
  }
  if (tc_version != nullptr) {
    int major = 0, minor = 0;
    const char* patch = "";
    tc_version(&major, &minor, &patch);
    return fmt::format("tcmalloc {}.{}{}", major, minor, patch ? patch : "");
  }
  return "glibc";
}

}  // namespace icegate

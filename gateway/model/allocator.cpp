#include "gateway/model/allocator.hpp"

#include <malloc.h>

#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

// Weak: null unless the allocator that defines them is loaded (the build may
// link another allocator, or none).
#if __has_include(<mimalloc.h>)
#include <mimalloc.h>
#define ICEGATE_HAVE_MIMALLOC_H 1
#pragma weak mi_version
#pragma weak mi_is_in_heap_region
#pragma weak mi_option_get
#pragma weak mi_option_set
#pragma weak mi_collect
#endif
extern "C" {
#ifndef ICEGATE_HAVE_MIMALLOC_H
int mi_version(void) __attribute__((weak));
bool mi_is_in_heap_region(const void* p) __attribute__((weak));
#endif
int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp, std::size_t newlen) __attribute__((weak));
// A sanitizer's runtime (ASan, TSan, MSan, LSan): it serves malloc itself.
int __sanitizer_get_ownership(const volatile void* p) __attribute__((weak));
const char* tc_version(int* major, int* minor, const char** patch) __attribute__((weak));
}

namespace icegate {

std::string allocator_in_use() {
  // A sanitizer's allocator replaces glibc's without a word to glibc, whose
  // heap is then never set up: glibc's malloc_trim on two threads at once
  // races to set it up, and crashed under ASan (so it must not be "glibc").
  if (__sanitizer_get_ownership != nullptr) {
    void* probe = std::calloc(1, 64);
    const bool served = probe != nullptr && __sanitizer_get_ownership(probe) != 0;
    std::free(probe);
    if (served) return "sanitizer";
  }
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

namespace {

// The allocator never changes while the process runs: asked once.
const std::string& allocator_name() {
  static const std::string name = allocator_in_use();
  return name;
}

#if defined(ICEGATE_HAVE_MIMALLOC_H) && defined(MI_MALLOC_VERSION) && MI_MALLOC_VERSION >= 200 && \
    MI_MALLOC_VERSION < 212
// mimalloc 2.0 (Debian 12's 2.0.9) decommits the free spans of its segments
// (returns their memory to the system) only after a delay, and only when the
// thread that owns them next touches its segments: with the delay at 0 while
// a GiveBackFreedMemory lives, what is freed is given back as it is freed.
// (2.1.2 renamed the setting, purge_delay: a newer header builds without the
// give-back, and a library other than the header's is left alone.)
#define ICEGATE_GIVE_BACK_MIMALLOC 1

// Scopes may overlap (two gateways in one process loading at once): the
// first to begin saves the setting and sets it, the last to end restores it.
std::mutex scopes_mutex;
int scopes = 0;            // guarded by scopes_mutex
long saved_delay = 0;      // guarded by scopes_mutex

// Whether this mimalloc is one to give back to: the same for the process's
// life, so a scope's end finds what its beginning found.
bool mimalloc_serves() {
  static const bool serves = allocator_name().starts_with("mimalloc") && mi_version != nullptr &&
                             mi_version() == MI_MALLOC_VERSION && mi_option_get != nullptr &&
                             mi_option_set != nullptr && mi_collect != nullptr;
  return serves;
}
#endif
}  // namespace

GiveBackFreedMemory::GiveBackFreedMemory() {
#ifdef ICEGATE_GIVE_BACK_MIMALLOC
  if (mimalloc_serves()) {
    const std::lock_guard lock(scopes_mutex);
    if (scopes++ == 0) {
      saved_delay = mi_option_get(mi_option_decommit_delay);
      mi_option_set(mi_option_decommit_delay, 0);
    }
  }
#endif
}

GiveBackFreedMemory::~GiveBackFreedMemory() {
#ifdef ICEGATE_GIVE_BACK_MIMALLOC
  if (mimalloc_serves()) {
    mi_collect(true);  // this thread's heap: the one a policy is loaded on
    const std::lock_guard lock(scopes_mutex);
    if (--scopes == 0) mi_option_set(mi_option_decommit_delay, saved_delay);
  }
#endif
  if (allocator_name() == "glibc") malloc_trim(0);
}

}  // namespace icegate

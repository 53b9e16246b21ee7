#include "gateway/model/allocator.hpp"

#include <malloc.h>

#include <cstdlib>
#include <iterator>
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

namespace {
#ifdef ICEGATE_HAVE_MIMALLOC_H
// What mimalloc 2.0 gives back at once while a GiveBackFreedMemory lives: a
// page freed whole is reset (its memory returned to the system), and free
// spans of segments are decommitted without the usual delay.
constexpr mi_option_t given_back_options[] = {mi_option_page_reset, mi_option_decommit_delay,
                                              mi_option_segment_decommit_delay};
constexpr long given_back_values[] = {1, 0, 0};

// Scopes may overlap (two gateways in one process reloading at once): the
// first to begin saves mimalloc's settings and sets them, the last to end
// restores them.
std::mutex scopes_mutex;
int scopes = 0;                                          // guarded by scopes_mutex
long saved_values[std::size(given_back_options)] = {};  // guarded by scopes_mutex

bool mimalloc_serves() {
  return allocator_in_use().starts_with("mimalloc") && mi_option_get != nullptr && mi_option_set != nullptr &&
         mi_collect != nullptr;
}
#endif
}  // namespace

GiveBackFreedMemory::GiveBackFreedMemory() {
#ifdef ICEGATE_HAVE_MIMALLOC_H
  mimalloc_ = mimalloc_serves();
  if (mimalloc_) {
    const std::lock_guard lock(scopes_mutex);
    if (scopes++ == 0) {
      for (std::size_t i = 0; i < std::size(given_back_options); ++i) {
        saved_values[i] = mi_option_get(given_back_options[i]);
        mi_option_set(given_back_options[i], given_back_values[i]);
      }
    }
  }
#endif
  glibc_ = allocator_in_use() == "glibc";
}

GiveBackFreedMemory::~GiveBackFreedMemory() {
#ifdef ICEGATE_HAVE_MIMALLOC_H
  if (mimalloc_) {
    mi_collect(true);  // this thread's heap; the others give back as they free
    const std::lock_guard lock(scopes_mutex);
    if (--scopes == 0) {
      for (std::size_t i = 0; i < std::size(given_back_options); ++i)
        mi_option_set(given_back_options[i], saved_values[i]);
    }
  }
#endif
  if (glibc_) malloc_trim(0);
}

}  // namespace icegate

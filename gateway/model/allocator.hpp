// Which allocator serves this process's malloc: the one the executable links
// (cmake/IcegateMalloc.cmake, docs/adr/0009-memory-allocator.md) or glibc's.
// Said at start-up, so that a figure measured on a gateway can be told apart
// from one measured on another build.
#pragma once

#include <string>

namespace icegate {

// "mimalloc 2.0.9", "jemalloc", "tcmalloc 2.10", "sanitizer" (the sanitized
// and fuzz builds: AddressSanitizer's), or "glibc" when none of those is
// loaded, or when one is loaded but malloc is not its (a library loaded too
// late to replace glibc's).
std::string allocator_in_use();

// While one lives, memory freed is given back to the system rather than kept
// for reuse, and when it ends, what the allocator still keeps freed is given
// back as well: for a burst of allocations that is over when the scope ends.
// Loading a policy is one: with W5's policy of 19,000 nodes an idle gateway
// held 168 MiB resident, of which massif found 20 MB live; given back, 36
// MiB. Not for the hot path, where keeping freed memory is what makes
// allocation cheap: the allocator's setting is process-wide (a plain value
// other threads read without a lock), so other threads give memory back too
// while a scope lives. Scopes may overlap, on any threads; the setting is
// restored when the last ends. mimalloc 2.0 (its decommit delay at 0, then a
// forced collection of this thread's heap) and glibc (malloc_trim);
// jemalloc, tcmalloc and newer mimalloc keep what they keep.
class GiveBackFreedMemory {
 public:
  GiveBackFreedMemory();
  ~GiveBackFreedMemory();
  GiveBackFreedMemory(const GiveBackFreedMemory&) = delete;
  GiveBackFreedMemory& operator=(const GiveBackFreedMemory&) = delete;
};

}  // namespace icegate

// Which allocator serves this process's malloc: the one the executable links
// (cmake/IcegateMalloc.cmake, docs/adr/0009-memory-allocator.md) or glibc's.
// Said at start-up, so that a figure measured on a gateway can be told apart
// from one measured on another build.
#pragma once

#include <string>

namespace icegate {

// "mimalloc 2.0.9", "jemalloc", "tcmalloc 2.10", or "glibc" when none of
// those is loaded, or when one is loaded but malloc is not its (a library
// loaded too late to replace glibc's).
std::string allocator_in_use();

// While one lives, memory freed is given back to the system rather than kept
// for reuse, and when it ends, what the allocator still keeps freed is given
// back as well: for a burst of allocations that is over when the scope ends.
// Loading a policy is one: W5's policy of 19,000 nodes takes about 145 MB to
// read and compile, of which about 10 are kept, and mimalloc would keep the
// rest for ever (an idle gateway of 165 MiB RSS instead of 36). Not for the
// hot path, where keeping freed memory is what makes allocation cheap: the
// allocator's settings are process-wide, so other threads give memory back
// too while a scope lives; scopes may overlap, on any threads (the settings
// are restored when the last ends). mimalloc (its page reset and decommit
// delays, then a forced collection) and glibc (malloc_trim); jemalloc and
// tcmalloc keep what they keep.
class GiveBackFreedMemory {
 public:
  GiveBackFreedMemory();
  ~GiveBackFreedMemory();
  GiveBackFreedMemory(const GiveBackFreedMemory&) = delete;
  GiveBackFreedMemory& operator=(const GiveBackFreedMemory&) = delete;

 private:
  bool mimalloc_ = false;
  bool glibc_ = false;
};

}  // namespace icegate

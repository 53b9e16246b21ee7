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

}  // namespace icegate

# The memory allocator our executables link (docs/adr/0009-memory-allocator.md).
#
# ICEGATE_MALLOC names it: mimalloc (the default, chosen by measurement),
# jemalloc, tcmalloc (gperftools' minimal build) or system (glibc's). Linked into an executable, the library's
# malloc, free and operator new replace glibc's for the whole process, the
# libraries it loads (OpenSSL, SQLite, protobuf) included. The sanitized and
# fuzz builds link none: AddressSanitizer's allocator serves them ("sanitizer").
#
# Executables take it with target_link_libraries(NAME PRIVATE icegate_malloc).
set(ICEGATE_MALLOC "mimalloc" CACHE STRING "The allocator linked into icegate's executables: mimalloc, jemalloc, tcmalloc or system")
set_property(CACHE ICEGATE_MALLOC PROPERTY STRINGS mimalloc jemalloc tcmalloc system)

add_library(icegate_malloc INTERFACE)
if(ICEGATE_SANITIZE OR ICEGATE_FUZZ)
  set(icegate_malloc_in_use "sanitizer")
else()
  set(icegate_malloc_in_use "${ICEGATE_MALLOC}")
endif()

if(icegate_malloc_in_use STREQUAL "jemalloc")
  set(icegate_malloc_library_name jemalloc)
elseif(icegate_malloc_in_use STREQUAL "mimalloc")
  set(icegate_malloc_library_name mimalloc)
elseif(icegate_malloc_in_use STREQUAL "tcmalloc")
  set(icegate_malloc_library_name tcmalloc_minimal)
elseif(NOT icegate_malloc_in_use MATCHES "^(system|sanitizer)$")
  message(FATAL_ERROR "ICEGATE_MALLOC=${ICEGATE_MALLOC}: expected jemalloc, mimalloc, tcmalloc or system")
endif()

if(DEFINED icegate_malloc_library_name)
  find_library(ICEGATE_MALLOC_LIBRARY NAMES ${icegate_malloc_library_name})
  if(NOT ICEGATE_MALLOC_LIBRARY)
    message(FATAL_ERROR "ICEGATE_MALLOC=${icegate_malloc_in_use}, but lib${icegate_malloc_library_name} was not found: "
                        "run `tools/dev setup` (tools/debian-packages.txt), or configure with -DICEGATE_MALLOC=system")
  endif()
  # --no-as-needed: the executable must load it even where the linker sees
  # no symbol of its own taken from it, so that it comes before glibc in the
  # search order and its malloc is the process's.
  target_link_libraries(icegate_malloc INTERFACE "-Wl,--push-state,--no-as-needed" ${ICEGATE_MALLOC_LIBRARY}
                                                 "-Wl,--pop-state")
endif()
message(STATUS "icegate: memory allocator ${icegate_malloc_in_use}")

# icegate_proto_library(TARGET PROTOS...): a static library of the C++ that
# protoc generates from PROTOS (paths relative to the calling directory, which
# is also the import root), generated into the build tree and never committed.
# Include the headers by the .proto's path ("icegate/v1/icegate.pb.h").
# Used for the wire schema (proto/) and the test schemas (tests/).
function(icegate_proto_library target)
  add_library(${target} STATIC ${ARGN})
  protobuf_generate(
    TARGET ${target}
    LANGUAGE cpp
    IMPORT_DIRS ${CMAKE_CURRENT_SOURCE_DIR}
    PROTOC_OUT_DIR ${CMAKE_CURRENT_BINARY_DIR})
  # SYSTEM: warnings in generated headers are protoc's, not ours.
  target_include_directories(${target} SYSTEM PUBLIC ${CMAKE_CURRENT_BINARY_DIR})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf)
  # Generated code is not ours to lint.
  set_target_properties(${target} PROPERTIES CXX_CLANG_TIDY "")
  target_compile_options(${target} PRIVATE -w)
endfunction()

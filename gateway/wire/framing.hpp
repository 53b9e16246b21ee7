// Framing: a 4-byte big-endian length, then that many bytes of one serialized
// icegate.v1.Frame. Pure functions over bytes, so the fuzzer, the gateway and
// the node library share one implementation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "icegate/v1/icegate.pb.h"

namespace icegate::wire {

inline constexpr std::size_t frame_header_bytes = 4;
inline constexpr std::uint32_t default_max_frame_bytes = 1u << 20;  // 1 MiB
inline constexpr std::uint32_t protocol_version = 1;

enum class FrameError {
  none,
  too_large,     // the length prefix exceeds the limit
  empty,         // a zero length prefix
  not_protobuf,  // the body does not parse as a Frame
  unknown_body,  // parsed, but no oneof case we know (a newer peer, or garbage)
};

std::string_view to_string(FrameError error);

// The length prefix followed by the serialized frame.
std::string encode_frame(const v1::Frame& frame);

std::uint32_t decode_length(const unsigned char* header);
void encode_length(std::uint32_t length, unsigned char* header);

// Checks a length prefix against the limit.
FrameError check_length(std::uint32_t length, std::uint32_t max_frame_bytes);

// Parses one frame body (without its prefix).
FrameError parse_frame(std::string_view body, v1::Frame& frame);

// Incremental decoder over a byte stream: feed bytes as they arrive, take
// frames out. After an error it stays in error; the connection is done.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::uint32_t max_frame_bytes = default_max_frame_bytes)
      : max_frame_bytes_(max_frame_bytes) {}

  void feed(std::string_view bytes) { buffer_.append(bytes); }

  enum class Status { need_more, frame, error };
  // On Status::frame, `frame` holds the next frame; on Status::error, error().
  Status next(v1::Frame& frame);
  FrameError error() const { return error_; }
  std::size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  std::uint32_t max_frame_bytes_;
  std::string buffer_;
  std::size_t consumed_ = 0;
  FrameError error_ = FrameError::none;
};

}  // namespace icegate::wire

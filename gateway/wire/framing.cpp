#include "gateway/wire/framing.hpp"

namespace icegate::wire {

std::string_view to_string(FrameError error) {
  switch (error) {
    case FrameError::none: return "none";
    case FrameError::too_large: return "frame too large";
    case FrameError::empty: return "empty frame";
    case FrameError::not_protobuf: return "not a protobuf Frame";
    case FrameError::unknown_body: return "unknown frame type";
  }
  return "unknown";
}

std::uint32_t decode_length(const unsigned char* header) {
  return (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
         (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]};
}

void encode_length(std::uint32_t length, unsigned char* header) {
  header[0] = static_cast<unsigned char>(length >> 24);
  header[1] = static_cast<unsigned char>(length >> 16);
  header[2] = static_cast<unsigned char>(length >> 8);
  header[3] = static_cast<unsigned char>(length);
}

std::string encode_frame(const v1::Frame& frame) {
  const std::size_t size = frame.ByteSizeLong();
  std::string bytes(frame_header_bytes + size, '\0');
  encode_length(static_cast<std::uint32_t>(size), reinterpret_cast<unsigned char*>(bytes.data()));
  frame.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(bytes.data() + frame_header_bytes));
  return bytes;
}

FrameError check_length(std::uint32_t length, std::uint32_t max_frame_bytes) {
  if (length == 0) return FrameError::empty;
  if (length > max_frame_bytes) return FrameError::too_large;
  return FrameError::none;
}

FrameError parse_frame(std::string_view body, v1::Frame& frame) {
  if (!frame.ParseFromArray(body.data(), static_cast<int>(body.size()))) return FrameError::not_protobuf;
  if (frame.body_case() == v1::Frame::BODY_NOT_SET) return FrameError::unknown_body;
  return FrameError::none;
}

FrameDecoder::Status FrameDecoder::next(v1::Frame& frame) {
  if (error_ != FrameError::none) return Status::error;
  if (buffered() < frame_header_bytes) return Status::need_more;
  const auto* header = reinterpret_cast<const unsigned char*>(buffer_.data() + consumed_);
  const std::uint32_t length = decode_length(header);
  if ((error_ = check_length(length, max_frame_bytes_)) != FrameError::none) return Status::error;
  if (buffered() < frame_header_bytes + length) return Status::need_more;
  const std::string_view body(buffer_.data() + consumed_ + frame_header_bytes, length);
  consumed_ += frame_header_bytes + length;
  if ((error_ = parse_frame(body, frame)) != FrameError::none) return Status::error;
  // Compact once the consumed prefix dominates, so a long stream stays bounded.
  if (consumed_ > buffer_.size() / 2) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return Status::frame;
}

}  // namespace icegate::wire

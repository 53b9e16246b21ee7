// Fuzzes wire::FrameDecoder, the first code to see a peer's bytes.
//
// The input is a byte stream fed to the decoder in chunks. The stream is taken
// from the front of the input and the chunk sizes from the back (libFuzzer's
// FuzzedDataProvider), so a seed is a run of length-prefixed frames followed by
// a few control bytes. The first control byte picks the frame size limit: the
// gateway's 1 MiB default, or a small one so that "too large" is reachable.
//
// Besides "never crash", the decoder is checked against a model of the framing
// rules kept here: every frame it returns had a length prefix within the limit
// and is exactly the bytes the prefix announced; it never asks for more bytes
// while a whole frame is buffered; its errors are the right ones; an error is
// final; and after draining, it never holds a whole frame's worth of bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <fuzzer/FuzzedDataProvider.h>
#include <google/protobuf/stubs/logging.h>

#include "gateway/wire/framing.hpp"

namespace {

using icegate::wire::FrameDecoder;
using icegate::wire::FrameError;

// A property the decoder broke: stop here, so libFuzzer records the input.
[[noreturn]] void bug() { __builtin_trap(); }

// The framing rules, applied to everything fed so far.
class StreamModel {
 public:
  explicit StreamModel(std::uint32_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  void feed(std::string_view bytes) { stream_.append(bytes); }

  std::size_t unread() const { return stream_.size() - position_; }

  // The length prefix of the next frame, when all four bytes have arrived.
  bool next_length(std::uint32_t& length) const {
    if (unread() < icegate::wire::frame_header_bytes) return false;
    length = icegate::wire::decode_length(reinterpret_cast<const unsigned char*>(stream_.data() + position_));
    return true;
  }

  // Whether the next frame's prefix and body have both arrived.
  bool whole_frame_buffered() const {
    std::uint32_t length = 0;
    return next_length(length) && unread() >= icegate::wire::frame_header_bytes + std::size_t{length};
  }

  std::string_view take_body(std::uint32_t length) {
    const std::string_view body(stream_.data() + position_ + icegate::wire::frame_header_bytes, length);
    position_ += icegate::wire::frame_header_bytes + length;
    return body;
  }

  std::uint32_t max_frame_bytes() const { return max_frame_bytes_; }

 private:
  std::uint32_t max_frame_bytes_;
  std::string stream_;
  std::size_t position_ = 0;
};

// Takes frames out until the decoder wants more bytes or fails, checking each
// step against the model. Returns false once the decoder is in error.
bool drain(FrameDecoder& decoder, StreamModel& model) {
  icegate::v1::Frame frame;
  icegate::v1::Frame expected;
  for (;;) {
    const FrameDecoder::Status status = decoder.next(frame);
    std::uint32_t length = 0;
    const bool have_length = model.next_length(length);
    switch (status) {
      case FrameDecoder::Status::need_more:
        if (model.whole_frame_buffered() && length != 0 && length <= model.max_frame_bytes()) bug();
        if (have_length && (length == 0 || length > model.max_frame_bytes())) bug();  // should be an error
        if (decoder.buffered() != model.unread()) bug();
        // Nothing buffered is a whole frame, so at most a prefix and a partial body.
        if (decoder.buffered() >= icegate::wire::frame_header_bytes + std::size_t{model.max_frame_bytes()}) bug();
        return true;
      case FrameDecoder::Status::frame: {
        if (!have_length || length == 0 || length > model.max_frame_bytes()) bug();
        if (!model.whole_frame_buffered()) bug();
        const std::string_view body = model.take_body(length);
        if (icegate::wire::parse_frame(body, expected) != FrameError::none) bug();
        if (frame.body_case() != expected.body_case()) bug();
        if (frame.SerializeAsString() != expected.SerializeAsString()) bug();
        if (decoder.buffered() != model.unread()) bug();
        break;
      }
      case FrameDecoder::Status::error: {
        const FrameError error = decoder.error();
        if (!have_length) bug();
        if (length == 0) {
          if (error != FrameError::empty) bug();
        } else if (length > model.max_frame_bytes()) {
          if (error != FrameError::too_large) bug();
        } else {
          if (!model.whole_frame_buffered()) bug();
          if (icegate::wire::parse_frame(model.take_body(length), expected) != error) bug();
          if (error != FrameError::not_protobuf && error != FrameError::unknown_body) bug();
        }
        // An error is final, however many bytes follow.
        decoder.feed(std::string_view("\0\0\0\2\x42\0", 6));
        if (decoder.next(frame) != FrameDecoder::Status::error || decoder.error() != error) bug();
        return false;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Frames with invalid UTF-8 in a string field fail to parse, which is the
  // decoder's business; protobuf would also log each one.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const std::uint8_t limit_choice = input.ConsumeIntegral<std::uint8_t>();
  const std::uint32_t max_frame_bytes =
      limit_choice < 128 ? icegate::wire::default_max_frame_bytes : std::uint32_t{limit_choice} - 127;  // 1..128

  FrameDecoder decoder(max_frame_bytes);
  StreamModel model(max_frame_bytes);
  while (input.remaining_bytes() > 0) {
    // 0 feeds an empty chunk, which must change nothing.
    const auto chunk_size = input.ConsumeIntegralInRange<std::size_t>(0, 512);
    const std::string chunk = input.ConsumeBytesAsString(chunk_size);
    decoder.feed(chunk);
    model.feed(chunk);
    if (!drain(decoder, model)) break;
  }
  return 0;
}

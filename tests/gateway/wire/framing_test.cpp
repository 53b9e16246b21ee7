#include <gtest/gtest.h>

#include "gateway/wire/framing.hpp"

namespace icegate::wire {
namespace {

v1::Frame hello(const std::string& node) {
  v1::Frame frame;
  frame.mutable_hello()->set_node_id(node);
  frame.mutable_hello()->set_protocol_version(protocol_version);
  return frame;
}

TEST(Framing, PrefixIsFourBytesBigEndian) {
  const std::string bytes = encode_frame(hello("ctu-wm"));
  ASSERT_GE(bytes.size(), 4u);
  const auto length = decode_length(reinterpret_cast<const unsigned char*>(bytes.data()));
  EXPECT_EQ(length, bytes.size() - 4);
  unsigned char header[4];
  encode_length(0x01020304u, header);
  EXPECT_EQ(header[0], 0x01);
  EXPECT_EQ(header[3], 0x04);
  EXPECT_EQ(decode_length(header), 0x01020304u);
}

TEST(Framing, RoundTripsThroughTheDecoderByteByByte) {
  std::string stream = encode_frame(hello("a")) + encode_frame(hello("b"));
  FrameDecoder decoder;
  std::vector<std::string> seen;
  for (char c : stream) {
    decoder.feed(std::string_view(&c, 1));
    v1::Frame frame;
    while (decoder.next(frame) == FrameDecoder::Status::frame) seen.push_back(frame.hello().node_id());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(Framing, LengthOverTheLimitIsRefusedBeforeTheBodyArrives) {
  FrameDecoder decoder(1024);
  unsigned char header[4];
  encode_length(1025, header);
  decoder.feed(std::string_view(reinterpret_cast<char*>(header), 4));
  v1::Frame frame;
  EXPECT_EQ(decoder.next(frame), FrameDecoder::Status::error);
  EXPECT_EQ(decoder.error(), FrameError::too_large);
  EXPECT_EQ(check_length(1024, 1024), FrameError::none);
  EXPECT_EQ(check_length(0, 1024), FrameError::empty);
}

TEST(Framing, GarbageBodyIsNotAProtobuf) {
  v1::Frame frame;
  EXPECT_EQ(parse_frame(std::string("\xff\xff\xff\xff", 4), frame), FrameError::not_protobuf);
}

TEST(Framing, UnknownOneofCaseIsReportedAsUnknownBody) {
  // Field 99, varint 1: a frame type this version does not know.
  const std::string body("\x98\x06\x01", 3);
  v1::Frame frame;
  EXPECT_EQ(parse_frame(body, frame), FrameError::unknown_body);
}

TEST(Framing, TruncatedFrameWaitsForMore) {
  const std::string bytes = encode_frame(hello("ctu-wm"));
  FrameDecoder decoder;
  decoder.feed(std::string_view(bytes).substr(0, bytes.size() - 1));
  v1::Frame frame;
  EXPECT_EQ(decoder.next(frame), FrameDecoder::Status::need_more);
}

}  // namespace
}  // namespace icegate::wire

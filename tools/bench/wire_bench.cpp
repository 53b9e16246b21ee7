// Microbenchmarks for the wire: a realistic 1 KB Submit frame (the CT
// neighbourhood problem profile, two portions, four addressees) decoded as
// the gateway's session decodes it, and encoded as a node encodes it.
// How to run them is in docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "gateway/model/message.hpp"
#include "gateway/wire/codec.hpp"
#include "gateway/wire/framing.hpp"

namespace {

using icegate::Message;
namespace wire = icegate::wire;
namespace v1 = icegate::v1;

constexpr std::size_t kFrameBytes = 1024;  // length prefix included

// Prose of the length a portion body has, cut to size.
std::string prose(std::size_t length) {
  static const std::string text =
      "Community tension in the ward has risen since the arrests; partners report leaflets outside two "
      "schools and a rise in reported hate incidents near the mosque on the main road. The problem profile "
      "sets out what the neighbourhood team, the council and schools can do to reassure residents. ";
  std::string result;
  while (result.size() < length) result += text;
  result.resize(length);
  return result;
}

Message profile_message() {
  Message message;
  message.id = "3f2b8c1e-9a4d-4e7b-8c21-5d6f7a8b9c0d";
  message.originator = "ctu-birmingham-east-ct-analyst";
  message.created_unix_ms = 1'790'000'000'000;
  message.addressees = {{icegate::AddresseeKind::list, "heads-of-key-services-1"},
                        {icegate::AddresseeKind::role, "council-critical-reader"},
                        {icegate::AddresseeKind::node, "bcu-birmingham-east-bcu-commander"},
                        {icegate::AddresseeKind::organisation, "npt-sparkhill"}};
  message.category = "ct-problem-profile";
  message.purpose = "prevent";
  message.title = "CT neighbourhood problem profile: Sparkhill, third quarter";
  message.label = {"SECRET", {"UK EYES ONLY"}};
  message.portions = {{"1", {"SECRET", {"UK EYES ONLY"}}, ""}, {"2", {"RESTRICTED", {}}, ""}};
  message.handling.originator_control = true;
  message.handling.not_after_unix_ms = 1'790'086'400'000;
  return message;
}

v1::Frame submit_frame(const Message& message) {
  v1::Frame frame;
  wire::encode(message, *frame.mutable_submit()->mutable_message());
  return frame;
}

// The profile with bodies sized so the whole frame is kFrameBytes: the rest
// split 60:40 between the SECRET and RESTRICTED portions, then the SECRET body
// trimmed a character at a time (varint lengths make the first cut inexact).
Message one_kilobyte_message() {
  Message message = profile_message();
  const std::size_t overhead = wire::encode_frame(submit_frame(message)).size();
  const std::size_t room = kFrameBytes > overhead + 8 ? kFrameBytes - overhead - 8 : 0;
  message.portions[0].body = prose(room * 3 / 5);
  message.portions[1].body = prose(room - room * 3 / 5);
  while (wire::encode_frame(submit_frame(message)).size() < kFrameBytes) message.portions[0].body += '.';
  while (wire::encode_frame(submit_frame(message)).size() > kFrameBytes && !message.portions[0].body.empty()) {
    message.portions[0].body.pop_back();
  }
  return message;
}

const std::string& one_kilobyte_frame() {
  static const std::string bytes = wire::encode_frame(submit_frame(one_kilobyte_message()));
  return bytes;
}

// Length prefix, Frame parse, and conversion to the gateway's Message with
// the default limits: what Session does with each Submit.
void BM_FrameDecode(benchmark::State& state) {
  const std::string& bytes = one_kilobyte_frame();
  const wire::MessageLimits limits;
  for (auto _ : state) {
    const std::uint32_t length = wire::decode_length(reinterpret_cast<const unsigned char*>(bytes.data()));
    if (wire::check_length(length, wire::default_max_frame_bytes) != wire::FrameError::none) {
      state.SkipWithError("bad length prefix");
      break;
    }
    v1::Frame frame;
    if (wire::parse_frame(std::string_view(bytes).substr(wire::frame_header_bytes, length), frame) !=
        wire::FrameError::none) {
      state.SkipWithError("frame does not parse");
      break;
    }
    wire::DecodeProblem problem;
    auto message = wire::decode(frame.submit().message(), limits, problem);
    if (!message) {
      state.SkipWithError(wire::to_string(problem).c_str());
      break;
    }
    benchmark::DoNotOptimize(message);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(bytes.size()));
  state.counters["frame_bytes"] = static_cast<double>(bytes.size());
}

// The gateway's Message to a length-prefixed Frame.
void BM_FrameEncode(benchmark::State& state) {
  const Message message = one_kilobyte_message();
  std::size_t size = 0;
  for (auto _ : state) {
    std::string bytes = wire::encode_frame(submit_frame(message));
    size = bytes.size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(size));
  state.counters["frame_bytes"] = static_cast<double>(size);
}

BENCHMARK(BM_FrameDecode)->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_FrameEncode)->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();

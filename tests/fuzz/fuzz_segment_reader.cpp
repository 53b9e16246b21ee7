// Fuzzes the segment log's recovery reader (store::scan_segment), which reads
// whatever a crash, a torn write or a damaged disk left in a segment file.
//
// The input is a whole segment file. Besides "never crash", the reader is
// checked against the format: the records it hands back, re-encoded after the
// magic, are exactly the input's first valid_bytes bytes (so it neither
// invents, skips nor alters a record); their seqs are above 0 and increasing;
// it stops before the end if and only if it reports a problem; and reading
// that valid prefix again gives the same records and no problem.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/store/segment_log.hpp"

namespace {

using icegate::store::SegmentProblem;

[[noreturn]] void bug() { __builtin_trap(); }

struct Seen {
  std::uint64_t seq;
  std::string_view payload;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::vector<Seen> seen;
  const auto scan = icegate::store::scan_segment(bytes, 0, [&](std::uint64_t seq, std::string_view payload) {
    seen.push_back({seq, payload});
  });
  if (scan.valid_bytes > size) bug();
  // Not a segment (an empty file included: its creation was torn): nothing read.
  if (scan.problem == SegmentProblem::bad_magic) {
    if (scan.valid_bytes != 0 || !seen.empty()) bug();
    if (bytes.substr(0, icegate::store::segment_magic.size()) == icegate::store::segment_magic) bug();
    return 0;
  }
  if ((scan.problem == SegmentProblem::none) != (scan.valid_bytes == size)) bug();
  if (scan.records != seen.size()) bug();
  std::string encoded(icegate::store::segment_magic);
  std::uint64_t previous = 0;
  for (const auto& record : seen) {
    if (record.seq == 0 || record.seq <= previous) bug();
    previous = record.seq;
    if (record.payload.size() > icegate::store::segment_max_payload_bytes) bug();
    icegate::store::encode_record(encoded, record.seq, record.payload);
  }
  if (!seen.empty() && (scan.first_seq != seen.front().seq || scan.last_seq != seen.back().seq)) bug();
  if (encoded != bytes.substr(0, scan.valid_bytes)) bug();
  const auto again = icegate::store::scan_segment(bytes.substr(0, scan.valid_bytes), 0);
  if (again.problem != SegmentProblem::none || again.records != scan.records || again.last_seq != scan.last_seq) bug();
  // Records must follow the previous segment's last seq: after the last one, none is valid.
  if (scan.records > 0 && icegate::store::scan_segment(bytes, scan.last_seq).records != 0) bug();
  return 0;
}

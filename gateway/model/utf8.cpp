#include "gateway/model/utf8.hpp"

namespace icegate::utf8 {

// The length of the well-formed UTF-8 sequence at the start of `text`
// (RFC 3629: shortest form, no surrogates, nothing above U+10FFFF), or 0 if
// the first byte does not start one.
std::size_t sequence_length(std::string_view text) {
  if (text.empty()) return 0;
  const auto byte = [&text](std::size_t at) { return static_cast<unsigned char>(text[at]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  // The allowed range of the second byte narrows for E0, ED, F0 and F4:
  // that is what rules out overlong forms, surrogates and code points past
  // U+10FFFF (Unicode's table 3-7).
  unsigned char second_low = 0x80;
  unsigned char second_high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) second_low = 0xa0;
    if (lead == 0xed) second_high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) second_low = 0x90;
    if (lead == 0xf4) second_high = 0x8f;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  if (byte(1) < second_low || byte(1) > second_high) return 0;
  for (std::size_t at = 2; at < length; ++at) {
    if (byte(at) < 0x80 || byte(at) > 0xbf) return 0;
  }
  return length;
}


char32_t decode(std::string_view sequence) {
  const auto lead = static_cast<unsigned char>(sequence[0]);
  if (sequence.size() == 1) return lead;
  char32_t code_point = lead & (sequence.size() == 2 ? 0x1f : sequence.size() == 3 ? 0x0f : 0x07);
  for (std::size_t at = 1; at < sequence.size(); ++at)
    code_point = (code_point << 6) | (static_cast<unsigned char>(sequence[at]) & 0x3f);
  return code_point;
}

std::optional<std::size_t> first_invalid(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = sequence_length(text.substr(at));
    if (length == 0) return at;
    at += length;
  }
  return std::nullopt;
}

}  // namespace icegate::utf8

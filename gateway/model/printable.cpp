#include "gateway/model/printable.hpp"

#include <cstdint>

#include <fmt/format.h>

#include "gateway/model/utf8.hpp"

namespace icegate::text {

namespace {

bool needs_escape(char32_t c) {
  return c < 0x20 || c == '\\' || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
         (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

}  // namespace

bool is_printable(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = utf8::sequence_length(text.substr(at));
    if (length == 0 || needs_escape(utf8::decode(text.substr(at, length)))) return false;
    at += length;
  }
  return true;
}

std::string printable(std::string_view text) {
  if (is_printable(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = utf8::sequence_length(text.substr(at));
    if (length == 0) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[at]));
      ++at;
      continue;
    }
    const char32_t c = utf8::decode(text.substr(at, length));
    if (!needs_escape(c)) {
      out.append(text.substr(at, length));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x100) {
      out += fmt::format("\\x{:02x}", static_cast<std::uint32_t>(c));
    } else {
      out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(c));
    }
    at += length;
  }
  return out;
}

}  // namespace icegate::text

#include "gateway/model/json.hpp"

#include <fmt/format.h>

namespace icegate::json {

namespace {

// The length of the well-formed UTF-8 sequence at the start of `text`
// (RFC 3629: shortest form, no surrogates, nothing above U+10FFFF), or 0 if
// the first byte does not start one.
std::size_t utf8_sequence_length(std::string_view text) {
  const auto byte = [&text](std::size_t at) { return static_cast<unsigned char>(text[at]); };
  const unsigned char lead = byte(0);
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

}  // namespace

std::string quote(std::string_view text) {
  static constexpr std::string_view replacement = "\xef\xbf\xbd";  // U+FFFD in UTF-8
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  std::size_t at = 0;
  while (at < text.size()) {
    const char c = text[at];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      // JSON text must be UTF-8 (RFC 8259 section 8.1), but names and file
      // paths are only bytes: a byte that starts no well-formed sequence is
      // written as U+FFFD, one for each such byte.
      if (const std::size_t length = utf8_sequence_length(text.substr(at)); length > 0) {
        out.append(text.substr(at, length));
        at += length;
      } else {
        out.append(replacement);
        ++at;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (byte < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned>(byte));
        else out.push_back(c);
    }
    ++at;
  }
  out.push_back('"');
  return out;
}

void Object::key(std::string_view name) {
  if (!body_.empty()) body_.push_back(',');
  body_ += quote(name);
  body_.push_back(':');
}

Object& Object::add(std::string_view name, std::string_view value) {
  key(name);
  body_ += quote(value);
  return *this;
}

Object& Object::add(std::string_view name, std::int64_t value) {
  key(name);
  body_ += std::to_string(value);
  return *this;
}

Object& Object::add(std::string_view name, bool value) {
  key(name);
  body_ += value ? "true" : "false";
  return *this;
}

Object& Object::add(std::string_view name, const std::vector<std::string>& values) {
  key(name);
  body_.push_back('[');
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) body_.push_back(',');
    body_ += quote(values[i]);
  }
  body_.push_back(']');
  return *this;
}

Object& Object::add_raw(std::string_view name, std::string_view encoded) {
  key(name);
  body_ += encoded;
  return *this;
}

}  // namespace icegate::json

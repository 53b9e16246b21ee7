#include "gateway/model/json.hpp"

#include <fmt/format.h>

#include "gateway/model/utf8.hpp"

namespace icegate::json {

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
      if (const std::size_t length = utf8::sequence_length(text.substr(at)); length > 0) {
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

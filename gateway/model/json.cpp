#include "gateway/model/json.hpp"

#include <fmt/format.h>

namespace icegate::json {

std::string quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else out.push_back(c);
    }
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

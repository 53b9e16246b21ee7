// A small JSON writer: quoted strings, and objects with keys in the order
// written. Every JSON the tools, the dashboard and the reports print goes
// through quote(), so all of it is valid UTF-8 whatever bytes a name or path
// holds. (The audit chain's canonical form has its own escaper in audit.cpp:
// that form is frozen, since changing it would break the hashes of every
// stored record.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace icegate::json {

// `text` as a JSON string literal, quotes included. Each byte that does not
// belong to a well-formed UTF-8 sequence is written as U+FFFD, so the result
// is valid UTF-8 for any input.
std::string quote(std::string_view text);

class Object {
 public:
  Object& add(std::string_view key, std::string_view value);
  Object& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  Object& add(std::string_view key, std::int64_t value);
  Object& add(std::string_view key, bool value);
  Object& add(std::string_view key, const std::vector<std::string>& values);
  Object& add_raw(std::string_view key, std::string_view json);  // an already-encoded value
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key(std::string_view name);
  std::string body_;
};

}  // namespace icegate::json

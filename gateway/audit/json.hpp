// A small JSON object writer for audit details: keys in the order written,
// strings escaped. Enough for flat records with arrays of small objects.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace icegate::audit::json {

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

}  // namespace icegate::audit::json

// Reads the small JSON request bodies of the dashboard's API: one object whose
// values are strings (`{"decision":"approve","reviewer":"x","reason":"..."}`).
// Strict, bounded and allocation-light; it is the only JSON the gateway reads
// from the network, so it says exactly what was wrong and where.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace icegate::http {

struct JsonObjectResult {
  std::map<std::string, std::string, std::less<>> values;
  std::string error;  // empty when it parsed: "at offset 12: expected ':'"
  bool ok() const { return error.empty(); }
};

// Nested objects, arrays, numbers, booleans and null are refused: none of the
// API's bodies has them. A repeated key is an error.
JsonObjectResult parse_string_object(std::string_view text);

}  // namespace icegate::http

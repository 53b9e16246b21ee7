// Reads the small JSON request bodies of the dashboard's API: one object whose
// values are strings (`{"decision":"approve","reviewer":"x","reason":"..."}`),
// and of the exercise host's. Strict and bounded: Boost.JSON's basic_parser
// reads them, with a handler that refuses a repeated key (json_body.cpp). It
// is the only JSON the gateway reads from the network, so it says exactly
// what was wrong and where.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace icegate::http {

struct JsonObjectResult {
  std::map<std::string, std::string, std::less<>> values;
  std::string error;  // empty when it parsed: "at offset 12: expected ':'"
  bool ok() const { return error.empty(); }
};

// Nested objects, arrays, numbers, booleans and null are refused: none of the
// API's bodies has them. A repeated key is an error.
JsonObjectResult parse_string_object(std::string_view text);

// Any JSON value, for the richer bodies of the exercise host's API (a message
// with addressees and portions). Objects keep their keys in the order written.
struct JsonMember;

struct JsonValue {
  enum class Type { null, boolean, number, string, array, object };
  Type type = Type::null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  // A struct rather than std::pair: a pair needs JsonValue complete here,
  // which libstdc++ under clang refuses; a vector of a declared struct is fine.
  std::vector<JsonMember> object;

  // An object's member, or null when absent (or when this is no object).
  const JsonValue* find(std::string_view key) const;
  bool is_null() const { return type == Type::null; }
};

struct JsonMember {
  std::string key;
  JsonValue value;
};

struct JsonValueResult {
  JsonValue value;
  std::string error;  // empty when it parsed: "at offset 12: expected ':'"
  bool ok() const { return error.empty(); }
};

// Strict JSON (RFC 8259): one value and nothing after it. Nesting deeper than
// `max_depth` and a repeated key in one object are errors, so that a hostile
// body can neither exhaust the stack nor say two things at once.
JsonValueResult parse_json(std::string_view text, std::size_t max_depth = 16);

}  // namespace icegate::http

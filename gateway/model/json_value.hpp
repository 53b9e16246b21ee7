// Reading JSON documents and building them with Boost.JSON's value types
// (docs/adr/0008-json-library.md). Include this only where a file builds or
// reads a document: the Boost.JSON headers are heavier than json.hpp.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/json.hpp"

namespace icegate::json {

struct ParseResult {
  boost::json::value value;  // null when error is set
  std::string error;         // "line L, column C: what", or empty
};

// One JSON text (RFC 8259, UTF-8), nested at most `max_depth` arrays and
// objects deep; text after the value is an error. Never throws for bad input.
ParseResult parse(std::string_view text, std::size_t max_depth = 64);

// `value` as indented JSON text, valid UTF-8: two spaces a level, "key": value,
// an array of scalars on one line. Lines after the first are indented by
// `base_indent` more levels, so the text can be embedded in an indented document.
// (Boost.JSON 1.81 serialises only compactly; scalars are still written by it.)
std::string pretty(const boost::json::value& value, int base_indent = 0);

// `values` as an array of strings.
boost::json::array strings(const std::vector<std::string>& values);

// `value`'s member `key` when `value` is an object that has it, else nullptr.
const boost::json::value* member(const boost::json::value& value, std::string_view key);

}  // namespace icegate::json

// UTF-8, checked: the one decoder that the JSON writer, the log escaper and
// the policy loader share.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace icegate::utf8 {

// The length of the well-formed UTF-8 sequence at the start of `text`
// (RFC 3629: shortest form, no surrogates, nothing above U+10FFFF), or 0 if
// the first byte does not start one.
std::size_t sequence_length(std::string_view text);

// The code point of a well-formed sequence (as sequence_length measured it).
char32_t decode(std::string_view sequence);

// Where the first byte that starts no well-formed sequence is, if any.
std::optional<std::size_t> first_invalid(std::string_view text);

}  // namespace icegate::utf8

// Text from a peer, made safe to print on one line of a log or a terminal.
// A node chooses its Hello's software version and its Error texts; written
// as they are, a newline in them would forge a log line and an escape
// sequence would drive the reader's terminal. The audit trail escapes such
// text in its JSON; logs and terminals escape it here.
#pragma once

#include <string>
#include <string_view>

namespace icegate::text {

// Control characters (C0, DEL, C1), the Unicode line and paragraph separators
// and the bidirectional overrides and isolates become escapes (\n, \t, \r,
// \x1b, \u2028, ...); a backslash becomes \\ so that an escape cannot be
// forged either; bytes that are not UTF-8 become \xNN. Everything else,
// accented and non-Latin letters included, stays as it is.
std::string printable(std::string_view text);

// Whether printable(text) would return `text` unchanged.
bool is_printable(std::string_view text);

}  // namespace icegate::text

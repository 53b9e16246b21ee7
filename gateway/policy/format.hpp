// `icegate policy fmt`: one canonical layout for policy, scheme and policy
// test files, so that a diff between two versions shows what changed and not
// how it was typed.
//
// The canonical form (policies/README.md, "Formatting"):
//  - keys in the order the README's tables list them (unknown keys last, in
//    their own order), 2-space indentation, list items indented under their key;
//  - a list of scalars in flow style ([a, b]) when it fits in 120 columns and
//    no comment sits inside it, block style otherwise; mappings in block style;
//  - scalars plain where YAML reads them back unchanged, else double-quoted;
//    a value quoted in the source that would read as a boolean, number or
//    null stays quoted;
//  - comments kept: a comment on its own line stays above the key or list
//    item that follows it (and moves with it), a comment at the end of a line
//    stays at the end of that key's or item's first line, comments above the
//    first key stay at the top, comments after the last stay at the end; at
//    most one blank line is kept before a key or item, none at the start of a
//    block.
//
// Formatting never changes what a file means: the result is parsed again and
// compared with the input (same data, same comments, and formatting it again
// changes nothing); if any check fails, the file is left alone and an error
// says why. Anchors and aliases are expanded. Only files that parse without
// a problem are formatted.
#pragma once

#include <string>
#include <string_view>

#include "gateway/policy/diagnostics.hpp"

namespace icegate::policy {

// Which key order applies, from the top-level keys: `tests` is a policy test
// file, `policy` a policy, `scheme` with `classifications` a scheme file.
enum class YamlFileKind { policy, scheme, policy_test, other };
std::string_view to_string(YamlFileKind kind);

struct FormatResult {
  bool ok = false;        // false: not formatted; diagnostics says why
  std::string text;       // the canonical text (when ok)
  YamlFileKind kind = YamlFileKind::other;
  bool changed = false;   // text differs from the input
  Diagnostics diagnostics;
};

// Formats `text`; `file` names it in diagnostics.
FormatResult format_policy_yaml(std::string_view text, const std::string& file);

// A unified diff (`diff -u` style, `context` lines around each change) from
// `old_text` to `new_text`; empty when they are equal.
std::string unified_diff(std::string_view old_text, std::string_view new_text, std::string_view old_name,
                         std::string_view new_name, int context = 3);

}  // namespace icegate::policy

// Internal: stage 1, text to syntax tree.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/policy/diagnostics.hpp"
#include "gateway/policy/syntax.hpp"

namespace icegate::policy {

struct ParseResult {
  std::optional<SyntaxNode> root;  // absent when the text is not well-formed YAML
  Diagnostics diagnostics;
};

// Parses one YAML document (a policy file or a scheme file) into a syntax tree.
// `file` names the text in every location. A YAML syntax error becomes a
// single P001 at the place the YAML parser gave up; a key repeated within one
// mapping is P006 (the first occurrence is kept); a key that is not a plain
// string is P003. Never throws for bad input.
ParseResult parse_policy_file(std::string_view text, const std::string& file);

// The whole of a file, or nullopt with `error` saying why not ("No such file
// or directory", "it is a directory").
std::optional<std::string> read_text_file(const std::filesystem::path& file, std::string& error);

}  // namespace icegate::policy

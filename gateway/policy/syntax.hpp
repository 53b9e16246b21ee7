// Internal: the syntax tree of a policy or scheme file.
//
// A YAML document as plain data, with the source location of every value and
// every mapping key, so that the validator can point at exactly the text that
// is wrong. It knows nothing of what a policy means; it is independent of
// yaml-cpp (the parser builds it), which keeps the validator testable on
// hand-built trees.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/policy/diagnostics.hpp"

namespace icegate::policy {

enum class SyntaxKind { null, scalar, sequence, mapping };

struct SyntaxEntry;

struct SyntaxNode {
  SyntaxKind kind = SyntaxKind::null;
  std::string text;     // scalar text (kind == scalar)
  bool quoted = false;  // a quoted scalar: always a string, never a bool or a number
  std::vector<SyntaxNode> items;     // kind == sequence
  std::vector<SyntaxEntry> entries;  // kind == mapping, in file order, keys unique
  SourceLocation location;           // where the value starts

  bool is_null() const { return kind == SyntaxKind::null; }
  bool is_scalar() const { return kind == SyntaxKind::scalar; }
  bool is_sequence() const { return kind == SyntaxKind::sequence; }
  bool is_mapping() const { return kind == SyntaxKind::mapping; }

  // The entry or value under `key` of a mapping; null when absent or not a mapping.
  const SyntaxEntry* find_entry(std::string_view key) const;
  const SyntaxNode* find(std::string_view key) const;
};

struct SyntaxEntry {
  std::string key;
  SourceLocation key_location;
  SyntaxNode value;
};

// "a mapping", "a list", "a string", "nothing": for "expected X, found Y".
std::string_view describe(const SyntaxNode& node);

// Scalar interpretations (YAML 1.2 core schema, as far as policies need it).
// Each returns nullopt when the node is not a scalar of that type.
std::optional<bool> scalar_as_bool(const SyntaxNode& node);
std::optional<long long> scalar_as_integer(const SyntaxNode& node);

}  // namespace icegate::policy

#include "gateway/policy/syntax.hpp"

#include <charconv>

namespace icegate::policy {

const SyntaxEntry* SyntaxNode::find_entry(std::string_view key) const {
  if (kind != SyntaxKind::mapping) return nullptr;
  for (const SyntaxEntry& entry : entries) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

const SyntaxNode* SyntaxNode::find(std::string_view key) const {
  const SyntaxEntry* entry = find_entry(key);
  return entry ? &entry->value : nullptr;
}

std::string_view describe(const SyntaxNode& node) {
  switch (node.kind) {
    case SyntaxKind::null:
      return "nothing";
    case SyntaxKind::sequence:
      return "a list";
    case SyntaxKind::mapping:
      return "a mapping";
    case SyntaxKind::scalar:
      break;
  }
  if (scalar_as_bool(node)) return "a boolean";
  if (scalar_as_integer(node)) return "a number";
  return "a string";
}

std::optional<bool> scalar_as_bool(const SyntaxNode& node) {
  if (node.kind != SyntaxKind::scalar || node.quoted) return std::nullopt;
  const std::string& t = node.text;
  if (t == "true" || t == "True" || t == "TRUE") return true;
  if (t == "false" || t == "False" || t == "FALSE") return false;
  return std::nullopt;
}

std::optional<long long> scalar_as_integer(const SyntaxNode& node) {
  if (node.kind != SyntaxKind::scalar || node.quoted || node.text.empty()) return std::nullopt;
  const char* first = node.text.data();
  const char* last = first + node.text.size();
  if (*first == '+') ++first;
  long long value = 0;
  auto [end, error] = std::from_chars(first, last, value);
  if (error != std::errc() || end != last || first == last) return std::nullopt;
  return value;
}

}  // namespace icegate::policy

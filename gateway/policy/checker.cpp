#include "gateway/policy/checker.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace icegate::policy {
namespace {

std::string lower(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

std::string join(Keys keys) {
  std::string result;
  for (std::string_view key : keys) {
    if (!result.empty()) result += ", ";
    result += key;
  }
  return result;
}

// "line 12" for messages that point back at an earlier definition in the same file,
// "file:12:3" when it is in another file.
std::string where(const SourceLocation& earlier, const SourceLocation& here) {
  if (earlier.file == here.file) return fmt::format("line {}", earlier.line);
  return to_string(earlier);
}

}  // namespace

int edit_distance(std::string_view a_text, std::string_view b_text) {
  const std::string a = lower(a_text);
  const std::string b = lower(b_text);
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::vector<int>> d(n + 1, std::vector<int>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = static_cast<int>(i);
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = static_cast<int>(j);
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string suggestion_suffix(const std::optional<std::string>& suggestion) {
  return suggestion ? fmt::format("; did you mean '{}'?", *suggestion) : std::string();
}

bool Names::define(const LocatedString& name, Diagnostics& diagnostics, Code code, std::string_view noun) {
  auto [it, inserted] = where_.emplace(name.value, name.location);
  if (!inserted) {
    diagnostics.error(code, name.location,
                      fmt::format("duplicate {} {} '{}' (first defined at {})", kind_, noun, name.value,
                                  where(it->second, name.location)),
                      {.related = it->second});
    return false;
  }
  order_.push_back(name.value);
  return true;
}

void Checker::wrong_type(const SyntaxNode& node, std::string_view what, std::string_view expected) {
  diagnostics_.error(code(Code::P003), node.location,
                     fmt::format("{} must be {}, found {}", what, expected, describe(node)));
}

bool Checker::expect_mapping(const SyntaxNode& node, std::string_view what) {
  if (node.is_mapping()) return true;
  wrong_type(node, what, "a mapping");
  return false;
}

void Checker::check_keys(const SyntaxNode& mapping, std::string_view what, Keys allowed) {
  for (const SyntaxEntry& entry : mapping.entries) {
    if (std::find(allowed.begin(), allowed.end(), entry.key) != allowed.end()) continue;
    auto suggestion = closest(entry.key, allowed);
    std::string message = fmt::format("unknown key '{}' in {}", entry.key, what);
    if (suggestion) {
      message += suggestion_suffix(suggestion);
    } else {
      message += fmt::format(" (expected one of: {})", join(allowed));
    }
    diagnostics_.error(code(Code::P002), entry.key_location, std::move(message), {.suggestion = suggestion});
  }
}

const SyntaxNode* Checker::require(const SyntaxNode& mapping, std::string_view key, std::string_view what) {
  if (const SyntaxNode* value = mapping.find(key)) return value;
  diagnostics_.error(code(Code::P004), mapping.location, fmt::format("{} is missing required key '{}'", what, key));
  return nullptr;
}

std::optional<LocatedString> Checker::read_string(const SyntaxNode& node, std::string_view what) {
  if (!node.is_scalar()) {
    wrong_type(node, what, "a string");
    return std::nullopt;
  }
  if (node.text.empty()) {
    diagnostics_.error(code(Code::P005), node.location, fmt::format("{} must not be empty", what));
    return std::nullopt;
  }
  return LocatedString{node.text, node.location};
}

std::optional<LocatedString> Checker::read_optional_string(const SyntaxNode& mapping, std::string_view key,
                                                           std::string_view what) {
  const SyntaxNode* node = mapping.find(key);
  if (!node) return std::nullopt;
  return read_string(*node, what);
}

std::optional<LocatedString> Checker::read_required_string(const SyntaxNode& mapping, std::string_view key,
                                                           std::string_view owner) {
  const SyntaxNode* node = require(mapping, key, owner);
  if (!node) return std::nullopt;
  return read_string(*node, fmt::format("'{}'", key));
}

std::vector<LocatedString> Checker::read_string_list(const SyntaxNode& node, std::string_view what) {
  std::vector<LocatedString> result;
  if (!node.is_sequence()) {
    wrong_type(node, what, "a list of strings");
    return result;
  }
  for (const SyntaxNode& item : node.items) {
    if (auto value = read_string(item, fmt::format("each entry of {}", what))) result.push_back(std::move(*value));
  }
  return result;
}

std::optional<bool> Checker::read_bool(const SyntaxNode& node, std::string_view what) {
  if (auto value = scalar_as_bool(node)) return value;
  wrong_type(node, what, "true or false");
  return std::nullopt;
}

std::vector<const SyntaxNode*> Checker::read_entries(const SyntaxNode& node, std::string_view section) {
  std::vector<const SyntaxNode*> result;
  if (!node.is_sequence()) {
    wrong_type(node, fmt::format("'{}'", section), "a list");
    return result;
  }
  for (const SyntaxNode& item : node.items) {
    if (item.is_mapping()) {
      result.push_back(&item);
    } else {
      wrong_type(item, fmt::format("each entry of '{}'", section), "a mapping");
    }
  }
  return result;
}

bool Checker::reference(const Names& names, const LocatedString& name, std::optional<Code> code_override) {
  if (names.contains(name.value)) return true;
  auto suggestion = closest(name.value, names.in_order());
  diagnostics_.error(code_override.value_or(code(Code::P011)), name.location,
                     fmt::format("undefined {} '{}'{}", names.kind(), name.value, suggestion_suffix(suggestion)),
                     {.suggestion = suggestion});
  return false;
}

std::vector<std::string> values(const std::vector<LocatedString>& located) {
  std::vector<std::string> result;
  result.reserve(located.size());
  for (const LocatedString& item : located) {
    if (std::find(result.begin(), result.end(), item.value) == result.end()) result.push_back(item.value);
  }
  return result;
}

std::string describe_entry(std::string_view kind, const std::optional<LocatedString>& id) {
  return id ? fmt::format("{} '{}'", kind, id->value) : std::string(kind);
}

}  // namespace icegate::policy

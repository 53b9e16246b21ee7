#include "gateway/policy/parser.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "gateway/model/utf8.hpp"

namespace icegate::policy {
namespace {

SourceLocation location_of(const YAML::Mark& mark, const std::string& file) {
  if (mark.is_null()) return SourceLocation{file, 0, 0};
  // yaml-cpp counts from 0; every location we print counts from 1.
  return SourceLocation{file, mark.line + 1, mark.column + 1};
}

class TreeBuilder {
 public:
  // Without aliases a document cannot hold more values than it has bytes, so
  // `max_nodes` is the text's size plus a margin: only aliases get past it.
  TreeBuilder(const std::string& file, Diagnostics& diagnostics, std::size_t max_nodes)
      : file_(file), diagnostics_(diagnostics), max_nodes_(max_nodes) {}

  // Limits on what a document may expand to: YAML aliases can refer to
  // themselves (endless recursion) or multiply (a few hundred bytes that
  // expand to billions of nodes). A real policy is far below both.
  static constexpr int max_depth = 64;

  SyntaxNode build(const YAML::Node& node, const SourceLocation& fallback) {
    SyntaxNode result;
    result.location = location_of(node.Mark(), file_);
    if (result.location.line == 0) result.location = fallback;
    if (exhausted_) return result;
    if (depth_ >= max_depth || ++nodes_ > max_nodes_) {
      exhausted_ = true;
      diagnostics_.error(Code::P008, result.location,
                         depth_ >= max_depth
                             ? fmt::format("nested more than {} levels deep (a YAML alias that refers to itself?)", max_depth)
                             : fmt::format("expands to more than {} values, more than the file could hold "
                                           "without YAML aliases multiplying",
                                           max_nodes_));
      return result;
    }
    struct Level {
      int& depth;
      explicit Level(int& d) : depth(d) { ++depth; }
      ~Level() { --depth; }
    } level(depth_);
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        result.kind = SyntaxKind::null;
        break;
      case YAML::NodeType::Scalar:
        result.kind = SyntaxKind::scalar;
        result.text = node.Scalar();
        // yaml-cpp tags quoted (non-plain) scalars "!" and plain ones "?".
        result.quoted = node.Tag() == "!";
        break;
      case YAML::NodeType::Sequence:
        result.kind = SyntaxKind::sequence;
        for (const YAML::Node& item : node) result.items.push_back(build(item, result.location));
        break;
      case YAML::NodeType::Map:
        result.kind = SyntaxKind::mapping;
        build_entries(node, result);
        break;
    }
    return result;
  }

 private:
  void build_entries(const YAML::Node& node, SyntaxNode& mapping) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies, not references: yaml-cpp's operator-> returns a temporary
      // proxy, so a reference to `it->first` dangles (ASan finds it).
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      SourceLocation key_location = location_of(key.Mark(), file_);
      if (key_location.line == 0) key_location = mapping.location;
      if (!key.IsScalar()) {
        diagnostics_.error(Code::P003, key_location, "a mapping key must be a plain string");
        continue;
      }
      if (const SyntaxEntry* first = mapping.find_entry(key.Scalar())) {
        diagnostics_.error(Code::P006, key_location,
                           fmt::format("duplicate key '{}' (first at line {}); the first is used",
                                       key.Scalar(), first->key_location.line));
        continue;
      }
      SyntaxEntry entry;
      entry.key = key.Scalar();
      entry.key_location = key_location;
      entry.value = build(value, key_location);
      // yaml-cpp places an empty value at the next token, which may be lines
      // further on; the key is where a reader looks for it.
      if (entry.value.is_null()) entry.value.location = key_location;
      mapping.entries.push_back(std::move(entry));
    }
  }

  const std::string& file_;
  Diagnostics& diagnostics_;
  std::size_t max_nodes_;
  int depth_ = 0;
  std::size_t nodes_ = 0;
  bool exhausted_ = false;
};

}  // namespace

ParseResult parse_policy_file(std::string_view text, const std::string& file) {
  ParseResult result;
  // YAML is Unicode text. A name that is not UTF-8 could not be written into
  // JSON output or the audit trail (whose bytes are frozen) as it is: refuse
  // the file where its first such byte is.
  if (const auto bad = utf8::first_invalid(text)) {
    const std::string_view before = text.substr(0, *bad);
    const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    const auto line_start = before.rfind('\n');
    const int column = static_cast<int>(*bad - (line_start == std::string_view::npos ? 0 : line_start + 1)) + 1;
    result.diagnostics.error(Code::P009, SourceLocation{file, line, column},
                             fmt::format("the file is not UTF-8 text: byte 0x{:02x} starts no UTF-8 character "
                                         "(save it as UTF-8)",
                                         static_cast<unsigned char>(text[*bad])));
    return result;
  }
  // A second YAML document would be ignored without a word: refuse it. Found
  // by its marker at the start of a line (`---`, or `...` then more), because
  // yaml-cpp's LoadAll can loop for ever on malformed input (the fuzzer found one).
  {
    bool content = false, ended = false;
    int line = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      const std::string_view row = text.substr(start, end - start);
      ++line;
      const bool marker = row.starts_with("---") && (row.size() == 3 || row[3] == ' ' || row[3] == '\t' || row[3] == '\r');
      const bool finish = row.starts_with("...") && (row.size() == 3 || row[3] == ' ' || row[3] == '\r');
      const auto first = row.find_first_not_of(" \t\r");
      const bool blank_or_comment = first == std::string_view::npos || row[first] == '#';
      if ((marker && content) || (ended && !blank_or_comment && !marker)) {
        result.diagnostics.error(Code::P001, SourceLocation{file, line, 1},
                                 "a second YAML document begins here; a policy file holds one");
        return result;
      }
      if (finish) ended = true;
      else if (!blank_or_comment && !row.starts_with("%")) content = true;
      start = end + 1;
    }
  }
  YAML::Node document;
  try {
    document = YAML::Load(std::string(text));
  } catch (const YAML::Exception& error) {
    result.diagnostics.error(Code::P001, location_of(error.mark, file),
                             fmt::format("YAML syntax error: {}", error.msg));
    return result;
  }
  TreeBuilder builder(file, result.diagnostics, text.size() + 10'000);
  result.root = builder.build(document, SourceLocation{file, 1, 1});
  return result;
}

std::optional<std::string> read_text_file(const std::filesystem::path& file, std::string& error) {
  std::error_code code;
  if (std::filesystem::is_directory(file, code)) {
    error = "it is a directory";
    return std::nullopt;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    error = "read failed";
    return std::nullopt;
  }
  return std::move(text).str();
}

}  // namespace icegate::policy

// format_policy_yaml: the syntax tree re-emitted in canonical form, with the
// comments yaml-cpp drops put back by a line-based pass over the source.
//
// Comments are attached to "anchors": every mapping entry (at its key's line)
// and every list item (at the line it starts on). A comment on its own line
// belongs to the next anchor; one at the end of a line to the outermost
// anchor that starts on that line. The emitter writes each anchor's comments
// where the anchor lands, so reordering keys carries their comments along.
#include "gateway/policy/format.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <regex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "gateway/policy/parser.hpp"
#include "gateway/policy/syntax.hpp"

namespace icegate::policy {
namespace {

constexpr std::size_t kLineWidth = 120;

// ---- Key orders (policies/README.md) ----------------------------------------------------

struct Shape {
  std::vector<std::string_view> keys;
  std::map<std::string_view, const Shape*, std::less<>> children;  // the shape of a key's value (or its list items)

  const Shape* child(std::string_view key) const {
    auto it = children.find(key);
    return it == children.end() ? nullptr : it->second;
  }
};

struct Shapes {
  Shape matcher{{"nodes", "organisations", "organisation_kinds", "roles", "levels", "ct_network", "lists", "peers"}, {}};
  Shape handling{{"review_by", "originator_control", "no_onward_sharing"}, {}};
  Shape rule{{"id", "description", "effect", "categories", "purposes", "from", "to", "min_classification",
              "max_classification", "handling"},
             {{"from", &matcher}, {"to", &matcher}, {"handling", &handling}}};
  Shape event{{"id", "description", "triggered_by"}, {{"triggered_by", &matcher}}};
  Shape vetting{{"name", "regular", "occasional"}, {}};
  Shape allowance{{"releases", "window"}, {}};
  Shape organisation{{"id", "name", "kind", "ct_network"}, {}};
  Shape role{{"id", "name", "level"}, {}};
  Shape node{{"id", "name", "organisation", "role", "vetting", "categories"}, {}};
  Shape list{{"id", "name", "nodes", "roles"}, {}};
  Shape classification{
      {"name", "marking", "colour", "text_colour", "requires", "requires_any_of", "requires_exactly_one_of"}, {}};
  Shape category{
      {"name", "marking", "excluded_at", "requires", "requires_any_of", "requires_exactly_one_of", "excludes"}, {}};
  Shape tag_set{
      {"name", "type", "max_selection", "marking_prefix", "marking_separator", "marking_suffix", "categories"},
      {{"categories", &category}}};
  Shape scheme{{"scheme", "description", "classifications", "tag_sets"},
               {{"classifications", &classification}, {"tag_sets", &tag_set}}};
  Shape peer_holds{{"max_classification", "categories"}, {}};
  Shape peer_receives{{"categories", "purposes"}, {}};
  Shape peer_speaks_for{{"organisations", "nodes", "roles"}, {}};
  Shape peer{{"id", "address", "ca", "holds", "receives", "speaks_for"},
             {{"holds", &peer_holds}, {"receives", &peer_receives}, {"speaks_for", &peer_speaks_for}}};
  Shape policy{{"policy", "description", "scheme", "levels", "vetting", "occasional_allowance", "organisations",
                "roles", "nodes", "lists", "information_categories", "purposes", "combining", "rules", "events",
                "accept_schemes", "peers"},
               {{"scheme", &scheme},
                {"vetting", &vetting},
                {"occasional_allowance", &allowance},
                {"organisations", &organisation},
                {"roles", &role},
                {"nodes", &node},
                {"lists", &list},
                {"rules", &rule},
                {"events", &event},
                {"peers", &peer}}};
  Shape label{{"classification", "categories"}, {}};
  Shape portion{{"id", "label"}, {{"label", &label}}};
  Shape request{{"from", "to", "category", "purpose", "portions", "occasional_available"}, {{"portions", &portion}}};
  Shape expect{{"decision", "withheld", "released", "rules", "review_roles", "originator_control",
                "no_onward_sharing", "occasional", "reason_contains"},
               {}};
  Shape row{{"name", "description", "from", "to", "category", "purpose", "portions", "occasional_available", "expect"},
            {{"portions", &portion}, {"expect", &expect}}};
  Shape test_case{{"name", "description", "request", "expect", "each"},
                  {{"request", &request}, {"expect", &expect}, {"each", &row}}};
  Shape test_file{{"policy", "description", "tests"}, {{"tests", &test_case}}};
};

const Shapes& shapes() {
  static const Shapes instance;
  return instance;
}

YamlFileKind kind_of(const SyntaxNode& root) {
  if (!root.is_mapping()) return YamlFileKind::other;
  if (root.find("tests")) return YamlFileKind::policy_test;
  if (root.find("policy")) return YamlFileKind::policy;
  if (root.find("scheme") && root.find("classifications")) return YamlFileKind::scheme;
  return YamlFileKind::other;
}

const Shape* shape_of(YamlFileKind kind) {
  switch (kind) {
    case YamlFileKind::policy: return &shapes().policy;
    case YamlFileKind::scheme: return &shapes().scheme;
    case YamlFileKind::policy_test: return &shapes().test_file;
    case YamlFileKind::other: return nullptr;
  }
  return nullptr;
}

// ---- Scalars ------------------------------------------------------------------------------

// Whether YAML would read `text` back as a string if it were written plain.
// (YAML 1.2 core schema, plus YAML 1.1's yes/no/on/off, which some readers still apply.)
bool looks_like_non_string(std::string_view text) {
  static constexpr std::string_view kWords[] = {"true", "false", "yes", "no", "on",   "off",
                                                "y",    "n",     "null", "~",  ".inf", "-.inf",
                                                "+.inf", ".nan"};
  if (text.empty()) return true;
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (std::find(std::begin(kWords), std::end(kWords), lower) != std::end(kWords)) return true;
  static const std::regex kNumber(
      R"(^[-+]?(\.[0-9_]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$|^0x[0-9a-fA-F_]+$|^0o[0-7_]+$|^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$)");
  return std::regex_match(lower, kNumber);
}

// Whether `text`, written plain in `context` ("k: {}" for a block value, "[{}]"
// for a flow item, "{}: v" for a key), reads back as exactly `text`, plain.
bool reads_back_plain(std::string_view text, std::string_view context_kind) {
  if (text.empty() || text.find('\n') != std::string_view::npos || text.front() == ' ' || text.back() == ' ' ||
      text.find('\t') != std::string_view::npos) {
    return false;
  }
  try {
    if (context_kind == "value") {
      YAML::Node node = YAML::Load(fmt::format("k: {}", text));
      if (!node.IsMap() || node.size() != 1) return false;
      YAML::Node value = node["k"];
      return value.IsScalar() && value.Scalar() == text && value.Tag() == "?";
    }
    if (context_kind == "flow") {
      YAML::Node node = YAML::Load(fmt::format("[{}]", text));
      return node.IsSequence() && node.size() == 1 && node[0].IsScalar() && node[0].Scalar() == text &&
             node[0].Tag() == "?";
    }
    YAML::Node node = YAML::Load(fmt::format("{}: v", text));
    if (!node.IsMap() || node.size() != 1) return false;
    return node.begin()->first.IsScalar() && node.begin()->first.Scalar() == text;
  } catch (const YAML::Exception&) {
    return false;
  }
}

std::string double_quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string scalar_text(const SyntaxNode& node, bool flow) {
  const std::string_view context = flow ? "flow" : "value";
  if (!reads_back_plain(node.text, context)) return double_quoted(node.text);
  // Plain in the source: it read as whatever it reads as (a string, a boolean,
  // a number), and written plain again it reads the same.
  if (!node.quoted) return node.text;
  // Quoted in the source: a string; plain only if it would still be one.
  return looks_like_non_string(node.text) ? double_quoted(node.text) : node.text;
}

std::string key_text(std::string_view key) {
  return reads_back_plain(key, "key") && !looks_like_non_string(key) ? std::string(key) : double_quoted(key);
}

// ---- Comments -----------------------------------------------------------------------------

struct Decor {
  std::vector<std::string> leading;   // comment lines ("" = a blank line inside the block)
  bool blank_before = false;          // a blank line before the anchor (or its comments)
  std::vector<std::string> trailing;  // comments at the end of its first line
};

struct SourceLine {
  enum Kind { blank, comment_line, content } kind = blank;
  std::string comment;  // a comment line: its text from '#'; a content line: its trailing comment, if any
};

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::size_t indentation(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  return i;
}

// Classifies each line, finding comments outside quoted scalars and block scalars.
std::vector<SourceLine> scan_lines(std::string_view text) {
  std::vector<SourceLine> result;
  bool in_double = false;
  bool in_single = false;
  std::optional<std::size_t> block_scalar_parent;  // indentation of the line that opened a | or > scalar
  for (std::string_view line : split_lines(text)) {
    SourceLine info;
    const std::size_t indent = indentation(line);
    const bool is_blank = line.find_first_not_of(" \t") == std::string_view::npos;
    if (block_scalar_parent) {
      if (is_blank || indent > *block_scalar_parent) {
        info.kind = is_blank ? SourceLine::blank : SourceLine::content;
        result.push_back(info);
        continue;
      }
      block_scalar_parent.reset();
    }
    if (!in_double && !in_single) {
      if (is_blank) {
        result.push_back(info);
        continue;
      }
      if (line[indent] == '#') {
        info.kind = SourceLine::comment_line;
        info.comment = std::string(line.substr(indent));
        while (!info.comment.empty() && (info.comment.back() == ' ' || info.comment.back() == '\t')) {
          info.comment.pop_back();
        }
        result.push_back(info);
        continue;
      }
    }
    info.kind = SourceLine::content;
    std::size_t code_end = line.size();
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (in_double) {
        if (c == '\\') {
          ++i;
        } else if (c == '"') {
          in_double = false;
        }
        continue;
      }
      if (in_single) {
        if (c == '\'') {
          if (i + 1 < line.size() && line[i + 1] == '\'') {
            ++i;
          } else {
            in_single = false;
          }
        }
        continue;
      }
      // A quote opens a quoted scalar only where a scalar may start.
      if (c == '"' || c == '\'') {
        std::size_t p = i;
        while (p > 0 && line[p - 1] == ' ') --p;
        const bool at_token_start =
            p == 0 || line[p - 1] == ':' || line[p - 1] == '-' || line[p - 1] == '[' || line[p - 1] == '{' ||
            line[p - 1] == ',' || line[p - 1] == '?';
        if (at_token_start && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '[' || line[i - 1] == '{' ||
                               line[i - 1] == ',')) {
          (c == '"' ? in_double : in_single) = true;
        }
        continue;
      }
      if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
        code_end = i;
        std::string comment(line.substr(i));
        while (!comment.empty() && (comment.back() == ' ' || comment.back() == '\t')) comment.pop_back();
        info.comment = std::move(comment);
        break;
      }
    }
    // `key: |` or `- >-`: the lines below, more indented, are the scalar's text.
    std::string_view code = line.substr(0, code_end);
    while (!code.empty() && code.back() == ' ') code.remove_suffix(1);
    std::size_t indicator = code.size();
    while (indicator > 0 && (code[indicator - 1] == '-' || code[indicator - 1] == '+' ||
                             std::isdigit(static_cast<unsigned char>(code[indicator - 1])))) {
      --indicator;
    }
    if (!in_double && !in_single && indicator > 0 && (code[indicator - 1] == '|' || code[indicator - 1] == '>') &&
        (indicator == 1 || code[indicator - 2] == ' ') && code.size() - indicator <= 2) {
      block_scalar_parent = indent;
    }
    result.push_back(std::move(info));
  }
  return result;
}

// ---- Attaching comments to anchors --------------------------------------------------------

struct Anchor {
  int line = 0;
  const void* element = nullptr;  // a SyntaxEntry or a SyntaxNode (list item)
  bool entry = false;
};

void collect_anchors(const SyntaxNode& node, std::vector<Anchor>& anchors) {
  if (node.is_mapping()) {
    for (const SyntaxEntry& entry : node.entries) {
      anchors.push_back({entry.key_location.line, &entry, true});
      collect_anchors(entry.value, anchors);
    }
  } else if (node.is_sequence()) {
    for (const SyntaxNode& item : node.items) {
      anchors.push_back({item.location.line, &item, false});
      collect_anchors(item, anchors);
    }
  }
}

struct Comments {
  std::vector<std::string> header;  // above the first anchor, verbatim
  bool blank_after_header = false;
  std::vector<std::string> footer;  // below the last content line
  std::unordered_map<const void*, Decor> decor;
  std::vector<std::string> all;  // every comment's text, for the "nothing lost" check
};

Comments attach_comments(std::string_view text, const SyntaxNode& root) {
  Comments comments;
  const std::vector<SourceLine> lines = scan_lines(text);
  std::vector<Anchor> anchors;
  collect_anchors(root, anchors);
  // The outermost (first in document order) anchor starting on each line.
  std::map<int, const void*> owner;
  for (const Anchor& anchor : anchors) owner.emplace(anchor.line, anchor.element);
  // A comment at the end of a line is about the last key on it (`- effect:
  // permit  # why`, `nodes: [a, b]  # why`), or the line's item when it has none.
  std::map<int, const void*> trailing_owner = owner;
  for (const Anchor& anchor : anchors) {
    if (anchor.entry) trailing_owner[anchor.line] = anchor.element;
  }

  std::vector<std::string> pending;
  bool pending_blank = false;  // a blank line before the first pending comment
  bool seen_anchor = false;
  const void* last_anchor = nullptr;
  auto take_pending = [&]() {
    while (!pending.empty() && pending.back().empty()) pending.pop_back();
    return std::exchange(pending, {});
  };
  for (std::size_t index = 0; index < lines.size(); ++index) {
    const SourceLine& line = lines[index];
    const int number = static_cast<int>(index) + 1;
    if (line.kind == SourceLine::blank) {
      if (!seen_anchor) {
        if (!pending.empty() && !pending.back().empty()) pending.emplace_back();
      } else if (pending.empty()) {
        pending_blank = true;
      } else if (!pending.back().empty()) {
        pending.emplace_back();
      }
      continue;
    }
    if (line.kind == SourceLine::comment_line) {
      comments.all.push_back(line.comment);
      pending.push_back(line.comment);
      continue;
    }
    auto found = owner.find(number);
    if (found != owner.end()) {
      if (!seen_anchor) {
        // Everything above the first key stays at the top of the file.
        const bool blank_last = !pending.empty() && pending.back().empty();
        comments.header = take_pending();
        comments.blank_after_header = blank_last && !comments.header.empty();
        seen_anchor = true;
      } else {
        Decor& decor = comments.decor[found->second];
        decor.blank_before = decor.blank_before || pending_blank;
        const bool blank_last = !pending.empty() && pending.back().empty();
        std::vector<std::string> block = take_pending();
        if (blank_last && !block.empty()) block.emplace_back();
        decor.leading.insert(decor.leading.end(), block.begin(), block.end());
      }
      pending_blank = false;
      last_anchor = found->second;
    }
    if (!line.comment.empty()) {
      comments.all.push_back(line.comment);
      const void* target = found != owner.end() ? trailing_owner[number] : last_anchor;
      if (target) {
        comments.decor[target].trailing.push_back(line.comment);
      } else {
        comments.header.push_back(line.comment);
      }
    }
  }
  comments.footer = take_pending();
  if (!seen_anchor) {
    comments.header.insert(comments.header.end(), comments.footer.begin(), comments.footer.end());
    comments.footer.clear();
  }
  return comments;
}

// ---- Emitting -------------------------------------------------------------------------------

constexpr char kCommentMark = '\x01';

// Comments at the end of consecutive lines of the same indentation start in
// one column, two spaces after the longest line's text.
std::string align_trailing_comments(const std::string& text) {
  std::vector<std::string_view> lines = split_lines(text);
  std::string out;
  std::size_t i = 0;
  while (i < lines.size()) {
    std::size_t mark = lines[i].find(kCommentMark);
    if (mark == std::string_view::npos) {
      out += std::string(lines[i]) + "\n";
      ++i;
      continue;
    }
    // The run: this line and the following ones of the same indentation that
    // are not comment lines (lines without a comment do not break it).
    std::size_t end = i;
    std::size_t width = 0;
    const std::size_t indent = indentation(lines[i]);
    while (end < lines.size() && !lines[end].empty() && indentation(lines[end]) == indent &&
           lines[end][indent] != '#') {
      const std::size_t at = lines[end].find(kCommentMark);
      if (at != std::string_view::npos) width = std::max(width, at);
      ++end;
    }
    for (std::size_t k = i; k < end; ++k) {
      const std::size_t at = lines[k].find(kCommentMark);
      if (at == std::string_view::npos) {
        out += std::string(lines[k]) + "\n";
      } else {
        out += std::string(lines[k].substr(0, at)) + std::string(width - at + 2, ' ') +
               std::string(lines[k].substr(at + 1)) + "\n";
      }
    }
    i = end;
  }
  return out;
}

class Emitter {
 public:
  explicit Emitter(const Comments& comments) : comments_(comments) {}

  std::string emit(const SyntaxNode& root, const Shape* shape) {
    for (const std::string& line : comments_.header) out_ += line + "\n";
    if (comments_.blank_after_header) out_ += "\n";
    const bool first_in_block = comments_.header.empty();
    if (root.is_mapping() && !root.entries.empty()) {
      emit_mapping(root, 0, shape, false, first_in_block, nullptr);
    } else if (root.is_sequence() && !root.items.empty()) {
      emit_sequence(root, 0, shape);
    } else if (root.is_scalar()) {
      out_ += scalar_text(root, false) + "\n";
    } else if (root.is_sequence()) {
      out_ += "[]\n";
    } else if (root.is_mapping()) {
      out_ += "{}\n";
    }
    if (!comments_.footer.empty()) {
      if (!out_.empty()) out_ += "\n";
      for (const std::string& line : comments_.footer) out_ += line + "\n";
    }
    return align_trailing_comments(out_);
  }

 private:
  const Decor& decor(const void* element) const {
    static const Decor none;
    auto it = comments_.decor.find(element);
    return it == comments_.decor.end() ? none : it->second;
  }

  void write_comments(const std::vector<std::string>& lines, std::size_t indent) {
    for (const std::string& line : lines) {
      if (line.empty()) {
        out_ += "\n";
      } else {
        out_ += std::string(indent, ' ') + line + "\n";
      }
    }
  }

  // A trailing comment is marked with kCommentMark until align_trailing_comments places it.
  void write_line(const std::string& text, const std::vector<std::string>& trailing) {
    out_ += text;
    if (!trailing.empty()) out_ += fmt::format("{}{}", kCommentMark, fmt::join(trailing, " "));
    out_ += "\n";
  }

  // Entries in canonical order: the shape's keys first, then the rest as written.
  static std::vector<const SyntaxEntry*> ordered(const SyntaxNode& mapping, const Shape* shape) {
    std::vector<const SyntaxEntry*> result;
    if (shape) {
      for (std::string_view key : shape->keys) {
        if (const SyntaxEntry* entry = mapping.find_entry(key)) result.push_back(entry);
      }
    }
    for (const SyntaxEntry& entry : mapping.entries) {
      if (std::find(result.begin(), result.end(), &entry) == result.end()) result.push_back(&entry);
    }
    return result;
  }

  // "[a, b]" if `sequence` may be written in flow style after `prefix`.
  std::optional<std::string> flow_list(const SyntaxNode& sequence, std::size_t prefix_width) const {
    std::string text = "[";
    for (std::size_t i = 0; i < sequence.items.size(); ++i) {
      const SyntaxNode& item = sequence.items[i];
      if (!item.is_scalar()) return std::nullopt;
      const Decor& d = decor(&item);
      if (!d.leading.empty() || !d.trailing.empty()) return std::nullopt;
      if (i > 0) text += ", ";
      text += scalar_text(item, true);
    }
    text += "]";
    if (prefix_width + text.size() > kLineWidth) return std::nullopt;
    return text;
  }

  // The value of an entry or a list item, after `head` ("  key:" or "  - ").
  // `indent` is the indentation of the head's own content.
  void emit_value(const std::string& head, bool head_is_dash, const SyntaxNode& value, std::size_t indent,
                  const Shape* shape, const std::vector<std::string>& trailing) {
    const std::string separator = head_is_dash ? "" : " ";
    switch (value.kind) {
      case SyntaxKind::null:
        write_line(head_is_dash ? head.substr(0, head.size() - 1) : head, trailing);
        return;
      case SyntaxKind::scalar:
        write_line(head + separator + scalar_text(value, false), trailing);
        return;
      case SyntaxKind::sequence:
        if (value.items.empty()) {
          write_line(head + separator + "[]", trailing);
        } else if (auto flow = flow_list(value, head.size() + separator.size())) {
          write_line(head + separator + *flow, trailing);
        } else {
          write_line(head_is_dash ? head.substr(0, head.size() - 1) : head, trailing);
          emit_sequence(value, head_is_dash ? indent + 2 : indent + 2, shape);
        }
        return;
      case SyntaxKind::mapping:
        if (value.entries.empty()) {
          write_line(head + separator + "{}", trailing);
        } else {
          write_line(head, trailing);
          emit_mapping(value, indent + 2, shape, false, true, nullptr);
        }
        return;
    }
  }

  // A mapping's entries at `indent`. With `dash`, the first entry shares the
  // line of a list item's "- " (at indent - 2), and `item` is that item.
  void emit_mapping(const SyntaxNode& mapping, std::size_t indent, const Shape* shape, bool dash,
                    bool first_in_block, const SyntaxNode* item) {
    const std::vector<const SyntaxEntry*> entries = ordered(mapping, shape);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const SyntaxEntry& entry = *entries[i];
      const Decor& own = decor(&entry);
      std::vector<std::string> leading = own.leading;
      std::vector<std::string> trailing = own.trailing;
      bool blank = own.blank_before && !(i == 0 && first_in_block);
      std::string prefix(indent, ' ');
      std::size_t comment_indent = indent;
      if (i == 0 && dash) {
        const Decor& of_item = decor(item);
        leading.insert(leading.begin(), of_item.leading.begin(), of_item.leading.end());
        trailing.insert(trailing.begin(), of_item.trailing.begin(), of_item.trailing.end());
        blank = (of_item.blank_before || own.blank_before) && !first_in_block;
        prefix = std::string(indent - 2, ' ') + "- ";
        comment_indent = indent - 2;
      }
      if (blank) out_ += "\n";
      write_comments(leading, comment_indent);
      const Shape* child = shape ? shape->child(entry.key) : nullptr;
      emit_value(prefix + key_text(entry.key) + ":", false, entry.value, indent, child, trailing);
    }
  }

  // A list's items, each "- " at `indent`.
  void emit_sequence(const SyntaxNode& sequence, std::size_t indent, const Shape* shape) {
    for (std::size_t i = 0; i < sequence.items.size(); ++i) {
      const SyntaxNode& item = sequence.items[i];
      const bool first = i == 0;
      if (item.is_mapping() && !item.entries.empty()) {
        emit_mapping(item, indent + 2, shape, true, first, &item);
        continue;
      }
      const Decor& d = decor(&item);
      if (d.blank_before && !first) out_ += "\n";
      write_comments(d.leading, indent);
      emit_value(std::string(indent, ' ') + "- ", true, item, indent, shape, d.trailing);
    }
  }

  const Comments& comments_;
  std::string out_;
};

// ---- Checking the result --------------------------------------------------------------------

bool is_string_scalar(const SyntaxNode& node) { return node.quoted || !looks_like_non_string(node.text); }

bool same_data(const SyntaxNode& a, const SyntaxNode& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case SyntaxKind::null: return true;
    case SyntaxKind::scalar: return a.text == b.text && is_string_scalar(a) == is_string_scalar(b);
    case SyntaxKind::sequence:
      if (a.items.size() != b.items.size()) return false;
      for (std::size_t i = 0; i < a.items.size(); ++i) {
        if (!same_data(a.items[i], b.items[i])) return false;
      }
      return true;
    case SyntaxKind::mapping:
      if (a.entries.size() != b.entries.size()) return false;
      for (const SyntaxEntry& entry : a.entries) {
        const SyntaxNode* other = b.find(entry.key);
        if (!other || !same_data(entry.value, *other)) return false;
      }
      return true;
  }
  return false;
}

struct Formatted {
  std::optional<std::string> text;
  std::optional<SyntaxNode> root;
  std::vector<std::string> comments;
  YamlFileKind kind = YamlFileKind::other;
};

Formatted format_once(std::string_view text, const std::string& file, Diagnostics& diagnostics) {
  Formatted result;
  ParseResult parsed = parse_policy_file(text, file);
  if (!parsed.diagnostics.empty() || !parsed.root) {
    // A duplicate key or a non-string key would be lost: leave such files alone.
    diagnostics.append(parsed.diagnostics);
    return result;
  }
  const Comments comments = attach_comments(text, *parsed.root);
  result.kind = kind_of(*parsed.root);
  result.text = Emitter(comments).emit(*parsed.root, shape_of(result.kind));
  result.root = std::move(parsed.root);
  result.comments = comments.all;
  return result;
}

std::vector<std::string> sorted(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  return items;
}

}  // namespace

std::string_view to_string(YamlFileKind kind) {
  switch (kind) {
    case YamlFileKind::policy: return "policy";
    case YamlFileKind::scheme: return "scheme";
    case YamlFileKind::policy_test: return "policy test";
    case YamlFileKind::other: return "other";
  }
  return "other";
}

FormatResult format_policy_yaml(std::string_view text, const std::string& file) {
  FormatResult result;
  Formatted first = format_once(text, file, result.diagnostics);
  if (!first.text) return result;
  result.kind = first.kind;

  // The guarantees, checked rather than trusted.
  const SourceLocation where{file, 1, 1};
  Diagnostics scratch;
  Formatted second = format_once(*first.text, file, scratch);
  if (!second.text) {
    result.diagnostics.error(Code::F001, where, "not formatted: the formatted text would not parse (a bug in fmt)");
    return result;
  }
  if (!same_data(*first.root, *second.root)) {
    result.diagnostics.error(Code::F001, where, "not formatted: formatting would change the file's data (a bug in fmt)");
    return result;
  }
  if (sorted(first.comments) != sorted(second.comments)) {
    result.diagnostics.error(Code::F001, where,
                             "not formatted: a comment could not be kept where it is (fmt keeps comments on their "
                             "own line above a key or list item, or at the end of one); move it and try again");
    return result;
  }
  if (*second.text != *first.text) {
    result.diagnostics.error(Code::F001, where, "not formatted: formatting is not stable for this file (a bug in fmt)");
    return result;
  }
  result.ok = true;
  result.changed = *first.text != text;
  result.text = std::move(*first.text);
  return result;
}

// ---- Unified diff -----------------------------------------------------------------------------

std::string unified_diff(std::string_view old_text, std::string_view new_text, std::string_view old_name,
                         std::string_view new_name, int context) {
  if (old_text == new_text) return {};
  const std::vector<std::string_view> a = split_lines(old_text);
  const std::vector<std::string_view> b = split_lines(new_text);
  // Common prefix and suffix first: the quadratic part sees only what changed.
  std::size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  std::size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  const std::size_t n = a.size() - prefix - suffix;
  const std::size_t m = b.size() - prefix - suffix;
  // lcs[i][j]: longest common subsequence of a[prefix+i..] and b[prefix+j..] within the middle.
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      lcs[i][j] = a[prefix + i] == b[prefix + j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  struct Op {
    char kind;  // ' ', '-', '+'
    std::size_t old_line;  // 0-based index into a (for ' ' and '-')
    std::size_t new_line;  // 0-based index into b (for ' ' and '+')
  };
  std::vector<Op> ops;
  for (std::size_t k = 0; k < prefix; ++k) ops.push_back({' ', k, k});
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
      ops.push_back({' ', prefix + i, prefix + j});
      ++i;
      ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push_back({'-', prefix + i, prefix + j});
      ++i;
    } else {
      ops.push_back({'+', prefix + i, prefix + j});
      ++j;
    }
  }
  for (std::size_t k = 0; k < suffix; ++k) ops.push_back({' ', prefix + n + k, prefix + m + k});

  std::string out = fmt::format("--- {}\n+++ {}\n", old_name, new_name);
  const std::size_t reach = static_cast<std::size_t>(std::max(context, 0));
  std::size_t start = 0;
  while (start < ops.size()) {
    // The next change, and the hunk around it (changes closer than 2*context merge).
    std::size_t first_change = start;
    while (first_change < ops.size() && ops[first_change].kind == ' ') ++first_change;
    if (first_change == ops.size()) break;
    const std::size_t hunk_begin = first_change > start + reach ? first_change - reach : start;
    std::size_t hunk_end = first_change;
    std::size_t last_change = first_change;
    for (std::size_t k = first_change; k < ops.size(); ++k) {
      if (ops[k].kind != ' ') {
        last_change = k;
      } else if (k - last_change > 2 * reach) {
        break;
      }
    }
    hunk_end = std::min(ops.size(), last_change + 1 + reach);
    std::size_t old_count = 0;
    std::size_t new_count = 0;
    for (std::size_t k = hunk_begin; k < hunk_end; ++k) {
      if (ops[k].kind != '+') ++old_count;
      if (ops[k].kind != '-') ++new_count;
    }
    const std::size_t old_start = old_count ? ops[hunk_begin].old_line + 1 : ops[hunk_begin].old_line;
    const std::size_t new_start = new_count ? ops[hunk_begin].new_line + 1 : ops[hunk_begin].new_line;
    out += fmt::format("@@ -{},{} +{},{} @@\n", old_start, old_count, new_start, new_count);
    for (std::size_t k = hunk_begin; k < hunk_end; ++k) {
      const Op& op = ops[k];
      out += op.kind;
      out += op.kind == '+' ? b[op.new_line] : a[op.old_line];
      out += "\n";
    }
    start = hunk_end;
  }
  return out;
}

}  // namespace icegate::policy

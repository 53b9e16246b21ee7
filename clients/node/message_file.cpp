// Reading message descriptions (see message_file.hpp for the format).
//
// The reader is strict on purpose: a description is written by a person, often
// under time pressure in an exercise, and a misspelt key ("portion:" for
// "portions:") or a label given as a list should be reported where it is, not
// silently dropped so that the gateway later refuses an incomplete message.
#include "clients/node/message_file.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "gateway/model/clock.hpp"

namespace icegate::node {
namespace {

std::string_view trim(std::string_view text) {
  constexpr std::string_view whitespace = " \t\r\n";
  const auto first = text.find_first_not_of(whitespace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(whitespace);
  return text.substr(first, last - first + 1);
}

std::string describe_kind(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  return fmt::format("text '{}'", node.Scalar());
}

// One key of a mapping with its value; the key's mark is where errors about a
// value that has no mark of its own (an empty value) are reported.
struct Entry {
  YAML::Node key;
  YAML::Node value;
};

// Turns a YAML document into a Message, reporting the first problem as
// "source:line:col: message". Lines and columns are 1-based (yaml-cpp's are
// 0-based).
class DescriptionReader {
 public:
  explicit DescriptionReader(std::string_view source_name) : source_name_(source_name) {}

  Message read(const YAML::Node& root, std::string_view originator) const {
    if (!root.IsDefined() || root.IsNull()) {
      fail(YAML::Mark{}, "the message description is empty");
    }
    if (!root.IsMap()) {
      fail(root.Mark(), fmt::format("expected a mapping with title, to, category, purpose and "
                                    "portions, found {}",
                                    describe_kind(root)));
    }
    static constexpr std::array<std::string_view, 10> message_keys{
        "id", "title", "to", "category", "purpose", "scheme", "label", "portions", "handling", "derived_from"};
    const auto entries = read_mapping(root, "the message", message_keys);

    Message message;
    if (const auto* id = find(entries, "id")) {
      message.id = text(*id, "id");
      if (!looks_like_uuid(message.id)) {
        fail(id->value, fmt::format("'id' must be a UUID (or left out), found '{}'", message.id));
      }
    } else {
      message.id = make_uuid();
    }
    message.originator = std::string(originator);
    message.created_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
    if (const auto* title = find(entries, "title")) message.title = text(*title, "title");
    message.addressees = addressees(require(entries, "to", root, "the message"));
    message.category = non_empty_text(require(entries, "category", root, "the message"), "category");
    if (const auto* purpose = find(entries, "purpose")) message.purpose = text(*purpose, "purpose");
    if (const auto* scheme = find(entries, "scheme")) message.label_scheme = non_empty_text(*scheme, "scheme");
    if (const auto* label_entry = find(entries, "label")) message.label = label(*label_entry, "label");
    message.portions = portions(require(entries, "portions", root, "the message"));
    if (const auto* handling_entry = find(entries, "handling")) message.handling = handling(*handling_entry);
    if (const auto* derived = find(entries, "derived_from")) message.derived_from = text(*derived, "derived_from");
    return message;
  }

  [[noreturn]] void fail(const YAML::Mark& mark, std::string_view message) const {
    const int line = mark.is_null() ? 1 : mark.line + 1;
    const int column = mark.is_null() ? 1 : mark.column + 1;
    throw MessageFileError(fmt::format("{}:{}:{}: {}", source_name_, line, column, message));
  }

 private:
  [[noreturn]] void fail(const YAML::Node& node, std::string_view message) const {
    fail(node.Mark(), message);
  }

  // The value's own mark, or its key's when the value is empty (yaml-cpp
  // gives empty values no useful position).
  [[noreturn]] void fail(const Entry& entry, std::string_view message) const {
    const bool has_mark = entry.value.IsDefined() && !entry.value.IsNull() && !entry.value.Mark().is_null();
    fail(has_mark ? entry.value.Mark() : entry.key.Mark(), message);
  }

  template <std::size_t N>
  std::map<std::string, Entry, std::less<>> read_mapping(
      const YAML::Node& mapping, std::string_view what,
      const std::array<std::string_view, N>& allowed) const {
    std::map<std::string, Entry, std::less<>> entries;
    for (auto it = mapping.begin(); it != mapping.end(); ++it) {
      // A copy: yaml-cpp's operator-> returns a temporary, so a reference dangles.
      const YAML::Node key = it->first;
      if (!key.IsScalar()) fail(key, fmt::format("keys of {} must be plain names", what));
      const std::string& name = key.Scalar();
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        fail(key, fmt::format("unknown key '{}' in {} (expected one of: {})", name, what,
                              fmt::join(allowed, ", ")));
      }
      if (entries.contains(name)) fail(key, fmt::format("duplicate key '{}' in {}", name, what));
      entries.emplace(name, Entry{key, it->second});
    }
    return entries;
  }

  static const Entry* find(const std::map<std::string, Entry, std::less<>>& entries,
                           std::string_view key) {
    const auto it = entries.find(key);
    return it == entries.end() ? nullptr : &it->second;
  }

  const Entry& require(const std::map<std::string, Entry, std::less<>>& entries,
                       std::string_view key, const YAML::Node& mapping,
                       std::string_view what) const {
    const auto* entry = find(entries, key);
    if (entry == nullptr) fail(mapping, fmt::format("{} has no '{}' (it is required)", what, key));
    return *entry;
  }

  std::string text(const Entry& entry, std::string_view what) const {
    if (!entry.value.IsScalar()) {
      fail(entry, fmt::format("'{}' must be text, found {}", what, describe_kind(entry.value)));
    }
    return entry.value.Scalar();
  }

  std::string non_empty_text(const Entry& entry, std::string_view what) const {
    auto value = text(entry, what);
    if (trim(value).empty()) fail(entry, fmt::format("'{}' must not be empty", what));
    return value;
  }

  std::vector<Addressee> addressees(const Entry& entry) const {
    if (!entry.value.IsSequence()) {
      fail(entry, fmt::format("'to' must be a list of addressees, found {}",
                              describe_kind(entry.value)));
    }
    if (entry.value.size() == 0) fail(entry, "'to' must name at least one addressee");
    std::vector<Addressee> result;
    for (const auto& item : entry.value) {
      if (!item.IsScalar()) {
        fail(item, fmt::format("an addressee must be text such as 'council-prevent' or "
                               "'list:local-partners', found {}",
                               describe_kind(item)));
      }
      Addressee addressee;
      try {
        addressee = parse_addressee(item.Scalar());
      } catch (const std::invalid_argument& error) {
        fail(item, error.what());
      }
      if (std::find(result.begin(), result.end(), addressee) != result.end()) {
        fail(item, fmt::format("addressee '{}' is listed twice", item.Scalar()));
      }
      result.push_back(std::move(addressee));
    }
    return result;
  }

  Handling handling(const Entry& entry) const {
    if (!entry.value.IsMap()) fail(entry, fmt::format("'handling' must be a mapping, found {}", describe_kind(entry.value)));
    static constexpr std::array<std::string_view, 5> handling_keys{
        "originator_control", "no_onward_sharing", "not_before", "not_before_event", "not_after"};
    const auto entries = read_mapping(entry.value, "'handling'", handling_keys);
    Handling result;
    auto flag = [&](std::string_view key) {
      const auto* e = find(entries, key);
      if (e == nullptr) return false;
      const std::string value = e->value.IsScalar() ? e->value.Scalar() : "";
      if (value == "true") return true;
      if (value == "false") return false;
      fail(*e, fmt::format("'{}' must be true or false", key));
    };
    auto time = [&](std::string_view key) -> std::int64_t {
      const auto* e = find(entries, key);
      if (e == nullptr) return 0;
      const std::string value = text(*e, key);
      if (auto ms = parse_utc(value)) return *ms;
      fail(*e, fmt::format("'{}' must be a UTC time such as 2026-11-21T06:00:00Z, or Unix milliseconds; found '{}'",
                           key, value));
    };
    result.originator_control = flag("originator_control");
    result.no_onward_sharing = flag("no_onward_sharing");
    result.not_before_unix_ms = time("not_before");
    result.not_after_unix_ms = time("not_after");
    if (const auto* event = find(entries, "not_before_event")) result.not_before_event = non_empty_text(*event, "not_before_event");
    return result;
  }

  Label label(const Entry& entry, std::string_view what) const {
    const YAML::Node& value = entry.value;
    if (value.IsScalar()) {
      try {
        return parse_label_text(value.Scalar());
      } catch (const std::invalid_argument& error) {
        fail(value, fmt::format("'{}': {}", what, error.what()));
      }
    }
    if (!value.IsMap()) {
      fail(entry, fmt::format("'{}' must be text such as 'SECRET/UK EYES ONLY' or a mapping "
                              "with classification and categories, found {}",
                              what, describe_kind(value)));
    }
    static constexpr std::array<std::string_view, 2> label_keys{"classification", "categories"};
    const auto entries = read_mapping(value, fmt::format("'{}'", what), label_keys);
    Label result;
    result.classification =
        non_empty_text(require(entries, "classification", value, fmt::format("'{}'", what)),
                       "classification");
    if (const auto* categories = find(entries, "categories")) {
      if (!categories->value.IsSequence()) {
        fail(*categories, fmt::format("'categories' must be a list, found {}",
                                      describe_kind(categories->value)));
      }
      for (const auto& category : categories->value) {
        if (!category.IsScalar() || trim(category.Scalar()).empty()) {
          fail(category, fmt::format("a category must be non-empty text, found {}",
                                     describe_kind(category)));
        }
        result.categories.emplace_back(trim(category.Scalar()));
      }
    }
    result.classification = std::string(trim(result.classification));
    normalise(result);
    return result;
  }

  std::vector<Portion> portions(const Entry& entry) const {
    if (!entry.value.IsSequence()) {
      fail(entry, fmt::format("'portions' must be a list, found {}", describe_kind(entry.value)));
    }
    if (entry.value.size() == 0) fail(entry, "'portions' must hold at least one portion");
    static constexpr std::array<std::string_view, 3> portion_keys{"id", "label", "body"};
    std::vector<Portion> result;
    std::set<std::string, std::less<>> ids;
    std::size_t position = 0;
    for (const auto& item : entry.value) {
      ++position;
      const auto what = fmt::format("portion {}", position);
      if (!item.IsMap()) {
        fail(item, fmt::format("{} must be a mapping with label and body, found {}", what,
                               describe_kind(item)));
      }
      const auto entries = read_mapping(item, what, portion_keys);
      Portion portion;
      const auto* id = find(entries, "id");
      portion.id = id != nullptr ? non_empty_text(*id, "id") : std::to_string(position);
      if (!ids.insert(portion.id).second) {
        fail(id != nullptr ? id->value : item,
             fmt::format("{} has id '{}', which an earlier portion already has", what, portion.id));
      }
      portion.label = label(require(entries, "label", item, what), "label");
      portion.body = non_empty_text(require(entries, "body", item, what), "body");
      result.push_back(std::move(portion));
    }
    return result;
  }

  std::string source_name_;
};

}  // namespace

Addressee parse_addressee(std::string_view text) {
  const auto trimmed = trim(text);
  if (trimmed.empty()) throw std::invalid_argument("an addressee must not be empty");
  Addressee addressee;
  const auto colon = trimmed.find(':');
  if (colon == std::string_view::npos) {
    addressee.kind = AddresseeKind::node;
    addressee.name = std::string(trimmed);
    return addressee;
  }
  const auto prefix = trim(trimmed.substr(0, colon));
  const auto name = trim(trimmed.substr(colon + 1));
  if (prefix == "node") {
    addressee.kind = AddresseeKind::node;
  } else if (prefix == "role") {
    addressee.kind = AddresseeKind::role;
  } else if (prefix == "list") {
    addressee.kind = AddresseeKind::list;
  } else if (prefix == "org" || prefix == "organisation") {
    addressee.kind = AddresseeKind::organisation;
  } else {
    throw std::invalid_argument(
        fmt::format("unknown addressee kind '{}' in '{}' (expected node:, role:, list: or org:)",
                    prefix, trimmed));
  }
  if (name.empty()) {
    throw std::invalid_argument(fmt::format("addressee '{}' names no {}", trimmed, prefix));
  }
  addressee.name = std::string(name);
  return addressee;
}

Label parse_label_text(std::string_view text) {
  std::string problem;
  auto label = icegate::parse_label_text(text, &problem);
  if (!label) throw std::invalid_argument(fmt::format("label '{}' has {}", trim(text), problem));
  return std::move(*label);
}

Message parse_message_text(std::string_view text, std::string_view source_name,
                           std::string_view originator) {
  const DescriptionReader reader(source_name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& error) {
    reader.fail(error.mark, error.msg);
  }
  try {
    return reader.read(root, originator);
  } catch (const YAML::Exception& error) {
    // yaml-cpp reports some problems (bad aliases, conversions) only on access.
    reader.fail(error.mark, error.msg);
  }
}

Message load_message_file(const std::filesystem::path& file, std::string_view originator) {
  std::ifstream input(file, std::ios::binary);
  if (!input) {
    throw MessageFileError(
        fmt::format("{}: cannot open the message description: {}", file.string(),
                    std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << input.rdbuf();
  if (input.bad()) {
    throw MessageFileError(fmt::format("{}: cannot read the message description", file.string()));
  }
  return parse_message_text(contents.str(), file.string(), originator);
}

}  // namespace icegate::node

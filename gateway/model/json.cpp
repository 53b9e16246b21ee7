#include "gateway/model/json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "gateway/model/json_scan.hpp"
#include "gateway/model/json_value.hpp"
#include "gateway/model/utf8.hpp"

namespace icegate::json {

namespace {

bool is_valid_utf8(std::string_view text) { return !utf8::first_invalid(text).has_value(); }

// Whether every string and key in `value` is valid UTF-8 (nothing to replace).
bool all_valid_utf8(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::string: return is_valid_utf8(value.get_string());
    case boost::json::kind::array:
      for (const boost::json::value& item : value.get_array())
        if (!all_valid_utf8(item)) return false;
      return true;
    case boost::json::kind::object:
      for (const auto& member : value.get_object())
        if (!is_valid_utf8(member.key()) || !all_valid_utf8(member.value())) return false;
      return true;
    default: return true;
  }
}

// A copy of `value` whose strings and keys are valid UTF-8.
boost::json::value with_valid_utf8(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::string: return boost::json::string(valid_utf8(value.get_string()));
    case boost::json::kind::array: {
      boost::json::array out;
      out.reserve(value.get_array().size());
      for (const boost::json::value& item : value.get_array()) out.push_back(with_valid_utf8(item));
      return out;
    }
    case boost::json::kind::object: {
      boost::json::object out;
      out.reserve(value.get_object().size());
      for (const auto& member : value.get_object())
        out.insert_or_assign(valid_utf8(member.key()), with_valid_utf8(member.value()));
      return out;
    }
    default: return value;
  }
}

bool has_double(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::double_: return true;
    case boost::json::kind::array:
      for (const boost::json::value& item : value.get_array())
        if (has_double(item)) return true;
      return false;
    case boost::json::kind::object:
      for (const auto& member : value.get_object())
        if (has_double(member.value())) return true;
      return false;
    default: return false;
  }
}

// A double as people read it: the shortest text that reads back as the same
// double, with ".0" on a whole number ("50.0", "0.001234", "1e+20").
// Boost.JSON 1.81 writes 50.0 as "5E1". JSON has no infinity or NaN: those
// are written as Boost.JSON writes them.
std::string double_text(double value) {
  if (!std::isfinite(value)) return boost::json::serialize(boost::json::value(value));
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

// `value` as compact JSON, each double by double_text and everything else by Boost.JSON.
void append_compact(std::string& out, const boost::json::value& value) {
  if (const boost::json::object* object = value.if_object()) {
    out.push_back('{');
    bool first = true;
    for (const auto& member : *object) {
      if (!first) out.push_back(',');
      first = false;
      out += quote(member.key());
      out.push_back(':');
      append_compact(out, member.value());
    }
    out.push_back('}');
  } else if (const boost::json::array* array = value.if_array()) {
    out.push_back('[');
    bool first = true;
    for (const boost::json::value& item : *array) {
      if (!first) out.push_back(',');
      first = false;
      append_compact(out, item);
    }
    out.push_back(']');
  } else if (value.is_double()) {
    out += double_text(value.get_double());
  } else {
    out += value.is_string() ? quote(value.get_string()) : boost::json::serialize(value);
  }
}

// The 1-based line and column of byte `offset` in `text`.
std::string position(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t at = 0; at < offset && at < text.size(); ++at) {
    if (text[at] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return fmt::format("line {}, column {}", line, column);
}

}  // namespace

std::string valid_utf8(std::string_view text) {
  static constexpr std::string_view replacement = "\xef\xbf\xbd";  // U+FFFD in UTF-8
  if (is_valid_utf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  std::size_t at = 0;
  while (at < text.size()) {
    if (static_cast<unsigned char>(text[at]) < 0x80) {
      out.push_back(text[at++]);
    } else if (const std::size_t length = utf8::sequence_length(text.substr(at)); length > 0) {
      out.append(text.substr(at, length));
      at += length;
    } else {
      // One U+FFFD for each byte that starts no well-formed sequence.
      out.append(replacement);
      ++at;
    }
  }
  return out;
}

std::string quote(std::string_view text) { return boost::json::serialize(boost::json::string_view(valid_utf8(text))); }

std::string serialize(const boost::json::value& value) {
  if (has_double(value)) {
    std::string out;
    append_compact(out, value);
    return out;
  }
  return all_valid_utf8(value) ? boost::json::serialize(value) : boost::json::serialize(with_valid_utf8(value));
}

std::string serialize(const boost::json::object& object) {
  for (const auto& member : object)
    if (has_double(member.value()) || !is_valid_utf8(member.key()) || !all_valid_utf8(member.value()))
      return json::serialize(boost::json::value(object));
  return boost::json::serialize(object);
}

std::string serialize(const boost::json::array& array) {
  for (const boost::json::value& item : array)
    if (has_double(item) || !all_valid_utf8(item)) return json::serialize(boost::json::value(array));
  return boost::json::serialize(array);
}

ParseResult parse(std::string_view text, std::size_t max_depth) {
  ParseResult result;
  boost::json::parse_options options;
  options.max_depth = max_depth;
  boost::json::stream_parser parser({}, options);
  boost::system::error_code error;
  const std::size_t used = parser.write_some(text.data(), text.size(), error);
  if (!error) parser.finish(error);
  if (!error && used != text.size()) error = boost::json::error::extra_data;
  if (error) {
    result.error = fmt::format("{}: {}", position(text, used), error.message());
    return result;
  }
  result.value = parser.release();
  return result;
}

namespace {

bool is_scalar(const boost::json::value& value) { return !value.is_array() && !value.is_object(); }

void append_pretty(std::string& out, const boost::json::value& value, int depth) {
  const auto newline = [&](int level) {
    out.push_back('\n');
    out.append(static_cast<std::size_t>(2 * level), ' ');
  };
  if (const boost::json::object* object = value.if_object()) {
    if (object->empty()) {
      out += "{}";
      return;
    }
    out.push_back('{');
    bool first = true;
    for (const auto& member : *object) {
      if (!first) out.push_back(',');
      first = false;
      newline(depth + 1);
      out += quote(member.key());
      out += ": ";
      append_pretty(out, member.value(), depth + 1);
    }
    newline(depth);
    out.push_back('}');
  } else if (const boost::json::array* array = value.if_array()) {
    const bool inline_items = std::all_of(array->begin(), array->end(), is_scalar);
    out.push_back('[');
    bool first = true;
    for (const boost::json::value& item : *array) {
      if (!first) out += inline_items ? ", " : ",";
      first = false;
      if (!inline_items) newline(depth + 1);
      append_pretty(out, item, depth + 1);
    }
    if (!inline_items && !array->empty()) newline(depth);
    out.push_back(']');
  } else {
    out += json::serialize(value);
  }
}

}  // namespace

std::string pretty(const boost::json::value& value, int base_indent) {
  std::string out;
  append_pretty(out, value, base_indent);
  return out;
}

boost::json::array strings(const std::vector<std::string>& values) {
  boost::json::array array;
  array.reserve(values.size());
  for (const std::string& item : values) array.emplace_back(boost::json::string_view(item));
  return array;
}

const boost::json::value* member(const boost::json::value& value, std::string_view key) {
  const boost::json::object* object = value.if_object();
  return object ? object->if_contains(key) : nullptr;
}

Object::Object() : object_(std::make_unique<boost::json::object>()) {}
Object::Object(const Object& other) : object_(std::make_unique<boost::json::object>(*other.object_)) {}
Object::Object(Object&& other) noexcept = default;
Object& Object::operator=(const Object& other) {
  if (this != &other) object_ = std::make_unique<boost::json::object>(*other.object_);
  return *this;
}
Object& Object::operator=(Object&& other) noexcept = default;
Object::~Object() = default;

Object& Object::add(std::string_view key, std::string_view value) { return add(key, boost::json::value(value)); }

Object& Object::add(std::string_view key, std::int64_t value) { return add(key, boost::json::value(value)); }

Object& Object::add(std::string_view key, bool value) { return add(key, boost::json::value(value)); }

Object& Object::add(std::string_view key, const std::vector<std::string>& values) {
  return add(key, boost::json::value(strings(values)));
}

Object& Object::add(std::string_view key, const Object& value) { return add(key, boost::json::value(*value.object_)); }

Object& Object::add(std::string_view key, boost::json::value value) {
  object_->insert_or_assign(key, std::move(value));
  return *this;
}

Object& Object::add_raw(std::string_view key, std::string_view encoded) {
  ParseResult parsed = parse(encoded);
  if (!parsed.error.empty())
    throw std::invalid_argument(fmt::format("json::Object::add_raw(\"{}\"): {}", key, parsed.error));
  return add(key, std::move(parsed.value));
}

std::string Object::str() const { return json::serialize(*object_); }

namespace {

// Appends `before`, `text` between quotes and `after` (each of them at most
// one byte, '\0' for none), with one resize and one copy. `text` must hold
// nothing to escape or check (plain_run_end reached its end): most strings an
// audit record's detail holds, and all its keys, are such.
void append_plain_quoted(std::string& out, char before, std::string_view text, char after) {
  const std::size_t at = out.size();
  const std::size_t extra = (before != '\0' ? 1 : 0) + (after != '\0' ? 1 : 0);
  out.resize(at + text.size() + 2 + extra);
  char* to = out.data() + at;
  if (before != '\0') *to++ = before;
  *to++ = '"';
  if (!text.empty()) std::memcpy(to, text.data(), text.size());
  to += text.size();
  *to++ = '"';
  if (after != '\0') *to = after;
}

// `text` as quote() writes it, appended to `out`: each byte that starts no
// well-formed UTF-8 sequence as U+FFFD (valid_utf8), then Boost.JSON's
// escapes (its serializer.ipp: quote and backslash, \b \t \n \f \r, any other
// control character as \u00xx in lower-case hex; nothing else).
void append_quoted(std::string& out, std::string_view text) {
  const std::size_t first = plain_run_end(text, 0, StopAt::escapes_and_non_ascii);
  if (first == text.size()) {
    append_plain_quoted(out, '\0', text, '\0');
    return;
  }
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // text[run, at) is copied as it is
  for (std::size_t at = first; at < text.size(); at = plain_run_end(text, at, StopAt::escapes_and_non_ascii)) {
    const auto byte = static_cast<unsigned char>(text[at]);
    if (byte >= 0x80) {
      if (const std::size_t length = utf8::sequence_length(text.substr(at)); length > 0) {
        at += length;
        continue;
      }
    }
    out.append(text.substr(run, at - run));
    switch (byte) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (byte < 0x20) {
          out += "\\u00";
          out.push_back(hex[byte >> 4]);
          out.push_back(hex[byte & 15]);
        } else {
          out += "\xef\xbf\xbd";  // U+FFFD for a byte that starts no well-formed sequence
        }
    }
    run = ++at;
  }
  out.append(text.substr(run));
  out.push_back('"');
}

}  // namespace

Writer::Writer() {
  // An audit record's detail is a few hundred bytes: room for it at once,
  // rather than the five or six regrowths (each a copy) from empty.
  out_.reserve(512);
  open('{', false);
}

void Writer::open(char bracket, bool array) {
  if (depth_ == kMaxDepth) throw std::logic_error("json::Writer: nested too deep");
  out_.push_back(bracket);
  array_[depth_] = array;
  written_[depth_] = false;
  ++depth_;
}

void Writer::key(std::string_view key) {
  if (depth_ == 0 || array_[depth_ - 1]) throw std::logic_error("json::Writer: a key inside an array");
  const char comma = written_[depth_ - 1] ? ',' : '\0';
  written_[depth_ - 1] = true;
  if (plain_run_end(key, 0, StopAt::escapes_and_non_ascii) == key.size()) {
    append_plain_quoted(out_, comma, key, ':');
    return;
  }
  if (comma != '\0') out_.push_back(comma);
  append_quoted(out_, key);
  out_.push_back(':');
}

void Writer::item() {
  if (depth_ == 0 || !array_[depth_ - 1]) throw std::logic_error("json::Writer: an item without a key in an object");
  if (written_[depth_ - 1]) out_.push_back(',');
  written_[depth_ - 1] = true;
}

Writer& Writer::add(std::string_view key, std::string_view value) {
  this->key(key);
  append_quoted(out_, value);
  return *this;
}

Writer& Writer::add(std::string_view key, std::int64_t value) {
  this->key(key);
  char digits[24];
  const auto [end, error] = std::to_chars(digits, digits + sizeof digits, value);
  out_.append(digits, end);
  return *this;
}

Writer& Writer::add(std::string_view key, bool value) {
  this->key(key);
  out_ += value ? "true" : "false";
  return *this;
}

Writer& Writer::add(std::string_view key, const std::vector<std::string>& values) {
  this->key(key);
  out_.push_back('[');
  for (std::size_t index = 0; index < values.size(); ++index) {
    if (index > 0) out_.push_back(',');
    append_quoted(out_, values[index]);
  }
  out_.push_back(']');
  return *this;
}

Writer& Writer::begin_object(std::string_view key) {
  this->key(key);
  open('{', false);
  return *this;
}

Writer& Writer::begin_object() {
  item();
  open('{', false);
  return *this;
}

Writer& Writer::begin_array(std::string_view key) {
  this->key(key);
  open('[', true);
  return *this;
}

Writer& Writer::end() {
  if (depth_ <= 1) throw std::logic_error("json::Writer: end() with nothing open");
  --depth_;
  out_.push_back(array_[depth_] ? ']' : '}');
  return *this;
}

std::string Writer::finish() {
  while (depth_ > 0) {
    --depth_;
    out_.push_back(array_[depth_] ? ']' : '}');
  }
  std::string text = std::move(out_);
  out_.clear();
  open('{', false);
  return text;
}

}  // namespace icegate::json

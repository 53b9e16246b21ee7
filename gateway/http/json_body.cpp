// The request-body reader over Boost.JSON's basic_parser (docs/adr/0008-json-library.md).
//
// Boost.JSON does the reading: the grammar, escapes, surrogate pairs, the
// depth limit. What this file adds is what the library does not do:
// - A key that appears twice is an error. boost::json::parse (and the
//   stream_parser) keep the last value of a repeated key and say nothing, and
//   the value they build no longer shows that the key was repeated, so the
//   check has to be made while reading: a basic_parser handler sees each key.
// - The dashboard's bodies are objects of strings, refused as soon as a value
//   is anything else.
// - The API's 400 replies say what was wrong in words and where ("at offset 9:
//   a key appears twice"). The library reports an error code and how far it
//   read; explain() turns that into the words the reader has always used, from
//   what the handler has seen so far and the bytes at the place it stopped.
#include "gateway/http/json_body.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <cctype>
#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace icegate::http {

namespace {

enum class Mode { any_value, string_object };

// Why the handler stopped the parser; the place is worked out by explain().
enum class Refusal { none, repeated_key, not_a_string, not_an_object, number_out_of_range };

class Handler {
 public:
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);

  // What the innermost open array or object expects next. A ',' or ':' the
  // parser has read is not reported to the handler; explain() looks for it.
  enum class Next { after_open, after_key, after_value };

  struct Frame {
    JsonValue value;
    Next next = Next::after_open;
    std::string key;  // an object's key whose value comes next
  };

  explicit Handler(Mode mode) : mode_(mode) {}

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }

  bool on_object_begin(boost::json::error_code& ec) { return open(JsonValue::Type::object, ec); }
  bool on_array_begin(boost::json::error_code& ec) { return open(JsonValue::Type::array, ec); }
  bool on_object_end(std::size_t, boost::json::error_code& ec) { return close(ec); }
  bool on_array_end(std::size_t, boost::json::error_code& ec) { return close(ec); }

  bool on_key_part(boost::json::string_view part, std::size_t, boost::json::error_code&) {
    text_.append(part.data(), part.size());
    return true;
  }
  bool on_key(boost::json::string_view part, std::size_t, boost::json::error_code& ec) {
    text_.append(part.data(), part.size());
    Frame& frame = stack_.back();
    frame.key = std::move(text_);
    text_.clear();
    frame.next = Next::after_key;
    // The object-of-strings reader has always checked a repeated key once its
    // (string) value was read, so a non-string value is reported first there.
    if (mode_ == Mode::any_value && has_key(frame, frame.key)) return refuse(Refusal::repeated_key, ec);
    return true;
  }

  bool on_string_part(boost::json::string_view part, std::size_t, boost::json::error_code&) {
    text_.append(part.data(), part.size());
    return true;
  }
  bool on_string(boost::json::string_view part, std::size_t, boost::json::error_code& ec) {
    text_.append(part.data(), part.size());
    JsonValue value;
    value.type = JsonValue::Type::string;
    value.string = std::move(text_);
    text_.clear();
    if (mode_ == Mode::string_object && !stack_.empty() && has_key(stack_.back(), stack_.back().key))
      return refuse(Refusal::repeated_key, ec);
    return add(std::move(value), ec);
  }

  bool on_number_part(boost::json::string_view part, boost::json::error_code&) {
    number_.append(part.data(), part.size());
    return true;
  }
  bool on_int64(std::int64_t, boost::json::string_view part, boost::json::error_code& ec) { return number(part, ec); }
  bool on_uint64(std::uint64_t, boost::json::string_view part, boost::json::error_code& ec) { return number(part, ec); }
  bool on_double(double, boost::json::string_view part, boost::json::error_code& ec) { return number(part, ec); }

  bool on_bool(bool truth, boost::json::error_code& ec) {
    JsonValue value;
    value.type = JsonValue::Type::boolean;
    value.boolean = truth;
    return add(std::move(value), ec);
  }
  bool on_null(boost::json::error_code& ec) { return add(JsonValue{}, ec); }

  // Comments are not enabled in the parse options.
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

  Mode mode() const { return mode_; }
  Refusal refusal() const { return refusal_; }
  bool begun() const { return begun_; }
  bool done() const { return done_; }
  const Frame* innermost() const { return stack_.empty() ? nullptr : &stack_.back(); }
  const std::string& number_text() const { return number_; }
  JsonValue take() { return std::move(root_); }

 private:
  static bool has_key(const Frame& frame, std::string_view key) {
    for (const JsonMember& member : frame.value.object)
      if (member.key == key) return true;
    return false;
  }

  bool refuse(Refusal why, boost::json::error_code& ec) {
    refusal_ = why;
    // basic_parser needs an error set when a handler stops it; the words
    // come from explain(), not from this code.
    ec = boost::json::error::exception;
    return false;
  }

  // The object-of-strings reader accepts one object, and strings in it.
  bool allowed(JsonValue::Type type, boost::json::error_code& ec) {
    if (mode_ != Mode::string_object) return true;
    if (stack_.empty() && type != JsonValue::Type::object) return refuse(Refusal::not_an_object, ec);
    if (!stack_.empty() && type != JsonValue::Type::string) return refuse(Refusal::not_a_string, ec);
    return true;
  }

  bool open(JsonValue::Type type, boost::json::error_code& ec) {
    if (!allowed(type, ec)) return false;
    begun_ = true;
    Frame frame;
    frame.value.type = type;
    stack_.push_back(std::move(frame));
    return true;
  }

  bool close(boost::json::error_code& ec) {
    JsonValue value = std::move(stack_.back().value);
    stack_.pop_back();
    return add(std::move(value), ec, /*checked=*/true);
  }

  bool number(boost::json::string_view last_part, boost::json::error_code& ec) {
    number_.append(last_part.data(), last_part.size());
    JsonValue value;
    value.type = JsonValue::Type::number;
    if (!allowed(value.type, ec)) return false;
    // Read by from_chars, as before: correctly rounded (Boost.JSON 1.81's own
    // conversion is not always), and a number a double cannot hold is refused.
    const auto [end, error] = std::from_chars(number_.data(), number_.data() + number_.size(), value.number);
    if (error != std::errc() || end != number_.data() + number_.size())
      return refuse(Refusal::number_out_of_range, ec);
    number_.clear();
    return add(std::move(value), ec);
  }

  bool add(JsonValue value, boost::json::error_code& ec, bool checked = false) {
    if (!checked && !allowed(value.type, ec)) return false;
    begun_ = true;
    if (stack_.empty()) {
      root_ = std::move(value);
      done_ = true;
      return true;
    }
    Frame& frame = stack_.back();
    if (frame.value.type == JsonValue::Type::object)
      frame.value.object.push_back(JsonMember{frame.key, std::move(value)});
    else
      frame.value.array.push_back(std::move(value));
    frame.next = Next::after_value;
    return true;
  }

  Mode mode_;
  Refusal refusal_ = Refusal::none;
  bool begun_ = false;  // a value has started (an object or array opened, or a scalar read)
  bool done_ = false;   // the document's value is complete
  std::vector<Frame> stack_;
  std::string text_;    // the key or string being read
  std::string number_;  // the number being read
  JsonValue root_;
};

using Parser = boost::json::basic_parser<Handler>;

// Where `at` lies with respect to string literals, in text whose bytes before
// `at` the parser has accepted (so every '"' outside a string opens one).
struct StringScan {
  bool inside = false;
  std::size_t start = 0;                        // the open string's '"'
  std::size_t previous_start = 0;               // the '"' of the string before it
  std::optional<std::size_t> escape;            // its last '\', if any
  std::optional<std::size_t> previous_escape;   // the '\' before that one
};

StringScan scan_strings(std::string_view text, std::size_t at) {
  StringScan scan;
  for (std::size_t i = 0; i < at && i < text.size(); ++i) {
    if (!scan.inside) {
      if (text[i] == '"') {
        scan.inside = true;
        scan.previous_start = scan.start;
        scan.start = i;
        scan.escape.reset();
        scan.previous_escape.reset();
      }
    } else if (text[i] == '\\') {
      scan.previous_escape = scan.escape;
      scan.escape = i;
      if (i + 1 < text.size() && text[i + 1] == 'u') {
        // A \u escape cut short before `at` is where the parser stopped.
        std::size_t digits = 0;
        while (digits < 4 && i + 2 + digits < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 2 + digits])))
          ++digits;
        if (digits < 4) break;
        i += 5;
      } else {
        ++i;  // the escaped character
      }
    } else if (text[i] == '"') {
      scan.inside = false;
    }
  }
  return scan;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_token_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '+' || c == '.';
}

// The last byte before `at` that is not white space, or '\0'.
char previous_non_space(std::string_view text, std::size_t at) {
  while (at > 0 && is_space(text[at - 1])) --at;
  return at > 0 ? text[at - 1] : '\0';
}

// Where the number or literal that ends at `at` starts (`at` when none does).
std::size_t token_start(std::string_view text, std::size_t at) {
  while (at > 0 && is_token_char(text[at - 1])) --at;
  return at;
}

std::optional<unsigned> hex_at(std::string_view text, std::size_t at) {
  if (at + 4 > text.size()) return std::nullopt;
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data() + at, text.data() + at + 4, value, 16);
  if (error != std::errc() || end != text.data() + at + 4) return std::nullopt;
  return value;
}

struct Found {
  std::size_t at;
  std::string what;
};

// What is wrong with the \u escape (or surrogate pair) at `escape`, in the
// reader's words: "four hex digits" where one is missing, the place after a
// bad digit, "an unpaired surrogate" after the escape that lacks its pair.
std::optional<Found> unicode_escape_error(std::string_view text, std::size_t escape) {
  const auto hex_error = [&](std::size_t digits) -> Found {
    if (digits + 4 > text.size()) return {digits, "a \\u escape needs four hex digits"};
    std::size_t bad = digits;
    while (bad < digits + 4 && std::isxdigit(static_cast<unsigned char>(text[bad]))) ++bad;
    return {bad + 1, "a \\u escape needs four hex digits"};
  };
  const std::optional<unsigned> high = hex_at(text, escape + 2);
  if (!high) return hex_error(escape + 2);
  if (*high >= 0xDC00 && *high <= 0xDFFF) return Found{escape + 6, "an unpaired surrogate"};
  if (*high < 0xD800 || *high > 0xDBFF) return std::nullopt;
  if (escape + 8 > text.size() || text[escape + 6] != '\\' || text[escape + 7] != 'u')
    return Found{escape + 6, "an unpaired surrogate"};
  const std::optional<unsigned> low = hex_at(text, escape + 8);
  if (!low) return hex_error(escape + 8);
  if (*low < 0xDC00 || *low > 0xDFFF) return Found{escape + 12, "an unpaired surrogate"};
  return std::nullopt;
}

// What is wrong inside the string that is open at `at`.
Found string_error(std::string_view text, std::size_t at, const StringScan& scan) {
  if (scan.escape) {
    std::size_t escape = *scan.escape;
    // The second half of a surrogate pair is reported with its first half.
    if (scan.previous_escape && *scan.previous_escape + 6 == escape && text[*scan.previous_escape + 1] == 'u')
      if (const auto high = hex_at(text, *scan.previous_escape + 2); high && *high >= 0xD800 && *high <= 0xDBFF)
        escape = *scan.previous_escape;
    if (escape + 1 < text.size() && text[escape + 1] == 'u' && at <= escape + 12) {
      if (auto found = unicode_escape_error(text, escape)) return *found;
    } else if (at == escape + 1 && at < text.size()) {
      return {at, "an unknown escape"};
    }
  }
  if (at >= text.size()) return {text.size(), "a string is not closed"};
  if (static_cast<unsigned char>(text[at]) < 0x20) return {at, "a control character inside a string"};
  return {at, "a string is not valid"};
}

std::string expected(std::string_view what, std::size_t at, std::string_view text) {
  return at >= text.size() ? fmt::format("expected {} before the end", what) : fmt::format("expected {}", what);
}

// The reader's words for why the parser stopped at `at` (an error code from
// the library, a refusal of the handler, or text after a complete value).
Found explain(std::string_view text, std::size_t at, const boost::json::error_code& error, const Handler& handler) {
  const bool strings_only = handler.mode() == Mode::string_object;
  const Handler::Frame* frame = handler.innermost();
  const StringScan scan = scan_strings(text, at);

  switch (handler.refusal()) {
    case Refusal::repeated_key:
      // Stopped at the closing quote of the key, or (objects of strings) of its value.
      return {strings_only ? scan.previous_start : scan.start, "a key appears twice"};
    case Refusal::not_a_string:
      return {token_start(text, at), fmt::format("the value of \"{}\" must be a string", frame ? frame->key : "")};
    case Refusal::not_an_object: break;  // below, with every error before the '{'
    case Refusal::number_out_of_range: return {at - handler.number_text().size(), "a number out of range"};
    case Refusal::none: break;
  }
  if (strings_only && !handler.begun()) {
    std::size_t first = 0;
    while (first < text.size() && is_space(text[first])) ++first;
    return {first, expected("'{'", first, text)};
  }
  if (error == boost::json::error::too_deep) return {at, "nested too deeply"};
  if (error == boost::json::error::exponent_overflow) return {token_start(text, at), "a number out of range"};
  if (scan.inside) return string_error(text, at, scan);

  // Between tokens, or inside a number or literal.
  const std::size_t token = token_start(text, at);
  if (strings_only && frame && frame->next == Handler::Next::after_key && previous_non_space(text, token) == ':')
    return {token, fmt::format("the value of \"{}\" must be a string", frame->key)};
  const char before = at > 0 ? text[at - 1] : '\0';
  if (before == '-' || before == '+' || before == '.' ||
      ((before == 'e' || before == 'E') && at > 1 && is_digit(text[at - 2])))
    return {at, "a number needs digits"};
  if (at < text.size() && is_digit(text[at]) && (text.substr(token, at - token) == "0" || text.substr(token, at - token) == "-0"))
    return {at - 1, "a number may not start with 0"};
  // A literal cut short ("tru") is, as before, a value that is not one.
  std::size_t place = at;
  if (const std::string_view word = text.substr(token, at - token);
      !word.empty() && word != "true" && word != "false" && word != "null" &&
      (std::string_view("true").starts_with(word) || std::string_view("false").starts_with(word) ||
       std::string_view("null").starts_with(word)))
    place = token;

  const char last = previous_non_space(text, place);
  if (!frame) {
    if (handler.done()) return {place, strings_only ? "unexpected text after the object" : "unexpected text after the value"};
    return {place, expected("a value", place, text)};
  }
  const bool object = frame->value.type == JsonValue::Type::object;
  switch (frame->next) {
    case Handler::Next::after_open: return {place, object ? expected("'\"'", place, text) : expected("a value", place, text)};
    case Handler::Next::after_key:
      return {place, last == ':' ? expected("a value", place, text) : expected("':'", place, text)};
    case Handler::Next::after_value:
      if (last == ',') return {place, object ? expected("'\"'", place, text) : expected("a value", place, text)};
      return {place, object ? expected("'}'", place, text) : expected("']'", place, text)};
  }
  return {at, error.message()};
}

struct Read {
  JsonValue value;
  std::string error;
};

Read read_text(std::string_view text, Mode mode, std::size_t max_depth) {
  boost::json::parse_options options;
  options.max_depth = max_depth;
  // As before: string bytes are passed through as they are; the API checks
  // the names it is given, and the JSON it writes is made valid UTF-8.
  options.allow_invalid_utf8 = true;
  Parser parser(options, mode);
  boost::json::error_code error;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), error);
  if (!error && used == text.size()) return {parser.handler().take(), ""};
  const Found found = explain(text, used, error, parser.handler());
  return {JsonValue{}, fmt::format("at offset {}: {}", found.at, found.what)};
}

}  // namespace

JsonObjectResult parse_string_object(std::string_view text) {
  // Depth 2: a nested array or object is refused as a value that is not a
  // string, before the library's depth limit would see it.
  Read parsed = read_text(text, Mode::string_object, 2);
  JsonObjectResult result;
  if (!parsed.error.empty()) {
    result.error = std::move(parsed.error);
    return result;
  }
  for (JsonMember& member : parsed.value.object) result.values.emplace(std::move(member.key), std::move(member.value.string));
  return result;
}

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& [name, member] : object)
    if (name == key) return &member;
  return nullptr;
}

JsonValueResult parse_json(std::string_view text, std::size_t max_depth) {
  Read parsed = read_text(text, Mode::any_value, max_depth);
  return {std::move(parsed.value), std::move(parsed.error)};
}

}  // namespace icegate::http

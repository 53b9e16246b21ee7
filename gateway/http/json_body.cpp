#include "gateway/http/json_body.hpp"

#include <charconv>
#include <tuple>

#include <fmt/format.h>

namespace icegate::http {

namespace {

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  JsonValueResult value_document(std::size_t max_depth) {
    JsonValueResult result;
    try {
      skip_space();
      result.value = value(max_depth);
      skip_space();
      if (at_ != text_.size()) fail("unexpected text after the value");
    } catch (const Failure& failure) {
      result.value = {};
      result.error = failure.what;
    }
    return result;
  }

  JsonObjectResult object() {
    JsonObjectResult result;
    try {
      skip_space();
      expect('{');
      skip_space();
      if (peek() == '}') {
        ++at_;
      } else {
        while (true) {
          skip_space();
          const std::size_t key_at = at_;
          std::string key = string();
          skip_space();
          expect(':');
          skip_space();
          if (peek() != '"') fail(fmt::format("the value of \"{}\" must be a string", key));
          std::string value = string();
          if (!result.values.emplace(std::move(key), std::move(value)).second) {
            at_ = key_at;
            fail("a key appears twice");
          }
          skip_space();
          if (peek() == ',') {
            ++at_;
            continue;
          }
          expect('}');
          break;
        }
      }
      skip_space();
      if (at_ != text_.size()) fail("unexpected text after the object");
    } catch (const Failure& failure) {
      result.values.clear();
      result.error = failure.what;
    }
    return result;
  }

 private:
  struct Failure {
    std::string what;
  };

  [[noreturn]] void fail(std::string_view why) const { throw Failure{fmt::format("at offset {}: {}", at_, why)}; }
  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r'))
      ++at_;
  }
  void expect(char c) {
    if (peek() != c || at_ >= text_.size()) fail(at_ >= text_.size() ? fmt::format("expected '{}' before the end", c)
                                                                    : fmt::format("expected '{}'", c));
    ++at_;
  }

  unsigned hex4() {
    if (at_ + 4 > text_.size()) fail("a \\u escape needs four hex digits");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[at_++];
      value <<= 4;
      if (c >= '0' && c <= '9') value |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') value |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') value |= static_cast<unsigned>(c - 'A' + 10);
      else fail("a \\u escape needs four hex digits");
    }
    return value;
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (code >> 6)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (code >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (code >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  JsonValue value(std::size_t depth) {
    JsonValue v;
    const char c = peek();
    if (at_ >= text_.size()) fail("expected a value before the end");
    if (c == '{' || c == '[') {
      if (depth == 0) fail("nested too deeply");
      ++at_;
      skip_space();
      const char close = c == '{' ? '}' : ']';
      v.type = c == '{' ? JsonValue::Type::object : JsonValue::Type::array;
      if (peek() == close) {
        ++at_;
        return v;
      }
      while (true) {
        skip_space();
        if (v.type == JsonValue::Type::object) {
          const std::size_t key_at = at_;
          std::string key = string();
          for (const auto& member : v.object)
            if (member.key == key) {
              at_ = key_at;
              fail("a key appears twice");
            }
          skip_space();
          expect(':');
          skip_space();
          v.object.push_back(JsonMember{std::move(key), value(depth - 1)});
        } else {
          v.array.push_back(value(depth - 1));
        }
        skip_space();
        if (peek() == ',' && at_ < text_.size()) {
          ++at_;
          continue;
        }
        expect(close);
        return v;
      }
    }
    if (c == '"') {
      v.type = JsonValue::Type::string;
      v.string = string();
      return v;
    }
    for (const auto& [word, type, truth] : {std::tuple{std::string_view("true"), JsonValue::Type::boolean, true},
                                            std::tuple{std::string_view("false"), JsonValue::Type::boolean, false},
                                            std::tuple{std::string_view("null"), JsonValue::Type::null, false}})
      if (text_.substr(at_).starts_with(word)) {
        at_ += word.size();
        v.type = type;
        v.boolean = truth;
        return v;
      }
    if (c == '-' || (c >= '0' && c <= '9')) {
      // The JSON grammar, checked here; the value is read by from_chars.
      const std::size_t start = at_;
      if (peek() == '-') ++at_;
      auto digits = [&] {
        const std::size_t from = at_;
        while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
        if (at_ == from) fail("a number needs digits");
        return at_ - from;
      };
      const std::size_t int_at = at_;
      if (digits() > 1 && text_[int_at] == '0') {
        at_ = int_at;
        fail("a number may not start with 0");
      }
      if (peek() == '.' && at_ < text_.size()) {
        ++at_;
        digits();
      }
      if ((peek() == 'e' || peek() == 'E') && at_ < text_.size()) {
        ++at_;
        if (peek() == '+' || peek() == '-') ++at_;
        digits();
      }
      v.type = JsonValue::Type::number;
      const auto [end, error] = std::from_chars(text_.data() + start, text_.data() + at_, v.number);
      if (error != std::errc()) {
        at_ = start;
        fail("a number out of range");
      }
      return v;
    }
    fail("expected a value");
  }

  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (at_ >= text_.size()) fail("a string is not closed");
      const char c = text_[at_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) {
        --at_;
        fail("a control character inside a string");
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (at_ >= text_.size()) fail("a string is not closed");
      switch (text_[at_++]) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          unsigned code = hex4();
          if (code >= 0xD800 && code <= 0xDBFF) {
            if (at_ + 2 > text_.size() || text_[at_] != '\\' || text_[at_ + 1] != 'u') fail("an unpaired surrogate");
            at_ += 2;
            const unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("an unpaired surrogate");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          } else if (code >= 0xDC00 && code <= 0xDFFF) {
            fail("an unpaired surrogate");
          }
          append_utf8(out, code);
          break;
        }
        default:
          --at_;
          fail("an unknown escape");
      }
    }
  }

  std::string_view text_;
  std::size_t at_ = 0;
};

}  // namespace

JsonObjectResult parse_string_object(std::string_view text) { return Reader(text).object(); }

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& [name, member] : object)
    if (name == key) return &member;
  return nullptr;
}

JsonValueResult parse_json(std::string_view text, std::size_t max_depth) {
  return Reader(text).value_document(max_depth);
}

}  // namespace icegate::http

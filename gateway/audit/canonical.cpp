// The audit record's canonical JSON: the writer whose bytes are hashed into
// the chain (fixed key order, no insignificant space), the minimal JSON reader
// that checks `detail` and reads records back, and the public json_string and
// canonical_json over them. The bytes written here are a contract: a change
// makes every existing trail fail `icegate audit verify`.
#include "gateway/audit/canonical.hpp"

#include <charconv>
#include <cstdint>

#include "gateway/model/json_scan.hpp"

namespace icegate::audit {
namespace {

using json::plain_run_end;

}  // namespace

namespace detail {

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex_digits[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run_start = 0;
  for (std::size_t index = plain_run_end(text, 0); index < text.size(); index = plain_run_end(text, index + 1)) {
    const auto byte = static_cast<unsigned char>(text[index]);
    out.append(text.substr(run_start, index - run_start));
    run_start = index + 1;
    switch (byte) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(hex_digits[byte >> 4]);
        out.push_back(hex_digits[byte & 0x0f]);
    }
  }
  out.append(text.substr(run_start));
  out.push_back('"');
}

}  // namespace detail

namespace {

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  }
}

// ----------------------------------------------------------------- JSON in

// Just enough of RFC 8259 to check that `detail` is one JSON object and to read
// back the records canonical_json writes. Nesting is limited so a hostile
// record cannot exhaust the stack.
class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  // The next significant character, or '\0' at the end.
  char peek() {
    skip_space();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  bool consume(char expected) {
    if (peek() != expected) return false;
    ++pos_;
    return true;
  }
  bool at_end() {
    skip_space();
    return pos_ == text_.size();
  }
  std::size_t position() const { return pos_; }

  // A string, decoded into *out unless `out` is null (then only checked).
  bool read_string(std::string* out) {
    if (peek() != '"') return false;
    ++pos_;
    if (out != nullptr) out->clear();
    while (true) {
      const std::size_t run_start = pos_;
      pos_ = plain_run_end(text_, pos_);
      if (out != nullptr) out->append(text_.substr(run_start, pos_ - run_start));
      if (pos_ >= text_.size()) return false;
      const char terminator = text_[pos_++];
      if (terminator == '"') return true;
      if (terminator != '\\' || pos_ >= text_.size()) return false;  // a raw control character
      char decoded = 0;
      switch (text_[pos_++]) {
        case '"': decoded = '"'; break;
        case '\\': decoded = '\\'; break;
        case '/': decoded = '/'; break;
        case 'b': decoded = '\b'; break;
        case 'f': decoded = '\f'; break;
        case 'n': decoded = '\n'; break;
        case 'r': decoded = '\r'; break;
        case 't': decoded = '\t'; break;
        case 'u': {
          std::uint32_t code_point = 0;
          if (!read_hex4(code_point)) return false;
          if (code_point >= 0xdc00 && code_point <= 0xdfff) return false;  // a lone low surrogate
          if (code_point >= 0xd800 && code_point <= 0xdbff) {
            std::uint32_t low = 0;
            if (text_.substr(pos_, 2) != "\\u") return false;
            pos_ += 2;
            if (!read_hex4(low) || low < 0xdc00 || low > 0xdfff) return false;
            code_point = 0x10000 + ((code_point - 0xd800) << 10) + (low - 0xdc00);
          }
          if (out != nullptr) append_utf8(*out, code_point);
          continue;
        }
        default: return false;
      }
      if (out != nullptr) out->push_back(decoded);
    }
  }

  // An integer that fits in 64 bits, in JSON number syntax (no fraction or exponent).
  bool read_int64(std::int64_t& value) {
    skip_space();
    const std::size_t start = pos_;
    if (!skip_number()) return false;
    const std::string_view token = text_.substr(start, pos_ - start);
    if (token.find_first_of(".eE") != std::string_view::npos) return false;
    const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
    return error == std::errc() && end == token.data() + token.size();
  }

  bool skip_value(int depth = 0) {
    if (depth > max_depth) return false;
    switch (peek()) {
      case '{':
        ++pos_;
        if (consume('}')) return true;
        do {
          if (!read_string(nullptr) || !consume(':') || !skip_value(depth + 1)) return false;
        } while (consume(','));
        return consume('}');
      case '[':
        ++pos_;
        if (consume(']')) return true;
        do {
          if (!skip_value(depth + 1)) return false;
        } while (consume(','));
        return consume(']');
      case '"': return read_string(nullptr);
      case 't': return read_word("true");
      case 'f': return read_word("false");
      case 'n': return read_word("null");
      default: return skip_number();
    }
  }

 private:
  static constexpr int max_depth = 200;

  bool read_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool read_hex4(std::uint32_t& value) {
    if (pos_ + 4 > text_.size()) return false;
    const auto [end, error] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, value, 16);
    if (error != std::errc() || end != text_.data() + pos_ + 4) return false;
    pos_ += 4;
    return true;
  }

  bool is_digit_at(std::size_t index) const {
    return index < text_.size() && text_[index] >= '0' && text_[index] <= '9';
  }
  void skip_digits() {
    while (is_digit_at(pos_)) ++pos_;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool skip_number() {
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (!is_digit_at(pos_)) return false;
    if (text_[pos_] == '0') {
      ++pos_;
    } else {
      skip_digits();
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (!is_digit_at(pos_)) return false;
      skip_digits();
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!is_digit_at(pos_)) return false;
      skip_digits();
    }
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

namespace detail {

// `text` without surrounding white space if it is exactly one JSON object.
std::optional<std::string_view> json_object_text(std::string_view text) {
  JsonReader reader(text);
  if (reader.peek() != '{') return std::nullopt;
  const std::size_t start = reader.position();
  if (!reader.skip_value()) return std::nullopt;
  const std::size_t end = reader.position();
  if (!reader.at_end()) return std::nullopt;
  return text.substr(start, end - start);
}

void append_detail_json(std::string& out, std::string_view detail) {
  if (const auto object = json_object_text(detail)) {
    out.append(*object);
  } else {
    append_json_string(out, detail);
  }
}

void append_canonical_json(std::string& out, const AuditRecord& record) {
  char number[24];
  const auto [number_end, error] = std::to_chars(number, number + sizeof number, record.time_unix_ms);
  out += "{\"time_unix_ms\":";
  out.append(number, number_end);
  out += ",\"kind\":";
  append_json_string(out, record.kind);
  out += ",\"node\":";
  append_json_string(out, record.node);
  out += ",\"recipient\":";
  append_json_string(out, record.recipient);
  out += ",\"message_id\":";
  append_json_string(out, record.message_id);
  out += ",\"decision\":";
  append_json_string(out, record.decision);
  out += ",\"rules\":[";
  for (std::size_t index = 0; index < record.rules.size(); ++index) {
    if (index > 0) out.push_back(',');
    append_json_string(out, record.rules[index]);
  }
  out += "],\"policy_version\":";
  append_json_string(out, record.policy_version);
  out += ",\"detail\":";
  if (record.detail_is_object) {
    out += record.detail;
  } else {
    append_detail_json(out, record.detail);
  }
  out.push_back('}');
}

bool parse_record_json(std::string_view text, AuditRecord& record) {
  record = AuditRecord{};
  JsonReader reader(text);
  if (!reader.consume('{')) return false;
  if (reader.consume('}')) return reader.at_end();
  std::string key;
  do {
    if (!reader.read_string(&key) || !reader.consume(':')) return false;
    bool ok = true;
    if (key == "time_unix_ms") {
      ok = reader.read_int64(record.time_unix_ms);
    } else if (key == "kind") {
      ok = reader.read_string(&record.kind);
    } else if (key == "node") {
      ok = reader.read_string(&record.node);
    } else if (key == "recipient") {
      ok = reader.read_string(&record.recipient);
    } else if (key == "message_id") {
      ok = reader.read_string(&record.message_id);
    } else if (key == "decision") {
      ok = reader.read_string(&record.decision);
    } else if (key == "policy_version") {
      ok = reader.read_string(&record.policy_version);
    } else if (key == "rules") {
      record.rules.clear();
      ok = reader.consume('[');
      if (ok && !reader.consume(']')) {
        do {
          ok = reader.read_string(&record.rules.emplace_back());
        } while (ok && reader.consume(','));
        ok = ok && reader.consume(']');
      }
    } else if (key == "detail") {
      const char first = reader.peek();
      // (A record with two details keeps the last, and what the last is.)
      if (first == '"') {
        ok = reader.read_string(&record.detail);
        record.detail_is_object = false;
      } else if (first == '{') {
        const std::size_t start = reader.position();
        ok = reader.skip_value();
        record.detail.assign(text.substr(start, reader.position() - start));
        record.detail_is_object = ok;  // one object, read whole: written again as it is
      } else {
        ok = false;
      }
    } else {
      ok = reader.skip_value();
    }
    if (!ok) return false;
  } while (reader.consume(','));
  return reader.consume('}') && reader.at_end();
}

}  // namespace detail

std::string json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  detail::append_json_string(out, text);
  return out;
}

std::string canonical_json(const AuditRecord& record) {
  std::string out;
  out.reserve(256 + record.detail.size());
  detail::append_canonical_json(out, record);
  return out;
}

}  // namespace icegate::audit

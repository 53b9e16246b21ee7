// The audit trail: canonical JSON, the SHA-256 hash chain over it, and the
// reader side (verify, query and the three output formats).
//
// verify() does not stop at the first broken link. It checks each record on
// its own (hash against content, indexed columns against the JSON), then
// rebuilds the chain from the records' own links (previous_hash -> hash) and
// compares that with the stored seq order, so that each tampering is reported
// once, as what it most plausibly was:
//   - a gap in seq is a deletion;
//   - two records claiming the same predecessor: the shorter branch was inserted;
//   - a record chained to no record, sitting between two records that chain to
//     each other: inserted; sitting after a record nothing chains to: that
//     record was rewritten and re-hashed (or the records after it deleted and
//     the rest renumbered; the chain alone cannot tell those apart);
//   - records whose chain order disagrees with their seq order: reordered
//     (the fewest records that explain it, by a longest increasing subsequence).
//
// Limitation: the chain carries no secret. Whoever can write the database can
// drop records from the end (truncate the tail), or rewrite a record and
// re-hash every record after it; either leaves a chain that verifies. Only a
// head hash and count kept elsewhere (printed by `icegate audit verify`)
// reveal that. SECURITY.md says so.
#include "gateway/audit/audit.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <new>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/digest.hpp"

namespace icegate::audit {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- JSON out

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex_digits[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run_start = 0;
  for (std::size_t index = 0; index < text.size(); ++index) {
    const auto byte = static_cast<unsigned char>(text[index]);
    if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
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
      while (pos_ < text_.size()) {
        const auto byte = static_cast<unsigned char>(text_[pos_]);
        if (byte == '"' || byte == '\\' || byte < 0x20) break;
        ++pos_;
      }
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
  append_detail_json(out, record.detail);
  out.push_back('}');
}

// Reads a record back from its JSON (canonical or not; unknown keys are
// skipped). A `detail` object is kept as its text, a `detail` string as the
// string, so canonical_json(parsed) reproduces a canonical input exactly.
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
      if (first == '"') {
        ok = reader.read_string(&record.detail);
      } else if (first == '{') {
        const std::size_t start = reader.position();
        ok = reader.skip_value();
        record.detail.assign(text.substr(start, reader.position() - start));
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

// ------------------------------------------------------------------ hashing

// Computes chain hashes with one reusable digest context.
class ChainHasher {
 public:
  static constexpr std::size_t hex_size = 64;

  // Writes hex(SHA-256(previous + "\n" + canonical)) to hex[0..64).
  void hash(std::string_view previous, std::string_view canonical, char* hex) {
    sha256_.update(previous).update("\n").update(canonical).finish_hex(hex);
  }

  std::string hash(std::string_view previous, std::string_view canonical) {
    return sha256_.update(previous).update("\n").update(canonical).finish_hex();
  }

 private:
  Sha256 sha256_;
};

// ------------------------------------------------------------------- SQLite

struct DatabaseCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Database = std::unique_ptr<sqlite3, DatabaseCloser>;

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

[[noreturn]] void throw_sqlite_error(sqlite3* db, std::string_view what) {
  throw std::runtime_error(fmt::format("audit: {}: {}", what, sqlite3_errmsg(db)));
}

Statement prepare(sqlite3* db, std::string_view sql, std::string_view what, unsigned int flags = 0) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), flags, &statement, nullptr) != SQLITE_OK) {
    throw_sqlite_error(db, what);
  }
  return Statement(statement);
}

std::string_view column_text(sqlite3_stmt* statement, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
  if (text == nullptr) return {};
  return {text, static_cast<std::size_t>(sqlite3_column_bytes(statement, column))};
}

// Binds without copying: the text must outlive the next sqlite3_step.
void bind_text(sqlite3_stmt* statement, int index, std::string_view text) {
  sqlite3_bind_text(statement, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}
// Empty strings are stored as NULL, so "no node" is one value in the indexes.
void bind_text_or_null(sqlite3_stmt* statement, int index, std::string_view text) {
  if (text.empty()) {
    sqlite3_bind_null(statement, index);
  } else {
    bind_text(statement, index, text);
  }
}

Database open_read_only(const fs::path& data_dir) {
  const fs::path path = database_path(data_dir);
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    throw std::runtime_error(fmt::format("no audit database: {} not found", path.string()));
  }
  sqlite3* raw = nullptr;
  const int result = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  Database db(raw);
  if (result != SQLITE_OK) {
    throw std::runtime_error(fmt::format("cannot open {}: {}", path.string(),
                                         raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(result)));
  }
  sqlite3_busy_timeout(db.get(), 5000);  // the gateway may be checkpointing
  sqlite3_stmt* check = nullptr;
  const int prepared =
      sqlite3_prepare_v2(db.get(), "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'audit'", -1,
                         &check, nullptr);
  const Statement check_statement(check);
  if (prepared != SQLITE_OK) {
    throw std::runtime_error(fmt::format("cannot read {}: {}", path.string(), sqlite3_errmsg(db.get())));
  }
  const int found = sqlite3_step(check);
  if (found != SQLITE_ROW) {
    if (found == SQLITE_DONE) throw std::runtime_error(fmt::format("{} has no audit table", path.string()));
    throw std::runtime_error(fmt::format("cannot read {}: {}", path.string(), sqlite3_errmsg(db.get())));
  }
  return db;
}

// The columns every reader selects, in this order. A trail no icegate with
// message numbers has opened yet (readers open read-only and cannot upgrade
// it) reads as one without them.
std::string select_columns(bool numbered) {
  return fmt::format(
      "SELECT seq, time_unix_ms, kind, node, recipient, message_id, decision, record, previous_hash, hash, {} "
      "FROM audit",
      numbered ? "message_ref" : "NULL");
}
enum Column : int {
  column_seq,
  column_time,
  column_kind,
  column_node,
  column_recipient,
  column_message_id,
  column_decision,
  column_record,
  column_previous_hash,
  column_hash,
  column_message_ref,
};

StoredRecord read_stored_record(sqlite3_stmt* statement) {
  StoredRecord stored;
  stored.seq = sqlite3_column_int64(statement, column_seq);
  stored.canonical = column_text(statement, column_record);
  stored.previous_hash = column_text(statement, column_previous_hash);
  stored.hash = column_text(statement, column_hash);
  if (!parse_record_json(stored.canonical, stored.record)) {
    // Not a record we wrote (verify says so): show what the columns say.
    stored.record = AuditRecord{};
    stored.record.time_unix_ms = sqlite3_column_int64(statement, column_time);
    stored.record.kind = column_text(statement, column_kind);
    stored.record.node = column_text(statement, column_node);
    stored.record.recipient = column_text(statement, column_recipient);
    stored.record.message_id = column_text(statement, column_message_id);
    stored.record.decision = column_text(statement, column_decision);
  }
  return stored;
}

// --------------------------------------------------------------------- time

// 2026-11-21T06:00:00.000Z; outside years 1..9999, the number of milliseconds.
std::string format_utc(std::int64_t unix_ms) {
  constexpr std::int64_t earliest = -62'135'596'800'000;  // 0001-01-01T00:00:00Z
  constexpr std::int64_t latest = 253'402'300'799'999;    // 9999-12-31T23:59:59.999Z
  if (unix_ms < earliest || unix_ms > latest) return fmt::format("@{}ms", unix_ms);
  using namespace std::chrono;
  const sys_time<milliseconds> time{milliseconds{unix_ms}};
  const sys_days day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss clock{time - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), clock.hours().count(),
                     clock.minutes().count(), clock.seconds().count(), clock.subseconds().count());
}

// --------------------------------------------------------------- verify

// Problems keyed by (seq, kind): a second finding for the same record and kind
// is joined to the first, so each record has one line per kind.
class ProblemList {
 public:
  void add(std::int64_t seq, ProblemKind kind, std::string text) {
    const auto [entry, inserted] = index_.try_emplace({seq, kind}, problems_.size());
    if (inserted) {
      problems_.push_back({seq, kind, std::move(text)});
    } else {
      problems_[entry->second].text += "; " + text;
    }
  }
  bool has(std::int64_t seq, ProblemKind kind) const { return index_.count({seq, kind}) != 0; }
  std::vector<VerifyProblem> sorted() && {
    std::stable_sort(problems_.begin(), problems_.end(), [](const VerifyProblem& a, const VerifyProblem& b) {
      return std::pair(a.seq, a.kind) < std::pair(b.seq, b.kind);
    });
    return std::move(problems_);
  }

 private:
  std::vector<VerifyProblem> problems_;
  std::map<std::pair<std::int64_t, ProblemKind>, std::size_t> index_;
};

// One stored row, as the link analysis needs it.
struct ChainRow {
  std::int64_t seq = 0;
  std::string previous_hash;  // as stored, or corrected when only this field was changed
  std::string hash;           // as stored
  std::string computed_hash;  // chain_hash(stored previous_hash, record) when it differs from `hash`
  bool previous_hash_changed = false;  // the record was hashed after the preceding row, as expected
  bool linked_by_computed_hash = false;  // a later record chains to computed_hash: only `hash` was changed
  std::string content_problems;  // columns or JSON that disagree, "" if none
};

std::string quoted_column(std::string_view text) { return text.empty() ? "empty" : json_string(text); }

// audit_messages: the message id each number stands for.
using MessageNumbers = std::unordered_map<std::int64_t, std::string>;

// Reasons a record's indexed columns or JSON are not what append() wrote.
// `numbers` is null for a trail written before message numbers.
std::string check_content(sqlite3_stmt* row, std::string_view record_text, AuditRecord& parsed,
                          std::string& canonical, const MessageNumbers* numbers) {
  if (!parse_record_json(record_text, parsed)) return "its record is not a valid audit record JSON object";
  std::string problems;
  auto add = [&problems](std::string text) {
    if (!problems.empty()) problems += "; ";
    problems += text;
  };
  const bool time_is_integer = sqlite3_column_type(row, column_time) == SQLITE_INTEGER;  // before any conversion
  if (!time_is_integer || sqlite3_column_int64(row, column_time) != parsed.time_unix_ms) {
    add(fmt::format("its time_unix_ms column is {} but its record says {}",
                    quoted_column(column_text(row, column_time)), parsed.time_unix_ms));
  }
  const std::pair<Column, const std::string*> text_columns[] = {
      {column_kind, &parsed.kind},
      {column_node, &parsed.node},
      {column_recipient, &parsed.recipient},
      {column_message_id, &parsed.message_id},
      {column_decision, &parsed.decision},
  };
  for (const auto& [column, value] : text_columns) {
    const std::string_view stored = column_text(row, column);
    if (stored != *value) {
      add(fmt::format("its {} column is {} but its record says {}", sqlite3_column_name(row, column),
                      quoted_column(stored), quoted_column(*value)));
    }
  }
  if (numbers != nullptr) {
    // message_ref only finds records; but a wrong one would hide a record from
    // a query by message, so it must stand for the record's own message id.
    const bool has_ref = sqlite3_column_type(row, column_message_ref) == SQLITE_INTEGER;
    const std::int64_t ref = sqlite3_column_int64(row, column_message_ref);
    const auto found = has_ref ? numbers->find(ref) : numbers->end();
    if (parsed.message_id.empty() ? sqlite3_column_type(row, column_message_ref) != SQLITE_NULL
                                  : found == numbers->end() || found->second != parsed.message_id) {
      add(fmt::format("its message_ref column is {} but its record's message id is {}",
                      quoted_column(column_text(row, column_message_ref)), quoted_column(parsed.message_id)));
    }
  }
  canonical.clear();
  append_canonical_json(canonical, parsed);
  if (canonical != record_text) add("its record is not in canonical form");
  return problems;
}

std::string seq_range(std::int64_t first, std::int64_t last) {
  return first == last ? fmt::format("seq {}", first) : fmt::format("seqs {} to {}", first, last);
}

// The link analysis over rows in seq order; see the comment at the top.
class ChainAnalysis {
 public:
  ChainAnalysis(const std::vector<ChainRow>& rows, ProblemList& problems)
      : rows_(rows), problems_(problems), size_(rows.size()) {}

  void run() {
    link();
    break_cycles();
    resolve_forks();
    explain_unchained_records();
    report_gaps();
    report_reordering();
  }

  // A later record chains to this record's recomputed hash: only its hash field was changed.
  bool linked_via_computed(std::size_t position) const { return linked_via_computed_[position]; }

 private:
  static constexpr std::ptrdiff_t genesis = -1;   // parent: chained to the genesis hash
  static constexpr std::ptrdiff_t unchained = -2;  // parent: chained to no record

  std::int64_t seq(std::size_t position) const { return rows_[position].seq; }
  // The pseudo-node for "the genesis hash" is position size_.
  std::size_t node(std::ptrdiff_t parent) const {
    return parent == genesis ? size_ : static_cast<std::size_t>(parent);
  }

  void link() {
    std::unordered_map<std::string_view, std::size_t> position_of_hash;
    position_of_hash.reserve(size_ * 2);
    excluded_.assign(size_, false);
    for (std::size_t position = 0; position < size_; ++position) {
      const auto [existing, inserted] = position_of_hash.try_emplace(rows_[position].hash, position);
      if (!inserted) {
        excluded_[position] = true;
        problems_.add(seq(position), ProblemKind::inserted,
                      fmt::format("it has the same hash as seq {}: a copy of that record", seq(existing->second)));
      }
    }
    for (std::size_t position = 0; position < size_; ++position) {
      if (!rows_[position].computed_hash.empty()) position_of_hash.try_emplace(rows_[position].computed_hash, position);
    }
    parent_.assign(size_, unchained);
    linked_via_computed_.assign(size_, false);
    for (std::size_t position = 0; position < size_; ++position) {
      if (excluded_[position]) continue;
      const std::string& previous = rows_[position].previous_hash;
      if (previous == genesis_hash) {
        parent_[position] = genesis;
      } else if (const auto found = position_of_hash.find(previous);
                 found != position_of_hash.end() && found->second != position && !excluded_[found->second]) {
        parent_[position] = static_cast<std::ptrdiff_t>(found->second);
        if (previous != rows_[found->second].hash) linked_via_computed_[found->second] = true;
      }
    }
    // Children of each node (and of the genesis pseudo-node), as compressed rows.
    child_begin_.assign(size_ + 2, 0);
    for (std::size_t position = 0; position < size_; ++position) {
      if (!excluded_[position] && parent_[position] != unchained) ++child_begin_[node(parent_[position]) + 1];
    }
    for (std::size_t index = 1; index < child_begin_.size(); ++index) child_begin_[index] += child_begin_[index - 1];
    children_.assign(child_begin_.back(), 0);
    std::vector<std::size_t> fill(child_begin_.begin(), child_begin_.end() - 1);
    for (std::size_t position = 0; position < size_; ++position) {
      if (!excluded_[position] && parent_[position] != unchained) children_[fill[node(parent_[position])]++] = position;
    }
  }

  // The children still chained to `parent_node` (edges change as cycles are
  // broken and branches excluded).
  template <typename Visit>
  void for_each_child(std::size_t parent_node, Visit visit) const {
    for (std::size_t index = child_begin_[parent_node]; index < child_begin_[parent_node + 1]; ++index) {
      const std::size_t child = children_[index];
      if (!excluded_[child] && parent_[child] != unchained && node(parent_[child]) == parent_node) visit(child);
    }
  }

  // Depth-first from `root`, appending to order_.
  void visit_from(std::size_t root) {
    std::vector<std::size_t> stack{root};
    visited_[root] = true;
    while (!stack.empty()) {
      const std::size_t current = stack.back();
      stack.pop_back();
      order_.push_back(current);
      for_each_child(current, [&](std::size_t child) {
        if (!visited_[child]) {
          visited_[child] = true;
          stack.push_back(child);
        }
      });
    }
  }

  // Hash fields can be set to anything, so links can form a loop that no
  // root reaches. Cut each loop at its first record in seq order, then count
  // each record's descendants (used to tell the real branch of a fork).
  void break_cycles() {
    visited_.assign(size_, false);
    order_.clear();
    order_.reserve(size_);
    for (std::size_t position = 0; position < size_; ++position) {
      if (!excluded_[position] && parent_[position] < 0) visit_from(position);
    }
    for (std::size_t position = 0; position < size_; ++position) {
      if (excluded_[position] || visited_[position]) continue;
      parent_[position] = unchained;
      visit_from(position);
    }
    descendants_.assign(size_, 1);
    for (auto current = order_.rbegin(); current != order_.rend(); ++current) {
      if (parent_[*current] >= 0) descendants_[static_cast<std::size_t>(parent_[*current])] += descendants_[*current];
    }
  }

  // Two records chained to the same predecessor: the one with the longer
  // continuation (then the earlier seq) is the chain; the other branch was inserted.
  void resolve_forks() {
    next_.assign(size_ + 1, -1);
    auto resolve = [&](std::size_t parent_node) {
      std::ptrdiff_t best = -1;
      for_each_child(parent_node, [&](std::size_t child) {
        if (best < 0 || descendants_[child] > descendants_[static_cast<std::size_t>(best)]) {
          best = static_cast<std::ptrdiff_t>(child);
        }
      });
      next_[parent_node] = best;
      if (best < 0) return;
      std::vector<std::size_t> forged;
      for_each_child(parent_node, [&](std::size_t child) {
        if (static_cast<std::ptrdiff_t>(child) != best) forged.push_back(child);
      });
      for (const std::size_t head : forged) {
        const std::string reason =
            parent_node == size_
                ? fmt::format("it claims to be the first record of the chain (its previous_hash is the genesis "
                              "hash), as does seq {}",
                              seq(static_cast<std::size_t>(best)))
                : fmt::format("it claims to follow seq {} in the chain, but seq {} does", seq(parent_node),
                              seq(static_cast<std::size_t>(best)));
        exclude_branch(head, reason);
      }
    };
    resolve(size_);
    for (const std::size_t current : order_) {
      if (!excluded_[current]) resolve(current);
    }
  }

  // Marks `head` and everything chained after it as inserted.
  void exclude_branch(std::size_t head, const std::string& reason) {
    std::vector<std::size_t> stack{head};
    while (!stack.empty()) {
      const std::size_t current = stack.back();
      stack.pop_back();
      for_each_child(current, [&](std::size_t child) { stack.push_back(child); });
      excluded_[current] = true;
      problems_.add(seq(current), ProblemKind::inserted,
                    current == head ? reason
                                    : fmt::format("it is chained to the inserted record at seq {}", seq(head)));
    }
  }

  bool gap_before(std::size_t position) const {
    return position == 0 ? seq(0) > 1 : seq(position) > seq(position - 1) + 1;
  }

  // A record chained to no record: explain the missing link once.
  void explain_unchained_records() {
    for (std::size_t root = 0; root < size_; ++root) {
      if (excluded_[root] || parent_[root] != unchained) continue;
      if (gap_before(root)) continue;  // a deletion, reported by report_gaps
      std::ptrdiff_t before = static_cast<std::ptrdiff_t>(root) - 1;
      while (before >= 0 && excluded_[static_cast<std::size_t>(before)]) --before;
      if (before < 0) {
        problems_.add(seq(root), ProblemKind::deleted,
                      "the chain does not start at the genesis hash and this record's previous_hash matches no "
                      "record: the records before it were deleted and the rest renumbered, or its "
                      "previous_hash was rewritten");
        continue;
      }
      const auto previous = static_cast<std::size_t>(before);
      if (next_[previous] >= 0) {
        // The record before it is chained onward elsewhere: this run was spliced in.
        const std::string reason =
            fmt::format("its previous_hash matches no record, and seq {} is followed in the chain by seq {}",
                        seq(previous), seq(static_cast<std::size_t>(next_[previous])));
        for (std::ptrdiff_t current = static_cast<std::ptrdiff_t>(root); current >= 0;) {
          const auto position = static_cast<std::size_t>(current);
          excluded_[position] = true;
          problems_.add(seq(position), ProblemKind::inserted,
                        position == root ? reason
                                         : fmt::format("it is chained to the inserted record at seq {}", seq(root)));
          current = next_[position];
        }
      } else if (!rows_[root].computed_hash.empty()) {
        // The unchained record was itself changed, so its previous_hash may be
        // what was changed. Still name this record: it may have been re-hashed.
        problems_.add(seq(previous), ProblemKind::modified,
                      fmt::format("the next record, seq {}, which was itself changed, is chained to a different "
                                  "hash: either seq {}'s previous_hash was changed, or this record was changed "
                                  "and its hash recomputed",
                                  seq(root), seq(root)));
      } else {
        // Nothing chains to this record, and the next one chains to no record.
        const bool root_is_last = root + 1 == size_;
        problems_.add(seq(previous), ProblemKind::modified,
                      fmt::format("the next record, seq {}, is chained to a different hash: this record was "
                                  "changed and its hash recomputed, or records after it were deleted and the "
                                  "rest renumbered{}",
                                  seq(root),
                                  root_is_last ? fmt::format(", or seq {} was added with a made-up previous_hash",
                                                             seq(root))
                                               : std::string()));
      }
    }
  }

  void report_gaps() {
    for (std::size_t position = 0; position < size_; ++position) {
      if (!gap_before(position)) continue;
      const std::int64_t first_missing = position == 0 ? 1 : seq(position - 1) + 1;
      const std::int64_t last_missing = seq(position) - 1;
      std::string text = last_missing == first_missing
                             ? fmt::format("seq {} is missing", first_missing)
                             : fmt::format("seqs {} to {} are missing ({} records)", first_missing, last_missing,
                                           last_missing - first_missing + 1);
      const std::ptrdiff_t parent = parent_[position];
      if (position > 0 && parent == static_cast<std::ptrdiff_t>(position - 1)) {
        text += fmt::format(", yet seq {} is chained straight to seq {}: the chain was re-hashed after the "
                            "deletion, or the rows were renumbered",
                            seq(position), seq(position - 1));
      } else if (position == 0 && parent == genesis) {
        text += fmt::format(", yet seq {} is chained to the genesis hash: the chain was re-hashed after the "
                            "deletion, or the rows were renumbered",
                            seq(position));
      } else if (parent == unchained && !excluded_[position]) {
        text += fmt::format(" (seq {}'s previous_hash matches no record)", seq(position));
      }
      problems_.add(first_missing, ProblemKind::deleted, std::move(text));
    }
  }

  // Orders the remaining records by the chain (from the genesis record, then
  // each unchained run in seq order) and reports those that a longest
  // increasing subsequence of positions leaves out: the fewest records whose
  // moving explains the order.
  void report_reordering() {
    std::vector<std::size_t> chain_order;
    chain_order.reserve(size_);
    std::vector<bool> placed(size_, false);
    auto walk = [&](std::ptrdiff_t start) {
      for (std::ptrdiff_t current = start; current >= 0 && !placed[static_cast<std::size_t>(current)];
           current = next_[static_cast<std::size_t>(current)]) {
        placed[static_cast<std::size_t>(current)] = true;
        chain_order.push_back(static_cast<std::size_t>(current));
      }
    };
    walk(next_[size_]);
    for (std::size_t position = 0; position < size_; ++position) {
      if (!excluded_[position] && !placed[position] && parent_[position] == unchained) walk(position);
    }
    for (std::size_t position = 0; position < size_; ++position) {  // only if something above is amiss
      if (!excluded_[position] && !placed[position]) walk(static_cast<std::ptrdiff_t>(position));
    }

    // The longest increasing subsequence of positions along chain_order; of
    // those, the one keeping most records whose rank in the chain is their
    // rank in seq order (so swapping 7 and 9 around 8 reports 7 and 9, not 8).
    // A Fenwick tree over positions gives the best subsequence ending below
    // each position in O(log n).
    struct Best {
      std::int64_t length = 0;
      std::int64_t in_place = 0;
      std::ptrdiff_t last = -1;  // index in chain_order
      bool operator<(const Best& other) const {
        return std::pair(length, in_place) < std::pair(other.length, other.in_place);
      }
    };
    std::vector<Best> tree(size_ + 1);
    auto best_below = [&tree](std::size_t position) {
      Best best;
      for (std::size_t index = position; index > 0; index -= index & (~index + 1)) {
        if (best < tree[index]) best = tree[index];
      }
      return best;
    };
    std::vector<std::size_t> rank_in_seq_order(size_, 0);
    for (std::size_t position = 0, rank = 0; position < size_; ++position) {
      if (!excluded_[position]) rank_in_seq_order[position] = rank++;
    }
    std::vector<std::ptrdiff_t> predecessor(chain_order.size(), -1);
    for (std::size_t index = 0; index < chain_order.size(); ++index) {
      const std::size_t position = chain_order[index];
      const Best before = best_below(position);
      predecessor[index] = before.last;
      const Best ending_here{before.length + 1, before.in_place + (rank_in_seq_order[position] == index ? 1 : 0),
                             static_cast<std::ptrdiff_t>(index)};
      for (std::size_t node = position + 1; node <= size_; node += node & (~node + 1)) {
        if (tree[node] < ending_here) tree[node] = ending_here;
      }
    }
    std::vector<bool> in_order(chain_order.size(), false);
    for (std::ptrdiff_t index = best_below(size_).last; index >= 0;
         index = predecessor[static_cast<std::size_t>(index)]) {
      in_order[static_cast<std::size_t>(index)] = true;
    }

    // One problem per block of moved records that are adjacent both in the
    // chain and in seq order.
    for (std::size_t index = 0; index < chain_order.size();) {
      if (in_order[index]) {
        ++index;
        continue;
      }
      std::size_t end = index + 1;
      while (end < chain_order.size() && !in_order[end] && chain_order[end] == chain_order[end - 1] + 1) ++end;
      const std::size_t first = chain_order[index];
      const std::size_t last = chain_order[end - 1];
      const bool one = first == last;
      const std::string moved =
          one ? std::string("it")
              : fmt::format("{} ({} records, moved together)", seq_range(seq(first), seq(last)), end - index);
      const std::string_view belongs = one ? "belongs" : "belong";
      const std::string_view whose = one ? "its" : "the first one's";
      const std::ptrdiff_t parent = parent_[first];
      std::string text;
      if (parent == genesis) {
        text = fmt::format("{} {} at the start of the chain: {} previous_hash is the genesis hash", moved, belongs,
                           whose);
      } else if (parent >= 0) {
        const std::int64_t parent_seq = seq(static_cast<std::size_t>(parent));
        text = fmt::format("{} {} right after seq {}: {} previous_hash is the hash of seq {}", moved, belongs,
                           parent_seq, whose, parent_seq);
      } else {
        text = fmt::format("{} {} elsewhere: {} stored out of chain order", moved, belongs, one ? "it is" : "they are");
      }
      problems_.add(seq(first), ProblemKind::reordered, std::move(text));
      index = end;
    }
  }

  const std::vector<ChainRow>& rows_;
  ProblemList& problems_;
  const std::size_t size_;
  std::vector<bool> excluded_;  // duplicates and inserted records: not part of the chain
  std::vector<std::ptrdiff_t> parent_;
  std::vector<bool> linked_via_computed_;
  std::vector<std::size_t> child_begin_;
  std::vector<std::size_t> children_;
  std::vector<bool> visited_;
  std::vector<std::size_t> order_;        // depth-first from the roots
  std::vector<std::int64_t> descendants_;  // including the record itself
  std::vector<std::ptrdiff_t> next_;      // the chain's successor of each node (size_: genesis), or -1
};

}  // namespace

// ------------------------------------------------------------- public API

std::string json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_json_string(out, text);
  return out;
}

std::string canonical_json(const AuditRecord& record) {
  std::string out;
  out.reserve(256 + record.detail.size());
  append_canonical_json(out, record);
  return out;
}

std::string chain_hash(const std::string& previous_hash_hex, const std::string& canonical) {
  ChainHasher hasher;
  return hasher.hash(previous_hash_hex, canonical);
}

std::filesystem::path database_path(const std::filesystem::path& data_dir) { return data_dir / "icegate.db"; }

std::string_view to_string(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::modified: return "modified";
    case ProblemKind::deleted: return "deleted";
    case ProblemKind::inserted: return "inserted";
    case ProblemKind::reordered: return "reordered";
  }
  return "unknown";
}

namespace {

void exec_schema(sqlite3* db, const char* sql, std::string_view what) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error != nullptr ? error : sqlite3_errmsg(db);
    sqlite3_free(error);
    throw std::runtime_error(fmt::format("audit: {}: {}", what, message));
  }
}

// Whether `table` has a column `column` (false if there is no such table).
bool has_column(sqlite3* db, std::string_view table, std::string_view column) {
  const Statement info = prepare(db, fmt::format("SELECT 1 FROM pragma_table_info('{}') WHERE name = ?1", table),
                                 "cannot read the audit table's columns");
  bind_text(info.get(), 1, column);
  return sqlite3_step(info.get()) == SQLITE_ROW;
}

}  // namespace

void create_schema(sqlite3* db) {
  // Message ids are random UUIDs chosen by the nodes. An index keyed on them
  // takes each new record to a random page, so every record of a commit
  // dirtied a page of its own (about 2 KB of WAL per message under W1).
  // Instead each message id is numbered in order of first use
  // (audit_messages.ref), records carry that number (message_ref), and the
  // index on it grows at its end. message_id stays in the row and in the
  // hashed record; message_ref is an index only (verify checks it agrees).
  static constexpr const char* tables = R"sql(
    CREATE TABLE IF NOT EXISTS audit(
      seq INTEGER PRIMARY KEY,
      time_unix_ms INTEGER NOT NULL,
      kind TEXT NOT NULL,
      node TEXT,
      recipient TEXT,
      message_id TEXT,
      decision TEXT,
      record TEXT NOT NULL,         -- canonical JSON, the hashed content
      previous_hash TEXT NOT NULL,
      hash TEXT NOT NULL,
      message_ref INTEGER);         -- audit_messages.ref of message_id; NULL if none
    CREATE TABLE IF NOT EXISTS audit_messages(ref INTEGER PRIMARY KEY, message_id TEXT NOT NULL);
  )sql";
  static constexpr const char* indexes = R"sql(
    CREATE INDEX IF NOT EXISTS audit_message_ref ON audit(message_ref);
    CREATE INDEX IF NOT EXISTS audit_node ON audit(node);
    CREATE INDEX IF NOT EXISTS audit_recipient ON audit(recipient);
    CREATE INDEX IF NOT EXISTS audit_time ON audit(time_unix_ms);
  )sql";
  // A trail written before message_ref existed gets the column, its numbers
  // and the new index in one step (a savepoint: the caller may have a
  // transaction open).
  static constexpr const char* upgrade = R"sql(
    SAVEPOINT audit_upgrade;
    ALTER TABLE audit ADD COLUMN message_ref INTEGER;
    INSERT INTO audit_messages(message_id)
      SELECT message_id FROM audit WHERE message_id IS NOT NULL GROUP BY message_id ORDER BY MIN(seq);
    CREATE INDEX audit_upgrade_message_id ON audit_messages(message_id);
    UPDATE audit SET message_ref = (SELECT ref FROM audit_messages WHERE audit_messages.message_id = audit.message_id)
      WHERE message_id IS NOT NULL;
    DROP INDEX audit_upgrade_message_id;
    DROP INDEX IF EXISTS audit_message_id;
    RELEASE audit_upgrade;
  )sql";
  exec_schema(db, tables, "cannot create the audit table");
  if (!has_column(db, "audit", "message_ref")) {
    try {
      exec_schema(db, upgrade, "cannot add message numbers to an existing audit table");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK TO audit_upgrade; RELEASE audit_upgrade", nullptr, nullptr, nullptr);
      throw;
    }
  }
  exec_schema(db, indexes, "cannot create the audit table's indexes");
}

// ------------------------------------------------------------- AuditChain

struct AuditChain::Writer {
  Statement insert;
  Statement insert_message;
  ChainHasher hasher;
  std::string canonical;  // reused: no allocation per append once it has grown
  // Recently numbered message ids, in two generations: a lookup finds the
  // current one or the previous (and moves the id forward); when the current
  // one is full it becomes the previous. At most 2 x capacity ids are kept.
  // An id forgotten and seen again gets a second number; queries look for
  // every number of an id.
  std::size_t capacity = 0;
  std::unordered_map<std::string, std::int64_t> current, previous;
};

AuditChain::AuditChain(sqlite3* db, std::size_t remembered_messages)
    : db_(db), head_(genesis_hash), writer_(std::make_unique<Writer>()) {
  writer_->insert = prepare(db_,
                            "INSERT INTO audit(seq, time_unix_ms, kind, node, recipient, message_id, decision, "
                            "record, previous_hash, hash, message_ref) "
                            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                            "cannot prepare the audit insert (call create_schema first)", SQLITE_PREPARE_PERSISTENT);
  writer_->insert_message = prepare(db_, "INSERT INTO audit_messages(message_id) VALUES(?1)",
                                    "cannot prepare the audit insert (call create_schema first)",
                                    SQLITE_PREPARE_PERSISTENT);
  writer_->capacity = std::max<std::size_t>(remembered_messages, 1);
  writer_->current.reserve(writer_->capacity);
  writer_->canonical.reserve(1024);
  reload_head();
}

std::int64_t AuditChain::message_ref(const std::string& message_id) {
  Writer& writer = *writer_;
  if (writer.current.size() >= writer.capacity) {
    writer.previous = std::move(writer.current);
    writer.current = {};
    writer.current.reserve(writer.capacity);
  }
  // One lookup when the id is known: most records are about a message
  // numbered a moment ago.
  const auto [slot, inserted] = writer.current.try_emplace(message_id, 0);
  if (!inserted) return slot->second;
  if (const auto found = writer.previous.find(message_id); found != writer.previous.end()) {
    slot->second = found->second;
    return slot->second;
  }
  sqlite3_stmt* insert = writer.insert_message.get();
  bind_text(insert, 1, message_id);
  const int result = sqlite3_step(insert);
  sqlite3_reset(insert);
  if (result != SQLITE_DONE) {
    writer.current.erase(slot);
    throw_sqlite_error(db_, "cannot number a message id");
  }
  slot->second = sqlite3_last_insert_rowid(db_);
  return slot->second;
}

AuditChain::~AuditChain() = default;

void AuditChain::reload_head() {
  // The most recently numbered messages, as stored: numbers given in a
  // transaction that rolled back are gone with it, and after a restart the
  // messages still in flight keep theirs.
  Writer& writer = *writer_;
  writer.current.clear();
  writer.previous.clear();
  const Statement recent =
      prepare(db_, "SELECT ref, message_id FROM audit_messages ORDER BY ref DESC LIMIT ?1",
              "cannot read the audit message numbers");
  sqlite3_bind_int64(recent.get(), 1, static_cast<std::int64_t>(writer.capacity));
  while (sqlite3_step(recent.get()) == SQLITE_ROW) {
    // Newest first: an id numbered twice (forgotten, then seen again) keeps
    // its later number.
    writer.current.emplace(column_text(recent.get(), 1), sqlite3_column_int64(recent.get(), 0));
  }
  const Statement last =
      prepare(db_, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", "cannot read the audit chain's head");
  const int result = sqlite3_step(last.get());
  if (result == SQLITE_ROW) {
    count_ = sqlite3_column_int64(last.get(), 0);
    head_.assign(column_text(last.get(), 1));
  } else if (result == SQLITE_DONE) {
    count_ = 0;
    head_.assign(genesis_hash);
  } else {
    throw_sqlite_error(db_, "cannot read the audit chain's head");
  }
}

void AuditChain::append(const AuditRecord& record) {
  Writer& writer = *writer_;
  writer.canonical.clear();
  append_canonical_json(writer.canonical, record);
  char hash[ChainHasher::hex_size];
  writer.hasher.hash(head_, writer.canonical, hash);

  sqlite3_stmt* insert = writer.insert.get();
  sqlite3_bind_int64(insert, 1, count_ + 1);
  sqlite3_bind_int64(insert, 2, record.time_unix_ms);
  bind_text(insert, 3, record.kind);
  bind_text_or_null(insert, 4, record.node);
  bind_text_or_null(insert, 5, record.recipient);
  bind_text_or_null(insert, 6, record.message_id);
  bind_text_or_null(insert, 7, record.decision);
  bind_text(insert, 8, writer.canonical);
  bind_text(insert, 9, head_);
  bind_text(insert, 10, std::string_view(hash, sizeof hash));
  if (record.message_id.empty()) {
    sqlite3_bind_null(insert, 11);
  } else {
    sqlite3_bind_int64(insert, 11, message_ref(record.message_id));
  }
  const int result = sqlite3_step(insert);
  if (result != SQLITE_DONE) {
    const std::string message = sqlite3_errmsg(db_);
    sqlite3_reset(insert);
    throw std::runtime_error(fmt::format("audit: cannot append record {}: {}", count_ + 1, message));
  }
  sqlite3_reset(insert);
  head_.assign(hash, sizeof hash);
  ++count_;
}

// ----------------------------------------------------------------- verify

VerifyReport verify(const std::filesystem::path& data_dir) {
  const Database db = open_read_only(data_dir);
  const bool numbered = has_column(db.get(), "audit", "message_ref");
  MessageNumbers numbers;
  if (numbered) {
    const Statement select_numbers =
        prepare(db.get(), "SELECT ref, message_id FROM audit_messages", "cannot read the audit message numbers");
    while (sqlite3_step(select_numbers.get()) == SQLITE_ROW) {
      numbers.emplace(sqlite3_column_int64(select_numbers.get(), 0), column_text(select_numbers.get(), 1));
    }
  }
  const Statement select =
      prepare(db.get(), select_columns(numbered) + " ORDER BY seq", "cannot read the audit table");

  ProblemList problems;
  std::vector<ChainRow> rows;
  ChainHasher hasher;
  AuditRecord parsed;
  std::string canonical;
  char computed[ChainHasher::hex_size];
  int result = SQLITE_ROW;
  while ((result = sqlite3_step(select.get())) == SQLITE_ROW) {
    sqlite3_stmt* row = select.get();
    ChainRow& chain_row = rows.emplace_back();
    chain_row.seq = sqlite3_column_int64(row, column_seq);
    chain_row.previous_hash = column_text(row, column_previous_hash);
    chain_row.hash = column_text(row, column_hash);
    const std::string_view record_text = column_text(row, column_record);

    // On its own: does the hash match the content, and the columns the JSON?
    hasher.hash(chain_row.previous_hash, record_text, computed);
    if (std::string_view(computed, sizeof computed) != chain_row.hash) {
      chain_row.computed_hash.assign(computed, sizeof computed);
      // If the record hashes correctly after the row before it, only its
      // previous_hash field was changed: link it where it was written.
      const std::string_view expected_previous =
          rows.size() == 1 ? genesis_hash : std::string_view(rows[rows.size() - 2].hash);
      hasher.hash(expected_previous, record_text, computed);
      if (std::string_view(computed, sizeof computed) == chain_row.hash) {
        chain_row.previous_hash_changed = true;
        chain_row.previous_hash.assign(expected_previous);
      }
    }
    chain_row.content_problems = check_content(row, record_text, parsed, canonical, numbered ? &numbers : nullptr);
  }
  if (result != SQLITE_DONE) throw_sqlite_error(db.get(), "cannot read the audit table");

  ChainAnalysis analysis(rows, problems);
  analysis.run();

  for (std::size_t position = 0; position < rows.size(); ++position) {
    const ChainRow& row = rows[position];
    std::string hash_problem;
    if (row.previous_hash_changed) {
      hash_problem = "its previous_hash was changed after it was written (its content and hash are intact)";
    } else if (!row.computed_hash.empty()) {
      hash_problem = analysis.linked_via_computed(position)
                         ? "its hash was changed after it was written (its content is intact)"
                         : "its hash does not match its content: the record was changed after it was written";
    }
    if (!hash_problem.empty()) problems.add(row.seq, ProblemKind::modified, std::move(hash_problem));
    if (!row.content_problems.empty()) problems.add(row.seq, ProblemKind::modified, row.content_problems);
  }

  VerifyReport report;
  report.records = static_cast<std::int64_t>(rows.size());
  report.head_hash = rows.empty() ? std::string(genesis_hash) : rows.back().hash;
  report.problems = std::move(problems).sorted();
  return report;
}

// ------------------------------------------------------------------ query

std::vector<StoredRecord> query(const std::filesystem::path& data_dir, const QueryFilter& filter) {
  const Database db = open_read_only(data_dir);
  const bool numbered = has_column(db.get(), "audit", "message_ref");
  std::string sql = select_columns(numbered);
  sql += " WHERE 1";
  if (filter.node) sql += " AND (node = :node OR recipient = :node)";
  if (filter.message_id) {
    // Found through its numbers (indexed), not by a scan of message_id.
    if (numbered) sql += " AND message_ref IN (SELECT ref FROM audit_messages WHERE message_id = :message_id)";
    sql += " AND message_id = :message_id";
  }
  if (filter.decision) sql += " AND decision = :decision";
  if (filter.kind) sql += " AND kind = :kind";
  if (filter.since_unix_ms) sql += " AND time_unix_ms >= :since";
  if (filter.until_unix_ms) sql += " AND time_unix_ms <= :until";
  sql += " ORDER BY seq";
  const Statement select = prepare(db.get(), sql, "cannot query the audit table");
  sqlite3_stmt* statement = select.get();
  auto bind = [statement](const char* name, const std::optional<std::string>& value) {
    if (value) bind_text(statement, sqlite3_bind_parameter_index(statement, name), *value);
  };
  bind(":node", filter.node);
  bind(":message_id", filter.message_id);
  bind(":decision", filter.decision);
  bind(":kind", filter.kind);
  if (filter.since_unix_ms) {
    sqlite3_bind_int64(statement, sqlite3_bind_parameter_index(statement, ":since"), *filter.since_unix_ms);
  }
  if (filter.until_unix_ms) {
    sqlite3_bind_int64(statement, sqlite3_bind_parameter_index(statement, ":until"), *filter.until_unix_ms);
  }

  std::vector<StoredRecord> records;
  int result = SQLITE_ROW;
  while ((result = sqlite3_step(statement)) == SQLITE_ROW) records.push_back(read_stored_record(statement));
  if (result != SQLITE_DONE) throw_sqlite_error(db.get(), "cannot read the audit table");
  return records;
}

// ---------------------------------------------------------------- output

void write_jsonl(std::ostream& out, const std::vector<StoredRecord>& records) {
  std::string line;
  for (const StoredRecord& stored : records) {
    line.clear();
    line += "{\"seq\":";
    line += std::to_string(stored.seq);
    line += ",\"hash\":";
    append_json_string(line, stored.hash);
    line += ",\"previous_hash\":";
    append_json_string(line, stored.previous_hash);
    line.push_back(',');
    const std::size_t fields_start = line.size();
    append_canonical_json(line, stored.record);
    line.erase(fields_start, 1);  // the record's own '{'
    line.push_back('\n');
    out << line;
  }
}

namespace {

// RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled.
void append_csv_field(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (const char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

void write_csv(std::ostream& out, const std::vector<StoredRecord>& records) {
  // RFC 4180 ends every record, the header included, with CRLF.
  out << "seq,time_unix_ms,time,kind,node,recipient,message_id,decision,rules,policy_version,detail,"
         "previous_hash,hash\r\n";
  std::string line;
  std::string joined;
  for (const StoredRecord& stored : records) {
    const AuditRecord& record = stored.record;
    line.clear();
    line += std::to_string(stored.seq);
    line.push_back(',');
    line += std::to_string(record.time_unix_ms);
    line.push_back(',');
    line += format_utc(record.time_unix_ms);
    for (const std::string* field : {&record.kind, &record.node, &record.recipient, &record.message_id,
                                     &record.decision}) {
      line.push_back(',');
      append_csv_field(line, *field);
    }
    joined.clear();
    for (std::size_t index = 0; index < record.rules.size(); ++index) {
      if (index > 0) joined.push_back(';');
      joined += record.rules[index];
    }
    line.push_back(',');
    append_csv_field(line, joined);
    line.push_back(',');
    append_csv_field(line, record.policy_version);
    joined.clear();
    append_detail_json(joined, record.detail);
    line.push_back(',');
    append_csv_field(line, joined);
    line.push_back(',');
    append_csv_field(line, stored.previous_hash);
    line.push_back(',');
    append_csv_field(line, stored.hash);
    line += "\r\n";
    out << line;
  }
}

namespace {

// A value for a text line: as it is when it is one plain word, else as a JSON
// string, so that spaces and control characters cannot break the line.
void append_text_value(std::string& out, std::string_view value) {
  const bool plain = !value.empty() && std::none_of(value.begin(), value.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f || c == '"' || c == '\\';
  });
  if (plain) {
    out.append(value);
  } else {
    append_json_string(out, value);
  }
}

}  // namespace

void write_text(std::ostream& out, const std::vector<StoredRecord>& records) {
  std::string line;
  for (const StoredRecord& stored : records) {
    const AuditRecord& record = stored.record;
    line = fmt::format("{:>6}  {}  {:<18}", stored.seq, format_utc(record.time_unix_ms), record.kind);
    auto field = [&line](std::string_view name, std::string_view value) {
      if (value.empty()) return;
      line.push_back(' ');
      line.append(name);
      line.push_back('=');
      append_text_value(line, value);
    };
    field("node", record.node);
    field("recipient", record.recipient);
    field("message", record.message_id);
    field("decision", record.decision);
    std::string rules;
    for (std::size_t index = 0; index < record.rules.size(); ++index) {
      if (index > 0) rules.push_back(',');
      rules += record.rules[index];
    }
    field("rules", rules);
    field("policy", record.policy_version);
    if (const auto object = json_object_text(record.detail)) {
      if (*object != "{}") {
        line.push_back(' ');
        // JSON allows raw white space between tokens (never inside strings):
        // flatten it so the record stays on one line.
        for (const char c : *object) line.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
      }
    } else {
      field("detail", record.detail);
    }
    line.push_back('\n');
    out << line;
  }
}

}  // namespace icegate::audit

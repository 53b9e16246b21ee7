// The output formats of `icegate audit query`: JSON lines, CSV and text, each
// written from stored records.
#include "gateway/audit/audit.hpp"

#include <algorithm>
#include <ostream>

#include <fmt/format.h>

#include "gateway/audit/canonical.hpp"
#include "gateway/model/clock.hpp"

namespace icegate::audit {

using namespace detail;

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
    line += format_utc(record.time_unix_ms, UtcStyle::iso_ms);
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
    line = fmt::format("{:>6}  {}  {:<18}", stored.seq, format_utc(record.time_unix_ms, UtcStyle::iso_ms), record.kind);
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

#include "tools/bench/store/records.hpp"

namespace icegate::bench::storebench {

namespace {

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_field(std::string& out, std::string_view field) {
  put_varint(out, field.size());
  out.append(field);
}

}  // namespace

std::string encode_message(const store::AcceptedMessage& message) {
  std::string out(1, 'M');
  put_field(out, message.id);
  put_field(out, message.originator);
  put_varint(out, static_cast<std::uint64_t>(message.accepted_unix_ms));
  return out;
}

std::string encode_outbox(const store::OutboxEntry& entry) {
  std::string out;
  out.reserve(entry.frame.size() + entry.outcome.size() + 128);
  out.push_back('O');
  put_varint(out, static_cast<std::uint64_t>(entry.seq));
  put_field(out, entry.node);
  put_field(out, entry.message_id);
  out.push_back(entry.needs_ack ? 1 : 0);
  put_varint(out, static_cast<std::uint64_t>(entry.not_after_unix_ms));
  put_field(out, entry.originator);
  put_field(out, entry.outcome);
  put_field(out, entry.frame);
  return out;
}

std::string encode_acks(const std::vector<Ack>& acks) {
  std::string out(1, 'K');
  for (const auto& ack : acks) put_varint(out, static_cast<std::uint64_t>(ack.seq));
  return out;
}

std::string AuditChainer::next(const audit::AuditRecord& record) {
  const std::string canonical = audit::canonical_json(record);
  head_ = audit::chain_hash(head_, canonical);
  ++count_;
  std::string out;
  out.reserve(1 + head_.size() + canonical.size());
  out.push_back('A');
  out.append(head_);
  out.append(canonical);
  return out;
}

std::string numbered_key(char prefix, std::uint64_t number) {
  std::string key(1, prefix);
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((number >> shift) & 0xff));
  return key;
}

}  // namespace icegate::bench::storebench

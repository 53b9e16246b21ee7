// How the key-value and log backends of store_bench write an Operation: the
// same content today's SQLite store holds (gateway/store), as byte strings.
// Audit records are hash-chained exactly as gateway/audit does (canonical
// JSON, SHA-256 over the previous hash and it), in commit order, so every
// backend pays the audit trail's own cost.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/audit/audit.hpp"
#include "gateway/store/store.hpp"
#include "tools/bench/store/backend.hpp"

namespace icegate::bench::storebench {

// Length-prefixed fields, one record kind per leading byte.
std::string encode_message(const store::AcceptedMessage& message);  // 'M'
std::string encode_outbox(const store::OutboxEntry& entry);         // 'O'
std::string encode_acks(const std::vector<Ack>& acks);              // 'K': the acked seqs

// The audit chain's head, advanced by each record in the order given.
class AuditChainer {
 public:
  // 'A' + the record's hash (64 hex) + its canonical JSON.
  std::string next(const audit::AuditRecord& record);
  std::uint64_t count() const { return count_; }

 private:
  std::string head_{audit::genesis_hash};
  std::uint64_t count_ = 0;
};

// A big-endian key: prefix byte then the number, so keys sort in number order.
std::string numbered_key(char prefix, std::uint64_t number);

}  // namespace icegate::bench::storebench

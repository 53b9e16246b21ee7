// What one operation of the router writes, committed together (Store::commit),
// and how it is written into the store's log: the encoding read back when the
// log is replayed after a crash (docs/STORE.md).
//
// The encoding is ours and versioned: a version byte (1), then each section of
// the Batch in the order of its fields, each a u32 count and its entries;
// strings are a u32 length and the bytes; integers little-endian. decode_batch
// checks every length against what is left, so no input makes it read out of
// bounds or allocate more than the input's size; it never throws on any input
// (fuzzed: tests/fuzz/fuzz_segment_reader).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/audit/audit.hpp"

namespace icegate::store {

// A frame the gateway owes a node, in the order it must be sent (seq).
struct OutboxEntry {
  std::int64_t seq = 0;
  std::string node;
  std::string message_id;
  // Deliver frames stay until the node acknowledges them; the rest (Receipts,
  // review requests) until they have been written to the node's connection.
  bool needs_ack = false;
  std::int64_t not_after_unix_ms = 0;  // 0: never expires
  std::string originator;              // for a Deliver: told if it expires unsent
  std::string outcome;                 // for a Deliver: the encoded RecipientOutcome
  std::string frame;                   // the framed bytes to send
};

struct AcceptedMessage {
  std::string id;
  std::string originator;
  std::int64_t accepted_unix_ms = 0;
};

struct StoredBlob {
  std::string key;
  std::string value;
};

struct OccasionalUse {
  std::string node;
  std::int64_t time_unix_ms = 0;
};

struct TriggeredEvent {
  std::string name;
  std::string node;
  std::int64_t time_unix_ms = 0;
};

// Everything one operation of the router writes, committed together.
struct Batch {
  std::vector<AcceptedMessage> messages;
  std::vector<OutboxEntry> outbox;                              // seq already assigned
  std::vector<std::pair<std::string, std::string>> acked;       // (node, message_id)
  std::vector<std::int64_t> sent;                               // non-ack entries written
  std::vector<StoredBlob> holds_put;                            // key = hold id
  std::vector<std::string> holds_removed;
  std::vector<StoredBlob> controlled_put;                       // key = message id
  std::vector<TriggeredEvent> events;
  std::vector<OccasionalUse> occasional;
  std::vector<audit::AuditRecord> audit;

  bool empty() const;
};

inline constexpr std::uint8_t batch_encoding_version = 1;

// Appends the batch's encoding to `out`.
void encode_batch(const Batch& batch, std::string& out);
// Reads a batch back: nullopt and `why` (e.g. "outbox entry 3: the frame's
// length 70000 runs past the end (2 bytes left)") if the bytes are not one.
std::optional<Batch> decode_batch(std::string_view bytes, std::string* why = nullptr);

}  // namespace icegate::store

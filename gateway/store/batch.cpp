#include "gateway/store/batch.hpp"

#include <fmt/format.h>

namespace icegate::store {

bool Batch::empty() const {
  return messages.empty() && outbox.empty() && acked.empty() && sent.empty() && holds_put.empty() &&
         holds_removed.empty() && controlled_put.empty() && events.empty() && occasional.empty() && audit.empty();
}

namespace {

void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}
void put_i64(std::string& out, std::int64_t value) {
  const auto bits = static_cast<std::uint64_t>(value);
  for (int shift = 0; shift < 64; shift += 8) out.push_back(static_cast<char>((bits >> shift) & 0xff));
}
void put_string(std::string& out, std::string_view text) {
  put_u32(out, static_cast<std::uint32_t>(text.size()));
  out.append(text);
}
template <typename T, typename Put>
void put_all(std::string& out, const std::vector<T>& items, Put put) {
  put_u32(out, static_cast<std::uint32_t>(items.size()));
  for (const auto& item : items) put(item);
}

// Reads what encode_batch wrote; the first problem stops it and is kept.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool ok() const { return why_.empty(); }
  const std::string& why() const { return why_; }
  bool at_end() const { return bytes_.empty(); }
  void context(std::string where) { where_ = std::move(where); }

  std::uint8_t u8(std::string_view what) {
    if (!need(1, what)) return 0;
    const auto value = static_cast<std::uint8_t>(bytes_[0]);
    bytes_.remove_prefix(1);
    return value;
  }
  std::uint32_t u32(std::string_view what) {
    if (!need(4, what)) return 0;
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value |= std::uint32_t{static_cast<unsigned char>(bytes_[static_cast<std::size_t>(i)])} << (8 * i);
    bytes_.remove_prefix(4);
    return value;
  }
  std::int64_t i64(std::string_view what) {
    if (!need(8, what)) return 0;
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value |= std::uint64_t{static_cast<unsigned char>(bytes_[static_cast<std::size_t>(i)])} << (8 * i);
    bytes_.remove_prefix(8);
    return static_cast<std::int64_t>(value);
  }
  std::string text(std::string_view what) {
    const std::uint32_t length = u32(what);
    if (!ok()) return {};
    if (length > bytes_.size()) {
      fail(fmt::format("{}'s length {} runs past the end ({} byte(s) left)", what, length, bytes_.size()));
      return {};
    }
    std::string value(bytes_.substr(0, length));
    bytes_.remove_prefix(length);
    return value;
  }
  // A section's count: each entry takes at least `min_bytes`, so a count the
  // rest of the bytes cannot hold is damage, not a reason to allocate.
  std::size_t count(std::string_view section, std::size_t min_bytes) {
    const std::uint32_t n = u32(section);
    if (ok() && std::uint64_t{n} * min_bytes > bytes_.size()) {
      fail(fmt::format("{}: {} entries cannot fit in the {} byte(s) left", section, n, bytes_.size()));
      return 0;
    }
    return n;
  }
  void fail(std::string why) {
    if (!why_.empty()) return;
    why_ = where_.empty() ? std::move(why) : fmt::format("{}: {}", where_, why);
  }

 private:
  bool need(std::size_t size, std::string_view what) {
    if (!ok()) return false;
    if (bytes_.size() >= size) return true;
    fail(fmt::format("{} is cut short ({} byte(s) left, {} needed)", what, bytes_.size(), size));
    return false;
  }
  std::string_view bytes_;
  std::string why_;
  std::string where_;
};

// Reads `n` entries of a section with `read_one`, naming the entry on a problem.
template <typename T, typename ReadOne>
void read_all(Reader& in, std::string_view section, std::size_t min_bytes, std::vector<T>& items, ReadOne read_one) {
  const std::size_t n = in.count(section, min_bytes);
  items.reserve(n);
  for (std::size_t i = 0; i < n && in.ok(); ++i) {
    in.context(fmt::format("{} entry {}", section, i + 1));
    items.push_back(read_one());
  }
  in.context({});
}

}  // namespace

void encode_batch(const Batch& batch, std::string& out) {
  out.push_back(static_cast<char>(batch_encoding_version));
  put_all(out, batch.messages, [&](const AcceptedMessage& m) {
    put_string(out, m.id);
    put_string(out, m.originator);
    put_i64(out, m.accepted_unix_ms);
  });
  put_all(out, batch.outbox, [&](const OutboxEntry& e) {
    put_i64(out, e.seq);
    put_string(out, e.node);
    put_string(out, e.message_id);
    out.push_back(e.needs_ack ? 1 : 0);
    put_i64(out, e.not_after_unix_ms);
    put_string(out, e.originator);
    put_string(out, e.outcome);
    put_string(out, e.frame);
  });
  put_all(out, batch.acked, [&](const std::pair<std::string, std::string>& a) {
    put_string(out, a.first);
    put_string(out, a.second);
  });
  put_all(out, batch.sent, [&](std::int64_t seq) { put_i64(out, seq); });
  put_all(out, batch.holds_put, [&](const StoredBlob& b) {
    put_string(out, b.key);
    put_string(out, b.value);
  });
  put_all(out, batch.holds_removed, [&](const std::string& id) { put_string(out, id); });
  put_all(out, batch.controlled_put, [&](const StoredBlob& b) {
    put_string(out, b.key);
    put_string(out, b.value);
  });
  put_all(out, batch.events, [&](const TriggeredEvent& e) {
    put_string(out, e.name);
    put_string(out, e.node);
    put_i64(out, e.time_unix_ms);
  });
  put_all(out, batch.occasional, [&](const OccasionalUse& o) {
    put_string(out, o.node);
    put_i64(out, o.time_unix_ms);
  });
  put_all(out, batch.audit, [&](const audit::AuditRecord& r) {
    put_i64(out, r.time_unix_ms);
    put_string(out, r.kind);
    put_string(out, r.node);
    put_string(out, r.recipient);
    put_string(out, r.message_id);
    put_string(out, r.decision);
    put_all(out, r.rules, [&](const std::string& rule) { put_string(out, rule); });
    put_string(out, r.policy_version);
    put_string(out, r.detail);
  });
}

std::optional<Batch> decode_batch(std::string_view bytes, std::string* why) {
  Reader in(bytes);
  Batch batch;
  const std::uint8_t version = in.u8("the version");
  if (in.ok() && version != batch_encoding_version)
    in.fail(fmt::format("encoding version {} is not one this icegate reads (it reads {})", version,
                        batch_encoding_version));
  if (in.ok()) {
    read_all(in, "messages", 16, batch.messages, [&] {
      AcceptedMessage m;
      m.id = in.text("the id");
      m.originator = in.text("the originator");
      m.accepted_unix_ms = in.i64("the time");
      return m;
    });
    read_all(in, "outbox", 37, batch.outbox, [&] {
      OutboxEntry e;
      e.seq = in.i64("the seq");
      e.node = in.text("the node");
      e.message_id = in.text("the message id");
      const std::uint8_t needs_ack = in.u8("needs_ack");
      if (needs_ack > 1) in.fail(fmt::format("needs_ack is {}, not 0 or 1", needs_ack));
      e.needs_ack = needs_ack == 1;
      e.not_after_unix_ms = in.i64("the expiry");
      e.originator = in.text("the originator");
      e.outcome = in.text("the outcome");
      e.frame = in.text("the frame");
      return e;
    });
    read_all(in, "acked", 8, batch.acked, [&] {
      std::string node = in.text("the node");
      std::string message_id = in.text("the message id");
      return std::make_pair(std::move(node), std::move(message_id));
    });
    read_all(in, "sent", 8, batch.sent, [&] { return in.i64("the seq"); });
    read_all(in, "holds_put", 8, batch.holds_put, [&] {
      StoredBlob b;
      b.key = in.text("the hold id");
      b.value = in.text("the hold");
      return b;
    });
    read_all(in, "holds_removed", 4, batch.holds_removed, [&] { return in.text("the hold id"); });
    read_all(in, "controlled_put", 8, batch.controlled_put, [&] {
      StoredBlob b;
      b.key = in.text("the message id");
      b.value = in.text("the record");
      return b;
    });
    read_all(in, "events", 16, batch.events, [&] {
      TriggeredEvent e;
      e.name = in.text("the name");
      e.node = in.text("the node");
      e.time_unix_ms = in.i64("the time");
      return e;
    });
    read_all(in, "occasional", 12, batch.occasional, [&] {
      OccasionalUse o;
      o.node = in.text("the node");
      o.time_unix_ms = in.i64("the time");
      return o;
    });
    read_all(in, "audit", 40, batch.audit, [&] {
      audit::AuditRecord r;
      r.time_unix_ms = in.i64("the time");
      r.kind = in.text("the kind");
      r.node = in.text("the node");
      r.recipient = in.text("the recipient");
      r.message_id = in.text("the message id");
      r.decision = in.text("the decision");
      const std::size_t rules = in.count("the rules", 4);
      for (std::size_t i = 0; i < rules && in.ok(); ++i) r.rules.push_back(in.text("a rule"));
      r.policy_version = in.text("the policy version");
      r.detail = in.text("the detail");
      return r;
    });
  }
  if (in.ok() && !in.at_end()) in.fail("bytes are left over after the last section");
  if (!in.ok()) {
    if (why) *why = in.why();
    return std::nullopt;
  }
  return batch;
}

}  // namespace icegate::store

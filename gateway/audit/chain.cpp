// The hash chain's writer: AuditChain appends records inside the caller's
// transaction, numbering message ids for the index, and chain_hash is the
// public form of the hash each record carries.
#include "gateway/audit/audit.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <sqlite3.h>

#include "gateway/audit/canonical.hpp"
#include "gateway/audit/chain_hasher.hpp"
#include "gateway/audit/database.hpp"

namespace icegate::audit {

using namespace detail;

std::string chain_hash(const std::string& previous_hash_hex, const std::string& canonical) {
  ChainHasher hasher;
  return hasher.hash(previous_hash_hex, canonical);
}

struct AuditChain::Writer {
  explicit Writer(const sqlite::Connection& db)
      : insert(db,
               "INSERT INTO audit(seq, time_unix_ms, kind, node, recipient, message_id, decision, "
               "record, previous_hash, hash, message_ref) "
               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
               audit_errors, prepare_what, SQLITE_PREPARE_PERSISTENT),
        insert_message(db, "INSERT INTO audit_messages(message_id) VALUES(?1)", audit_errors, prepare_what,
                       SQLITE_PREPARE_PERSISTENT),
        block(db,
              "INSERT INTO audit_blocks(first_seq, last_seq, min_time, max_time) "
              "SELECT ?1 + 1, ?2, min(time_unix_ms), max(time_unix_ms) FROM audit WHERE seq > ?1 AND seq <= ?2",
              audit_errors, prepare_what, SQLITE_PREPARE_PERSISTENT),
        // UNION, not UNION ALL: each party once a block, sorted.
        block_parties(db,
                      "INSERT INTO audit_block_parties(party, first_seq) "
                      "SELECT node, ?1 + 1 FROM audit WHERE seq > ?1 AND seq <= ?2 AND node IS NOT NULL "
                      "UNION SELECT recipient, ?1 + 1 FROM audit WHERE seq > ?1 AND seq <= ?2 AND recipient IS NOT NULL",
                      audit_errors, prepare_what, SQLITE_PREPARE_PERSISTENT) {}
  static constexpr std::string_view prepare_what = "cannot prepare the audit insert (call create_schema first)";

  sqlite::Statement insert;
  sqlite::Statement insert_message;
  sqlite::Statement block;
  sqlite::Statement block_parties;
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

AuditChain::AuditChain(const sqlite::Connection& db, std::size_t remembered_messages)
    : db_(db), head_(genesis_hash), writer_(std::make_unique<Writer>(db)) {
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
  try {
    writer.insert_message.bind(1, message_id).run("cannot number a message id");
  } catch (...) {
    writer.current.erase(slot);
    throw;
  }
  slot->second = db_.last_insert_rowid();
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
  static constexpr std::string_view reading_numbers = "cannot read the audit message numbers";
  sqlite::Statement recent(db_, "SELECT ref, message_id FROM audit_messages ORDER BY ref DESC LIMIT ?1",
                           audit_errors, reading_numbers);
  recent.bind(1, static_cast<std::int64_t>(writer.capacity));
  while (recent.next(reading_numbers)) {
    // Newest first: an id numbered twice (forgotten, then seen again) keeps
    // its later number.
    writer.current.emplace(recent.text_view(1), recent.integer(0));
  }
  static constexpr std::string_view reading_head = "cannot read the audit chain's head";
  sqlite::Statement last(db_, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", audit_errors, reading_head);
  indexed_ = blocks_through(db_).value_or(0);
  if (last.next(reading_head)) {
    count_ = last.integer(0);
    head_.assign(last.text_view(1));
  } else {
    count_ = 0;
    head_.assign(genesis_hash);
  }
}

void AuditChain::append(const AuditRecord& record) {
  Writer& writer = *writer_;
  writer.canonical.clear();
  append_canonical_json(writer.canonical, record);
  char hash[ChainHasher::hex_size];
  writer.hasher.hash(head_, writer.canonical, hash);

  writer.insert.bind(1, count_ + 1)
      .bind(2, record.time_unix_ms)
      .bind(3, record.kind)
      .bind_or_null(4, record.node)
      .bind_or_null(5, record.recipient)
      .bind_or_null(6, record.message_id)
      .bind_or_null(7, record.decision)
      .bind(8, writer.canonical)
      .bind(9, head_)
      .bind(10, std::string_view(hash, sizeof hash));
  if (record.message_id.empty()) {
    writer.insert.bind_null(11);
  } else {
    writer.insert.bind(11, message_ref(record.message_id));
  }
  writer.insert.run([this] { return fmt::format("cannot append record {}", count_ + 1); });
  head_.assign(hash, sizeof hash);
  ++count_;
}

std::int64_t AuditChain::index_blocks(std::int64_t limit) {
  const std::int64_t through = std::min(count_, indexed_ + std::max<std::int64_t>(limit, 0));
  if (through <= indexed_) return 0;
  Writer& writer = *writer_;
  const auto what = [this, through] {
    return fmt::format("cannot make a block of records {} to {}", indexed_ + 1, through);
  };
  writer.block.bind(1, indexed_).bind(2, through).run(what);
  writer.block_parties.bind(1, indexed_).bind(2, through).run(what);
  const std::int64_t indexed = through - indexed_;
  indexed_ = through;
  return indexed;
}

}  // namespace icegate::audit

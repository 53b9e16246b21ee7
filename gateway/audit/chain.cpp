// The hash chain's writer: AuditChain appends records inside the caller's
// transaction, numbering message ids for the index, and chain_hash is the
// public form of the hash each record carries.
#include "gateway/audit/audit.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

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

}  // namespace icegate::audit

// The hash chain's writer: AuditChain appends records inside the caller's
// transaction and summarises them in blocks for the readers, and chain_hash is
// the public form of the hash each record carries.
#include "gateway/audit/audit.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <sqlite3.h>

#include "gateway/audit/canonical.hpp"
#include "gateway/audit/chain_hasher.hpp"
#include "gateway/audit/database.hpp"
#include "gateway/model/bloom.hpp"

namespace icegate::audit {

using namespace detail;

namespace {
// A block's filter of message ids: 16 bits an id, so that an id not in the
// block is answered "maybe" about once in 1,500 (bloom::expected_false_positive_rate).
constexpr std::size_t block_filter_bits_per_id = 16;
}  // namespace

std::string chain_hash(const std::string& previous_hash_hex, const std::string& canonical) {
  ChainHasher hasher;
  return hasher.hash(previous_hash_hex, canonical);
}

struct AuditChain::Writer {
  explicit Writer(const sqlite::Connection& db)
      : insert(db,
               "INSERT INTO audit(seq, time_unix_ms, kind, node, recipient, message_id, decision, "
               "record, previous_hash, hash) "
               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
               audit_errors, prepare_what, SQLITE_PREPARE_PERSISTENT),
        block_records(db, "SELECT time_unix_ms, node, recipient, message_id FROM audit WHERE seq > ?1 AND seq <= ?2",
                      audit_errors, prepare_what, SQLITE_PREPARE_PERSISTENT),
        block(db, "INSERT INTO audit_blocks(first_seq, last_seq, min_time, max_time, messages) VALUES(?1, ?2, ?3, ?4, ?5)",
              audit_errors, prepare_what, SQLITE_PREPARE_PERSISTENT),
        block_party(db, "INSERT INTO audit_block_parties(party, first_seq) VALUES(?1, ?2)", audit_errors, prepare_what,
                    SQLITE_PREPARE_PERSISTENT) {}
  static constexpr std::string_view prepare_what = "cannot prepare the audit statements (call create_schema first)";

  sqlite::Statement insert;
  sqlite::Statement block_records;
  sqlite::Statement block;
  sqlite::Statement block_party;
  ChainHasher hasher;
  std::string canonical;  // reused: no allocation per append once it has grown
  std::vector<std::string> parties, message_ids;  // reused by index_blocks
};

AuditChain::AuditChain(const sqlite::Connection& db)
    : db_(db), head_(genesis_hash), writer_(std::make_unique<Writer>(db)) {
  writer_->canonical.reserve(1024);
  reload_head();
}

AuditChain::~AuditChain() = default;

void AuditChain::reload_head() {
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
  writer.insert.run([this] { return fmt::format("cannot append record {}", count_ + 1); });
  head_.assign(hash, sizeof hash);
  ++count_;
}

std::int64_t AuditChain::index_blocks(std::int64_t limit) {
  const std::int64_t through = std::min(count_, indexed_ + std::max<std::int64_t>(limit, 0));
  if (through <= indexed_) return 0;
  Writer& writer = *writer_;
  const std::string what = fmt::format("cannot make a block of records {} to {}", indexed_ + 1, through);
  // The block's records, read back once (their pages are in the cache):
  // nothing is kept per record until then. Parties and ids are sorted and
  // made unique here, not by SQL (a DISTINCT or UNION costs SQLite a
  // temporary B-tree insert per row).
  std::int64_t min_time = 0, max_time = 0;
  writer.parties.clear();
  writer.message_ids.clear();
  auto& records = writer.block_records;
  records.bind(1, indexed_).bind(2, through);
  try {
    for (bool first = true; records.next(what); first = false) {
      const std::int64_t time = records.integer(0);
      min_time = first ? time : std::min(min_time, time);
      max_time = first ? time : std::max(max_time, time);
      for (const int column : {1, 2})
        if (const std::string_view party = records.text_view(column); !party.empty()) writer.parties.emplace_back(party);
      if (const std::string_view id = records.text_view(3); !id.empty()) writer.message_ids.emplace_back(id);
    }
  } catch (...) {
    records.reset();
    throw;
  }
  records.reset();
  const auto sort_unique = [](std::vector<std::string>& values) {
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
  };
  sort_unique(writer.parties);
  sort_unique(writer.message_ids);
  bloom::Bytes messages(bloom::Bytes::size_for(writer.message_ids.size(), block_filter_bits_per_id));
  for (const std::string& id : writer.message_ids) messages.add(id);
  writer.block.bind(1, indexed_ + 1)
      .bind(2, through)
      .bind(3, min_time)
      .bind(4, max_time)
      .bind_blob(5, messages.bytes())
      .run(what);
  for (const std::string& party : writer.parties) writer.block_party.bind(1, party).bind(2, indexed_ + 1).run(what);
  const std::int64_t indexed = through - indexed_;
  indexed_ = through;
  return indexed;
}

}  // namespace icegate::audit

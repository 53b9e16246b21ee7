// store_bench's RocksDB candidate (Debian's librocksdb-dev): every batch one
// WriteBatch written with WriteOptions::sync (the WAL fsynced before the
// write returns), enable_pipelined_write, two writer threads so that one
// batch's WAL write and memtable insert overlap the other's. Keys sort by
// kind then number; an acknowledged outbox entry is deleted (a tombstone,
// which flush and compaction then apply).
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <stdexcept>

#include "tools/bench/store/group_commit.hpp"

namespace icegate::bench::storebench {

namespace {

class RocksDbBackend final : public GroupCommitBackend {
 public:
  explicit RocksDbBackend(const std::filesystem::path& dir) {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.enable_pipelined_write = true;
    options.IncreaseParallelism(2);  // flushes and compactions on the machine's two cores
    rocksdb::DB* db = nullptr;
    const rocksdb::Status status = rocksdb::DB::Open(options, dir.string(), &db);
    if (!status.ok()) throw std::runtime_error("rocksdb: cannot open " + dir.string() + ": " + status.ToString());
    db_.reset(db);
    write_options_.sync = true;
    start(2);
  }
  ~RocksDbBackend() override {
    stop();
    db_->Close();
  }

 private:
  bool write_batch(const Formed& formed) override {
    rocksdb::WriteBatch batch;
    std::uint64_t audit_number = formed.first_audit;
    std::size_t audit_index = 0;
    for (const auto& operation : formed.operations) {
      for (const auto& message : operation.messages) batch.Put("m" + message.id, encode_message(message));
      for (const auto& entry : operation.outbox)
        batch.Put(numbered_key('o', static_cast<std::uint64_t>(entry.seq)), encode_outbox(entry));
      for (std::size_t i = 0; i < operation.audit.size(); ++i)
        batch.Put(numbered_key('a', audit_number++), formed.audit_values[audit_index++]);
      for (const auto& ack : operation.acks) batch.Delete(numbered_key('o', static_cast<std::uint64_t>(ack.seq)));
    }
    return db_->Write(write_options_, &batch).ok();
  }

  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions write_options_;
};

}  // namespace

std::unique_ptr<Backend> make_rocksdb_backend(const std::filesystem::path& dir) {
  return std::make_unique<RocksDbBackend>(dir);
}

}  // namespace icegate::bench::storebench

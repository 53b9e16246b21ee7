// store_bench's LMDB candidate (Debian's liblmdb-dev), durable: no
// MDB_NOSYNC, MDB_NOMETASYNC or MDB_WRITEMAP, so each commit writes its
// pages, syncs them, writes the meta page and syncs again. One writer thread
// (LMDB allows one write transaction at a time); every batch one write
// transaction. An acknowledged outbox entry is deleted (its pages freed for
// reuse).
#include <lmdb.h>

#include <stdexcept>
#include <string>

#include "tools/bench/store/group_commit.hpp"

namespace icegate::bench::storebench {

namespace {

void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) throw std::runtime_error(std::string("lmdb: ") + what + ": " + mdb_strerror(rc));
}

MDB_val value_of(const std::string& bytes) { return {bytes.size(), const_cast<char*>(bytes.data())}; }

class LmdbBackend final : public GroupCommitBackend {
 public:
  explicit LmdbBackend(const std::filesystem::path& dir) {
    check(mdb_env_create(&env_), "mdb_env_create");
    check(mdb_env_set_mapsize(env_, std::size_t{16} << 30), "mdb_env_set_mapsize");  // sparse: the file grows as used
    check(mdb_env_open(env_, dir.c_str(), MDB_NOTLS, 0644), ("mdb_env_open " + dir.string()).c_str());
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "mdb_txn_begin");
    check(mdb_dbi_open(txn, nullptr, 0, &dbi_), "mdb_dbi_open");
    check(mdb_txn_commit(txn), "mdb_txn_commit");
    start(1);
  }
  ~LmdbBackend() override {
    stop();
    mdb_dbi_close(env_, dbi_);
    mdb_env_close(env_);
  }

 private:
  bool write_batch(const Formed& formed) override {
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env_, nullptr, 0, &txn) != MDB_SUCCESS) return false;
    auto put = [&](const std::string& key, const std::string& value) {
      MDB_val k = value_of(key), v = value_of(value);
      return mdb_put(txn, dbi_, &k, &v, 0) == MDB_SUCCESS;
    };
    bool ok = true;
    std::uint64_t audit_number = formed.first_audit;
    std::size_t audit_index = 0;
    for (const auto& operation : formed.operations) {
      for (const auto& message : operation.messages) ok = ok && put("m" + message.id, encode_message(message));
      for (const auto& entry : operation.outbox)
        ok = ok && put(numbered_key('o', static_cast<std::uint64_t>(entry.seq)), encode_outbox(entry));
      for (std::size_t i = 0; i < operation.audit.size(); ++i)
        ok = ok && put(numbered_key('a', audit_number++), formed.audit_values[audit_index++]);
      for (const auto& ack : operation.acks) {
        const std::string key = numbered_key('o', static_cast<std::uint64_t>(ack.seq));
        MDB_val k = value_of(key);
        ok = ok && mdb_del(txn, dbi_, &k, nullptr) == MDB_SUCCESS;
      }
    }
    if (!ok) {
      mdb_txn_abort(txn);
      return false;
    }
    return mdb_txn_commit(txn) == MDB_SUCCESS;
  }

  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_lmdb_backend(const std::filesystem::path& dir) {
  return std::make_unique<LmdbBackend>(dir);
}

}  // namespace icegate::bench::storebench

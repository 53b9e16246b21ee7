// The group commit store_bench gives the key-value candidates (RocksDB,
// LMDB), as the gateway's store does for SQLite: whatever is queued when a
// writer thread comes for work is one batch, written with one synced commit.
// With more than one writer thread, batch N+1 is formed and written while
// batch N is being synced (RocksDB's pipelined write then joins their WAL
// writes); LMDB has one writer at a time, so it gets one thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tools/bench/store/backend.hpp"
#include "tools/bench/store/records.hpp"

namespace icegate::bench::storebench {

class GroupCommitBackend : public Backend {
 public:
  void commit(Operation operation, std::function<void(bool)> done) override;
  void flush() override;
  std::uint64_t syncs() const override;

 protected:
  // A batch as a writer thread hands it to write_batch: the operations, and
  // each audit record already chained (in `audit_values`, in order, the first
  // numbered `first_audit`).
  struct Formed {
    std::vector<Operation> operations;
    std::vector<std::string> audit_values;
    std::uint64_t first_audit = 0;
  };
  // Starts the writer threads; the derived class calls it once it is ready,
  // and stop() in its destructor before it tears anything down.
  void start(int writers);
  void stop();
  // Writes one batch with a synced commit; false if it failed.
  virtual bool write_batch(const Formed& batch) = 0;

 private:
  struct Pending {
    Operation operation;
    std::function<void(bool)> done;
  };
  void writer_loop();

  std::mutex form_mutex_;  // held while a writer takes its batch and chains its audit records, so chain order is batch order
  AuditChainer chainer_;   // guarded by form_mutex_

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable queued_;
  std::condition_variable idle_;
  std::deque<Pending> queue_;
  std::size_t in_flight_ = 0;
  std::uint64_t syncs_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> writers_;
};

}  // namespace icegate::bench::storebench

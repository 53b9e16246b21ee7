// store_bench's baseline: today's store itself (gateway/store: SQLite in WAL
// mode, one writer thread, group commit, the audit chain in the same
// transaction, each group made durable by the syncer's fdatasync of the WAL
// before its callbacks while the writer commits the next). Completions are
// posted to an io_context of ours, as the gateway's are to its io thread.
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "tools/bench/store/backend.hpp"

namespace icegate::bench::storebench {

namespace {

class SqliteBackend final : public Backend {
 public:
  explicit SqliteBackend(const std::filesystem::path& dir)
      : store_(dir, store::StoreOptions{.synchronous_full = true}), work_(io_.get_executor()) {
    store_.recover();
    completions_ = std::thread([this] { io_.run(); });
  }
  ~SqliteBackend() override {
    store_.flush();
    work_.reset();
    completions_.join();
  }

  void commit(Operation operation, std::function<void(bool)> done) override {
    store::Batch batch;
    batch.messages = std::move(operation.messages);
    batch.outbox = std::move(operation.outbox);
    batch.audit = std::move(operation.audit);
    for (const auto& ack : operation.acks) batch.settled.push_back(ack.seq);
    store_.commit(std::move(batch), io_.get_executor(), std::move(done));
  }
  void flush() override { store_.flush(); }
  std::uint64_t syncs() const override { return store_.stats().syncs; }  // fdatasyncs, each covering 1+ commits

 private:
  store::Store store_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread completions_;
};

}  // namespace

std::unique_ptr<Backend> make_sqlite_backend(const std::filesystem::path& dir) {
  return std::make_unique<SqliteBackend>(dir);
}

}  // namespace icegate::bench::storebench

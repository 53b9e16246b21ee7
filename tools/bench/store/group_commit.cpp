#include "tools/bench/store/group_commit.hpp"

namespace icegate::bench::storebench {

void GroupCommitBackend::commit(Operation operation, std::function<void(bool)> done) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back({std::move(operation), std::move(done)});
  }
  queued_.notify_one();
}

void GroupCommitBackend::flush() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && in_flight_ == 0; });
}

std::uint64_t GroupCommitBackend::syncs() const {
  std::lock_guard lock(mutex_);
  return syncs_;
}

void GroupCommitBackend::start(int writers) {
  for (int i = 0; i < writers; ++i) writers_.emplace_back([this] { writer_loop(); });
}

void GroupCommitBackend::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  for (auto& writer : writers_) writer.join();
  writers_.clear();
}

void GroupCommitBackend::writer_loop() {
  while (true) {
    std::vector<Pending> work;
    Formed formed;
    {
      std::lock_guard form(form_mutex_);
      {
        std::unique_lock lock(mutex_);
        queued_.wait(lock, [this] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) break;
        while (!queue_.empty()) {
          work.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        in_flight_ += work.size();
      }
      formed.first_audit = chainer_.count() + 1;
      for (auto& pending : work) {
        for (const auto& record : pending.operation.audit) formed.audit_values.push_back(chainer_.next(record));
        formed.operations.push_back(std::move(pending.operation));
      }
    }
    const bool ok = write_batch(formed);
    for (auto& pending : work) pending.done(ok);
    {
      std::lock_guard lock(mutex_);
      in_flight_ -= work.size();
      syncs_ += 1;
    }
    idle_.notify_all();
  }
}

}  // namespace icegate::bench::storebench

// store_bench's own candidate: the segment log (gateway/store/segment_log),
// every operation its records appended at once (message, outbox entries,
// chained audit records; or one record of acknowledged seqs), made durable by
// the log's pipelined group commit (one fdatasync per group, the next group
// written meanwhile).
//
// Forgetting is compaction: once every outbox entry in a sealed segment has a
// durable acknowledgement, a background thread rewrites the segment with only
// what is kept for good (messages and audit records), dropping the frames
// and acknowledgements. Its I/O and CPU count in the figures like RocksDB's
// flushes and compactions do.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "gateway/store/segment_log.hpp"
#include "tools/bench/store/backend.hpp"
#include "tools/bench/store/records.hpp"

namespace icegate::bench::storebench {

namespace {

class SegmentLogBackend final : public Backend {
 public:
  explicit SegmentLogBackend(const std::filesystem::path& dir)
      : log_(dir, {.segment_bytes = 16u << 20}), compactor_([this] { compact_loop(); }) {}
  ~SegmentLogBackend() override {
    log_.flush();
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    compactor_.join();
  }

  void commit(Operation operation, std::function<void(bool)> done) override {
    std::vector<std::string> payloads;
    payloads.reserve(operation.messages.size() + operation.outbox.size() + operation.audit.size() + 1);
    for (const auto& message : operation.messages) payloads.push_back(encode_message(message));
    for (const auto& entry : operation.outbox) payloads.push_back(encode_outbox(entry));
    std::vector<std::uint64_t> acked;
    if (!operation.acks.empty()) {
      payloads.push_back(encode_acks(operation.acks));
      for (const auto& ack : operation.acks) acked.push_back(static_cast<std::uint64_t>(ack.seq));
    }
    const std::size_t outbox_from = operation.messages.size(), outbox_count = operation.outbox.size();
    std::lock_guard lock(mutex_);  // the chain's order is the log's order
    for (const auto& record : operation.audit) payloads.push_back(chainer_.next(record));
    const std::uint64_t first = log_.append(
        std::move(payloads), [this, done = std::move(done), acked = std::move(acked)](bool ok, std::uint64_t) {
          if (!acked.empty()) {
            std::lock_guard lock(mutex_);
            for (const auto seq : acked) {
              const auto it = owed_log_seq_.find(seq);
              if (it != owed_log_seq_.end()) {
                live_.erase(it->second);
                owed_log_seq_.erase(it);
              }
            }
          }
          done(ok);
        });
    for (std::size_t i = 0; i < outbox_count; ++i) {
      const std::uint64_t log_seq = first + outbox_from + i;
      owed_log_seq_.emplace(static_cast<std::uint64_t>(operation.outbox[i].seq), log_seq);
      live_.insert(log_seq);
    }
  }
  void flush() override { log_.flush(); }
  std::uint64_t syncs() const override { return log_.stats().syncs; }

 private:
  void compact_loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::milliseconds(20));
      if (stopping_) break;
      const std::uint64_t oldest_owed = live_.empty() ? UINT64_MAX : *live_.begin();
      lock.unlock();
      for (const auto& segment : log_.sealed_segments()) {
        if (segment.last_seq >= oldest_owed || compacted_.contains(segment.file)) continue;
        log_.compact(segment, [](std::uint64_t, std::string_view payload) {
          return !payload.empty() && (payload[0] == 'A' || payload[0] == 'M');
        });
        compacted_.insert(segment.file);
      }
      lock.lock();
    }
  }

  store::SegmentLog log_;
  std::mutex mutex_;  // guards chainer_, owed_log_seq_, live_, stopping_
  AuditChainer chainer_;
  std::unordered_map<std::uint64_t, std::uint64_t> owed_log_seq_;  // outbox seq -> its record's log seq
  std::set<std::uint64_t> live_;  // log seqs of outbox entries not yet durably acknowledged
  bool stopping_ = false;
  std::condition_variable wake_;
  std::set<std::filesystem::path> compacted_;  // only the compactor thread
  std::thread compactor_;
};

}  // namespace

std::unique_ptr<Backend> make_segment_log_backend(const std::filesystem::path& dir) {
  return std::make_unique<SegmentLogBackend>(dir);
}

}  // namespace icegate::bench::storebench

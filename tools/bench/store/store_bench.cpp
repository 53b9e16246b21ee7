// store_bench: one benchmark of a message's whole life in the store, run on
// four candidates for the gateway's hot path (issue 15; the decision and its
// figures: docs/adr/0005-store-for-the-hot-path.md, docs/PERFORMANCE.md):
//
//   sqlite       today's store (gateway/store: SQLite WAL, pipelined: an fdatasync of the WAL per group)
//   rocksdb      RocksDB, WAL synced on every write, pipelined writes
//   lmdb         LMDB, durable (no MDB_NOSYNC)
//   segment_log  our append-only segment log (gateway/store/segment_log)
//
// A message's life, as the gateway's router writes it: accept it (the
// message, a 1 KB Deliver frame owed to each of N recipients, N = 1 or 8,
// the submit audit record and one decision record per recipient), then, once
// that is durable, acknowledge each delivery (the outbox entries deleted, or
// for the log an acknowledgement record and later compaction). Producer
// threads submit messages, each with a window of messages whose life has
// not ended; every backend forms a batch from whatever is queued. Durability
// is on for all, with no switch to turn it off.
//
// One iteration runs --store_bench_messages messages (N = 1; fewer for N = 8,
// so each run writes a similar volume) through a fresh store. Reported, per
// backend and N: messages/s (items_per_second), audit and log records/s,
// bytes written per message (/proc/self/io write_bytes: what reached the
// page cache for storage, background flushes and compactions included),
// CPU per message (getrusage, the whole process), and the median and p99
// latency of the accepting commit (submit to durable: what a sender's Ack
// waits for). Run it with repetitions and random interleaving so that every
// figure compares with the others of the same run (docs/PERFORMANCE.md).
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tools/bench/micro.hpp"
#include "tools/bench/store/backend.hpp"

namespace {

namespace fs = std::filesystem;
using namespace icegate::bench::storebench;

struct Settings {
  std::size_t messages = 20000;  // per run at N = 1
  std::size_t producers = 4;
  std::size_t window = 64;  // messages per producer whose life has not ended: 4 x 64 = 256, W1's 32 senders x 8
  fs::path dir;
};
Settings settings;

enum class Kind { sqlite, rocksdb, lmdb, segment_log };

std::unique_ptr<Backend> make_backend(Kind kind, const fs::path& dir) {
  switch (kind) {
    case Kind::sqlite: return make_sqlite_backend(dir);
    case Kind::rocksdb: return make_rocksdb_backend(dir);
    case Kind::lmdb: return make_lmdb_backend(dir);
    case Kind::segment_log: return make_segment_log_backend(dir);
  }
  return nullptr;
}

struct IoCounters {
  std::int64_t write_bytes = 0;  // sent toward storage (page cache pages dirtied)
  std::int64_t wchar = 0;        // passed to write(2) and friends
};

IoCounters read_io() {
  std::ifstream io("/proc/self/io");
  IoCounters counters;
  std::string key;
  std::int64_t value = 0;
  while (io >> key >> value) {
    if (key == "write_bytes:") counters.write_bytes = value;
    if (key == "wchar:") counters.wchar = value;
  }
  return counters;
}

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Messages are copies of a few templates with a fresh random id each, so that
// building them costs the producers little and the same for every backend.
class MessageMaker {
 public:
  explicit MessageMaker(std::size_t recipients) {
    for (std::size_t t = 0; t < templates_; ++t) {
      Operation operation;
      icegate::audit::AuditRecord decision = icegate::bench::sample_decision_record(t);
      operation.messages.push_back({decision.message_id, decision.node, decision.time_unix_ms});
      icegate::audit::AuditRecord submit = decision;
      submit.kind = "submit";
      submit.recipient.clear();
      submit.decision.clear();
      submit.rules.clear();
      operation.audit.push_back(submit);
      for (std::size_t r = 0; r < recipients; ++r) {
        icegate::store::OutboxEntry entry;
        entry.node = "b" + std::to_string(32 + (t + r) % 200);
        entry.message_id = decision.message_id;
        entry.needs_ack = true;
        entry.originator = decision.node;
        // 1,100 bytes that do not compress (a 1 KB body in its Deliver frame):
        // RocksDB compresses its tables, and text this regular would flatter it.
        entry.frame.resize(1100);
        for (std::size_t i = 0; i < entry.frame.size(); i += 8) {
          const std::uint64_t bits = mix(t * 1'000'003 + r * 10'007 + i);
          std::memcpy(entry.frame.data() + i, &bits, std::min<std::size_t>(8, entry.frame.size() - i));
        }
        operation.outbox.push_back(std::move(entry));
        icegate::audit::AuditRecord per_recipient = decision;
        per_recipient.recipient = operation.outbox.back().node;
        operation.audit.push_back(std::move(per_recipient));
      }
      templates.push_back(std::move(operation));
    }
  }

  Operation make(std::size_t index, std::int64_t first_seq) const {
    Operation operation = templates[index % templates_];
    const std::uint64_t high = mix(2 * index + 0x5151), low = mix(2 * index + 0x5152);
    char id[40];
    std::snprintf(id, sizeof id, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(high >> 32),
                  static_cast<unsigned>((high >> 16) & 0xffff), static_cast<unsigned>(high & 0xfff),
                  static_cast<unsigned>(0x8000 | ((low >> 48) & 0x3fff)),
                  static_cast<unsigned long long>(low & 0xffffffffffffULL));
    for (auto& message : operation.messages) message.id = id;
    for (std::size_t r = 0; r < operation.outbox.size(); ++r) {
      operation.outbox[r].message_id = id;
      operation.outbox[r].seq = first_seq + static_cast<std::int64_t>(r);
    }
    for (auto& record : operation.audit) {
      record.message_id = id;
      record.time_unix_ms += static_cast<std::int64_t>(index);
    }
    return operation;
  }

 private:
  static constexpr std::size_t templates_ = 64;
  std::vector<Operation> templates;
};

struct RunResult {
  std::size_t failures = 0;
  std::vector<std::uint32_t> accept_micros;  // per message
};

// Every message's life through `backend`: producers with a window each; a
// message's acknowledgement is committed once its acceptance is durable, and
// its life ends when that is durable too.
RunResult run_messages(Backend& backend, const MessageMaker& maker, std::size_t messages, std::size_t recipients) {
  RunResult result;
  result.accept_micros.assign(messages, 0);
  std::atomic<std::size_t> next_index{0};
  std::atomic<std::int64_t> next_seq{1};
  std::atomic<std::size_t> failures{0};
  auto produce = [&] {
    std::mutex mutex;  // guards in_flight
    std::condition_variable changed;
    std::size_t in_flight = 0;
    auto finished = [&] {
      std::lock_guard lock(mutex);
      --in_flight;
      changed.notify_one();
    };
    for (std::size_t index; (index = next_index++) < messages;) {
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return in_flight < settings.window; });
        ++in_flight;
      }
      Operation accept = maker.make(index, next_seq.fetch_add(static_cast<std::int64_t>(recipients)));
      std::vector<Ack> acks;
      for (const auto& entry : accept.outbox) acks.push_back({entry.seq, entry.node, entry.message_id});
      const auto submitted = std::chrono::steady_clock::now();
      backend.commit(std::move(accept), [&, index, submitted, acks = std::move(acks)](bool ok) mutable {
        result.accept_micros[index] = static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - submitted)
                .count());
        if (!ok) ++failures;
        Operation settle;
        settle.acks = std::move(acks);
        backend.commit(std::move(settle), [&](bool settled) {
          if (!settled) ++failures;
          finished();
        });
      });
    }
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return in_flight == 0; });
  };
  std::vector<std::thread> producers;
  for (std::size_t p = 0; p < settings.producers; ++p) producers.emplace_back(produce);
  for (auto& producer : producers) producer.join();
  backend.flush();
  result.failures = failures.load();
  return result;
}

double percentile(std::vector<std::uint32_t> values, double fraction) {
  if (values.empty()) return 0;
  const auto rank = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(rank), values.end());
  return values[rank];
}

void BM_MessageLife(benchmark::State& state, Kind kind, const char* name) {
  const auto recipients = static_cast<std::size_t>(state.range(0));
  // About the same bytes per run whatever N: N = 8 runs 2/9 as many messages.
  const std::size_t messages = std::max<std::size_t>(1, settings.messages * 2 / (recipients + 1));
  const MessageMaker maker(recipients);
  const fs::path dir = settings.dir / (std::string(name) + "-" + std::to_string(recipients));
  double cpu = 0, bytes = 0, chars = 0, syncs = 0, p50 = 0, p99 = 0;
  std::size_t total = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto backend = make_backend(kind, dir);
    const IoCounters io_before = read_io();
    const double cpu_before = cpu_seconds();
    const std::uint64_t syncs_before = backend->syncs();
    state.ResumeTiming();
    RunResult result = run_messages(*backend, maker, messages, recipients);
    state.PauseTiming();
    const IoCounters io_after = read_io();
    cpu += cpu_seconds() - cpu_before;
    bytes += static_cast<double>(io_after.write_bytes - io_before.write_bytes);
    chars += static_cast<double>(io_after.wchar - io_before.wchar);
    syncs += static_cast<double>(backend->syncs() - syncs_before);
    p50 = percentile(result.accept_micros, 0.50);
    p99 = percentile(result.accept_micros, 0.99);
    total += messages;
    backend.reset();
    fs::remove_all(dir);
    if (result.failures > 0) {
      state.SkipWithError((std::to_string(result.failures) + " commits failed").c_str());
      break;
    }
    state.ResumeTiming();
  }
  const double n = static_cast<double>(recipients);
  const double per_message = total > 0 ? 1.0 / static_cast<double>(total) : 0;
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
  // Audit records: the submit and one decision per recipient. Log records: those,
  // the message, its N outbox entries and their N acknowledgements.
  state.counters["audit_per_s"] =
      benchmark::Counter(static_cast<double>(total) * (n + 1), benchmark::Counter::kIsRate);
  state.counters["records_per_s"] =
      benchmark::Counter(static_cast<double>(total) * (3 * n + 2), benchmark::Counter::kIsRate);
  state.counters["disk_B_per_msg"] = bytes * per_message;
  state.counters["write_B_per_msg"] = chars * per_message;
  state.counters["cpu_us_per_msg"] = cpu * 1e6 * per_message;
  state.counters["msgs_per_sync"] = syncs > 0 ? static_cast<double>(total) / syncs : 0;
  state.counters["p50_commit_us"] = p50;
  state.counters["p99_commit_us"] = p99;
}

#define STORE_BENCH(kind)                                                                              \
  BENCHMARK_CAPTURE(BM_MessageLife, kind, Kind::kind, #kind)                                           \
      ->ArgName("recipients")                                                                          \
      ->Arg(1)                                                                                         \
      ->Arg(8)                                                                                         \
      ->Iterations(1)                                                                                  \
      ->UseRealTime()                                                                                  \
      ->Unit(benchmark::kMillisecond)

STORE_BENCH(sqlite);
STORE_BENCH(rocksdb);
STORE_BENCH(lmdb);
STORE_BENCH(segment_log);

// Takes --store_bench_NAME=VALUE out of argv before Google Benchmark reads it.
bool take_flag(int& argc, char** argv, const char* name, std::string& value) {
  const std::string prefix = std::string("--store_bench_") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) != 0) continue;
    value = argv[i] + prefix.size();
    for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
    --argc;
    return true;
  }
  return false;
}

bool parse_count(const std::string& text, std::size_t& out) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value == 0) return false;
  out = static_cast<std::size_t>(value);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const char* tmp = std::getenv("TMPDIR");
  settings.dir = fs::path(tmp && *tmp ? tmp : "/tmp") / ("icegate-store-bench-" + std::to_string(::getpid()));
  std::string value;
  struct CountFlag {
    const char* name;
    std::size_t* target;
  };
  for (const CountFlag flag : {CountFlag{"messages", &settings.messages}, CountFlag{"producers", &settings.producers},
                               CountFlag{"window", &settings.window}}) {
    if (take_flag(argc, argv, flag.name, value) && !parse_count(value, *flag.target)) {
      std::fprintf(stderr, "store_bench: --store_bench_%s=%s: expected a positive whole number\n", flag.name,
                   value.c_str());
      return 1;
    }
  }
  if (take_flag(argc, argv, "dir", value)) settings.dir = fs::path(value) / ("store-bench-" + std::to_string(::getpid()));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("store_bench.messages", std::to_string(settings.messages));
  benchmark::AddCustomContext("store_bench.producers", std::to_string(settings.producers));
  benchmark::AddCustomContext("store_bench.window", std::to_string(settings.window));
  benchmark::AddCustomContext("store_bench.dir", settings.dir.string());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ignored;
  fs::remove_all(settings.dir, ignored);
  return 0;
}

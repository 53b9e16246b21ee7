// Microbenchmarks for the durable audit append: audit records through the
// real store (gateway/store: SQLite in WAL mode, one writer thread, group
// commit) made durable, i.e. an fdatasync of the WAL per group commit, as the
// gateway runs by default. How to run them, and what they measured, is in
// docs/PERFORMANCE.md.
//
// One iteration queues a burst of batches as fast as the caller can (as the
// gateway's io thread does under load) and waits until all are committed, so
// the time includes every fsync. Items are audit records; items_per_second is
// the records/s figure issue 8 asks about. The store lives under $TMPDIR (or
// /tmp): run it on the disk the gateway would use, not on a tmpfs, where an
// fsync costs nothing.
#include <benchmark/benchmark.h>

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "gateway/model/message.hpp"
#include "gateway/server/audit_records.hpp"
#include "gateway/store/store.hpp"
#include "tools/bench/micro.hpp"

namespace {

namespace fs = std::filesystem;
using icegate::bench::sample_decision_record;
using icegate::bench::sample_message_batch;

constexpr std::size_t kBatchesPerIteration = 5000;

fs::path scratch_dir(const char* name) {
  const char* tmp = std::getenv("TMPDIR");
  return fs::path(tmp && *tmp ? tmp : "/tmp") / ("icegate-audit-bench-" + std::to_string(::getpid())) / name;
}

// A fresh store for one benchmark, removed afterwards.
struct ScratchStore {
  explicit ScratchStore(const char* name, bool synchronous_full) : dir(scratch_dir(name)) {
    fs::remove_all(dir);
    store = std::make_unique<icegate::store::Store>(dir, icegate::store::StoreOptions{synchronous_full});
    store->recover();
  }
  ~ScratchStore() {
    store.reset();
    fs::remove_all(dir.parent_path());
  }
  fs::path dir;
  std::unique_ptr<icegate::store::Store> store;
};

void report(benchmark::State& state, const icegate::store::StoreStats& before,
            const icegate::store::StoreStats& after, std::size_t records) {
  state.SetItemsProcessed(static_cast<std::int64_t>(records));
  const auto commits = after.commits - before.commits;
  state.counters["commits"] = static_cast<double>(commits);
  state.counters["records_per_commit"] = commits ? static_cast<double>(records) / static_cast<double>(commits) : 0;
}

// Batches of `records_per_batch` decision records, nothing else: the audit
// trail's own cost (canonical JSON, SHA-256 chain, insert) and the fsyncs.
void BM_AuditAppend(benchmark::State& state, bool synchronous_full) {
  const auto records_per_batch = static_cast<std::size_t>(state.range(0));
  ScratchStore scratch(synchronous_full ? "full" : "normal", synchronous_full);
  boost::asio::io_context io(1);
  std::size_t records = 0, index = 0;
  const auto before = scratch.store->stats();
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<icegate::store::Batch> batches(kBatchesPerIteration);
    for (auto& batch : batches)
      for (std::size_t r = 0; r < records_per_batch; ++r) batch.audit.push_back(sample_decision_record(index++));
    state.ResumeTiming();
    for (auto& batch : batches) scratch.store->commit(std::move(batch), io.get_executor(), [](bool) {});
    scratch.store->flush();
    records += kBatchesPerIteration * records_per_batch;
  }
  io.run();
  report(state, before, scratch.store->stats(), records);
}
BENCHMARK_CAPTURE(BM_AuditAppend, full, true)->Arg(1)->Arg(2)->Arg(8)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_AuditAppend, normal, false)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// What the gateway commits for each W1 message: the message row, an outbox
// entry holding the 1 KB Deliver, and two audit records (submit, decision).
// Items are audit records, so the figure compares with BM_AuditAppend/2.
void BM_MessageCommit(benchmark::State& state) {
  ScratchStore scratch("message", true);
  boost::asio::io_context io(1);
  std::size_t records = 0, index = 0;
  const auto before = scratch.store->stats();
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<icegate::store::Batch> batches;
    batches.reserve(kBatchesPerIteration);
    for (std::size_t b = 0; b < kBatchesPerIteration; ++b, ++index)
      batches.push_back(sample_message_batch(index, static_cast<std::int64_t>(index + 1)));
    state.ResumeTiming();
    for (auto& batch : batches) scratch.store->commit(std::move(batch), io.get_executor(), [](bool) {});
    scratch.store->flush();
    records += kBatchesPerIteration * 2;
  }
  io.run();
  report(state, before, scratch.store->stats(), records);
}
BENCHMARK(BM_MessageCommit)->UseRealTime()->Unit(benchmark::kMillisecond);

// Bytes this process has passed to write(2)/pwrite(2) so far (/proc/self/io
// "wchar"): the store's WAL writes, since nothing else here writes.
std::int64_t bytes_written() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::int64_t value = 0;
  while (io >> key >> value)
    if (key == "wchar:") return value;
  return 0;
}

// CPU this process has used so far, every thread's, user and system, in
// microseconds: the store's writer and syncer do the work the benchmark
// times, so the calling thread's CPU clock would miss most of it.
std::int64_t process_cpu_us() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto us = [](const timeval& t) { return std::int64_t{t.tv_sec} * 1'000'000 + t.tv_usec; };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

// A message's whole life in the store, as under W1: the commit that accepts it
// (message row, outbox entry with the 1 KB Deliver, the submit and decision
// audit records), then the commit that settles the recipient's Ack (the outbox
// entry deleted). Unlike BM_MessageCommit, commits are the size the gateway
// makes under W1's window (the argument: messages per commit, 256 = 32
// senders x window 8), each also settling the previous commit's
// acknowledgements. Message ids are random, as sample_message_batch makes
// them. Items are messages; `wal_bytes_per_message` is what the store wrote
// per message, and `cpu_us_per_message` the CPU it took (every thread of the
// process, setting-up of the batches excluded).
void BM_MessageLifecycle(benchmark::State& state) {
  const auto per_commit = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kCommitsPerIteration = 20;
  ScratchStore scratch("lifecycle", true);
  boost::asio::io_context io(1);
  std::size_t messages = 0, index = 0;
  std::int64_t seq = 1;
  std::vector<std::int64_t> unacked;  // the outbox seqs of the Delivers not yet acknowledged
  const auto before = scratch.store->stats();
  std::int64_t written = 0, cpu_us = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<icegate::store::Batch> commits(kCommitsPerIteration * per_commit);
    std::vector<std::vector<std::int64_t>> acks(kCommitsPerIteration);
    for (std::size_t c = 0; c < kCommitsPerIteration; ++c) {
      for (std::size_t m = 0; m < per_commit; ++m, ++index) {
        auto& batch = commits[c * per_commit + m];
        batch = sample_message_batch(index, seq++);  // a random v4 message id, as nodes send
        acks[c].push_back(batch.outbox.front().seq);
      }
    }
    const auto written_before = bytes_written();
    const auto cpu_before = process_cpu_us();
    state.ResumeTiming();
    for (std::size_t c = 0; c < kCommitsPerIteration; ++c) {
      icegate::store::Batch settle;
      settle.settled = std::move(unacked);
      scratch.store->commit(std::move(settle), io.get_executor(), [](bool) {});
      for (std::size_t m = 0; m < per_commit; ++m)
        scratch.store->commit(std::move(commits[c * per_commit + m]), io.get_executor(), [](bool) {});
      scratch.store->flush();  // the next commit waits, as the gateway's senders wait for their Acks
      unacked = std::move(acks[c]);
      messages += per_commit;
    }
    state.PauseTiming();
    cpu_us += process_cpu_us() - cpu_before;
    written += bytes_written() - written_before;
    io.restart();
    io.run();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(messages));
  const auto commits = scratch.store->stats().commits - before.commits;
  state.counters["commits"] = static_cast<double>(commits);
  state.counters["wal_bytes_per_message"] = messages ? static_cast<double>(written) / static_cast<double>(messages) : 0;
  state.counters["cpu_us_per_message"] = messages ? static_cast<double>(cpu_us) / static_cast<double>(messages) : 0;
}
BENCHMARK(BM_MessageLifecycle)->Arg(256)->Arg(32)->UseRealTime()->Unit(benchmark::kMillisecond);

// What duplicate detection costs a Submit once the router no longer holds
// every id (SubmitChecks): one Store::accepted lookup of a new id, in a store
// of 100,000 messages, on the reader connection. The argument is how many
// lookups run between two commits of 256 messages: each commit changes the
// WAL, so the reader's page cache starts cold again (0: no commits, warm).
void BM_MessageIdLookup(benchmark::State& state) {
  const auto per_commit = static_cast<std::size_t>(state.range(0));
  ScratchStore scratch("lookup", false);
  boost::asio::io_context io(1);
  std::size_t index = 0;
  std::int64_t seq = 1;
  auto commit_messages = [&](std::size_t count) {
    for (std::size_t m = 0; m < count; ++m, ++index) {
      auto batch = sample_message_batch(index, seq++);
      batch.outbox.clear();
      batch.audit.clear();
      scratch.store->commit(std::move(batch), io.get_executor(), [](bool) {});
    }
    scratch.store->flush();
  };
  for (std::size_t c = 0; c < 100'000 / 1000; ++c) commit_messages(1000);
  std::size_t lookups = 0, found = 0;
  for (auto _ : state) {
    if (per_commit > 0 && lookups % per_commit == 0) {
      state.PauseTiming();
      commit_messages(256);
      state.ResumeTiming();
    }
    found += scratch.store->accepted(icegate::make_uuid()) ? 1 : 0;
    ++lookups;
  }
  benchmark::DoNotOptimize(found);
  io.restart();
  io.run();
  state.SetItemsProcessed(static_cast<std::int64_t>(lookups));
}
BENCHMARK(BM_MessageIdLookup)->Arg(0)->Arg(256)->Arg(32)->Unit(benchmark::kMicrosecond);

// What reading back a node's owed frames from disk costs the decision thread
// (DeliveryLedger::refill): Store::owed of the argument's number of frames
// (1 KB Delivers), from a backlog of 20,000 owed to one node, in seq order.
void BM_OwedFramesRead(benchmark::State& state) {
  const auto limit = static_cast<std::size_t>(state.range(0));
  ScratchStore scratch("owed", false);
  boost::asio::io_context io(1);
  constexpr std::int64_t kBacklog = 20'000;
  for (std::int64_t seq = 1; seq <= kBacklog; ++seq) {
    auto batch = sample_message_batch(static_cast<std::size_t>(seq), seq);
    batch.audit.clear();
    batch.outbox.front().node = "officer";
    scratch.store->commit(std::move(batch), io.get_executor(), [](bool) {});
  }
  scratch.store->flush();
  std::int64_t after = 0;
  std::size_t frames = 0;
  for (auto _ : state) {
    auto entries = scratch.store->owed("officer", after, kBacklog, limit);
    if (entries.empty()) {
      after = 0;
      continue;
    }
    after = entries.back().seq;
    frames += entries.size();
  }
  io.restart();
  io.run();
  state.SetItemsProcessed(static_cast<std::int64_t>(frames));
}
BENCHMARK(BM_OwedFramesRead)->Arg(512)->Arg(256)->Unit(benchmark::kMicrosecond);

// The two audit records a W1 message makes on the decision thread, built but
// not stored: the submit record and one recipient's decision, each with its
// detail (labels, handling, reasons) as JSON text. A new message each time,
// so the decision's detail is built afresh rather than found among those
// already built for the message (AuditRecords keeps them for a fan-out).
void BM_AuditRecordsOfAMessage(benchmark::State& state) {
  const icegate::server::AuditRecords records([] { return std::int64_t{1'800'000'000'000}; },
                                              [] { return std::string("sha256:0f3a9c1d2e4b5a6978"); });
  icegate::Message message;
  message.originator = "sender-00017";
  message.category = "community-information";
  message.purpose = "protect";
  message.title = "bench-1234567890123";
  message.label = {"OFFICIAL", {}};
  message.portions.push_back({"1", icegate::Label{"OFFICIAL", {}}, std::string(1000, 'x')});
  const icegate::policy::Expansion expansion{{"receiver-00017"}, {}};
  icegate::RecipientDecision decision;
  decision.node_id = "receiver-00017";
  decision.decision = icegate::Decision::release;
  decision.released_portion_ids = {"1"};
  decision.released_label = {"OFFICIAL", {}};
  decision.rule_ids = {"share-community-information"};
  decision.reason = "released: every portion may be shared with receiver-00017";
  std::size_t index = 0;
  for (auto _ : state) {
    message.id = fmt::format("00000000-0000-4000-8000-{:012d}", ++index);
    auto submit = records.submit(message.originator, message, expansion, "");
    auto decided = records.decision(message, decision, "delivered");
    benchmark::DoNotOptimize(submit.detail.data());
    benchmark::DoNotOptimize(decided.detail.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_AuditRecordsOfAMessage)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

#include "tools/bench/micro.hpp"

#include <cstdint>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "gateway/model/json.hpp"
#include "gateway/policy/engine.hpp"
#include "tools/bench/policy_generator.hpp"

namespace icegate::bench {

namespace {

double thread_cpu_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

}  // namespace

DecisionTiming time_decisions(std::size_t rules, std::chrono::milliseconds budget) {
  const auto generated = generator::generate_policy(generator::realistic_parameters(rules));
  auto loaded = policy::load_policy_text(generated.yaml, "generated.yaml");
  if (!loaded.policy) throw std::runtime_error(fmt::format("the generated {}-rule policy does not load", rules));
  // As policy_bench: the CT problem profile's two portions, varied requests.
  static const std::vector<Label> labels{Label{"SECRET", {"UK EYES ONLY"}}, Label{"RESTRICTED", {}}};
  const auto samples = generator::generate_requests(generated, 512);
  std::vector<policy::DecisionRequest> requests;
  for (std::size_t i = 0; i < samples.size(); ++i)
    requests.push_back({samples[i].sender, samples[i].recipient, samples[i].category, samples[i].purpose, labels,
                        i % 4 == 0});

  constexpr std::size_t kBatch = 8192;
  std::vector<double> per_decision;
  std::size_t next = 0;
  const auto until = std::chrono::steady_clock::now() + budget;
  do {
    const double start = thread_cpu_seconds();
    for (std::size_t i = 0; i < kBatch; ++i) {
      const policy::PolicyDecision decision = loaded.policy->decide(requests[next]);
      if (decision.portions.size() != labels.size()) throw std::logic_error("a decision without its portions");
      if (++next == requests.size()) next = 0;
    }
    per_decision.push_back((thread_cpu_seconds() - start) * 1e9 / kBatch);
  } while (std::chrono::steady_clock::now() < until || per_decision.size() < 5);
  std::nth_element(per_decision.begin(), per_decision.begin() + static_cast<std::ptrdiff_t>(per_decision.size() / 2),
                   per_decision.end());
  return {rules, per_decision[per_decision.size() / 2], per_decision.size() * kBatch};
}

audit::AuditRecord sample_decision_record(std::size_t index) {
  audit::AuditRecord record;
  record.time_unix_ms = 1'795'000'000'000 + static_cast<std::int64_t>(index);
  record.kind = "decision";
  record.node = "b00000";
  record.recipient = fmt::format("b{:05}", 32 + index % 32);
  // A version 4 UUID, as nodes make them: random, so that the store's
  // indexes see ids in no particular order (deterministic in `index`).
  auto mix = [](std::uint64_t x) {  // splitmix64
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  const std::uint64_t high = mix(2 * index), low = mix(2 * index + 1);
  record.message_id = fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", high >> 32, (high >> 16) & 0xffff,
                                  high & 0xfff, 0x8000 | ((low >> 48) & 0x3fff), low & 0xffffffffffffULL);
  record.decision = "RELEASE";
  record.rules = {"senders-to-receivers"};
  record.policy_version = "4f1c3a7e9b2d6f8a0c5e7d9b1a3f5c7e9d2b4a6c8e0f1a3b5c7d9e1f3a5b7c9d";
  // Written as the gateway writes a decision's detail (AuditRecords):
  // json::Writer's text, which the store embeds without checking it again.
  record.detail = json::Writer()
                      .add("category", "bench-traffic")
                      .add("purpose", "benchmark")
                      .begin_array("released")
                      .begin_object()
                      .add("portion", "1")
                      .add("label", "RESTRICTED")
                      .end()
                      .end()
                      .add("released_label", "RESTRICTED")
                      .begin_array("withheld")
                      .end()
                      .add("reason", "released under rule senders-to-receivers")
                      .add("hold_id", "")
                      .add("held_for", "")
                      .add("occasional", false)
                      .add("state", "delivered")
                      .finish();
  record.detail_is_object = true;
  return record;
}

store::Batch sample_message_batch(std::size_t index, std::int64_t seq) {
  store::Batch batch;
  audit::AuditRecord decision = sample_decision_record(index);
  batch.messages.push_back({decision.message_id, decision.node, decision.time_unix_ms});
  store::OutboxEntry entry;
  entry.seq = seq;
  entry.node = decision.recipient;
  entry.message_id = decision.message_id;
  entry.needs_ack = true;
  entry.originator = decision.node;
  entry.frame = std::string(1100, 'x');
  batch.outbox.push_back(std::move(entry));
  audit::AuditRecord submit = decision;
  submit.kind = "submit";
  submit.recipient.clear();
  submit.decision.clear();
  submit.rules.clear();
  batch.audit.push_back(std::move(submit));
  batch.audit.push_back(std::move(decision));
  return batch;
}

AuditTiming time_audit_append(const std::filesystem::path& data_dir, std::size_t batches,
                              std::size_t records_per_batch, bool synchronous_full) {
  std::filesystem::remove_all(data_dir);
  boost::asio::io_context io(1);
  store::Store store(data_dir, store::StoreOptions{synchronous_full});
  store.recover();
  std::atomic<std::size_t> failed{0};
  // Built before the clock starts: only the store's work is timed.
  std::vector<store::Batch> prepared(batches);
  for (std::size_t b = 0; b < batches; ++b)
    for (std::size_t r = 0; r < records_per_batch; ++r)
      prepared[b].audit.push_back(sample_decision_record(b * records_per_batch + r));
  const auto before = store.stats();
  const auto start = std::chrono::steady_clock::now();
  for (auto& batch : prepared) {
    store.commit(std::move(batch), io.get_executor(), [&failed](bool ok) {
      if (!ok) ++failed;
    });
  }
  store.flush();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  io.run();  // the completions
  if (failed.load() > 0) throw std::runtime_error(fmt::format("{} audit commits failed", failed.load()));
  const auto after = store.stats();
  AuditTiming timing;
  timing.records = batches * records_per_batch;
  timing.commits = after.commits - before.commits;
  timing.seconds = seconds;
  timing.records_per_second = seconds > 0 ? static_cast<double>(timing.records) / seconds : 0;
  return timing;
}

}  // namespace icegate::bench

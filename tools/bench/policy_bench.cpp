// Microbenchmarks for the policy engine: one decision, and loading a policy
// (parse + validate + compile), on generated policies of 10 to 10,000 rules.
// How to run them, and what they measured, is in docs/PERFORMANCE.md.
//
// Each decision is for a two-portion message (SECRET/UK EYES ONLY and
// RESTRICTED, the CT neighbourhood problem profile) and one recipient. The
// requests cycle through a fixed list of a few hundred varied ones, so that
// the branch predictor and caches see something like real traffic rather
// than the same request again and again. Time per iteration is time per
// decision; the `time_per_decision` counter says so explicitly.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/policy/engine.hpp"
#include "tools/bench/policy_generator.hpp"

namespace {

using icegate::Decision;
using icegate::Label;
using icegate::generator::GeneratedPolicy;
using icegate::generator::RequestSample;
using icegate::policy::CompiledPolicy;
using icegate::policy::DecisionRequest;
using icegate::policy::PolicyDecision;

constexpr std::size_t kRequestCount = 512;   // distinct requests each benchmark cycles through
constexpr std::size_t kCandidateCount = 16384;  // drawn to find the released / withheld subsets

// The problem profile: written at SECRET and at RESTRICTED.
const std::vector<Label>& profile_labels() {
  static const std::vector<Label> labels{Label{"SECRET", {"UK EYES ONLY"}}, Label{"RESTRICTED", {}}};
  return labels;
}

// A generated policy, loaded, and the requests to put to it.
struct Workload {
  GeneratedPolicy generated;
  std::shared_ptr<const CompiledPolicy> policy;
  std::vector<RequestSample> samples;  // owns the strings the requests view
  std::vector<DecisionRequest> mixed;         // as drawn: releases, holds, redactions and denies
  std::vector<DecisionRequest> all_released;  // both portions released (release or hold)
  std::vector<DecisionRequest> one_withheld;  // exactly one portion withheld, so an explanation is built
};

DecisionRequest request_for(const RequestSample& sample, std::size_t index) {
  DecisionRequest request;
  request.sender = sample.sender;
  request.recipient = sample.recipient;
  request.category = sample.category;
  request.purpose = sample.purpose;
  request.portion_labels = profile_labels();
  request.occasional_available = index % 4 == 0;  // the ledger usually has no allowance left
  return request;
}

std::size_t released_portions(const PolicyDecision& decision) {
  std::size_t released = 0;
  for (const auto& portion : decision.portions) released += portion.released ? 1 : 0;
  return released;
}

// Built once per size and kept: generating and loading 10,000 rules takes a while.
const Workload& workload(std::size_t rules) {
  static std::map<std::size_t, std::unique_ptr<Workload>> cache;
  std::unique_ptr<Workload>& slot = cache[rules];
  if (slot) return *slot;
  slot = std::make_unique<Workload>();
  Workload& w = *slot;
  w.generated = icegate::generator::generate_policy(icegate::generator::realistic_parameters(rules));
  auto loaded = icegate::policy::load_policy_text(w.generated.yaml, "generated.yaml");
  if (!loaded.policy || !loaded.diagnostics.empty()) {
    for (const auto& diagnostic : loaded.diagnostics.sorted()) {
      std::fprintf(stderr, "%s\n", icegate::policy::to_string(diagnostic).c_str());
    }
    std::fprintf(stderr, "policy_bench: the generated %zu-rule policy does not load\n", rules);
    std::exit(1);
  }
  w.policy = loaded.policy;

  // The candidates are stored first so that the requests' views stay valid.
  w.samples = icegate::generator::generate_requests(w.generated, kCandidateCount);
  for (std::size_t i = 0; i < w.samples.size(); ++i) {
    DecisionRequest request = request_for(w.samples[i], i);
    if (w.mixed.size() < kRequestCount) w.mixed.push_back(request);
    const std::size_t released = released_portions(w.policy->decide(request));
    if (released == 2 && w.all_released.size() < kRequestCount) w.all_released.push_back(request);
    if (released == 1 && w.one_withheld.size() < kRequestCount) w.one_withheld.push_back(request);
  }
  return w;
}

void describe(benchmark::State& state, const Workload& w, std::size_t requests) {
  state.counters["rules"] = static_cast<double>(w.generated.rules.size());
  state.counters["organisations"] = static_cast<double>(w.generated.organisation_ids.size());
  state.counters["nodes"] = static_cast<double>(w.generated.node_ids.size());
  state.counters["requests"] = static_cast<double>(requests);
}

void run_decisions(benchmark::State& state, const Workload& w, const std::vector<DecisionRequest>& requests) {
  if (requests.empty()) {
    state.SkipWithError("no request of this kind among the candidates");
    return;
  }
  std::size_t next = 0;
  for (auto _ : state) {
    PolicyDecision decision = w.policy->decide(requests[next]);
    benchmark::DoNotOptimize(decision);
    if (++next == requests.size()) next = 0;
  }
  state.SetItemsProcessed(state.iterations());
  describe(state, w, requests.size());
  // Decisions per second, inverted: CPU time per decision, printed as e.g. "152.3ns".
  state.counters["time_per_decision"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// The realistic mix: what share of the requests each decision is, so a
// reader can see what the time is an average over.
void BM_Decide(benchmark::State& state) {
  const Workload& w = workload(static_cast<std::size_t>(state.range(0)));
  run_decisions(state, w, w.mixed);
  std::map<Decision, double> share;
  for (const DecisionRequest& request : w.mixed) share[w.policy->decide(request).decision] += 100.0 / static_cast<double>(w.mixed.size());
  state.counters["pct_release"] = share[Decision::release];
  state.counters["pct_redacted"] = share[Decision::release_redacted];
  state.counters["pct_hold"] = share[Decision::hold];
  state.counters["pct_deny"] = share[Decision::deny];
}

// Both portions released: no withheld portion, so no explanation is built.
void BM_Decide_AllReleased(benchmark::State& state) {
  const Workload& w = workload(static_cast<std::size_t>(state.range(0)));
  run_decisions(state, w, w.all_released);
}

// Exactly one portion withheld: the portion's detail and the message's
// reason are formatted. The difference from AllReleased is what that costs.
void BM_Decide_OneWithheld(benchmark::State& state) {
  const Workload& w = workload(static_cast<std::size_t>(state.range(0)));
  run_decisions(state, w, w.one_withheld);
}

// load_policy_text: YAML parse, validation, compilation, and the version hash.
void BM_CompilePolicy(benchmark::State& state) {
  const Workload& w = workload(static_cast<std::size_t>(state.range(0)));
  const std::string& text = w.generated.yaml;
  for (auto _ : state) {
    auto loaded = icegate::policy::load_policy_text(text, "generated.yaml");
    benchmark::DoNotOptimize(loaded.policy);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(text.size()));
  describe(state, w, 0);
  state.counters.erase("requests");
  state.counters["yaml_bytes"] = static_cast<double>(text.size());
}

void policy_sizes(benchmark::internal::Benchmark* benchmark) {
  for (int rules : {10, 100, 1000, 10000}) benchmark->Arg(rules);
}

BENCHMARK(BM_Decide)->Apply(policy_sizes)->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_Decide_AllReleased)->Apply(policy_sizes)->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_Decide_OneWithheld)->Apply(policy_sizes)->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_CompilePolicy)->Apply(policy_sizes)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();

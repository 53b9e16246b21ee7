#include "tools/bench/runner.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/clock.hpp"
#include "gateway/model/json.hpp"
#include "gateway/model/json_value.hpp"
#include "tools/bench/peers/peers.hpp"
#include "tools/bench/process.hpp"

namespace icegate::bench {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::vector<Workload> default_workloads(bool smoke, const WorkloadOverrides& o) {
  const auto warmup = o.warmup.value_or(smoke ? 100ms : 1000ms);
  const auto duration = o.duration.value_or(smoke ? 500ms : 5000ms);
  const std::size_t bytes = o.message_bytes.value_or(1024);
  std::vector<Workload> workloads;
  auto add = [&](std::string id, std::string title, Shape shape) -> Workload& {
    Workload w;
    w.id = std::move(id);
    w.title = std::move(title);
    w.shape = shape;
    w.message_bytes = bytes;
    w.warmup = warmup;
    w.duration = duration;
    return workloads.emplace_back(std::move(w));
  };
  // W0 is W1's workload against the relay: the same sizes, always.
  for (const char* id : {"W0", "W1"}) {
    Workload& w = add(id, std::string(id) == "W0" ? "raw mutual-TLS relay, no policy or audit (the ceiling)"
                                                  : "point to point, many senders to many receivers",
                      Shape::relay);
    w.senders = o.senders.value_or(smoke ? 4 : 32);
    w.receivers = o.receivers.value_or(smoke ? 4 : 32);
    w.window = o.window.value_or(smoke ? 4 : 8);
  }
  {
    Workload& w = add("W2", "fan-out, one sender to many recipients, a decision and redaction per recipient",
                      Shape::fan_out);
    w.senders = 1;
    w.recipients_per_message = o.fan_out_recipients.value_or(smoke ? 10 : 200);
    w.receivers = w.recipients_per_message;
    w.window = smoke ? 2 : 8;
  }
  {
    Workload& w = add("W3", "fan-in, thousands of senders to a few receivers", Shape::fan_in);
    w.senders = o.fan_in_senders.value_or(smoke ? 50 : 2000);
    w.receivers = o.fan_in_receivers.value_or(smoke ? 2 : 4);
    w.window = 1;
  }
  {
    Workload& w = add("W4", "a storm of simultaneous reconnections (full handshakes)", Shape::reconnect);
    w.connections = o.storm_connections.value_or(smoke ? 50 : 2000);
    w.duration = o.duration.value_or(smoke ? 200ms : 5000ms);  // storm time to accumulate
  }
  {
    Workload& w = add("W5", "many idle connections (memory per connection)", Shape::idle);
    // 19,000: issue 15's target, held by load processes (idle_load.hpp); the
    // server itself must hold them all, within its 20,000 open files here.
    w.connections = o.idle_connections.value_or(smoke ? 100 : 19000);
    w.duration = o.duration.value_or(smoke ? 200ms : 3000ms);  // how long they sit idle
  }
  return workloads;
}

std::vector<std::unique_ptr<Target>> make_targets(const BenchOptions& options) {
  std::vector<std::unique_ptr<Target>> available;
  available.push_back(make_relay_target(options.relay));
  available.push_back(make_icegate_target(options.icegate));
  for (auto& peer : peer_targets()) available.push_back(std::move(peer));
  std::vector<std::unique_ptr<Target>> chosen;
  for (const auto& name : options.targets) {
    auto it = std::find_if(available.begin(), available.end(), [&](const auto& t) { return t && t->name() == name; });
    if (it == available.end()) {
      std::vector<std::string> names;
      for (const auto& t : available)
        if (t) names.push_back(t->name());
      throw std::invalid_argument(fmt::format("unknown target '{}' (known: {})", name, fmt::join(names, ", ")));
    }
    chosen.push_back(std::move(*it));
  }
  return chosen;
}

namespace {

std::string read_first_line_with(const char* file, std::string_view key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(key)) {
      const auto colon = line.find(':');
      std::string value = colon == std::string::npos ? line : line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  return "unknown";
}

std::string describe_machine() {
  utsname names{};
  ::uname(&names);
  return fmt::format("{}, {} CPUs, {} memory, {} {}", read_first_line_with("/proc/cpuinfo", "model name"),
                     std::thread::hardware_concurrency(), read_first_line_with("/proc/meminfo", "MemTotal"),
                     names.sysname, names.release);
}

std::string utc_now() { return format_utc(std::chrono::system_clock::now(), UtcStyle::readable_minute); }

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return fmt::format("{} {} {}", one, five, fifteen);
}

MicroResults run_micro(const BenchOptions& options, std::ostream& progress) {
  MicroResults micro;
  try {
    const std::size_t rules = options.smoke ? 10 : 1000;
    fmt::print(progress, "micro: decisions at {} rules...\n", rules);
    micro.decision = time_decisions(rules, options.smoke ? 50ms : 2000ms);
    const std::size_t batches = options.smoke ? 500 : 50'000;
    fmt::print(progress, "micro: {} audit records through the store (durable)...\n", batches * 2);
    const fs::path dir = options.environment.work_dir / "micro" / "audit";
    micro.audit = time_audit_append(dir, batches, 2, true);
    fs::remove_all(dir);
    micro.ran = true;
  } catch (const std::exception& e) {
    micro.problem = e.what();
  }
  return micro;
}

const Result* find(const BenchReport& report, std::string_view target, std::string_view workload) {
  for (const auto& r : report.results)
    if (r.target == target && r.workload == workload && r.ran) return &r;
  return nullptr;
}

std::string with_commas(double value) {
  const auto rounded = static_cast<long long>(std::llround(value));
  std::string digits = std::to_string(rounded < 0 ? -rounded : rounded);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), ",");
  return (rounded < 0 ? "-" : "") + digits;
}

std::string mib(std::uint64_t bytes) { return fmt::format("{:.1f}", static_cast<double>(bytes) / 1048576.0); }

std::string number(double value) {
  if (!std::isfinite(value)) return "null";
  return fmt::format("{:.6g}", value);
}

}  // namespace

BenchReport run_bench(const BenchOptions& options, std::ostream& progress) {
  BenchReport report;
  report.machine = describe_machine();
  report.date = utc_now();
  report.certificates = options.environment.key_type == pki::KeyType::ed25519
                            ? "Ed25519 for icegate and the relay, ECDSA P-256 for the peers"
                            : "ECDSA P-256";
  report.load_average = load_average();
  for (const auto& id : options.workloads)
    if (std::find(all_workload_ids.begin(), all_workload_ids.end(), id) == all_workload_ids.end())
      throw std::invalid_argument(fmt::format("unknown workload '{}' (known: {})", id, fmt::join(all_workload_ids, ", ")));
  auto targets = make_targets(options);
  raise_open_file_limit();
  fs::create_directories(options.environment.work_dir);

  for (const auto& workload : default_workloads(options.smoke, options.overrides)) {
    if (std::find(options.workloads.begin(), options.workloads.end(), workload.id) == options.workloads.end()) continue;
    report.workloads.push_back(workload);
    for (auto& target : targets) {
      // W0 is by definition the relay's run of W1's workload (the ceiling);
      // other targets run that workload as W1.
      std::string why = workload.id == "W0" && target->name() != "relay" ? "W0 is the relay's run of W1's workload"
                                                                         : target->unavailable(workload);
      if (!why.empty()) {
        Result skipped;
        skipped.target = target->name();
        skipped.workload = workload.id;
        skipped.skipped = why;
        report.results.push_back(std::move(skipped));
        continue;
      }
      fmt::print(progress, "{} {} on {}...\n", workload.id, workload.title, target->name());
      progress.flush();
      Result result = target->run(workload, options.environment);
      result.target = target->name();
      result.workload = workload.id;
      if (!result.problem.empty()) fmt::print(progress, "  problem: {}\n", result.problem);
      if (!result.ran && result.problem.empty()) fmt::print(progress, "  not run: {}\n", result.skipped);
      report.results.push_back(std::move(result));
      // Let the previous server's sockets and CPU settle before the next.
      std::this_thread::sleep_for(options.smoke ? 100ms : 1000ms);
    }
  }
  if (options.micro) report.micro = run_micro(options, progress);
  evaluate(report);
  return report;
}

void evaluate(BenchReport& report) {
  report.ratios.clear();
  report.checks.clear();
  using Status = TargetCheck::Status;
  auto ratio = [&](std::string name, double numerator, double denominator) {
    if (denominator > 0) report.ratios.push_back({std::move(name), numerator / denominator});
  };
  const Result* w0 = find(report, "relay", "W0");
  const Result* w1 = find(report, "icegate", "W1");
  if (w0 && w1) {
    ratio("W1 icegate / W0 relay, messages/s", w1->messages_per_second, w0->messages_per_second);
    ratio("W1 icegate / W0 relay, p99 latency", w1->p99_us, w0->p99_us);
  }
  for (const char* peer : {"mosquitto", "nats"}) {
    for (const char* workload : {"W1", "W2", "W3"}) {
      const Result* ours = find(report, "icegate", workload);
      const Result* theirs = find(report, peer, workload);
      if (ours && theirs) {
        ratio(fmt::format("{} icegate / {}, messages/s", workload, peer), ours->messages_per_second,
              theirs->messages_per_second);
        ratio(fmt::format("{} icegate / {}, p99 latency", workload, peer), ours->p99_us, theirs->p99_us);
      }
    }
    const Result* ours = find(report, "icegate", "W5");
    const Result* theirs = find(report, peer, "W5");
    if (ours && theirs)
      ratio(fmt::format("W5 icegate / {}, bytes per idle connection", peer), ours->bytes_per_connection,
            theirs->bytes_per_connection);
  }
  const Result* relay_w3 = find(report, "relay", "W3");
  const Result* icegate_w3 = find(report, "icegate", "W3");
  if (relay_w3 && icegate_w3)
    ratio("W3 icegate / relay, messages/s", icegate_w3->messages_per_second, relay_w3->messages_per_second);
  for (const char* workload : {"W1", "W2", "W3"}) {
    const Result* ours = find(report, "icegate", workload);
    const Result* theirs = find(report, "mosquitto", workload);
    if (ours && theirs && cpu_us_per_message(*ours) > 0)
      ratio(fmt::format("{} icegate / mosquitto, server CPU per message", workload), cpu_us_per_message(*ours),
            cpu_us_per_message(*theirs));
  }
  const Result* relay_w5 = find(report, "relay", "W5");
  const Result* icegate_w5 = find(report, "icegate", "W5");
  if (relay_w5 && icegate_w5)
    ratio("W5 icegate / relay, bytes per idle connection", icegate_w5->bytes_per_connection,
          relay_w5->bytes_per_connection);
  const Result* relay_w4 = find(report, "relay", "W4");
  const Result* icegate_w4 = find(report, "icegate", "W4");
  if (relay_w4 && icegate_w4)
    ratio("W4 icegate / relay, handshakes per server CPU second", icegate_w4->handshakes_per_cpu_second,
          relay_w4->handshakes_per_cpu_second);

  // Issue 15's targets first, each from this run alone; then issue 8's that
  // issue 15 did not replace.
  auto check = [&](std::string issue, std::string target, const Result* a, const Result* b, auto measure) {
    TargetCheck c;
    c.issue = std::move(issue);
    c.target = std::move(target);
    if (!a || !b) {
      c.measured = "not measured in this run";
    } else {
      auto [met, text] = measure(*a, *b);
      c.status = met ? Status::met : Status::missed;
      c.measured = text;
    }
    report.checks.push_back(std::move(c));
  };
  auto throughput_share = [](double wanted) {
    return [wanted](const Result& a, const Result& b) {
      const double r = b.messages_per_second > 0 ? a.messages_per_second / b.messages_per_second : 0;
      return std::pair{r >= wanted, fmt::format("{} / {} msgs/s = {:.0f}%", with_commas(a.messages_per_second),
                                                with_commas(b.messages_per_second), 100 * r)};
    };
  };
  const Result* mosquitto_w1 = find(report, "mosquitto", "W1");
  const Result* icegate_w2 = find(report, "icegate", "W2");
  const Result* mosquitto_w2 = find(report, "mosquitto", "W2");
  check("15", "W1 with policy and durable audit >= 75% of W0's throughput", w1, w0, throughput_share(0.75));
  check("15", "W1 p99 at most twice W0's", w1, w0, [](const Result& a, const Result& b) {
    const double r = b.p99_us > 0 ? a.p99_us / b.p99_us : 0;
    return std::pair{b.p99_us > 0 && r <= 2.0,
                     fmt::format("{} / {} us = {:.2f}x", with_commas(a.p99_us), with_commas(b.p99_us), r)};
  });
  check("15", "server CPU per W1 message <= Mosquitto's on the identical workload", w1, mosquitto_w1,
        [](const Result& a, const Result& b) {
          const double ours = cpu_us_per_message(a), theirs = cpu_us_per_message(b);
          const double r = theirs > 0 ? ours / theirs : 0;
          return std::pair{ours > 0 && theirs > 0 && ours <= theirs,
                           fmt::format("{:.1f} / {:.1f} us = {:.2f}x", ours, theirs, r)};
        });
  check("15", "W2 deliveries per server CPU second >= Mosquitto's", icegate_w2, mosquitto_w2,
        [](const Result& a, const Result& b) {
          // Deliveries per second of the server's CPU: its rate over its CPU share.
          auto per_cpu_second = [](const Result& r) {
            return r.server_cpu_percent > 0 ? r.messages_per_second * 100 / r.server_cpu_percent : 0.0;
          };
          const double ours = per_cpu_second(a), theirs = per_cpu_second(b);
          const double r = theirs > 0 ? ours / theirs : 0;
          return std::pair{theirs > 0 && r >= 1.0,
                           fmt::format("{} / {} per CPU second = {:.2f}x", with_commas(ours), with_commas(theirs), r)};
        });
  check("15", "W3 >= 75% of the relay's throughput", find(report, "icegate", "W3"), find(report, "relay", "W3"),
        throughput_share(0.75));
  // A target measured (met or missed) or not, with what was measured or why not.
  auto mark = [&](std::string issue, std::string target, std::optional<bool> met, std::string measured) {
    TargetCheck c;
    c.issue = std::move(issue);
    c.target = std::move(target);
    if (met) c.status = *met ? Status::met : Status::missed;
    c.measured = std::move(measured);
    report.checks.push_back(std::move(c));
  };
  const auto& audit = report.micro.audit;
  auto audit_check = [&](std::string issue, double wanted) {
    std::string target = fmt::format("durable audit >= {} records/s", with_commas(wanted));
    if (report.micro.ran && audit.records >= 100'000)
      return mark(std::move(issue), std::move(target), audit.records_per_second >= wanted,
                  fmt::format("{} records/s ({} records in {} group commits, durable)",
                              with_commas(audit.records_per_second), with_commas(audit.records),
                              with_commas(audit.commits)));
    mark(std::move(issue), std::move(target), std::nullopt,
         report.micro.ran ? fmt::format("too few records for a figure ({} records/s over {})",
                                        with_commas(audit.records_per_second), audit.records)
                          : "not measured in this run");
  };
  audit_check("15", 500'000);
  {
    std::string target = "idle mutual-TLS connections <= 12 KiB each at 19,000 connections";
    if (icegate_w5)
      mark("15", std::move(target),
           icegate_w5->connections >= 19'000 && icegate_w5->bytes_per_connection <= 12 * 1024,
           fmt::format("{} connections at {:.1f} KiB each", with_commas(static_cast<double>(icegate_w5->connections)),
                       icegate_w5->bytes_per_connection / 1024));
    else
      mark("15", std::move(target), std::nullopt, "not measured in this run");
  }
  // The floor is the library's own, measured by handshake_bench (Google
  // Benchmark, in memory): not a run of this tool, so never marked here.
  mark("15", "full handshakes >= 95% of the library's in-memory floor", std::nullopt,
       icegate_w4 ? fmt::format("W4: {} per server CPU second; the floor is handshake_bench's "
                                "server_hs_per_cpu_s (docs/PERFORMANCE.md)",
                                with_commas(icegate_w4->handshakes_per_cpu_second))
                  : "not measured in this run (W4, and handshake_bench for the floor)");
  for (const auto& [workload, factor] : {std::pair{"W1", 1.5}, std::pair{"W2", 2.0}}) {
    const Result* ours = find(report, "icegate", workload);
    const Result* mosquitto = find(report, "mosquitto", workload);
    check("8", fmt::format("{} >= {}x Mosquitto on the identical workload", workload, factor), ours, mosquitto,
          [wanted = factor](const Result& a, const Result& b) {  // clang 14 cannot capture a structured binding
            const double r = b.messages_per_second > 0 ? a.messages_per_second / b.messages_per_second : 0;
            return std::pair{r >= wanted, fmt::format("{} / {} msgs/s = {:.2f}x", with_commas(a.messages_per_second),
                                                      with_commas(b.messages_per_second), r)};
          });
  }
  const auto& decision = report.micro.decision;
  if (report.micro.ran && decision.rules == 1000)
    mark("8", "a decision at 1,000 rules <= 500 ns at the median", decision.median_ns <= 500,
         fmt::format("{:.0f} ns (median of {} batches, CPU time)", decision.median_ns, decision.decisions / 8192));
  else
    mark("8", "a decision at 1,000 rules <= 500 ns at the median", std::nullopt,
         report.micro.ran ? fmt::format("measured at {} rules only ({:.0f} ns)", decision.rules, decision.median_ns)
                          : "not measured in this run");
  audit_check("8", 100'000);
  if (icegate_w4)
    mark("8", ">= 2,000 full handshakes per second per core", icegate_w4->handshakes_per_cpu_second >= 2000,
         fmt::format("{} per server CPU second ({} per wall second)", with_commas(icegate_w4->handshakes_per_cpu_second),
                     with_commas(icegate_w4->handshakes_per_second)));
  else
    mark("8", ">= 2,000 full handshakes per second per core", std::nullopt, "not measured in this run");
}

double cpu_us_per_message(const Result& result) {
  if (!result.ran || result.messages_per_second <= 0) return 0;
  return result.server_cpu_percent * 1e4 / result.messages_per_second;
}

void print_table(const BenchReport& report, std::ostream& out) {
  fmt::print(out, "\nicegate-bench, {} ({}; load average at start {})\n\n", report.date, report.machine,
             report.load_average);
  fmt::print(out, "{:<4} {:<10} {:>10} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9} {:>8}  {}\n", "", "target", "msgs/s",
             "p50 us", "p99 us", "p999 us", "srv CPU%", "srv CPU", "srv RSS", "load CPU%", "");
  fmt::print(out, "{:<4} {:<10} {:>10} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9} {:>8}  {}\n", "", "", "", "", "", "", "",
             "us/msg", "MiB", "", "");
  for (const auto& workload : report.workloads) {
    for (const auto& r : report.results) {
      if (r.workload != workload.id) continue;
      if (!r.ran) {
        fmt::print(out, "{:<4} {:<10} {}\n", r.workload, r.target,
                   r.problem.empty() ? "skipped: " + r.skipped : "FAILED: " + r.problem);
        continue;
      }
      std::string extra;
      if (workload.shape == Shape::reconnect)
        extra = fmt::format("{} handshakes/s, {} per server CPU s (latency: reconnect)",
                            with_commas(r.handshakes_per_second), with_commas(r.handshakes_per_cpu_second));
      if (workload.shape == Shape::idle)
        extra = fmt::format("{} idle, {:.1f} KiB each", with_commas(static_cast<double>(r.connections)),
                            r.bytes_per_connection / 1024);
      if (!r.problem.empty()) extra += (extra.empty() ? "" : "; ") + std::string("PROBLEM: ") + r.problem;
      const bool traffic = workload.shape != Shape::reconnect && workload.shape != Shape::idle;
      fmt::print(out, "{:<4} {:<10} {:>10} {:>9} {:>9} {:>9} {:>8.0f} {:>8} {:>9} {:>8.0f}  {}\n", r.workload,
                 r.target, traffic ? with_commas(r.messages_per_second) : "-",
                 (traffic || workload.shape == Shape::reconnect) ? with_commas(r.p50_us) : "-",
                 (traffic || workload.shape == Shape::reconnect) ? with_commas(r.p99_us) : "-",
                 (traffic || workload.shape == Shape::reconnect) ? with_commas(r.p999_us) : "-", r.server_cpu_percent,
                 traffic ? fmt::format("{:.1f}", cpu_us_per_message(r)) : "-", mib(r.server_rss_bytes),
                 r.client_cpu_percent, extra);
    }
  }
  fmt::print(out, "\nWorkloads (messages of {} bytes, mutual TLS 1.3 on loopback, certificates {}):\n",
             report.workloads.empty() ? 1024 : report.workloads.front().message_bytes, report.certificates);
  for (const auto& w : report.workloads) {
    std::string sizes;
    switch (w.shape) {
      case Shape::relay:
      case Shape::fan_in:
        sizes = fmt::format("{} senders -> {} receivers, window {}", w.senders, w.receivers, w.window);
        break;
      case Shape::fan_out:
        sizes = fmt::format("{} sender -> {} recipients each message, window {}", w.senders, w.recipients_per_message,
                            w.window);
        break;
      case Shape::reconnect: sizes = fmt::format("{} connections, storms until {:.1f} s of storm", w.connections, w.duration.count() / 1000.0); break;
      case Shape::idle: sizes = fmt::format("{} connections, idle {:.1f} s", w.connections, w.duration.count() / 1000.0); break;
    }
    fmt::print(out, "  {}  {}: {}\n", w.id, w.title, sizes);
  }
  if (!report.ratios.empty()) {
    fmt::print(out, "\nRatios (same run):\n");
    for (const auto& ratio : report.ratios) fmt::print(out, "  {:<58} {:.2f}\n", ratio.name, ratio.value);
  }
  if (report.micro.ran) {
    fmt::print(out, "\nMicro: decision at {} rules {:.0f} ns (median); audit append {} records/s ({} records, {} commits)\n",
               report.micro.decision.rules, report.micro.decision.median_ns,
               with_commas(report.micro.audit.records_per_second), with_commas(report.micro.audit.records),
               with_commas(report.micro.audit.commits));
  } else if (!report.micro.problem.empty()) {
    fmt::print(out, "\nMicro: FAILED: {}\n", report.micro.problem);
  }
  fmt::print(out, "\nTargets (srv CPU us/msg: the server's CPU per message, for W2 per delivery; each figure from "
                  "this run only):\n");
  for (const auto& c : report.checks) {
    const char* status = c.status == TargetCheck::Status::met      ? "met"
                         : c.status == TargetCheck::Status::missed ? "MISSED"
                                                                   : "-";
    fmt::print(out, "  {:<7} issue {:<3} {:<68} {}\n", status, c.issue, c.target, c.measured);
  }
  bool any_note = false;
  for (const auto& r : report.results) {
    if (!r.ran || r.note.empty()) continue;
    if (!any_note) fmt::print(out, "\nNotes:\n");
    any_note = true;
    fmt::print(out, "  {} {}: {}\n", r.workload, r.target, r.note);
  }
  out.flush();
}

std::string to_json(const BenchReport& report, const BenchOptions& options) {
  boost::json::array results;
  for (const auto& r : report.results) {
    results.push_back(json::Object()
                   .add("target", r.target)
                   .add("workload", r.workload)
                   .add("ran", r.ran)
                   .add("skipped", r.skipped)
                   .add("problem", r.problem)
                   .add("sent", static_cast<std::int64_t>(r.sent))
                   .add("delivered", static_cast<std::int64_t>(r.delivered))
                   .add("errors", static_cast<std::int64_t>(r.errors))
                   .add_raw("seconds", number(r.seconds))
                   .add_raw("messages_per_second", number(r.messages_per_second))
                   .add_raw("p50_us", number(r.p50_us))
                   .add_raw("p99_us", number(r.p99_us))
                   .add_raw("p999_us", number(r.p999_us))
                   .add_raw("server_cpu_seconds", number(r.server_cpu_seconds))
                   .add_raw("server_cpu_percent", number(r.server_cpu_percent))
                   .add_raw("server_cpu_us_per_message", number(cpu_us_per_message(r)))
                   .add("server_rss_bytes", static_cast<std::int64_t>(r.server_rss_bytes))
                   .add("server_peak_rss_bytes", static_cast<std::int64_t>(r.server_peak_rss_bytes))
                   .add_raw("client_cpu_percent", number(r.client_cpu_percent))
                   .add_raw("handshakes_per_second", number(r.handshakes_per_second))
                   .add_raw("handshakes_per_cpu_second", number(r.handshakes_per_cpu_second))
                   .add_raw("bytes_per_connection", number(r.bytes_per_connection))
                   .add("connections", static_cast<std::int64_t>(r.connections))
                   .add("note", r.note)
                   .native());
  }
  boost::json::array workloads;
  for (const auto& w : report.workloads) {
    workloads.push_back(json::Object()
                     .add("id", w.id)
                     .add("title", w.title)
                     .add("senders", static_cast<std::int64_t>(w.senders))
                     .add("receivers", static_cast<std::int64_t>(w.receivers))
                     .add("recipients_per_message", static_cast<std::int64_t>(w.recipients_per_message))
                     .add("message_bytes", static_cast<std::int64_t>(w.message_bytes))
                     .add("window", static_cast<std::int64_t>(w.window))
                     .add("connections", static_cast<std::int64_t>(w.connections))
                     .add("warmup_ms", static_cast<std::int64_t>(w.warmup.count()))
                     .add("duration_ms", static_cast<std::int64_t>(w.duration.count()))
                     .native());
  }
  boost::json::array ratios;
  for (const auto& r : report.ratios) {
    ratios.push_back(json::Object().add("name", r.name).add_raw("value", number(r.value)).native());
  }
  boost::json::array checks;
  for (const auto& c : report.checks) {
    checks.push_back(json::Object()
                  .add("issue", c.issue)
                  .add("target", c.target)
                  .add("status", c.status == TargetCheck::Status::met      ? "met"
                                 : c.status == TargetCheck::Status::missed ? "missed"
                                                                           : "not_measured")
                  .add("measured", c.measured)
                  .native());
  }
  const std::string micro = json::Object()
                                .add("ran", report.micro.ran)
                                .add("problem", report.micro.problem)
                                .add("decision_rules", static_cast<std::int64_t>(report.micro.decision.rules))
                                .add_raw("decision_median_ns", number(report.micro.decision.median_ns))
                                .add("audit_records", static_cast<std::int64_t>(report.micro.audit.records))
                                .add("audit_commits", static_cast<std::int64_t>(report.micro.audit.commits))
                                .add_raw("audit_records_per_second", number(report.micro.audit.records_per_second))
                                .str();
  return json::Object()
             .add("date", report.date)
             .add("machine", report.machine)
             .add("load_average_at_start", report.load_average)
             .add("command", options.command_line)
             .add("certificates", report.certificates)
             .add("smoke", options.smoke)
             .add("client_threads", static_cast<std::int64_t>(options.environment.client_threads))
             .add("gateway_threads", static_cast<std::int64_t>(options.icegate.threads))  // 0: one per core
             .add("workloads", boost::json::value(std::move(workloads)))
             .add("results", boost::json::value(std::move(results)))
             .add_raw("micro", micro)
             .add("ratios", boost::json::value(std::move(ratios)))
             .add("targets", boost::json::value(std::move(checks)))
             .str() +
         "\n";
}

bool all_runs_sound(const BenchReport& report) {
  for (const auto& r : report.results)
    if (!r.problem.empty()) return false;
  return report.micro.problem.empty();
}

}  // namespace icegate::bench

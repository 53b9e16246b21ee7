#include "tools/bench/icegate_targets.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "tools/bench/certificates.hpp"
#include "tools/bench/idle_load.hpp"
#include "tools/bench/load.hpp"
#include "tools/bench/process.hpp"
#include "tools/bench/scenario.hpp"

namespace icegate::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto kStartTimeout = 60s;
constexpr auto kSettle = 500ms;  // after a burst of connects or closes, before sampling
constexpr std::size_t kConnectConcurrency = 256;
constexpr std::size_t kMaxStormRounds = 20;

// A server child that speaks icegate's protocol, and the workloads run
// against it. Subclasses say how to start it.
class ProtocolTarget : public Target {
 public:
  Result run(const Workload& workload, const Environment& environment) override {
    Result result;
    result.target = name();
    result.workload = workload.id;
    try {
      run_workload(workload, environment, result);
    } catch (const std::exception& e) {
      result.ran = false;
      result.skipped = fmt::format("failed: {}", e.what());
      result.problem = result.skipped;
    }
    return result;
  }

 protected:
  // Starts the server for `scenario` in `dir`; returns it and its port.
  virtual ChildProcess start(const Scenario& scenario, const Workload& workload, const Environment& environment,
                             const fs::path& dir, std::uint16_t& port) = 0;

  static fs::path pki_dir(const Environment& environment) {
    return environment.work_dir / (environment.key_type == pki::KeyType::ed25519 ? "pki-ed25519" : "pki");
  }

  // $ICEGATE_BENCH_SERVER_WRAPPER, split at spaces, goes before the server's
  // command line: a profiler for the server alone, e.g.
  // "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p" or
  // "perf record -g -o /tmp/perf.data --".
  static std::vector<std::string> wrapped(std::vector<std::string> argv) {
    const char* wrapper = std::getenv("ICEGATE_BENCH_SERVER_WRAPPER");
    if (wrapper == nullptr || *wrapper == '\0') return argv;
    std::vector<std::string> command;
    std::istringstream words(wrapper);
    for (std::string word; words >> word;) command.push_back(word);
    command.insert(command.end(), argv.begin(), argv.end());
    return command;
  }

  static std::uint16_t wait_listening(ChildProcess& child, const fs::path& port_file) {
    return child.wait_for_port_file(port_file, kStartTimeout);
  }

 private:
  void run_workload(const Workload& workload, const Environment& environment, Result& result) {
    const Scenario scenario = make_scenario(workload);
    const fs::path dir = environment.work_dir / name() / workload.id;
    fs::remove_all(dir);
    fs::create_directories(dir);
    const PkiReport pki = ensure_pool_certificates(pki_dir(environment), scenario.pool_size, 2, environment.key_type);
    std::vector<std::string> notes;
    if (pki.issued > 0)
      notes.push_back(fmt::format("issued {} node certificates in {:.1f} s ({:.0f}/s; cached in {})", pki.issued,
                                  pki.seconds, static_cast<double>(pki.issued) / std::max(pki.seconds, 1e-9),
                                  pki_dir(environment).string()));

    std::uint16_t port = 0;
    ChildProcess server = start(scenario, workload, environment, dir, port);
    if (workload.shape == Shape::idle) {
      run_idle(server, scenario, workload, environment, port, dir, result, notes);
    } else {
      LoadGenerator load({pki_dir(environment), port, environment.client_threads});
      switch (workload.shape) {
        case Shape::relay:
        case Shape::fan_out:
        case Shape::fan_in: run_traffic(load, server, scenario, workload, result, notes); break;
        case Shape::reconnect: run_storm(load, server, scenario, workload, result, notes); break;
        case Shape::idle: break;
      }
    }
    if (!server.running()) {
      result.problem = fmt::format("the server {} during the run; log {}", server.describe_status(),
                                   (dir / "server.log").string());
    }
    server.stop();
    result.note = fmt::format("{}", fmt::join(notes, "; "));
  }

  static void record_interval(Result& result, const ProcessSample& before, const ProcessSample& after, double seconds,
                              double client_cpu_seconds) {
    result.seconds = seconds;
    result.server_cpu_seconds = after.cpu_seconds - before.cpu_seconds;
    result.server_cpu_percent = seconds > 0 ? 100.0 * result.server_cpu_seconds / seconds : 0;
    result.server_rss_bytes = after.rss_bytes;
    result.server_peak_rss_bytes = after.peak_rss_bytes;
    result.client_cpu_percent = seconds > 0 ? 100.0 * client_cpu_seconds / seconds : 0;
  }

  void run_traffic(LoadGenerator& load, ChildProcess& server, const Scenario& scenario, const Workload& workload,
                   Result& result, std::vector<std::string>& notes) {
    ProcessSample at_start, at_end;
    const TrafficReport report = load.run_traffic(
        scenario, workload.window, workload.warmup, workload.duration,
        std::max<std::chrono::milliseconds>(10s, workload.duration * 2), [&](Phase phase) {
          (phase == Phase::measuring ? at_start : at_end) = server.sample();
        });
    result.ran = true;
    result.sent = report.sent;
    result.delivered = report.delivered;
    result.errors = report.errors;
    record_interval(result, at_start, at_end, report.seconds, report.client_cpu_seconds);
    result.messages_per_second = report.seconds > 0 ? static_cast<double>(report.delivered) / report.seconds : 0;
    LatencySamples latencies = report.latencies;
    result.p50_us = latencies.quantile_us(0.50);
    result.p99_us = latencies.quantile_us(0.99);
    result.p999_us = latencies.quantile_us(0.999);
    result.connections = scenario.senders.size() + scenario.receivers.size();

    const std::uint64_t expected = report.total_accepted * scenario.deliveries_per_message;
    notes.push_back(fmt::format("{} sent, {} accepted, {} delivered of {} expected", report.total_sent,
                                report.total_accepted, report.total_delivered, expected));
    if (scenario.redacted_recipients > 0)
      notes.push_back(fmt::format("{} delivered redacted (RELEASE_REDACTED)", report.total_redacted));
    std::vector<std::string> problems;
    if (report.total_sent == 0) problems.push_back("nothing was sent");
    if (report.total_refused > 0) problems.push_back(fmt::format("{} messages refused", report.total_refused));
    if (report.total_accepted != report.total_sent)
      problems.push_back(fmt::format("{} of {} messages acknowledged", report.total_accepted + report.total_refused,
                                     report.total_sent));
    if (report.total_delivered != expected)
      problems.push_back(fmt::format("{} deliveries of {} expected", report.total_delivered, expected));
    if (scenario.redacted_recipients > 0 && name() == "icegate") {
      const std::uint64_t expected_redacted = report.total_accepted * scenario.redacted_recipients;
      if (report.total_redacted != expected_redacted)
        problems.push_back(fmt::format("{} redacted deliveries of {} expected", report.total_redacted,
                                       expected_redacted));
    }
    if (report.total_errors > 0) problems.push_back(fmt::format("{} errors, first: {}", report.total_errors,
                                                                report.first_error));
    if (!problems.empty()) result.problem = fmt::format("{}", fmt::join(problems, "; "));
  }

  void run_storm(LoadGenerator& load, ChildProcess& server, const Scenario& scenario, const Workload& workload,
                 Result& result, std::vector<std::string>& notes) {
    load.prepare(scenario.connecting);
    // Every node connects once first, so the storm is of reconnections.
    const ConnectReport first = load.connect(scenario.connecting, kConnectConcurrency);
    if (first.connected != first.attempted)
      throw std::runtime_error(fmt::format("only {} of {} nodes connected; first failure: {}", first.connected,
                                           first.attempted, first.first_error));
    std::size_t rounds = 0, reconnected = 0, attempted = 0;
    double storm_seconds = 0, server_cpu = 0, client_cpu = 0;
    LatencySamples latencies;
    std::string first_error;
    while (rounds < kMaxStormRounds && (rounds == 0 || storm_seconds * 1000 < static_cast<double>(workload.duration.count()))) {
      load.close_all();
      std::this_thread::sleep_for(kSettle);
      const ProcessSample before = server.sample();
      const double client_before = own_cpu_seconds();
      // All at once: every node's connection is attempted together.
      ConnectReport storm = load.connect(scenario.connecting, scenario.connecting.size());
      const ProcessSample after = server.sample();
      client_cpu += own_cpu_seconds() - client_before;
      server_cpu += after.cpu_seconds - before.cpu_seconds;
      storm_seconds += storm.seconds;
      reconnected += storm.connected;
      attempted += storm.attempted;
      latencies.merge(storm.latencies);
      if (first_error.empty()) first_error = storm.first_error;
      result.server_rss_bytes = after.rss_bytes;
      result.server_peak_rss_bytes = after.peak_rss_bytes;
      ++rounds;
    }
    load.close_all();
    result.ran = true;
    result.seconds = storm_seconds;
    result.server_cpu_seconds = server_cpu;
    result.server_cpu_percent = storm_seconds > 0 ? 100.0 * server_cpu / storm_seconds : 0;
    result.client_cpu_percent = storm_seconds > 0 ? 100.0 * client_cpu / storm_seconds : 0;
    result.connections = scenario.connecting.size();
    result.handshakes_per_second = storm_seconds > 0 ? static_cast<double>(reconnected) / storm_seconds : 0;
    result.handshakes_per_cpu_second = server_cpu > 0 ? static_cast<double>(reconnected) / server_cpu : 0;
    result.p50_us = latencies.quantile_us(0.50);
    result.p99_us = latencies.quantile_us(0.99);
    result.p999_us = latencies.quantile_us(0.999);
    result.errors = attempted - reconnected;
    notes.push_back(fmt::format("{} storms of {} reconnections; {} of {} completed; latency = connect to Welcome",
                                rounds, scenario.connecting.size(), reconnected, attempted));
    if (reconnected != attempted)
      result.problem = fmt::format("{} of {} reconnections failed; first: {}", attempted - reconnected, attempted,
                                   first_error);
  }

  // W5: the connections are held by load processes (idle_load.hpp), so that
  // the count is limited by the server's open-file limit, not the bench's.
  void run_idle(ChildProcess& server, const Scenario& scenario, const Workload& workload, const Environment& environment,
                std::uint16_t port, const fs::path& dir, Result& result, std::vector<std::string>& notes) {
    std::this_thread::sleep_for(kSettle);
    const ProcessSample empty = server.sample();
    IdleLoad load(environment, pki_dir(environment), port, scenario.connecting,
                  connections_per_load_process(raise_open_file_limit()), kConnectConcurrency, dir);
    const ConnectReport& connected = load.report();
    std::this_thread::sleep_for(kSettle);
    const ProcessSample before = server.sample();
    const double client_before = load.cpu_seconds();
    std::this_thread::sleep_for(workload.duration);
    const ProcessSample after = server.sample();
    record_interval(result, before, after, static_cast<double>(workload.duration.count()) / 1000.0,
                    load.cpu_seconds() - client_before);
    load.close();
    result.ran = true;
    result.connections = connected.connected;
    result.bytes_per_connection =
        connected.connected > 0 && after.rss_bytes > empty.rss_bytes
            ? static_cast<double>(after.rss_bytes - empty.rss_bytes) / static_cast<double>(connected.connected)
            : 0;
    result.p50_us = connected.latencies.size() ? LatencySamples(connected.latencies).quantile_us(0.5) : 0;
    notes.push_back(fmt::format("{} connections opened in {:.1f} s from {} load process{}; server RSS {:.1f} MiB "
                                "empty, {:.1f} MiB with them",
                                connected.connected, connected.seconds, load.processes(),
                                load.processes() == 1 ? "" : "es", static_cast<double>(empty.rss_bytes) / 1048576.0,
                                static_cast<double>(after.rss_bytes) / 1048576.0));
    if (connected.connected != connected.attempted)
      result.problem = fmt::format("{} of {} connections failed; first: {}", connected.attempted - connected.connected,
                                   connected.attempted, connected.first_error);
  }
};

class IcegateTarget final : public ProtocolTarget {
 public:
  explicit IcegateTarget(IcegateTargetOptions options) : options_(std::move(options)) {}
  std::string name() const override { return "icegate"; }
  std::string unavailable(const Workload& workload) const override {
    if (workload.id == "W0") return "W0 is the relay's run of W1's workload";
    return {};
  }

 protected:
  ChildProcess start(const Scenario& scenario, const Workload& workload, const Environment& environment,
                     const fs::path& dir, std::uint16_t& port) override {
    const fs::path policy = dir / "policy.yaml";
    std::ofstream(policy) << scenario_policy_yaml(scenario, fmt::format("bench-{}", workload.id));
    const fs::path port_file = dir / "port";
    std::vector<std::string> argv = {environment.icegate_binary.string(),
                                     "serve",
                                     "--policy", policy.string(),
                                     "--pki", pki_dir(environment).string(),
                                     "--listen", "127.0.0.1:0",
                                     "--data", (dir / "data").string(),
                                     "--port-file", port_file.string(),
                                     "--idle-timeout", "600000",
                                     "--max-connections", std::to_string(std::max<std::size_t>(20'000, scenario.pool_size + 100)),
                                     "--log-level", options_.log_level};
    if (options_.no_fsync) argv.push_back("--no-fsync");
    if (options_.threads > 0) {
      argv.push_back("--threads");
      argv.push_back(std::to_string(options_.threads));
    }
    ChildProcess child(wrapped(argv), dir / "server.log");
    port = wait_listening(child, port_file);
    return child;
  }

 private:
  IcegateTargetOptions options_;
};

class RelayTarget final : public ProtocolTarget {
 public:
  explicit RelayTarget(RelayTargetOptions options) : options_(options) {}
  std::string name() const override { return "relay"; }
  std::string unavailable(const Workload& workload) const override {
    if (workload.id == "W1") return "the relay's run of W1's workload is W0";
    if (workload.shape == Shape::fan_out) return "the relay has no distribution lists or decisions to fan out with";
    return {};
  }

 protected:
  ChildProcess start(const Scenario&, const Workload&, const Environment& environment, const fs::path& dir,
                     std::uint16_t& port) override {
    const fs::path port_file = dir / "port";
    std::vector<std::string> argv = {environment.bench_binary.string(), "bench-relay",
                                     "--pki", pki_dir(environment).string(),
                                     "--port-file", port_file.string()};
    if (options_.keep_buffers) argv.push_back("--keep-buffers");
    ChildProcess child(wrapped(argv), dir / "server.log");
    port = wait_listening(child, port_file);
    return child;
  }

 private:
  RelayTargetOptions options_;
};

}  // namespace

std::unique_ptr<Target> make_icegate_target(IcegateTargetOptions options) {
  return std::make_unique<IcegateTarget>(std::move(options));
}
std::unique_ptr<Target> make_relay_target(RelayTargetOptions options) {
  return std::make_unique<RelayTarget>(options);
}

}  // namespace icegate::bench

#include "tools/bench/bench_cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "tools/bench/idle_load.hpp"
#include "tools/icegate/cmd_serve.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {

namespace fs = std::filesystem;

namespace {

// The running executable: the bench starts its relay as
// `icegate-bench bench-relay` from the very binary that runs it.
fs::path own_executable() {
  std::error_code error;
  fs::path path = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::path() : path;
}

fs::path default_work_dir() {
  const char* tmp = std::getenv("TMPDIR");
  return fs::path(tmp && *tmp ? tmp : "/tmp") / "icegate-bench";
}

// The command that reproduces a run, for the JSON (and docs/PERFORMANCE.md).
std::string describe_command(const bench::BenchOptions& o, double duration, double warmup) {
  std::string text = fmt::format("icegate-bench --workloads {} --targets {}", fmt::join(o.workloads, ","),
                                 fmt::join(o.targets, ","));
  if (o.smoke) text += " --smoke";
  if (duration >= 0) text += fmt::format(" --duration {}", duration);
  if (warmup >= 0) text += fmt::format(" --warmup {}", warmup);
  const auto& v = o.overrides;
  auto size = [&](const char* flag, const std::optional<std::size_t>& value) {
    if (value) text += fmt::format(" {} {}", flag, *value);
  };
  size("--senders", v.senders);
  size("--receivers", v.receivers);
  size("--window", v.window);
  size("--fan-out-recipients", v.fan_out_recipients);
  size("--fan-in-senders", v.fan_in_senders);
  size("--fan-in-receivers", v.fan_in_receivers);
  size("--storm-connections", v.storm_connections);
  size("--idle-connections", v.idle_connections);
  size("--message-bytes", v.message_bytes);
  if (o.environment.key_type == pki::KeyType::ed25519) text += " --key-type ed25519";
  if (o.environment.client_threads != 1) text += fmt::format(" --client-threads {}", o.environment.client_threads);
  if (!o.micro) text += " --no-micro";
  if (o.icegate.log_level != "warn") text += " --gateway-log-level " + o.icegate.log_level;
  if (o.icegate.no_fsync) text += " --no-fsync";
  if (o.icegate.threads > 0) text += fmt::format(" --gateway-threads {}", o.icegate.threads);
  if (o.relay.keep_buffers) text += " --relay-keep-buffers";
  if (!o.environment.icegate_binary.empty()) text += " --icegate " + o.environment.icegate_binary.string();
  return text;
}

std::optional<std::chrono::milliseconds> seconds_option(double seconds) {
  if (seconds < 0) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(std::llround(seconds * 1000)));
}

}  // namespace

int run_bench(const bench::BenchOptions& options, std::ostream& out, std::ostream& err) {
  if (options.environment.icegate_binary.empty() || !fs::exists(options.environment.icegate_binary)) {
    fmt::print(err, "icegate-bench: cannot find the icegate binary to start gateways from ({}); "
               "give its path with --icegate\n",
               options.environment.icegate_binary.empty() ? std::string("none next to icegate-bench or on PATH")
                                                          : options.environment.icegate_binary.string());
    return exit_error;
  }
  bench::BenchReport report;
  try {
    report = bench::run_bench(options, err);
  } catch (const std::invalid_argument& e) {
    fmt::print(err, "icegate-bench: {}\n", e.what());
    return exit_error;
  } catch (const std::exception& e) {
    fmt::print(err, "icegate-bench: {}\n", e.what());
    return exit_error;
  }
  bench::print_table(report, out);
  if (!options.json_file.empty()) {
    std::ofstream json(options.json_file);
    json << bench::to_json(report, options);
    if (!json) {
      fmt::print(err, "icegate-bench: cannot write {}\n", options.json_file.string());
      return exit_error;
    }
  }
  if (!bench::all_runs_sound(report)) {
    fmt::print(err, "icegate-bench: some runs did not deliver what they sent or failed (see PROBLEM/FAILED above)\n");
    return exit_error;
  }
  return exit_ok;
}

fs::path find_icegate(const fs::path& own_directory, const std::string& path) {
  std::error_code error;
  if (!own_directory.empty() && fs::is_regular_file(own_directory / "icegate", error)) return own_directory / "icegate";
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find(':', start), path.size());
    const fs::path candidate = fs::path(path.substr(start, end - start)) / "icegate";
    // An empty PATH entry is the current directory; skip it rather than run
    // whatever `icegate` the bench happens to be started beside.
    if (end > start && fs::is_regular_file(candidate, error) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return {};
}

void add_bench_options(CLI::App& root, int& exit_code) {
  struct Parsed {
    bench::BenchOptions options;
    double duration = -1, warmup = -1;
    std::size_t senders = 0, receivers = 0, window = 0, fan_out_recipients = 0, fan_in_senders = 0,
                fan_in_receivers = 0, storm_connections = 0, idle_connections = 0, message_bytes = 0;
    bool no_micro = false;
  };
  auto parsed = std::make_shared<Parsed>();
  parsed->options.environment.work_dir = default_work_dir();

  CLI::App* app = &root;
  auto& o = parsed->options;
  app->add_option("--workloads", o.workloads, "Workloads to run (comma-separated)")
      ->delimiter(',')
      ->check(CLI::IsMember(bench::all_workload_ids))
      ->capture_default_str();
  app->add_option("--targets", o.targets, "Systems to measure (comma-separated)")
      ->delimiter(',')
      ->check(CLI::IsMember(bench::all_target_names))
      ->capture_default_str();
  app->add_option("--duration", parsed->duration,
                    "Seconds measured per workload (W4: seconds of storm; W5: seconds idle)")
      ->check(CLI::Range(0.05, 3600.0));
  app->add_option("--warmup", parsed->warmup, "Seconds of traffic before the measured interval")
      ->check(CLI::Range(0.0, 600.0));
  app->add_flag("--smoke", o.smoke, "Tiny sizes, under a second per workload and target (for CI)");
  app->add_option("--json", o.json_file, "Also write the results as JSON to FILE");
  app->add_option("--work-dir", o.environment.work_dir,
                    "Certificates (kept between runs), configurations, data and server logs")
      ->capture_default_str();
  app->add_option_function<std::string>(
         "--key-type",
         [&o](const std::string& key) {
           o.environment.key_type = key == "ed25519" ? pki::KeyType::ed25519 : pki::KeyType::ecdsa_p256;
         },
         "Key of every certificate the icegate and relay targets use: the CA's, the server's and the nodes' (the "
         "peers keep P-256)")
      ->check(CLI::IsMember({"p256", "ed25519"}))
      ->default_str("p256");
  app->add_option("--client-threads", o.environment.client_threads, "io_context threads for the load")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
      ->capture_default_str();
  app->add_option("--senders", parsed->senders, "W0/W1 senders")->check(CLI::Range(1, 100000));
  app->add_option("--receivers", parsed->receivers, "W0/W1 receivers")->check(CLI::Range(1, 100000));
  app->add_option("--window", parsed->window, "W0/W1 messages in flight per sender")->check(CLI::Range(1, 4096));
  app->add_option("--fan-out-recipients", parsed->fan_out_recipients, "W2 recipients per message")
      ->check(CLI::Range(1, 100000));
  app->add_option("--fan-in-senders", parsed->fan_in_senders, "W3 senders")->check(CLI::Range(1, 100000));
  app->add_option("--fan-in-receivers", parsed->fan_in_receivers, "W3 receivers")->check(CLI::Range(1, 100000));
  app->add_option("--storm-connections", parsed->storm_connections, "W4 connections reconnecting at once")
      ->check(CLI::Range(1, 100000));
  app->add_option("--idle-connections", parsed->idle_connections, "W5 idle connections")
      ->check(CLI::Range(1, 100000));
  app->add_option("--message-bytes", parsed->message_bytes, "Payload bytes per message")
      ->check(CLI::Range(2, 1 << 19));
  app->add_flag("--no-micro", parsed->no_micro, "Skip the decision and audit-append measurements");
  app->add_option("--gateway-log-level", o.icegate.log_level, "icegate serve --log-level for the icegate target")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app->add_flag("--no-fsync", o.icegate.no_fsync, "Run the gateway with --no-fsync (no fdatasync per group commit), to compare");
  app->add_option("--gateway-threads", o.icegate.threads,
                  "icegate serve --threads for the icegate target (default: the gateway's own, one per core)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1024}));
  app->add_flag("--relay-keep-buffers", o.relay.keep_buffers,
                  "The relay keeps each connection's TLS record buffers (no SSL_MODE_RELEASE_BUFFERS), to compare");
  app->add_option("--icegate", o.environment.icegate_binary,
                    "The icegate executable whose `serve` is the icegate target (default: the one next to "
                    "icegate-bench, else on PATH)");

  // The relay W0 measures, started by the bench as a child process. Hidden:
  // an empty group keeps it out of --help (an empty description alone does not).
  auto relay = std::make_shared<bench::RelayParams>();
  auto listen = std::make_shared<std::string>("127.0.0.1:0");
  CLI::App* relay_command = root.add_subcommand("bench-relay", "");
  relay_command->group("");
  relay_command->add_option("--pki", relay->pki, "PKI directory")->required()->check(CLI::ExistingDirectory);
  relay_command->add_option("--listen", *listen, "HOST:PORT (port 0 picks one)");
  relay_command->add_option("--port-file", relay->port_file, "Write the bound port here once listening");
  relay_command->add_flag("--keep-buffers", relay->keep_buffers, "Keep TLS record buffers (no SSL_MODE_RELEASE_BUFFERS)");
  relay_command->callback([relay, listen, &exit_code] {
    std::string error;
    if (!split_host_port(*listen, relay->host, relay->port, error)) {
      fmt::print(std::cerr, "icegate-bench bench-relay: --listen: {}\n", error);
      exit_code = exit_error;
      return;
    }
    exit_code = bench::run_relay(*relay, std::cerr);
  });

  // W5's load processes (tools/bench/idle_load.hpp), started by the bench. Hidden too.
  auto idle_load = std::make_shared<bench::IdleLoadParams>();
  CLI::App* idle_load_command = root.add_subcommand("bench-idle-load", "");
  idle_load_command->group("");
  idle_load_command->add_option("--pki", idle_load->pki, "PKI directory")->required()->check(CLI::ExistingDirectory);
  idle_load_command->add_option("--port", idle_load->port, "The server's port on 127.0.0.1")->required();
  idle_load_command->add_option("--nodes", idle_load->nodes_file, "Node ids, one a line")->required()->check(CLI::ExistingFile);
  idle_load_command->add_option("--report", idle_load->report_file, "Where to write what connected")->required();
  idle_load_command->add_option("--concurrency", idle_load->concurrency, "Connections attempted at once")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  idle_load_command->callback([idle_load, &exit_code] { exit_code = bench::run_idle_load(*idle_load, std::cerr); });

  app->callback([parsed, relay_command, idle_load_command, &exit_code] {
    // `icegate-bench bench-relay` or `bench-idle-load`: that ran instead.
    if (relay_command->parsed() || idle_load_command->parsed()) return;
    auto& options = parsed->options;
    auto set = [](std::optional<std::size_t>& slot, std::size_t value) {
      if (value > 0) slot = value;
    };
    auto& v = options.overrides;
    set(v.senders, parsed->senders);
    set(v.receivers, parsed->receivers);
    set(v.window, parsed->window);
    set(v.fan_out_recipients, parsed->fan_out_recipients);
    set(v.fan_in_senders, parsed->fan_in_senders);
    set(v.fan_in_receivers, parsed->fan_in_receivers);
    set(v.storm_connections, parsed->storm_connections);
    set(v.idle_connections, parsed->idle_connections);
    set(v.message_bytes, parsed->message_bytes);
    v.duration = seconds_option(parsed->duration);
    v.warmup = seconds_option(parsed->warmup);
    options.micro = !parsed->no_micro;
    // Described before the search below: --icegate appears only when given.
    options.command_line = describe_command(options, parsed->duration, parsed->warmup);
    options.environment.bench_binary = own_executable();
    if (options.environment.icegate_binary.empty()) {
      const char* path = std::getenv("PATH");
      options.environment.icegate_binary =
          find_icegate(options.environment.bench_binary.parent_path(), path ? path : "");
    }
    exit_code = run_bench(options, std::cout, std::cerr);
  });
}

}  // namespace icegate::cli

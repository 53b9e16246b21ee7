#include "tools/bench/idle_load.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace icegate::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kMostPerProcess = 10'000;
constexpr std::uint64_t kSpareDescriptors = 256;  // the load process's own files, epoll and eventfds
constexpr auto kReportTimeout = 600s;             // one process connecting its share, at worst

std::vector<std::string> read_nodes(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(fmt::format("cannot read {}", file.string()));
  std::vector<std::string> nodes;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) nodes.push_back(line);
  return nodes;
}

// First line: connected, attempted, seconds; second: the first failure (or
// empty); then each connection's time to Welcome, in nanoseconds.
void write_report(const fs::path& file, const ConnectReport& report) {
  const fs::path partial = file.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    out << report.connected << ' ' << report.attempted << ' ' << fmt::format("{:.6f}", report.seconds) << '\n';
    std::string why = report.first_error;
    std::replace(why.begin(), why.end(), '\n', ' ');
    out << why << '\n';
    for (const auto ns : report.latencies.values()) out << ns << '\n';
    if (!out.flush()) throw std::runtime_error(fmt::format("cannot write {}", partial.string()));
  }
  fs::rename(partial, file);
}

ConnectReport read_report(const fs::path& file) {
  std::ifstream in(file);
  ConnectReport report;
  std::string first;
  if (!std::getline(in, first)) throw std::runtime_error(fmt::format("{} is empty", file.string()));
  std::istringstream numbers(first);
  if (!(numbers >> report.connected >> report.attempted >> report.seconds))
    throw std::runtime_error(fmt::format("{}: not a load report: '{}'", file.string(), first));
  std::getline(in, report.first_error);
  for (std::int64_t ns; in >> ns;) report.latencies.add(ns);
  return report;
}

}  // namespace

std::size_t connections_per_load_process(std::uint64_t open_files) {
  const std::uint64_t fits = open_files > kSpareDescriptors ? open_files - kSpareDescriptors : 1;
  return static_cast<std::size_t>(std::min<std::uint64_t>(kMostPerProcess, fits));
}

int run_idle_load(const IdleLoadParams& params, std::ostream& err) {
  try {
    // SIGTERM and SIGINT are taken by sigwait below, on this thread: block
    // them before the load generator starts its threads, which inherit the mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    const std::vector<std::string> nodes = read_nodes(params.nodes_file);
    const std::uint64_t limit = raise_open_file_limit(nodes.size() + kSpareDescriptors);
    if (limit < nodes.size() + kSpareDescriptors)
      throw std::runtime_error(fmt::format("{} connections need {} open files; the limit is {}", nodes.size(),
                                           nodes.size() + kSpareDescriptors, limit));
    LoadGenerator load({params.pki, params.port, 1});
    ConnectReport report = load.connect(nodes, params.concurrency);
    write_report(params.report_file, report);

    int signal = 0;
    sigwait(&stop_signals, &signal);
    load.close_all();
    return 0;
  } catch (const std::exception& e) {
    err << "icegate-bench bench-idle-load: " << e.what() << '\n';
    return 1;
  }
}

IdleLoad::IdleLoad(const Environment& environment, const fs::path& pki, std::uint16_t port,
                   const std::vector<std::string>& nodes, std::size_t per_process, std::size_t concurrency,
                   const fs::path& dir) {
  report_.attempted = 0;
  const std::size_t processes = nodes.empty() ? 0 : (nodes.size() + per_process - 1) / std::max<std::size_t>(per_process, 1);
  for (std::size_t p = 0; p < processes; ++p) {
    // An even share each: 19,000 over two processes is 9,500 and 9,500.
    const std::size_t begin = nodes.size() * p / processes, end = nodes.size() * (p + 1) / processes;
    const fs::path nodes_file = dir / fmt::format("load-{}.nodes", p);
    const fs::path report_file = dir / fmt::format("load-{}.report", p);
    {
      std::ofstream out(nodes_file, std::ios::trunc);
      for (std::size_t i = begin; i < end; ++i) out << nodes[i] << '\n';
      if (!out.flush()) throw std::runtime_error(fmt::format("cannot write {}", nodes_file.string()));
    }
    fs::remove(report_file);
    children_.emplace_back(std::vector<std::string>{environment.bench_binary.string(), "bench-idle-load",
                                                    "--pki", pki.string(),
                                                    "--port", std::to_string(port),
                                                    "--nodes", nodes_file.string(),
                                                    "--report", report_file.string(),
                                                    "--concurrency", std::to_string(concurrency)},
                           dir / fmt::format("load-{}.log", p));
    ChildProcess& child = children_.back();
    ++processes_;
    const auto until = std::chrono::steady_clock::now() + kReportTimeout;
    while (!fs::exists(report_file)) {
      if (!child.running())
        throw std::runtime_error(fmt::format("load process {} {} before reporting: {}", p, child.describe_status(),
                                             tail_of_file(dir / fmt::format("load-{}.log", p), 5)));
      if (std::chrono::steady_clock::now() > until)
        throw std::runtime_error(fmt::format("load process {} did not report within {} s", p, kReportTimeout.count()));
      std::this_thread::sleep_for(10ms);
    }
    const ConnectReport part = read_report(report_file);
    report_.attempted += part.attempted;
    report_.connected += part.connected;
    report_.seconds += part.seconds;
    if (report_.first_error.empty()) report_.first_error = part.first_error;
    report_.latencies.merge(part.latencies);
  }
}

IdleLoad::~IdleLoad() { close(); }

double IdleLoad::cpu_seconds() {
  double total = 0;
  for (auto& child : children_)
    if (const auto sample = sample_process(child.pid())) total += sample->cpu_seconds;
  return total;
}

void IdleLoad::close() {
  for (auto& child : children_)
    if (child.running()) ::kill(child.pid(), SIGTERM);
  for (auto& child : children_) child.stop(10s);
  children_.clear();
}

}  // namespace icegate::bench

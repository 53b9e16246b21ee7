#include "tools/icegate/cmd_host.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <thread>

#include <poll.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <spdlog/spdlog.h>

#include "clients/exercise/host/host.hpp"
#include "clients/exercise/host/plan.hpp"
#include "tools/icegate/cmd_serve.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {

namespace {

std::atomic<bool> interrupted{false};
extern "C" void on_host_interrupt(int) { interrupted = true; }

// The terminal's lines, read without blocking (poll(2) on standard input;
// in_avail() for another stream), so the loop can also watch the pages.
class Lines {
 public:
  explicit Lines(std::istream& in) : in_(in) {}
  // Every whole line typed since the last call.
  std::vector<std::string> take() {
    std::string text;
    if (&in_ == &std::cin) {
      pollfd fd{STDIN_FILENO, POLLIN, 0};
      if (!ended_ && ::poll(&fd, 1, 0) > 0) {
        char buffer[256];
        const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (n <= 0) ended_ = true;
        else text.assign(buffer, static_cast<std::size_t>(n));
      }
    } else if (const std::streamsize waiting = in_.rdbuf()->in_avail(); waiting > 0) {
      text.resize(static_cast<std::size_t>(waiting));
      text.resize(static_cast<std::size_t>(in_.rdbuf()->sgetn(text.data(), waiting)));
    }
    pending_ += text;
    std::vector<std::string> lines;
    for (auto end = pending_.find('\n'); end != std::string::npos; end = pending_.find('\n')) {
      std::string line = pending_.substr(0, end);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
      pending_.erase(0, end + 1);
    }
    return lines;
  }

 private:
  std::istream& in_;
  std::string pending_;
  bool ended_ = false;
};

}  // namespace

int run_exercise_host(const ExerciseHostParams& params, std::istream& in, std::ostream& out, std::ostream& err) {
  exercise::host::HostConfig config;
  std::string error;
  if (!parse_http_address(params.http, config.listen, error)) {
    fmt::print(err, "icegate exercise host: --http: {}\n", error);
    return exit_error;
  }
  if (!(params.speed > 0) || params.speed > 100000) {
    fmt::print(err, "icegate exercise host: --speed: scenario seconds per second, above 0 and at most 100000\n");
    return exit_error;
  }
  if (params.out.empty()) {
    fmt::print(err, "icegate exercise host: --out: name the directory for the reports\n");
    return exit_error;
  }
  config.https = params.https;
  config.names = params.http_names;
  config.speed = params.speed;
  config.out = params.out;

  exercise::host::HostRequest request{params.scenario, params.policy, params.compare, params.play, params.evaluators};
  auto planned = exercise::host::plan_host(request);
  if (auto* problem = std::get_if<exercise::host::PlanError>(&planned)) {
    fmt::print(err, "icegate exercise host: {}\n", problem->message);
    return problem->invalid_policy ? exit_invalid_policy : exit_error;
  }
  auto& plan = std::get<exercise::host::HostPlan>(planned);
  const std::string title = plan.scenario.title.empty() ? plan.scenario.name : plan.scenario.title;
  const std::size_t table_count = plan.tables.size();

  exercise::host::ExerciseHost host(std::move(plan), config);
  exercise::host::HostLinks links;
  try {
    links = host.start();
  } catch (const std::exception& e) {
    fmt::print(err, "icegate exercise host: {}\n", e.what());
    return exit_error;
  }
  fmt::print(out, "Hosting {} ({} table{}), paused at the start: the facilitator presses start.\n", title, table_count,
             table_count == 1 ? "" : "s");
  fmt::print(out, "facilitator: {}\n", links.facilitator);
  for (const auto& [seat, link] : links.seats) fmt::print(out, "seat {}: {}\n", seat, link);
  for (const auto& [name, link] : links.evaluators) fmt::print(out, "evaluator {}: {}\n", name, link);
  if (!links.ca_fingerprint.empty())
    fmt::print(out, "HTTPS with the exercise's own CA ({}), SHA-256 {}\n", links.ca_certificate.string(),
               links.ca_fingerprint);
  fmt::print(out, "Type p (pause), r (resume), s (step), q (finish and write the reports), or press Ctrl-C.\n");
  out.flush();

  interrupted = false;
  // Ctrl-C, or a service manager's SIGTERM: finish as the facilitator would, reports and all.
  auto previous_int = std::signal(SIGINT, on_host_interrupt);
  auto previous_term = std::signal(SIGTERM, on_host_interrupt);
  struct Restore {
    decltype(previous_int) int_handler, term_handler;
    ~Restore() {
      std::signal(SIGINT, int_handler);
      std::signal(SIGTERM, term_handler);
    }
  } restore{previous_int, previous_term};

  Lines lines(in);
  while (!host.runs_ended()) {
    for (const auto& line : lines.take()) {
      if (line == "p" || line == "pause") host.pause();
      else if (line == "r" || line == "resume") host.resume();
      else if (line == "s" || line == "step") host.step();
      else if (line == "q" || line == "quit") host.finish();
    }
    if (interrupted.exchange(false)) host.finish();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const int code = host.wait_and_report(out, err);
  // The facilitator's page still serves the reports for a while (when there are any).
  if (params.linger_seconds > 0 && (code == exit_ok || code == exit_denied)) {
    fmt::print(out, "The facilitator's page serves the reports for {:.0f} s; type q or press Ctrl-C to end now.\n",
               params.linger_seconds);
    out.flush();
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(params.linger_seconds);
    bool quit = false;
    while (!quit && std::chrono::steady_clock::now() < until) {
      for (const auto& line : lines.take()) quit |= line == "q" || line == "quit";
      quit |= interrupted.exchange(false);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  host.stop();
  return code;
}

void add_exercise_host_command(CLI::App& exercise, int& exit_code) {
  auto params = std::make_shared<ExerciseHostParams>();
  CLI::App* host = exercise.add_subcommand(
      "host", "Host an exercise with people in it: seats, a facilitator and evaluators, on web pages (docs/HOSTING.md)");
  host->add_option("scenario", params->scenario, "Scenario file (YAML)")->required()->check(CLI::ExistingFile);
  host->add_option("--policy", params->policy, "Policy (default: the scenario's)")->check(CLI::ExistingFile);
  host->add_option("--compare", params->compare, "A second table under this policy, side by side")
      ->check(CLI::ExistingFile);
  host->add_option("--play", params->play, "Nodes people play: a,b,c or all (default: the scenario's players:)");
  host->add_option("--http", params->http, "Address to serve on, HOST:PORT (beyond loopback: HTTPS)")
      ->capture_default_str();
  host->add_option("--http-name", params->http_names,
                   "A name (or address) players reach the host by, for the certificate and the links; repeatable");
  host->add_flag("--https", params->https, "HTTPS on loopback too");
  host->add_option("--speed", params->speed, "Scenario seconds per real second")->capture_default_str();
  host->add_option("--out", params->out, "Directory for the reports")->capture_default_str();
  auto evaluators = std::make_shared<int>(-1);
  host->add_option("--evaluators", *evaluators, "How many evaluators (default: the scenario's evaluators:)")
      ->check(CLI::Range(0, 100));
  host->add_option("--linger", params->linger_seconds,
                   "After the reports, keep serving them this many seconds (q or Ctrl-C ends sooner)")
      ->capture_default_str();
  host->callback([params, evaluators, &exit_code] {
    // The gateways' own log would drown the links and the facilitator's keys; warnings still show.
    spdlog::set_level(spdlog::level::warn);
    if (*evaluators >= 0) params->evaluators = *evaluators;
    exit_code = run_exercise_host(*params, std::cin, std::cout, std::cerr);
  });
}

}  // namespace icegate::cli

#include "tools/icegate/cmd_host.hpp"

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <spdlog/spdlog.h>

#include "clients/exercise/host/host.hpp"
#include "clients/exercise/host/plan.hpp"
#include "tools/icegate/cmd_serve.hpp"
#include "tools/icegate/signal_watch.hpp"
#include "tools/icegate/terminal_lines.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {

namespace {

// What the terminal loop waits for, each told by whoever sees it: a line
// typed (TerminalLines), Ctrl-C or SIGTERM (SignalWatch), every run ended
// (HostConfig::runs_ended). Each is reported once.
class Events {
 public:
  struct Next {
    std::vector<std::string> lines;
    bool interrupted = false;
    bool runs_ended = false;
  };

  void line(std::string text) {
    tell([&] { next_.lines.push_back(std::move(text)); });
  }
  void interrupt() {
    tell([&] { next_.interrupted = true; });
  }
  void runs_ended() {
    tell([&] { next_.runs_ended = true; });
  }
  // Waits for the next events, or until `until` (then reports none).
  Next wait(std::chrono::steady_clock::time_point until = std::chrono::steady_clock::time_point::max()) {
    std::unique_lock lock(mutex_);
    auto any = [this] { return !next_.lines.empty() || next_.interrupted || next_.runs_ended; };
    if (until == std::chrono::steady_clock::time_point::max()) changed_.wait(lock, any);
    else changed_.wait_until(lock, until, any);
    return std::exchange(next_, {});
  }

 private:
  template <typename F>
  void tell(F f) {
    {
      std::lock_guard lock(mutex_);
      f();
    }
    changed_.notify_all();
  }

  std::mutex mutex_;  // guards next_
  std::condition_variable changed_;
  Next next_;
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

  exercise::host::HostRequest request{params.scenario, params.policy,     params.compare,
                                      params.play,     params.evaluators, params.gateway};
  auto planned = exercise::host::plan_host(request);
  if (auto* problem = std::get_if<exercise::host::PlanError>(&planned)) {
    fmt::print(err, "icegate exercise host: {}\n", problem->message);
    return problem->invalid_policy ? exit_invalid_policy : exit_error;
  }
  auto& plan = std::get<exercise::host::HostPlan>(planned);
  const std::string title = plan.scenario.title.empty() ? plan.scenario.name : plan.scenario.title;
  const std::size_t table_count = plan.tables.size();
  const std::size_t gateway_count = plan.tables.front().gateways.size();  // 0: one gateway

  Events events;  // outlives the host, whose last run tells it
  config.runs_ended = [&events] { events.runs_ended(); };
  exercise::host::ExerciseHost host(std::move(plan), config);
  exercise::host::HostLinks links;
  try {
    links = host.start();
  } catch (const std::exception& e) {
    fmt::print(err, "icegate exercise host: {}\n", e.what());
    return exit_error;
  }
  fmt::print(out, "Hosting {} ({} table{}{}), paused at the start: the facilitator presses start.\n", title, table_count,
             table_count == 1 ? "" : "s",
             gateway_count == 0   ? ""
             : table_count == 1 ? fmt::format(", across {} gateways", gateway_count)
                                : fmt::format(", each across {} gateways", gateway_count));
  fmt::print(out, "facilitator: {}\n", links.facilitator);
  for (const auto& [seat, link] : links.seats) fmt::print(out, "seat {}: {}\n", seat, link);
  for (const auto& [name, link] : links.evaluators) fmt::print(out, "evaluator {}: {}\n", name, link);
  if (!links.ca_fingerprint.empty())
    fmt::print(out, "HTTPS with the exercise's own CA ({}), SHA-256 {}\n", links.ca_certificate.string(),
               links.ca_fingerprint);
  fmt::print(out, "Type p (pause), r (resume), s (step), q (finish and write the reports), or press Ctrl-C.\n");
  out.flush();

  // Ctrl-C, or a service manager's SIGTERM: finish as the facilitator would, reports and all.
  SignalWatch signals({SIGINT, SIGTERM}, [&events] { events.interrupt(); });
  TerminalLines lines(in, [&events](std::string line) { events.line(std::move(line)); });
  bool ended_here = false;  // q, Ctrl-C or SIGTERM: whoever ended it is at the terminal, not on the page
  while (!host.runs_ended()) {
    const Events::Next next = events.wait();
    for (const auto& line : next.lines) {
      if (line == "p" || line == "pause") host.pause();
      else if (line == "r" || line == "resume") host.resume();
      else if (line == "s" || line == "step") host.step();
      else if (line == "q" || line == "quit") ended_here = true;
    }
    ended_here |= next.interrupted;
    if (ended_here) host.finish();
  }
  const int code = host.wait_and_report(out, err);
  // Finished from the facilitator's page: the page still serves the reports for a while.
  if (!ended_here && params.linger_seconds > 0 && (code == exit_ok || code == exit_denied)) {
    fmt::print(out, "The facilitator's page serves the reports for {:.0f} s; type q or press Ctrl-C to end now.\n",
               params.linger_seconds);
    out.flush();
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(params.linger_seconds));
    // The linger is a deadline, not a poll: the wait ends at it, or at q or a signal.
    bool quit = false;
    while (!quit && std::chrono::steady_clock::now() < until) {
      const Events::Next next = events.wait(until);
      for (const auto& line : next.lines) quit |= line == "q" || line == "quit";
      quit |= next.interrupted;
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
  host->add_option("--gateway", params->gateway,
                   "A scenario with several gateways: the gateway whose policy --policy and --compare replace");
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
                   "Finished from the facilitator's page: keep serving the reports this many seconds "
                   "(q or Ctrl-C ends sooner)")
      ->capture_default_str();
  host->callback([params, evaluators, &exit_code] {
    // The gateways' own log would drown the links and the facilitator's keys; warnings still show.
    spdlog::set_level(spdlog::level::warn);
    if (*evaluators >= 0) params->evaluators = *evaluators;
    exit_code = run_exercise_host(*params, std::cin, std::cout, std::cerr);
  });
}

}  // namespace icegate::cli

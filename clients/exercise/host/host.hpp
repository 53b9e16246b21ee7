// `icegate exercise host`, as a library: one io_context thread for every
// gateway, dashboard and the web server, a runner thread per table, the
// host's Site, and at the end the merged results and the reports. The CLI
// (tools/icegate/cmd_host.cpp) parses flags into a HostPlan and HostConfig
// and drives this.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "clients/exercise/host/plan.hpp"
#include "clients/exercise/results.hpp"

namespace icegate::exercise::host {

class HostSite;

struct HostConfig {
  boost::asio::ip::tcp::endpoint listen{boost::asio::ip::make_address("127.0.0.1"), 8080};
  // TLS with a certificate from the exercise's own CA: always beyond
  // loopback; on loopback when asked (the browser test does).
  bool https = false;
  std::vector<std::string> names;  // --http-name: DNS names (or addresses) players reach the host by
  double speed = 60;               // scenario seconds per real second
  std::filesystem::path out;       // the reports
  // The host's CA and server key, and each table's run (its PKI and its
  // gateway's data, the audit trail among it, in table-K/); temporary
  // directories, removed at the end, when empty.
  std::filesystem::path work_dir;
  std::ostream* progress = nullptr;
  // Called once every run has ended (runs_ended() is then true), on the
  // thread of the run that ended last: for a caller that waits on events.
  std::function<void()> runs_ended;
};

// What the host printed and will serve: the links people open.
struct HostLinks {
  std::string facilitator;
  std::vector<std::pair<std::string, std::string>> seats;       // "table/node" (or "node"), link
  std::vector<std::pair<std::string, std::string>> evaluators;  // name, link
  std::string ca_fingerprint;                                   // "" over plain HTTP
  std::filesystem::path ca_certificate;                         // "" over plain HTTP
};

class ExerciseHost {
 public:
  ExerciseHost(HostPlan plan, HostConfig config);
  ~ExerciseHost();  // stops everything still running
  ExerciseHost(const ExerciseHost&) = delete;
  ExerciseHost& operator=(const ExerciseHost&) = delete;

  // Binds the server and starts the runs, paused at the scenario's start (the
  // facilitator's start is resume). Throws std::runtime_error / system_error
  // (a port in use, a certificate that cannot be made) with nothing left running.
  HostLinks start();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  HostSite& site();

  // The terminal's p / r / s, for every table.
  void pause();
  void resume();
  void step();
  // As the facilitator's finish: the runs stop. Any thread; idempotent.
  void finish();
  // The runs have ended (by finish, or an error).
  bool runs_ended() const { return runs_ended_; }
  // Waits for the runs, merges what people did into the results, writes the
  // reports into config.out and tells the site. Returns the exit code of
  // `icegate exercise run`: 0 every expectation met, 1 error, 2 unmet, 3 invalid policy.
  int wait_and_report(std::ostream& out, std::ostream& err);
  // Stops the server and the io thread. Idempotent.
  void stop();

  // The results, once wait_and_report has run (one per table).
  const std::vector<RunResult>& results() const { return results_; }
  std::vector<std::string> report_names() const;
  // Table k's gateway data (its audit trail: audit::verify, audit::query), or
  // "" when the run had a temporary directory.
  std::filesystem::path data_dir(std::size_t table) const;
  // Across several gateways: gateway `gateway`'s data at table k (each has its own trail).
  std::filesystem::path data_dir(std::size_t table, const std::string& gateway) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> runs_ended_{false};
  std::vector<RunResult> results_;
};

}  // namespace icegate::exercise::host

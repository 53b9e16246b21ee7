#include "tools/bench/peers/peers.hpp"

#include "tools/bench/peers/targets.hpp"

#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace icegate::bench {

std::vector<std::unique_ptr<Target>> peer_targets() {
  std::vector<std::unique_ptr<Target>> targets;
  targets.push_back(peers::make_mosquitto_target());
  targets.push_back(peers::make_nats_target());
  return targets;
}

namespace peers {
namespace {

// Stands in for a peer whose client library was not found at build time.
class UnavailableTarget final : public Target {
 public:
  UnavailableTarget(std::string name, std::string why) : name_(std::move(name)), why_(std::move(why)) {}
  std::string name() const override { return name_; }
  std::string unavailable(const Workload&) const override { return why_; }
  Result run(const Workload& workload, const Environment&) override {
    Result result;
    result.target = name_;
    result.workload = workload.id;
    result.skipped = why_;
    return result;
  }

 private:
  std::string name_, why_;
};

}  // namespace

#ifndef ICEGATE_BENCH_HAVE_MOSQUITTO
std::unique_ptr<Target> make_mosquitto_target() {
  return std::make_unique<UnavailableTarget>("mosquitto", "built without libmosquitto (install libmosquitto-dev and reconfigure)");
}
#endif
#ifndef ICEGATE_BENCH_HAVE_NATS
std::unique_ptr<Target> make_nats_target() {
  return std::make_unique<UnavailableTarget>("nats", "built without libnats (install libnats-dev and reconfigure)");
}
#endif

std::filesystem::path peer_pki_directory(const Environment& environment) {
  return environment.work_dir / "peers-pki";
}

std::filesystem::path fresh_run_directory(const Environment& environment, const std::string& target,
                                          const std::string& workload_id) {
  const auto directory = environment.work_dir / target / workload_id;
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  return directory;
}

Result failed_result(const std::string& target, const Workload& workload, const std::string& why) {
  Result result;
  result.target = target;
  result.workload = workload.id;
  result.ran = false;
  result.errors = 1;
  result.skipped = "failed: " + why;
  result.note = result.skipped;
  result.problem = why;
  return result;
}

Result run_guarded(const Target& target, const Workload& workload, const std::function<Result()>& body) {
  if (auto why = target.unavailable(workload); !why.empty()) {
    Result result;
    result.target = target.name();
    result.workload = workload.id;
    result.skipped = why;
    return result;
  }
  try {
    return body();
  } catch (const std::exception& error) {
    return failed_result(target.name(), workload, error.what());
  }
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

std::size_t fit_idle_connections(const Plan& plan, std::size_t per_client, std::string& note) {
  constexpr std::size_t spare = 256;
  const std::size_t active = plan.senders.size() + plan.receivers.size();
  const auto wanted = (active + plan.idle_connections) * per_client + spare;
  const auto limit = raise_open_file_limit(wanted);
  if (limit >= wanted) return plan.idle_connections;
  if (plan.idle_connections == 0) {
    throw std::runtime_error(fmt::format("{} clients need {} open files; the limit is {}", active, wanted, limit));
  }
  const std::size_t idle = limit > spare ? (limit - spare) / per_client : 0;
  note += fmt::format("only {} of {} idle connections: the open-file limit is {} ({} descriptor{} per client). ", idle,
                      plan.idle_connections, limit, per_client, per_client == 1 ? "" : "s");
  return idle;
}

void set_bytes_per_connection(Result& result, const ProcessSample& before, const ProcessSample& after) {
  if (result.connections == 0) return;
  result.bytes_per_connection = (static_cast<double>(after.rss_bytes) - static_cast<double>(before.rss_bytes)) /
                                static_cast<double>(result.connections);
}

void report_undrained(Meter& meter) {
  meter.error(fmt::format("{} deliveries still missing {} s after sending stopped", meter.owed_total(),
                          std::chrono::duration_cast<std::chrono::seconds>(drain_timeout).count()));
}

void finish_result(Result& result, const Meter& meter, std::string note) {
  if (meter.errors() > 0) {
    result.problem = fmt::format("{} errors: {}", meter.errors(), meter.error_summary());
    note += "Errors: " + meter.error_summary() + ". ";
  }
  result.ran = true;
  result.note = std::move(note);
}

}  // namespace peers
}  // namespace icegate::bench

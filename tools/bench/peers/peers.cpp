#include "tools/bench/peers/peers.hpp"

#include "tools/bench/peers/targets.hpp"

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

}  // namespace peers
}  // namespace icegate::bench

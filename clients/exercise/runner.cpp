#include "clients/exercise/runner.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <spdlog/spdlog.h>

#include "clients/exercise/check.hpp"
#include "clients/exercise/runner_nodes.hpp"
#include "clients/exercise/work_dir.hpp"
#include "clients/exercise/table.hpp"
#include "clients/node/node_client.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/federation/peer_link.hpp"
#include "gateway/pki/pki.hpp"
#include "gateway/policy/checker.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/gateway.hpp"
#include "gateway/server/router.hpp"
#include "gateway/transport/tls.hpp"

namespace icegate::exercise {

bool RunResult::all_met() const {
  return std::all_of(expectations.begin(), expectations.end(), [](const auto& e) { return e.met; });
}

namespace {

using namespace std::chrono_literals;

// A message id for the `count`th message sent by inject or response `source`:
// a UUID (version 8, RFC 9562) made from a SHA-256 of what names it. Each run
// has a gateway and store of its own, so an id need only be unique within the
// run, and the same scenario then gives the same ids, and the same reports.
std::string run_message_id(const std::string& scenario, const std::string& source, int count) {
  return make_name_based_uuid(fmt::format("icegate exercise\n{}\n{}\n{}", scenario, source, count));
}

// `file` as the scenario's `policy:` would name it (relative to the scenario's
// directory, '/'-separated), so a report says which policy without saying
// where on the facilitator's machine it was.
std::string relative_to_scenario(const std::filesystem::path& file, const std::filesystem::path& scenario) {
  if (scenario.empty()) return file.filename().generic_string();
  const auto normal = [](const std::filesystem::path& p) { return std::filesystem::absolute(p).lexically_normal(); };
  const auto relative = normal(file).lexically_relative(normal(scenario).parent_path());
  return relative.empty() ? file.filename().generic_string() : relative.generic_string();
}

std::shared_ptr<const policy::CompiledPolicy> load_valid_policy(const std::filesystem::path& file,
                                                                const std::string& gateway) {
  auto loaded = server::load_policy_giving_memory_back(file);
  if (!loaded.policy) {
    std::string errors;
    for (const auto& d : loaded.diagnostics.sorted()) errors += "\n" + policy::to_string(d);
    throw InvalidPolicyError(fmt::format("policy {}{} is invalid:{}", file.string(),
                                         gateway.empty() ? "" : " (gateway " + gateway + ")", errors));
  }
  return loaded.policy;
}

class Runner {
  // The run's gateways: one, or one per `gateways:` entry, in the scenario's order.
  // What gateway_parts gives (id "" for a scenario with one gateway), and the run's own of it.
  struct RunGateway : GatewayPart {
    std::filesystem::path pki;
    std::uint16_t port = 0;
    std::unique_ptr<server::Gateway> gateway;
  };
 public:
  Runner(const Scenario& scenario, const RunOptions& options) : scenario_(scenario), options_(options) {}
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;
  // The table is the host's and outlives the run: it must not tell a runner that has gone.
  ~Runner() {
    if (table_) table_->set_command_watch({});
  }

  RunResult run() {
    load_policy();
    validate();
    seat_table();
    WorkDir work(options_.work_dir, "icegate-exercise");
    const auto started = std::chrono::steady_clock::now();
    try {
      start_gateway(work.path());
      play(started);
    } catch (...) {
      // Whatever went wrong, the gateway and the nodes stop: on a loop the
      // caller shares (RunOptions::io), a gateway left behind would outlive
      // this run, and an own loop's thread must be joined.
      if (any_gateway() && (options_.io || io_thread_.joinable()) && !stopping_gateway_) {
        try {
          stop();
        } catch (const std::exception& e) {
          spdlog::warn("exercise: stopping after an error failed too: {}", e.what());
        }
      }
      throw;
    }
    return std::move(result_);
  }

 private:
  void play(std::chrono::steady_clock::time_point started) {
    connect_nodes(work_dir_);
    schedule();
    now_ = scenario_.start;
    publish(true);
    if (options_.real_time) run_real_time();
    else run_simulated();
    finish();
    finished_ = true;
    publish(true);
    if (table_) {
      TableStatus status = table_->status();
      status.state = stopped_early_ ? "stopped" : "finished";
      status.now = now_;
      status.next.reset();
      table_->set_status(std::move(status));
      std::vector<LiveExpectation> board;
      for (const auto& r : result_.expectations)
        board.push_back({r.id, r.description, r.kind, r.met ? "met" : "unmet", r.evidence});
      table_->set_expectations(std::move(board));
      table_->set_human_actions(result_.human_actions);
    }
    if (options_.keep_open && options_.control) options_.control->wait_stopped();
    stop();
    if (table_) {
      // Evaluators may still write while a finished run is kept open: take what they wrote last.
      result_.observations = table_->observations();
      result_.ratings = table_->ratings();
      result_.improvement_plan = table_->improvement_plan();
    }
    result_.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  // ---- set-up ---------------------------------------------------------------

  void load_policy() {
    if (!scenario_.gateways.empty()) return load_gateway_policies();
    if (!options_.gateway.empty())
      throw RunError(fmt::format("--gateway {}: scenario {} has one gateway; --gateway names one of a scenario's "
                                 "`gateways`", options_.gateway, scenario_.name));
    const auto file = options_.policy.empty() ? scenario_.policy : options_.policy;
    if (file.empty()) throw RunError("no policy: give --policy, or `policy:` in the scenario");
    policy_ = load_valid_policy(file, "");
    policy_file_ = file;
    participants_ = participants(scenario_, *policy_);
    RunGateway only;
    only.address = "127.0.0.1";
    only.policy = policy_;
    only.policy_file = file;
    only.nodes = participants_;
    gateways_.push_back(std::move(only));
  }

  // Several gateways (`gateways:`): each its own policy; RunOptions::policy
  // replaces the one of the gateway RunOptions::gateway names (gateway_parts).
  void load_gateway_policies() {
    GatewayPolicies policies;
    for (auto& part : gateway_parts(scenario_, options_.policy, options_.gateway)) {
      policies.push_back(part.policy);
      gateways_.push_back(RunGateway{std::move(part)});
    }
    participants_ = participants(scenario_, policies);
    policy_ = gateways_.front().policy;
    policy_file_ = gateways_.front().policy_file;
  }

  // Every name the scenario uses, checked against the policy before anything
  // starts; the same check as `icegate exercise check`.
  void validate() {
    GatewayPolicies policies;
    for (const auto& g : gateways_) policies.push_back(g.policy);
    const Diagnostics problems = scenario_.gateways.empty() ? check_against_policy(scenario_, *policy_)
                                                            : check_against_gateways(scenario_, policies);
    if (problems.has_errors()) throw RunError(render(problems));
  }

  // People play: which nodes, checked before anything starts.
  void seat_table() {
    if (!table_) return;
    if (!options_.real_time) throw RunError("people play only in real time (RunOptions::real_time)");
    std::vector<std::string> strangers;
    for (const auto& node : table_->played()) {
      if (std::find(participants_.begin(), participants_.end(), node) == participants_.end()) strangers.push_back(node);
      played_.insert(node);
    }
    if (!strangers.empty())
      throw RunError(fmt::format("played node(s) {} do not take part in scenario {}", fmt::join(strangers, ", "),
                                 scenario_.name));
    table_->set_policy(policy_);
    if (!scenario_.gateways.empty()) {
      // Each seat composes under its own gateway's policy.
      std::vector<TableGateway> gateways;
      for (const auto& g : gateways_) gateways.push_back({g.id, g.policy, g.nodes});
      table_->set_gateways(std::move(gateways));
    }
    // What people ask for wakes the run (paused or not), which carries it out.
    table_->set_command_watch([this] { control().wake(); });
    TableStatus status;
    status.state = "starting";
    status.now = scenario_.start;
    status.t0_unix_ms = scenario_.t0_unix_ms;
    status.speed = speed();
    table_->set_status(std::move(status));
    result_.played = table_->played();
    result_.table = table_->name();
  }

  boost::asio::io_context& io() { return options_.io ? *options_.io : own_io_; }

  // The facilitator's controls, or (none given) the runner's own, which nobody uses.
  Control& control() { return options_.control ? *options_.control : own_control_; }

  void start_gateway(const std::filesystem::path& dir) {
    work_dir_ = dir;
    clock_ = std::make_shared<SimulatedClock>(from_unix_ms(scenario_.t0_unix_ms + scenario_.start.count()));
    if (scenario_.gateways.empty()) {
      RunGateway& only = gateways_.front();
      only.pki = dir / "pki";
      pki::init_ca(only.pki, "icegate exercise CA", true);
      // A scratch PKI, removed with the run: written whole, but not fsynced.
      for (const auto& node : participants_) pki::issue_node(only.pki, node, {.sync = false});
      server::GatewayConfig config = gateway_config(only, dir / "data");
      config.listen = {boost::asio::ip::make_address("127.0.0.1"), 0};
      start(only, config);
    } else {
      start_gateways(dir);
    }
    result_.policy_version = policy_->version();
  }

  server::GatewayConfig gateway_config(const RunGateway& g, const std::filesystem::path& data) const {
    server::GatewayConfig config;
    config.pki_dir = g.pki;
    config.policy_file = g.policy_file;
    config.data_dir = data;
    config.clock = clock_;
    config.durable_fsync = false;  // an exercise needs no power-cut durability; it needs speed
    config.idle_timeout = std::chrono::hours(24);
    config.max_connections = g.nodes.size() + gateways_.size() + 64;
    return config;
  }

  // Makes and starts a gateway on the run's loop; the first is the one the
  // hooks (a dashboard) see.
  void start(RunGateway& g, const server::GatewayConfig& config) {
    const bool first = &g == &gateways_.front();
    auto make = [&] {
      g.gateway = std::make_unique<server::Gateway>(io(), config, g.policy);
      g.gateway->set_settled_watch([this] { gateway_settled(); });
      g.gateway->start();
      g.port = g.gateway->local_endpoint().port();
      if ((first || options_.hooks.every_gateway) && options_.hooks.gateway_started)
        options_.hooks.gateway_started(*g.gateway);
      return 0;
    };
    if (options_.io) {
      // The caller's loop is already running (other runs and a web server on
      // it): the gateway is made and started on that loop's thread, as a hook expects.
      on_gateway(make);
    } else {
      // Before the io thread starts, this thread is the gateways' only one.
      make();
      if (&g == &gateways_.back()) io_thread_ = std::thread([this] { own_io_.run(); });
    }
  }

  // Several gateways (scenarios/README.md, "Several gateways"): each gets its
  // own PKI (its certificate named by its id, for its address), data
  // directory and a port on its own loopback address; its policy's peers are
  // given the run's CAs and addresses (the policy file is not changed); then
  // the run waits until every link between them is up.
  void start_gateways(const std::filesystem::path& dir) {
    for (auto& g : gateways_) {
      g.pki = dir / "pki" / g.id;
      pki::init_ca(g.pki, "icegate " + g.id + " CA", true, pki::KeyType::ecdsa_p256,
                   pki::GatewayCertificate{.id = g.id, .addresses = {g.address}});
      for (const auto& node : g.nodes) pki::issue_node(g.pki, node, {.sync = false});
      g.port = free_port(g.address);
    }
    for (auto& g : gateways_) {
      policy::Policy source = g.policy->source();
      for (auto& peer : source.peers)
        for (const auto& other : gateways_)
          if (other.id == peer.id) {
            peer.ca = pki::ca_paths(other.pki).certificate.string();
            if (!peer.address.empty()) peer.address = fmt::format("{}:{}", other.address, other.port);
          }
      g.policy = std::make_shared<const policy::CompiledPolicy>(std::move(source));
    }
    for (auto& g : gateways_) {
      server::GatewayConfig config = gateway_config(g, dir / "data" / g.id);
      config.listen = {boost::asio::ip::make_address(g.address), g.port};
      config.peer_redial_min = 50ms;
      config.peer_redial_max = 1s;
      try {
        start(g, config);
      } catch (const std::exception& e) {
        throw RunError(fmt::format("gateway {} could not start on {}:{}: {}", g.id, g.address, g.port, e.what()));
      }
    }
    policy_ = gateways_.front().policy;
    wait_for_links();
  }

  // A port free on `address` now (bound and released): each gateway's
  // policy must name its peers' ports before they start.
  static std::uint16_t free_port(const std::string& address) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address(address), 0});
    return acceptor.local_endpoint().port();
  }

  // Every link between the scenario's gateways up, or a RunError naming the
  // first that is not, and why.
  void wait_for_links() {
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      std::string missing;
      for (auto& g : gateways_) {
        const auto peers = on_gateway([&] { return g.gateway->peer_status(); });
        for (const auto& peer : peers)
          if (peer.state != federation::LinkState::up && missing.empty())
            missing = fmt::format("gateway {}: the link to {} is {}{}", g.id, peer.id, federation::to_string(peer.state),
                                  peer.last_error.empty() ? "" : " (" + peer.last_error + ")");
      }
      if (missing.empty()) break;
      if (std::chrono::steady_clock::now() > give_up)
        throw RunError(fmt::format("the gateways' links did not all come up within 30 s: {}", missing));
      std::this_thread::sleep_for(20ms);
    }
    if (options_.progress) {
      std::vector<std::string> names;
      for (const auto& g : gateways_) names.push_back(fmt::format("{} on {}:{}", g.id, g.address, g.port));
      fmt::print(*options_.progress, "gateways up and peered: {}\n", fmt::join(names, ", "));
    }
  }

  void connect_nodes(const std::filesystem::path& dir) {
    for (const auto& node : participants_) rank_.emplace(node, rank_.size());
    (void)dir;
    const EventSink sink = [this](const std::string& id, node::NodeEvent event) {
      {
        std::lock_guard lock(inbox_mutex_);
        inbox_.push_back({id, std::move(event)});
      }
      inbox_changed_.notify_one();
      // A real-time run waits on its controls between turns (paused, with
      // no timer but the status's): what arrives wakes that wait too.
      if (options_.real_time) control().wake();
    };
    // Each node connects to its own gateway.
    std::vector<std::unique_ptr<ExerciseNodes>> parts;
    try {
      for (const auto& g : gateways_) {
        NodeSetup setup;
        setup.pki_dir = g.pki;
        setup.host = g.address;
        setup.port = g.port;
        setup.nodes = g.nodes;
        setup.nodes_per_process = options_.nodes_per_process;
        setup.worker_program = options_.worker_program;
        setup.progress = options_.progress;
        parts.push_back(connect_exercise_nodes(setup, sink));
      }
    } catch (const std::exception& e) {
      for (auto& part : parts) part->close();
      throw RunError(e.what());
    }
    nodes_ = parts.size() == 1 ? std::move(parts.front()) : join_exercise_nodes(std::move(parts));
    result_.worker_processes = nodes_->worker_processes();
    if (table_)
      for (const auto& node : participants_) table_->set_connected(node, true);
  }

  void stop() {
    stopping_gateway_ = true;
    for (auto& g : gateways_) {
      if (!options_.hooks.gateway_stopping || !g.gateway) continue;
      if (&g != &gateways_.front() && !options_.hooks.every_gateway) break;
      std::promise<void> done;
      boost::asio::post(io(), [&] {
        options_.hooks.gateway_stopping(*g.gateway);
        done.set_value();
      });
      done.get_future().wait();
    }
    if (nodes_) nodes_->close();
    nodes_.reset();
    // Each gateway drains (every commit finished, its frames out, then every
    // session closed) and says when it has: wait for that, as `icegate serve`
    // does, not for a fixed time that a loaded machine may not keep to.
    for (auto& g : gateways_) {
      if (!g.gateway) continue;
      std::promise<void> stopped;
      auto done = stopped.get_future();
      boost::asio::post(io(), [&g, &stopped] { g.gateway->stop([&stopped] { stopped.set_value(); }); });
      done.wait();
    }
    if (options_.io) {
      // The loop is the caller's and goes on: nothing of the gateways' runs
      // on it any more, so let go of them on its thread.
      on_gateway([this] {
        for (auto& g : gateways_) g.gateway.reset();
        return 0;
      });
      return;
    }
    // Our own loop has nothing left to do once the gateways have stopped: its
    // run() returns by itself.
    if (io_thread_.joinable()) io_thread_.join();
    for (auto& g : gateways_) g.gateway.reset();
  }

  bool any_gateway() const {
    return std::any_of(gateways_.begin(), gateways_.end(), [](const RunGateway& g) { return g.gateway != nullptr; });
  }

  template <typename F>
  auto on_gateway(F f) -> decltype(f()) {
    std::promise<decltype(f())> result;
    // An exception must not escape into the loop, which may be the caller's.
    boost::asio::post(io(), [&] {
      try {
        result.set_value(f());
      } catch (...) {
        result.set_exception(std::current_exception());
      }
    });
    return result.get_future().get();
  }

  // After the simulated clock moves: embargoes due by now lift at once.
  void tick_gateway() {
    on_gateway([this] {
      for (auto& g : gateways_) g.gateway->tick_now();
      return 0;
    });
  }

  // ---- the agenda -------------------------------------------------------------

  struct Item {
    Offset at;
    std::string what;
    std::function<void()> action;
    bool check = false;  // a deadline: judged after the moment's actions have settled
  };

  void at(Offset when, std::string what, std::function<void()> action, bool check = false) {
    agenda_.emplace(std::make_pair(when, sequence_++), Item{when, std::move(what), std::move(action), check});
  }

  void schedule() {
    result_.scenario = scenario_.name;
    result_.scenario_title = scenario_.title;
    result_.policy_name = policy_->source().name;
    result_.policy_file = relative_to_scenario(policy_file_, scenario_.file);
    result_.t0_unix_ms = scenario_.t0_unix_ms;
    result_.start = scenario_.start;
    result_.end = scenario_.end;
    result_.nodes = participants_;
    if (!scenario_.gateways.empty()) {
      // Several gateways: the run is named by all their policies, in order.
      std::vector<std::string> names;
      for (const auto& g : gateways_) {
        result_.gateways.push_back({g.id, g.address, g.policy->source().name, g.policy->version(),
                                    relative_to_scenario(g.policy_file, scenario_.file), g.nodes});
        names.push_back(g.policy->source().name);
      }
      result_.policy_name = fmt::format("{}", fmt::join(names, "+"));
    }
    for (const auto& inject : scenario_.injects) {
      inject_times_[inject.id] = inject.at;
      at(inject.at, "inject " + inject.id, [this, &inject] { fire(inject, TimelineEntry::Kind::inject); });
      // Embargo times: stop the clock there, so releases are seen when they happen.
      if (inject.message && inject.message->not_before)
        at(*inject.message->not_before, "embargo of " + inject.id, [] {});
    }
    for (const auto& e : scenario_.expectations) {
      std::optional<Offset> deadline = e.kind == ExpectationKind::does_not_receive_before ? e.before : e.by;
      if (e.kind == ExpectationKind::approved_within && e.within && inject_times_.contains(e.inject))
        deadline = inject_times_[e.inject] + *e.within;
      if (deadline) at(*deadline, "deadline of " + e.id, [this, &e] { check_deadline(e); }, true);
    }
    // Media is for people: a scripted run shows it to nobody, so releases none.
    if (table_) {
      result_.objectives = scenario_.objectives;
      for (const auto& item : scenario_.media)
        if (item.at) at(*item.at, "media " + item.id, [this, &item] { release_media(item, false); });
    }
  }

  // Runs everything due up to `upto`: each moment's items together, then waits
  // for the system to settle before the clock moves on.
  void execute_due(Offset upto) {
    while (!agenda_.empty() && agenda_.begin()->first.first <= upto) {
      const Offset moment = agenda_.begin()->first.first;
      now_ = std::max(now_, moment);
      clock_->set(from_unix_ms(scenario_.t0_unix_ms + now_.count()));
      tick_gateway();
      // First what happens at this moment, then (once it has settled) the
      // deadlines that fall due at it; a contingency they fire settles too.
      for (const bool checks : {false, true}) {
        bool ran = false;
        for (auto it = agenda_.begin(); it != agenda_.end() && it->first.first == moment;) {
          if (it->second.check != checks) {
            ++it;
            continue;
          }
          auto item = std::move(it->second);
          it = agenda_.erase(it);
          item.action();
          if (item.what.rfind("inject ", 0) == 0 || item.what.rfind("response ", 0) == 0) last_item_ = item.what;
          ran = true;
          publish(true, item.what);
        }
        if (ran || !checks) settle();
      }
    }
  }

  void run_simulated() {
    now_ = scenario_.start;
    settle();
    execute_due(scenario_.end);
    now_ = scenario_.end;
    clock_->set(from_unix_ms(scenario_.t0_unix_ms + now_.count()));
    tick_gateway();
    settle();
  }

  // Tells the watcher where the run stands (on the gateway's thread).
  void publish(bool notable, const std::string& item = {}) {
    if (!options_.hooks.progress) return;
    RunStatus status;
    status.scenario = scenario_.name;
    status.state = finished_ ? "finished" : options_.control && options_.control->paused() ? "paused" : "running";
    status.clock_unix_ms = scenario_.t0_unix_ms + now_.count();
    if (!agenda_.empty() && !finished_) status.next_unix_ms = scenario_.t0_unix_ms + agenda_.begin()->first.first.count();
    status.item = item;
    status.item_id = item.substr(item.rfind(' ') + 1);
    status.speed = options_.real_time ? speed() : 0;
    last_published_ = std::chrono::steady_clock::now();
    published_paused_ = status.state == "paused";
    boost::asio::post(io(), [this, status = std::move(status), notable] { options_.hooks.progress(status, notable); });
  }

  // Scenario seconds per real second: the facilitator's latest choice, else the option.
  double speed() const {
    const double chosen = options_.control ? options_.control->speed() : 0;
    return chosen > 0 ? chosen : options_.speed;
  }

  void run_real_time() {
    Control& control = this->control();
    now_ = scenario_.start;
    auto real_start = std::chrono::steady_clock::now();
    Offset base = now_;
    double speed_now = speed();
    while (!control.stopped() && now_ < scenario_.end) {
      const std::uint64_t controls_seen = control.version();  // a change from here on ends the waits below
      if (control.paused() != published_paused_) publish(true);
      else if (std::chrono::steady_clock::now() - last_published_ >= 1s) publish(false);
      if (speed() != speed_now) {
        // A new speed from now on: the time already run stays as it was.
        speed_now = speed();
        base = now_;
        real_start = std::chrono::steady_clock::now();
        publish(true);
      }
      if (control.paused()) {
        if (control.take_step() && !agenda_.empty()) {
          execute_due(agenda_.begin()->first.first);
        } else {
          // The clock stands still, but people at the table may still act.
          drain();
          handle_arrived();
          carry_out_commands();
          update_table(control);
          // Resume, step or stop end the wait at once, and so do a command
          // queued at the table and a frame a node received (both wake the
          // control). The one timer is the status's: where the run stands is
          // published (and the table told) once a second even while it stands still.
          control.wait_for_change(controls_seen, 1s);
        }
        base = now_;
        real_start = std::chrono::steady_clock::now();
        continue;
      }
      const auto elapsed = std::chrono::steady_clock::now() - real_start;
      const Offset target = std::min(
          scenario_.end,
          base + std::chrono::duration_cast<Offset>(std::chrono::duration<double, std::milli>(
                     std::chrono::duration<double, std::milli>(elapsed).count() * speed_now)));
      execute_due(target);
      now_ = std::max(now_, target);
      clock_->set(from_unix_ms(scenario_.t0_unix_ms + now_.count()));
      tick_gateway();
      drain();
      handle_arrived();
      carry_out_commands();
      update_table(control);
      // The clock's pace, not a poll: the scenario's time moves on with the
      // real time every 20 ms. A control (pause, step, stop, a new speed), a
      // command at the table or a frame a node received ends the wait at once.
      control.wait_for_change(controls_seen, 20ms);
    }
    stopped_early_ = control.stopped() && now_ < scenario_.end;
    settle();
  }

  // ---- people at the table ------------------------------------------------------

  // Where the run stands, and the live expectations board: each only when it
  // changed (or, for the clock, once a second), so that a page asking "what
  // changed since version V" is not told "everything" twenty times a second.
  void update_table(const Control& control) {
    if (!table_) return;
    TableStatus status;
    status.state = control.paused() ? "paused" : "running";
    status.now = now_;
    status.t0_unix_ms = scenario_.t0_unix_ms;
    status.speed = speed();
    if (!agenda_.empty()) status.next = agenda_.begin()->first.first;
    status.last_item = last_item_;
    const auto real_now = std::chrono::steady_clock::now();
    if (status.state != table_status_.state || status.speed != table_status_.speed || status.next != table_status_.next ||
        status.last_item != table_status_.last_item || real_now - table_status_at_ >= 1s) {
      table_status_ = status;
      table_status_at_ = real_now;
      table_->set_status(std::move(status));
    }
    if (actions_changed_) {
      actions_changed_ = false;
      table_->set_human_actions(result_.human_actions);
    }
    std::vector<LiveExpectation> board;
    for (const auto& e : scenario_.expectations) board.push_back(live(e));
    if (board.size() != board_.size() ||
        !std::equal(board.begin(), board.end(), board_.begin(), [](const LiveExpectation& a, const LiveExpectation& b) {
          return a.state == b.state && a.evidence == b.evidence;
        })) {
      board_ = board;
      table_->set_expectations(std::move(board));
    }
  }

  // An expectation as it stands now: met, unmet (found so at its deadline, or
  // already broken), or still pending.
  LiveExpectation live(const Expectation& e) {
    LiveExpectation item{e.id, e.description, std::string(to_string(e.kind)), "pending", {}};
    if (auto it = deadline_results_.find(e.id); it != deadline_results_.end()) {
      item.state = "unmet";
      item.evidence = it->second.evidence;
      return item;
    }
    const auto r = evaluate(e, false);
    item.evidence = r.evidence;
    if (r.met) item.state = "met";
    const bool broken = (e.kind == ExpectationKind::does_not_receive || e.kind == ExpectationKind::never_receives_at_or_above)
                            ? r.when.has_value()
                        : e.kind == ExpectationKind::does_not_receive_before ? r.when && e.before && *r.when < *e.before
                                                                             : false;
    if (!r.met && broken) item.state = "unmet";
    return item;
  }

  // Carries out what people and the facilitator asked for since the last turn.
  void carry_out_commands() {
    if (!table_) return;
    for (auto& command : table_->take_commands()) std::visit([&](auto& c) { carry_out(c); }, command);
  }

  // The last message delivered to `node` before now: the inject (or message) a person acts on.
  std::pair<std::string, std::optional<Offset>> prompt(const std::string& node, const std::string& in_reply_to) {
    const auto& seen = seat_deliveries_[node];
    const SeatSeen* found = nullptr;
    if (!in_reply_to.empty()) {
      for (const auto& d : seen)
        if (d.message_id == in_reply_to) {
          found = &d;
          break;
        }
    }
    if (!found && !seen.empty()) found = &seen.back();
    if (!found) return {{}, std::nullopt};
    const std::string source = source_of(found->message_id);
    return {source.empty() ? found->message_id : source, now_ - found->at};
  }

  HumanAction& human(const std::string& node, HumanAction::Kind kind, const std::string& in_reply_to = {}) {
    HumanAction action;
    action.at = now_;
    action.table = table_->name();
    action.node = node;
    action.kind = kind;
    action.in_reply_to = in_reply_to;
    std::tie(action.prompted_by, action.response_time) = prompt(node, in_reply_to);
    result_.human_actions.push_back(std::move(action));
    actions_changed_ = true;
    return result_.human_actions.back();
  }

  void note_human(const HumanAction& action, const std::string& what) {
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = TimelineEntry::Kind::human;
    entry.node = action.node;
    entry.from = action.node;
    entry.message_id = action.message_id;
    entry.title = action.title;
    entry.category = action.category;
    entry.detail = what;
    result_.timeline.push_back(std::move(entry));
    last_item_ = fmt::format("{} at {}", what, action.node);
    progress(fmt::format("{} (played) {}", action.node, what));
  }

  void carry_out(SendCommand& command) {
    if (!played_.contains(command.node)) return;  // the table queues only its seats' sends
    Message& message = command.message;
    message.originator = command.node;
    if (message.created_unix_ms == 0) message.created_unix_ms = scenario_.t0_unix_ms + now_.count();
    auto& action = human(command.node, message.derived_from.empty() ? HumanAction::Kind::send : HumanAction::Kind::reply,
                         message.derived_from);
    action.message_id = message.id;
    action.title = message.title;
    action.category = message.category;
    action.purpose = message.purpose;
    for (const auto& a : message.addressees) action.to.push_back(fmt::format("{}:{}", to_string(a.kind), a.name));
    for (const auto& p : message.portions) action.labels.push_back(to_string(p.label));
    human_messages_[message.id] = {result_.human_actions.size() - 1, message};
    note_human(action, fmt::format("{} \"{}\"", message.derived_from.empty() ? "sends" : "replies", message.title));
    submit(command.node, message);
  }

  void carry_out(ReviewCommand& command) {
    if (!played_.contains(command.node)) return;
    auto& action = human(command.node, HumanAction::Kind::review);
    if (auto it = reviews_.find(command.hold_id); it != reviews_.end()) {
      action.message_id = it->second.message_id;
      action.title = it->second.title;
      const std::string source = source_of(it->second.message_id);
      action.prompted_by = source.empty() ? it->second.message_id : source;
      action.response_time = now_ - it->second.at;
    }
    action.detail = command.verdict;
    if (command.verdict == "redact") action.detail += " " + fmt::format("{}", fmt::join(command.withhold_portions, ","));
    const auto verdict = command.verdict == "approve"  ? node::Verdict::approve
                         : command.verdict == "refuse" ? node::Verdict::refuse
                                                       : node::Verdict::approve_redacted;
    await_answers();
    expect_control(command.node, command.hold_id);
    nodes_->review(command.node, command.hold_id, verdict, command.withhold_portions, command.comment);
    table_->mark_review_answered(command.node, command.hold_id, command.verdict);
    note_human(action, fmt::format("answers the review of {}: {}", hold_names_[command.hold_id], action.detail));
  }

  void carry_out(TriggerCommand& command) {
    if (!played_.contains(command.node)) return;
    auto& action = human(command.node, HumanAction::Kind::trigger);
    action.detail = command.event;
    note_human(action, "triggers " + command.event);
    trigger(command.node, command.event, command.event);
  }

  void carry_out(FireInjectCommand& command) {
    for (const auto& inject : scenario_.injects)
      if (inject.id == command.inject) {
        // Brought forward: it is not played again at its time.
        std::erase_if(agenda_, [&](const auto& item) { return item.second.what == "inject " + inject.id; });
        inject_times_[inject.id] = now_;
        progress(fmt::format("the facilitator fires inject {} now", inject.id));
        fire(inject, TimelineEntry::Kind::inject);
        last_item_ = "inject " + inject.id;
        return;
      }
    for (const auto& c : scenario_.contingencies)
      if (c.id == command.inject || c.inject.id == command.inject) {
        progress(fmt::format("the facilitator fires contingency {} now", c.id));
        result_.contingencies_fired.push_back(c.id);
        table_->note_fired(c.id);
        inject_times_[c.inject.id] = now_;
        fire(c.inject, TimelineEntry::Kind::contingency);
        last_item_ = "contingency " + c.id;
        return;
      }
    facilitator_error(fmt::format("no inject or contingency {} to fire", command.inject));
  }

  void carry_out(FireMessageCommand& command) {
    if (played_.contains(command.from))
      return facilitator_error(fmt::format("{} is played by a person, who sends their own messages", command.from));
    if (!nodes_->contains(command.from))
      return facilitator_error(fmt::format("{} does not take part in the exercise", command.from));
    const std::string id = fmt::format("live-{}", ++live_injects_);
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = TimelineEntry::Kind::inject;
    entry.node = command.from;
    entry.from = command.from;
    entry.inject = id;
    entry.detail = command.synopsis.empty() ? "written by the facilitator during the exercise" : command.synopsis;
    ++injects_fired_;
    inject_times_[id] = now_;
    const Message message = send_for(entry, command.spec, command.from, id);
    progress(fmt::format("the facilitator's inject {}: {} sends \"{}\"", id, command.from, message.title));
    result_.timeline.push_back(std::move(entry));
    last_item_ = "inject " + id;
  }

  void carry_out(ReleaseMediaCommand& command) {
    if (command.item) {
      MediaItem item = *command.item;
      if (item.id.empty()) item.id = fmt::format("live-M{}", ++live_media_);
      return release_media(item, true);
    }
    for (const auto& item : scenario_.media)
      if (item.id == command.media_id) {
        std::erase_if(agenda_, [&](const auto& entry) { return entry.second.what == "media " + item.id; });
        return release_media(item, true);
      }
    facilitator_error(fmt::format("no media item {} to release", command.media_id));
  }

  // Something the facilitator asked for cannot be done: it goes on the record (the host checks first).
  void facilitator_error(const std::string& text) {
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = TimelineEntry::Kind::error;
    entry.node = "facilitator";
    entry.detail = text;
    result_.timeline.push_back(std::move(entry));
    progress("facilitator: " + text);
  }

  void release_media(const MediaItem& item, bool by_hand) {
    if (!released_media_.insert(item.id).second) return;  // released once, whichever comes first
    MediaRelease release{item.id, now_, item.kind, item.source, item.headline, item.body, item.seats, by_hand};
    if (table_) table_->add_media(release);
    result_.media.push_back(release);
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = TimelineEntry::Kind::media;
    entry.inject = item.id;
    entry.title = item.headline;
    entry.detail = fmt::format("{} ({}): {}", item.kind, item.source, item.headline);
    if (item.seats.empty()) result_.timeline.push_back(entry);
    for (const auto& seat : item.seats) {
      entry.node = seat;
      result_.timeline.push_back(entry);
    }
    last_item_ = "media " + item.id;
    progress(fmt::format("media {}{}: {}", item.id, by_hand ? " (by hand)" : "", item.headline));
  }

  // A control frame is on its way; a played seat's are answered in order, so
  // its answers are matched to what the person asked for (`id`: "" for a scripted one).
  void expect_control(const std::string& node, const std::string& id) {
    ++pending_controls_;
    if (played_.contains(node)) seat_controls_[node].push_back(id);
  }

  // The gateway answered a played seat's control frame: what the person asked for is done, or refused.
  void control_answered(const std::string& node, bool ok, const std::string& error) {
    auto it = seat_controls_.find(node);
    if (it == seat_controls_.end() || it->second.empty()) return;
    const std::string id = it->second.front();
    it->second.pop_front();
    if (id.empty()) return;
    table_->update_sent(node, id, ok ? "sent" : "refused", error);
    if (!ok)
      for (auto action = result_.human_actions.rbegin(); action != result_.human_actions.rend(); ++action)
        if (action->node == node && action->refused.empty() &&
            ((action->kind == HumanAction::Kind::review && reviews_.contains(id) &&
              action->message_id == reviews_[id].message_id) ||
             (action->kind == HumanAction::Kind::trigger && action->detail == id))) {
          action->refused = error;
          actions_changed_ = true;
          break;
        }
  }

  // Waits until everything set in motion has arrived: no submit or control
  // frame unanswered, no frame owed to a connected node, nothing new in the
  // inbox. Each wait is for an event: a frame a node received (the inbox), or
  // the gateway's word that what it owes may have been settled (its settled
  // watch). The one deadline is the 60 s give-up.
  void settle() {
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while (true) {
      if (drain()) continue;
      if (!pending_submits_.empty() || pending_controls_ > 0) {
        // Their answers come through the inbox.
        if (!wait_for_inbox(give_up)) break;
        continue;
      }
      const std::uint64_t seen = gateway_settled_seen();  // before asking: a notice after the answer ends the wait
      if (owed_once_committed() > 0) {
        if (!wait_for_inbox(give_up, seen)) break;
        continue;
      }
      // A Receipt or review request the gateway has written is settled
      // without an acknowledgement, so it may be on its way still. Each node
      // written one asks the gateway for an echo, which the gateway writes
      // after it: once every echo is in, so is every such frame.
      for (const auto& node : written_unacknowledged_) {
        if (!nodes_->contains(node)) continue;
        echoes_awaited_[node] = ++echo_tag_;
        nodes_->request_echo(node, echo_tag_);
      }
      written_unacknowledged_.clear();
      if (!echoes_awaited_.empty()) {
        if (!wait_for_inbox(give_up)) break;
        continue;
      }
      nodes_->sync();  // what worker processes have received is in the inbox
      if (drain()) continue;
      handle_arrived();
      // Across gateways nothing more is needed: a Forward stays owed to its
      // next gateway (and counted in owed_to_connected) until that gateway
      // has committed what it owes its own nodes.
      if (arrived_.empty()) return;
    }
    handle_arrived();
    spdlog::warn("exercise: the system did not settle within 60 s at {}", format_scenario_time(now_));
  }

  // What the gateway owes connected nodes once the commits queued so far
  // have finished: an embargo lifted by tick_gateway(), say, owes its
  // Delivers only once its commit is done.
  std::size_t owed_once_committed() {
    std::size_t count = 0;
    for (auto& g : gateways_) {
      std::promise<std::size_t> owed;
      auto answer = owed.get_future();
      std::vector<std::string> written;
      boost::asio::post(io(), [&] {
        g.gateway->after_commits([&] {
          written = g.gateway->take_written_unacknowledged();
          owed.set_value(g.gateway->owed_to_connected());
        });
      });
      count += answer.get();
      written_unacknowledged_.insert(written.begin(), written.end());
    }
    return count;
  }

  // The gateway's settled watch (on its thread): what it owes may have been settled.
  void gateway_settled() {
    {
      std::lock_guard lock(inbox_mutex_);
      ++gateway_settled_;
    }
    inbox_changed_.notify_one();
  }

  std::uint64_t gateway_settled_seen() {
    std::lock_guard lock(inbox_mutex_);
    return gateway_settled_;
  }

  // Waits until the inbox holds something or (given `settled_seen`) the
  // gateway has said it settled something since then; false if `until` came first.
  bool wait_for_inbox(std::chrono::steady_clock::time_point until, std::optional<std::uint64_t> settled_seen = {}) {
    std::unique_lock lock(inbox_mutex_);
    return inbox_changed_.wait_until(lock, until, [&] {
      return !inbox_.empty() || (settled_seen && gateway_settled_ != *settled_seen);
    });
  }

  // Takes what has arrived; true if anything did. Answers (acknowledgements,
  // refusals) are counted at once, since they say whether the system has
  // settled; everything else waits in arrived_ for handle_arrived().
  bool drain() {
    std::deque<Incoming> batch;
    {
      std::lock_guard lock(inbox_mutex_);
      batch.swap(inbox_);
    }
    for (auto& incoming : batch) {
      if (auto* ack = std::get_if<node::Acknowledgement>(&incoming.event.payload)) {
        on(incoming.node, *ack);
        continue;
      }
      if (auto* echo = std::get_if<node::Echo>(&incoming.event.payload)) {
        if (auto it = echoes_awaited_.find(incoming.node); it != echoes_awaited_.end() && it->second == echo->tag)
          echoes_awaited_.erase(it);
        continue;
      }
      // A node gone will not echo; what it had not read is the gateway's to send again.
      if (std::holds_alternative<node::Disconnected>(incoming.event.payload)) echoes_awaited_.erase(incoming.node);
      if (auto* error = std::get_if<node::ErrorNotice>(&incoming.event.payload)) count_refusal(incoming.node, *error);
      arrived_.push_back(std::move(incoming));
    }
    return !batch.empty();
  }

  // Handles what has arrived, node by node in participant order. Frames for
  // different nodes come over different connections in no fixed order; handled
  // as they came, they would order the timeline (and the responses they
  // schedule) differently from run to run. Each node's own frames keep the
  // order the gateway sent them in.
  void handle_arrived() {
    std::vector<Incoming> batch;
    batch.swap(arrived_);
    std::stable_sort(batch.begin(), batch.end(),
                     [this](const Incoming& a, const Incoming& b) { return rank_.at(a.node) < rank_.at(b.node); });
    for (auto& incoming : batch) handle(incoming.node, incoming.event);
  }

  // Waits until the gateway has answered every frame sent so far, so that the
  // next one is decided after them: items due at the same moment are decided
  // in agenda order (injects in file order), not in whichever order their
  // nodes' connections happen to deliver them.
  void await_answers() {
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while (!pending_submits_.empty() || pending_controls_ > 0)
      if (!drain() && !wait_for_inbox(give_up)) break;
  }

  // ---- acting -----------------------------------------------------------------

  void progress(const std::string& text) {
    if (options_.progress) fmt::print(*options_.progress, "[{:>8}] {}\n", format_scenario_time(now_), text);
  }

  void fire(const Inject& inject, TimelineEntry::Kind kind) {
    if (table_) table_->note_fired(inject.id);
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = kind;
    entry.node = inject.from;
    entry.from = inject.from;
    entry.inject = inject.id;
    entry.detail = inject.synopsis;
    ++injects_fired_;
    if (inject.message) {
      const Message message = send_for(entry, *inject.message, inject.from, inject.id);
      progress(fmt::format("{} {}: {} sends \"{}\"", kind == TimelineEntry::Kind::contingency ? "contingency" : "inject",
                           inject.id, inject.from, message.title));
    } else {
      entry.kind = kind == TimelineEntry::Kind::contingency ? kind : TimelineEntry::Kind::event;
      entry.detail = inject.trigger + (inject.synopsis.empty() ? "" : ": " + inject.synopsis);
      trigger(inject.from, inject.trigger);
      progress(fmt::format("inject {}: {} triggers {}", inject.id, inject.from, inject.trigger));
    }
    result_.timeline.push_back(std::move(entry));
  }

  // Sends `spec` from `node` for the inject or response `source`, and notes it in `entry`.
  Message send_for(TimelineEntry& entry, const MessageSpec& spec, const std::string& node, const std::string& source) {
    Message message = make_message(spec, node, scenario_.t0_unix_ms);
    // Named by what sent it, not at random, so the same inputs give the same report bytes.
    message.id = run_message_id(scenario_.name, source, sent_count_[source]++);
    sent_at_.try_emplace(source, now_);
    inject_messages_[source] = message.id;
    portions_sent_[message.id] = message.portions.size();
    sources_[message.id] = source;
    entry.message_id = message.id;
    entry.title = message.title;
    entry.category = message.category;
    titles_[message.id] = message.title;
    submit(node, message);
    return message;
  }

  void submit(const std::string& node, const Message& message) {
    await_answers();
    pending_submits_.insert(message.id);
    // Whoever sends it, person or script, may meet a `sends` expectation.
    sends_.push_back({node, message.category, message.addressees, now_, message.id, message.title,
                      played_.contains(node), false});
    nodes_->submit(node, message);
  }

  // `id`: what a person at a played seat asked for (the event), else "".
  void trigger(const std::string& node, const std::string& event, const std::string& id = {}) {
    await_answers();
    expect_control(node, id);
    nodes_->trigger(node, event);
    // Simulated agencies react to the event in the world as it is declared.
    for (const auto& response : scenario_.responses)
      if (response.on == ResponseTrigger::event && response.on_value == event) respond(response, {});
  }

  void respond(const Response& response, const std::string& hold_id) {
    // A person plays this node: they decide what it does, not the script.
    if (played_.contains(response.node)) return;
    if (response.once && !responded_.insert(response.id).second) return;
    at(now_ + response.after, "response " + response.id, [this, &response, hold_id] {
      TimelineEntry entry;
      entry.at = now_;
      entry.kind = TimelineEntry::Kind::response;
      entry.node = response.node;
      entry.from = response.node;
      entry.inject = response.id;
      entry.detail = response.synopsis;
      if (response.send) {
        const Message message = send_for(entry, *response.send, response.node, response.id);
        progress(fmt::format("response {}: {} sends \"{}\"", response.id, response.node, message.title));
      } else if (!response.review.empty()) {
        await_answers();
        expect_control(response.node, {});
        const auto verdict = response.review == "approve"  ? node::Verdict::approve
                             : response.review == "refuse" ? node::Verdict::refuse
                                                           : node::Verdict::approve_redacted;
        nodes_->review(response.node, hold_id, verdict, response.redact_portions, response.synopsis);
        entry.kind = TimelineEntry::Kind::review;
        entry.detail = fmt::format("{} hold of {}{}", response.review, hold_names_[hold_id],
                                   response.synopsis.empty() ? "" : ": " + response.synopsis);
        progress(fmt::format("response {}: {} answers review: {}", response.id, response.node, response.review));
      } else if (!response.trigger.empty()) {
        entry.kind = TimelineEntry::Kind::event;
        entry.detail = response.trigger;
        trigger(response.node, response.trigger);
        progress(fmt::format("response {}: {} triggers {}", response.id, response.node, response.trigger));
      }
      result_.timeline.push_back(std::move(entry));
    });
  }

  // ---- what arrives -----------------------------------------------------------

  std::string source_of(const std::string& message_id) const {
    auto it = sources_.find(message_id);
    return it == sources_.end() ? std::string() : it->second;
  }

  void handle(const std::string& node_id, node::NodeEvent& event) {
    std::visit([&](auto& payload) { on(node_id, payload); }, event.payload);
  }

  void on(const std::string& node_id, node::Delivery& delivery) {
    ++result_.frames_delivered;
    const Message& m = delivery.message;
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = TimelineEntry::Kind::delivered;
    entry.node = node_id;
    entry.from = m.originator;
    entry.message_id = m.id;
    entry.inject = source_of(m.id);
    entry.title = m.title;
    entry.category = m.category;
    entry.decision = delivery.decision;
    entry.released = m.portions;
    entry.withheld = delivery.withheld;
    entry.rules = delivery.rule_ids;
    entry.reason = delivery.reason;
    if (knowledge_index_.emplace(node_id + "\n" + m.id, result_.knowledge.size()).second) {
      Knowledge k;
      k.node = node_id;
      k.inject = entry.inject;
      k.message_id = m.id;
      k.first_at = now_;
      k.decision = delivery.decision;
      for (const auto& p : m.portions) k.released_labels.push_back(label_text(p.label));
      for (const auto& w : delivery.withheld) k.withheld_labels.push_back(label_text(w.label));
      result_.knowledge.push_back(std::move(k));
    }
    received_[node_id].push_back(result_.timeline.size());
    result_.timeline.push_back(entry);
    if (played_.contains(node_id)) {
      seat_deliveries_[node_id].push_back({m.id, now_});
      table_->add_delivery(node_id, SeatDelivery{0, now_, m, delivery.decision, delivery.withheld, delivery.rule_ids,
                                                 delivery.reason, entry.inject});
    }
    for (const auto& response : scenario_.responses) {
      if (response.node != node_id) continue;
      if ((response.on == ResponseTrigger::receives_category && response.on_value == m.category) ||
          (response.on == ResponseTrigger::receives_inject && response.on_value == entry.inject))
        respond(response, {});
    }
  }

  // What one recipient got of a person's message, as its labels.
  static ActionOutcome outcome_of(const node::ReceiptOutcome& outcome, const Message& message, bool follow_up) {
    const auto& d = outcome.decision;
    ActionOutcome result;
    result.node = d.node_id;
    result.decision = d.decision;
    for (const auto& id : d.released_portion_ids)
      for (const auto& p : message.portions)
        if (p.id == id) result.released_labels.push_back(to_string(p.label));
    for (const auto& w : d.withheld) result.withheld_labels.push_back(to_string(w.label));
    result.reason = d.reason;
    result.rules = d.rule_ids;
    result.follow_up = follow_up;
    return result;
  }

  void to_seat(const std::string& node_id, const node::Receipt& receipt) {
    if (!played_.contains(node_id)) return;
    // A follow-up with only a later gateway's steps (docs/FEDERATION.md, "The
    // originator's Receipt, hop by hop") tells the seat of no recipient of its own.
    if (receipt.follow_up && receipt.outcomes.empty()) return;
    const auto human = human_messages_.find(receipt.message_id);
    static const Message unknown;
    const Message& message = human != human_messages_.end() ? human->second.second : unknown;
    SeatReceipt seat;
    seat.at = now_;
    seat.message_id = receipt.message_id;
    seat.title = human != human_messages_.end() ? message.title : titles_[receipt.message_id];
    seat.unresolved = receipt.unresolved_addressees;
    seat.follow_up = receipt.follow_up;
    for (const auto& outcome : receipt.outcomes) {
      seat.outcomes.push_back(outcome_of(outcome, message, receipt.follow_up));
      if (human != human_messages_.end()) {
        result_.human_actions[human->second.first].outcomes.push_back(seat.outcomes.back());
        actions_changed_ = true;
      }
    }
    table_->add_receipt(node_id, std::move(seat));
  }

  void on(const std::string& node_id, node::Receipt& receipt) {
    receipt_times_.try_emplace(receipt.message_id, now_);
    to_seat(node_id, receipt);
    for (const auto& outcome : receipt.outcomes) {
      const auto& d = outcome.decision;
      TimelineEntry entry;
      entry.at = now_;
      entry.kind = TimelineEntry::Kind::decision;
      entry.node = d.node_id;
      entry.from = node_id;
      entry.message_id = receipt.message_id;
      entry.inject = source_of(receipt.message_id);
      entry.decision = d.decision;
      entry.withheld = d.withheld;
      entry.rules = d.rule_ids;
      entry.reason = d.reason;
      entry.held_for = d.held_for;
      entry.detail = receipt.follow_up ? "follow-up" : "";
      if (receipt.follow_up && d.decision != Decision::deny && d.decision != Decision::hold &&
          d.reason.find("approved") != std::string::npos)
        approval_times_.try_emplace(receipt.message_id, now_);
      result_.timeline.push_back(std::move(entry));
    }
  }

  void on(const std::string& node_id, node::ReviewRequest& request) {
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = TimelineEntry::Kind::review_request;
    entry.node = node_id;
    entry.from = request.message.originator;
    entry.message_id = request.message.id;
    entry.inject = source_of(request.message.id);
    entry.title = request.message.title;
    entry.released = request.message.portions;
    entry.withheld = request.not_shown;
    entry.rules = request.rule_ids;
    entry.reason = request.reason;
    // The gateway's hold ids are random: name the hold by what it holds, so reports are reproducible.
    const std::string held = entry.inject.empty() ? entry.title : entry.inject;
    hold_names_.emplace(request.hold_id, held);
    entry.detail = fmt::format("hold of {} for {}", held, fmt::join(request.recipients, ", "));
    result_.timeline.push_back(std::move(entry));
    if (played_.contains(node_id)) {
      reviews_[request.hold_id] = {request.message.id, request.message.title, now_};
      table_->add_review(node_id, SeatReview{now_, request.hold_id, request.consent, request.message, request.recipients,
                                             request.reason, request.rule_ids, request.not_shown, {}});
    }
    for (const auto& response : scenario_.responses)
      if (response.node == node_id && response.on == ResponseTrigger::review_request &&
          (response.on_value == "any" || response.on_value.empty() || response.on_value == source_of(request.message.id)))
        respond(response, request.hold_id);
  }

  void on(const std::string& node_id, node::Acknowledgement& ack) {
    if (pending_submits_.erase(ack.message_id)) {
      if (ack.ok && human_messages_.contains(ack.message_id)) table_->update_sent(node_id, ack.message_id, "sent");
      return;
    }
    if (pending_controls_ > 0) --pending_controls_;
    control_answered(node_id, ack.ok, {});
  }

  void on(const std::string& node_id, node::ErrorNotice& error) {
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = TimelineEntry::Kind::error;
    entry.node = node_id;
    entry.from = node_id;
    entry.message_id = error.message_id;
    entry.inject = source_of(error.message_id);
    entry.detail = error.code + ": " + error.text;
    result_.timeline.push_back(std::move(entry));
    progress(fmt::format("the gateway refused {}: {}: {}", node_id, error.code, error.text));
  }

  // A refused Submit is followed by Ack{ok: false}; a refused control frame is not.
  void count_refusal(const std::string& node_id, const node::ErrorNotice& error) {
    const std::string text = error.code + ": " + error.text;
    for (auto& sent : sends_)
      if (sent.message_id == error.message_id && !error.message_id.empty()) sent.refused = true;
    if (pending_submits_.contains(error.message_id)) {
      if (auto human = human_messages_.find(error.message_id); human != human_messages_.end()) {
        table_->update_sent(node_id, error.message_id, "refused", text);
        result_.human_actions[human->second.first].refused = text;
        actions_changed_ = true;
      }
      return;
    }
    if (pending_controls_ > 0) --pending_controls_;
    control_answered(node_id, false, text);
  }

  void on(const std::string&, node::Echo&) {}  // taken by drain(); never arrives here

  void on(const std::string& node_id, node::Disconnected& gone) {
    if (table_) table_->set_connected(node_id, false);
    if (stopping_) return;
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = TimelineEntry::Kind::error;
    entry.node = node_id;
    entry.detail = "disconnected: " + gone.reason;
    result_.timeline.push_back(std::move(entry));
  }

  // ---- expectations -------------------------------------------------------------

  ExpectationResult evaluate(const Expectation& e, bool final) {
    ExpectationResult r{e.id, e.description, false, std::nullopt, {}, std::string(to_string(e.kind))};
    const std::string message_id = inject_messages_.contains(e.inject) ? inject_messages_[e.inject] : std::string();
    switch (e.kind) {
      case ExpectationKind::receives: {
        for (const auto index : received_[e.node]) {
          const auto& entry = result_.timeline[index];
          if (entry.message_id != message_id || message_id.empty()) continue;
          if (e.by && entry.at > *e.by) continue;
          // Full: nothing withheld, here or at an earlier gateway (which
          // withholds a portion from a peer before the frame exists, so the
          // destination's Deliver cannot name it): every portion sent arrived.
          const auto sent = portions_sent_.find(message_id);
          const bool full =
              entry.withheld.empty() && (sent == portions_sent_.end() || entry.released.size() >= sent->second);
          if ((e.version == Version::full && !full) || (e.version == Version::redacted && full)) continue;
          r.met = true;
          r.when = entry.at;
          r.evidence = fmt::format("{} received {} ({}) at {}", e.node, e.inject, full ? "full" : "redacted",
                                   format_scenario_time(entry.at));
          return r;
        }
        r.evidence = message_id.empty() ? not_sent(e.inject, final)
                                        : fmt::format("{} had not received {}{}{}", e.node, e.inject,
                                                      e.version == Version::any ? "" : e.version == Version::full ? " in full" : " redacted",
                                                      e.by ? " by " + format_scenario_time(*e.by) : "");
        // Say what the gateway decided instead, if it did.
        for (const auto& entry : result_.timeline)
          if (entry.kind == TimelineEntry::Kind::decision && entry.node == e.node && entry.message_id == message_id &&
              !message_id.empty())
            r.evidence += fmt::format("; the gateway decided {} ({})", to_string(entry.decision), entry.reason);
        return r;
      }
      case ExpectationKind::does_not_receive: {
        for (const auto index : received_[e.node]) {
          const auto& entry = result_.timeline[index];
          if (!message_id.empty() && entry.message_id == message_id) {
            r.when = entry.at;
            r.evidence = fmt::format("{} received {} at {}", e.node, e.inject, format_scenario_time(entry.at));
            return r;
          }
        }
        r.met = final;
        r.evidence = fmt::format("{} never received {}", e.node, e.inject);
        return r;
      }
      case ExpectationKind::does_not_receive_before: {
        // Judged at `before`: what arrives from then on is allowed, so a delivery
        // at exactly that time (an embargo lifted on time) keeps it met.
        const Offset before = e.before.value_or(result_.end);
        std::optional<Offset> first_from_then;
        for (const auto index : received_[e.node]) {
          const auto& entry = result_.timeline[index];
          if (message_id.empty() || entry.message_id != message_id) continue;
          if (entry.at < before) {
            r.when = entry.at;
            r.evidence = fmt::format("{} received {} at {}, before {}", e.node, e.inject,
                                     format_scenario_time(entry.at), format_scenario_time(before));
            return r;
          }
          if (!first_from_then) first_from_then = entry.at;
        }
        r.met = final || now_ >= before;
        r.when = before;
        r.evidence = message_id.empty()
                         ? fmt::format("{} did not receive {} before {}: it was never sent", e.node, e.inject,
                                       format_scenario_time(before))
                         : fmt::format("{} did not receive {} before {}{}", e.node, e.inject,
                                       format_scenario_time(before),
                                       first_from_then ? " (it arrived at " + format_scenario_time(*first_from_then) + ")"
                                                       : "");
        return r;
      }
      case ExpectationKind::never_receives_at_or_above: {
        const int ceiling = policy_->classification_rank(e.classification);
        for (const auto index : received_[e.node]) {
          const auto& entry = result_.timeline[index];
          for (const auto& portion : entry.released)
            if (policy_->classification_rank(portion.label.classification) >= ceiling) {
              r.when = entry.at;
              r.evidence = fmt::format("{} received a {} portion of {} at {}", e.node, label_text(portion.label),
                                       entry.inject.empty() ? entry.message_id.substr(0, 8) : entry.inject,
                                       format_scenario_time(entry.at));
              return r;
            }
        }
        r.met = final;
        r.evidence = fmt::format("{} received nothing at or above {}", e.node, e.classification);
        return r;
      }
      case ExpectationKind::originator_receipt: {
        auto it = receipt_times_.find(message_id);
        if (it != receipt_times_.end() && (!e.by || it->second <= *e.by)) {
          r.met = true;
          r.when = it->second;
          r.evidence = fmt::format("the originator of {} had its receipt at {}", e.inject, format_scenario_time(it->second));
        } else {
          r.evidence = fmt::format("no receipt for {}{}", e.inject, e.by ? " by " + format_scenario_time(*e.by) : "");
        }
        return r;
      }
      case ExpectationKind::approved_within: {
        auto it = approval_times_.find(message_id);
        const Offset deadline = inject_times_[e.inject] + e.within.value_or(Offset{0});
        if (it != approval_times_.end() && it->second <= deadline) {
          r.met = true;
          r.when = it->second;
          r.evidence = fmt::format("{} was approved at {}", e.inject, format_scenario_time(it->second));
        } else {
          r.evidence = fmt::format("{} was not approved by {}", e.inject, format_scenario_time(deadline));
        }
        return r;
      }
      case ExpectationKind::sends: {
        std::vector<std::string> to;
        for (const auto& a : e.to) to.push_back(fmt::format("{}:{}", to_string(a.kind), a.name));
        for (const auto& sent : sends_) {
          if (sent.node != e.node || sent.category != e.category || sent.refused) continue;
          if (e.by && sent.at > *e.by) continue;
          const auto named = std::find_if(e.to.begin(), e.to.end(), [&](const Addressee& a) {
            return std::find(sent.to.begin(), sent.to.end(), a) != sent.to.end();
          });
          if (named == e.to.end()) continue;
          r.met = true;
          r.when = sent.at;
          r.evidence = fmt::format("{} sent \"{}\" ({}) to {}:{} at {}{}", e.node, sent.title, e.category,
                                   to_string(named->kind), named->name, format_scenario_time(sent.at),
                                   sent.by_person ? ", played by a person" : "");
          return r;
        }
        r.evidence = fmt::format("{} had not sent a {} message to {}{}", e.node, e.category, fmt::join(to, " or "),
                                 e.by ? " by " + format_scenario_time(*e.by) : "");
        return r;
      }
    }
    return r;
  }

  // Why there is nothing to judge: at the end, the inject was never sent; at a
  // deadline, it had not been sent yet (finish() adds when it was, if later).
  std::string not_sent(const std::string& inject, bool final) const {
    return final ? fmt::format("inject {} was never sent", inject)
                 : fmt::format("inject {} had not been sent by {}", inject, format_scenario_time(now_));
  }

  void check_deadline(const Expectation& e) {
    auto r = evaluate(e, false);
    if (r.met) return;
    checked_at_deadline_.insert(e.id);
    if (inject_messages_.contains(e.inject)) deadline_sent_.insert(e.id);
    deadline_results_[e.id] = r;
    deadline_results_[e.id].when = now_;
    for (const auto& c : scenario_.contingencies) {
      if (c.when_unmet != e.id) continue;
      progress(fmt::format("expectation {} unmet: contingency {} fires", e.id, c.id));
      result_.contingencies_fired.push_back(c.id);
      if (table_) table_->note_fired(c.id);
      inject_times_[c.inject.id] = now_;
      fire(c.inject, TimelineEntry::Kind::contingency);
    }
  }

  void finish() {
    stopping_ = true;
    for (const auto& e : scenario_.expectations) {
      // An expectation with a deadline is judged at the deadline; later events do not rescue it.
      if (auto it = deadline_results_.find(e.id); it != deadline_results_.end()) {
        auto r = it->second;
        // Judged before its inject was sent: say when it was, if it was.
        if (!e.inject.empty() && !deadline_sent_.contains(e.id) && inject_messages_.contains(e.inject)) {
          if (auto sent = sent_at_.find(e.inject); sent != sent_at_.end())
            r.evidence += fmt::format("; it was sent at {}, after the deadline", format_scenario_time(sent->second));
        }
        result_.expectations.push_back(std::move(r));
        continue;
      }
      auto r = evaluate(e, true);
      if (!r.when) r.when = now_;
      result_.expectations.push_back(std::move(r));
    }
    std::stable_sort(result_.timeline.begin(), result_.timeline.end(),
                     [](const TimelineEntry& a, const TimelineEntry& b) { return a.at < b.at; });
    note_markings();
    std::size_t met = 0;
    for (const auto& e : result_.expectations) met += e.met;
    progress(fmt::format("done: {} inject(s), {} delivery(ies), {}/{} expectation(s) met", injects_fired_,
                         result_.frames_delivered, met, result_.expectations.size()));
  }

  // How the policy's scheme shows each label the run saw, so that reports
  // (made from the result alone) show markings as the dashboard does.
  void note_markings() {
    std::map<std::string, Label> labels;
    for (const auto& entry : result_.timeline) {
      for (const auto& p : entry.released) labels.emplace(to_string(p.label), p.label);
      for (const auto& w : entry.withheld) labels.emplace(to_string(w.label), w.label);
    }
    for (const auto& [text, label] : labels) {
      MarkingStyle style;
      style.label = text;
      style.display = policy_->display_marking(label);
      const auto colours = policy_->classification_colours(label.classification);
      style.colour = colours.colour;
      style.text_colour = colours.text_colour;
      result_.markings.push_back(std::move(style));
    }
  }

  struct Incoming {
    std::string node;
    node::NodeEvent event;
  };

  const Scenario& scenario_;
  const RunOptions& options_;
  std::shared_ptr<const policy::CompiledPolicy> policy_;  // the first gateway's
  std::filesystem::path policy_file_;
  std::vector<std::string> participants_;
  std::shared_ptr<SimulatedClock> clock_;
  boost::asio::io_context own_io_;  // unless RunOptions::io gives one
  std::vector<RunGateway> gateways_;
  std::thread io_thread_;
  Control own_control_;  // unless RunOptions::control gives one; the nodes wake it
  std::unique_ptr<ExerciseNodes> nodes_;

  std::mutex inbox_mutex_;  // guards inbox_, gateway_settled_
  std::condition_variable inbox_changed_;
  std::deque<Incoming> inbox_;
  std::uint64_t gateway_settled_ = 0;  // the gateway's settled notices so far
  std::vector<Incoming> arrived_;             // taken from the inbox, not yet handled
  std::map<std::string, std::size_t> rank_;   // node -> its place among the participants
  std::map<std::string, int> sent_count_;     // inject/response id -> messages it has sent
  std::map<std::string, std::string> hold_names_;  // hold id -> what was held (inject id or title)

  std::map<std::pair<Offset, long>, Item> agenda_;
  long sequence_ = 0;
  Offset now_{0};
  bool stopping_ = false;
  bool finished_ = false;  // every item has run (or the run was stopped)
  bool published_paused_ = false;
  std::chrono::steady_clock::time_point last_published_{};
  int injects_fired_ = 0;

  RunResult result_;
  std::map<std::string, std::string> sources_;          // message id -> inject/response id
  std::map<std::string, std::string> inject_messages_;  // inject/response id -> message id
  std::map<std::string, std::size_t> portions_sent_;     // message id -> how many portions it was sent with
  std::map<std::string, Offset> inject_times_;
  std::map<std::string, Offset> receipt_times_;         // message id -> first Receipt
  std::map<std::string, Offset> approval_times_;        // message id -> first approval
  std::map<std::string, std::vector<std::size_t>> received_;  // node -> timeline indexes of deliveries
  std::map<std::string, std::size_t> knowledge_index_;
  std::set<std::string> responded_;
  std::set<std::string> pending_submits_;
  int pending_controls_ = 0;
  // settle(): nodes the gateway wrote frames that need no acknowledgement, not
  // yet asked for an echo; and those asked, with the tag of the echo awaited.
  std::set<std::string> written_unacknowledged_;
  std::map<std::string, std::int64_t> echoes_awaited_;
  std::int64_t echo_tag_ = 0;
  std::set<std::string> checked_at_deadline_;
  std::set<std::string> deadline_sent_;        // expectations whose inject had been sent by their deadline
  std::map<std::string, Offset> sent_at_;      // inject/response id -> when it first sent a message
  std::map<std::string, ExpectationResult> deadline_results_;

  // People at the table (RunOptions::table).
  Table* table_ = options_.table;
  std::set<std::string> played_;
  struct SeatSeen {
    std::string message_id;
    Offset at;
  };
  std::map<std::string, std::vector<SeatSeen>> seat_deliveries_;  // played node -> what it received, in order
  struct HeldForSeat {
    std::string message_id;
    std::string title;
    Offset at;
  };
  std::map<std::string, HeldForSeat> reviews_;  // hold id -> what a played seat was asked to review
  std::map<std::string, std::pair<std::size_t, Message>> human_messages_;  // message id -> human action, message
  std::map<std::string, std::deque<std::string>> seat_controls_;  // played node -> control frames awaiting an answer
  std::map<std::string, std::string> titles_;                    // message id -> title (scripted messages)
  struct Sent {
    std::string node;
    std::string category;
    std::vector<Addressee> to;
    Offset at;
    std::string message_id;
    std::string title;
    bool by_person = false;
    bool refused = false;
  };
  std::vector<Sent> sends_;  // every message submitted, for `sends` expectations
  std::set<std::string> released_media_;
  int live_injects_ = 0;
  int live_media_ = 0;
  std::string last_item_;
  TableStatus table_status_;
  std::chrono::steady_clock::time_point table_status_at_{};
  std::vector<LiveExpectation> board_;
  bool stopped_early_ = false;
  bool stopping_gateway_ = false;
  bool actions_changed_ = false;  // human_actions changed since the table last had them
  std::filesystem::path work_dir_;
};

}  // namespace

std::vector<GatewayPart> gateway_parts(const Scenario& scenario, const std::filesystem::path& policy,
                                       const std::string& gateway) {
  std::vector<std::string> ids;
  for (const auto& g : scenario.gateways) ids.push_back(g.id);
  if (!policy.empty() && gateway.empty())
    throw RunError(fmt::format("scenario {} has {} gateways ({}): --policy needs --gateway to name the one whose "
                               "policy it replaces",
                               scenario.name, ids.size(), fmt::join(ids, ", ")));
  if (!gateway.empty() && std::find(ids.begin(), ids.end(), gateway) == ids.end())
    throw RunError(fmt::format("--gateway {}: scenario {} has no such gateway (gateways: {}){}", gateway, scenario.name,
                               fmt::join(ids, ", "), policy::suggestion_suffix(policy::closest(gateway, ids))));
  std::vector<GatewayPart> parts;
  for (const auto& g : scenario.gateways) {
    GatewayPart part;
    part.id = g.id;
    part.address = g.address;
    part.policy_file = g.id == gateway && !policy.empty() ? policy : g.policy;
    part.policy = load_valid_policy(part.policy_file, g.id);
    part.nodes = gateway_participants(g, *part.policy);
    parts.push_back(std::move(part));
  }
  return parts;
}

RunResult run_exercise(const Scenario& scenario, const RunOptions& options) { return Runner(scenario, options).run(); }

}  // namespace icegate::exercise

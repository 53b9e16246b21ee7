#include "clients/exercise/host/host.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <future>
#include <mutex>
#include <optional>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "clients/exercise/bundle.hpp"
#include "clients/exercise/host/host_site.hpp"
#include "clients/exercise/report.hpp"
#include "clients/exercise/runner.hpp"
#include "clients/exercise/table.hpp"
#include "clients/exercise/work_dir.hpp"
#include "gateway/http/access.hpp"
#include "gateway/http/dashboard.hpp"
#include "gateway/http/http_server.hpp"
#include "gateway/http/qr.hpp"
#include "gateway/pki/pki.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::exercise::host {

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string url_host(const std::string& host) { return host.find(':') != std::string::npos ? "[" + host + "]" : host; }

}  // namespace

struct ExerciseHost::Impl {
  HostPlan plan;
  HostConfig config;
  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::thread io_thread;
  std::vector<std::unique_ptr<Table>> tables;
  std::vector<std::unique_ptr<Control>> controls;
  std::vector<std::unique_ptr<http::Dashboard>> dashboards;  // on the io thread only
  std::unique_ptr<HostSite> site;
  std::unique_ptr<http::HttpServer> server;
  std::optional<WorkDir> pki_dir;  // the exercise's CA key lives no longer than the exercise
  std::vector<std::thread> runners;
  std::mutex results_mutex;
  std::vector<std::optional<RunResult>> results;
  std::vector<std::string> errors;
  bool invalid_policy = false;
  std::atomic<int> running{0};
  bool stopped = false;

  bool https() const { return config.https || !http::is_loopback_address(config.listen.address().to_string()); }

  // Runs `work` on the io thread and waits for it (the server and dashboards live there).
  template <typename F>
  void on_io(F&& f) {
    if (!io_thread.joinable()) {
      f();
      return;
    }
    std::promise<void> done;
    boost::asio::post(io, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }
};

ExerciseHost::ExerciseHost(HostPlan plan, HostConfig config) : impl_(std::make_unique<Impl>()) {
  impl_->plan = std::move(plan);
  impl_->config = std::move(config);
}

ExerciseHost::~ExerciseHost() {
  finish();
  for (auto& runner : impl_->runners)
    if (runner.joinable()) runner.join();
  stop();
}

HostSite& ExerciseHost::site() { return *impl_->site; }

boost::asio::ip::tcp::endpoint ExerciseHost::local_endpoint() const { return impl_->server->local_endpoint(); }

std::vector<std::string> ExerciseHost::report_names() const {
  const HostPlan& plan = impl_->plan;
  // Named as `exercise run` names them: across gateways, by all their policies.
  std::vector<std::string> policy_names;
  for (const auto& g : plan.tables[0].gateways) policy_names.push_back(g.policy->source().name);
  if (policy_names.empty()) policy_names.push_back(plan.tables[0].policy->source().name);
  const std::string stem = plan.tables.size() == 2
                               ? plan.scenario.name + ".compare"
                               : fmt::format("{}.{}", plan.scenario.name, fmt::join(policy_names, "+"));
  return {stem + ".html", stem + ".json", stem + ".bundle.json"};
}

std::filesystem::path ExerciseHost::data_dir(std::size_t table) const {
  if (impl_->config.work_dir.empty()) return {};
  return impl_->config.work_dir / fmt::format("table-{}", table) / "data";
}

std::filesystem::path ExerciseHost::data_dir(std::size_t table, const std::string& gateway) const {
  const auto data = data_dir(table);
  return data.empty() ? data : data / gateway;  // where the runner puts each gateway's
}

HostLinks ExerciseHost::start() {
  Impl& m = *impl_;
  const HostPlan& plan = m.plan;
  for (const auto& t : plan.tables) {
    m.tables.push_back(std::make_unique<Table>(t.name, plan.played));
    m.tables.back()->set_policy(t.policy);
    if (!t.gateways.empty()) {
      // Each seat composes under its own gateway's policy from the first page on.
      std::vector<TableGateway> gateways;
      for (const auto& g : t.gateways) gateways.push_back({g.id, g.policy, g.nodes});
      m.tables.back()->set_gateways(std::move(gateways));
    }
    m.controls.push_back(std::make_unique<Control>());
    m.controls.back()->pause();  // the facilitator starts it
  }
  m.dashboards.resize(plan.tables.size());
  m.results.resize(plan.tables.size());

  // The certificate: from a CA made for this exercise, naming every address
  // and name the players may type.
  http::HttpServerOptions server_options;
  server_options.listen = m.config.listen;
  HostLinks links;
  const std::string bind = m.config.listen.address().to_string();
  std::string link_host = m.config.names.empty() ? bind : m.config.names.front();
  if (m.config.listen.address().is_unspecified() && m.config.names.empty())
    throw std::runtime_error(fmt::format("--http {}: players cannot reach 'any address'; give --http-name with the name "
                                         "or address they will type",
                                         bind));
  std::string ca_pem;
  if (m.https()) {
    m.pki_dir.emplace(m.config.work_dir, "icegate-host");
    const auto dir = m.pki_dir->path() / "host-pki";
    pki::init_ca(dir, fmt::format("icegate exercise CA ({})", plan.scenario.name), true);
    std::vector<std::string> names;
    if (!m.config.listen.address().is_unspecified()) names.push_back(bind);
    for (const auto& name : m.config.names)
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    const auto paths = pki::issue_server(dir, "exercise-host", names);
    server_options.https = http::HttpsFiles{paths.certificate, paths.key};
    links.ca_certificate = pki::ca_paths(dir).certificate;
    ca_pem = read_file(links.ca_certificate);
    links.ca_fingerprint = pki::certificate_sha256_fingerprint(links.ca_certificate);
  }

  // The site, over the tables; the server on the io thread.
  HostActions actions;
  actions.control = [this](std::optional<std::size_t> table, std::string_view action, double speed) {
    for (std::size_t k = 0; k < impl_->controls.size(); ++k) {
      if (table && *table != k) continue;
      Control& c = *impl_->controls[k];
      if (action == "pause") c.pause();
      else if (action == "resume") c.resume();
      else if (action == "step") c.step();
      else if (action == "speed") c.set_speed(speed);
    }
  };
  actions.finish = [this] {
    for (auto& c : impl_->controls) c->stop();
    return report_names();
  };
  HostOptions options;
  options.evaluators = plan.evaluators;
  options.reports_dir = m.config.out;
  options.ca_pem = ca_pem;
  options.ca_fingerprint = links.ca_fingerprint;
  options.qr_svg = [](std::string_view link) { return http::qr_svg(link); };
  std::vector<HostTable> host_tables;
  for (std::size_t k = 0; k < m.tables.size(); ++k)
    host_tables.push_back({m.tables[k].get(), plan.tables[k].policy_file.filename().string(), nullptr});

  // The site makes its links from the base URL, which holds the port: known
  // once bound (port 0 in tests), before anyone can ask for a link.
  m.site = std::make_unique<HostSite>(plan.scenario, std::move(host_tables), std::move(actions), std::move(options));
  m.server = std::make_unique<http::HttpServer>(m.io, *m.site, server_options);
  m.server->start();  // throws when the port is taken: nothing runs yet
  m.site->set_base_url(fmt::format("{}://{}:{}/", m.https() ? "https" : "http", url_host(link_host),
                                   m.server->local_endpoint().port()));
  m.work.emplace(m.io.get_executor());
  m.io_thread = std::thread([&io = m.io] { io.run(); });

  // The runs: one thread each; gateways on our io thread.
  m.running = static_cast<int>(m.tables.size());
  for (std::size_t k = 0; k < m.tables.size(); ++k) {
    m.runners.emplace_back([this, k] {
      Impl& m = *impl_;
      RunOptions run;
      run.policy = m.plan.tables[k].run_policy;
      run.gateway = m.plan.tables[k].gateway;  // several gateways: the one whose policy run.policy replaces
      run.real_time = true;
      run.speed = m.config.speed;
      run.control = m.controls[k].get();
      run.progress = m.config.progress;
      run.keep_open = true;  // until finish: the facilitator still reads the board
      run.table = m.tables[k].get();
      if (!m.config.work_dir.empty()) run.work_dir = m.config.work_dir / fmt::format("table-{}", k);
      run.io = &m.io;
      run.hooks.gateway_started = [this, k](server::Gateway& gateway) {
        Impl& m = *impl_;
        http::AccessPolicy access{false, http::random_token()};  // the site presents the token
        m.dashboards[k] = std::make_unique<http::Dashboard>(gateway, access);
        http::ExerciseControls controls;
        Control* control = m.controls[k].get();
        controls.pause = [control] { control->pause(); };
        controls.resume = [control] { control->resume(); };
        controls.step = [control] { control->step(); };
        m.dashboards[k]->set_exercise(std::move(controls));
        m.site->set_dashboard(k, m.dashboards[k].get());
      };
      run.hooks.progress = [this, k](const RunStatus& status, bool notable) {
        if (auto& dashboard = impl_->dashboards[k])
          dashboard->exercise_progress({status.scenario, status.state, status.clock_unix_ms, status.next_unix_ms,
                                        status.item_id, status.speed},
                                       notable);
      };
      run.hooks.gateway_stopping = [this, k](server::Gateway&) {
        impl_->site->set_dashboard(k, nullptr);
        impl_->dashboards[k].reset();
      };
      try {
        RunResult result = run_exercise(m.plan.scenario, run);
        std::lock_guard lock(m.results_mutex);
        m.results[k] = std::move(result);
      } catch (const InvalidPolicyError& e) {
        std::lock_guard lock(m.results_mutex);
        m.errors.push_back(e.what());
        m.invalid_policy = true;
      } catch (const std::exception& e) {
        std::lock_guard lock(m.results_mutex);
        m.errors.push_back(fmt::format("table {}: {}", k, e.what()));
      }
      // One run failing ends the exercise: the other table stops too.
      for (auto& c : m.controls) c->stop();
      if (--m.running == 0) {
        runs_ended_ = true;
        if (m.config.runs_ended) m.config.runs_ended();
      }
    });
  }

  links.facilitator = m.site->facilitator_link();
  for (std::size_t k = 0; k < m.tables.size(); ++k)
    for (const auto& node : plan.played)
      links.seats.emplace_back(m.tables[k]->name().empty() ? node : m.tables[k]->name() + "/" + node,
                               m.site->seat_link(k, node));
  for (std::size_t e = 0; e < plan.evaluators.size(); ++e)
    links.evaluators.emplace_back(plan.evaluators[e], m.site->evaluator_link(e));
  return links;
}

void ExerciseHost::pause() {
  for (auto& c : impl_->controls) c->pause();
}
void ExerciseHost::resume() {
  for (auto& c : impl_->controls) c->resume();
}
void ExerciseHost::step() {
  for (auto& c : impl_->controls) c->step();
}

void ExerciseHost::finish() {
  if (impl_->site) impl_->site->request_finish();
  for (auto& c : impl_->controls) c->stop();
}

int ExerciseHost::wait_and_report(std::ostream& out, std::ostream& err) {
  Impl& m = *impl_;
  for (auto& runner : m.runners)
    if (runner.joinable()) runner.join();
  if (!m.errors.empty()) {
    for (const auto& e : m.errors) fmt::print(err, "icegate exercise host: {}\n", e);
    m.site->reports_written("the run failed: " + m.errors.front());
    return m.invalid_policy ? 3 : 1;
  }
  results_.clear();
  for (std::size_t k = 0; k < m.tables.size(); ++k) {
    RunResult r = std::move(*m.results[k]);
    const Table& table = *m.tables[k];
    // The table is where people's evaluations and the plan were kept.
    r.table = table.name();
    r.played = m.plan.played;
    r.observations = table.observations();
    r.ratings = table.ratings();
    r.improvement_plan = table.improvement_plan();
    if (r.objectives.empty()) r.objectives = m.plan.scenario.objectives;
    results_.push_back(std::move(r));
  }
  const auto names = report_names();
  std::string error;
  try {
    std::filesystem::create_directories(m.config.out);
    auto write = [&](const std::string& name, const std::string& text) {
      std::ofstream file(m.config.out / name, std::ios::binary | std::ios::trunc);
      file << text;
      if (!file) throw std::runtime_error(fmt::format("cannot write {}", (m.config.out / name).string()));
    };
    if (results_.size() == 2) {
      const Comparison comparison{results_[0], results_[1]};
      write(names[0], to_html(comparison, &m.plan.scenario));
      write(names[1], to_json(comparison));
    } else {
      write(names[0], to_html(results_[0], &m.plan.scenario));
      write(names[1], to_json(results_[0]));
    }
    std::vector<std::filesystem::path> policies;
    for (const auto& t : m.plan.tables) {
      // Across gateways: every gateway's policy, each once, as `exercise run` bundles them.
      if (t.gateways.empty()) policies.push_back(t.policy_file);
      for (const auto& g : t.gateways)
        if (std::find(policies.begin(), policies.end(), g.policy_file) == policies.end()) policies.push_back(g.policy_file);
    }
    write_bundle(m.config.out / names[2], m.plan.scenario.file, policies, results_);
  } catch (const std::exception& e) {
    error = e.what();
  }
  m.site->reports_written(error);
  if (!error.empty()) {
    fmt::print(err, "icegate exercise host: {}\n", error);
    return 1;
  }
  for (const auto& [name, what] : {std::pair{names[0], "report"}, std::pair{names[1], "results"}, std::pair{names[2], "bundle"}})
    fmt::print(out, "{:<8} {}\n", what, (m.config.out / name).string());
  for (const auto& r : results_)
    if (!r.all_met()) return 2;
  return 0;
}

void ExerciseHost::stop() {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  // The runs end first: each stops its gateway and lets go of it on the io thread.
  for (auto& c : m.controls) c->stop();
  for (auto& runner : m.runners)
    if (runner.joinable()) runner.join();
  if (m.server) m.on_io([&] { m.server->stop(); });
  m.work.reset();
  // With the server stopped (its connections closed) and the gateways gone,
  // nothing is left on the loop: its run() returns by itself.
  if (m.io_thread.joinable()) m.io_thread.join();
  m.server.reset();
}

}  // namespace icegate::exercise::host

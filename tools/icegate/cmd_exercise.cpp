#include "tools/icegate/cmd_exercise.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <csignal>
#include <optional>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "clients/exercise/bundle.hpp"
#include "clients/exercise/check.hpp"
#include "clients/exercise/national.hpp"
#include "clients/exercise/report.hpp"
#include "clients/exercise/runner.hpp"
#include "clients/exercise/runner_nodes.hpp"
#include "clients/exercise/scenario.hpp"
#include "gateway/http/access.hpp"
#include "gateway/http/dashboard.hpp"
#include "gateway/http/http_server.hpp"
#include "gateway/policy/checker.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/gateway.hpp"
#include "tools/icegate/cmd_host.hpp"
#include "tools/icegate/cmd_serve.hpp"
#include "tools/icegate/commands.hpp"
#include "tools/icegate/signal_watch.hpp"
#include "tools/icegate/terminal_lines.hpp"

namespace icegate::cli {

namespace {

using exercise::Offset;
using exercise::format_scenario_time;

bool write_text(const std::filesystem::path& path, const std::string& text, std::ostream& err) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  if (!file) {
    fmt::print(err, "icegate exercise: cannot write {}\n", path.string());
    return false;
  }
  return true;
}

// One sequence diagram per run: a Mermaid file holds one diagram, so with a
// comparison `path` becomes one file per policy, named by inserting the policy
// before the extension (NAME.compare.POLICY.mmd); its position in the
// comparison tells two policies of the same name apart.
bool write_diagrams(const std::filesystem::path& path, const std::vector<exercise::RunResult>& results,
                    std::ostream& err, std::vector<std::filesystem::path>& written) {
  bool ok = true;
  for (std::size_t i = 0; i < results.size(); ++i) {
    std::filesystem::path file = path;
    if (results.size() > 1) {
      std::string policy = results[i].policy_name;
      if (std::count_if(results.begin(), results.end(), [&](const auto& r) { return r.policy_name == policy; }) > 1)
        policy += fmt::format("-{}", i + 1);
      // A policy's name (from a bundle someone sent, perhaps) goes into a file name: no separators, nothing odd.
      for (char& c : policy)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
      file.replace_filename(fmt::format("{}.{}{}", path.stem().string(), policy, path.extension().string()));
    }
    ok &= write_text(file, exercise::to_mermaid(results[i]), err);
    written.push_back(file);
  }
  return ok;
}

// A bundle's scenario, loaded from a copy of its files (a scenario may import
// its injects from a CSV file beside it).
exercise::Scenario bundled_scenario(const exercise::Bundle& bundle) {
  std::string pattern = (std::filesystem::temp_directory_path() / "icegate-report-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary directory");
  const std::filesystem::path dir = pattern;
  struct Remove {
    std::filesystem::path dir;
    ~Remove() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove{dir};
  exercise::Scenario scenario = exercise::load_scenario(exercise::extract_bundle(bundle, dir));
  // Name it as the bundle does, not by the temporary copy.
  scenario.file = bundle.scenario_file;
  return scenario;
}

void print_summary(std::ostream& out, const exercise::RunResult& r) {
  std::size_t met = 0;
  for (const auto& e : r.expectations) met += e.met;
  fmt::print(out, "\n{} under {} ({})\n", r.scenario_title.empty() ? r.scenario : r.scenario_title, r.policy_name,
             r.policy_version.substr(0, 19));
  fmt::print(out, "{} to {} simulated in {:.1f} s; {} deliveries\n", format_scenario_time(r.start),
             format_scenario_time(r.end), r.wall_seconds, r.frames_delivered);
  for (const auto& g : r.gateways)
    fmt::print(out, "Gateway {} on {} under {} ({}): {}\n", g.id, g.address, g.policy_name,
               g.policy_version.substr(0, 19), fmt::join(g.nodes, ", "));
  fmt::print(out, "Expectations: {}/{} met{}\n", met, r.expectations.size(), met == r.expectations.size() ? "" : "  <-- UNMET");
  for (const auto& e : r.expectations)
    fmt::print(out, "  {} {:<4} {}\n       {}\n", e.met ? "met  " : "UNMET", e.id, e.description, e.evidence);
  if (!r.contingencies_fired.empty()) fmt::print(out, "Contingencies fired: {}\n", fmt::join(r.contingencies_fired, ", "));
  fmt::print(out, "Who knew what, and when:\n");
  std::map<std::string, std::vector<std::string>> by_node;
  for (const auto& k : r.knowledge)
    by_node[k.node].push_back(fmt::format("{} at {} ({})", k.inject.empty() ? k.message_id.substr(0, 8) : k.inject,
                                          format_scenario_time(k.first_at), to_string(k.decision)));
  for (const auto& node : r.nodes) {
    auto it = by_node.find(node);
    if (it == by_node.end()) continue;
    const auto gateway = r.gateway_of(node);  // across gateways: who decided for the node
    fmt::print(out, "  {:<24} {}\n", gateway.empty() ? node : fmt::format("{} ({})", node, gateway),
               fmt::join(it->second, ", "));
  }
  std::size_t silent = 0;
  for (const auto& node : r.nodes) silent += !by_node.contains(node);
  if (silent) fmt::print(out, "  ({} other node(s) learnt nothing)\n", silent);
}

void print_comparison(std::ostream& out, const exercise::Comparison& c) {
  fmt::print(out, "\nSide by side: {} | {}\n", c.first.policy_name, c.second.policy_name);
  std::map<std::string, const exercise::ExpectationResult*> second;
  for (const auto& e : c.second.expectations) second[e.id] = &e;
  for (const auto& e : c.first.expectations) {
    const auto* other = second[e.id];
    fmt::print(out, "  {:<4} {:<8} | {:<8} {}\n", e.id, e.met ? "met" : "UNMET", other && other->met ? "met" : "UNMET",
               e.description);
  }
  const auto differences = exercise::differing_decisions(c);
  fmt::print(out, "Decisions that differ: {}\n", differences.size());
  std::size_t shown = 0;
  for (const auto& d : differences) {
    if (++shown > 20) {
      fmt::print(out, "  ... and {} more (see the HTML report)\n", differences.size() - 20);
      break;
    }
    auto describe = [](const std::vector<exercise::DecisionRow>& rows) {
      if (rows.empty()) return std::string("no decision");
      std::vector<std::string> parts;
      for (const auto& row : rows) parts.push_back(std::string(to_string(row.decision)));
      return fmt::format("{}", fmt::join(parts, " then "));
    };
    fmt::print(out, "  {:<10} {:<24} {} | {}\n", d.inject, d.node, describe(d.first), describe(d.second));
  }
}

// The dashboards on a run's in-process gateways, one per gateway: made when
// the gateway starts, let go before it stops (with --compare, each run has its
// own gateways and so its own dashboards, at the same addresses). The first is
// at --http's address; across several gateways each next one at the next
// port (or at a port of the system's choosing, with port 0), each printed
// with its gateway's id. Everything here runs on the gateways' io thread,
// through the runner's hooks.
class ExerciseDashboard {
 public:
  ExerciseDashboard(boost::asio::ip::tcp::endpoint endpoint, http::AccessPolicy access, exercise::Control& control,
                    std::ostream& out, bool several_gateways)
      : first_endpoint_(endpoint),
        access_(std::move(access)),
        control_(control),
        out_(out),
        several_gateways_(several_gateways) {}

  exercise::RunHooks hooks() {
    exercise::RunHooks hooks;
    hooks.every_gateway = true;
    hooks.gateway_started = [this](server::Gateway& gateway) { attach(gateway); };
    hooks.progress = [this](const exercise::RunStatus& status, bool notable) {
      for (auto& watched : watched_) watched.dashboard->exercise_progress(convert(status), notable);
    };
    hooks.gateway_stopping = [this](server::Gateway& gateway) {
      const auto it = std::find_if(watched_.begin(), watched_.end(),
                                   [&](const Watched& w) { return w.gateway == &gateway; });
      if (it == watched_.end()) return;
      it->server->stop();
      watched_.erase(it);
    };
    return hooks;
  }

 private:
  struct Watched {
    server::Gateway* gateway = nullptr;
    std::unique_ptr<http::Dashboard> dashboard;
    std::unique_ptr<http::HttpServer> server;
  };

  static http::ExerciseStatus convert(const exercise::RunStatus& status) {
    return {status.scenario, status.state, status.clock_unix_ms, status.next_unix_ms, status.item_id, status.speed};
  }

  void attach(server::Gateway& gateway) {
    // The k-th gateway of this run (the list empties as a run's gateways stop).
    const std::size_t k = watched_.size();
    if (endpoints_.size() <= k) {
      auto endpoint = first_endpoint_;
      if (k > 0 && endpoint.port() != 0) endpoint.port(static_cast<unsigned short>(endpoints_.front().port() + k));
      endpoints_.push_back(endpoint);
    }
    Watched watched;
    watched.gateway = &gateway;
    watched.dashboard = std::make_unique<http::Dashboard>(gateway, access_);
    http::HttpServerOptions options;
    options.listen = endpoints_[k];
    watched.server = std::make_unique<http::HttpServer>(gateway.io(), *watched.dashboard, options);
    watched.server->start();  // a port in use: thrown, and the run fails with the reason
    // Port 0: keep the port we were given, so that a second (--compare) run is at the same URL.
    endpoints_[k] = watched.server->local_endpoint();
    http::ExerciseControls controls;
    controls.pause = [this] { control_.pause(); };
    controls.resume = [this] { control_.resume(); };
    controls.step = [this] { control_.step(); };
    watched.dashboard->set_exercise(std::move(controls));
    const std::string url = http::dashboard_url(endpoints_[k].address().to_string(), endpoints_[k].port(), access_);
    // One gateway: "dashboard: URL", as ever; several: each named by its gateway.
    const std::string line = several_gateways_ ? fmt::format("dashboard {}: {}", gateway.config().gateway_id, url)
                                               : fmt::format("dashboard: {}", url);
    if (printed_.size() <= k) printed_.resize(k + 1);
    if (line != printed_[k]) fmt::print(out_, "{}\n", line);
    out_.flush();
    printed_[k] = line;
    watched_.push_back(std::move(watched));
  }

  boost::asio::ip::tcp::endpoint first_endpoint_;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;  // per gateway, once bound
  http::AccessPolicy access_;
  exercise::Control& control_;
  std::ostream& out_;
  bool several_gateways_;
  std::vector<std::string> printed_;
  std::vector<Watched> watched_;
};

// The facilitator's keys in a real-time run: p, r, s, q (or the words), one a
// line, read as they are typed (TerminalLines) until the run is over.
class Keyboard {
 public:
  Keyboard(std::istream& in, exercise::Control& control)
      : control_(control), lines_(in, [this](std::string line) { command(line); }) {}

 private:
  void command(const std::string& line) {
    if (control_.stopped()) return;  // the run is over: keys do nothing
    if (line == "p" || line == "pause") control_.pause();
    else if (line == "r" || line == "resume") control_.resume();
    else if (line == "s" || line == "step") control_.step();
    else if (line == "q" || line == "quit") control_.stop();
  }

  exercise::Control& control_;
  TerminalLines lines_;  // last: its thread ends before control_ goes
};

}  // namespace

int run_exercise_run(const ExerciseRunParams& params, std::istream& in, std::ostream& out, std::ostream& err) {
  exercise::Scenario scenario;
  try {
    scenario = exercise::load_scenario(params.scenario);
  } catch (const std::exception& e) {
    fmt::print(err, "{}\n", e.what());
    return exit_error;
  }
  exercise::Control control;
  std::optional<ExerciseDashboard> dashboard;
  if (!params.http.empty()) {
    boost::asio::ip::tcp::endpoint endpoint;
    std::string error;
    if (!parse_http_address(params.http, endpoint, error)) {
      fmt::print(err, "icegate exercise run: --http: {}\n", error);
      return exit_error;
    }
    if (const auto problem = check_http_token(params.http_token); !problem.empty()) {
      fmt::print(err, "icegate exercise run: --http-token: {}\n", problem);
      return exit_error;
    }
    dashboard.emplace(endpoint, http::access_for(endpoint.address().to_string(), params.http_token), control, out,
                      scenario.gateways.size() > 1);
  } else if (!params.http_token.empty() || params.http_keep_open) {
    fmt::print(err, "icegate exercise run: --http-token and --http-keep-open need --http\n");
    return exit_error;
  }
  // A dashboard is for watching: the run goes in real time.
  const bool real_time = params.real_time || dashboard.has_value();
  // Ctrl-C during a run with a dashboard stops the run (and ends --http-keep-open) gracefully.
  std::optional<SignalWatch> interrupt;
  if (dashboard) interrupt.emplace(std::initializer_list<int>{SIGINT}, [&control] { control.stop(); });
  std::optional<Keyboard> keyboard;
  if (real_time) {
    fmt::print(out, "Real time at {}x. Type p (pause), r (resume), s (step to the next event), q (stop).\n", params.speed);
    keyboard.emplace(in, control);
  }
  auto run = [&](const std::filesystem::path& policy, bool last) {
    exercise::RunOptions options;
    options.policy = policy;
    options.gateway = params.gateway;
    options.real_time = real_time;
    if (dashboard) {
      options.hooks = dashboard->hooks();
      options.keep_open = last && params.http_keep_open;
      if (options.keep_open && !params.quiet)
        fmt::print(out, "After the run the dashboard stays up: type q (or press Ctrl-C) to finish.\n");
    }
    options.speed = params.speed;
    options.control = &control;
    options.progress = params.quiet ? nullptr : &out;
    options.nodes_per_process = params.nodes_per_process;
    if (!params.quiet) {
      if (scenario.gateways.empty())
        fmt::print(out, "Running {} under {}\n", scenario.name, policy.empty() ? scenario.policy.string() : policy.string());
      else
        fmt::print(out, "Running {} across {} gateways{}\n", scenario.name, scenario.gateways.size(),
                   policy.empty() ? "" : fmt::format(", {} under {}", params.gateway, policy.string()));
    }
    return exercise::run_exercise(scenario, options);
  };
  std::vector<exercise::RunResult> results;
  int code = exit_ok;
  try {
    results.push_back(run(params.policy, params.compare.empty()));
    if (!params.compare.empty() && !control.stopped()) results.push_back(run(params.compare, true));
  } catch (const exercise::InvalidPolicyError& e) {
    fmt::print(err, "icegate exercise run: {}\n", e.what());
    code = exit_invalid_policy;
  } catch (const std::exception& e) {
    fmt::print(err, "icegate exercise run: {}\n", e.what());
    code = exit_error;
  }
  if (keyboard) {
    control.stop();
    keyboard.reset();  // joins: the reader ends before the controls it uses go
  }
  if (code != exit_ok) return code;

  for (const auto& r : results) print_summary(out, r);
  const bool compare = results.size() == 2;
  std::optional<exercise::Comparison> comparison;
  if (compare) {
    comparison = exercise::Comparison{results[0], results[1]};
    print_comparison(out, *comparison);
  }

  auto name = [&](const char* extension) {
    return params.out / fmt::format("{}{}.{}", scenario.name, compare ? ".compare" : "." + results[0].policy_name, extension);
  };
  auto pick = [&](const std::filesystem::path& given, const char* extension) {
    return !given.empty() ? given : params.out.empty() ? std::filesystem::path() : name(extension);
  };
  const auto html = pick(params.html, "html"), json = pick(params.json, "json"), mermaid = pick(params.mermaid, "mmd"),
             bundle = pick(params.bundle, "bundle.json");
  bool written = true;
  if (!html.empty())
    written &= write_text(html, compare ? exercise::to_html(*comparison, &scenario) : exercise::to_html(results[0], &scenario), err);
  if (!json.empty()) written &= write_text(json, compare ? exercise::to_json(*comparison) : exercise::to_json(results[0]), err);
  std::vector<std::filesystem::path> diagrams;
  if (!mermaid.empty()) written &= write_diagrams(mermaid, results, err, diagrams);
  if (!bundle.empty()) {
    // The files run, not r.policy_file: that is relative to the scenario, for reports.
    std::vector<std::filesystem::path> policies;
    if (scenario.gateways.empty()) policies.push_back(params.policy.empty() ? scenario.policy : params.policy);
    for (const auto& g : scenario.gateways) policies.push_back(g.policy);  // several gateways: each one's
    if (!scenario.gateways.empty() && !params.policy.empty()) policies.push_back(params.policy);
    if (compare) policies.push_back(params.compare);
    try {
      if (bundle.has_parent_path()) std::filesystem::create_directories(bundle.parent_path());  // as for the other reports
      exercise::write_bundle(bundle, params.scenario, policies, results);
    } catch (const std::exception& e) {
      fmt::print(err, "icegate exercise: bundle: {}\n", e.what());
      written = false;
    }
  }
  for (const auto& [path, what] : {std::pair{html, "report"}, std::pair{json, "results"}, std::pair{bundle, "bundle"}})
    if (!path.empty()) fmt::print(out, "{:<17} {}\n", what, path.string());
  for (const auto& path : diagrams) fmt::print(out, "{:<17} {}\n", "sequence diagram", path.string());
  if (!written) return exit_error;
  for (const auto& r : results)
    if (!r.all_met()) return exit_denied;
  return exit_ok;
}

namespace {

// A scenario across several gateways: each gateway's policy (`policy`
// replacing `gateway`'s), then the same check as before a run.
int check_gateways(const std::filesystem::path& scenario_file, const exercise::Scenario& scenario,
                   const std::filesystem::path& policy, const std::string& gateway, std::ostream& out,
                   std::ostream& err) {
  std::vector<std::string> ids;
  for (const auto& g : scenario.gateways) ids.push_back(g.id);
  if (!policy.empty() && gateway.empty()) {
    fmt::print(err, "icegate exercise check: scenario {} has {} gateways ({}): --policy needs --gateway to name the "
               "one whose policy it replaces\n", scenario.name, ids.size(), fmt::join(ids, ", "));
    return exit_error;
  }
  if (!gateway.empty() && std::find(ids.begin(), ids.end(), gateway) == ids.end()) {
    fmt::print(err, "icegate exercise check: --gateway {}: scenario {} has no such gateway (gateways: {}){}\n", gateway,
               scenario.name, fmt::join(ids, ", "), policy::suggestion_suffix(policy::closest(gateway, ids)));
    return exit_error;
  }
  exercise::GatewayPolicies policies;
  std::vector<std::string> names;
  for (const auto& g : scenario.gateways) {
    const auto file = g.id == gateway && !policy.empty() ? policy : g.policy;
    const auto loaded = policy::load_policy(file);
    if (!loaded.policy) {
      std::vector<std::string> errors;
      for (const auto& d : loaded.diagnostics.sorted()) errors.push_back(policy::to_string(d));
      fmt::print(err, "icegate exercise check: policy {} (gateway {}) is invalid:\n{}\n", file.string(), g.id,
                 fmt::join(errors, "\n"));
      return exit_invalid_policy;
    }
    policies.push_back(loaded.policy);
    names.push_back(fmt::format("{} ({})", g.id, loaded.policy->source().name));
  }
  const auto problems = exercise::check_against_gateways(scenario, policies);
  if (problems.has_errors()) {
    fmt::print(err, "{}\n", exercise::render(problems));
    return exit_error;
  }
  fmt::print(out, "{}: {} inject(s), {} expectation(s), {} contingency(ies), {} response(s), {} to {}; names checked "
             "against the policies of gateways {}\n",
             scenario_file.string(), scenario.injects.size(), scenario.expectations.size(),
             scenario.contingencies.size(), scenario.responses.size(), format_scenario_time(scenario.start),
             format_scenario_time(scenario.end), fmt::join(names, ", "));
  return exit_ok;
}

}  // namespace

int run_exercise_check(const std::filesystem::path& scenario_file, const std::filesystem::path& policy,
                       std::ostream& out, std::ostream& err, const std::string& gateway) {
  auto load = exercise::read_scenario(scenario_file);
  if (!load.scenario) {
    fmt::print(err, "{}\n", exercise::render(load.diagnostics));
    return exit_error;
  }
  const exercise::Scenario& scenario = *load.scenario;
  if (!scenario.gateways.empty()) return check_gateways(scenario_file, scenario, policy, gateway, out, err);
  if (!gateway.empty()) {
    fmt::print(err, "icegate exercise check: --gateway {}: scenario {} has one gateway; --gateway names one of a "
               "scenario's `gateways`\n", gateway, scenario.name);
    return exit_error;
  }
  // The same check as before a run, so a scenario that checks clean runs.
  const auto policy_file = policy.empty() ? scenario.policy : policy;
  std::string against = " (no policy: names not checked)";
  if (!policy_file.empty()) {
    const auto loaded = policy::load_policy(policy_file);
    if (!loaded.policy) {
      std::vector<std::string> errors;
      for (const auto& d : loaded.diagnostics.sorted()) errors.push_back(policy::to_string(d));
      fmt::print(err, "icegate exercise check: policy {} is invalid:\n{}\n", policy_file.string(), fmt::join(errors, "\n"));
      return exit_invalid_policy;
    }
    const auto problems = exercise::check_against_policy(scenario, *loaded.policy);
    if (problems.has_errors()) {
      fmt::print(err, "{}\n", exercise::render(problems));
      return exit_error;
    }
    against = fmt::format("; names checked against policy {}", loaded.policy->source().name);
  }
  fmt::print(out, "{}: {} inject(s), {} expectation(s), {} contingency(ies), {} response(s), {} to {}{}\n",
             scenario_file.string(), scenario.injects.size(), scenario.expectations.size(),
             scenario.contingencies.size(), scenario.responses.size(), format_scenario_time(scenario.start),
             format_scenario_time(scenario.end), against);
  return exit_ok;
}

int run_exercise_import_csv(const std::filesystem::path& csv, std::ostream& out, std::ostream& err) {
  std::ifstream file(csv, std::ios::binary);
  if (!file) {
    fmt::print(err, "icegate exercise import-csv: cannot read {}\n", csv.string());
    return exit_error;
  }
  const std::string text(std::istreambuf_iterator<char>(file), {});
  std::vector<exercise::Inject> injects;
  try {
    injects = exercise::import_injects_csv(text, csv.string());
  } catch (const std::exception& e) {
    fmt::print(err, "{}\n", e.what());
    return exit_error;
  }
  YAML::Emitter yaml;
  yaml << YAML::BeginMap << YAML::Key << "injects" << YAML::Value << YAML::BeginSeq;
  for (const auto& inject : injects) {
    yaml << YAML::BeginMap << YAML::Key << "id" << YAML::Value << inject.id << YAML::Key << "at" << YAML::Value
         << format_scenario_time(inject.at) << YAML::Key << "from" << YAML::Value << inject.from;
    if (!inject.synopsis.empty()) yaml << YAML::Key << "synopsis" << YAML::Value << inject.synopsis;
    if (!inject.expected_action.empty()) yaml << YAML::Key << "expected_action" << YAML::Value << inject.expected_action;
    if (!inject.objective.empty()) yaml << YAML::Key << "objective" << YAML::Value << inject.objective;
    if (!inject.trigger.empty()) yaml << YAML::Key << "trigger" << YAML::Value << inject.trigger;
    if (inject.message) {
      const auto& m = *inject.message;
      yaml << YAML::Key << "message" << YAML::Value << YAML::BeginMap;
      if (!m.title.empty()) yaml << YAML::Key << "title" << YAML::Value << m.title;
      yaml << YAML::Key << "to" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& a : m.to)
        yaml << (a.kind == AddresseeKind::node ? a.name : std::string(to_string(a.kind)) + ":" + a.name);
      yaml << YAML::EndSeq << YAML::Key << "category" << YAML::Value << m.category;
      if (!m.purpose.empty()) yaml << YAML::Key << "purpose" << YAML::Value << m.purpose;
      yaml << YAML::Key << "portions" << YAML::Value << YAML::BeginSeq;
      for (const auto& p : m.portions) {
        yaml << YAML::BeginMap << YAML::Key << "label" << YAML::Value << label_text(p.label) << YAML::Key << "body" << YAML::Value
             << p.body << YAML::EndMap;
      }
      yaml << YAML::EndSeq << YAML::EndMap;
    }
    yaml << YAML::EndMap;
  }
  yaml << YAML::EndSeq << YAML::EndMap;
  out << yaml.c_str() << '\n';
  return exit_ok;
}

int run_exercise_report(const ExerciseReportParams& params, std::ostream& out, std::ostream& err) {
  exercise::Bundle bundle;
  try {
    bundle = exercise::read_bundle(params.bundle);
  } catch (const std::exception& e) {
    fmt::print(err, "icegate exercise report: {}\n", e.what());
    return exit_error;
  }
  if (bundle.results.empty()) {
    fmt::print(err, "icegate exercise report: {} holds no results\n", params.bundle.string());
    return exit_error;
  }
  // Two tables that played one after the other, each with a bundle of its
  // own: compared as if they had played side by side.
  if (!params.compare.empty()) {
    if (bundle.results.size() != 1) {
      fmt::print(err, "icegate exercise report: {} already holds {} results; --compare takes two bundles of one each\n",
                 params.bundle.string(), bundle.results.size());
      return exit_error;
    }
    exercise::Bundle second;
    try {
      second = exercise::read_bundle(params.compare);
    } catch (const std::exception& e) {
      fmt::print(err, "icegate exercise report: --compare: {}\n", e.what());
      return exit_error;
    }
    if (second.results.size() != 1) {
      fmt::print(err, "icegate exercise report: --compare: {} holds {} results; it must hold one\n",
                 params.compare.string(), second.results.size());
      return exit_error;
    }
    if (second.results[0].scenario != bundle.results[0].scenario) {
      fmt::print(err, "icegate exercise report: --compare: {} played scenario {}, {} played {}: only one scenario compares\n",
                 params.bundle.string(), bundle.results[0].scenario, params.compare.string(), second.results[0].scenario);
      return exit_error;
    }
    bundle.results.push_back(std::move(second.results[0]));
  }
  const bool compare = bundle.results.size() >= 2;
  std::optional<exercise::Comparison> comparison;
  if (compare) comparison = exercise::Comparison{bundle.results[0], bundle.results[1]};
  // The scenario (its objectives and the MSEL's synopses) as the run had it.
  std::optional<exercise::Scenario> scenario;
  try {
    scenario = bundled_scenario(bundle);
  } catch (const std::exception& e) {
    fmt::print(err, "icegate exercise report: warning: the report leaves out the objectives and injects: {}\n", e.what());
  }
  const exercise::Scenario* given = scenario ? &*scenario : nullptr;
  bool ok = true;
  if (!params.html.empty())
    ok &= write_text(params.html,
                     compare ? exercise::to_html(*comparison, given) : exercise::to_html(bundle.results[0], given), err);
  if (!params.json.empty())
    ok &= write_text(params.json, compare ? exercise::to_json(*comparison) : exercise::to_json(bundle.results[0]), err);
  std::vector<std::filesystem::path> diagrams;
  if (!params.mermaid.empty()) ok &= write_diagrams(params.mermaid, bundle.results, err, diagrams);
  for (const auto& r : bundle.results) print_summary(out, r);
  if (compare) print_comparison(out, *comparison);
  return ok ? exit_ok : exit_error;
}

int run_exercise_unbundle(const std::filesystem::path& bundle_file, const std::filesystem::path& dir,
                          std::ostream& out, std::ostream& err) {
  try {
    const auto bundle = exercise::read_bundle(bundle_file);
    const auto scenario = exercise::extract_bundle(bundle, dir);
    fmt::print(out, "wrote {} and {} file(s) under {}\nrun it again with: icegate exercise run {}\n", scenario.string(),
               bundle.files.size(), dir.string(), scenario.string());
    return exit_ok;
  } catch (const std::exception& e) {
    fmt::print(err, "icegate exercise unbundle: {}\n", e.what());
    return exit_error;
  }
}

int run_exercise_generate_national(const NationalParams& params, std::ostream& out, std::ostream& err) {
  try {
    const auto exercise = exercise::generate_national(params.sizes);
    exercise::write_national(exercise, params.dir, params.scheme);
    fmt::print(out,
               "wrote {}/national.yaml and national-policy.yaml: {} nodes, {} inject(s), {} scripted response(s)\n"
               "run it with: icegate exercise run {}/national.yaml\n",
               params.dir.string(), exercise.nodes, exercise.injects, exercise.responses, params.dir.string());
    return exit_ok;
  } catch (const std::exception& e) {
    fmt::print(err, "icegate exercise generate-national: {}\n", e.what());
    return exit_error;
  }
}

void add_exercise_command(CLI::App& root, int& exit_code) {
  CLI::App* exercise = root.add_subcommand("exercise", "Table-top exercises: run a scenario, compare policies, report");
  exercise->require_subcommand(1);

  auto run = std::make_shared<ExerciseRunParams>();
  CLI::App* run_command = exercise->add_subcommand("run", "Run a scenario with the real gateway and TLS nodes");
  run_command->add_option("scenario", run->scenario, "Scenario file (YAML)")->required()->check(CLI::ExistingFile);
  run_command->add_option("--policy", run->policy, "Policy (default: the scenario's)")->check(CLI::ExistingFile);
  run_command->add_option("--compare", run->compare, "Run again under this policy and compare")->check(CLI::ExistingFile);
  run_command->add_option("--gateway", run->gateway,
                          "A scenario with several gateways: the gateway whose policy --policy and --compare replace");
  run_command->add_flag("--real-time", run->real_time, "Run in real time (pause, resume, step from the keyboard)");
  run_command->add_option("--speed", run->speed, "Real time: scenario seconds per second")->capture_default_str();
  run_command->add_option("--out", run->out, "Write every report into this directory");
  run_command->add_option("--html", run->html, "After-action report (self-contained HTML)");
  run_command->add_option("--json", run->json, "Results as JSON");
  run_command->add_option("--mermaid", run->mermaid, "Sequence diagram (Mermaid) for slides");
  run_command->add_option("--bundle", run->bundle, "The whole exercise (scenario, policies, results) as one file");
  run_command->add_flag("--quiet", run->quiet, "No progress lines");
  run_command->add_option("--http", run->http,
                          "Serve the dashboard on HOST:PORT while the exercise runs (implies --real-time); "
                          "pause, resume and step from the page");
  run_command->add_option("--http-token", run->http_token,
                          "Dashboard access token (at least 16 characters); required beyond loopback, where one is "
                          "made up and printed when not given");
  run_command->add_flag("--http-keep-open", run->http_keep_open,
                        "Keep the gateway and the dashboard up after the run until q or Ctrl-C");
  run_command->add_option("--nodes-per-process", run->nodes_per_process,
                          "At most this many nodes in one process; more are spread over worker processes "
                          "(default: as many as the descriptor limit allows)");
  run_command->callback([run, &exit_code] {
    // The gateway's own log would drown the facilitator's view; its warnings still show.
    spdlog::set_level(spdlog::level::warn);
    exit_code = run_exercise_run(*run, std::cin, std::cout, std::cerr);
  });

  add_exercise_host_command(*exercise, exit_code);

  // A share of a run's nodes, for `exercise run` (which starts it with its
  // end of a socketpair as descriptor 3): not for people, so not listed.
  CLI::App* worker_command =
      exercise->add_subcommand("node-worker", "Run a share of an exercise's nodes for `exercise run`");
  worker_command->group("");
  worker_command->callback([&exit_code] {
    spdlog::set_level(spdlog::level::warn);
    exit_code = exercise::run_node_worker(3);
  });

  struct CheckParams {
    std::filesystem::path scenario, policy;
    std::string gateway;
  };
  auto check = std::make_shared<CheckParams>();
  CLI::App* check_command =
      exercise->add_subcommand("check", "Load a scenario and check its names against the policy; run nothing");
  check_command->add_option("scenario", check->scenario, "Scenario file")->required();
  check_command->add_option("--policy", check->policy, "Policy (default: the scenario's)")->check(CLI::ExistingFile);
  check_command->add_option("--gateway", check->gateway,
                            "A scenario with several gateways: the gateway whose policy --policy replaces");
  check_command->callback([check, &exit_code] {
    exit_code = run_exercise_check(check->scenario, check->policy, std::cout, std::cerr, check->gateway);
  });

  auto csv = std::make_shared<std::filesystem::path>();
  CLI::App* csv_command = exercise->add_subcommand("import-csv", "Print a spreadsheet's inject list as scenario YAML");
  csv_command->add_option("csv", *csv, "CSV file (id,at,from,to,category,purpose,title,label_1,body_1,...)")->required();
  csv_command->callback([csv, &exit_code] { exit_code = run_exercise_import_csv(*csv, std::cout, std::cerr); });

  auto report = std::make_shared<ExerciseReportParams>();
  CLI::App* report_command = exercise->add_subcommand("report", "Render the reports of a bundle again");
  report_command->add_option("bundle", report->bundle, "Bundle file")->required()->check(CLI::ExistingFile);
  report_command->add_option("--html", report->html, "HTML report");
  report_command->add_option("--json", report->json, "JSON results");
  report_command->add_option("--mermaid", report->mermaid, "Mermaid sequence diagram");
  report_command->add_option("--compare", report->compare,
                             "A second bundle of the same scenario (another table, played later): one comparison")
      ->check(CLI::ExistingFile);
  report_command->callback([report, &exit_code] { exit_code = run_exercise_report(*report, std::cout, std::cerr); });

  auto national = std::make_shared<NationalParams>();
  CLI::App* national_command =
      exercise->add_subcommand("generate-national", "Write a national-scale exercise (policy and scenario)");
  national_command->add_option("dir", national->dir, "Directory to write into")->required();
  national_command->add_option("--forces", national->sizes.forces, "Police forces")->capture_default_str();
  national_command->add_option("--regions", national->sizes.regions, "Regional CT units")->capture_default_str();
  national_command->add_option("--councils", national->sizes.councils, "Councils")->capture_default_str();
  national_command->add_option("--neighbourhoods", national->sizes.neighbourhoods, "Neighbourhood policing teams")
      ->capture_default_str();
  national_command->add_option("--arrests", national->sizes.arrests, "Forces with an operation")->capture_default_str();
  national_command->add_option("--scheme", national->scheme,
                                "Label scheme to copy beside the policy (default: GPMS 2008, built into icegate)")
      ->check(CLI::ExistingFile);
  national_command->callback(
      [national, &exit_code] { exit_code = run_exercise_generate_national(*national, std::cout, std::cerr); });

  auto unbundle = std::make_shared<std::pair<std::filesystem::path, std::filesystem::path>>();
  CLI::App* unbundle_command = exercise->add_subcommand("unbundle", "Write a bundle's scenario and policies back out");
  unbundle_command->add_option("bundle", unbundle->first, "Bundle file")->required()->check(CLI::ExistingFile);
  unbundle_command->add_option("dir", unbundle->second, "Directory")->required();
  unbundle_command->callback(
      [unbundle, &exit_code] { exit_code = run_exercise_unbundle(unbundle->first, unbundle->second, std::cout, std::cerr); });
}

}  // namespace icegate::cli

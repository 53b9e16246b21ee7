#include "tools/icegate/cmd_exercise.hpp"

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "clients/exercise/bundle.hpp"
#include "clients/exercise/national.hpp"
#include "clients/exercise/report.hpp"
#include "clients/exercise/runner.hpp"
#include "clients/exercise/scenario.hpp"
#include "tools/icegate/commands.hpp"

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

void print_summary(std::ostream& out, const exercise::RunResult& r) {
  std::size_t met = 0;
  for (const auto& e : r.expectations) met += e.met;
  fmt::print(out, "\n{} under {} ({})\n", r.scenario_title.empty() ? r.scenario : r.scenario_title, r.policy_name,
             r.policy_version.substr(0, 19));
  fmt::print(out, "{} to {} simulated in {:.1f} s; {} deliveries\n", format_scenario_time(r.start),
             format_scenario_time(r.end), r.wall_seconds, r.frames_delivered);
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
    fmt::print(out, "  {:<24} {}\n", node, fmt::join(it->second, ", "));
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
  std::thread keyboard;
  if (params.real_time) {
    fmt::print(out, "Real time at {}x. Type p (pause), r (resume), s (step to the next event), q (stop).\n", params.speed);
    keyboard = std::thread([&] {
      for (std::string line; !control.stopped() && std::getline(in, line);) {
        if (line == "p" || line == "pause") control.pause();
        else if (line == "r" || line == "resume") control.resume();
        else if (line == "s" || line == "step") control.step();
        else if (line == "q" || line == "quit") control.stop();
      }
    });
  }
  auto run = [&](const std::filesystem::path& policy) {
    exercise::RunOptions options;
    options.policy = policy;
    options.real_time = params.real_time;
    options.speed = params.speed;
    options.control = &control;
    options.progress = params.quiet ? nullptr : &out;
    if (!params.quiet)
      fmt::print(out, "Running {} under {}\n", scenario.name, policy.empty() ? scenario.policy.string() : policy.string());
    return exercise::run_exercise(scenario, options);
  };
  std::vector<exercise::RunResult> results;
  int code = exit_ok;
  try {
    results.push_back(run(params.policy));
    if (!params.compare.empty()) results.push_back(run(params.compare));
  } catch (const exercise::RunError& e) {
    fmt::print(err, "icegate exercise run: {}\n", e.what());
    code = std::string(e.what()).find("is invalid") != std::string::npos ? exit_invalid_policy : exit_error;
  } catch (const std::exception& e) {
    fmt::print(err, "icegate exercise run: {}\n", e.what());
    code = exit_error;
  }
  if (keyboard.joinable()) {
    control.stop();
    keyboard.detach();  // blocked on the terminal; the process ends soon
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
  if (!mermaid.empty()) written &= write_text(mermaid, exercise::to_mermaid(results[0]), err);
  if (!bundle.empty()) {
    std::vector<std::filesystem::path> policies;
    for (const auto& r : results) policies.push_back(r.policy_file);
    try {
      exercise::write_bundle(bundle, params.scenario, policies, results);
    } catch (const std::exception& e) {
      fmt::print(err, "icegate exercise: bundle: {}\n", e.what());
      written = false;
    }
  }
  for (const auto& [path, what] : {std::pair{html, "report"}, std::pair{json, "results"}, std::pair{mermaid, "sequence diagram"},
                                   std::pair{bundle, "bundle"}})
    if (!path.empty()) fmt::print(out, "{:<17} {}\n", what, path.string());
  if (!written) return exit_error;
  for (const auto& r : results)
    if (!r.all_met()) return exit_denied;
  return exit_ok;
}

int run_exercise_check(const std::filesystem::path& scenario_file, const std::filesystem::path& policy,
                       std::ostream& out, std::ostream& err) {
  try {
    const auto scenario = exercise::load_scenario(scenario_file);
    fmt::print(out, "{}: {} inject(s), {} expectation(s), {} contingency(ies), {} response(s), {} to {}\n",
               scenario_file.string(), scenario.injects.size(), scenario.expectations.size(),
               scenario.contingencies.size(), scenario.responses.size(), format_scenario_time(scenario.start),
               format_scenario_time(scenario.end));
    (void)policy;
    return exit_ok;
  } catch (const std::exception& e) {
    fmt::print(err, "{}\n", e.what());
    return exit_error;
  }
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
        std::string label = p.label.classification;
        for (const auto& c : p.label.categories) label += "/" + c;
        yaml << YAML::BeginMap << YAML::Key << "label" << YAML::Value << label << YAML::Key << "body" << YAML::Value
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
  const bool compare = bundle.results.size() >= 2;
  std::optional<exercise::Comparison> comparison;
  if (compare) comparison = exercise::Comparison{bundle.results[0], bundle.results[1]};
  bool ok = true;
  if (!params.html.empty())
    ok &= write_text(params.html, compare ? exercise::to_html(*comparison) : exercise::to_html(bundle.results[0]), err);
  if (!params.json.empty())
    ok &= write_text(params.json, compare ? exercise::to_json(*comparison) : exercise::to_json(bundle.results[0]), err);
  if (!params.mermaid.empty()) ok &= write_text(params.mermaid, exercise::to_mermaid(bundle.results[0]), err);
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
  run_command->add_flag("--real-time", run->real_time, "Run in real time (pause, resume, step from the keyboard)");
  run_command->add_option("--speed", run->speed, "Real time: scenario seconds per second")->capture_default_str();
  run_command->add_option("--out", run->out, "Write every report into this directory");
  run_command->add_option("--html", run->html, "After-action report (self-contained HTML)");
  run_command->add_option("--json", run->json, "Results as JSON");
  run_command->add_option("--mermaid", run->mermaid, "Sequence diagram (Mermaid) for slides");
  run_command->add_option("--bundle", run->bundle, "The whole exercise (scenario, policies, results) as one file");
  run_command->add_flag("--quiet", run->quiet, "No progress lines");
  run_command->callback([run, &exit_code] {
    // The gateway's own log would drown the facilitator's view; its warnings still show.
    spdlog::set_level(spdlog::level::warn);
    exit_code = run_exercise_run(*run, std::cin, std::cout, std::cerr);
  });

  auto check = std::make_shared<std::filesystem::path>();
  CLI::App* check_command = exercise->add_subcommand("check", "Load and check a scenario");
  check_command->add_option("scenario", *check, "Scenario file")->required();
  check_command->callback([check, &exit_code] { exit_code = run_exercise_check(*check, {}, std::cout, std::cerr); });

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
  report_command->callback([report, &exit_code] { exit_code = run_exercise_report(*report, std::cout, std::cerr); });

  auto national = std::make_shared<NationalParams>();
  national->scheme = std::filesystem::path(ICEGATE_SOURCE_DIR) / "policies/schemes/gpms-2008.yaml";
  CLI::App* national_command =
      exercise->add_subcommand("generate-national", "Write a national-scale exercise (policy and scenario)");
  national_command->add_option("dir", national->dir, "Directory to write into")->required();
  national_command->add_option("--forces", national->sizes.forces, "Police forces")->capture_default_str();
  national_command->add_option("--regions", national->sizes.regions, "Regional CT units")->capture_default_str();
  national_command->add_option("--councils", national->sizes.councils, "Councils")->capture_default_str();
  national_command->add_option("--neighbourhoods", national->sizes.neighbourhoods, "Neighbourhood policing teams")
      ->capture_default_str();
  national_command->add_option("--arrests", national->sizes.arrests, "Forces with an operation")->capture_default_str();
  national_command->add_option("--scheme", national->scheme, "Label scheme to copy beside the policy")
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

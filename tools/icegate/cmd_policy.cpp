// `icegate policy`: check, test, explain and fmt, each a thin layer over
// gateway/policy. Arguments are checked (every mistake reported) before any
// work; results go to `out`, problems with the invocation to `err`.
#include "tools/icegate/cmd_policy.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <system_error>

#include <stdlib.h>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

#include "clients/node/message_file.hpp"
#include "gateway/federation/path.hpp"
#include "gateway/model/json_value.hpp"
#include "gateway/policy/check.hpp"
#include "gateway/policy/checker.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/explain.hpp"
#include "gateway/policy/format.hpp"
#include "gateway/policy/test_coverage.hpp"
#include "gateway/policy/testing.hpp"
#include "tools/icegate/cmd_policy_analysis.hpp"
#include "tools/icegate/cmd_policy_replay.hpp"
#include "tools/icegate/commands.hpp"
#include "tools/icegate/policy_output.hpp"
#include "tools/icegate/policy_test_report.hpp"
#include "tools/icegate/policy_test_runner.hpp"

namespace icegate::cli {
namespace {

namespace fs = std::filesystem;

// The policy, loaded; or the exit code to return, with the reason printed.
std::optional<std::shared_ptr<const policy::CompiledPolicy>> load_for_command(const fs::path& file, std::ostream& out,
                                                                              std::ostream& err, int& exit_code) {
  if (!is_readable_file(file)) {
    print_error(err, fmt::format("cannot read policy file {}", file.string()));
    exit_code = exit_error;
    return std::nullopt;
  }
  policy::LoadResult loaded = policy::load_policy(file);
  if (!loaded.policy) {
    print_diagnostics(out, loaded.diagnostics);
    fmt::print(out, "{}: invalid policy ({})\n", file.string(), counted(loaded.diagnostics.error_count(), "error"));
    exit_code = exit_invalid_policy;
    return std::nullopt;
  }
  return loaded.policy;
}

}  // namespace

// ---- check ----------------------------------------------------------------------------

int run_policy_check(const PolicyCheckParams& params, std::ostream& out, std::ostream& err) {
  if (params.file.empty()) {
    print_error(err, "policy check: a policy file is required");
    return exit_error;
  }
  if (!is_readable_file(params.file)) {
    print_error(err, fmt::format("cannot read policy file {}", params.file.string()));
    return exit_error;
  }
  const policy::PolicyCheckResult result = policy::check_policy(params.file);
  const std::size_t errors = result.error_count();
  const std::size_t warnings = result.warning_count();
  const bool fails = errors > 0 || (params.strict && warnings > 0);
  if (params.json) {
    const boost::json::object report{{"file", params.file.string()}, {"valid", errors == 0},
                                     {"errors", errors},           {"warnings", warnings},
                                     {"strict", params.strict},    {"diagnostics", policy::json_value(result.diagnostics)}};
    fmt::print(out, "{}\n", json::serialize(report));
  } else {
    print_diagnostics(out, result.diagnostics);
    if (errors > 0) {
      fmt::print(out, "{}: invalid policy: {}, {}\n", params.file.string(), counted(errors, "error"),
                 counted(warnings, "warning"));
    } else if (warnings > 0) {
      fmt::print(out, "{}: valid, {}{}\n", params.file.string(), counted(warnings, "warning"),
                 params.strict ? " (--strict: failing)" : "");
    } else {
      fmt::print(out, "{}: valid, no warnings\n", params.file.string());
    }
  }
  return fails ? exit_invalid_policy : exit_ok;
}

// ---- test -------------------------------------------------------------------------------

namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool is_test_file_name(const fs::path& file) {
  const std::string name = file.filename().string();
  return ends_with(name, ".test.yaml") || ends_with(name, ".test.yml");
}

// Whether the first argument of `policy test` is a test file (or a directory
// of them) rather than the policy to run them against.
bool names_tests(const fs::path& path) {
  std::error_code ignored;
  if (fs::is_directory(path, ignored) || is_test_file_name(path)) return true;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("tests:", 0) == 0) return true;
  }
  return false;
}

}  // namespace

int run_policy_test(const PolicyTestParams& params, std::ostream& out, std::ostream& err) {
  // Arguments first: which is the policy, which are tests, and the regex.
  bool arguments_ok = true;
  fs::path explicit_policy;
  std::vector<fs::path> test_arguments = params.paths;
  if (!test_arguments.empty() && !names_tests(test_arguments.front())) {
    explicit_policy = test_arguments.front();
    test_arguments.erase(test_arguments.begin());
    if (!is_readable_file(explicit_policy)) {
      print_error(err, fmt::format("cannot read policy file {}", explicit_policy.string()));
      arguments_ok = false;
    }
  }
  if (test_arguments.empty()) {
    print_error(err, "policy test: at least one test file or directory is required");
    arguments_ok = false;
  }
  std::vector<fs::path> test_files;
  for (const fs::path& argument : test_arguments) {
    std::error_code error;
    if (fs::is_directory(argument, error)) {
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(argument, error); !error && it != fs::recursive_directory_iterator();
           it.increment(error)) {
        if (it->is_regular_file() && is_test_file_name(it->path())) found.push_back(it->path());
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) {
        print_error(err, fmt::format("{} holds no *.test.yaml files", argument.string()));
        arguments_ok = false;
      }
      test_files.insert(test_files.end(), found.begin(), found.end());
    } else if (is_readable_file(argument)) {
      test_files.push_back(argument);
    } else {
      print_error(err, fmt::format("cannot read test file {}", argument.string()));
      arguments_ok = false;
    }
  }
  std::optional<std::regex> filter;
  if (!params.run.empty()) {
    try {
      filter.emplace(params.run, std::regex::ECMAScript);
    } catch (const std::regex_error& error) {
      print_error(err, fmt::format("--run \"{}\" is not a regular expression: {}", params.run, error.what()));
      arguments_ok = false;
    }
  }
  if (params.format != "text" && params.format != "json") {
    print_error(err, fmt::format("--format \"{}\": the formats are text and json", params.format));
    arguments_ok = false;
  }
  if (!arguments_ok) return exit_error;

  PolicyTestInputs inputs;
  inputs.policy = explicit_policy;
  inputs.test_files = std::move(test_files);
  if (filter) {
    inputs.selects = [&filter](std::string_view name) { return std::regex_search(name.begin(), name.end(), *filter); };
  }
  const PolicyTestResults results = run_policy_test_files(inputs);
  if (filter && results.selected == 0 && !results.bad_test_file && !results.invalid_policy) {
    print_error(err, fmt::format("--run \"{}\" matches no test case", params.run));
    return exit_error;
  }
  if (params.json || params.format == "json") {
    write_policy_test_json(out, results);
  } else {
    write_policy_test_text(out, results);
  }
  return results.exit_code();
}

// ---- explain ------------------------------------------------------------------------------

namespace {

// `policy explain --at`: the request followed through each gateway's hop
// (gateway/federation/path.hpp), naming at each what was withheld and why,
// then the recipient's decision under its gateway's policy.
int explain_across_gateways(const PolicyExplainParams& params, const policy::ExplainRequest& request,
                            std::ostream& out, std::ostream& err) {
  if (params.json) {
    print_error(err, "policy explain: --json is not available across gateways yet (--at): the text names every hop");
    return exit_error;
  }
  std::vector<fs::path> files{params.file};
  files.insert(files.end(), params.via.begin(), params.via.end());
  files.push_back(params.at);
  std::vector<std::shared_ptr<const policy::CompiledPolicy>> policies;
  for (const fs::path& file : files) {
    int exit_code = exit_ok;
    auto loaded = load_for_command(file, out, err, exit_code);
    if (!loaded) return exit_code;
    policies.push_back(*loaded);
  }
  const policy::CompiledPolicy& sender_policy = *policies.front();
  const policy::CompiledPolicy& recipient_policy = *policies.back();
  bool names_ok = true;
  auto check_name = [&](std::string_view what, const std::string& value, const fs::path& file,
                        const std::vector<std::string>& defined) {
    if (std::find(defined.begin(), defined.end(), value) != defined.end()) return;
    print_error(err, fmt::format("{} '{}' is not defined by {}{}", what, value, file.string(),
                                 policy::suggestion_suffix(policy::closest(value, defined))));
    names_ok = false;
  };
  auto node_ids = [](const policy::CompiledPolicy& policy) {
    std::vector<std::string> ids;
    for (const policy::Node& node : policy.source().nodes) ids.push_back(node.id);
    return ids;
  };
  check_name("node", request.sender, files.front(), node_ids(sender_policy));
  check_name("node", request.recipient, files.back(), node_ids(recipient_policy));
  check_name("information category", request.category, files.front(), sender_policy.source().information_categories);
  if (!request.purpose.empty()) check_name("purpose", request.purpose, files.front(), sender_policy.source().purposes);
  if (!names_ok) return exit_error;

  Message message;
  message.id = make_uuid();
  message.originator = request.sender;
  message.created_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  message.addressees = {node::parse_addressee(params.addressee.empty() ? "node:" + request.recipient
                                                                      : params.addressee)};
  message.category = request.category;
  message.purpose = request.purpose;
  std::vector<Label> labels;
  for (const policy::ExplainPortion& portion : request.portions) {
    message.portions.push_back({portion.id, portion.label, "", {}});
    labels.push_back(portion.label);
  }
  message.label = sender_policy.least_upper_bound(labels);

  std::string pattern = (fs::temp_directory_path() / "icegate-explain-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    print_error(err, "policy explain: cannot create a temporary directory for the explanation's PKI");
    return exit_error;
  }
  struct Remove {
    fs::path dir;
    ~Remove() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } remove{pattern};
  const federation::PathExplanation path = federation::follow_path(policies, message, request.recipient, remove.dir);

  fmt::print(out, "{} to {}, {} for {}, across gateways {}\n", request.sender, request.recipient, request.category,
             policy::purpose_phrase(request.purpose), fmt::join(path.gateways, " -> "));
  for (std::size_t k = 0; k < path.hops.size(); ++k) {
    const federation::PeerForward& hop = path.hops[k];
    std::vector<std::string> addressees;
    for (const Addressee& addressee : hop.addressees) {
      addressees.push_back(fmt::format("{}:{}", to_string(addressee.kind), addressee.name));
    }
    fmt::print(out, "hop {}: {} -> {} ({}): {}\n", k + 1, path.gateways[k], hop.peer, fmt::join(addressees, ", "),
               federation::to_string(hop.outcome));
    if (!hop.forwarded.empty()) fmt::print(out, "  forwarded: portions {}\n", fmt::join(hop.forwarded, ", "));
    for (const federation::HopWithheld& withheld : hop.withheld) {
      fmt::print(out, "  withheld: portion {} ({}): {}: {}\n", withheld.portion_id, label_text(withheld.label),
                 policy::to_string(withheld.reason), withheld.detail);
    }
    if (hop.outcome == federation::HopOutcome::not_sent) {
      fmt::print(out, "  not sent: {}: {}\n", policy::to_string(hop.refusal), hop.reason);
    }
    for (const federation::PathTranslation& translation : path.translations) {
      if (translation.gateway != hop.peer) continue;
      std::vector<std::string> portions;
      for (const federation::PathTranslation::PortionLabels& portion : translation.portions) {
        portions.push_back(fmt::format("portion {} {} -> {}", portion.id, label_text(portion.as_signed),
                                       label_text(portion.translated)));
      }
      fmt::print(out, "  at {}: labels translated from {} to {}: {}\n", translation.gateway, translation.from_scheme,
                 translation.to_scheme, fmt::join(portions, ", "));
    }
  }
  if (path.refused) {
    fmt::print(out, "refused at {}: {}: {}\n", path.refused_at, path.refused->code(), path.refused->detail);
    return exit_denied;
  }
  if (!path.problem.empty()) {
    print_error(err, fmt::format("policy explain: {}", path.problem));
    return exit_error;
  }
  if (!path.destination) return exit_denied;  // not sent: the last hop says why
  const RecipientDecision& decision = path.destination->decision;
  fmt::print(out, "at {}, under {}: {} for {}: {}\n", path.gateways.back(), files.back().string(),
             to_string(decision.decision), decision.node_id, decision.reason);
  if (!decision.released_portion_ids.empty()) {
    fmt::print(out, "  released: portions {}\n", fmt::join(decision.released_portion_ids, ", "));
  }
  for (const WithheldPortion& withheld : decision.withheld) {
    fmt::print(out, "  withheld: portion {} ({}): {}\n", withheld.portion_id, label_text(withheld.label),
               withheld.reason);
  }
  return decision.decision == Decision::deny ? exit_denied : exit_ok;
}

}  // namespace

int run_policy_explain(const PolicyExplainParams& params, std::ostream& out, std::ostream& err) {
  bool arguments_ok = true;
  if (params.file.empty()) {
    print_error(err, "policy explain: a policy file is required");
    arguments_ok = false;
  }
  policy::ExplainRequest request;
  const bool any_flag = !params.from.empty() || !params.to.empty() || !params.category.empty() ||
                        !params.purpose.empty() || !params.portions.empty() || params.occasional;
  if (!params.request.empty()) {
    if (any_flag) {
      print_error(err, "give the request either as --request FILE or as flags (--from, --to, ...), not both");
      arguments_ok = false;
    } else {
      policy::PolicyTestRequestFile file = policy::load_policy_test_request(params.request);
      if (!file.ok) {
        print_diagnostics(err, file.diagnostics);
        if (file.diagnostics.empty()) print_error(err, fmt::format("cannot read request {}", params.request.string()));
        arguments_ok = false;
      } else {
        request = policy::to_explain_request(file.request);
      }
    }
  } else {
    auto require = [&](const std::string& value, std::string_view flag) {
      if (!value.empty()) return;
      print_error(err, fmt::format("policy explain: {} is required (or give --request FILE)", flag));
      arguments_ok = false;
    };
    require(params.from, "--from");
    require(params.to, "--to");
    require(params.category, "--category");
    // --purpose may be left out: a node may send without one, and then only
    // rules naming no purpose apply.
    if (params.portions.empty()) {
      print_error(err, "policy explain: at least one --portion LABEL is required (or give --request FILE)");
      arguments_ok = false;
    }
    request.sender = params.from;
    request.recipient = params.to;
    request.category = params.category;
    request.purpose = params.purpose;
    request.occasional_available = params.occasional;
    for (std::size_t i = 0; i < params.portions.size(); ++i) {
      std::string error;
      auto label = policy::parse_test_label(params.portions[i], error);
      if (!label) {
        print_error(err, fmt::format("--portion: {}", error));
        arguments_ok = false;
        continue;
      }
      request.portions.push_back({std::to_string(i + 1), std::move(*label)});
    }
  }
  if (!arguments_ok) return exit_error;

  if (!params.at.empty()) return explain_across_gateways(params, request, out, err);
  if (!params.via.empty() || !params.addressee.empty()) {
    print_error(err, "policy explain: --via and --addressee follow a request across gateways: give the recipient's "
                     "gateway's policy with --at");
    return exit_error;
  }

  int exit_code = exit_ok;
  auto loaded = load_for_command(params.file, out, err, exit_code);
  if (!loaded) return exit_code;
  const policy::CompiledPolicy& compiled = **loaded;
  const policy::Policy& source = compiled.source();

  // A typo would quietly explain a DENY: names must be the policy's.
  std::vector<std::string> node_ids;
  for (const policy::Node& node : source.nodes) node_ids.push_back(node.id);
  auto check_name = [&](std::string_view what, const std::string& value, const std::vector<std::string>& defined) {
    if (std::find(defined.begin(), defined.end(), value) != defined.end()) return;
    print_error(err, fmt::format("{} '{}' is not defined by {}{}", what, value, params.file.string(),
                                 policy::suggestion_suffix(policy::closest(value, defined))));
    arguments_ok = false;
  };
  check_name("node", request.sender, node_ids);
  check_name("node", request.recipient, node_ids);
  check_name("information category", request.category, source.information_categories);
  if (!request.purpose.empty()) check_name("purpose", request.purpose, source.purposes);
  if (request.occasional_available && source.occasional.releases <= 0) {
    // The gateway never grants one under this policy (T014 in test files).
    print_error(err, fmt::format("{}: policy {} allows no occasional releases (occasional_allowance releases: {}): "
                                 "the gateway never has one to give",
                                 params.request.empty() ? "--occasional" : "occasional_available", source.name,
                                 source.occasional.releases));
    arguments_ok = false;
  }
  if (!arguments_ok) return exit_error;

  const policy::ExplainTrace trace = policy::explain_decision(compiled, request);
  if (params.json) {
    fmt::print(out, "{}\n", policy::render_explain_json(compiled, trace));
  } else {
    out << policy::render_explain_text(compiled, trace);
  }
  return trace.engine.decision == Decision::deny ? exit_denied : exit_ok;
}

// ---- fmt ----------------------------------------------------------------------------------

int run_policy_fmt(const PolicyFmtParams& params, std::ostream& out, std::ostream& err) {
  if (params.files.empty()) {
    print_error(err, "policy fmt: at least one file is required");
    return exit_error;
  }
  bool io_error = false;
  bool not_yaml = false;
  std::size_t changed = 0;
  std::size_t unchanged = 0;
  for (const fs::path& file : params.files) {
    std::ifstream in(file, std::ios::binary);
    if (!is_readable_file(file) || !in) {
      print_error(err, fmt::format("cannot read {}", file.string()));
      io_error = true;
      continue;
    }
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    policy::FormatResult result = policy::format_policy_yaml(text, file.string());
    if (!result.ok) {
      print_diagnostics(err, result.diagnostics);
      const bool internal = std::any_of(result.diagnostics.all().begin(), result.diagnostics.all().end(),
                                        [](const policy::Diagnostic& d) { return d.code == policy::Code::F001; });
      (internal ? io_error : not_yaml) = true;
      continue;
    }
    if (!result.changed) {
      ++unchanged;
      continue;
    }
    ++changed;
    if (params.diff) {
      const std::string name = file.relative_path().generic_string();
      out << policy::unified_diff(text, result.text, "a/" + name, "b/" + name);
    }
    if (params.check) {
      fmt::print(out, "not formatted: {}\n", file.string());
      continue;
    }
    if (params.diff) continue;
    // Write beside the file and rename over it, so a failure never leaves half a file.
    const fs::path temporary = file.string() + ".fmt-tmp";
    {
      std::ofstream write(temporary, std::ios::binary | std::ios::trunc);
      write << result.text;
      if (!write) {
        print_error(err, fmt::format("cannot write {}", temporary.string()));
        io_error = true;
        continue;
      }
    }
    std::error_code error;
    fs::rename(temporary, file, error);
    if (error) {
      print_error(err, fmt::format("cannot replace {}: {}", file.string(), error.message()));
      fs::remove(temporary, error);
      io_error = true;
      continue;
    }
    fmt::print(out, "formatted {}\n", file.string());
  }
  if (params.check && changed > 0) {
    fmt::print(out, "{} of {} not formatted; run `icegate policy fmt` on {}\n", changed,
               counted(changed + unchanged, "file"), changed == 1 ? "it" : "them");
  }
  if (not_yaml) return exit_invalid_policy;
  if (io_error || (params.check && changed > 0)) return exit_error;
  return exit_ok;
}

// ---- The command ----------------------------------------------------------------------------

void add_policy_command(CLI::App& root, int& exit_code) {
  CLI::App* policy_command = root.add_subcommand(
      "policy", "Check, test, explain and format policies (exit 0 ok, 1 error, 2 test failure or denial, 3 invalid)");
  policy_command->require_subcommand(1);

  auto check = std::make_shared<PolicyCheckParams>();
  CLI::App* check_command = policy_command->add_subcommand(
      "check", "Every error and warning in a policy, file:line:col: severity[code]: message (exit 0, or 3 on errors)");
  check_command->add_option("file", check->file, "The policy file")->required();
  check_command->add_flag("--strict", check->strict, "Fail (exit 3) on warnings too");
  check_command->add_flag("--json", check->json, "Print the result as one JSON object");
  check_command->callback([check, &exit_code] { exit_code = run_policy_check(*check, std::cout, std::cerr); });

  auto test = std::make_shared<PolicyTestParams>();
  CLI::App* test_command = policy_command->add_subcommand(
      "test",
      "Run policy test files: PASS/FAIL per case (and per row of a table, `each:`) and rule coverage, with the "
      "condition no case met for each rule not exercised (exit 0 all pass, 2 failures)");
  test_command
      ->add_option("paths", test->paths,
                   "[POLICY] TESTS...: the policy to test (optional: else each test file's `policy:`), then test "
                   "files or directories of *.test.yaml")
      ->required();
  test_command->add_option("--run", test->run, "Only cases whose name matches this regular expression (ECMAScript)");
  test_command->add_option("--format", test->format, "The reporter: text (the default) or json (one JSON object)");
  test_command->add_flag("--json", test->json, "The same as --format json");
  test_command->callback([test, &exit_code] { exit_code = run_policy_test(*test, std::cout, std::cerr); });

  auto explain = std::make_shared<PolicyExplainParams>();
  CLI::App* explain_command = policy_command->add_subcommand(
      "explain", "How the policy decides one request, step by step (exit 0 released or held, 2 DENY)");
  explain_command->add_option("file", explain->file, "The policy file")->required();
  explain_command->add_option("--from", explain->from, "Sender node");
  explain_command->add_option("--to", explain->to, "Recipient node");
  explain_command->add_option("--category", explain->category, "Information category");
  explain_command->add_option("--purpose", explain->purpose, "Purpose (leave it out for a request without one)");
  explain_command->add_option("--portion", explain->portions, "A portion's label, e.g. \"SECRET/UK EYES ONLY\" (repeat)");
  explain_command->add_flag("--occasional", explain->occasional, "An occasional release is available");
  explain_command->add_option("--request", explain->request,
                              "A YAML file holding the request, shaped like a test case's `request:`");
  explain_command->add_flag("--json", explain->json, "Print the trace as one JSON object");
  explain_command->add_option("--via", explain->via,
                              "Across gateways: the policy of a gateway in between, in path order (repeat)");
  explain_command->add_option("--at", explain->at,
                              "Across gateways: the recipient's gateway's policy (FILE is the sender's)");
  explain_command->add_option("--addressee", explain->addressee,
                              "Across gateways: how the sender addresses the recipient (role:X, org:X, ...; "
                              "default node:TO)");
  explain_command->callback([explain, &exit_code] { exit_code = run_policy_explain(*explain, std::cout, std::cerr); });

  auto format = std::make_shared<PolicyFmtParams>();
  CLI::App* fmt_command = policy_command->add_subcommand(
      "fmt", "Rewrite policy, scheme and test files in canonical form, keeping comments");
  fmt_command->add_option("files", format->files, "Files to format in place")->required();
  fmt_command->add_flag("--check", format->check, "Change nothing; list files not formatted and exit 1 if any");
  fmt_command->add_flag("--diff", format->diff, "Change nothing; print a unified diff of what would change");
  fmt_command->callback([format, &exit_code] { exit_code = run_policy_fmt(*format, std::cout, std::cerr); });

  add_policy_analysis_commands(*policy_command, exit_code);
  add_policy_replay_command(*policy_command, exit_code);
}

}  // namespace icegate::cli

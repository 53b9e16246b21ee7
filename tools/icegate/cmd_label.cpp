// `icegate label mark | check | translate`: thin layers over the policy engine's label
// questions and policy::check_clearance (gateway/policy/spif.hpp).
#include "tools/icegate/cmd_label.hpp"

#include <algorithm>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/json_value.hpp"
#include "gateway/policy/diff.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/spif.hpp"
#include "gateway/policy/translate.hpp"
#include "tools/icegate/cli_output.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {
namespace {

// Exit code for an invalid label (the same number as an invalid policy: the
// input does not make sense under the policy's scheme).
constexpr int exit_invalid_label = exit_invalid_policy;


std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> values;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string value = text.substr(start, comma - start);
    const auto first = value.find_first_not_of(" \t");
    const auto last = value.find_last_not_of(" \t");
    value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
    if (!value.empty() && std::find(values.begin(), values.end(), value) == values.end()) values.push_back(value);
    start = comma + 1;
  }
  return values;
}

// The policy (or the scheme as a policy) named by exactly one of the two
// options; null with `code` set, and the reason printed, otherwise.
std::shared_ptr<const policy::CompiledPolicy> load_source(const std::filesystem::path& policy_file,
                                                          const std::filesystem::path& scheme_file, std::ostream& err,
                                                          int& code) {
  const std::filesystem::path& file = policy_file.empty() ? scheme_file : policy_file;
  std::error_code ignored;
  if (!std::filesystem::is_regular_file(file, ignored)) {
    print_error(err, fmt::format("cannot read {} file {}", policy_file.empty() ? "scheme" : "policy", file.string()));
    code = exit_error;
    return nullptr;
  }
  policy::LoadResult result = policy_file.empty() ? policy::load_scheme(scheme_file) : policy::load_policy(policy_file);
  for (const policy::Diagnostic& diagnostic : result.diagnostics.sorted()) {
    fmt::print(err, "{}\n", policy::to_string(diagnostic));
  }
  if (!result.policy) {
    fmt::print(err, "{}: invalid {}\n", file.string(), policy_file.empty() ? "scheme" : "policy");
    code = exit_invalid_policy;
  }
  return result.policy;
}

bool check_source_options(const std::filesystem::path& policy_file, const std::filesystem::path& scheme_file,
                          std::string_view command, std::ostream& err) {
  if (policy_file.empty() == scheme_file.empty()) {
    print_error(err, fmt::format("{}: give exactly one of --policy and --scheme", command));
    return false;
  }
  return true;
}

std::optional<Label> parse_label_argument(const std::string& text, std::string_view command, std::ostream& err) {
  if (text.empty()) {
    print_error(err, fmt::format("{}: a LABEL is required, e.g. \"SECRET/UK EYES ONLY\"", command));
    return std::nullopt;
  }
  auto label = policy::parse_label_text(text);
  if (!label) {
    print_error(err, fmt::format("\"{}\" is not a label: write CLASSIFICATION or CLASSIFICATION/CATEGORY/..., with "
                                 "no empty part",
                                 text));
  }
  return label;
}

}  // namespace

int run_label_mark(const LabelMarkParams& params, std::ostream& out, std::ostream& err) {
  bool arguments_ok = check_source_options(params.policy, params.scheme, "label mark", err);
  const auto label = parse_label_argument(params.label, "label mark", err);
  if (!arguments_ok || !label) return exit_error;
  int code = exit_ok;
  auto source = load_source(params.policy, params.scheme, err, code);
  if (!source) return code;

  const std::vector<std::string> problems = source->label_problems(*label);
  const std::string marking = source->display_marking(*label);
  if (params.json) {
    const boost::json::object json = {{"label", policy::label_text(*label)},
                                      {"marking", marking},
                                      {"valid", problems.empty()},
                                      {"problems", json::strings(problems)}};
    out << json::serialize(json) << '\n';
  } else {
    fmt::print(out, "{}\n", marking);
    for (const std::string& problem : problems) {
      fmt::print(err, "invalid label {}: {}\n", policy::label_text(*label), problem);
    }
  }
  return problems.empty() ? exit_ok : exit_invalid_label;
}

int run_label_check(const LabelCheckParams& params, std::ostream& out, std::ostream& err) {
  bool arguments_ok = check_source_options(params.policy, params.scheme, "label check", err);
  const auto label = parse_label_argument(params.label, "label check", err);
  if (!params.node.empty() && !params.clearance.empty()) {
    print_error(err, "label check: give --node or --clearance, not both");
    arguments_ok = false;
  }
  if (!params.categories.empty() && params.clearance.empty()) {
    print_error(err, "label check: --categories goes with --clearance (a node's categories come from the policy)");
    arguments_ok = false;
  }
  if (!params.scheme.empty() && (!params.node.empty() || !params.clearance.empty())) {
    print_error(err,
                "label check: a clearance check needs --policy (vetting levels and nodes are defined there); "
                "--scheme checks validity only");
    arguments_ok = false;
  }
  if (!arguments_ok || !label) return exit_error;
  int code = exit_ok;
  auto source = load_source(params.policy, params.scheme, err, code);
  if (!source) return code;
  const policy::Policy& policy = source->source();

  // The holder: a node's vetting and categories, or those given.
  std::string vetting;
  std::vector<std::string> held;
  if (!params.node.empty()) {
    const policy::Node* node = source->find_node(params.node);
    if (!node) {
      print_error(err, fmt::format("'{}' is not a node of policy {}", params.node, policy.name));
      return exit_error;
    }
    vetting = node->vetting;
    held = node->categories;
  } else if (!params.clearance.empty()) {
    vetting = params.clearance;
    held = split_list(params.categories);
    bool known = true;
    for (const std::string& category : held) {
      if (std::none_of(policy.scheme.categories.begin(), policy.scheme.categories.end(),
                       [&category](const policy::Category& c) { return c.name == category; })) {
        print_error(err,
                    fmt::format("--categories: '{}' is not a category of scheme {}", category, policy.scheme.name));
        known = false;
      }
    }
    if (std::none_of(policy.vetting.begin(), policy.vetting.end(),
                     [&vetting](const policy::Vetting& v) { return v.name == vetting; })) {
      std::vector<std::string> names;
      for (const policy::Vetting& v : policy.vetting) names.push_back(v.name);
      print_error(err, fmt::format("--clearance: '{}' is not a vetting level of policy {} (it has {})", vetting,
                                   policy.name, fmt::join(names, ", ")));
      known = false;
    }
    if (!known) return exit_error;
  }

  const std::vector<std::string> problems = source->label_problems(*label);
  const std::string marking = source->display_marking(*label);
  std::optional<policy::ClearanceCheck> check;
  if (!vetting.empty()) check = policy::check_clearance(*source, vetting, held, *label);

  // The verdict and the exit code.
  std::string decision;
  int result = exit_ok;
  if (!problems.empty()) {
    decision = "INVALID LABEL";
    result = exit_invalid_label;
  } else if (!check) {
    decision = "VALID";
  } else if (check->cleared()) {
    decision = check->level == policy::ClearanceLevel::regular ? "CLEARED" : "CLEARED OCCASIONALLY";
  } else {
    decision = "NOT CLEARED";
    result = exit_denied;
  }

  auto clearance_sentence = [&]() {
    const std::string& classification = label->classification;
    switch (check->level) {
      case policy::ClearanceLevel::regular:
        return fmt::format("{} is within {}'s regular ceiling {}", classification, check->vetting,
                           check->regular_ceiling);
      case policy::ClearanceLevel::occasional:
        return fmt::format(
            "{} is above {}'s regular ceiling {} and within its occasional ceiling {}: seen "
            "occasionally, under the occasional allowance",
            classification, check->vetting, check->regular_ceiling, check->occasional_ceiling);
      case policy::ClearanceLevel::above_clearance:
        return fmt::format("{} is above {}'s {}ceiling {}", classification, check->vetting,
                           check->occasional_ceiling == check->regular_ceiling ? "" : "occasional ",
                           check->occasional_ceiling);
    }
    return std::string();
  };
  std::vector<std::string> category_problems;
  if (check) {
    for (const std::string& category : check->missing_restrictive) {
      category_problems.push_back(fmt::format("missing restrictive category {}", category));
    }
    for (const auto& [tag_set, categories] : check->missing_permissive) {
      category_problems.push_back(
          fmt::format("holds none of permissive set {}'s {}", tag_set, fmt::join(categories, ", ")));
    }
  }

  if (params.json) {
    boost::json::object json = {{"label", policy::label_text(*label)},
                                {"marking", marking},
                                {"valid", problems.empty()},
                                {"problems", json::strings(problems)}};
    if (check) {
      boost::json::array permissive;
      for (const auto& [tag_set, categories] : check->missing_permissive)
        permissive.push_back(boost::json::object{{"tag_set", tag_set}, {"categories", json::strings(categories)}});
      boost::json::value node = nullptr;
      if (!params.node.empty()) node = params.node;
      json["holder"] = {{"node", std::move(node)},
                        {"vetting", check->vetting},
                        {"regular", check->regular_ceiling},
                        {"occasional", check->occasional_ceiling},
                        {"categories", json::strings(held)}};
      json["clearance"] = to_string(check->level);
      json["missing_restrictive"] = json::strings(check->missing_restrictive);
      json["missing_permissive"] = std::move(permissive);
    }
    json["decision"] = decision;
    out << json::serialize(json) << '\n';
    return result;
  }

  fmt::print(out, "label:      {}\n", policy::label_text(*label));
  fmt::print(out, "marking:    {}\n", marking);
  if (problems.empty()) {
    fmt::print(out, "valid:      yes, under scheme {}\n", policy.scheme.name);
  } else {
    fmt::print(out, "valid:      no: {}\n", fmt::join(problems, "; "));
  }
  if (check) {
    fmt::print(out, "holder:     {}vetting {} (regular {}, occasional {}), holds {}\n",
               params.node.empty() ? "" : params.node + ", ", check->vetting, check->regular_ceiling,
               check->occasional_ceiling,
               held.empty() ? std::string("no categories") : fmt::format("{}", fmt::join(held, ", ")));
    fmt::print(out, "clearance:  {}: {}\n", to_string(check->level), clearance_sentence());
    fmt::print(out, "categories: {}\n",
               category_problems.empty()
                   ? std::string("every restrictive category held, and one of each permissive set's")
                   : fmt::format("{}", fmt::join(category_problems, "; ")));
  }
  fmt::print(out, "decision:   {}\n", decision);
  return result;
}

int run_label_translate(const LabelTranslateParams& params, std::ostream& out, std::ostream& err) {
  bool arguments_ok = true;
  if (params.from.empty() || params.to.empty()) {
    print_error(err, "label translate: give both --from and --to (scheme files)");
    arguments_ok = false;
  }
  const auto label = parse_label_argument(params.label, "label translate", err);
  std::optional<Label> original;
  if (!params.original.empty()) {
    original = parse_label_argument(params.original, "label translate --original", err);
    arguments_ok = original.has_value() && arguments_ok;
  }
  if (!arguments_ok || !label) return exit_error;
  int code = exit_ok;
  auto from = load_source({}, params.from, err, code);
  if (!from) return code;
  auto to = load_source({}, params.to, err, code);
  if (!to) return code;
  const policy::LabelScheme& from_scheme = from->source().scheme;
  const policy::LabelScheme& to_scheme = to->source().scheme;
  // An equivalence naming what the other scheme does not define is a broken scheme file.
  if (from_scheme.equivalence_to(to_scheme.name)) {
    policy::Diagnostics problems =
        policy::check_equivalence(from_scheme, to_scheme, policy::SourceLocation{params.from.string(), 0, 0});
    for (const policy::Diagnostic& diagnostic : problems.sorted()) {
      fmt::print(err, "{}\n", policy::to_string(diagnostic));
    }
    if (problems.has_errors()) {
      fmt::print(err, "{}: invalid equivalence to {}\n", params.from.string(), to_scheme.name);
      return exit_invalid_policy;
    }
  }
  if (original) {
    if (auto problems = to->label_problems(*original); !problems.empty()) {
      print_error(err, fmt::format("--original {} is not a valid label under {}: {}", policy::label_text(*original),
                                   to_scheme.name, fmt::join(problems, "; ")));
      return exit_invalid_label;
    }
  }

  const policy::LabelTranslation translation =
      policy::translate_label(*from, *to, *label, original ? &*original : nullptr);
  const bool invalid = !translation.issues.empty() &&
                       translation.issues.front().problem == policy::TranslationProblem::invalid_label;
  const int result = translation.faithful() ? exit_ok : invalid ? exit_invalid_label : exit_denied;
  const std::string marking = translation.faithful() ? to->display_marking(*translation.translated) : std::string();

  if (params.json) {
    // A text, or null when empty.
    const auto text_or_null = [](const std::string& text) {
      return text.empty() ? boost::json::value(nullptr) : boost::json::value(text);
    };
    boost::json::array issues;
    for (const policy::TranslationIssue& issue : translation.issues) {
      issues.push_back(boost::json::object{{"code", to_string(issue.problem)},
                                           {"part", text_or_null(issue.part)},
                                           {"candidates", json::strings(issue.candidates)},
                                           {"message", issue.message}});
    }
    const boost::json::object json = {{"label", policy::label_text(*label)},
                                      {"from", from_scheme.name},
                                      {"to", to_scheme.name},
                                      {"faithful", translation.faithful()},
                                      {"translated", translation.faithful()
                                                         ? boost::json::value(policy::label_text(*translation.translated))
                                                         : nullptr},
                                      {"marking", translation.faithful() ? boost::json::value(marking) : nullptr},
                                      {"restored", translation.restored},
                                      {"notes", json::strings(translation.notes)},
                                      {"problems", std::move(issues)}};
    out << json::serialize(json) << '\n';
    return result;
  }
  fmt::print(out, "label:      {} under {}\n", policy::label_text(*label), from_scheme.name);
  if (translation.faithful()) {
    fmt::print(out, "translated: {} under {}{}\n", policy::label_text(*translation.translated), to_scheme.name,
               translation.restored ? " (the original, given back)" : "");
    fmt::print(out, "marking:    {}\n", marking);
  } else {
    fmt::print(out, "translated: none: no faithful mapping to {}\n", to_scheme.name);
    for (const policy::TranslationIssue& issue : translation.issues) {
      fmt::print(out, "why:        {}: {}\n", to_string(issue.problem), issue.message);
    }
  }
  for (const std::string& note : translation.notes) fmt::print(out, "note:       {}\n", note);
  return result;
}

void add_label_command(CLI::App& root, int& exit_code) {
  CLI::App* label = root.add_subcommand("label", "Display markings, validity, clearance checks and translation of labels");
  label->require_subcommand(1);

  auto mark = std::make_shared<LabelMarkParams>();
  CLI::App* mark_command =
      label->add_subcommand("mark", "Print a label's display marking (exit 0 valid, 3 invalid label, 1 error)");
  mark_command->add_option("--policy", mark->policy, "A policy file (its scheme is used)");
  mark_command->add_option("--scheme", mark->scheme, "A scheme file");
  mark_command->add_option("label", mark->label, "CLASSIFICATION/CATEGORY/..., e.g. \"SECRET/UK EYES ONLY\"")
      ->required();
  mark_command->add_flag("--json", mark->json, "Print the result as JSON");
  mark_command->callback([mark, &exit_code] { exit_code = run_label_mark(*mark, std::cout, std::cerr); });

  auto check = std::make_shared<LabelCheckParams>();
  CLI::App* check_command = label->add_subcommand(
      "check",
      "Check a label's validity and whether a node or clearance may see it (exit 0 cleared, 2 not cleared, "
      "3 invalid label, 1 error)");
  check_command->add_option("--policy", check->policy, "A policy file");
  check_command->add_option("--scheme", check->scheme, "A scheme file (validity only)");
  check_command->add_option("--node", check->node, "The holder: a node of the policy");
  check_command->add_option("--clearance", check->clearance, "The holder: a vetting level of the policy");
  check_command->add_option("--categories", check->categories,
                            "With --clearance: the scheme categories held, comma-separated");
  check_command->add_option("label", check->label, "CLASSIFICATION/CATEGORY/...")->required();
  check_command->add_flag("--json", check->json, "Print the result as JSON");
  check_command->callback([check, &exit_code] { exit_code = run_label_check(*check, std::cout, std::cerr); });

  auto translate = std::make_shared<LabelTranslateParams>();
  CLI::App* translate_command = label->add_subcommand(
      "translate",
      "Translate a label into another scheme by the equivalences its scheme declares, or say why no faithful "
      "mapping exists (exit 0 translated, 2 no faithful mapping, 3 invalid label or scheme, 1 error)");
  translate_command->add_option("--from", translate->from, "The scheme file the label is under")->required();
  translate_command->add_option("--to", translate->to, "The scheme file to translate into")->required();
  translate_command->add_option("--original", translate->original,
                                "The label the message carried under the --to scheme before it was translated "
                                "(kept beside the translation): given back when LABEL is its translation");
  translate_command->add_option("label", translate->label, "CLASSIFICATION/CATEGORY/...")->required();
  translate_command->add_flag("--json", translate->json, "Print the result as JSON");
  translate_command->callback(
      [translate, &exit_code] { exit_code = run_label_translate(*translate, std::cout, std::cerr); });
}

}  // namespace icegate::cli

// `icegate policy diff | matrix | import-spif`: thin layers over
// gateway/policy. Arguments are checked before any policy is loaded.
#include "tools/icegate/cmd_policy_analysis.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/json_value.hpp"
#include "gateway/policy/check.hpp"
#include "gateway/policy/diff.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/matrix.hpp"
#include "gateway/policy/spif.hpp"
#include "tools/icegate/cmd_policy_prove.hpp"
#include "tools/icegate/commands.hpp"
#include "tools/icegate/policy_output.hpp"

namespace icegate::cli {
namespace {

// Loads a policy, printing its problems; null with `code` set when it fails:
// exit_error for a file that is not there, exit_invalid_policy for one with errors.
std::shared_ptr<const policy::CompiledPolicy> load(const std::filesystem::path& file, std::ostream& err, int& code) {
  std::error_code ignored;
  if (!std::filesystem::is_regular_file(file, ignored)) {
    print_error(err, fmt::format("cannot read policy file {}", file.string()));
    code = exit_error;
    return nullptr;
  }
  policy::LoadResult result = policy::load_policy(file);
  for (const policy::Diagnostic& diagnostic : result.diagnostics.sorted()) {
    fmt::print(err, "{}\n", policy::to_string(diagnostic));
  }
  if (!result.policy) {
    fmt::print(err, "{}: invalid policy ({} {})\n", file.string(), result.diagnostics.error_count(),
               result.diagnostics.error_count() == 1 ? "error" : "errors");
    code = exit_invalid_policy;
  }
  return result.policy;
}

std::string_view type_name(policy::TagSetType type) {
  switch (type) {
    case policy::TagSetType::restrictive: return "restrictive";
    case policy::TagSetType::permissive: return "permissive";
    case policy::TagSetType::informative: return "informative";
  }
  return "informative";
}

}  // namespace

int run_policy_diff(const PolicyDiffParams& params, std::ostream& out, std::ostream& err) {
  if (params.old_file.empty() || params.new_file.empty()) {
    print_error(err, "policy diff: two policy files are required, OLD and NEW");
    return exit_error;
  }
  int code = exit_ok;
  auto old_policy = load(params.old_file, err, code);
  int new_code = exit_ok;
  auto new_policy = load(params.new_file, err, new_code);
  if (!old_policy || !new_policy) {
    return code == exit_error || new_code == exit_error ? exit_error : exit_invalid_policy;
  }

  const policy::PolicyDiff diff = policy::diff_policies(*old_policy, *new_policy);
  if (params.json) {
    policy::write_diff_json(out, diff, params.limit);
  } else {
    policy::write_diff_text(out, diff, params.limit);
  }
  return diff.equivalent() ? exit_ok : exit_denied;
}

int run_policy_matrix(const PolicyMatrixParams& params, std::ostream& out, std::ostream& err) {
  bool arguments_ok = true;
  if (params.file.empty()) {
    print_error(err, "policy matrix: a policy file is required");
    arguments_ok = false;
  }
  if (params.format != "csv" && params.format != "html") {
    print_error(err, fmt::format("--format \"{}\": use csv or html", params.format));
    arguments_ok = false;
  }
  if (!arguments_ok) return exit_error;
  int code = exit_ok;
  auto policy = load(params.file, err, code);
  if (!policy) return code;

  policy::MatrixOptions options;
  options.from = params.from;
  options.purpose = params.purpose;
  options.categories = params.categories;
  options.by_node = params.by_node;
  const policy::PolicyMatrix matrix = policy::build_matrix(*policy, options);
  if (!matrix.errors.empty()) {
    for (const std::string& error : matrix.errors) print_error(err, error);
    return exit_error;
  }
  std::ostringstream text;
  if (params.format == "html") {
    policy::write_matrix_html(text, matrix);
  } else {
    policy::write_matrix_csv(text, matrix);
  }
  return write_output(params.output, text.str(), out, err) ? exit_ok : exit_error;
}

int run_policy_import_spif(const PolicyImportSpifParams& params, std::ostream& out, std::ostream& err) {
  if (params.file.empty()) {
    print_error(err, "policy import-spif: a SPIF file is required");
    return exit_error;
  }
  const policy::SpifImport imported = policy::import_spif(params.file, params.with);
  const bool unreadable = std::any_of(imported.diagnostics.all().begin(), imported.diagnostics.all().end(),
                                      [](const policy::Diagnostic& d) { return d.code == policy::Code::S010; });
  const int code = unreadable ? exit_error : imported.scheme ? exit_ok : exit_invalid_policy;
  if (params.json) {
    boost::json::object json{{"file", params.file.string()},
                             {"imported", imported.scheme.has_value()},
                             {"errors", imported.diagnostics.error_count()},
                             {"warnings", imported.diagnostics.all().size() - imported.diagnostics.error_count()},
                             {"diagnostics", policy::json_value(imported.diagnostics)}};
    if (imported.scheme) {
      const policy::LabelScheme& scheme = *imported.scheme;
      boost::json::array classifications;
      for (const auto& classification : scheme.classifications) classifications.emplace_back(classification.name);
      boost::json::array tag_sets;
      for (const auto& tag_set : scheme.tag_sets)
        tag_sets.emplace_back(boost::json::object{
            {"name", tag_set.name}, {"type", type_name(tag_set.type)}, {"categories", json::strings(tag_set.categories)}});
      json.emplace("scheme", boost::json::object{{"name", scheme.name},
                                                 {"classifications", std::move(classifications)},
                                                 {"tag_sets", std::move(tag_sets)}});
      if (!params.output.empty()) json.emplace("output", params.output.string());
    }
    out << json::serialize(json) << "\n";
    if (imported.scheme && !params.output.empty() && !write_output(params.output, imported.yaml, out, err)) {
      return exit_error;
    }
    return code;
  }
  for (const policy::Diagnostic& diagnostic : imported.diagnostics.sorted()) {
    fmt::print(err, "{}\n", policy::to_string(diagnostic));
  }
  if (!imported.scheme) {
    fmt::print(err, "{}: not imported ({} {})\n", params.file.string(), imported.diagnostics.error_count(),
               imported.diagnostics.error_count() == 1 ? "error" : "errors");
    return code;
  }
  if (!write_output(params.output, imported.yaml, out, err)) return exit_error;
  if (!params.output.empty()) {
    fmt::print(err, "wrote scheme '{}' ({} classifications, {} tag sets, {} categories) to {}\n", imported.scheme->name,
               imported.scheme->classifications.size(), imported.scheme->tag_sets.size(),
               imported.scheme->categories.size(), params.output.string());
  }
  return exit_ok;
}

void add_policy_analysis_commands(CLI::App& policy, int& exit_code) {
  auto diff = std::make_shared<PolicyDiffParams>();
  CLI::App* diff_command =
      policy.add_subcommand("diff",
                            "Every decision that differs between two policies, grouped into flows opened and closed "
                            "(exit 0 equivalent, 2 differences, 3 invalid policy)");
  diff_command->add_option("old", diff->old_file, "The old policy file")->required();
  diff_command->add_option("new", diff->new_file, "The new policy file")->required();
  diff_command->add_flag("--json", diff->json, "Print the differences as one JSON object");
  diff_command->add_option("--limit", diff->limit, "Show at most N groups of each kind (0: all)");
  diff_command->callback([diff, &exit_code] { exit_code = run_policy_diff(*diff, std::cout, std::cerr); });

  auto matrix = std::make_shared<PolicyMatrixParams>();
  CLI::App* matrix_command = policy.add_subcommand(
      "matrix", "Who can see what: organisations and roles against information categories and labels");
  matrix_command->add_option("file", matrix->file, "The policy file")->required();
  matrix_command->add_option("--format", matrix->format, "csv or html")->capture_default_str();
  matrix_command->add_option("--from", matrix->from, "Fix the sender (default: the most permissive senders)");
  matrix_command->add_option("--purpose", matrix->purpose, "Fix the purpose (default: any purpose)");
  matrix_command->add_option("--category", matrix->categories, "Only this information category (repeatable)");
  matrix_command->add_flag("--by-node", matrix->by_node, "One row per node instead of per organisation and role");
  matrix_command->add_option("-o,--output", matrix->output, "Write to this file instead of stdout");
  matrix_command->callback([matrix, &exit_code] { exit_code = run_policy_matrix(*matrix, std::cout, std::cerr); });

  auto spif = std::make_shared<PolicyImportSpifParams>();
  CLI::App* spif_command = policy.add_subcommand(
      "import-spif", "Convert an Open XML SPIF into a label scheme file (exit 0 imported, 3 SPIF errors, 1 error)");
  spif_command->add_option("file", spif->file, "The SPIF (XML) file")->required();
  spif_command->add_option("-o,--output", spif->output, "Write the scheme here instead of stdout");
  spif_command->add_flag("--json", spif->json, "Print the result and every diagnostic as JSON");
  spif_command->add_option("--with", spif->with,
                           "The SPIF of a policy named in equivalentPolicies, to resolve the equivalences to it "
                           "(repeatable)");
  spif_command->callback([spif, &exit_code] { exit_code = run_policy_import_spif(*spif, std::cout, std::cerr); });

  add_policy_prove_command(policy, exit_code);
}

}  // namespace icegate::cli

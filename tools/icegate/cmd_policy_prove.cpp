// `icegate policy prove`: arguments checked, the policy and its properties
// loaded (every problem printed), the properties proved, the report printed.
#include "tools/icegate/cmd_policy_prove.hpp"

#include <iostream>
#include <memory>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/json_value.hpp"
#include "gateway/policy/check.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/prove.hpp"
#include "tools/icegate/commands.hpp"
#include "tools/icegate/policy_output.hpp"

namespace icegate::cli {
namespace {

namespace fs = std::filesystem;

// For --json: the run could not start; what a program needs to know why.
void print_json_failure(std::ostream& out, const fs::path& policy, const fs::path& properties,
                        const policy::Diagnostics& diagnostics) {
  out << json::Object()
             .add("policy", policy.string())
             .add("properties", properties.string())
             .add("all_hold", false)
             .add("diagnostics", boost::json::value(policy::json_value(diagnostics)))
             .add("results", boost::json::value(boost::json::array()))
             .str()
      << "\n";
}

}  // namespace

int run_policy_prove(const PolicyProveParams& params, std::ostream& out, std::ostream& err) {
  if (params.file.empty()) {
    print_error(err, "policy prove: a policy file is required");
    return exit_error;
  }
  const fs::path properties_file =
      params.properties.empty() ? policy::default_properties_file(params.file) : params.properties;
  if (!is_readable_file(params.file)) {
    print_error(err, fmt::format("cannot read policy file {}", params.file.string()));
    return exit_error;
  }
  policy::LoadResult loaded = policy::load_policy(params.file);
  if (!loaded.policy) {
    print_diagnostics(err, loaded.diagnostics);
    fmt::print(err, "{}: invalid policy ({} {})\n", params.file.string(), loaded.diagnostics.error_count(),
               loaded.diagnostics.error_count() == 1 ? "error" : "errors");
    if (params.json) print_json_failure(out, params.file, properties_file, loaded.diagnostics);
    return exit_invalid_policy;
  }
  if (!is_readable_file(properties_file)) {
    print_error(err, fmt::format("cannot read properties file {}{}", properties_file.string(),
                                 params.properties.empty() ? " (the default for this policy; give --properties FILE)"
                                                           : ""));
    return exit_error;
  }
  const policy::PropertiesFile properties = policy::load_properties(properties_file, *loaded.policy);
  if (!properties.ok()) {
    print_diagnostics(err, properties.diagnostics);
    fmt::print(err, "{}: properties not proved ({} {})\n", properties_file.string(),
               properties.diagnostics.error_count(), properties.diagnostics.error_count() == 1 ? "error" : "errors");
    if (params.json) print_json_failure(out, params.file, properties_file, properties.diagnostics);
    return properties.other_policy_invalid ? exit_invalid_policy : exit_error;
  }

  policy::ProveOptions options;
  options.policy_display = params.file.string();
  const policy::ProofRun run = policy::prove_properties(*loaded.policy, properties, options);
  if (params.json) {
    policy::write_proof_json(out, run);
  } else {
    policy::write_proof_text(out, run);
  }
  if (run.diagnostics.has_errors()) return exit_error;
  return run.all_hold() ? exit_ok : exit_denied;
}

void add_policy_prove_command(CLI::App& policy, int& exit_code) {
  auto prove = std::make_shared<PolicyProveParams>();
  CLI::App* command = policy.add_subcommand(
      "prove",
      "Check properties over every request the policy can be asked, with a counterexample for each that fails "
      "(exit 0 all hold, 2 a property fails or is not proved, 3 invalid policy, 1 error)");
  command->add_option("file", prove->file, "The policy file")->required();
  command->add_option("--properties", prove->properties,
                      "The properties file (default: tests/<policy name>.properties.yaml beside the policy)");
  command->add_flag("--json", prove->json, "Print the results as one JSON object");
  command->callback([prove, &exit_code] { exit_code = run_policy_prove(*prove, std::cout, std::cerr); });
}

}  // namespace icegate::cli

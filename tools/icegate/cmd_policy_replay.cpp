#include "tools/icegate/cmd_policy_replay.hpp"

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/audit/audit.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/replay.hpp"
#include "gateway/policy/replay_trail.hpp"
#include "tools/icegate/commands.hpp"
#include "tools/icegate/policy_output.hpp"

namespace icegate::cli {

int run_policy_replay(const PolicyReplayParams& params, std::ostream& out, std::ostream& err) {
  bool arguments_ok = true;
  if (params.data.empty()) {
    print_error(err, "policy replay: --data DIR is required (the gateway's data directory)");
    arguments_ok = false;
  }
  if (params.policy.empty()) {
    print_error(err, "policy replay: --policy FILE is required (the policy to decide again under)");
    arguments_ok = false;
  }
  if (!arguments_ok) return exit_error;
  std::error_code ignored;
  if (!std::filesystem::is_regular_file(audit::database_path(params.data), ignored)) {
    print_error(err, fmt::format("policy replay: --data {}: no audit trail there ({} not found)",
                                 params.data.string(), audit::database_path(params.data).string()));
    return exit_error;
  }
  if (!std::filesystem::is_regular_file(params.policy, ignored)) {
    print_error(err, fmt::format("policy replay: --policy: cannot read policy file {}", params.policy.string()));
    return exit_error;
  }
  policy::LoadResult loaded = policy::load_policy(params.policy);
  for (const policy::Diagnostic& diagnostic : loaded.diagnostics.sorted())
    fmt::print(err, "{}\n", policy::to_string(diagnostic));
  if (!loaded.policy) {
    fmt::print(err, "{}: invalid policy ({} {})\n", params.policy.string(), loaded.diagnostics.error_count(),
               loaded.diagnostics.error_count() == 1 ? "error" : "errors");
    return exit_invalid_policy;
  }

  std::vector<policy::RecordedSubmission> submissions;
  try {
    // A trail that does not verify could say anything: replaying it would
    // report changes to decisions nobody made.
    const audit::VerifyReport verified = audit::verify(params.data);
    if (!verified.intact()) {
      const auto& first = verified.problems.front();
      print_error(err, fmt::format("policy replay: the audit trail in {} does not verify ({} problem(s); seq {}: {}: {}); "
                                   "see icegate audit verify --data {}",
                                   params.data.string(), verified.problems.size(), first.seq, to_string(first.kind),
                                   first.text, params.data.string()));
      return exit_error;
    }
    submissions = policy::read_recorded_submissions(params.data);
  } catch (const std::exception& e) {
    print_error(err, fmt::format("policy replay: --data {}: {}", params.data.string(), e.what()));
    return exit_error;
  }

  policy::ReplayReport report = policy::replay_submissions(submissions, *loaded.policy);
  report.data_dir = params.data.string();
  report.policy_file = params.policy.string();
  if (params.json) {
    policy::write_replay_json(out, report, params.limit);
  } else {
    policy::write_replay_text(out, report, params.limit);
  }
  if (report.submissions > 0 && report.replayed == 0) {
    print_error(err, fmt::format("policy replay: none of the {} submission(s) in {} can be decided again (listed above)",
                                 report.submissions, params.data.string()));
    return exit_error;
  }
  return report.unchanged() ? exit_ok : exit_denied;
}

void add_policy_replay_command(CLI::App& policy, int& exit_code) {
  auto params = std::make_shared<PolicyReplayParams>();
  CLI::App* replay = policy.add_subcommand(
      "replay",
      "Decide again every submission in a gateway's audit trail under another policy, and report the flows that would "
      "open and close per node pair (exit 0 no change, 2 changes, 3 invalid policy, 1 error)");
  replay->add_option("--data", params->data, "The gateway's data directory (serve --data), holding icegate.db")
      ->required();
  replay->add_option("--policy", params->policy, "The policy to decide again under")->required();
  replay->add_flag("--json", params->json, "Print the report as one JSON object");
  replay->add_option("--limit", params->limit, "Show at most N node pairs of each kind (0: all)");
  replay->callback([params, &exit_code] { exit_code = run_policy_replay(*params, std::cout, std::cerr); });
}

}  // namespace icegate::cli

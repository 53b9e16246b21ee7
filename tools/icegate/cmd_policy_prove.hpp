// `icegate policy prove`: properties checked over a policy's whole decision
// space. A thin wrapper over gateway/policy/prove.hpp.
//
//   policy prove POLICY [--properties FILE] [--json]
//       every property of FILE (default: tests/<policy stem>.properties.yaml
//       beside POLICY) checked exhaustively; a failing one with one
//       counterexample, as an `icegate policy explain` command.
//       exit 0 every property holds; 2 a property fails or cannot be proved;
//       3 the policy (or a policy an `implies` names) is invalid; 1 error: a
//       file cannot be read, the properties file has errors (V0xx)
#pragma once

#include <filesystem>
#include <ostream>

#include <CLI/CLI.hpp>

namespace icegate::cli {

struct PolicyProveParams {
  std::filesystem::path file;
  std::filesystem::path properties;  // "" = the default beside the policy
  bool json = false;
};

int run_policy_prove(const PolicyProveParams& params, std::ostream& out, std::ostream& err);

// Adds `prove` under `policy`.
void add_policy_prove_command(CLI::App& policy, int& exit_code);

}  // namespace icegate::cli

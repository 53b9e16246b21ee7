// `icegate policy diff | matrix | import-spif`: comparing policies and
// bringing in label schemes. Thin wrappers over gateway/policy/diff.hpp,
// matrix.hpp and spif.hpp; the `policy` command itself is cmd_policy.cpp's.
//
//   policy diff OLD NEW [--json] [--limit N]
//       every decision that differs between two policies, over every node
//       pair x information category x purpose x valid label, grouped into
//       flows opened, flows closed, holds added and removed, handling changed.
//       exit 0 equivalent; 2 differences found; 3 a policy is invalid; 1 error
//   policy matrix FILE [--format csv|html] [--from NODE] [--purpose P]
//                      [--category C]... [--by-node] [-o FILE]
//       who can see what: organisations and roles x categories and labels.
//       exit 0; 3 invalid policy; 1 error (unknown node, purpose, category)
//   policy import-spif FILE.xml [-o scheme.yaml] [--json]
//       an Open XML SPIF as a scheme file (stdout without -o).
//       exit 0 imported (warnings allowed); 3 the SPIF has errors; 1 unreadable
#pragma once

#include <cstddef>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace icegate::cli {

struct PolicyDiffParams {
  std::filesystem::path old_file;
  std::filesystem::path new_file;
  bool json = false;
  std::size_t limit = 0;  // groups shown per kind; 0 = all
};

struct PolicyMatrixParams {
  std::filesystem::path file;
  std::string format = "csv";           // csv or html
  std::string from;                     // a sender node; "" = most permissive sender set
  std::string purpose;                  // "" = any purpose
  std::vector<std::string> categories;  // only these information categories
  bool by_node = false;
  std::filesystem::path output;  // "" = stdout
};

struct PolicyImportSpifParams {
  std::filesystem::path file;
  std::filesystem::path output;  // "" = stdout
  bool json = false;             // the result (diagnostics, scheme summary) as JSON on stdout
  // The SPIFs of the policies this one names in equivalentPolicies: their
  // lacvs resolve its equivalences (see policy::import_spif).
  std::vector<std::filesystem::path> with;
};

int run_policy_diff(const PolicyDiffParams& params, std::ostream& out, std::ostream& err);
int run_policy_matrix(const PolicyMatrixParams& params, std::ostream& out, std::ostream& err);
int run_policy_import_spif(const PolicyImportSpifParams& params, std::ostream& out, std::ostream& err);

// Adds diff, matrix and import-spif under `policy`, and prove (cmd_policy_prove.hpp).
void add_policy_analysis_commands(CLI::App& policy, int& exit_code);

}  // namespace icegate::cli

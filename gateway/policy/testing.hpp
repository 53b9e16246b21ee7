// Policy test files: the format analysts use to test a policy like code.
//
// A test file names a policy and lists cases, each a decision request (sender,
// recipient, category, purpose if any, portion labels) and what the decision
// must be; or a table of such requests (`each:`), one case per row.
// The format is documented in policies/README.md ("Policy test files").
//
//   load_policy_tests --> PolicyTestFile (cases with locations; T0xx diagnostics)
//   load_policy(file.policy) --> CompiledPolicy
//   run_policy_tests --> PolicyTestRun (pass/fail, diff lines, rule coverage)
//
// `icegate policy test` is a thin wrapper over these. Like the other stages,
// nothing here throws for bad input.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/diagnostics.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::policy {

// A name as written in a test file, with where it is written, so that a name
// the policy does not define can be reported at its place.
struct PolicyTestName {
  std::string value;
  SourceLocation location;

  friend bool operator==(const PolicyTestName&, const PolicyTestName&) = default;
};

struct PolicyTestPortion {
  std::string id;  // as given, else its position: "1", "2", ...
  Label label;     // categories sorted and unique
  SourceLocation location;
};

struct PolicyTestRequest {
  PolicyTestName from;  // sender node
  PolicyTestName to;    // recipient node
  PolicyTestName category;
  PolicyTestName purpose;  // value "" when the request has none: only rules naming no purpose apply
  std::vector<PolicyTestPortion> portions;
  bool occasional_available = false;
  SourceLocation occasional_location;  // of `occasional_available`'s value, when given
};

// What the decision must be. `decision` is always checked; every other field
// only when the case states it.
struct PolicyTestExpectation {
  Decision decision = Decision::deny;
  std::optional<std::vector<std::string>> withheld;  // portion ids, exactly
  std::optional<std::vector<std::string>> released;  // portion ids, exactly
  std::optional<std::vector<PolicyTestName>> rules;  // ids of the deciding rules, exactly
  std::optional<std::vector<PolicyTestName>> review_roles;
  std::optional<bool> originator_control;
  std::optional<bool> no_onward_sharing;
  std::optional<bool> occasional;  // an occasional release was used
  std::optional<std::string> reason_contains;
};

// One case to run. A table-driven case (`each:` in the file) becomes one
// PolicyTestCase per row, named "<case>[<row>]", located at its row, with the
// row's fields over the case's shared `request` and `expect`.
struct PolicyTestCase {
  std::string name;
  std::string description;
  SourceLocation location;  // the case's entry in the test file, or its row
  std::string table;        // for a row: the name of the case whose table it is in; else empty
  std::string row;          // for a row: its `name`, else its position from 1 ("2"); else empty
  PolicyTestRequest request;
  PolicyTestExpectation expect;
};

struct PolicyTestFile {
  std::filesystem::path file;
  std::filesystem::path policy;  // `policy:` resolved against the test file's directory; empty if unreadable
  SourceLocation policy_location;
  std::string description;
  std::vector<PolicyTestCase> cases;  // the cases (and rows) that read cleanly, in file order
  // Entries of `tests`, and rows of their tables, left out of `cases` for a
  // problem (T002-T010, T013).
  // The other cases still run; a file with errors still fails the run.
  std::size_t cases_not_run = 0;
  Diagnostics diagnostics;  // T001-T010, T013
};

// Reads a policy test file. Every problem is reported (codes T001-T013 in
// policies/README.md), located; a case with a problem is left out of `cases`
// (and counted in `cases_not_run`).
// `require_policy` false makes `policy:` optional (the caller names the
// policy itself, as `icegate policy test FILE TESTS...` does); `policy` is
// then empty when the file does not name one.
PolicyTestFile load_policy_tests(const std::filesystem::path& file, bool require_policy = true);
// Same, from text in memory; `file` names it and is the base for `policy:`.
PolicyTestFile load_policy_tests_text(std::string_view text, const std::filesystem::path& file,
                                      bool require_policy = true);

// A label as a test file writes it: "SECRET/UK EYES ONLY" (spaces around '/'
// ignored), categories sorted and unique. nullopt, with `error` saying why,
// for an empty part ("SECRET//X").
std::optional<Label> parse_test_label(std::string_view text, std::string& error);

// One decision request on its own, in the shape of a test case's `request:`
// mapping (from, to, category, purpose, portions, occasional_available):
// what `icegate policy explain --request FILE` reads. Problems use the test
// file codes (T001-T010).
struct PolicyTestRequestFile {
  std::filesystem::path file;
  PolicyTestRequest request;
  Diagnostics diagnostics;
  bool ok = false;  // the request read cleanly
};
PolicyTestRequestFile load_policy_test_request(const std::filesystem::path& file);
PolicyTestRequestFile load_policy_test_request_text(std::string_view text, const std::filesystem::path& file);

// The policy's decision on a case's request.
PolicyDecision decide(const CompiledPolicy& policy, const PolicyTestRequest& request);

struct PolicyTestResult {
  std::string name;
  SourceLocation location;
  std::string table;  // for a row of a table-driven case: the case's name and the row's (PolicyTestCase)
  std::string row;
  bool passed = false;
  // One line per unmet expectation, e.g. "decision: expected HOLD, got RELEASE_REDACTED",
  // "withheld: expected [1], got []"; and one per name the policy does not define.
  std::vector<std::string> differences;
  std::vector<int> rules;   // indices of the rules the case exercised (decision.rules)
  PolicyDecision decision;  // what the policy actually decided
};

struct PolicyTestRun {
  std::vector<PolicyTestResult> results;  // one per case, in order
  // T011 (a node, category, purpose, rule or role the policy does not define),
  // T012 (a label invalid under the policy's scheme) and T014 (an occasional
  // release assumed under a policy that allows none). A case with one fails.
  Diagnostics diagnostics;
  std::vector<int> rule_cases;  // by rule index: how many cases exercised the rule

  std::size_t passed() const;
  std::size_t failed() const;
  bool all_passed() const { return failed() == 0; }
  std::vector<int> covered_rules() const;    // ascending
  std::vector<int> uncovered_rules() const;  // ascending
  // Exercised rules over all rules; 1 for a policy without rules.
  double coverage() const;
};

// Decides every case under `policy` and compares. A rule is exercised by a
// case when it decided some portion of the case's request.
PolicyTestRun run_policy_tests(const CompiledPolicy& policy, std::span<const PolicyTestCase> cases);

}  // namespace icegate::policy

// The reporters of `icegate policy test` (`--format text`, `--format json`):
// each renders a PolicyTestResults, and neither runs anything.
#pragma once

#include <ostream>

#include "tools/icegate/policy_test_runner.hpp"

namespace icegate::cli {

// Problems, PASS/FAIL per case with the unmet expectations of each failure,
// rule coverage per policy with why a rule was not exercised, then totals.
void write_policy_test_text(std::ostream& out, const PolicyTestResults& results);
// The same as one JSON object: files with their cases, coverage per policy,
// totals, diagnostics and the exit code; one line.
void write_policy_test_json(std::ostream& out, const PolicyTestResults& results);

}  // namespace icegate::cli

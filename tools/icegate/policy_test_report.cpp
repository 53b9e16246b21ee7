// The reporters of `icegate policy test` (policy_test_report.hpp): text for
// an analyst, JSON for tools, each from the runner's PolicyTestResults.
#include "tools/icegate/policy_test_report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/json_value.hpp"
#include "gateway/policy/check.hpp"
#include "tools/icegate/policy_output.hpp"

namespace icegate::cli {
namespace {

std::string_view to_string(policy::CoverageGapKind kind) {
  switch (kind) {
    case policy::CoverageGapKind::unmet_condition: return "unmet_condition";
    case policy::CoverageGapKind::shadowed: return "shadowed";
    case policy::CoverageGapKind::no_cases: return "no_cases";
  }
  return "unknown";
}

// {"kind":"unmet_condition","condition":"from","message":...,"reached":2,"nearest":[...],"decided_by":[...]}
boost::json::object json_gap(const policy::CompiledPolicy& compiled, const policy::RuleCoverageGap& gap) {
  boost::json::array decided_by;
  for (int rule : gap.decided_by) decided_by.emplace_back(compiled.rule(rule).id);
  return {{"kind", to_string(gap.kind)},     {"condition", gap.condition},
          {"message", gap.message},          {"reached", gap.reached},
          {"nearest", json::strings(gap.nearest)}, {"decided_by", std::move(decided_by)}};
}

// "2 cases met ...: "a", "b" and 1 more"
std::string nearest_text(const policy::RuleCoverageGap& gap) {
  std::vector<std::string> quoted;
  for (const std::string& name : gap.nearest) quoted.push_back(fmt::format("\"{}\"", name));
  std::string text = fmt::format("{}", fmt::join(quoted, ", "));
  if (gap.reached > gap.nearest.size()) text += fmt::format(" and {} more", gap.reached - gap.nearest.size());
  return text;
}

}  // namespace

void write_policy_test_json(std::ostream& out, const PolicyTestResults& results) {
  const std::vector<PolicyTestFileRun>& runs = results.runs;
  const std::vector<PolicyTestCoverage>& coverage = results.coverage;
  const policy::Diagnostics& problems = results.problems;
  const std::size_t passed = results.passed();
  const std::size_t failed = results.failed();
  const std::size_t cases_not_run = results.cases_not_run;
  const int exit_code = results.exit_code();
  boost::json::array files;
  for (const PolicyTestFileRun& run : runs) {
    const PolicyTestCoverage* target = nullptr;
    for (const PolicyTestCoverage& entry : coverage) {
      if (entry.file == run.policy) target = &entry;
    }
    boost::json::array cases;
    for (const policy::PolicyTestResult& result : run.run.results) {
      boost::json::array rules;
      for (int rule : result.rules) rules.emplace_back(target->policy->rule(rule).id);
      boost::json::object json_case{{"name", result.name},
                                    {"location", policy::json_value(result.location)},
                                    {"passed", result.passed},
                                    {"differences", json::strings(result.differences)},
                                    {"decision", to_string(result.decision.decision)},
                                    {"reason", result.decision.reason},
                                    {"rules", std::move(rules)}};
      // A row of a table-driven case also names its case and its row.
      if (!result.table.empty()) {
        json_case.emplace("table", result.table);
        json_case.emplace("row", result.row);
      }
      cases.emplace_back(std::move(json_case));
    }
    files.emplace_back(
        boost::json::object{{"file", run.file.string()}, {"policy", run.policy.string()}, {"cases", std::move(cases)}});
  }
  boost::json::array json_coverage;
  for (const PolicyTestCoverage& entry : coverage) {
    if (!entry.policy) continue;
    std::size_t covered = 0;
    boost::json::array rules;
    for (std::size_t r = 0; r < entry.rule_cases.size(); ++r) {
      const policy::Rule& rule = entry.policy->rule(static_cast<int>(r));
      if (entry.rule_cases[r] > 0) ++covered;
      boost::json::object json_rule{
          {"id", rule.id}, {"location", policy::json_value(rule.location)}, {"cases", entry.rule_cases[r]}};
      for (const policy::RuleCoverageGap& gap : entry.gaps) {
        if (gap.rule == static_cast<int>(r)) json_rule.insert_or_assign("not_exercised", json_gap(*entry.policy, gap));
      }
      rules.emplace_back(std::move(json_rule));
    }
    const std::size_t total = entry.rule_cases.size();
    const double percent = total == 0 ? 100.0 : 100.0 * static_cast<double>(covered) / static_cast<double>(total);
    json_coverage.emplace_back(boost::json::object{{"policy", entry.file.string()},
                                                   {"rules", std::move(rules)},
                                                   {"covered", covered},
                                                   {"total", total},
                                                   // One decimal, as the text report shows it.
                                                   {"percent", std::nearbyint(percent * 10.0) / 10.0}});
  }
  const boost::json::object json{{"files", std::move(files)},
                                 {"coverage", std::move(json_coverage)},
                                 {"passed", passed},
                                 {"failed", failed},
                                 {"not_run", cases_not_run},
                                 {"diagnostics", policy::json_value(problems)},
                                 {"exit_code", exit_code}};
  out << json::serialize(json) << "\n";
}

void write_policy_test_text(std::ostream& out, const PolicyTestResults& results) {
  const std::vector<PolicyTestFileRun>& runs = results.runs;
  const std::vector<PolicyTestCoverage>& coverage = results.coverage;
  const policy::Diagnostics& problems = results.problems;
  const std::size_t passed = results.passed();
  const std::size_t failed = results.failed();
  const std::size_t cases_not_run = results.cases_not_run;
  const std::size_t files_not_run = results.files_not_run;
  const bool bad_test_file = results.bad_test_file;
  const bool invalid_policy = results.invalid_policy;
  print_diagnostics(out, problems);
  if (!problems.empty()) fmt::print(out, "\n");
  for (const PolicyTestFileRun& run : runs) {
    fmt::print(out, "{} (policy {})\n", run.file.string(), run.policy.string());
    for (const policy::PolicyTestResult& result : run.run.results) {
      fmt::print(out, "  {}  {}\n", result.passed ? "PASS" : "FAIL", result.name);
      if (result.passed) continue;
      fmt::print(out, "        at {}\n", to_string(result.location));
      for (const std::string& difference : result.differences) fmt::print(out, "        {}\n", difference);
      fmt::print(out, "        (the policy decided {}: {})\n", to_string(result.decision.decision),
                 result.decision.reason);
    }
  }
  for (const PolicyTestCoverage& entry : coverage) {
    if (!entry.policy) continue;
    const std::size_t total = entry.rule_cases.size();
    const std::size_t covered = static_cast<std::size_t>(
        std::count_if(entry.rule_cases.begin(), entry.rule_cases.end(), [](int cases) { return cases > 0; }));
    fmt::print(out, "\ncoverage of {}: {} of {} rules exercised ({:.1f}%)\n", entry.file.string(), covered, total,
               total == 0 ? 100.0 : 100.0 * static_cast<double>(covered) / static_cast<double>(total));
    std::size_t width = 4;
    for (const policy::Rule& rule : entry.policy->source().rules) width = std::max(width, rule.id.size());
    fmt::print(out, "  {:>5}  {:<{}}  {}\n", "cases", "rule", width, "where");
    for (std::size_t r = 0; r < total; ++r) {
      const policy::Rule& rule = entry.policy->rule(static_cast<int>(r));
      fmt::print(out, "  {:>5}  {:<{}}  {}{}\n", entry.rule_cases[r], rule.id, width, to_string(rule.location),
                 entry.rule_cases[r] == 0 ? "  NOT EXERCISED" : "");
    }
    if (!entry.gaps.empty()) fmt::print(out, "  why not exercised:\n");
    for (const policy::RuleCoverageGap& gap : entry.gaps) {
      fmt::print(out, "    {}: {}\n", entry.policy->rule(gap.rule).id, gap.message);
      if (gap.nearest.empty()) continue;
      fmt::print(out, "      {} met {}: {}\n", counted(gap.reached, "case"),
                 gap.kind == policy::CoverageGapKind::shadowed ? "all its conditions" : "the conditions before that",
                 nearest_text(gap));
    }
  }
  fmt::print(out, "\n{} passed, {} failed", passed, failed);
  if (cases_not_run > 0) {
    fmt::print(out, "; {} {} errors and {} not run", counted(cases_not_run, "case"), cases_not_run == 1 ? "has" : "have",
               cases_not_run == 1 ? "was" : "were");
  }
  if (files_not_run > 0) {
    fmt::print(out, "; {} {} not run", counted(files_not_run, "test file"), files_not_run == 1 ? "was" : "were");
  }
  if (bad_test_file && cases_not_run == 0 && files_not_run == 0) fmt::print(out, "; the test files have errors");
  if (invalid_policy) fmt::print(out, "; a policy is invalid");
  fmt::print(out, "\n");
}

}  // namespace icegate::cli

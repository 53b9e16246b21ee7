// The reporters of `icegate policy test` (policy_test_report.hpp): text for
// an analyst, JSON for tools, each from the runner's PolicyTestResults.
#include "tools/icegate/policy_test_report.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/policy/check.hpp"
#include "tools/icegate/policy_output.hpp"

namespace icegate::cli {
namespace {

using policy::json_string;

std::string_view to_string(policy::CoverageGapKind kind) {
  switch (kind) {
    case policy::CoverageGapKind::unmet_condition: return "unmet_condition";
    case policy::CoverageGapKind::shadowed: return "shadowed";
    case policy::CoverageGapKind::no_cases: return "no_cases";
  }
  return "unknown";
}

// {"kind":"unmet_condition","condition":"from","message":...,"reached":2,"nearest":[...],"decided_by":[...]}
std::string json_gap(const policy::CompiledPolicy& compiled, const policy::RuleCoverageGap& gap) {
  std::vector<std::string> decided_by;
  for (int rule : gap.decided_by) decided_by.push_back(compiled.rule(rule).id);
  return fmt::format(R"({{"kind":"{}","condition":{},"message":{},"reached":{},"nearest":{},"decided_by":{}}})",
                     to_string(gap.kind), json_string(gap.condition), json_string(gap.message), gap.reached,
                     json_strings(gap.nearest), json_strings(decided_by));
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
  std::string json = "{\"files\":[";
  for (std::size_t f = 0; f < runs.size(); ++f) {
    const PolicyTestFileRun& run = runs[f];
    const PolicyTestCoverage* target = nullptr;
    for (const PolicyTestCoverage& entry : coverage) {
      if (entry.file == run.policy) target = &entry;
    }
    if (f) json += ",";
    json += fmt::format("{{\"file\":{},\"policy\":{},\"cases\":[", json_string(run.file.string()),
                        json_string(run.policy.string()));
    for (std::size_t c = 0; c < run.run.results.size(); ++c) {
      const policy::PolicyTestResult& result = run.run.results[c];
      std::vector<std::string> rules;
      for (int rule : result.rules) rules.push_back(target->policy->rule(rule).id);
      if (c) json += ",";
      json += fmt::format(
          "{{\"name\":{},\"location\":{},\"passed\":{},\"differences\":{},\"decision\":\"{}\",\"reason\":{},"
          "\"rules\":{}",
          json_string(result.name), policy::to_json(result.location), result.passed,
          json_strings(result.differences), to_string(result.decision.decision), json_string(result.decision.reason),
          json_strings(rules));
      // A row of a table-driven case also names its case and its row.
      if (!result.table.empty()) {
        json += fmt::format(",\"table\":{},\"row\":{}", json_string(result.table), json_string(result.row));
      }
      json += "}";
    }
    json += "]}";
  }
  json += "],\"coverage\":[";
  bool first_policy = true;
  for (const PolicyTestCoverage& entry : coverage) {
    if (!entry.policy) continue;
    if (!first_policy) json += ",";
    first_policy = false;
    std::size_t covered = 0;
    json += fmt::format("{{\"policy\":{},\"rules\":[", json_string(entry.file.string()));
    for (std::size_t r = 0; r < entry.rule_cases.size(); ++r) {
      const policy::Rule& rule = entry.policy->rule(static_cast<int>(r));
      if (entry.rule_cases[r] > 0) ++covered;
      if (r) json += ",";
      json += fmt::format("{{\"id\":{},\"location\":{},\"cases\":{}", json_string(rule.id),
                          policy::to_json(rule.location), entry.rule_cases[r]);
      for (const policy::RuleCoverageGap& gap : entry.gaps) {
        if (gap.rule == static_cast<int>(r)) json += ",\"not_exercised\":" + json_gap(*entry.policy, gap);
      }
      json += "}";
    }
    const std::size_t total = entry.rule_cases.size();
    json += fmt::format("],\"covered\":{},\"total\":{},\"percent\":{:.1f}}}", covered, total,
                        total == 0 ? 100.0 : 100.0 * static_cast<double>(covered) / static_cast<double>(total));
  }
  json += fmt::format("],\"passed\":{},\"failed\":{},\"not_run\":{},\"diagnostics\":{},\"exit_code\":{}}}\n",
                      passed, failed, cases_not_run, json_diagnostics(problems), exit_code);
  out << json;
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

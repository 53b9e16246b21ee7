// Why a rule no test case exercised was not exercised.
//
// Coverage (testing.hpp) counts the cases whose decision some rule made. For
// each rule no case exercised, this names the first of the rule's conditions,
// in the order a decision tests them (policies/README.md, "Decisions":
// category, purpose, from, to, min_classification, max_classification), that
// no case met: "no case had category referral", "no case sent from a node
// matching from: {roles: [prevent-lead]}". Conditions are met in order, so a
// case counts towards a condition only if it met every condition before it.
// A rule whose conditions some case met in full was shadowed: another rule
// (an earlier one of its effect, or a deny overriding a permit) decided every
// such case.
//
//   explain_uncovered_rules(policy, cases, rule_cases) --> one RuleCoverageGap per rule not exercised
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "gateway/policy/engine.hpp"
#include "gateway/policy/testing.hpp"

namespace icegate::policy {

// Why a rule was not exercised.
enum class CoverageGapKind {
  unmet_condition,  // no case met `condition` (having met the conditions before it)
  shadowed,         // some case met every condition; other rules decided all of them
  no_cases,         // no case was run against the policy
};

struct RuleCoverageGap {
  int rule = -1;
  CoverageGapKind kind = CoverageGapKind::unmet_condition;
  // For unmet_condition: "category", "purpose", "from", "to",
  // "min_classification", "max_classification", or "portions" (the only cases
  // that met every other condition had no portion with a valid label).
  std::string condition;
  std::string message;  // "no case had category referral"
  // Cases that met every condition before the unmet one (for shadowed: every
  // condition), and the first few of their names: where a new case, or a row,
  // would best start from. Every case for the rule's first condition.
  std::size_t reached = 0;
  std::vector<std::string> nearest;
  std::vector<int> decided_by;  // shadowed: the rules that decided those cases instead, ascending
};

// How many case names `nearest` keeps.
inline constexpr std::size_t kNearestCases = 3;

// One gap per rule whose entry in `rule_cases` (by rule index, as
// PolicyTestRun::rule_cases, possibly summed over several runs of `cases`) is
// 0, in rule order. `cases` are every case run against `policy`.
std::vector<RuleCoverageGap> explain_uncovered_rules(const CompiledPolicy& policy,
                                                     std::span<const PolicyTestCase> cases,
                                                     std::span<const int> rule_cases);

// "{roles: [prevent-lead], ct_network: false}": the fields a matcher sets, as
// a policy file writes them; "{}" for a matcher that matches every node.
std::string to_string(const SubjectMatcher& matcher);

}  // namespace icegate::policy

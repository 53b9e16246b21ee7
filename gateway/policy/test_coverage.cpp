#include "gateway/policy/test_coverage.hpp"

#include <algorithm>
#include <climits>

#include <fmt/format.h>

#include "gateway/policy/explain.hpp"

namespace icegate::policy {
namespace {

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

std::string bracketed(const std::vector<std::string>& values) { return fmt::format("[{}]", fmt::join(values, ", ")); }

// How far a case got through one rule's conditions: the index of the first
// condition it failed, in decision order; kApplies when it met them all for
// some portion.
enum Depth : int {
  kCategory = 0,
  kPurpose = 1,
  kFrom = 2,
  kTo = 3,
  kMinClassification = 4,  // also: no portion with a valid label
  kMaxClassification = 5,
  kApplies = 6,
};

// What a case brings to every rule, worked out once.
struct CaseFacts {
  const PolicyTestCase* test = nullptr;
  ResolvedNode sender;
  ResolvedNode recipient;
  std::vector<int> valid_ranks;      // by portion: the classification's rank, or -1 for an invalid label
  PolicyDecision decision;           // what the policy decided
};

struct RuleReach {
  int depth = kCategory;
  std::vector<int> deciders;  // for kApplies: the rules that decided the portions the rule applied to
};

RuleReach reach(const CompiledPolicy& policy, const NodeDirectory& directory, const Rule& rule, const CaseFacts& facts) {
  const PolicyTestRequest& request = facts.test->request;
  RuleReach result;
  if (!rule.categories.empty() && !contains(rule.categories, request.category.value)) return result;
  result.depth = kPurpose;
  if (!rule.purposes.empty() && !contains(rule.purposes, request.purpose.value)) return result;
  result.depth = kFrom;
  if (directory.mismatch(rule.from, facts.sender)) return result;
  result.depth = kTo;
  if (directory.mismatch(rule.to, facts.recipient)) return result;
  result.depth = kMinClassification;
  const int min_rank = rule.min_classification ? policy.classification_rank(*rule.min_classification) : INT_MIN;
  const int max_rank = rule.max_classification ? policy.classification_rank(*rule.max_classification) : INT_MAX;
  for (std::size_t p = 0; p < facts.valid_ranks.size(); ++p) {
    const int rank = facts.valid_ranks[p];
    if (rank < 0) continue;  // an invalid label is decided by no rule
    if (rank < min_rank) continue;
    if (rank > max_rank) {
      result.depth = std::max(result.depth, static_cast<int>(kMaxClassification));
      continue;
    }
    result.depth = kApplies;
    if (p < facts.decision.portions.size() && facts.decision.portions[p].rule >= 0) {
      result.deciders.push_back(facts.decision.portions[p].rule);
    }
  }
  return result;
}

std::string one_or_among(std::string_view noun, const std::vector<std::string>& values) {
  if (values.size() == 1) return fmt::format("{} {}", noun, values.front());
  return fmt::format("a {} among {}", noun, bracketed(values));
}

std::string unmet_message(const Rule& rule, int depth, std::string& condition) {
  switch (depth) {
    case kCategory:
      condition = "category";
      return fmt::format("no case had {}", one_or_among("category", rule.categories));
    case kPurpose:
      condition = "purpose";
      return fmt::format("no case had {}", one_or_among("purpose", rule.purposes));
    case kFrom:
      condition = "from";
      // An empty matcher matches every node the policy defines.
      return to_string(rule.from) == "{}"
                 ? "no case sent from a node this policy defines"
                 : fmt::format("no case sent from a node matching from: {}", to_string(rule.from));
    case kTo:
      condition = "to";
      return to_string(rule.to) == "{}" ? "no case sent to a node this policy defines"
                                        : fmt::format("no case sent to a node matching to: {}", to_string(rule.to));
    case kMinClassification:
      if (!rule.min_classification) {
        condition = "portions";
        return "no case had a portion with a valid label";
      }
      condition = "min_classification";
      return fmt::format("no case labelled at or above {} (min_classification)", *rule.min_classification);
    default:
      condition = "max_classification";
      if (rule.min_classification) {
        return fmt::format("no case labelled at or above {} and at or below {} (max_classification)",
                           *rule.min_classification, rule.max_classification.value_or(""));
      }
      return fmt::format("no case labelled at or below {} (max_classification)", rule.max_classification.value_or(""));
  }
}

std::string shadowed_message(const CompiledPolicy& policy, int index, const std::vector<int>& deciders) {
  const Rule& rule = policy.rule(index);
  auto why = [&](int decider) -> std::string {
    const Rule& other = policy.rule(decider);
    if (other.effect == Effect::deny && rule.effect == Effect::permit) return "a deny, which overrides a permit";
    return decider < index ? "earlier in the file" : "";
  };
  if (deciders.empty()) return "every case that met all its conditions was decided by another rule";
  if (deciders.size() == 1) {
    const Rule& other = policy.rule(deciders.front());
    if (other.effect == Effect::deny && rule.effect == Effect::permit) {
      return fmt::format("every case that met all its conditions was decided by {}, a deny, which overrides it",
                         other.id);
    }
    return fmt::format("every case that met all its conditions was decided earlier by {}", other.id);
  }
  std::vector<std::string> named;
  for (int decider : deciders) {
    const std::string reason = why(decider);
    named.push_back(reason.empty() ? policy.rule(decider).id : fmt::format("{} ({})", policy.rule(decider).id, reason));
  }
  return fmt::format("every case that met all its conditions was decided by another rule: {}", fmt::join(named, ", "));
}

}  // namespace

std::string to_string(const SubjectMatcher& matcher) {
  std::vector<std::string> fields;
  auto list = [&fields](std::string_view key, const std::vector<std::string>& values) {
    if (!values.empty()) fields.push_back(fmt::format("{}: {}", key, bracketed(values)));
  };
  list("nodes", matcher.nodes);
  list("organisations", matcher.organisations);
  list("organisation_kinds", matcher.organisation_kinds);
  list("roles", matcher.roles);
  list("levels", matcher.levels);
  if (matcher.ct_network) fields.push_back(fmt::format("ct_network: {}", *matcher.ct_network ? "true" : "false"));
  list("lists", matcher.lists);
  return fmt::format("{{{}}}", fmt::join(fields, ", "));
}

std::vector<RuleCoverageGap> explain_uncovered_rules(const CompiledPolicy& policy,
                                                     std::span<const PolicyTestCase> cases,
                                                     std::span<const int> rule_cases) {
  std::vector<RuleCoverageGap> gaps;
  const std::size_t rules = policy.source().rules.size();
  std::vector<int> uncovered;
  for (std::size_t r = 0; r < rules; ++r) {
    if (r >= rule_cases.size() || rule_cases[r] == 0) uncovered.push_back(static_cast<int>(r));
  }
  if (uncovered.empty()) return gaps;

  const NodeDirectory directory(policy.source());
  std::vector<CaseFacts> facts;
  facts.reserve(cases.size());
  for (const PolicyTestCase& test : cases) {
    CaseFacts fact;
    fact.test = &test;
    fact.sender = directory.resolve(test.request.from.value);
    fact.recipient = directory.resolve(test.request.to.value);
    for (const PolicyTestPortion& portion : test.request.portions)
      fact.valid_ranks.push_back(policy.label_problems(portion.label).empty()
                                     ? policy.classification_rank(portion.label.classification)
                                     : -1);
    fact.decision = decide(policy, test.request);
    facts.push_back(std::move(fact));
  }

  for (int index : uncovered) {
    const Rule& rule = policy.rule(index);
    RuleCoverageGap gap;
    gap.rule = index;
    if (facts.empty()) {
      gap.kind = CoverageGapKind::no_cases;
      gap.message = "no case was run against this policy";
      gaps.push_back(std::move(gap));
      continue;
    }
    std::vector<RuleReach> reaches;
    int best = kCategory;
    for (const CaseFacts& fact : facts) {
      reaches.push_back(reach(policy, directory, rule, fact));
      best = std::max(best, reaches.back().depth);
    }
    for (std::size_t c = 0; c < facts.size(); ++c) {
      if (reaches[c].depth < best) continue;
      ++gap.reached;
      if (gap.nearest.size() < kNearestCases) gap.nearest.push_back(facts[c].test->name);
      gap.decided_by.insert(gap.decided_by.end(), reaches[c].deciders.begin(), reaches[c].deciders.end());
    }
    // Every case got as far: naming some of them says nothing.
    if (gap.reached == facts.size()) gap.nearest.clear();
    std::sort(gap.decided_by.begin(), gap.decided_by.end());
    gap.decided_by.erase(std::unique(gap.decided_by.begin(), gap.decided_by.end()), gap.decided_by.end());
    if (best == kApplies) {
      gap.kind = CoverageGapKind::shadowed;
      gap.message = shadowed_message(policy, index, gap.decided_by);
    } else {
      gap.kind = CoverageGapKind::unmet_condition;
      gap.message = unmet_message(rule, best, gap.condition);
    }
    gaps.push_back(std::move(gap));
  }
  return gaps;
}

}  // namespace icegate::policy

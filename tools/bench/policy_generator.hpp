// Realistic generated policies, as YAML text, for benchmarks and exercises.
//
// A generated policy looks like the shipped ones scaled up: organisations of
// the kinds a Prevent partnership has (CT units, Special Branch, BCUs,
// neighbourhood teams, councils, schools, health, the IAG, ...), roles on the
// three levels, one node per post, distribution lists, and need-to-share rules
// by information category, purpose, sender and recipient, some bounded by
// classification, a few denies, some held for a critical reader's review.
// The scheme is written inline (GPMS, as in policies/schemes/gpms-2008.yaml),
// so the text loads on its own with policy::load_policy_text.
//
// Generation is deterministic: the same parameters give the same text on
// every platform (the generator uses its own random number generator, not
// <random>'s distributions, whose results vary between standard libraries).
//
// Every rule is built around a witness: a request (sender, recipient,
// information category, purpose, classification) that the rule covers. The
// witnesses let tests check decisions and let exercise generators produce
// traffic the policy actually has an opinion about.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace icegate::generator {

struct PolicyParameters {
  std::string name = "generated";
  std::size_t organisations = 40;  // at least 1
  std::size_t rules = 100;         // at least 2: the two every policy has come first
  std::uint64_t seed = 1;
  // Shares of the generated rules, in percent.
  int deny_percent = 4;        // deny rules (each with a description)
  int review_percent = 15;     // permit rules with handling: {review_by: [...]}
  int bounded_percent = 35;    // rules with a max_classification (a few also a min)
};

// Parameters for a policy with `rules` rules and a matching number of
// organisations (about 4 * sqrt(rules), between 12 and 400: 13 for 10 rules,
// 40 for 100, 126 for 1,000, 400 for 10,000).
PolicyParameters realistic_parameters(std::size_t rules, std::uint64_t seed = 1);

// One request: who sends what to whom, for what.
struct RequestSample {
  std::string sender;     // node id
  std::string recipient;  // node id
  std::string category;   // information category
  std::string purpose;
};

struct GeneratedRule {
  std::string id;
  bool deny = false;
  bool requires_review = false;  // a permit with handling.review_by
  // A request the rule applies to. For a permit rule `witness_classification`
  // is within both the rule's bounds and the recipient's regular ceiling, so
  // an uncategorised portion at it is released if this rule decides it.
  RequestSample witness;
  std::string witness_classification;
};

struct GeneratedPolicy {
  std::string yaml;
  std::vector<std::string> node_ids;                // in policy order
  std::vector<std::string> organisation_ids;        // in policy order
  std::vector<std::string> information_categories;  // as declared
  std::vector<std::string> purposes;                // as declared
  std::vector<std::string> classifications;         // the scheme's, lowest first
  std::vector<GeneratedRule> rules;                 // in file order
};

GeneratedPolicy generate_policy(const PolicyParameters& parameters);

// `count` varied requests: about two thirds are rule witnesses (some with the
// recipient or purpose changed), the rest drawn uniformly from the policy's
// nodes, categories and purposes (mostly default denies). Deterministic in
// `seed`.
std::vector<RequestSample> generate_requests(const GeneratedPolicy& policy, std::size_t count,
                                             std::uint64_t seed = 1);

}  // namespace icegate::generator

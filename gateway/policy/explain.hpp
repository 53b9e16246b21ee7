// Explaining a decision step by step: `icegate policy explain`, and the
// dashboard's "why" view.
//
//   explain_decision(policy, request) --> ExplainTrace
//   render_explain_text / render_explain_json --> what a person or a program reads
//
// The trace evaluates the request itself, rule by rule, following the
// decision procedure in policies/README.md ("Decisions"), so that it can say
// which condition of each rule failed; CompiledPolicy::decide answers the
// same question from bitsets and cannot. The trace also asks decide() and
// records whether the two agree (they must: a test checks it over every node
// pair of the shipped policies), and takes the message's one-sentence reason
// from it, so that explain never words a decision differently from the
// gateway's audit trail.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/model.hpp"
#include "gateway/policy/testing.hpp"

namespace icegate::policy {

// A node as a rule sees it: the facts its matchers test, looked up.
struct ResolvedNode {
  std::string id;
  bool known = false;  // the policy defines a node with this id
  std::string name;
  std::string organisation;
  std::string organisation_kind;
  bool ct_network = false;
  std::string role;
  std::string level;
  std::string vetting;
  std::string regular_ceiling;
  std::string occasional_ceiling;
  std::vector<std::string> categories;  // scheme categories it holds, as written
  std::vector<std::string> lists;       // distribution lists it is a member of, in policy order
  SourceLocation location;
};

// Why a node fails a matcher: the first field, in the order policies/README.md
// lists them (nodes, organisations, organisation_kinds, roles, levels,
// ct_network, lists), that it does not match.
struct MatcherMismatch {
  std::string field;   // "organisation_kinds"
  std::string detail;  // "its organisation kind is ctu, not one of [bcu, npt]"
};

// Resolves nodes of one policy and tests matchers against them. Holds
// pointers into `policy`, which must outlive it.
class NodeDirectory {
 public:
  explicit NodeDirectory(const Policy& policy);

  // An unknown id resolves to a node with known == false.
  ResolvedNode resolve(std::string_view node_id) const;
  // nullopt when `node` matches `matcher`; an unknown node matches nothing.
  std::optional<MatcherMismatch> mismatch(const SubjectMatcher& matcher, const ResolvedNode& node) const;
  bool matches(const SubjectMatcher& matcher, const ResolvedNode& node) const {
    return !mismatch(matcher, node).has_value();
  }

 private:
  const Policy& policy_;
};

struct ExplainPortion {
  std::string id;  // "1", "2", ... unless given
  Label label;
};

// What `explain` is asked: the same fields as a DecisionRequest, owned.
struct ExplainRequest {
  std::string sender;
  std::string recipient;
  std::string category;
  std::string purpose;
  std::vector<ExplainPortion> portions;
  bool occasional_available = false;
};

// The condition of a rule that was tested, in the order the trace tests them.
enum class RuleCondition { none, category, purpose, from, to, min_classification, max_classification };
std::string_view to_string(RuleCondition condition);

// One rule considered for one portion.
struct RuleStep {
  int rule = -1;
  bool applies = false;
  RuleCondition failed = RuleCondition::none;  // the first condition that failed, when !applies
  std::string field;   // "category", "from.organisation_kinds", "max_classification"
  std::string detail;  // "SECRET is above RESTRICTED"
};

enum class ClearanceOutcome {
  not_checked,             // no permit applied (or the label is invalid)
  within_regular,          // at or below the regular ceiling
  occasional_used,         // above regular, within occasional, a release available
  occasional_unavailable,  // above regular, within occasional, none available
  above_clearance,         // above the occasional ceiling
  no_vetting,              // the recipient has no vetting the policy defines
};
std::string_view to_string(ClearanceOutcome outcome);

struct ClearanceStep {
  ClearanceOutcome outcome = ClearanceOutcome::not_checked;
  std::string detail;  // "RESTRICTED is within CTC's regular ceiling CONFIDENTIAL"
};

// One test of step 6: a restrictive category on the label, or a permissive
// tag set some of whose categories are on it. Informative categories are
// listed too, with no effect.
struct CategoryStep {
  std::string subject;  // the category (restrictive, informative) or the tag set (permissive)
  TagSetType type = TagSetType::restrictive;
  bool passes = true;
  std::string detail;  // "council-prevent holds UK EYES ONLY"
};

struct PortionTrace {
  std::string id;
  Label label;
  std::string marking;                      // the display marking
  std::vector<std::string> label_problems;  // step 1; non-empty: invalid, nothing else evaluated
  std::vector<RuleStep> rules;              // step 2: every rule, in file order
  std::vector<int> applicable_denies;       // file order
  std::vector<int> applicable_permits;      // file order
  std::string combining;                    // steps 3-4: how deny-overrides combined them
  ClearanceStep clearance;                  // step 5
  bool categories_checked = false;          // step 6 ran
  std::vector<CategoryStep> categories;
  PortionDecision outcome;  // what the trace concluded (agrees with decide())
};

struct ExplainTrace {
  ExplainRequest request;
  ResolvedNode sender;
  ResolvedNode recipient;
  bool category_defined = false;  // the policy declares the information category
  bool purpose_defined = false;
  std::vector<PortionTrace> portions;

  // The message as a whole, worked out by the trace.
  Decision decision = Decision::deny;
  std::vector<int> rules;                 // every rule that decided a portion, ascending
  std::vector<int> reviewing_rules;       // permit rules with review_by that released a portion
  std::vector<std::string> review_roles;  // sorted, unique
  bool originator_control = false;
  bool no_onward_sharing = false;
  bool used_occasional = false;
  std::string reason;  // the engine's one sentence

  // What CompiledPolicy::decide says, and whether the trace agrees with it
  // portion by portion and as a whole. `disagreements` names each difference.
  PolicyDecision engine;
  bool agrees_with_engine = true;
  std::vector<std::string> disagreements;
};

// Evaluates `request` under `policy` step by step. Never throws for unknown
// names: an unknown sender or recipient matches no rule, an unknown
// category or purpose only rules that name none, as in decide().
ExplainTrace explain_decision(const CompiledPolicy& policy, const ExplainRequest& request);

// The request a test case or a `--request` file states.
ExplainRequest to_explain_request(const PolicyTestRequest& request);

// Human-readable, one step per line, rules with their file:line.
std::string render_explain_text(const CompiledPolicy& policy, const ExplainTrace& trace);
// One JSON object (no trailing newline); the fields mirror ExplainTrace.
std::string render_explain_json(const CompiledPolicy& policy, const ExplainTrace& trace);

}  // namespace icegate::policy

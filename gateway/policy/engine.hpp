// The policy engine's public entry points, one per stage:
//
//   text --parse_policy_file--> syntax tree (with source locations)
//        --validate-----------> Policy (names resolved, all errors collected)
//        --compile------------> CompiledPolicy (interned ids, per-category rule index)
//        --decide-------------> PolicyDecision (per portion, naming the rules)
//
// load_policy() runs the first three and is what the gateway and tools call.
// None of them throws for bad input: problems come back as Diagnostics.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/diagnostics.hpp"
#include "gateway/policy/model.hpp"

namespace icegate::policy {

class CompiledPolicy;

struct LoadResult {
  std::shared_ptr<const CompiledPolicy> policy;  // null when diagnostics has errors
  Diagnostics diagnostics;
};

// Reads, parses, validates and compiles a policy file (and the scheme file it
// names, resolved relative to the policy file's directory).
LoadResult load_policy(const std::filesystem::path& file);
// Same, from text already in memory; `file` names it in diagnostics and is
// the base for a relative scheme path.
LoadResult load_policy_text(std::string_view text, const std::filesystem::path& file);

// Why a portion was withheld (or, for `none`, that it was released).
enum class PortionReason {
  none,
  no_rule_permits,          // default deny: no permit rule matched this portion
  denied_by_rule,           // a deny rule matched (deny-overrides)
  above_clearance,          // above the recipient's regular and occasional ceilings
  occasional_unavailable,   // within the occasional ceiling, but no allowance left
  missing_category,         // recipient lacks a restrictive category / every permissive one
  invalid_label,            // unknown classification or category, or a validity rule broken
};

std::string_view to_string(PortionReason reason);

// How a reason names a request's purpose: the purpose, or "no purpose" for a
// request without one.
std::string_view purpose_phrase(std::string_view purpose);

// The explanation of a default deny when `rule` would have permitted the
// portion but for its classification bounds ("... profile-to-council-restricted
// permits only up to RESTRICTED"). Shared by decide() and explain, which must agree.
std::string out_of_bounds_detail(const Rule& rule, std::string_view classification, std::string_view category,
                                 std::string_view purpose, std::string_view sender, std::string_view recipient);

struct PortionDecision {
  bool released = false;
  PortionReason reason = PortionReason::none;
  // The rule that decided this portion: the deny rule that matched, or the
  // permit rule that allowed it. -1 for default deny and label problems.
  int rule = -1;
  bool occasional = false;  // released under the occasional allowance
  std::string detail;       // human explanation, e.g. "SECRET is above BPSS's ceiling RESTRICTED"
};

struct DecisionRequest {
  std::string_view sender;     // node id
  std::string_view recipient;  // node id
  std::string_view category;   // information category
  std::string_view purpose;
  std::span<const Label> portion_labels;
  // Whether the recipient may use an occasional release for this message; the
  // caller keeps the ledger (policy.occasional) and records the use.
  bool occasional_available = false;
  // Last, so that the positional initialisers of local requests stay as they are.
  // Empty for a local sender. For a message received from a peer: the
  // gateway it was originated at (its binding verified), whose `peers` id
  // rules name in `from: {peers: [...]}`; `sender` is then the originator's
  // id at that gateway, named in explanations only.
  std::string_view sender_gateway;
};

struct PolicyDecision {
  // release, release_redacted or deny; hold when some released portion was
  // released under a permit rule with `review_by` (portions[i].released then
  // says what would be released once a reviewer approves).
  Decision decision = Decision::deny;
  std::vector<PortionDecision> portions;  // one per request.portion_labels
  std::vector<int> rules;                 // every rule that decided some portion, ascending
  std::string reason;                     // one human sentence for the whole
  bool used_occasional = false;
  // From the handling of the permit rules that released some portion:
  std::vector<std::string> review_roles;  // any one of these roles may approve; sorted, unique
  bool originator_control = false;
  bool no_onward_sharing = false;
};

struct Expansion {
  std::vector<std::string> recipients;  // node ids, in policy order, no duplicates
  std::vector<std::string> unresolved;  // addressee names that named nothing (unresolved_name)
};
// "kind:name", as Expansion::unresolved names an addressee, e.g. "organisation:birmingham-cc".
std::string unresolved_name(const Addressee& addressee);

// A policy ready to answer questions. Immutable and safe to share between
// threads; the gateway holds it as shared_ptr<const CompiledPolicy> and swaps
// the pointer atomically on reload.
class CompiledPolicy {
 public:
  explicit CompiledPolicy(Policy policy);
  ~CompiledPolicy();
  CompiledPolicy(const CompiledPolicy&) = delete;
  CompiledPolicy& operator=(const CompiledPolicy&) = delete;

  const Policy& source() const { return policy_; }
  const std::string& version() const { return policy_.version; }

  bool has_node(std::string_view node_id) const;
  const Node* find_node(std::string_view node_id) const;
  const Rule& rule(int index) const { return policy_.rules.at(static_cast<std::size_t>(index)); }

  // Addressees (nodes, roles, lists, organisations) to recipient node ids.
  // The sender is never its own recipient.
  Expansion expand(std::span<const Addressee> addressees, std::string_view sender) const;

  // Every problem with a label under the scheme: unknown classification or
  // category, a category excluded at this classification, a required one absent.
  std::vector<std::string> label_problems(const Label& label) const;
  // The least label dominating all of `labels`: highest classification, union of categories.
  Label least_upper_bound(std::span<const Label> labels) const;
  // Compares classifications by rank; unknown names rank below everything.
  int classification_rank(std::string_view classification) const;
  // "SECRET UK EYES ONLY" per the scheme's display markings.
  std::string display_marking(const Label& label) const;
  // The scheme's colours for a classification ("#rrggbb"; empty when it gives
  // none or the classification is unknown). Views into this policy.
  struct Colours {
    std::string_view colour, text_colour;
  };
  Colours classification_colours(std::string_view classification) const;

  // The decision for one recipient of one message, per portion.
  PolicyDecision decide(const DecisionRequest& request) const;

  // Whether `node` holds `role`; false for an unknown node.
  bool holds_role(std::string_view node, std::string_view role) const;
  // The nodes holding `role`, in policy node order (who may act on a review).
  std::vector<std::string> nodes_with_role(std::string_view role) const;
  // Whether `node` may be shown a portion labelled `label` regardless of any
  // rule: the label is valid, within the node's regular ceiling (never the
  // occasional one), and the node holds its restrictive categories and one of
  // each permissive set's. The gateway uses it to decide what a reviewer sees.
  bool cleared_for(std::string_view node, const Label& label) const;

  // Named events (`events:`) that release embargoed messages.
  bool has_event(std::string_view event) const;
  const EventDef* find_event(std::string_view event) const;
  // Whether `node` may declare that `event` has happened; false when either is unknown.
  bool may_trigger(std::string_view node, std::string_view event) const;

 private:
  struct Index;
  Policy policy_;
  std::unique_ptr<Index> index_;
};

// What `decision` (for `message`'s portions, in order) gives `recipient`: the
// released portions' ids and their least upper bound, each withheld portion
// with its reason and deciding rule, the rules and the reason. Built here once
// for the router's Decider and for a gateway deciding a message that came from
// a peer (gateway/federation/hop.hpp).
RecipientDecision recipient_decision(const CompiledPolicy& policy, const Message& message, std::string recipient,
                                     const PolicyDecision& decision);

}  // namespace icegate::policy

// Policy analysis over the finite decision space: `icegate policy diff`.
//
// A policy's decisions depend on finitely many things: the sender and the
// recipient (through the rules their attributes match, the recipient's
// vetting and the scheme categories it holds), the information category, the
// purpose, each portion's label, and whether an occasional release is
// available. So two policies can be compared exhaustively: every (sender,
// recipient) node pair x every information category x every purpose (and no
// purpose) x every valid label x occasional release available or not.
//
// Deciding every point naively is hundreds of millions of decide() calls for a
// policy with hundreds of nodes, so the space is folded first:
//   - nodes are grouped into classes that every rule treats alike: two nodes
//     are in one sender class when the same rules' `from` match them in both
//     policies, and in one recipient class when the same rules' `to` match
//     them and they have the same vetting and scheme categories in both;
//   - for a (sender class, recipient class, category, purpose) point, the
//     rules that could apply (before classification bounds) are a bitset per
//     policy; where neither policy has an applicable permit, nothing can be
//     released and the point is skipped;
//   - otherwise the outcome of every label is decided once per distinct
//     (applicable rules, recipient clearance) combination with the real
//     decide() (all labels as portions of one request: portions are decided
//     independently) and cached.
// `DiffOptions::exhaustive` turns all of that off and decides every node pair
// one by one; tests use it as the oracle for the folded computation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::policy {

// ---- Labels as text ---------------------------------------------------------

// "SECRET/UK EYES ONLY"; the classification alone when there are no categories
// (one formatter for the whole tree, in gateway/model/message.hpp).
using icegate::label_text;
// ...and the one parser that reads it back (gateway/model/message.hpp).
using icegate::parse_label_text;

// A JSON string literal, quotes included.
std::string json_quote(std::string_view text);

// ---- The label space --------------------------------------------------------

struct LabelSpaceOptions {
  // Each restrictive or permissive tag set contributes a subset of at most
  // this many of its categories; a label combines one such subset per set.
  // Informative categories are left out: they never affect access.
  std::size_t max_categories_per_set = 2;
  bool include_permissive = true;
  // At most this many labels; the rest are dropped and `truncated` is set.
  std::size_t max_labels = 4096;
};

struct LabelSpace {
  std::vector<Label> labels;  // classification rank, then fewer categories first
  bool truncated = false;
};

// Every valid label of `policy`'s scheme within `options`. Each combination is
// closed under `requires` (a required category, informative or not, is added)
// and kept only when the scheme says the result is valid.
LabelSpace enumerate_labels(const CompiledPolicy& policy, const LabelSpaceOptions& options = {});

// ---- Outcomes ---------------------------------------------------------------

// What happens to one portion at one point of the decision space.
enum class FlowState : std::uint8_t {
  withheld,
  occasional,       // released only when an occasional release is available
  released,         // released whether or not one is available
  held_occasional,  // as occasional, but held for a critical reader's review
  held,             // as released, but held for a critical reader's review
};
std::string_view to_string(FlowState state);
// withheld < occasional < released; a held state ranks as its unheld one.
int release_level(FlowState state);
bool is_held(FlowState state);

struct PortionOutcome {
  FlowState state = FlowState::withheld;
  int rule = -1;  // the deciding rule (deny or permit), -1 for default deny or an invalid label
  // Why withheld: with an occasional release available, if the policy's
  // occasional allowance allows any (else without, as at the gateway).
  PortionReason reason = PortionReason::no_rule_permits;
  bool originator_control = false;                        // handling of the releasing rule
  bool no_onward_sharing = false;

  friend bool operator==(const PortionOutcome&, const PortionOutcome&) = default;
};

// Outcome of one portion from the two decisions for a request, without and
// with an occasional release available. Under a policy whose occasional
// allowance is 0 the gateway never has one, so there the outcome is the
// decision without one: never occasional.
PortionOutcome portion_outcome(const CompiledPolicy& policy, const PortionDecision& without_occasional,
                               const PortionDecision& with_occasional);

// ---- Folding the node space (shared by diff and matrix) ---------------------

// Decides points of the decision space for one or more policies over a
// common set of nodes, information categories, purposes and labels, folding
// nodes into classes and caching decisions as described at the top of this
// file. Not thread-safe (the cache); cheap to build.
class DecisionSpace {
 public:
  // `node_ids`, `categories`, `purposes` and `labels` must be defined in
  // every policy (labels valid under every scheme). A purpose may be "" (no
  // purpose: only rules naming no purpose apply).
  DecisionSpace(std::vector<const CompiledPolicy*> policies, std::vector<std::string> node_ids,
                std::vector<std::string> categories, std::vector<std::string> purposes, std::vector<Label> labels);
  ~DecisionSpace();
  DecisionSpace(const DecisionSpace&) = delete;
  DecisionSpace& operator=(const DecisionSpace&) = delete;

  const std::vector<std::string>& node_ids() const;
  const std::vector<std::string>& categories() const;
  const std::vector<std::string>& purposes() const;
  const std::vector<Label>& labels() const;

  // Classes of nodes (indices into node_ids) that decide alike as senders,
  // and as recipients.
  const std::vector<std::vector<int>>& sender_classes() const;
  const std::vector<std::vector<int>>& recipient_classes() const;
  int sender_class_of(int node) const;
  int recipient_class_of(int node) const;

  // Whether `node` is a sender some permit rule of policy `policy` could
  // allow for `category` (its `from` matches and it covers the category).
  bool may_send(std::size_t policy, int node, int category) const;

  // Whether any policy has a permit rule that could apply to the point; when
  // none does, every label is withheld in every policy.
  bool any_permit(int sender_class, int recipient_class, int category, int purpose) const;

  // outcomes[policy][label] for the sender and recipient nodes given (indices
  // into node_ids; they must differ). Every node pair of the same two classes
  // has the same outcomes. Cached; the reference stays valid for the life of
  // the DecisionSpace.
  const std::vector<std::vector<PortionOutcome>>& outcomes(int sender, int recipient, int category, int purpose);

  std::size_t decide_calls() const;  // how many decide() calls the cache missed into

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// ---- Diff -------------------------------------------------------------------

enum class ChangeKind { opened, closed, hold_added, hold_removed, handling_changed };
std::string_view to_string(ChangeKind kind);
// The kind as the text reports (`policy diff`, `policy replay`) head its
// section with: "FLOWS OPENED", "HOLDS REMOVED", ...
std::string_view heading(ChangeKind kind);

// One concrete request showing a change, with both sides' decisions.
struct ChangeExample {
  std::string sender;
  std::string recipient;
  std::string category;
  std::string purpose;  // "" for no purpose
  Label label;
  bool occasional_available = false;
  std::string old_rule;  // the deciding rule id, "" for none (default deny)
  std::string new_rule;
  std::string old_detail;  // the portion's explanation from decide(), "" when released plainly
  std::string new_detail;
  // The handling of the releasing rule ("review by x, originator control, no
  // onward sharing"); "" when withheld or released without any.
  std::string old_handling;
  std::string new_handling;
};

// Every change of one kind between the same two states, for one
// (sender organisation kind/role, recipient organisation kind/role, category).
struct ChangeGroup {
  ChangeKind kind = ChangeKind::opened;
  FlowState old_state = FlowState::withheld;
  FlowState new_state = FlowState::withheld;
  std::string sender;     // "kind/role" of the senders, e.g. "bcu/bcu-commander"
  std::string recipient;  // "kind/role" of the recipients
  std::string category;
  std::vector<std::string> purposes;  // in the order compared; "" is no purpose
  bool all_purposes = false;          // every purpose compared, and no purpose
  std::string lowest_classification;
  std::string highest_classification;
  std::vector<Label> labels;           // the labels affected, in label-space order
  std::size_t node_pairs = 0;          // distinct (sender, recipient) pairs affected
  std::size_t points = 0;              // pairs x purposes x labels affected
  std::vector<std::string> old_rules;  // deciding rule ids on each side, file order; "" = none
  std::vector<std::string> new_rules;
  ChangeExample example;
};

struct LabelValidityChange {
  Label label;
  bool valid_in_old = false;  // and so not in new, or the reverse
};

// A peer in both policies whose accreditation or routing differs
// (`peers:`): each change as one phrase, "holds max_classification OFFICIAL
// -> SECRET", "receives purposes added pursue", "ca /a/ca.crt -> /b/ca.crt".
// Peers are not points of the decision space (the decisions compared are
// node to node), so their changes are listed, not grouped into flows.
struct PeerChange {
  std::string peer;
  std::vector<std::string> changes;
};

// The changes between two versions of one peer, in the order of its keys;
// empty when they are the same.
std::vector<std::string> peer_changes(const Peer& before, const Peer& after);

struct DiffOptions {
  LabelSpaceOptions labels;
  // Decide every node pair directly, without classes or the cache (slow; an
  // oracle for tests).
  bool exhaustive = false;
};

struct PolicyDiff {
  std::string old_file;
  std::string new_file;
  // What was compared.
  std::vector<std::string> nodes;  // in both, in the new policy's order
  std::vector<std::string> categories;
  std::vector<std::string> purposes;  // "" (no purpose) last
  std::vector<Label> labels;          // valid in both
  bool labels_truncated = false;
  std::size_t sender_classes = 0;
  std::size_t recipient_classes = 0;
  std::size_t decide_calls = 0;
  double seconds = 0;
  // What only one side has.
  std::vector<std::string> nodes_only_old, nodes_only_new;
  std::vector<std::string> categories_only_old, categories_only_new;
  std::vector<std::string> purposes_only_old, purposes_only_new;
  std::vector<LabelValidityChange> label_validity;  // labels valid under one scheme only
  std::vector<std::string> peers_only_old, peers_only_new;  // peer ids
  std::vector<PeerChange> peers_changed;                    // in the new policy's order
  // What changed, grouped; ordered by kind, then sender, recipient, category.
  std::vector<ChangeGroup> groups;

  bool equivalent() const;                   // no change (peers included) and nothing only on one side
  std::size_t count(ChangeKind kind) const;  // groups of that kind
};

PolicyDiff diff_policies(const CompiledPolicy& old_policy, const CompiledPolicy& new_policy,
                         const DiffOptions& options = {});

// The report for people: a summary, then each group with its example.
// `limit` caps the groups printed per kind (0: all).
void write_diff_text(std::ostream& out, const PolicyDiff& diff, std::size_t limit = 0);
// The same as one JSON object.
void write_diff_json(std::ostream& out, const PolicyDiff& diff, std::size_t limit = 0);

}  // namespace icegate::policy

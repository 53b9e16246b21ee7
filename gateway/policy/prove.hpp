// Properties proved over a policy's whole decision space: `icegate policy prove`.
//
//   load_properties(file, policy) --> PropertiesFile (V0xx diagnostics, located)
//   prove_properties(policy, file) --> ProofRun (each property holds, fails
//                                      with one counterexample, or is not proved)
//   write_proof_text / write_proof_json --> what a person or a program reads
//
// A property states what must hold at every point of a slice of the decision
// space that `policy diff` enumerates (diff.hpp): every ordered pair of
// different nodes x information category x purpose (and no purpose) x valid
// label x occasional release available or not. The check is exhaustive, never
// sampled: the node space is folded into the classes DecisionSpace builds,
// whose members every rule treats alike, and the label space is the complete
// one (enumerate_complete_labels below), not the bounded one the diff uses.
// When the label space cannot be enumerated within its budget a property for
// which no counterexample was found is reported "not proved", never "holds".
//
// A failing property comes with one counterexample: a single-portion request
// that `icegate policy explain` decides as the counterexample says (the prover
// runs explain_decision on it and records whether it agrees; tests check the
// real command too).
//
// The file format and the kinds of property are documented in
// policies/README.md ("Proving properties"); the JSON Schema is
// policies/policy-properties.schema.json.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/diagnostics.hpp"
#include "gateway/policy/diff.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::policy {

// ---- The complete label space -----------------------------------------------

struct CompleteLabelSpace {
  // One valid label for each distinct (classification, categories that can
  // affect a decision or that a property names), in classification rank
  // order, fewer categories first; see enumerate_complete_labels.
  std::vector<Label> labels;
  std::size_t valid_labels = 0;  // every valid label found, before labels differing only as above were merged
  bool truncated = false;        // the search budget ran out: the space is not complete
};

// Every valid label of the policy's scheme: every subset of the scheme's
// categories at every classification, searched depth first, with the checks
// that only ever get worse as categories are added (excluded at the
// classification, excluded by a category present, a tag set's max_selection)
// pruning, and label_problems() deciding validity at each leaf. A search of
// more than `budget` steps stops and sets `truncated`.
//
// Labels that differ only in informative categories not in `kept` are merged
// (the first, with fewest categories, stands for the others): decide() reads a
// valid label only through its classification's rank and its restrictive and
// permissive categories (policies/README.md, "Decisions", steps 2-6), so such
// labels are decided identically for every request.
CompleteLabelSpace enumerate_complete_labels(const CompiledPolicy& policy, std::span<const std::string> kept,
                                             std::size_t budget = std::size_t{1} << 22);

// ---- Properties files -------------------------------------------------------

enum class PropertyKind { never_released, always_released, confined, implies, no_dead_rules };
std::string_view to_string(PropertyKind kind);  // "never_released", as the file writes it

// Whether a release held for a critical reader's review counts as a release
// (the default: it is what goes once a reviewer approves) or as withheld.
enum class HeldCountsAs { released, withheld };

// A slice of the decision space. Every field left empty selects everything.
struct PropertySlice {
  SubjectMatcher from;  // senders, with the matcher semantics of a rule's `from`
  SubjectMatcher to;    // recipients
  std::vector<std::string> categories;  // information categories
  std::optional<std::vector<std::string>> purposes;  // nullopt: every purpose
  bool no_purpose = true;  // requests without a purpose are in the slice
  std::optional<std::string> min_classification;
  std::optional<std::string> max_classification;
  std::vector<std::string> with_categories;     // labels carrying every one of these scheme categories
  std::vector<std::string> without_categories;  // labels carrying none of these
  std::optional<bool> occasional_available;     // nullopt: with and without
};

struct Property {
  std::string name;
  std::string description;
  SourceLocation location;  // the property's entry
  PropertyKind kind = PropertyKind::never_released;
  SourceLocation kind_location;  // the kind's key
  PropertySlice slice;
  HeldCountsAs held = HeldCountsAs::released;
  std::string category;  // confined: the scheme category
  // implies: the other policy, resolved against the properties file's
  // directory, and loaded.
  std::filesystem::path other_file;
  std::shared_ptr<const CompiledPolicy> other;
  std::vector<std::string> rules;  // no_dead_rules: the permit rules to check; empty = every permit rule
};

struct PropertiesFile {
  std::filesystem::path file;
  std::string description;
  std::vector<Property> properties;  // those that read cleanly, in file order
  Diagnostics diagnostics;           // V0xx; and P0xx of an `implies` policy that is invalid
  bool other_policy_invalid = false;  // an `implies` policy has errors (P0xx in diagnostics)
  bool ok() const { return !diagnostics.has_errors(); }
};

// Reads a properties file written for `policy`: its shape, and every name it
// uses (nodes, organisations, organisation kinds, roles, levels, lists,
// information categories, purposes, classifications, scheme categories, rules)
// against the policy. Every problem is reported, located. Never throws.
PropertiesFile load_properties(const std::filesystem::path& file, const CompiledPolicy& policy);
PropertiesFile load_properties_text(std::string_view text, const std::filesystem::path& file,
                                    const CompiledPolicy& policy);

// Where `icegate policy prove POLICY` looks for properties when none are
// given: tests/<stem>.properties.yaml beside the policy.
std::filesystem::path default_properties_file(const std::filesystem::path& policy_file);

// ---- Proving ----------------------------------------------------------------

enum class PropertyStatus { holds, fails, not_proved };
std::string_view to_string(PropertyStatus status);

// One side of a counterexample: what `icegate policy explain` says of the
// request under one policy.
struct CounterexampleSide {
  std::string policy_file;          // as given to the prover
  bool occasional_available = false;  // --occasional (only under a policy that allows occasional releases)
  Decision decision = Decision::deny;
  std::string rule;    // the rule that decided the portion, "" for default deny or an invalid label
  std::string detail;  // the portion's explanation from decide(), "" when released plainly
  std::string explain_command;  // `icegate policy explain ...`, quoted for a POSIX shell
  std::vector<std::string> explain_arguments;  // the same, one argument each, after `icegate`
  bool explain_agrees = false;  // explain_decision decided it so, and agrees with decide()
};

// A single-portion request at which the property fails.
struct Counterexample {
  std::string sender;
  std::string recipient;
  std::string category;
  std::string purpose;  // "" for no purpose
  Label label;
  CounterexampleSide decided;               // under the policy proved
  std::optional<CounterexampleSide> other;  // implies: under the other policy
};

struct DeadRule {
  std::string id;
  SourceLocation location;
  // Points the rule decided (every one of them withheld, by clearance or
  // categories); 0 when it decides none (overridden, out of bounds, or never
  // applies).
  std::size_t decided_points = 0;
};

struct PropertyResult {
  std::string name;
  PropertyKind kind = PropertyKind::never_released;
  SourceLocation location;
  PropertyStatus status = PropertyStatus::holds;
  std::string message;         // why it fails or is not proved; what it held over when it holds
  std::size_t points = 0;      // points of the slice checked
  std::size_t failing_points = 0;
  std::vector<DeadRule> dead_rules;  // no_dead_rules
  std::optional<Counterexample> counterexample;
};

struct ProveOptions {
  std::size_t label_budget = std::size_t{1} << 22;  // enumerate_complete_labels' search budget
  // Decide every node pair directly, without classes or the cache (slow; an
  // oracle for tests).
  bool exhaustive = false;
  // How explain commands name the policy proved; its file when empty.
  std::string policy_display;
};

struct ProofRun {
  std::string policy_file;
  std::string properties_file;
  std::size_t nodes = 0;
  std::size_t categories = 0;
  std::size_t purposes = 0;  // declared purposes; no purpose is one more
  std::size_t labels = 0;    // decided (distinct as enumerate_complete_labels merges them)
  std::size_t valid_labels = 0;
  bool labels_truncated = false;
  bool occasional = false;  // points with an occasional release available exist
  std::size_t sender_classes = 0;
  std::size_t recipient_classes = 0;
  std::size_t decide_calls = 0;
  double seconds = 0;
  std::vector<PropertyResult> results;  // one per property, in file order
  // V014 (a property's slice selects no point) and V015 (a counterexample
  // that explain decides differently: a bug in the prover, never expected).
  Diagnostics diagnostics;

  std::size_t count(PropertyStatus status) const;
  bool all_hold() const { return count(PropertyStatus::holds) == results.size(); }
};

ProofRun prove_properties(const CompiledPolicy& policy, const PropertiesFile& properties,
                          const ProveOptions& options = {});

// The report for people: what was searched, then each property with its
// counterexample as a ready-to-run `icegate policy explain` command.
void write_proof_text(std::ostream& out, const ProofRun& run);
// The same as one JSON object.
void write_proof_json(std::ostream& out, const ProofRun& run);

}  // namespace icegate::policy

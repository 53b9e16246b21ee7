// The validated policy: what an information sharing protocol says, as data.
//
// Produced by validate() from the syntax tree; every name in it has been
// resolved and checked. Immutable once built and shared as
// shared_ptr<const Policy>. Each element keeps its source location so that
// decisions, `policy check` and `policy explain` can point at the file.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/policy/diagnostics.hpp"

namespace icegate::policy {

// ---- Label scheme (SPIF-like) ----------------------------------------------

struct Classification {
  std::string name;         // "SECRET"; never contains '/', which separates a label's parts
  std::string marking;      // display marking, defaults to name
  std::string colour;       // background, "#rrggbb"
  std::string text_colour;  // foreground, "#rrggbb"
  int rank = 0;             // 0 = lowest
  // Categories every label at this classification must carry (SPIF
  // requiredCategory on a securityClassification), as for a Category.
  std::vector<std::string> requires_categories;
  std::vector<std::vector<std::string>> requires_any_of;
  std::vector<std::vector<std::string>> requires_exactly_one_of;
  SourceLocation location;
};

// How a recipient's categories are tested against a label's (Open XML SPIF):
// restrictive: the recipient must hold every category of this set on the label;
// permissive: the recipient must hold at least one of them;
// informative: shown on the marking, no effect on access.
enum class TagSetType { restrictive, permissive, informative };

// A category's validity rules are those of an Open XML SPIF tagCategory:
// excludedClass (and requiredClass, its complement) is `excluded_at`;
// requiredCategory is `requires` (operation all), `requires_any_of`
// (oneOrMore) or `requires_exactly_one_of` (onlyOne); excludedCategory is `excludes`.
struct Category {
  std::string name;     // "UK EYES ONLY"; never contains '/', which separates a label's parts
  std::string marking;  // defaults to name
  std::string tag_set;  // the set it belongs to
  std::vector<std::string> excluded_at;  // classifications it may not appear at
  std::vector<std::string> requires_categories;  // categories that must accompany it
  // Groups of categories: at least one of each group must accompany it.
  std::vector<std::vector<std::string>> requires_any_of;
  // Groups of categories: exactly one of each group must accompany it.
  std::vector<std::vector<std::string>> requires_exactly_one_of;
  std::vector<std::string> excludes;  // categories that may not accompany it
  SourceLocation location;
};

struct TagSet {
  std::string name;
  TagSetType type = TagSetType::restrictive;
  std::vector<std::string> categories;
  // At most this many of its categories on one label; 0 for no limit
  // (SPIF singleSelection is 1, maxSelection is the number).
  int max_selection = 0;
  // How its categories on a label are displayed (SPIF markingQualifier):
  // prefix, the categories' markings joined by the separator, suffix.
  std::string marking_prefix;
  std::string marking_separator = " ";
  std::string marking_suffix;
  SourceLocation location;
};

// ---- Equivalences with another scheme ---------------------------------------
//
// How this scheme's labels are written under another scheme (Open XML SPIF
// equivalentPolicy / equivalentClassification / equivalentSecCategoryTag,
// "applied" encrypt): declared by the scheme that is translated from, so that
// `icegate label translate` and a gateway accepting this scheme never guess.

enum class EquivalenceKind {
  exact,   // maps to exactly one name of the other scheme
  one_of,  // may be any of several: a person must choose, so no faithful mapping
  none,    // has no counterpart: no faithful mapping
};

struct EquivalenceName {
  std::string name;  // a name of the other scheme, checked when both schemes are loaded
  SourceLocation location;
};

struct EquivalenceMapping {
  std::string name;  // a classification or category of this scheme
  EquivalenceKind kind = EquivalenceKind::none;
  std::vector<EquivalenceName> targets;  // one for exact, two or more for one_of, none for none
  std::string note;                      // why (required for none: it is what a refused sender reads)
  SourceLocation location;
};

struct SchemeEquivalence {
  std::string to;  // the other scheme's name
  std::string description;
  std::vector<EquivalenceMapping> classifications;
  std::vector<EquivalenceMapping> categories;
  SourceLocation location;

  const EquivalenceMapping* classification(std::string_view name) const;
  const EquivalenceMapping* category(std::string_view name) const;
};

struct LabelScheme {
  std::string name;  // "gpms-2008"
  std::string description;
  std::vector<Classification> classifications;  // ordered lowest first
  std::vector<TagSet> tag_sets;
  std::vector<Category> categories;
  std::vector<SchemeEquivalence> equivalences;

  const SchemeEquivalence* equivalence_to(std::string_view scheme) const;
};

// ---- Who --------------------------------------------------------------------

// A vetting level and what it allows: the regular ceiling for day-to-day
// access and the occasional ceiling for the odd release above it (para 80: BPSS
// suffices to see SECRET material on an occasional basis).
struct Vetting {
  std::string name;  // "BPSS"
  std::string regular_ceiling;
  std::string occasional_ceiling;
  SourceLocation location;
};

struct OccasionalAllowance {
  int releases = 0;  // how many releases above the regular ceiling...
  std::chrono::seconds window{0};  // ...a node may receive in this window
};

struct Organisation {
  std::string id;
  std::string name;
  std::string kind;         // "ctu", "council", "npt", "iag", ...
  bool ct_network = false;  // below the waterline
  SourceLocation location;
};

struct Role {
  std::string id;
  std::string name;
  std::string level;  // one of Policy::levels
  SourceLocation location;
};

struct Node {
  std::string id;  // = certificate Common Name
  std::string name;
  std::string organisation;
  std::string role;
  std::string vetting;
  std::vector<std::string> categories;  // categories the holder is cleared for
  SourceLocation location;
};

// ---- Other gateways ---------------------------------------------------------
//
// A peer is another icegate gateway this one exchanges messages with
// (docs/FEDERATION.md). Its accreditation is what this gateway lets it have:
// every hop checks a portion against the next peer's before it leaves.

// What a peer may hold: its label must dominate a portion's (classification
// at or below the ceiling, every category of the portion in `categories`).
struct PeerHolds {
  std::string max_classification;       // a classification of this policy's scheme
  std::vector<std::string> categories;  // scheme categories; empty: only labels without categories
  SourceLocation location;
};

// What a peer may be sent: an information category and a purpose, both listed.
// Unlike a rule's lists, empty here means none, not any.
struct PeerReceives {
  std::vector<std::string> categories;  // information categories
  std::vector<std::string> purposes;
  SourceLocation location;
};

// The names on the far side that a peer is the next hop for (the routing):
// an addressee of one of these kinds with one of these names, which is not
// this gateway's own, goes to this peer.
struct PeerSpeaksFor {
  std::vector<std::string> organisations;
  std::vector<std::string> nodes;
  std::vector<std::string> roles;
  SourceLocation location;
};

struct Peer {
  std::string id;       // = the peer gateway's certificate Common Name
  std::string address;  // "host:port" this gateway dials; empty: the peer dials this one
  std::string ca;       // the peer's CA certificate file, resolved against the policy file's directory
  SourceLocation ca_location;  // of the `ca` value, for problems with the file
  PeerHolds holds;
  PeerReceives receives;
  PeerSpeaksFor speaks_for;
  SourceLocation location;
};

struct DistributionList {
  std::string id;
  std::string name;
  std::vector<std::string> nodes;
  std::vector<std::string> roles;  // every node holding one of these roles
  SourceLocation location;
};

// ---- Need-to-share rules ----------------------------------------------------

// Matches a node. Every non-empty field must match (AND); within a field any
// listed value matches (OR). An empty matcher matches every node.
struct SubjectMatcher {
  std::vector<std::string> nodes;
  std::vector<std::string> organisations;
  std::vector<std::string> organisation_kinds;
  std::vector<std::string> roles;
  std::vector<std::string> levels;
  std::optional<bool> ct_network;
  std::vector<std::string> lists;  // member of one of these distribution lists
  // A rule's `from` only: other gateways (`peers:` ids). Such a matcher
  // matches a message that arrived from a peer and was originated at one of
  // these gateways (its label binding verified), and never a local node; a
  // matcher without it never matches a remote sender (docs/FEDERATION.md,
  // "Who sent it: a remote sender in a rule"). Alone in its matcher (P056).
  std::vector<std::string> peers;
};

enum class Effect { permit, deny };

// How what a permit rule releases must be handled: the "how it will be
// handled" of an information sharing protocol (para 66).
struct RuleHandling {
  // A critical reader review (Gateway Protocol, case study 3): a release under
  // the rule waits until a node holding one of these roles approves it.
  std::vector<std::string> review_by;
  // Caveats attached to what the rule releases; the gateway merges them with
  // the message's own handling.
  bool originator_control = false;  // onward release needs the originator's consent
  bool no_onward_sharing = false;   // recipients may not re-send it at all
  SourceLocation location;          // of the `handling:` mapping, when written

  bool requires_review() const { return !review_by.empty(); }
};

struct Rule {
  std::string id;
  Effect effect = Effect::permit;
  std::string description;
  std::vector<std::string> categories;  // information categories; empty = any
  std::vector<std::string> purposes;    // empty = any
  SubjectMatcher from;
  SubjectMatcher to;
  // Portion conditions: a rule applies to a portion whose classification lies
  // in [min_classification, max_classification] (either bound optional).
  std::optional<std::string> min_classification;
  std::optional<std::string> max_classification;
  RuleHandling handling;  // permit rules only
  SourceLocation location;
};

// A named event that releases messages embargoed until it (an operation
// starting, an arrest being made), and who may declare that it has happened.
struct EventDef {
  std::string id;  // "operation-start"
  std::string description;
  SubjectMatcher triggered_by;
  SourceLocation location;
};

enum class CombiningAlgorithm { deny_overrides };

class CompiledPolicy;

// A scheme whose labels the policy accepts on submitted messages (the
// policy's `accept_schemes:`), translated into the policy's own scheme by the
// scheme's `equivalences:` before any decision. Loaded as a scheme-only
// policy (load_scheme) so that its labels can be checked too.
struct AcceptedScheme {
  std::string file;  // as loaded, relative paths resolved
  std::shared_ptr<const CompiledPolicy> scheme;
  SourceLocation location;  // of the entry in `accept_schemes:`
};

struct Policy {
  std::string name;
  std::string description;
  std::string file;     // the file it was read from
  std::string version;  // "sha256:<hex>" of the policy file and its scheme file
  LabelScheme scheme;
  std::vector<std::string> levels;  // "strategic", "tactical", "delivery"
  std::vector<Vetting> vetting;
  OccasionalAllowance occasional;
  std::vector<Organisation> organisations;
  std::vector<Role> roles;
  std::vector<Node> nodes;
  std::vector<DistributionList> lists;
  std::vector<std::string> information_categories;
  std::vector<std::string> purposes;
  CombiningAlgorithm combining = CombiningAlgorithm::deny_overrides;
  std::vector<Rule> rules;
  std::vector<EventDef> events;
  std::vector<Peer> peers;  // other gateways, in file order (the first that speaks for a name routes it)
  std::vector<AcceptedScheme> accepted_schemes;  // filled by the loader

  // The accepted scheme named `scheme`, or null.
  const CompiledPolicy* accepted_scheme(std::string_view scheme) const;
};

}  // namespace icegate::policy

// check_policy: the loader's errors, then warnings from an exact analysis of
// the loaded policy over its finite decision space.
//
// A rule applies to a set of requests that is a product: senders (its `from`)
// x recipients (its `to`) x information categories x purposes x a range of
// classifications. The analyses below enumerate the small factors
// (category, purpose, classification: tens to hundreds of triples) and treat
// the node pairs as bitsets, so a policy with hundreds of nodes and rules is
// checked in well under a second. A node never sends to itself (the gateway
// never makes the sender its own recipient), so pairs (n, n) are left out.
#include "gateway/policy/check.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "gateway/model/json_value.hpp"
#include "gateway/policy/explain.hpp"
#include "gateway/policy/parser.hpp"
#include "gateway/policy/peers.hpp"

namespace icegate::policy {
namespace {

// ---- A set of node indices ------------------------------------------------------------

class NodeSet {
 public:
  NodeSet() = default;
  explicit NodeSet(std::size_t size) : size_(size), words_((size + 63) / 64, 0) {}

  void set(std::size_t i) { words_[i >> 6] |= std::uint64_t{1} << (i & 63); }
  void reset(std::size_t i) { words_[i >> 6] &= ~(std::uint64_t{1} << (i & 63)); }
  bool test(std::size_t i) const { return ((words_[i >> 6] >> (i & 63)) & 1) != 0; }
  std::size_t size() const { return size_; }
  std::size_t count() const {
    std::size_t total = 0;
    for (std::uint64_t word : words_) total += static_cast<std::size_t>(__builtin_popcountll(word));
    return total;
  }
  bool none() const {
    return std::all_of(words_.begin(), words_.end(), [](std::uint64_t word) { return word == 0; });
  }
  // The only member, or -1 when there are none or several.
  int single() const { return count() == 1 ? first() : -1; }
  int first() const {
    for (std::size_t w = 0; w < words_.size(); ++w) {
      if (words_[w] != 0) return static_cast<int>(w * 64 + static_cast<std::size_t>(__builtin_ctzll(words_[w])));
    }
    return -1;
  }
  NodeSet& operator|=(const NodeSet& other) {
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] |= other.words_[w];
    return *this;
  }
  NodeSet& operator&=(const NodeSet& other) {
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] &= other.words_[w];
    return *this;
  }
  NodeSet& subtract(const NodeSet& other) {
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] &= ~other.words_[w];
    return *this;
  }
  bool intersects(const NodeSet& other) const {
    for (std::size_t w = 0; w < words_.size(); ++w) {
      if ((words_[w] & other.words_[w]) != 0) return true;
    }
    return false;
  }

 private:
  std::size_t size_ = 0;
  std::vector<std::uint64_t> words_;
};

std::string quoted_list(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " and " : ", ";
    text += "'" + names[i] + "'";
  }
  return text;
}

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// ---- Where to point -------------------------------------------------------------------

// Finds the exact key or list entry a warning is about in the policy file's
// syntax tree; falls back to the element's own location.
class Locator {
 public:
  Locator(const Policy& policy, std::string_view text) {
    if (text.empty()) return;
    ParseResult parsed = parse_policy_file(text, policy.file);
    if (parsed.root && parsed.root->is_mapping()) root_ = std::move(parsed.root);
  }

  // The `key:` of the rule with this id, else the rule.
  SourceLocation rule_key(const Rule& rule, std::string_view key) const {
    if (const SyntaxNode* entry = entry_with_id("rules", "id", rule.id)) {
      if (const SyntaxEntry* found = entry->find_entry(key)) return found->key_location;
    }
    return rule.location;
  }
  SourceLocation event_key(const EventDef& event, std::string_view key) const {
    if (const SyntaxNode* entry = entry_with_id("events", "id", event.id)) {
      if (const SyntaxEntry* found = entry->find_entry(key)) return found->key_location;
    }
    return event.location;
  }
  // An entry of a top-level list of strings (information_categories, purposes).
  SourceLocation list_item(std::string_view section, std::string_view value, const std::string& file) const {
    if (root_) {
      if (const SyntaxNode* list = root_->find(section)) {
        for (const SyntaxNode& item : list->items) {
          if (item.is_scalar() && item.text == value) return item.location;
        }
        return list->location;
      }
    }
    return SourceLocation{file, 0, 0};
  }
  // A category in a node's `categories:`, else the node.
  SourceLocation node_category(const Node& node, std::string_view category) const {
    if (const SyntaxNode* entry = entry_with_id("nodes", "id", node.id)) {
      if (const SyntaxNode* categories = entry->find("categories")) {
        for (const SyntaxNode& item : categories->items) {
          if (item.is_scalar() && item.text == category) return item.location;
        }
      }
    }
    return node.location;
  }

 private:
  const SyntaxNode* entry_with_id(std::string_view section, std::string_view key, std::string_view id) const {
    if (!root_) return nullptr;
    const SyntaxNode* list = root_->find(section);
    if (!list || !list->is_sequence()) return nullptr;
    for (const SyntaxNode& item : list->items) {
      const SyntaxNode* value = item.is_mapping() ? item.find(key) : nullptr;
      if (value && value->is_scalar() && value->text == id) return &item;
    }
    return nullptr;
  }

  std::optional<SyntaxNode> root_;
};

// ---- The decision space ---------------------------------------------------------------

struct RuleSpace {
  NodeSet from;                // senders it matches
  NodeSet to;                  // recipients it matches
  std::vector<char> category;  // by information category index
  std::vector<char> purpose;   // by purpose index
  int min_rank = 0;            // inclusive, within the scheme's ranks
  int max_rank = -1;
  bool deny = false;
  bool never_applies = false;  // W001

  bool at(std::size_t c, std::size_t p, int rank) const {
    return category[c] && purpose[p] && rank >= min_rank && rank <= max_rank;
  }
};

class Analyser {
 public:
  Analyser(const CompiledPolicy& compiled, std::string_view text)
      : compiled_(compiled), policy_(compiled.source()), locate_(policy_, text), directory_(policy_) {
    build();
  }

  Diagnostics run() {
    rules_that_never_apply();
    shadowed_rules();
    clearances_never_met();
    unused_roles_and_lists();
    unreceivable_categories();
    unused_vetting();
    scheme_label_combinations();
    node_categories_never_receivable();
    events_nobody_triggers();
    peers_that_receive_nothing();
    return std::move(out_);
  }

 private:
  // ---- Building the space ----

  void build() {
    const std::size_t node_count = policy_.nodes.size();
    resolved_.reserve(node_count);
    for (const Node& node : policy_.nodes) resolved_.push_back(directory_.resolve(node.id));
    occasional_rank_.assign(node_count, -1);
    for (std::size_t n = 0; n < node_count; ++n) {
      const ResolvedNode& node = resolved_[n];
      if (node.vetting.empty() || node.regular_ceiling.empty()) continue;
      occasional_rank_[n] = std::max(compiled_.classification_rank(node.regular_ceiling),
                                     compiled_.classification_rank(node.occasional_ceiling));
    }
    // A policy that declares no information categories (or purposes) still
    // decides requests that carry one: model "any" as a single value.
    categories_ = policy_.information_categories;
    if (categories_.empty()) categories_.push_back({});
    purposes_ = policy_.purposes;
    if (purposes_.empty()) purposes_.push_back({});
    rank_count_ = static_cast<int>(policy_.scheme.classifications.size());

    for (const Rule& rule : policy_.rules) {
      RuleSpace space;
      space.deny = rule.effect == Effect::deny;
      space.from = matching(rule.from);
      space.to = matching(rule.to);
      for (const std::string& category : categories_) {
        space.category.push_back(rule.categories.empty() || contains(rule.categories, category));
      }
      for (const std::string& purpose : purposes_) {
        space.purpose.push_back(rule.purposes.empty() || contains(rule.purposes, purpose));
      }
      space.min_rank = rule.min_classification ? compiled_.classification_rank(*rule.min_classification) : 0;
      space.max_rank = rule.max_classification ? compiled_.classification_rank(*rule.max_classification)
                                               : rank_count_ - 1;
      const int single_from = space.from.single();
      space.never_applies = space.from.none() || space.to.none() ||
                            (single_from >= 0 && space.to.single() == single_from);
      rules_.push_back(std::move(space));
    }
  }

  NodeSet matching(const SubjectMatcher& matcher) const {
    NodeSet set(policy_.nodes.size());
    for (std::size_t n = 0; n < resolved_.size(); ++n) {
      if (directory_.matches(matcher, resolved_[n])) set.set(n);
    }
    return set;
  }

  // Calls visit(c, p, rank) for every triple at which `rule` applies.
  template <typename Visit>
  bool every_triple(const RuleSpace& rule, Visit visit) const {
    for (std::size_t c = 0; c < categories_.size(); ++c) {
      if (!rule.category[c]) continue;
      for (std::size_t p = 0; p < purposes_.size(); ++p) {
        if (!rule.purpose[p]) continue;
        for (int rank = std::max(rule.min_rank, 0); rank <= std::min(rule.max_rank, rank_count_ - 1); ++rank) {
          if (!visit(c, p, rank)) return false;
        }
      }
    }
    return true;
  }

  const std::string& file() const { return policy_.file; }

  // ---- W001 ----

  void rules_that_never_apply() {
    for (std::size_t r = 0; r < rules_.size(); ++r) {
      const RuleSpace& space = rules_[r];
      const Rule& rule = policy_.rules[r];
      // A `from` naming peers matches senders at other gateways, never a node
      // (docs/FEDERATION.md): it applies when such a message arrives.
      if (space.from.none() && rule.from.peers.empty()) {
        out_.warning(Code::W001, locate_.rule_key(rule, "from"),
                     fmt::format("rule '{}' never applies: its 'from' matches no node", rule.id), {.rule = rule.id});
      }
      if (space.to.none()) {
        out_.warning(Code::W001, locate_.rule_key(rule, "to"),
                     fmt::format("rule '{}' never applies: its 'to' matches no node", rule.id), {.rule = rule.id});
      }
      if (!space.from.none() && !space.to.none() && space.never_applies) {
        out_.warning(Code::W001, rule.location,
                     fmt::format("rule '{}' never applies: 'from' and 'to' both match only node '{}', and a node "
                                 "never sends to itself",
                                 rule.id, policy_.nodes[static_cast<std::size_t>(space.from.first())].id),
                     {.rule = rule.id});
      }
    }
  }

  // ---- W002 ----

  // Whether the rules `covering` decide every node pair `rule` applies to
  // (at one category, purpose and classification); `deciders` collects the
  // ones that actually decide some pair (denies first, then permits, each in
  // file order: the order deny-overrides names them in).
  bool covers(const RuleSpace& rule, std::vector<int> covering, std::set<int>& deciders) const {
    std::stable_sort(covering.begin(), covering.end(), [this](int a, int b) {
      return rules_[static_cast<std::size_t>(a)].deny && !rules_[static_cast<std::size_t>(b)].deny;
    });
    bool covered = true;
    for (std::size_t s = 0; s < policy_.nodes.size(); ++s) {
      if (!rule.from.test(s)) continue;
      NodeSet undecided = rule.to;  // recipients no covering rule has decided yet
      undecided.reset(s);
      for (int q : covering) {
        const RuleSpace& other = rules_[static_cast<std::size_t>(q)];
        if (!other.from.test(s) || !undecided.intersects(other.to)) continue;
        deciders.insert(q);
        undecided.subtract(other.to);
      }
      if (!undecided.none()) covered = false;
    }
    return covered;
  }

  void shadowed_rules() {
    for (std::size_t r = 0; r < rules_.size(); ++r) {
      const RuleSpace& rule = rules_[r];
      if (rule.never_applies) continue;
      // Who decides instead: for a deny, an earlier deny (the first deny is
      // named); for a permit, any deny (deny overrides) or an earlier permit.
      std::vector<int> candidates;
      for (std::size_t q = 0; q < rules_.size(); ++q) {
        if (q == r || rules_[q].never_applies) continue;
        if (rule.deny ? (rules_[q].deny && q < r) : (rules_[q].deny || q < r)) candidates.push_back(static_cast<int>(q));
      }
      if (candidates.empty()) continue;
      std::map<std::vector<int>, bool> memo;
      std::set<int> contributors;
      const bool shadowed = every_triple(rule, [&](std::size_t c, std::size_t p, int rank) {
        std::vector<int> covering;
        for (int q : candidates) {
          if (rules_[static_cast<std::size_t>(q)].at(c, p, rank)) covering.push_back(q);
        }
        auto found = memo.find(covering);
        if (found == memo.end()) found = memo.emplace(covering, covers(rule, covering, contributors)).first;
        return found->second;
      });
      if (!shadowed) continue;
      std::vector<std::string> denies;
      std::vector<std::string> permits;
      for (int q : contributors) {
        const Rule& other = policy_.rules[static_cast<std::size_t>(q)];
        (other.effect == Effect::deny ? denies : permits).push_back(other.id);
      }
      std::string by;
      if (!permits.empty()) by += fmt::format("earlier permit {}", quoted_list(permits));
      if (!denies.empty()) {
        if (!by.empty()) by += " and ";
        by += fmt::format("{}deny {}", rule.deny ? "earlier " : "", quoted_list(denies));
      }
      const Rule& source = policy_.rules[r];
      // Related: the first of the rules that decide instead, in file order.
      std::optional<SourceLocation> first_decider;
      if (!contributors.empty()) {
        first_decider = policy_.rules[static_cast<std::size_t>(*contributors.begin())].location;
      }
      out_.warning(Code::W002, source.location,
                   fmt::format("rule '{}' is shadowed: every request it applies to is already decided by {}, so it "
                               "never decides a portion",
                               source.id, by),
                   {.rule = source.id, .related = first_decider});
    }
  }

  // ---- W007 ----

  void clearances_never_met() {
    for (std::size_t r = 0; r < rules_.size(); ++r) {
      const RuleSpace& rule = rules_[r];
      const Rule& source = policy_.rules[r];
      if (rule.deny || rule.never_applies || !source.min_classification) continue;
      int highest = -1;
      std::size_t highest_node = 0;
      for (std::size_t t = 0; t < policy_.nodes.size(); ++t) {
        if (!rule.to.test(t)) continue;
        if (occasional_rank_[t] > highest) {
          highest = occasional_rank_[t];
          highest_node = t;
        }
      }
      if (highest >= rule.min_rank) continue;
      const ResolvedNode& best = resolved_[highest_node];
      out_.warning(Code::W007, locate_.rule_key(source, "min_classification"),
                   fmt::format("rule '{}' can never release anything: it applies only at {} and above, which is "
                               "above the occasional ceiling of every node its 'to' matches (the highest is {}, "
                               "{}'s vetting {})",
                               source.id, *source.min_classification,
                               highest < 0 ? std::string("none") : best.occasional_ceiling, best.id, best.vetting),
                   {.rule = source.id});
    }
  }

  // ---- W003, W004 ----

  void unused_roles_and_lists() {
    for (const Role& role : policy_.roles) {
      const bool held = std::any_of(policy_.nodes.begin(), policy_.nodes.end(),
                                    [&](const Node& node) { return node.role == role.id; });
      if (held) continue;
      std::vector<std::string> users;
      for (const Rule& rule : policy_.rules) {
        if (contains(rule.from.roles, role.id) || contains(rule.to.roles, role.id)) users.push_back("rule " + rule.id);
      }
      for (const DistributionList& list : policy_.lists) {
        if (contains(list.roles, role.id)) users.push_back("list " + list.id);
      }
      for (const EventDef& event : policy_.events) {
        if (contains(event.triggered_by.roles, role.id)) users.push_back("event " + event.id);
      }
      out_.warning(Code::W003, role.location,
                   fmt::format("role '{}' is held by no node{}", role.id,
                               users.empty() ? std::string()
                                             : fmt::format(", so it adds no one where it is named ({})",
                                                           fmt::join(users, ", "))));
    }
    for (const DistributionList& list : policy_.lists) {
      if (!list.nodes.empty()) continue;
      const bool has_member = std::any_of(policy_.nodes.begin(), policy_.nodes.end(),
                                          [&](const Node& node) { return contains(list.roles, node.role); });
      if (has_member) continue;
      out_.warning(Code::W004, list.location,
                   list.roles.empty()
                       ? fmt::format("distribution list '{}' is empty: it names no nodes and no roles", list.id)
                       : fmt::format("distribution list '{}' has no members: no node holds any of its roles", list.id));
    }
  }

  // ---- W005 ----

  void unreceivable_categories() {
    if (policy_.information_categories.empty()) return;
    const std::size_t node_count = policy_.nodes.size();
    // cleared[rank]: nodes whose occasional ceiling is at or above rank.
    std::vector<NodeSet> cleared(static_cast<std::size_t>(std::max(rank_count_, 0)), NodeSet(node_count));
    for (std::size_t n = 0; n < node_count; ++n) {
      for (int rank = 0; rank <= occasional_rank_[n] && rank < rank_count_; ++rank) {
        cleared[static_cast<std::size_t>(rank)].set(n);
      }
    }
    for (std::size_t c = 0; c < policy_.information_categories.size(); ++c) {
      std::vector<std::string> covering;
      for (std::size_t r = 0; r < rules_.size(); ++r) {
        if (!rules_[r].deny && rules_[r].category[c]) covering.push_back(policy_.rules[r].id);
      }
      bool receivable = false;
      for (std::size_t p = 0; p < purposes_.size() && !receivable; ++p) {
        for (int rank = 0; rank < rank_count_ && !receivable; ++rank) {
          for (std::size_t s = 0; s < node_count && !receivable; ++s) {
            NodeSet permitted(node_count);
            NodeSet denied(node_count);
            for (const RuleSpace& rule : rules_) {
              if (!rule.at(c, p, rank) || !rule.from.test(s)) continue;
              (rule.deny ? denied : permitted) |= rule.to;
            }
            permitted.subtract(denied);
            permitted &= cleared[static_cast<std::size_t>(rank)];
            permitted.reset(s);
            receivable = !permitted.none();
          }
        }
      }
      if (receivable) continue;
      const std::string& name = policy_.information_categories[c];
      out_.warning(Code::W005, locate_.list_item("information_categories", name, file()),
                   covering.empty()
                       ? fmt::format("information category '{}' can never be released: no permit rule covers it", name)
                       : fmt::format("information category '{}' can never be released: the permit rules that cover "
                                     "it ({}) never release anything, because a deny overrides them, they match no "
                                     "sender and recipient pair, or the recipients' vetting is below their "
                                     "classification range",
                                     name, fmt::join(covering, ", ")));
    }
  }

  // ---- W006 ----

  void unused_vetting() {
    for (const Vetting& vetting : policy_.vetting) {
      const bool held = std::any_of(policy_.nodes.begin(), policy_.nodes.end(),
                                    [&](const Node& node) { return node.vetting == vetting.name; });
      if (!held) {
        out_.warning(Code::W006, vetting.location, fmt::format("vetting level '{}' is held by no node", vetting.name));
      }
    }
  }

  // ---- W008, W009 ----

  // The category and every category it requires, transitively.
  std::vector<std::size_t> requirement_closure(std::size_t start) const {
    const auto& categories = policy_.scheme.categories;
    std::vector<std::size_t> closure{start};
    for (std::size_t i = 0; i < closure.size(); ++i) {
      for (const std::string& required : categories[closure[i]].requires_categories) {
        for (std::size_t k = 0; k < categories.size(); ++k) {
          if (categories[k].name == required && std::find(closure.begin(), closure.end(), k) == closure.end()) {
            closure.push_back(k);
          }
        }
      }
    }
    return closure;
  }

  // Ranks at which the category (with what it requires) may appear on a valid label.
  std::vector<int> allowed_ranks(std::size_t category) const {
    std::vector<int> ranks;
    const std::vector<std::size_t> closure = requirement_closure(category);
    for (const Classification& classification : policy_.scheme.classifications) {
      const bool excluded = std::any_of(closure.begin(), closure.end(), [&](std::size_t k) {
        return contains(policy_.scheme.categories[k].excluded_at, classification.name);
      });
      if (!excluded) ranks.push_back(classification.rank);
    }
    return ranks;
  }

  void scheme_label_combinations() {
    const auto& categories = policy_.scheme.categories;
    for (std::size_t k = 0; k < categories.size(); ++k) {
      if (!allowed_ranks(k).empty()) continue;
      const Category& category = categories[k];
      const std::vector<std::size_t> closure = requirement_closure(k);
      const bool alone = std::all_of(policy_.scheme.classifications.begin(), policy_.scheme.classifications.end(),
                                     [&](const Classification& c) { return contains(category.excluded_at, c.name); });
      std::vector<std::string> required;
      for (std::size_t i = 1; i < closure.size(); ++i) required.push_back(categories[closure[i]].name);
      out_.warning(Code::W008, category.location,
                   alone ? fmt::format("category '{}' can never appear on a valid label: it is excluded at every "
                                       "classification",
                                       category.name)
                         : fmt::format("category '{}' can never appear on a valid label: with the categories it "
                                       "requires ({}), some category is excluded at every classification",
                                       category.name, fmt::join(required, ", ")));
    }
    // Requires cycles: strongly connected groups of two or more categories.
    std::set<std::size_t> reported;
    for (std::size_t k = 0; k < categories.size(); ++k) {
      if (reported.count(k)) continue;
      std::vector<std::string> cycle;
      std::vector<std::size_t> members;
      for (std::size_t other : requirement_closure(k)) {
        if (other == k) continue;
        const std::vector<std::size_t> back = requirement_closure(other);
        if (std::find(back.begin(), back.end(), k) != back.end()) members.push_back(other);
      }
      if (members.empty()) continue;
      members.insert(members.begin(), k);
      std::sort(members.begin(), members.end());
      for (std::size_t member : members) {
        reported.insert(member);
        cycle.push_back(categories[member].name);
      }
      out_.warning(Code::W009, categories[members.front()].location,
                   fmt::format("categories {} require each other (a requires cycle): each can appear only with all "
                               "the others, so they act as one category",
                               quoted_list(cycle)));
    }
  }

  // ---- W010 ----

  void node_categories_never_receivable() {
    const auto& categories = policy_.scheme.categories;
    for (std::size_t n = 0; n < policy_.nodes.size(); ++n) {
      const Node& node = policy_.nodes[n];
      for (const std::string& held : node.categories) {
        auto it = std::find_if(categories.begin(), categories.end(), [&](const Category& c) { return c.name == held; });
        if (it == categories.end()) continue;
        const std::vector<int> ranks = allowed_ranks(static_cast<std::size_t>(it - categories.begin()));
        if (ranks.empty()) continue;  // W008 says so
        if (ranks.front() <= occasional_rank_[n]) continue;
        const ResolvedNode& resolved = resolved_[n];
        out_.warning(Code::W010, locate_.node_category(node, held),
                     fmt::format("node '{}' holds '{}', but no label it is cleared for can carry it: '{}' is allowed "
                                 "only at {} and above, and {}'s occasional ceiling is {}",
                                 node.id, held, held,
                                 policy_.scheme.classifications[static_cast<std::size_t>(ranks.front())].name,
                                 resolved.vetting, resolved.occasional_ceiling));
      }
    }
  }

  // ---- W011 ----

  void events_nobody_triggers() {
    for (const EventDef& event : policy_.events) {
      if (!matching(event.triggered_by).none()) continue;
      out_.warning(Code::W011, locate_.event_key(event, "triggered_by"),
                   fmt::format("event '{}' can be triggered by no node: its 'triggered_by' matches no node, so what "
                               "is embargoed until it is never released",
                               event.id));
    }
  }

  // ---- W012 ----

  // A warning, not an error: a peer that only sends to this gateway (a
  // one-way link) is legitimate, and what it is sent is then nothing, the
  // safe reading. But a peer that speaks for names and may receive nothing
  // is more often an accreditation left half-written.
  void peers_that_receive_nothing() {
    for (const Peer& peer : policy_.peers) {
      const PeerReceives& receives = peer.receives;
      if (!receives.categories.empty() && !receives.purposes.empty()) continue;
      const bool speaks = !peer.speaks_for.organisations.empty() || !peer.speaks_for.nodes.empty() ||
                          !peer.speaks_for.roles.empty();
      out_.warning(Code::W012, receives.location,
                   fmt::format("peer '{}' can receive nothing: its 'receives' lists no {}{}", peer.id,
                               receives.categories.empty() ? "information categories" : "purposes",
                               speaks ? ", so every message routed to it by its 'speaks_for' is withheld"
                                      : " (fine for a peer that only sends to this gateway)"));
    }
  }

  const CompiledPolicy& compiled_;
  const Policy& policy_;
  Locator locate_;
  NodeDirectory directory_;
  std::vector<ResolvedNode> resolved_;  // by node index
  std::vector<int> occasional_rank_;    // by node index; -1 without vetting
  std::vector<std::string> categories_;
  std::vector<std::string> purposes_;
  int rank_count_ = 0;
  std::vector<RuleSpace> rules_;  // by rule index
  Diagnostics out_;
};

}  // namespace

Diagnostics analyse_policy(const CompiledPolicy& policy, std::string_view policy_text) {
  return Analyser(policy, policy_text).run();
}

PolicyCheckResult check_policy_text(std::string_view text, const std::filesystem::path& file) {
  PolicyCheckResult result;
  LoadResult loaded = load_policy_text(text, file);
  result.diagnostics = std::move(loaded.diagnostics);
  result.policy = std::move(loaded.policy);
  if (result.policy) {
    result.diagnostics.append(analyse_policy(*result.policy, text));
    result.diagnostics.append(check_peer_files(result.policy->source()));
  }
  return result;
}

PolicyCheckResult check_policy(const std::filesystem::path& file) {
  std::string error;
  auto text = read_text_file(file, error);
  if (!text) {
    PolicyCheckResult result;
    result.diagnostics.error(Code::P007, SourceLocation{file.string(), 0, 0},
                             fmt::format("cannot read policy file: {}", error));
    return result;
  }
  return check_policy_text(*text, file);
}

// ---- JSON ---------------------------------------------------------------------------------

std::string json_string(std::string_view text) { return json::quote(text); }

boost::json::object json_value(const SourceLocation& location) {
  return {{"file", location.file}, {"line", location.line}, {"column", location.column}};
}

boost::json::object json_value(const Diagnostic& diagnostic) {
  boost::json::object json{{"severity", to_string(diagnostic.severity)},
                           {"code", to_string(diagnostic.code)},
                           {"title", info(diagnostic.code).title},
                           {"file", diagnostic.location.file},
                           {"line", diagnostic.location.line},
                           {"column", diagnostic.location.column},
                           {"message", diagnostic.message}};
  // The structured details, each only when the diagnostic has it.
  const DiagnosticDetails& details = diagnostic.details;
  if (details.suggestion) json.emplace("suggestion", *details.suggestion);
  if (!details.rule.empty()) json.emplace("rule", details.rule);
  if (details.related) json.emplace("related", json_value(*details.related));
  return json;
}

boost::json::array json_value(const Diagnostics& diagnostics) {
  boost::json::array json;
  for (const Diagnostic& diagnostic : diagnostics.sorted()) json.emplace_back(json_value(diagnostic));
  return json;
}

std::string to_json(const SourceLocation& location) { return json::serialize(json_value(location)); }

std::string to_json(const Diagnostic& diagnostic) { return json::serialize(json_value(diagnostic)); }

}  // namespace icegate::policy

// The decision space of one or two policies, folded into node classes, and
// the exhaustive diff built on it. See diff.hpp for the method.
#include "gateway/policy/diff.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/json.hpp"

namespace icegate::policy {
namespace {

using RuleBits = std::vector<std::uint64_t>;

void set_bit(RuleBits& bits, std::size_t index) { bits[index >> 6] |= std::uint64_t{1} << (index & 63); }

template <typename Values, typename Value>
bool contains(const Values& values, const Value& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

std::string trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

// Appends the raw bytes of `value` to a hash key.
template <typename T>
void append_bytes(std::string& key, const T* data, std::size_t count) {
  key.append(reinterpret_cast<const char*>(data), count * sizeof(T));
}

// What a matcher needs to know about one node of one policy. This is the
// engine's matcher semantics (policies/README.md, "rules"), evaluated here
// from the Policy itself because CompiledPolicy keeps its index private; the
// diff tests compare the folded computation with deciding every node pair.
struct NodeFacts {
  const Node* node = nullptr;
  const Organisation* organisation = nullptr;
  const Role* role = nullptr;
  std::vector<std::string_view> lists;  // ids of the distribution lists it belongs to
};

bool matches(const SubjectMatcher& matcher, const NodeFacts& facts) {
  const Node& node = *facts.node;
  if (!matcher.nodes.empty() && !contains(matcher.nodes, node.id)) return false;
  if (!matcher.organisations.empty() && !contains(matcher.organisations, node.organisation)) return false;
  if (!matcher.roles.empty() && !contains(matcher.roles, node.role)) return false;
  if (!matcher.organisation_kinds.empty() &&
      (!facts.organisation || !contains(matcher.organisation_kinds, facts.organisation->kind))) {
    return false;
  }
  if (!matcher.levels.empty() && (!facts.role || !contains(matcher.levels, facts.role->level))) return false;
  if (matcher.ct_network && (!facts.organisation || facts.organisation->ct_network != *matcher.ct_network)) {
    return false;
  }
  if (!matcher.lists.empty() && std::none_of(matcher.lists.begin(), matcher.lists.end(), [&](const std::string& list) {
        return contains(facts.lists, std::string_view(list));
      })) {
    return false;
  }
  return true;
}

NodeFacts facts_of(const Policy& policy, const Node& node) {
  NodeFacts facts;
  facts.node = &node;
  for (const Organisation& organisation : policy.organisations) {
    if (organisation.id == node.organisation) facts.organisation = &organisation;
  }
  for (const Role& role : policy.roles) {
    if (role.id == node.role) facts.role = &role;
  }
  for (const DistributionList& list : policy.lists) {
    if (contains(list.nodes, node.id) || contains(list.roles, node.role)) facts.lists.push_back(list.id);
  }
  return facts;
}

// One policy's rules as bit rows over the decision space's nodes, categories
// and purposes.
struct PolicyRows {
  const CompiledPolicy* policy = nullptr;
  std::size_t words = 0;
  RuleBits permits;
  std::vector<RuleBits> senders;       // by node: rules whose `from` matches it
  std::vector<RuleBits> recipients;    // by node: rules whose `to` matches it
  std::vector<RuleBits> categories;    // by category: rules naming it or none
  std::vector<RuleBits> purposes;      // by purpose: rules naming it or none ("" only the latter)
  std::vector<std::string> clearance;  // by node: vetting and held scheme categories
};

PolicyRows build_rows(const CompiledPolicy& compiled, const std::vector<std::string>& node_ids,
                      const std::vector<std::string>& categories, const std::vector<std::string>& purposes) {
  const Policy& policy = compiled.source();
  PolicyRows rows;
  rows.policy = &compiled;
  const std::size_t rule_count = policy.rules.size();
  rows.words = std::max<std::size_t>(1, (rule_count + 63) / 64);
  const RuleBits empty(rows.words, 0);
  rows.permits = empty;
  rows.senders.assign(node_ids.size(), empty);
  rows.recipients.assign(node_ids.size(), empty);
  rows.categories.assign(categories.size(), empty);
  rows.purposes.assign(purposes.size(), empty);
  rows.clearance.resize(node_ids.size());

  std::vector<NodeFacts> facts;
  facts.reserve(node_ids.size());
  for (std::size_t n = 0; n < node_ids.size(); ++n) {
    const Node* node = compiled.find_node(node_ids[n]);
    facts.push_back(facts_of(policy, *node));
    std::vector<std::string> held = node->categories;
    std::sort(held.begin(), held.end());
    std::string key = node->vetting;
    for (const std::string& category : held) key += '\0' + category;
    rows.clearance[n] = std::move(key);
  }
  for (std::size_t r = 0; r < rule_count; ++r) {
    const Rule& rule = policy.rules[r];
    if (rule.effect == Effect::permit) set_bit(rows.permits, r);
    for (std::size_t c = 0; c < categories.size(); ++c) {
      if (rule.categories.empty() || contains(rule.categories, categories[c])) set_bit(rows.categories[c], r);
    }
    for (std::size_t p = 0; p < purposes.size(); ++p) {
      if (rule.purposes.empty() || (!purposes[p].empty() && contains(rule.purposes, purposes[p]))) {
        set_bit(rows.purposes[p], r);
      }
    }
    for (std::size_t n = 0; n < node_ids.size(); ++n) {
      if (matches(rule.from, facts[n])) set_bit(rows.senders[n], r);
      if (matches(rule.to, facts[n])) set_bit(rows.recipients[n], r);
    }
  }
  return rows;
}

// Groups indices 0..count-1 by key, classes in order of first member.
std::vector<std::vector<int>> partition(std::size_t count, const std::function<std::string(int)>& key_of,
                                        std::vector<int>& class_of) {
  std::vector<std::vector<int>> classes;
  std::unordered_map<std::string, int> by_key;
  class_of.assign(count, -1);
  for (std::size_t n = 0; n < count; ++n) {
    auto [it, inserted] = by_key.emplace(key_of(static_cast<int>(n)), static_cast<int>(classes.size()));
    if (inserted) classes.emplace_back();
    classes[static_cast<std::size_t>(it->second)].push_back(static_cast<int>(n));
    class_of[n] = it->second;
  }
  return classes;
}

}  // namespace

// ---- Labels as text ---------------------------------------------------------


std::optional<Label> parse_label_text(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = text.find('/', start);
    parts.push_back(trim(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start)));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (std::any_of(parts.begin(), parts.end(), [](const std::string& part) { return part.empty(); })) {
    return std::nullopt;
  }
  Label label;
  label.classification = parts.front();
  label.categories.assign(parts.begin() + 1, parts.end());
  normalise(label);
  return label;
}

std::string json_quote(std::string_view text) { return json::quote(text); }

// ---- The label space --------------------------------------------------------

LabelSpace enumerate_labels(const CompiledPolicy& policy, const LabelSpaceOptions& options) {
  const LabelScheme& scheme = policy.source().scheme;
  LabelSpace space;

  // Per tag set that affects access, its subsets of at most k categories.
  std::vector<std::vector<std::vector<std::string>>> choices;
  for (const TagSet& tag_set : scheme.tag_sets) {
    if (tag_set.type == TagSetType::informative) continue;
    if (tag_set.type == TagSetType::permissive && !options.include_permissive) continue;
    std::vector<std::vector<std::string>> subsets = {{}};
    const std::vector<std::string>& names = tag_set.categories;
    for (std::size_t i = 0; i < names.size() && options.max_categories_per_set >= 1; ++i) {
      subsets.push_back({names[i]});
    }
    for (std::size_t i = 0; i < names.size() && options.max_categories_per_set >= 2; ++i) {
      for (std::size_t j = i + 1; j < names.size(); ++j) subsets.push_back({names[i], names[j]});
    }
    choices.push_back(std::move(subsets));
  }

  // The product of the choices, fewest categories first, within a budget.
  const std::size_t classification_count = std::max<std::size_t>(1, scheme.classifications.size());
  const std::size_t budget = std::max<std::size_t>(1, options.max_labels / classification_count);
  std::vector<std::vector<std::string>> combinations;
  std::vector<std::size_t> odometer(choices.size(), 0);
  const std::size_t generation_cap = budget * 8;
  while (true) {
    std::vector<std::string> combination;
    for (std::size_t s = 0; s < choices.size(); ++s) {
      const auto& subset = choices[s][odometer[s]];
      combination.insert(combination.end(), subset.begin(), subset.end());
    }
    combinations.push_back(std::move(combination));
    if (combinations.size() >= generation_cap) {
      space.truncated = true;
      break;
    }
    std::size_t s = 0;
    for (; s < choices.size(); ++s) {
      if (++odometer[s] < choices[s].size()) break;
      odometer[s] = 0;
    }
    if (s == choices.size()) break;
  }
  std::stable_sort(combinations.begin(), combinations.end(),
                   [](const auto& a, const auto& b) { return a.size() < b.size(); });
  if (combinations.size() > budget) {
    combinations.resize(budget);
    space.truncated = true;
  }

  std::map<std::string, const Category*> categories;
  for (const Category& category : scheme.categories) categories.emplace(category.name, &category);
  for (const Classification& classification : scheme.classifications) {
    std::vector<Label> labels;
    for (const auto& combination : combinations) {
      Label label{classification.name, combination};
      // Close under `requires`: a required category is on every valid label
      // that has the requiring one.
      for (std::size_t i = 0; i < label.categories.size(); ++i) {
        auto it = categories.find(label.categories[i]);
        if (it == categories.end()) continue;
        for (const std::string& required : it->second->requires_categories) {
          if (!contains(label.categories, required)) label.categories.push_back(required);
        }
      }
      normalise(label);
      if (!policy.label_problems(label).empty() || contains(labels, label)) continue;
      labels.push_back(std::move(label));
    }
    std::stable_sort(labels.begin(), labels.end(),
                     [](const Label& a, const Label& b) { return a.categories.size() < b.categories.size(); });
    space.labels.insert(space.labels.end(), labels.begin(), labels.end());
  }
  return space;
}

// ---- Outcomes ---------------------------------------------------------------

std::string_view to_string(FlowState state) {
  switch (state) {
    case FlowState::withheld: return "withheld";
    case FlowState::occasional: return "released with an occasional release";
    case FlowState::released: return "released";
    case FlowState::held_occasional: return "held for review, with an occasional release";
    case FlowState::held: return "held for review";
  }
  return "unknown";
}

namespace {
std::string_view state_code(FlowState state) {
  switch (state) {
    case FlowState::withheld: return "withheld";
    case FlowState::occasional: return "occasional";
    case FlowState::released: return "released";
    case FlowState::held_occasional: return "held-occasional";
    case FlowState::held: return "held";
  }
  return "unknown";
}
}  // namespace

int release_level(FlowState state) {
  switch (state) {
    case FlowState::withheld: return 0;
    case FlowState::occasional:
    case FlowState::held_occasional: return 1;
    case FlowState::released:
    case FlowState::held: return 2;
  }
  return 0;
}

bool is_held(FlowState state) { return state == FlowState::held || state == FlowState::held_occasional; }

PortionOutcome portion_outcome(const CompiledPolicy& policy, const PortionDecision& without_occasional,
                               const PortionDecision& with_occasional) {
  PortionOutcome outcome;
  // Under an occasional allowance of 0 the gateway never has an occasional
  // release to give (router.cpp), so only the decision without one happens.
  const bool occasional_possible = policy.source().occasional.releases > 0;
  const PortionDecision& decided = occasional_possible ? with_occasional : without_occasional;
  outcome.rule = decided.rule;
  outcome.reason = decided.reason;
  if (!decided.released) return outcome;
  const RuleHandling& handling = policy.rule(decided.rule).handling;
  const bool held = handling.requires_review();
  if (without_occasional.released) {
    outcome.state = held ? FlowState::held : FlowState::released;
  } else {
    outcome.state = held ? FlowState::held_occasional : FlowState::occasional;
  }
  outcome.originator_control = handling.originator_control;
  outcome.no_onward_sharing = handling.no_onward_sharing;
  return outcome;
}

// ---- DecisionSpace ----------------------------------------------------------

struct DecisionSpace::State {
  std::vector<const CompiledPolicy*> policies;
  std::vector<std::string> node_ids;
  std::vector<std::string> categories;
  std::vector<std::string> purposes;
  std::vector<Label> labels;
  std::vector<PolicyRows> rows;  // by policy
  std::vector<std::vector<int>> sender_classes, recipient_classes;
  std::vector<int> sender_class_of, recipient_class_of;
  std::vector<int> clearance_class_of;  // by node: vetting and categories in every policy
  std::unordered_map<std::string, std::vector<std::vector<PortionOutcome>>> cache;
  std::size_t decide_calls = 0;
  std::string key;     // reused
  RuleBits candidate;  // reused
};

DecisionSpace::DecisionSpace(std::vector<const CompiledPolicy*> policies, std::vector<std::string> node_ids,
                             std::vector<std::string> categories, std::vector<std::string> purposes,
                             std::vector<Label> labels)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.policies = std::move(policies);
  s.node_ids = std::move(node_ids);
  s.categories = std::move(categories);
  s.purposes = std::move(purposes);
  s.labels = std::move(labels);
  for (const CompiledPolicy* policy : s.policies) {
    s.rows.push_back(build_rows(*policy, s.node_ids, s.categories, s.purposes));
  }
  const std::size_t count = s.node_ids.size();
  s.sender_classes = partition(
      count,
      [&s](int node) {
        std::string key;
        for (const PolicyRows& rows : s.rows) append_bytes(key, rows.senders[node].data(), rows.words);
        return key;
      },
      s.sender_class_of);
  s.recipient_classes = partition(
      count,
      [&s](int node) {
        std::string key;
        for (const PolicyRows& rows : s.rows) {
          append_bytes(key, rows.recipients[node].data(), rows.words);
          key += rows.clearance[node];
          key += '\1';
        }
        return key;
      },
      s.recipient_class_of);
  partition(
      count,
      [&s](int node) {
        std::string key;
        for (const PolicyRows& rows : s.rows) key += rows.clearance[node] + '\1';
        return key;
      },
      s.clearance_class_of);
}

DecisionSpace::~DecisionSpace() = default;

const std::vector<std::string>& DecisionSpace::node_ids() const { return state_->node_ids; }
const std::vector<std::string>& DecisionSpace::categories() const { return state_->categories; }
const std::vector<std::string>& DecisionSpace::purposes() const { return state_->purposes; }
const std::vector<Label>& DecisionSpace::labels() const { return state_->labels; }
const std::vector<std::vector<int>>& DecisionSpace::sender_classes() const { return state_->sender_classes; }
const std::vector<std::vector<int>>& DecisionSpace::recipient_classes() const { return state_->recipient_classes; }
int DecisionSpace::sender_class_of(int node) const { return state_->sender_class_of[static_cast<std::size_t>(node)]; }
int DecisionSpace::recipient_class_of(int node) const {
  return state_->recipient_class_of[static_cast<std::size_t>(node)];
}
std::size_t DecisionSpace::decide_calls() const { return state_->decide_calls; }

bool DecisionSpace::may_send(std::size_t policy, int node, int category) const {
  const PolicyRows& rows = state_->rows[policy];
  const RuleBits& sender = rows.senders[static_cast<std::size_t>(node)];
  const RuleBits& by_category = rows.categories[static_cast<std::size_t>(category)];
  for (std::size_t w = 0; w < rows.words; ++w) {
    if (sender[w] & by_category[w] & rows.permits[w]) return true;
  }
  return false;
}

bool DecisionSpace::any_permit(int sender_class, int recipient_class, int category, int purpose) const {
  const State& s = *state_;
  const std::size_t sender = static_cast<std::size_t>(s.sender_classes[static_cast<std::size_t>(sender_class)].front());
  const std::size_t recipient =
      static_cast<std::size_t>(s.recipient_classes[static_cast<std::size_t>(recipient_class)].front());
  for (const PolicyRows& rows : s.rows) {
    const RuleBits& a = rows.senders[sender];
    const RuleBits& b = rows.recipients[recipient];
    const RuleBits& c = rows.categories[static_cast<std::size_t>(category)];
    const RuleBits& p = rows.purposes[static_cast<std::size_t>(purpose)];
    for (std::size_t w = 0; w < rows.words; ++w) {
      if (a[w] & b[w] & c[w] & p[w] & rows.permits[w]) return true;
    }
  }
  return false;
}

const std::vector<std::vector<PortionOutcome>>& DecisionSpace::outcomes(int sender, int recipient, int category,
                                                                        int purpose) {
  State& s = *state_;
  const auto sn = static_cast<std::size_t>(sender);
  const auto rn = static_cast<std::size_t>(recipient);
  const auto cn = static_cast<std::size_t>(category);
  const auto pn = static_cast<std::size_t>(purpose);
  // The rules that could apply, before classification bounds, in each
  // policy, and the recipient's clearance: together they fix every label's
  // outcome.
  s.key.clear();
  for (const PolicyRows& rows : s.rows) {
    s.candidate.resize(rows.words);
    for (std::size_t w = 0; w < rows.words; ++w) {
      s.candidate[w] = rows.senders[sn][w] & rows.recipients[rn][w] & rows.categories[cn][w] & rows.purposes[pn][w];
    }
    append_bytes(s.key, s.candidate.data(), rows.words);
  }
  const int clearance = s.clearance_class_of[rn];
  append_bytes(s.key, &clearance, 1);
  auto it = s.cache.find(s.key);
  if (it != s.cache.end()) return it->second;

  std::vector<std::vector<PortionOutcome>> result(s.policies.size());
  for (std::size_t i = 0; i < s.policies.size(); ++i) {
    DecisionRequest request;
    request.sender = s.node_ids[sn];
    request.recipient = s.node_ids[rn];
    request.category = s.categories[cn];
    request.purpose = s.purposes[pn];
    request.portion_labels = s.labels;
    request.occasional_available = false;
    const PolicyDecision without = s.policies[i]->decide(request);
    request.occasional_available = true;
    const PolicyDecision with = s.policies[i]->decide(request);
    s.decide_calls += 2;
    result[i].reserve(s.labels.size());
    for (std::size_t l = 0; l < s.labels.size(); ++l) {
      result[i].push_back(portion_outcome(*s.policies[i], without.portions[l], with.portions[l]));
    }
  }
  return s.cache.emplace(s.key, std::move(result)).first->second;
}

// ---- Diff -------------------------------------------------------------------

std::string_view to_string(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::opened: return "opened";
    case ChangeKind::closed: return "closed";
    case ChangeKind::hold_added: return "hold_added";
    case ChangeKind::hold_removed: return "hold_removed";
    case ChangeKind::handling_changed: return "handling_changed";
  }
  return "unknown";
}

bool PolicyDiff::equivalent() const {
  return groups.empty() && nodes_only_old.empty() && nodes_only_new.empty() && categories_only_old.empty() &&
         categories_only_new.empty() && purposes_only_old.empty() && purposes_only_new.empty() &&
         label_validity.empty();
}

std::size_t PolicyDiff::count(ChangeKind kind) const {
  return static_cast<std::size_t>(
      std::count_if(groups.begin(), groups.end(), [kind](const ChangeGroup& group) { return group.kind == kind; }));
}

namespace {

std::optional<ChangeKind> classify(const PortionOutcome& before, const PortionOutcome& after) {
  const int old_level = release_level(before.state);
  const int new_level = release_level(after.state);
  if (new_level > old_level) return ChangeKind::opened;
  if (new_level < old_level) return ChangeKind::closed;
  if (old_level == 0) return std::nullopt;
  if (!is_held(before.state) && is_held(after.state)) return ChangeKind::hold_added;
  if (is_held(before.state) && !is_held(after.state)) return ChangeKind::hold_removed;
  if (before.originator_control != after.originator_control || before.no_onward_sharing != after.no_onward_sharing) {
    return ChangeKind::handling_changed;
  }
  return std::nullopt;
}

// The changes found for one (sender set, recipient set, category), before
// they are split by the senders' and recipients' organisation kind and role.
struct LocalChange {
  std::vector<char> purposes;  // by purpose index
  std::vector<char> labels;    // by label index
  std::size_t points = 0;      // purposes x labels
  std::set<int> old_rules, new_rules;
  int example_purpose = -1;
  int example_label = -1;
};
using LocalKey = std::tuple<ChangeKind, FlowState, FlowState>;

struct GroupKey {
  ChangeKind kind;
  FlowState old_state, new_state;
  std::string sender, recipient;
  int category;
  auto tie() const { return std::tie(kind, sender, recipient, category, old_state, new_state); }
  friend bool operator<(const GroupKey& a, const GroupKey& b) { return a.tie() < b.tie(); }
};

struct GroupAccumulator {
  std::vector<char> purposes;
  std::vector<char> labels;
  std::size_t node_pairs = 0;
  std::size_t points = 0;
  std::set<int> old_rules, new_rules;
  bool has_example = false;
  int example_sender = -1, example_recipient = -1, example_purpose = -1, example_label = -1;
};

class DiffBuilder {
 public:
  DiffBuilder(const CompiledPolicy& old_policy, const CompiledPolicy& new_policy, PolicyDiff& diff)
      : old_(old_policy), new_(new_policy), diff_(diff) {
    // "kind/role" of every compared node, as the new policy has it.
    for (const std::string& id : diff.nodes) {
      const Node* node = new_.find_node(id);
      std::string kind = "?";
      for (const Organisation& organisation : new_.source().organisations) {
        if (organisation.id == node->organisation) kind = organisation.kind;
      }
      kind_role_.push_back(kind + "/" + node->role);
    }
  }

  // Records one point's outcomes in the current local accumulator.
  void record(int purpose, const std::vector<PortionOutcome>& before, const std::vector<PortionOutcome>& after) {
    for (std::size_t l = 0; l < before.size(); ++l) {
      auto kind = classify(before[l], after[l]);
      if (!kind) continue;
      LocalChange& change = local_[LocalKey{*kind, before[l].state, after[l].state}];
      if (change.purposes.empty()) {
        change.purposes.assign(diff_.purposes.size(), 0);
        change.labels.assign(diff_.labels.size(), 0);
        change.example_purpose = purpose;
        change.example_label = static_cast<int>(l);
      }
      change.purposes[static_cast<std::size_t>(purpose)] = 1;
      change.labels[l] = 1;
      // The example shows the highest label that changed: the most telling.
      if (purpose == change.example_purpose) change.example_label = static_cast<int>(l);
      ++change.points;
      change.old_rules.insert(before[l].rule);
      change.new_rules.insert(after[l].rule);
    }
  }

  // Splits what was recorded for (senders, recipients, category) by the
  // organisation kind/role of each side, into the groups.
  void flush(const std::vector<int>& senders, const std::vector<int>& recipients, int category) {
    if (local_.empty()) return;
    std::map<std::string, std::vector<int>> sender_parts, recipient_parts;
    for (int node : senders) sender_parts[kind_role_[static_cast<std::size_t>(node)]].push_back(node);
    for (int node : recipients) recipient_parts[kind_role_[static_cast<std::size_t>(node)]].push_back(node);
    for (const auto& [sender_kind, sender_nodes] : sender_parts) {
      for (const auto& [recipient_kind, recipient_nodes] : recipient_parts) {
        std::size_t overlap = 0;
        for (int node : sender_nodes) overlap += contains(recipient_nodes, node) ? 1 : 0;
        const std::size_t pairs = sender_nodes.size() * recipient_nodes.size() - overlap;
        if (pairs == 0) continue;
        for (const auto& [local_key, change] : local_) {
          const auto& [kind, old_state, new_state] = local_key;
          GroupAccumulator& group =
              groups_[GroupKey{kind, old_state, new_state, sender_kind, recipient_kind, category}];
          if (group.purposes.empty()) {
            group.purposes.assign(diff_.purposes.size(), 0);
            group.labels.assign(diff_.labels.size(), 0);
          }
          for (std::size_t p = 0; p < change.purposes.size(); ++p) group.purposes[p] |= change.purposes[p];
          for (std::size_t l = 0; l < change.labels.size(); ++l) group.labels[l] |= change.labels[l];
          group.node_pairs += pairs;
          group.points += pairs * change.points;
          group.old_rules.insert(change.old_rules.begin(), change.old_rules.end());
          group.new_rules.insert(change.new_rules.begin(), change.new_rules.end());
          if (!group.has_example) {
            group.has_example = true;
            auto [sender, recipient] = distinct_pair(sender_nodes, recipient_nodes);
            group.example_sender = sender;
            group.example_recipient = recipient;
            group.example_purpose = change.example_purpose;
            group.example_label = change.example_label;
          }
        }
      }
    }
    local_.clear();
  }

  void finish() {
    for (auto& [key, accumulator] : groups_) {
      ChangeGroup group;
      group.kind = key.kind;
      group.old_state = key.old_state;
      group.new_state = key.new_state;
      group.sender = key.sender;
      group.recipient = key.recipient;
      group.category = diff_.categories[static_cast<std::size_t>(key.category)];
      group.all_purposes = true;
      for (std::size_t p = 0; p < diff_.purposes.size(); ++p) {
        if (accumulator.purposes[p]) {
          group.purposes.push_back(diff_.purposes[p]);
        } else {
          group.all_purposes = false;
        }
      }
      int lowest = -1, highest = -1;
      for (std::size_t l = 0; l < diff_.labels.size(); ++l) {
        if (!accumulator.labels[l]) continue;
        const Label& label = diff_.labels[l];
        group.labels.push_back(label);
        const int rank = new_.classification_rank(label.classification);
        if (lowest < 0 || rank < new_.classification_rank(group.lowest_classification)) {
          group.lowest_classification = label.classification;
          lowest = rank;
        }
        if (highest < 0 || rank > new_.classification_rank(group.highest_classification)) {
          group.highest_classification = label.classification;
          highest = rank;
        }
      }
      group.node_pairs = accumulator.node_pairs;
      group.points = accumulator.points;
      for (int rule : accumulator.old_rules) group.old_rules.push_back(rule < 0 ? "" : old_.rule(rule).id);
      for (int rule : accumulator.new_rules) group.new_rules.push_back(rule < 0 ? "" : new_.rule(rule).id);
      group.example = example(group, accumulator);
      diff_.groups.push_back(std::move(group));
    }
    // Within one (kind, sender, recipient, category), lower classifications first.
    std::stable_sort(diff_.groups.begin(), diff_.groups.end(), [this](const ChangeGroup& a, const ChangeGroup& b) {
      return std::make_tuple(a.kind, std::cref(a.sender), std::cref(a.recipient), std::cref(a.category),
                             new_.classification_rank(a.lowest_classification)) <
             std::make_tuple(b.kind, std::cref(b.sender), std::cref(b.recipient), std::cref(b.category),
                             new_.classification_rank(b.lowest_classification));
    });
  }

 private:
  // A sender from `senders` and a different recipient from `recipients`
  // (the caller has checked that one exists).
  static std::pair<int, int> distinct_pair(const std::vector<int>& senders, const std::vector<int>& recipients) {
    for (int sender : senders) {
      for (int recipient : recipients) {
        if (sender != recipient) return {sender, recipient};
      }
    }
    return {senders.front(), recipients.front()};
  }

  // The example request, decided again on both sides for its explanation.
  ChangeExample example(const ChangeGroup& group, const GroupAccumulator& accumulator) const {
    ChangeExample example;
    example.sender = diff_.nodes[static_cast<std::size_t>(accumulator.example_sender)];
    example.recipient = diff_.nodes[static_cast<std::size_t>(accumulator.example_recipient)];
    example.category = group.category;
    example.purpose = diff_.purposes[static_cast<std::size_t>(accumulator.example_purpose)];
    example.label = diff_.labels[static_cast<std::size_t>(accumulator.example_label)];
    // Show the change where it is visible: a change between withheld and
    // occasional needs the occasional release; one between occasional and
    // released shows without it.
    const int low = std::min(release_level(group.old_state), release_level(group.new_state));
    const int high = std::max(release_level(group.old_state), release_level(group.new_state));
    example.occasional_available = low == high ? low == 1 : (low == 0 && high == 1);
    const std::vector<Label> labels = {example.label};
    // A side whose occasional allowance is 0 never has one (portion_outcome).
    auto decide = [&](const CompiledPolicy& side) {
      const bool available = example.occasional_available && side.source().occasional.releases > 0;
      DecisionRequest request{example.sender, example.recipient, example.category, example.purpose, labels,
                              available};
      return side.decide(request).portions.front();
    };
    const PortionDecision before = decide(old_);
    const PortionDecision after = decide(new_);
    example.old_rule = before.rule < 0 ? "" : old_.rule(before.rule).id;
    example.new_rule = after.rule < 0 ? "" : new_.rule(after.rule).id;
    example.old_detail = before.detail;
    example.new_detail = after.detail;
    if (before.released) example.old_handling = handling_text(old_.rule(before.rule).handling);
    if (after.released) example.new_handling = handling_text(new_.rule(after.rule).handling);
    return example;
  }

  static std::string handling_text(const RuleHandling& handling) {
    std::vector<std::string> parts;
    if (handling.requires_review()) parts.push_back(fmt::format("review by {}", fmt::join(handling.review_by, " or ")));
    if (handling.originator_control) parts.push_back("originator control");
    if (handling.no_onward_sharing) parts.push_back("no onward sharing");
    return fmt::format("{}", fmt::join(parts, ", "));
  }

  const CompiledPolicy& old_;
  const CompiledPolicy& new_;
  PolicyDiff& diff_;
  std::vector<std::string> kind_role_;  // by compared node
  std::map<LocalKey, LocalChange> local_;
  std::map<GroupKey, GroupAccumulator> groups_;
};

template <typename Names>
void split(const Names& old_names, const Names& new_names, std::vector<std::string>& both,
           std::vector<std::string>& only_old, std::vector<std::string>& only_new) {
  for (const auto& name : new_names) {
    if (contains(old_names, name)) {
      both.push_back(name);
    } else {
      only_new.push_back(name);
    }
  }
  for (const auto& name : old_names) {
    if (!contains(new_names, name)) only_old.push_back(name);
  }
}

}  // namespace

PolicyDiff diff_policies(const CompiledPolicy& old_policy, const CompiledPolicy& new_policy,
                         const DiffOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const Policy& before = old_policy.source();
  const Policy& after = new_policy.source();
  PolicyDiff diff;
  diff.old_file = before.file;
  diff.new_file = after.file;

  std::vector<std::string> old_nodes, new_nodes;
  for (const Node& node : before.nodes) old_nodes.push_back(node.id);
  for (const Node& node : after.nodes) new_nodes.push_back(node.id);
  split(old_nodes, new_nodes, diff.nodes, diff.nodes_only_old, diff.nodes_only_new);
  split(before.information_categories, after.information_categories, diff.categories, diff.categories_only_old,
        diff.categories_only_new);
  split(before.purposes, after.purposes, diff.purposes, diff.purposes_only_old, diff.purposes_only_new);
  diff.purposes.push_back("");  // no purpose: only rules naming none apply

  // Labels: valid under both schemes are compared; valid under one only are reported.
  const LabelSpace old_labels = enumerate_labels(old_policy, options.labels);
  const LabelSpace new_labels = enumerate_labels(new_policy, options.labels);
  diff.labels_truncated = old_labels.truncated || new_labels.truncated;
  for (const LabelSpace* space : {&new_labels, &old_labels}) {
    for (const Label& label : space->labels) {
      const bool valid_old = old_policy.label_problems(label).empty();
      const bool valid_new = new_policy.label_problems(label).empty();
      if (valid_old && valid_new) {
        if (!contains(diff.labels, label)) diff.labels.push_back(label);
      } else if (std::none_of(diff.label_validity.begin(), diff.label_validity.end(),
                              [&label](const LabelValidityChange& change) { return change.label == label; })) {
        diff.label_validity.push_back({label, valid_old});
      }
    }
  }
  // One order for the compared labels: the new scheme's ranks, fewer categories first.
  std::stable_sort(diff.labels.begin(), diff.labels.end(), [&new_policy](const Label& a, const Label& b) {
    const int ra = new_policy.classification_rank(a.classification);
    const int rb = new_policy.classification_rank(b.classification);
    return ra != rb ? ra < rb : a.categories.size() < b.categories.size();
  });

  DiffBuilder builder(old_policy, new_policy, diff);
  const int category_count = static_cast<int>(diff.categories.size());
  const int purpose_count = static_cast<int>(diff.purposes.size());
  if (options.exhaustive) {
    const int node_count = static_cast<int>(diff.nodes.size());
    for (int sender = 0; sender < node_count; ++sender) {
      for (int recipient = 0; recipient < node_count; ++recipient) {
        if (sender == recipient) continue;
        for (int category = 0; category < category_count; ++category) {
          for (int purpose = 0; purpose < purpose_count; ++purpose) {
            std::vector<PortionOutcome> outcomes[2];
            int side = 0;
            for (const CompiledPolicy* policy : {&old_policy, &new_policy}) {
              DecisionRequest request{diff.nodes[static_cast<std::size_t>(sender)],
                                      diff.nodes[static_cast<std::size_t>(recipient)],
                                      diff.categories[static_cast<std::size_t>(category)],
                                      diff.purposes[static_cast<std::size_t>(purpose)],
                                      diff.labels,
                                      false};
              const PolicyDecision without = policy->decide(request);
              request.occasional_available = true;
              const PolicyDecision with = policy->decide(request);
              diff.decide_calls += 2;
              for (std::size_t l = 0; l < diff.labels.size(); ++l) {
                outcomes[side].push_back(portion_outcome(*policy, without.portions[l], with.portions[l]));
              }
              ++side;
            }
            builder.record(purpose, outcomes[0], outcomes[1]);
          }
          builder.flush({sender}, {recipient}, category);
        }
      }
    }
    diff.sender_classes = diff.recipient_classes = diff.nodes.size();
  } else {
    DecisionSpace space({&old_policy, &new_policy}, diff.nodes, diff.categories, diff.purposes, diff.labels);
    const auto& senders = space.sender_classes();
    const auto& recipients = space.recipient_classes();
    for (std::size_t sc = 0; sc < senders.size(); ++sc) {
      for (std::size_t rc = 0; rc < recipients.size(); ++rc) {
        // Two different nodes to decide for, one from each class.
        int sender = -1, recipient = -1;
        for (int s : senders[sc]) {
          for (int r : recipients[rc]) {
            if (s != r) {
              sender = s;
              recipient = r;
              break;
            }
          }
          if (sender >= 0) break;
        }
        if (sender < 0) continue;  // the one node, as its own recipient
        for (int category = 0; category < category_count; ++category) {
          for (int purpose = 0; purpose < purpose_count; ++purpose) {
            if (!space.any_permit(static_cast<int>(sc), static_cast<int>(rc), category, purpose)) continue;
            const auto& outcomes = space.outcomes(sender, recipient, category, purpose);
            builder.record(purpose, outcomes[0], outcomes[1]);
          }
          builder.flush(senders[sc], recipients[rc], category);
        }
      }
    }
    diff.sender_classes = senders.size();
    diff.recipient_classes = recipients.size();
    diff.decide_calls = space.decide_calls();
  }
  builder.finish();
  diff.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return diff;
}

// ---- Reports ----------------------------------------------------------------

namespace {

std::string rule_list(const std::vector<std::string>& rules) {
  std::vector<std::string> shown;
  for (const std::string& rule : rules) shown.push_back(rule.empty() ? "(default deny)" : rule);
  return fmt::format("{}", fmt::join(shown, ", "));
}

std::string purpose_text(const ChangeGroup& group) {
  if (group.all_purposes) return "any purpose";
  std::vector<std::string> shown;
  for (const std::string& purpose : group.purposes) shown.push_back(purpose.empty() ? "(no purpose)" : purpose);
  return fmt::format("{}", fmt::join(shown, ", "));
}

std::string side_text(FlowState state, const std::string& rule, const std::string& handling,
                      const std::string& detail) {
  std::string text(release_level(state) == 0 ? "withheld" : to_string(state));
  if (!rule.empty()) text += handling.empty() ? fmt::format(" ({})", rule) : fmt::format(" ({}; {})", rule, handling);
  if (!detail.empty()) text += ": " + detail;
  return text;
}

constexpr ChangeKind kKinds[] = {ChangeKind::opened, ChangeKind::closed, ChangeKind::hold_added,
                                 ChangeKind::hold_removed, ChangeKind::handling_changed};

std::string_view heading(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::opened: return "FLOWS OPENED";
    case ChangeKind::closed: return "FLOWS CLOSED";
    case ChangeKind::hold_added: return "HOLDS ADDED";
    case ChangeKind::hold_removed: return "HOLDS REMOVED";
    case ChangeKind::handling_changed: return "HANDLING CHANGED";
  }
  return "";
}

std::string json_list(const std::vector<std::string>& values) {
  std::string text = "[";
  for (std::size_t i = 0; i < values.size(); ++i) text += (i ? "," : "") + json_quote(values[i]);
  return text + "]";
}

std::string json_labels(const std::vector<Label>& labels) {
  std::vector<std::string> texts;
  for (const Label& label : labels) texts.push_back(label_text(label));
  return json_list(texts);
}

}  // namespace

void write_diff_text(std::ostream& out, const PolicyDiff& diff, std::size_t limit) {
  fmt::print(out, "policy diff: {} -> {}\n", diff.old_file, diff.new_file);
  const std::size_t pairs = diff.nodes.size() * (diff.nodes.size() > 0 ? diff.nodes.size() - 1 : 0);
  fmt::print(out,
             "compared: {} nodes ({} ordered pairs) x {} information categories x {} purposes and no purpose x "
             "{} labels{}, with and without an occasional release\n",
             diff.nodes.size(), pairs, diff.categories.size(), diff.purposes.size() - 1, diff.labels.size(),
             diff.labels_truncated ? " (label space truncated)" : "");
  fmt::print(out, "folded into {} sender and {} recipient classes; {} decide() calls in {:.3f} s\n",
             diff.sender_classes, diff.recipient_classes, diff.decide_calls, diff.seconds);
  auto only = [&out](std::string_view what, const std::vector<std::string>& names) {
    if (!names.empty()) fmt::print(out, "{}: {}\n", what, fmt::join(names, ", "));
  };
  only("nodes only in OLD", diff.nodes_only_old);
  only("nodes only in NEW", diff.nodes_only_new);
  only("information categories only in OLD", diff.categories_only_old);
  only("information categories only in NEW", diff.categories_only_new);
  only("purposes only in OLD", diff.purposes_only_old);
  only("purposes only in NEW", diff.purposes_only_new);
  if (!diff.label_validity.empty()) {
    std::vector<std::string> old_only, new_only;
    for (const LabelValidityChange& change : diff.label_validity) {
      (change.valid_in_old ? old_only : new_only).push_back(label_text(change.label));
    }
    only("labels valid only in OLD", old_only);
    only("labels valid only in NEW", new_only);
  }
  if (diff.equivalent()) {
    fmt::print(out, "\nequivalent: no decision differs\n");
    return;
  }
  for (ChangeKind kind : kKinds) {
    const std::size_t total = diff.count(kind);
    if (total == 0) continue;
    fmt::print(out, "\n{} ({} {})\n", heading(kind), total, total == 1 ? "group" : "groups");
    std::size_t shown = 0;
    for (const ChangeGroup& group : diff.groups) {
      if (group.kind != kind) continue;
      if (limit > 0 && shown == limit) {
        fmt::print(out, "  ... and {} more (--limit)\n", total - shown);
        break;
      }
      ++shown;
      const std::string range = group.lowest_classification == group.highest_classification
                                    ? group.lowest_classification
                                    : group.lowest_classification + " to " + group.highest_classification;
      fmt::print(out, "  {} -> {}: {}, {}\n", group.sender, group.recipient, group.category, purpose_text(group));
      fmt::print(out, "    {} -> {}; {} ({} {}); {} node {}\n", to_string(group.old_state), to_string(group.new_state),
                 range, group.labels.size(), group.labels.size() == 1 ? "label" : "labels", group.node_pairs,
                 group.node_pairs == 1 ? "pair" : "pairs");
      fmt::print(out, "    rules: {} -> {}\n", rule_list(group.old_rules), rule_list(group.new_rules));
      const ChangeExample& example = group.example;
      fmt::print(out, "    e.g. {} -> {}, {} for {}, label {}{}\n", example.sender, example.recipient, example.category,
                 example.purpose.empty() ? "(no purpose)" : example.purpose, label_text(example.label),
                 example.occasional_available ? ", occasional release available" : "");
      fmt::print(out, "      old: {}\n",
                 side_text(group.old_state, example.old_rule, example.old_handling, example.old_detail));
      fmt::print(out, "      new: {}\n",
                 side_text(group.new_state, example.new_rule, example.new_handling, example.new_detail));
    }
  }
  fmt::print(out, "\n{} flows opened, {} closed, {} holds added, {} removed, {} handling changes (groups)\n",
             diff.count(ChangeKind::opened), diff.count(ChangeKind::closed), diff.count(ChangeKind::hold_added),
             diff.count(ChangeKind::hold_removed), diff.count(ChangeKind::handling_changed));
}

void write_diff_json(std::ostream& out, const PolicyDiff& diff, std::size_t limit) {
  std::vector<std::string> purposes = diff.purposes;
  std::string json = "{";
  json += fmt::format("\"old\":{},\"new\":{},\"equivalent\":{},", json_quote(diff.old_file), json_quote(diff.new_file),
                      diff.equivalent());
  json += fmt::format(
      "\"compared\":{{\"nodes\":{},\"categories\":{},\"purposes\":{},\"labels\":{},\"labels_truncated\":{},"
      "\"sender_classes\":{},\"recipient_classes\":{},\"decide_calls\":{},\"seconds\":{:.6f}}},",
      diff.nodes.size(), json_list(diff.categories), json_list(purposes), json_labels(diff.labels),
      diff.labels_truncated, diff.sender_classes, diff.recipient_classes, diff.decide_calls, diff.seconds);
  std::vector<std::string> labels_old, labels_new;
  for (const LabelValidityChange& change : diff.label_validity) {
    (change.valid_in_old ? labels_old : labels_new).push_back(label_text(change.label));
  }
  json += fmt::format("\"only_old\":{{\"nodes\":{},\"categories\":{},\"purposes\":{},\"valid_labels\":{}}},",
                      json_list(diff.nodes_only_old), json_list(diff.categories_only_old),
                      json_list(diff.purposes_only_old), json_list(labels_old));
  json += fmt::format("\"only_new\":{{\"nodes\":{},\"categories\":{},\"purposes\":{},\"valid_labels\":{}}},",
                      json_list(diff.nodes_only_new), json_list(diff.categories_only_new),
                      json_list(diff.purposes_only_new), json_list(labels_new));
  json += fmt::format(
      "\"counts\":{{\"opened\":{},\"closed\":{},\"hold_added\":{},\"hold_removed\":{},"
      "\"handling_changed\":{}}},",
      diff.count(ChangeKind::opened), diff.count(ChangeKind::closed), diff.count(ChangeKind::hold_added),
      diff.count(ChangeKind::hold_removed), diff.count(ChangeKind::handling_changed));
  json += "\"groups\":[";
  std::map<ChangeKind, std::size_t> shown;
  bool first = true;
  for (const ChangeGroup& group : diff.groups) {
    if (limit > 0 && shown[group.kind]++ >= limit) continue;
    const ChangeExample& example = group.example;
    json += first ? "" : ",";
    first = false;
    json += fmt::format(
        "{{\"kind\":\"{}\",\"old_state\":\"{}\",\"new_state\":\"{}\",\"sender\":{},\"recipient\":{},"
        "\"category\":{},\"purposes\":{},\"all_purposes\":{},\"lowest_classification\":{},"
        "\"highest_classification\":{},\"labels\":{},\"node_pairs\":{},\"points\":{},\"old_rules\":{},"
        "\"new_rules\":{},\"example\":{{\"from\":{},\"to\":{},\"category\":{},\"purpose\":{},\"label\":{},"
        "\"occasional_available\":{},\"old_rule\":{},\"new_rule\":{},\"old_detail\":{},\"new_detail\":{},"
        "\"old_handling\":{},\"new_handling\":{}}}}}",
        to_string(group.kind), state_code(group.old_state), state_code(group.new_state), json_quote(group.sender),
        json_quote(group.recipient), json_quote(group.category), json_list(group.purposes), group.all_purposes,
        json_quote(group.lowest_classification), json_quote(group.highest_classification), json_labels(group.labels),
        group.node_pairs, group.points, json_list(group.old_rules), json_list(group.new_rules),
        json_quote(example.sender), json_quote(example.recipient), json_quote(example.category),
        json_quote(example.purpose), json_quote(label_text(example.label)), example.occasional_available,
        json_quote(example.old_rule), json_quote(example.new_rule), json_quote(example.old_detail),
        json_quote(example.new_detail), json_quote(example.old_handling), json_quote(example.new_handling));
  }
  json += "]}\n";
  out << json;
}

}  // namespace icegate::policy

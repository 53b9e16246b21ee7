// CompiledPolicy: the validated Policy turned into integers and bitsets, so
// that decide() does a handful of hash look-ups per request and then only
// integer and bit operations per portion and rule. Strings are built only to
// explain a withheld portion and for the one-sentence reason.
#include <algorithm>
#include <array>
#include <bit>
#include <climits>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gateway/policy/engine.hpp"
#include "gateway/policy/subject.hpp"

namespace icegate::policy {
namespace {

// A fixed-size set of small integers (node, category or purpose indices).
class Bits {
 public:
  Bits() = default;
  explicit Bits(std::size_t size) : words_((size + 63) / 64, 0) {}
  void set(std::size_t i) { words_[i >> 6] |= std::uint64_t{1} << (i & 63); }
  bool test(std::size_t i) const {
    std::size_t word = i >> 6;
    return word < words_.size() && ((words_[word] >> (i & 63)) & 1) != 0;
  }

 private:
  std::vector<std::uint64_t> words_;
};

// Keys view strings owned by CompiledPolicy::policy_, which never changes
// after construction, so the views stay valid for the index's lifetime.
using NameIndex = std::unordered_map<std::string_view, int>;

int lookup(const NameIndex& index, std::string_view name) {
  auto it = index.find(name);
  return it == index.end() ? -1 : it->second;
}

// Adds `name` if absent; returns its index either way.
int intern(NameIndex& index, std::string_view name) {
  auto [it, inserted] = index.emplace(name, static_cast<int>(index.size()));
  return it->second;
}

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Rows of equal-width bitsets stored end to end.
class RuleRows {
 public:
  void reset(std::size_t rows, std::size_t words) {
    words_ = words;
    bits_.assign(rows * words, 0);
  }
  void set(std::size_t row, std::size_t rule) { bits_[row * words_ + (rule >> 6)] |= std::uint64_t{1} << (rule & 63); }
  const std::uint64_t* row(std::size_t row) const { return bits_.data() + row * words_; }

 private:
  std::size_t words_ = 0;
  std::vector<std::uint64_t> bits_;
};

// A label's category indices: on the stack for any sensible label, so that
// deciding a portion allocates nothing.
class SmallIndexList {
 public:
  void clear() {
    size_ = 0;
    heap_.clear();
  }
  void push_back(int value) {
    if (size_ < inline_.size()) {
      inline_[size_] = value;
    } else {
      if (heap_.empty()) heap_.assign(inline_.begin(), inline_.end());
      heap_.push_back(value);
    }
    ++size_;
  }
  int* begin() { return size_ <= inline_.size() ? inline_.data() : heap_.data(); }
  int* end() { return begin() + size_; }
  const int* begin() const { return size_ <= inline_.size() ? inline_.data() : heap_.data(); }
  const int* end() const { return begin() + size_; }

 private:
  std::array<int, 16> inline_{};
  std::vector<int> heap_;
  std::size_t size_ = 0;
};

std::string_view kind_name(AddresseeKind kind) {
  switch (kind) {
    case AddresseeKind::node: return "node";
    case AddresseeKind::role: return "role";
    case AddresseeKind::list: return "list";
    case AddresseeKind::organisation: return "organisation";
  }
  return "unknown";
}

}  // namespace

std::string unresolved_name(const Addressee& addressee) {
  return fmt::format("{}:{}", kind_name(addressee.kind), addressee.name);
}

std::string_view purpose_phrase(std::string_view purpose) { return purpose.empty() ? "no purpose" : purpose; }

std::string out_of_bounds_detail(const Rule& rule, std::string_view classification, std::string_view category,
                                 std::string_view purpose, std::string_view sender, std::string_view recipient) {
  std::string bounds;
  if (rule.min_classification && rule.max_classification)
    bounds = fmt::format("from {} up to {}", *rule.min_classification, *rule.max_classification);
  else if (rule.max_classification)
    bounds = fmt::format("up to {}", *rule.max_classification);
  else
    bounds = fmt::format("from {}", rule.min_classification.value_or(""));
  return fmt::format("no rule permits {} {} for {} from {} to {}; {} permits only {}", classification, category,
                     purpose_phrase(purpose), sender, recipient, rule.id, bounds);
}

std::string_view to_string(PortionReason reason) {
  switch (reason) {
    case PortionReason::none: return "none";
    case PortionReason::no_rule_permits: return "no_rule_permits";
    case PortionReason::denied_by_rule: return "denied_by_rule";
    case PortionReason::above_clearance: return "above_clearance";
    case PortionReason::occasional_unavailable: return "occasional_unavailable";
    case PortionReason::missing_category: return "missing_category";
    case PortionReason::invalid_label: return "invalid_label";
  }
  return "unknown";
}

struct CompiledPolicy::Index {
  NameIndex node_by_id;
  NameIndex classification_by_name;  // index = position in the scheme = rank
  NameIndex category_by_name;        // index = position in scheme.categories
  NameIndex information_category_by_name;
  NameIndex purpose_by_name;
  NameIndex list_by_id;
  NameIndex peer_by_id;  // index = position in policy.peers
  std::unordered_map<std::string_view, std::vector<int>> nodes_by_role;
  std::unordered_map<std::string_view, std::vector<int>> nodes_by_organisation;

  // Categories a label must carry, as category indices parallel to the
  // source's names (`requires`, `requires_any_of`, `requires_exactly_one_of`);
  // -1 names no category (hand-built policies only) and is never on a label.
  struct Requirements {
    std::vector<int> all;
    std::vector<std::vector<int>> any_of;
    std::vector<std::vector<int>> exactly_one_of;
  };
  std::vector<const Classification*> classifications;  // by classification index
  std::vector<Requirements> classification_requirements;  // by classification index
  struct CategoryInfo {
    const Category* source = nullptr;
    int tag_set = -1;
    TagSetType type = TagSetType::informative;
    Bits excluded_at;  // by classification index
    Requirements required;
    std::vector<int> excludes;  // category indices, parallel to source->excludes
  };
  std::vector<CategoryInfo> categories;
  std::vector<TagSetType> tag_set_types;
  std::vector<const TagSet*> tag_sets;  // by tag set index
  std::vector<int> permissive_tag_sets;
  bool has_selection_limits = false;  // some tag set has a max_selection

  // Whether `required` (of `owner`, "category 'X'" or "classification 'X'",
  // whose source names are `all`, `any_of`, `exactly_one_of`) is met by a
  // label whose category indices are `present` (-1 for an unknown one).
  // Without `problems` it stops at the first requirement unmet; with it, it
  // describes every one there.
  template <typename Present, typename Source>
  static bool requirements_met(std::string_view kind, const Source& source, const Requirements& required,
                               const Present& present, std::vector<std::string>* problems) {
    auto on_label = [&present](int other) {
      return other >= 0 && std::find(present.begin(), present.end(), other) != present.end();
    };
    bool met = true;
    for (std::size_t k = 0; k < required.all.size(); ++k) {
      if (on_label(required.all[k])) continue;
      met = false;
      if (!problems) return false;
      problems->push_back(fmt::format("{} '{}' requires '{}', which is absent", kind, source.name,
                                      source.requires_categories[k]));
    }
    for (std::size_t g = 0; g < required.any_of.size(); ++g) {
      const auto& group = required.any_of[g];
      if (std::any_of(group.begin(), group.end(), on_label)) continue;
      met = false;
      if (!problems) return false;
      problems->push_back(fmt::format("{} '{}' requires one or more of {}, and none is present", kind, source.name,
                                      fmt::join(source.requires_any_of[g], ", ")));
    }
    for (std::size_t g = 0; g < required.exactly_one_of.size(); ++g) {
      const auto& group = required.exactly_one_of[g];
      const auto count = std::count_if(group.begin(), group.end(), on_label);
      if (count == 1) continue;
      met = false;
      if (!problems) return false;
      problems->push_back(fmt::format("{} '{}' requires exactly one of {}, and {} present", kind, source.name,
                                      fmt::join(source.requires_exactly_one_of[g], ", "),
                                      count == 0 ? std::string("none is") : fmt::format("{} are", count)));
    }
    return met;
  }

  // The rules of category `index` on a label whose category indices are
  // `present` (-1 for an unknown one), at classification index
  // `classification` (-1 for an unknown one); problems as requirements_met.
  // decide() and label_problems() share these checks, so that what is
  // withheld as invalid is exactly what label_problems() explains.
  template <typename Present>
  bool category_valid(int index, int classification, const Present& present,
                      std::vector<std::string>* problems) const {
    const CategoryInfo& info = categories[static_cast<std::size_t>(index)];
    const Category& category = *info.source;
    bool valid = true;
    if (classification >= 0 && info.excluded_at.test(static_cast<std::size_t>(classification))) {
      valid = false;
      if (!problems) return false;
      problems->push_back(fmt::format("category '{}' is not allowed at {}", category.name,
                                      classifications[static_cast<std::size_t>(classification)]->name));
    }
    if (!requirements_met("category", category, info.required, present, problems)) {
      valid = false;
      if (!problems) return false;
    }
    for (std::size_t k = 0; k < info.excludes.size(); ++k) {
      const int other = info.excludes[k];
      if (other < 0 || std::find(present.begin(), present.end(), other) == present.end()) continue;
      valid = false;
      if (!problems) return false;
      problems->push_back(
          fmt::format("category '{}' excludes '{}', which is present", category.name, category.excludes[k]));
    }
    return valid;
  }

  // The categories classification index `classification` requires on a label.
  template <typename Present>
  bool classification_valid(int classification, const Present& present, std::vector<std::string>* problems) const {
    if (classification < 0) return true;
    const auto c = static_cast<std::size_t>(classification);
    return requirements_met("classification", *classifications[c], classification_requirements[c], present,
                            problems);
  }

  // Each tag set's max_selection over the label's category indices `present`
  // (-1 for an unknown one, possibly repeated); problems as category_valid.
  template <typename Present>
  bool selections_valid(const Present& present, std::vector<std::string>* problems) const {
    if (!has_selection_limits) return true;
    bool valid = true;
    std::vector<int> members;
    for (std::size_t t = 0; t < tag_sets.size(); ++t) {
      const int limit = tag_sets[t]->max_selection;
      if (limit <= 0) continue;
      members.clear();
      for (int index : present) {
        if (index < 0 || categories[static_cast<std::size_t>(index)].tag_set != static_cast<int>(t)) continue;
        if (std::find(members.begin(), members.end(), index) == members.end()) members.push_back(index);
      }
      if (static_cast<int>(members.size()) <= limit) continue;
      valid = false;
      if (!problems) return false;
      std::sort(members.begin(), members.end());
      std::vector<std::string_view> names;
      for (int index : members) names.push_back(categories[static_cast<std::size_t>(index)].source->name);
      problems->push_back(fmt::format("tag set '{}' allows at most {} {} on a label; this one has {} ({})",
                                      tag_sets[t]->name, limit, limit == 1 ? "category" : "categories",
                                      members.size(), fmt::join(names, ", ")));
    }
    return valid;
  }

  struct NodeInfo {
    int vetting = -1;  // index into policy.vetting
    int regular_rank = -1;
    int occasional_rank = -1;
    Bits held;  // category indices
  };
  std::vector<NodeInfo> nodes;

  // Rules are selected with bitsets over rule indices, one row per sender
  // node, recipient node, purpose and information category: the rules that
  // apply to a request are the AND of four rows, a few words for hundreds of
  // rules, and their set bits come out in file order. (This is the per-rule
  // "which nodes does it match" bitset, transposed, so that decide() reads
  // four contiguous rows instead of three bitsets per rule.)
  std::size_t rule_words = 0;  // words per row
  RuleRows sender_rules;       // by node: rules whose `from` matches it
  RuleRows recipient_rules;    // by node: rules whose `to` matches it
  RuleRows origin_rules;       // by peer: rules whose `from` names it in `peers` (a remote sender from there)
  RuleRows purpose_rules;      // by purpose: rules naming it or naming none
  RuleRows category_rules;     // by information category: rules naming it or naming none
  std::vector<std::uint64_t> any_purpose_rules;   // rules naming no purpose
  std::vector<std::uint64_t> any_category_rules;  // rules naming no category
  std::vector<int> rule_min_rank;  // INT_MIN when open
  std::vector<int> rule_max_rank;  // INT_MAX when open
  std::vector<std::uint64_t> deny_rules;  // one bit per deny rule

  std::vector<std::vector<int>> list_members;  // by list index, node indices ascending

  NameIndex event_by_id;
  std::vector<const EventDef*> events;  // by event index
  std::vector<Bits> event_triggerers;   // by event index: nodes that may trigger it

  // Step 6 of a decision: the first category on a label (category indices,
  // sorted) that `node` fails, or nothing when it passes. For a restrictive
  // set, `category` is the missing one; for a permissive set, `tag_set` is the
  // set none of whose categories on the label the node holds.
  struct CategoryFailure {
    int category = -1;
    int tag_set = -1;
  };
  template <typename LabelCategories>
  std::optional<CategoryFailure> check_categories(const NodeInfo& node, LabelCategories& label_categories) const {
    for (int index : label_categories) {
      const CategoryInfo& info = categories[static_cast<std::size_t>(index)];
      if (info.type == TagSetType::restrictive && !node.held.test(static_cast<std::size_t>(index))) {
        return CategoryFailure{index, -1};
      }
    }
    for (const int tag_set : permissive_tag_sets) {
      bool on_label = false;
      bool held = false;
      for (int index : label_categories) {
        if (categories[static_cast<std::size_t>(index)].tag_set != tag_set) continue;
        on_label = true;
        if (node.held.test(static_cast<std::size_t>(index))) held = true;
      }
      if (on_label && !held) return CategoryFailure{-1, tag_set};
    }
    return std::nullopt;
  }
  // decide(), one step per rule of the decision model (defined with decide()).
  class Decider;
};

CompiledPolicy::CompiledPolicy(Policy policy)
    : policy_(std::move(policy)), index_(std::make_unique<Index>()) {
  Index& ix = *index_;
  const LabelScheme& scheme = policy_.scheme;

  // Ranks are positions: the scheme lists classifications lowest first.
  for (const Classification& classification : scheme.classifications) {
    if (intern(ix.classification_by_name, classification.name) == static_cast<int>(ix.classifications.size())) {
      ix.classifications.push_back(&classification);
    }
  }
  const std::size_t classification_count = ix.classification_by_name.size();

  NameIndex tag_set_by_name;
  for (const TagSet& tag_set : scheme.tag_sets) {
    int index = intern(tag_set_by_name, tag_set.name);
    if (index == static_cast<int>(ix.tag_set_types.size())) {
      ix.tag_set_types.push_back(tag_set.type);
      ix.tag_sets.push_back(&tag_set);
      if (tag_set.max_selection > 0) ix.has_selection_limits = true;
      if (tag_set.type == TagSetType::permissive) ix.permissive_tag_sets.push_back(index);
    }
  }
  for (const Category& category : scheme.categories) intern(ix.category_by_name, category.name);
  ix.categories.resize(ix.category_by_name.size());
  auto category_indices = [&ix](const std::vector<std::string>& names) {
    std::vector<int> indices;
    for (const std::string& name : names) indices.push_back(lookup(ix.category_by_name, name));
    return indices;
  };
  auto requirements = [&category_indices](const auto& source) {
    Index::Requirements result;
    result.all = category_indices(source.requires_categories);
    for (const auto& group : source.requires_any_of) result.any_of.push_back(category_indices(group));
    for (const auto& group : source.requires_exactly_one_of) {
      result.exactly_one_of.push_back(category_indices(group));
    }
    return result;
  };
  for (const Category& category : scheme.categories) {
    Index::CategoryInfo& info = ix.categories[static_cast<std::size_t>(lookup(ix.category_by_name, category.name))];
    if (info.source) continue;  // a repeated name (hand-built policies only): the first wins
    info.source = &category;
    info.tag_set = lookup(tag_set_by_name, category.tag_set);
    info.type = info.tag_set >= 0 ? ix.tag_set_types[static_cast<std::size_t>(info.tag_set)] : TagSetType::informative;
    info.excluded_at = Bits(classification_count);
    for (const std::string& excluded : category.excluded_at) {
      int classification = lookup(ix.classification_by_name, excluded);
      if (classification >= 0) info.excluded_at.set(static_cast<std::size_t>(classification));
    }
    // A requirement naming no category can never be met; -1 keeps it unmet.
    info.required = requirements(category);
    info.excludes = category_indices(category.excludes);
  }
  for (const Classification* classification : ix.classifications) {
    ix.classification_requirements.push_back(requirements(*classification));
  }

  std::unordered_map<std::string_view, const Organisation*> organisations;
  for (const Organisation& organisation : policy_.organisations) organisations.emplace(organisation.id, &organisation);
  std::unordered_map<std::string_view, const Role*> roles;
  for (const Role& role : policy_.roles) roles.emplace(role.id, &role);
  NameIndex vetting_by_name;
  for (const Vetting& vetting : policy_.vetting) intern(vetting_by_name, vetting.name);

  const std::size_t node_count = policy_.nodes.size();
  ix.nodes.resize(node_count);
  for (std::size_t n = 0; n < node_count; ++n) {
    const Node& node = policy_.nodes[n];
    intern(ix.node_by_id, node.id);
    ix.nodes_by_role[node.role].push_back(static_cast<int>(n));
    ix.nodes_by_organisation[node.organisation].push_back(static_cast<int>(n));
    Index::NodeInfo& info = ix.nodes[n];
    info.vetting = lookup(vetting_by_name, node.vetting);
    if (info.vetting >= 0) {
      const Vetting& vetting = policy_.vetting[static_cast<std::size_t>(info.vetting)];
      info.regular_rank = lookup(ix.classification_by_name, vetting.regular_ceiling);
      info.occasional_rank = std::max(info.regular_rank, lookup(ix.classification_by_name, vetting.occasional_ceiling));
    }
    info.held = Bits(ix.categories.size());
    for (const std::string& category : node.categories) {
      int index = lookup(ix.category_by_name, category);
      if (index >= 0) info.held.set(static_cast<std::size_t>(index));
    }
  }

  for (std::size_t l = 0; l < policy_.lists.size(); ++l) {
    const DistributionList& list = policy_.lists[l];
    intern(ix.list_by_id, list.id);
    std::vector<int> members;
    for (const std::string& node : list.nodes) {
      int index = lookup(ix.node_by_id, node);
      if (index >= 0) members.push_back(index);
    }
    for (const std::string& role : list.roles) {
      auto it = ix.nodes_by_role.find(role);
      if (it != ix.nodes_by_role.end()) members.insert(members.end(), it->second.begin(), it->second.end());
    }
    std::sort(members.begin(), members.end());
    members.erase(std::unique(members.begin(), members.end()), members.end());
    ix.list_members.push_back(std::move(members));
  }
  // What a matcher needs to know about each node, looked up once (through
  // the indexes above, not subject_of's linear search).
  std::vector<Subject> subjects(node_count);
  for (std::size_t n = 0; n < node_count; ++n) {
    const Node& node = policy_.nodes[n];
    auto organisation = organisations.find(node.organisation);
    auto role = roles.find(node.role);
    subjects[n].id = node.id;
    subjects[n].organisation = node.organisation;
    subjects[n].role = node.role;
    subjects[n].organisation_def = organisation == organisations.end() ? nullptr : organisation->second;
    subjects[n].role_def = role == roles.end() ? nullptr : role->second;
  }
  for (std::size_t l = 0; l < policy_.lists.size(); ++l) {
    for (int member : ix.list_members[l]) subjects[static_cast<std::size_t>(member)].lists.push_back(policy_.lists[l].id);
  }
  auto node_matches = [&](const SubjectMatcher& matcher, std::size_t n) { return matches(matcher, subjects[n]); };

  for (const EventDef& event : policy_.events) {
    if (intern(ix.event_by_id, event.id) != static_cast<int>(ix.event_triggerers.size())) continue;
    Bits triggerers(node_count);
    for (std::size_t n = 0; n < node_count; ++n) {
      if (node_matches(event.triggered_by, n)) triggerers.set(n);
    }
    ix.events.push_back(&event);
    ix.event_triggerers.push_back(std::move(triggerers));
  }

  // Information categories and purposes a rule names but the policy does not
  // declare (only possible in a hand-built Policy) are interned too, so that
  // a rule still matches the literal name.
  for (const std::string& category : policy_.information_categories) intern(ix.information_category_by_name, category);
  for (const std::string& purpose : policy_.purposes) intern(ix.purpose_by_name, purpose);
  for (const Rule& rule : policy_.rules) {
    for (const std::string& category : rule.categories) intern(ix.information_category_by_name, category);
    for (const std::string& purpose : rule.purposes) intern(ix.purpose_by_name, purpose);
  }
  const std::size_t rule_count = policy_.rules.size();
  const std::size_t words = (rule_count + 63) / 64;
  ix.rule_words = words;
  ix.sender_rules.reset(node_count, words);
  ix.recipient_rules.reset(node_count, words);
  for (const Peer& peer : policy_.peers) intern(ix.peer_by_id, peer.id);
  ix.origin_rules.reset(ix.peer_by_id.size(), words);
  ix.purpose_rules.reset(ix.purpose_by_name.size(), words);
  ix.category_rules.reset(ix.information_category_by_name.size(), words);
  ix.any_purpose_rules.assign(words, 0);
  ix.any_category_rules.assign(words, 0);
  ix.rule_min_rank.assign(rule_count, INT_MIN);
  ix.rule_max_rank.assign(rule_count, INT_MAX);
  ix.deny_rules.assign(words, 0);

  for (std::size_t r = 0; r < rule_count; ++r) {
    const Rule& rule = policy_.rules[r];
    const std::uint64_t bit = std::uint64_t{1} << (r & 63);
    if (rule.effect == Effect::deny) ix.deny_rules[r >> 6] |= bit;
    if (rule.purposes.empty()) {
      ix.any_purpose_rules[r >> 6] |= bit;
      for (std::size_t p = 0; p < ix.purpose_by_name.size(); ++p) ix.purpose_rules.set(p, r);
    } else {
      for (const std::string& purpose : rule.purposes) {
        ix.purpose_rules.set(static_cast<std::size_t>(lookup(ix.purpose_by_name, purpose)), r);
      }
    }
    if (rule.categories.empty()) {
      ix.any_category_rules[r >> 6] |= bit;
      for (std::size_t c = 0; c < ix.information_category_by_name.size(); ++c) ix.category_rules.set(c, r);
    } else {
      for (const std::string& category : rule.categories) {
        ix.category_rules.set(static_cast<std::size_t>(lookup(ix.information_category_by_name, category)), r);
      }
    }
    for (std::size_t n = 0; n < node_count; ++n) {
      if (node_matches(rule.from, n)) ix.sender_rules.set(n, r);
      if (node_matches(rule.to, n)) ix.recipient_rules.set(n, r);
    }
    // A remote sender matches only a `from` that names its origin gateway in
    // `peers` and nothing else (P056 keeps the rest empty in a checked policy).
    const SubjectMatcher& from = rule.from;
    if (from.nodes.empty() && from.organisations.empty() && from.organisation_kinds.empty() && from.roles.empty() &&
        from.levels.empty() && !from.ct_network && from.lists.empty()) {
      for (const std::string& peer : rule.from.peers) {
        const int index = lookup(ix.peer_by_id, peer);
        if (index >= 0) ix.origin_rules.set(static_cast<std::size_t>(index), r);
      }
    }
    // An unknown bound (hand-built policies only) admits nothing rather than everything.
    if (rule.min_classification) {
      int rank = lookup(ix.classification_by_name, *rule.min_classification);
      ix.rule_min_rank[r] = rank >= 0 ? rank : INT_MAX;
    }
    if (rule.max_classification) {
      int rank = lookup(ix.classification_by_name, *rule.max_classification);
      ix.rule_max_rank[r] = rank >= 0 ? rank : INT_MIN;
    }
  }
}

CompiledPolicy::~CompiledPolicy() = default;

bool CompiledPolicy::has_node(std::string_view node_id) const { return lookup(index_->node_by_id, node_id) >= 0; }

const Node* CompiledPolicy::find_node(std::string_view node_id) const {
  int index = lookup(index_->node_by_id, node_id);
  return index < 0 ? nullptr : &policy_.nodes[static_cast<std::size_t>(index)];
}

Expansion CompiledPolicy::expand(std::span<const Addressee> addressees, std::string_view sender) const {
  const Index& ix = *index_;
  std::vector<char> chosen(policy_.nodes.size(), 0);
  Expansion result;
  auto choose = [&](const std::vector<int>& nodes) {
    for (int node : nodes) chosen[static_cast<std::size_t>(node)] = 1;
    return !nodes.empty();
  };
  for (const Addressee& addressee : addressees) {
    bool resolved = false;
    switch (addressee.kind) {
      case AddresseeKind::node: {
        int node = lookup(ix.node_by_id, addressee.name);
        if (node >= 0) {
          chosen[static_cast<std::size_t>(node)] = 1;
          resolved = true;
        }
        break;
      }
      case AddresseeKind::role: {
        auto it = ix.nodes_by_role.find(addressee.name);
        resolved = it != ix.nodes_by_role.end() && choose(it->second);
        break;
      }
      case AddresseeKind::list: {
        int list = lookup(ix.list_by_id, addressee.name);
        resolved = list >= 0 && choose(ix.list_members[static_cast<std::size_t>(list)]);
        break;
      }
      case AddresseeKind::organisation: {
        auto it = ix.nodes_by_organisation.find(addressee.name);
        resolved = it != ix.nodes_by_organisation.end() && choose(it->second);
        break;
      }
    }
    if (!resolved) {
      std::string name = unresolved_name(addressee);
      if (!contains(result.unresolved, name)) result.unresolved.push_back(std::move(name));
    }
  }
  int sender_index = lookup(ix.node_by_id, sender);
  if (sender_index >= 0) chosen[static_cast<std::size_t>(sender_index)] = 0;
  for (std::size_t n = 0; n < chosen.size(); ++n) {
    if (chosen[n]) result.recipients.push_back(policy_.nodes[n].id);
  }
  return result;
}

std::vector<std::string> CompiledPolicy::label_problems(const Label& label) const {
  const Index& ix = *index_;
  std::vector<std::string> problems;
  const int classification = lookup(ix.classification_by_name, label.classification);
  if (classification < 0) problems.push_back(fmt::format("unknown classification '{}'", label.classification));
  std::vector<int> present;
  for (const std::string& name : label.categories) present.push_back(lookup(ix.category_by_name, name));
  for (std::size_t i = 0; i < label.categories.size(); ++i) {
    const std::string& name = label.categories[i];
    if (present[i] < 0) {
      problems.push_back(fmt::format("unknown category '{}'", name));
      continue;
    }
    ix.category_valid(present[i], classification, present, &problems);
  }
  ix.classification_valid(classification, present, &problems);
  ix.selections_valid(present, &problems);
  return problems;
}

Label CompiledPolicy::least_upper_bound(std::span<const Label> labels) const {
  Label result;
  // The bound of no labels is the bottom of the lattice: the lowest classification.
  if (labels.empty()) {
    if (!policy_.scheme.classifications.empty()) result.classification = policy_.scheme.classifications.front().name;
    return result;
  }
  int best_rank = INT_MIN;
  for (const Label& label : labels) {
    int rank = classification_rank(label.classification);
    if (rank > best_rank) {
      best_rank = rank;
      result.classification = label.classification;
    }
    result.categories.insert(result.categories.end(), label.categories.begin(), label.categories.end());
  }
  std::sort(result.categories.begin(), result.categories.end());
  result.categories.erase(std::unique(result.categories.begin(), result.categories.end()), result.categories.end());
  return result;
}

int CompiledPolicy::classification_rank(std::string_view classification) const {
  return lookup(index_->classification_by_name, classification);
}

CompiledPolicy::Colours CompiledPolicy::classification_colours(std::string_view classification) const {
  const int index = lookup(index_->classification_by_name, classification);
  if (index < 0) return {};
  const Classification& c = *index_->classifications[static_cast<std::size_t>(index)];
  return {c.colour, c.text_colour};
}

std::string CompiledPolicy::display_marking(const Label& label) const {
  const Index& ix = *index_;
  std::string result;
  auto add = [&result](std::string_view part) {
    if (part.empty()) return;
    if (!result.empty()) result += ' ';
    result += part;
  };
  int classification = lookup(ix.classification_by_name, label.classification);
  if (classification >= 0) {
    const Classification& c = *ix.classifications[static_cast<std::size_t>(classification)];
    add(c.marking.empty() ? c.name : c.marking);
  } else {
    add(label.classification);
  }
  std::vector<int> known;
  std::vector<std::string_view> unknown;
  for (const std::string& name : label.categories) {
    int index = lookup(ix.category_by_name, name);
    if (index >= 0) {
      known.push_back(index);
    } else {
      unknown.push_back(name);
    }
  }
  std::sort(known.begin(), known.end());
  known.erase(std::unique(known.begin(), known.end()), known.end());
  auto marking_of = [&ix](int index) -> const std::string& {
    const Category& category = *ix.categories[static_cast<std::size_t>(index)].source;
    return category.marking.empty() ? category.name : category.marking;
  };
  // Each tag set once, in scheme order, its categories (in scheme order)
  // framed by its prefix and suffix and joined by its separator, as a SPIF's
  // tag markingQualifier says: "REL TO POLICE, LOCAL AUTHORITY".
  for (std::size_t t = 0; t < ix.tag_sets.size(); ++t) {
    const TagSet& tag_set = *ix.tag_sets[t];
    std::string part;
    bool first = true;
    for (int index : known) {
      if (ix.categories[static_cast<std::size_t>(index)].tag_set != static_cast<int>(t)) continue;
      part += first ? tag_set.marking_prefix : tag_set.marking_separator;
      part += marking_of(index);
      first = false;
    }
    if (!first) add(part + tag_set.marking_suffix);
  }
  for (int index : known) {
    if (ix.categories[static_cast<std::size_t>(index)].tag_set < 0) add(marking_of(index));  // hand-built policies
  }
  for (std::string_view name : unknown) add(name);  // never silently drop what a label says
  return result;
}

// ------------------------------------------------------------------ decide

// decide(), one step per rule of the decision model (policies/README.md;
// `icegate policy explain` shows the same steps for one request). Each
// portion of a message is decided on its own:
//   1. its label must be valid under the scheme;
//   2.-4. of the rules that apply to the request (sender, recipient,
//      information category, purpose) and to the label's classification, a
//      deny overrides every permit, and with no permit nothing passes
//      (default deny);
//   5. the recipient's vetting must reach the classification: its regular
//      ceiling, or its occasional ceiling when an occasional release is
//      available;
//   6. the recipient must hold every restrictive category on the label, and
//      one of each permissive set's that is on it.
// Then the portions make the message's decision, and a permit rule that
// calls for a critical reader's review holds the whole message.
// Nested in Index so that it reaches the compiled policy's private parts
// without a declaration in engine.hpp; it lives on decide()'s stack.
// The steps were one function. Member functions defined in a class are
// inline with vague linkage, and GCC does not inline those it sees called once
// as it does a local function, so the hot steps are inlined by request: the
// split costs a decision nothing (BM_Decide in tools/bench/policy_bench).
#define ICEGATE_DECIDE_STEP [[gnu::always_inline]] inline
class CompiledPolicy::Index::Decider {
 public:
  Decider(const CompiledPolicy& compiled, const DecisionRequest& request)
      : compiled_(compiled),
        ix_(*compiled.index_),
        rules_(compiled.policy_.rules),
        request_(request),
        remote_(!request.sender_gateway.empty()),
        sender_(remote_ ? lookup(ix_.peer_by_id, request.sender_gateway) : lookup(ix_.node_by_id, request.sender)),
        recipient_(lookup(ix_.node_by_id, request.recipient)) {
    select_rules_for_request();
  }
  // candidates_ may point into the object itself.
  Decider(const Decider&) = delete;
  Decider& operator=(const Decider&) = delete;

  // Steps 1 to 6 for one portion.
  ICEGATE_DECIDE_STEP void decide_portion(const Label& label, PortionDecision& portion) {
    int rank = -1;
    if (!label_valid_under_scheme(label, rank)) {
      withhold_invalid_label(label, portion);
      return;
    }
    const RuleChoice choice = combine_rules_deny_overrides(rank);
    if (choice.deny >= 0) {
      withhold_denied(choice.deny, portion);
      return;
    }
    if (choice.permit < 0) {
      withhold_by_default_deny(label, choice.out_of_bounds_permit, portion);
      return;
    }
    portion.rule = choice.permit;
    const NodeInfo& node = ix_.nodes[static_cast<std::size_t>(recipient_)];
    if (!within_clearance(label, rank, node, portion)) return;
    if (!holds_label_categories(node, portion)) return;
    release(label, node, portion);
  }

  // What the portions add up to, for the message's decision and reason.
  struct PortionTally {
    std::size_t released = 0;
    const PortionDecision* first_withheld = nullptr;
    bool all_denied_by_rule = true;
    bool all_same_detail = true;
    std::vector<int> reviewing_rules;  // permit rules with review_by that released a portion
  };

  // The rules that decided the portions, and the handling of every rule that
  // released something, which applies to the whole of what the recipient gets.
  ICEGATE_DECIDE_STEP PortionTally combine_portions(PolicyDecision& out) const {
    PortionTally tally;
    for (const PortionDecision& portion : out.portions) {
      if (portion.rule >= 0) out.rules.push_back(portion.rule);
      if (portion.released) {
        ++tally.released;
        out.used_occasional = out.used_occasional || portion.occasional;
        const RuleHandling& handling = rules_[static_cast<std::size_t>(portion.rule)].handling;
        out.originator_control = out.originator_control || handling.originator_control;
        out.no_onward_sharing = out.no_onward_sharing || handling.no_onward_sharing;
        if (handling.requires_review()) {
          tally.reviewing_rules.push_back(portion.rule);
          out.review_roles.insert(out.review_roles.end(), handling.review_by.begin(), handling.review_by.end());
        }
        continue;
      }
      if (!tally.first_withheld) tally.first_withheld = &portion;
      if (portion.reason != PortionReason::denied_by_rule) tally.all_denied_by_rule = false;
      if (portion.detail != tally.first_withheld->detail) tally.all_same_detail = false;
    }
    std::sort(out.rules.begin(), out.rules.end());
    out.rules.erase(std::unique(out.rules.begin(), out.rules.end()), out.rules.end());
    std::sort(tally.reviewing_rules.begin(), tally.reviewing_rules.end());
    tally.reviewing_rules.erase(std::unique(tally.reviewing_rules.begin(), tally.reviewing_rules.end()),
                                tally.reviewing_rules.end());
    std::sort(out.review_roles.begin(), out.review_roles.end());
    out.review_roles.erase(std::unique(out.review_roles.begin(), out.review_roles.end()), out.review_roles.end());
    return tally;
  }

  // Released in full, redacted (some portions withheld) or denied, and why.
  void decide_message(PolicyDecision& out, const PortionTally& tally) const {
    const std::size_t total = out.portions.size();
    if (total == 0) {
      out.decision = Decision::deny;
      out.reason = "nothing to release: the message has no portions";
    } else if (tally.released == total) {
      out.decision = Decision::release;
      out.reason = "released in full under ";
      append_rule_ids(out.reason, out.rules);
      if (out.used_occasional) out.reason += ", using an occasional release";
    } else if (tally.released > 0) {
      out.decision = Decision::release_redacted;
      out.reason = fmt::format("{} of {} portions withheld: {}", total - tally.released, total,
                               tally.first_withheld->detail);
    } else {
      out.decision = Decision::deny;
      if (tally.all_denied_by_rule) {
        out.reason = "denied by ";
        append_rule_ids(out.reason, out.rules);
      } else if (tally.all_same_detail) {
        out.reason = tally.first_withheld->detail;
      } else {
        out.reason = fmt::format("all {} portions withheld: {}", total, tally.first_withheld->detail);
      }
    }
  }

  // A critical reader review holds the whole message: what the recipient
  // would get is decided, but nothing goes until a reviewer approves.
  void hold_for_review(PolicyDecision& out, const PortionTally& tally) const {
    if (tally.reviewing_rules.empty()) return;
    const std::size_t total = out.portions.size();
    out.decision = Decision::hold;
    std::string reason = "held for review by ";
    for (std::size_t i = 0; i < out.review_roles.size(); ++i) {
      if (i > 0) reason += i + 1 == out.review_roles.size() ? " or " : ", ";
      reason += out.review_roles[i];
    }
    reason += " under ";
    append_rule_ids(reason, tally.reviewing_rules);
    if (tally.released < total) {
      reason += fmt::format("; {} of {} portions withheld: {}", total - tally.released, total,
                            tally.first_withheld->detail);
    } else if (out.used_occasional) {
      reason += ", using an occasional release";
    }
    out.reason = std::move(reason);
  }

 private:
  // The rules that apply whatever the portion: category, purpose, sender and
  // recipient do not change between portions. None for an unknown sender or
  // recipient. Small policies use the stack.
  ICEGATE_DECIDE_STEP void select_rules_for_request() {
    const std::size_t words = ix_.rule_words;
    if (words > candidate_storage_.size()) {
      candidate_heap_.assign(words, 0);
      candidates_ = candidate_heap_.data();
    }
    if (sender_ < 0 || recipient_ < 0) return;
    const int category = lookup(ix_.information_category_by_name, request_.category);
    const int purpose = lookup(ix_.purpose_by_name, request_.purpose);
    const std::uint64_t* by_category = category >= 0 ? ix_.category_rules.row(static_cast<std::size_t>(category))
                                                     : ix_.any_category_rules.data();
    const std::uint64_t* by_purpose =
        purpose >= 0 ? ix_.purpose_rules.row(static_cast<std::size_t>(purpose)) : ix_.any_purpose_rules.data();
    const std::uint64_t* by_sender = remote_ ? ix_.origin_rules.row(static_cast<std::size_t>(sender_))
                                             : ix_.sender_rules.row(static_cast<std::size_t>(sender_));
    const std::uint64_t* by_recipient = ix_.recipient_rules.row(static_cast<std::size_t>(recipient_));
    for (std::size_t w = 0; w < words; ++w) {
      candidates_[w] = by_category[w] & by_purpose[w] & by_sender[w] & by_recipient[w];
    }
  }

  // 1. The label must make sense under the scheme. Leaves its category
  // indices in label_categories_ and its classification's rank in `rank`.
  ICEGATE_DECIDE_STEP bool label_valid_under_scheme(const Label& label, int& rank) {
    const int classification = lookup(ix_.classification_by_name, label.classification);
    bool valid = classification >= 0;
    label_categories_.clear();
    for (const std::string& name : label.categories) {
      int index = lookup(ix_.category_by_name, name);
      if (index < 0) {
        valid = false;
        break;
      }
      label_categories_.push_back(index);
    }
    if (valid) {
      for (int index : label_categories_) {
        if (!ix_.category_valid(index, classification, label_categories_, nullptr)) {
          valid = false;
          break;
        }
      }
      valid = valid && ix_.classification_valid(classification, label_categories_, nullptr) &&
              ix_.selections_valid(label_categories_, nullptr);
    }
    rank = classification;
    return valid;
  }

  void withhold_invalid_label(const Label& label, PortionDecision& portion) const {
    portion.reason = PortionReason::invalid_label;
    std::string detail = "invalid label: ";
    auto problems = compiled_.label_problems(label);
    for (std::size_t i = 0; i < problems.size(); ++i) detail += (i ? "; " : "") + problems[i];
    portion.detail = std::move(detail);
  }

  struct RuleChoice {
    int deny = -1;
    int permit = -1;
    int out_of_bounds_permit = -1;  // the first permit that applies but for its classification bounds
  };

  // 2.-4. Applicable rules, deny-overrides, default deny. Denies first, then
  // the first permit: each scan stops at its first hit, so a long tail of
  // permits costs nothing.
  ICEGATE_DECIDE_STEP RuleChoice combine_rules_deny_overrides(int rank) const {
    RuleChoice choice;
    const std::size_t words = ix_.rule_words;
    auto in_bounds = [&](std::size_t r) { return rank >= ix_.rule_min_rank[r] && rank <= ix_.rule_max_rank[r]; };
    for (std::size_t w = 0; w < words && choice.deny < 0; ++w) {
      for (std::uint64_t bits = candidates_[w] & ix_.deny_rules[w]; bits != 0; bits &= bits - 1) {
        const std::size_t r = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
        if (in_bounds(r)) {
          choice.deny = static_cast<int>(r);
          break;
        }
      }
    }
    for (std::size_t w = 0; w < words && choice.deny < 0 && choice.permit < 0; ++w) {
      for (std::uint64_t bits = candidates_[w] & ~ix_.deny_rules[w]; bits != 0; bits &= bits - 1) {
        const std::size_t r = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
        if (in_bounds(r)) {
          choice.permit = static_cast<int>(r);
          break;
        }
        if (choice.out_of_bounds_permit < 0) choice.out_of_bounds_permit = static_cast<int>(r);
      }
    }
    return choice;
  }

  void withhold_denied(int deny, PortionDecision& portion) const {
    portion.reason = PortionReason::denied_by_rule;
    portion.rule = deny;
    const Rule& rule = rules_[static_cast<std::size_t>(deny)];
    portion.detail = rule.description.empty() ? fmt::format("denied by {}", rule.id)
                                              : fmt::format("denied by {}: {}", rule.id, rule.description);
  }

  void withhold_by_default_deny(const Label& label, int out_of_bounds_permit, PortionDecision& portion) const {
    portion.reason = PortionReason::no_rule_permits;
    if (sender_ < 0 && remote_) {
      portion.detail = fmt::format("sender '{}' is at gateway '{}', which is not a peer of this policy",
                                   request_.sender, request_.sender_gateway);
    } else if (sender_ < 0) {
      portion.detail = fmt::format("sender '{}' is not a node of this policy", request_.sender);
    } else if (recipient_ < 0) {
      portion.detail = fmt::format("recipient '{}' is not a node of this policy", request_.recipient);
    } else if (out_of_bounds_permit >= 0) {
      portion.detail =
          out_of_bounds_detail(rules_[static_cast<std::size_t>(out_of_bounds_permit)], label.classification,
                               request_.category, request_.purpose, request_.sender, request_.recipient);
    } else {
      portion.detail = fmt::format("no rule permits {} for {} from {} to {}", request_.category,
                                   purpose_phrase(request_.purpose), request_.sender, request_.recipient);
    }
  }

  // 5. Clearance: the regular ceiling, else the occasional one if available.
  ICEGATE_DECIDE_STEP bool within_clearance(const Label& label, int rank, const NodeInfo& node,
                                            PortionDecision& portion) const {
    if (rank <= node.regular_rank) return true;
    if (node.vetting < 0) {
      portion.reason = PortionReason::above_clearance;
      portion.detail = fmt::format("{} has no vetting this policy defines", request_.recipient);
      return false;
    }
    const Vetting& vetting = compiled_.policy_.vetting[static_cast<std::size_t>(node.vetting)];
    if (rank > node.occasional_rank) {
      portion.reason = PortionReason::above_clearance;
      portion.detail = node.occasional_rank == node.regular_rank
                           ? fmt::format("{} is above {}'s ceiling {}", label.classification, vetting.name,
                                         vetting.regular_ceiling)
                           : fmt::format("{} is above {}'s occasional ceiling {}", label.classification,
                                         vetting.name, vetting.occasional_ceiling);
      return false;
    }
    if (!request_.occasional_available) {
      portion.reason = PortionReason::occasional_unavailable;
      portion.detail = fmt::format("{} is above {}'s regular ceiling {} and no occasional release is available",
                                   label.classification, vetting.name, vetting.regular_ceiling);
      return false;
    }
    portion.occasional = true;
    return true;
  }

  // 6. Categories: every restrictive one held; one of each permissive set's.
  ICEGATE_DECIDE_STEP bool holds_label_categories(const NodeInfo& node, PortionDecision& portion) {
    std::sort(label_categories_.begin(), label_categories_.end());
    const auto failure = ix_.check_categories(node, label_categories_);
    if (!failure) return true;
    portion.reason = PortionReason::missing_category;
    if (failure->category >= 0) {
      portion.detail = fmt::format("{} does not hold {}", request_.recipient,
                                   ix_.categories[static_cast<std::size_t>(failure->category)].source->name);
    } else {
      std::string listed;
      for (int index : label_categories_) {
        if (ix_.categories[static_cast<std::size_t>(index)].tag_set != failure->tag_set) continue;
        listed += fmt::format("{}{}", listed.empty() ? "" : ", ",
                              ix_.categories[static_cast<std::size_t>(index)].source->name);
      }
      portion.detail = fmt::format("{} holds none of {}", request_.recipient, listed);
    }
    portion.occasional = false;
    return false;
  }

  ICEGATE_DECIDE_STEP void release(const Label& label, const NodeInfo& node, PortionDecision& portion) const {
    portion.released = true;
    portion.reason = PortionReason::none;
    if (portion.occasional) {
      const Vetting& vetting = compiled_.policy_.vetting[static_cast<std::size_t>(node.vetting)];
      portion.detail = fmt::format("released under the occasional allowance: {} is above {}'s regular ceiling {}",
                                   label.classification, vetting.name, vetting.regular_ceiling);
    }
  }

  // "a", "a and b", "a, b and c"
  void append_rule_ids(std::string& text, const std::vector<int>& rules) const {
    for (std::size_t i = 0; i < rules.size(); ++i) {
      if (i > 0) text += i + 1 == rules.size() ? " and " : ", ";
      text += rules_[static_cast<std::size_t>(rules[i])].id;
    }
  }

  const CompiledPolicy& compiled_;
  const Index& ix_;
  const std::vector<Rule>& rules_;
  const DecisionRequest& request_;
  const bool remote_;  // the sender is at another gateway: sender_ indexes the peers
  const int sender_;
  const int recipient_;
  std::array<std::uint64_t, 16> candidate_storage_{};
  std::vector<std::uint64_t> candidate_heap_;
  std::uint64_t* candidates_ = candidate_storage_.data();
  SmallIndexList label_categories_;  // the current portion's, reused across portions
};

#undef ICEGATE_DECIDE_STEP

PolicyDecision CompiledPolicy::decide(const DecisionRequest& request) const {
  Index::Decider decider(*this, request);
  PolicyDecision out;
  out.portions.resize(request.portion_labels.size());
  for (std::size_t p = 0; p < request.portion_labels.size(); ++p) {
    decider.decide_portion(request.portion_labels[p], out.portions[p]);
  }
  const Index::Decider::PortionTally tally = decider.combine_portions(out);
  decider.decide_message(out, tally);
  decider.hold_for_review(out, tally);
  return out;
}

RecipientDecision recipient_decision(const CompiledPolicy& policy, const Message& message, std::string recipient,
                                     const PolicyDecision& decision) {
  RecipientDecision out;
  out.node_id = std::move(recipient);
  out.decision = decision.decision;
  out.reason = decision.reason;
  out.occasional = decision.used_occasional;
  std::vector<Label> released;
  for (std::size_t i = 0; i < message.portions.size(); ++i) {
    const Portion& portion = message.portions[i];
    const PortionDecision& outcome = decision.portions.at(i);
    if (outcome.released) {
      out.released_portion_ids.push_back(portion.id);
      released.push_back(portion.label);
    } else {
      WithheldPortion withheld{portion.id, portion.label,
                               outcome.detail.empty() ? std::string(to_string(outcome.reason)) : outcome.detail, {}};
      if (outcome.rule >= 0) withheld.rule_ids.push_back(policy.rule(outcome.rule).id);
      out.withheld.push_back(std::move(withheld));
    }
  }
  if (!released.empty()) out.released_label = policy.least_upper_bound(released);
  for (int rule : decision.rules) out.rule_ids.push_back(policy.rule(rule).id);
  return out;
}

bool CompiledPolicy::holds_role(std::string_view node_id, std::string_view role) const {
  const Node* node = find_node(node_id);
  return node && node->role == role;
}

std::vector<std::string> CompiledPolicy::nodes_with_role(std::string_view role) const {
  std::vector<std::string> result;
  auto it = index_->nodes_by_role.find(role);
  if (it == index_->nodes_by_role.end()) return result;
  for (int node : it->second) result.push_back(policy_.nodes[static_cast<std::size_t>(node)].id);
  return result;
}

bool CompiledPolicy::has_event(std::string_view event) const { return lookup(index_->event_by_id, event) >= 0; }

const EventDef* CompiledPolicy::find_event(std::string_view event) const {
  int index = lookup(index_->event_by_id, event);
  return index < 0 ? nullptr : index_->events[static_cast<std::size_t>(index)];
}

bool CompiledPolicy::may_trigger(std::string_view node_id, std::string_view event) const {
  const int node = lookup(index_->node_by_id, node_id);
  const int index = lookup(index_->event_by_id, event);
  if (node < 0 || index < 0) return false;
  return index_->event_triggerers[static_cast<std::size_t>(index)].test(static_cast<std::size_t>(node));
}

bool CompiledPolicy::cleared_for(std::string_view node_id, const Label& label) const {
  const Index& ix = *index_;
  const int node = lookup(ix.node_by_id, node_id);
  if (node < 0 || !label_problems(label).empty()) return false;
  const Index::NodeInfo& info = ix.nodes[static_cast<std::size_t>(node)];
  if (ix.classification_by_name.at(label.classification) > info.regular_rank) return false;
  std::vector<int> label_categories;
  for (const std::string& name : label.categories) label_categories.push_back(lookup(ix.category_by_name, name));
  std::sort(label_categories.begin(), label_categories.end());
  return !ix.check_categories(info, label_categories).has_value();
}

}  // namespace icegate::policy

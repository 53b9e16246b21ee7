#include "gateway/policy/validator.hpp"

#include "gateway/policy/checker.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <map>
#include <set>
#include <span>
#include <string_view>

#include <fmt/format.h>

#include "gateway/policy/peers.hpp"

namespace icegate::policy {
namespace {

// ---- Keys each mapping may have ---------------------------------------------

constexpr std::string_view kPolicyKeys[] = {
    "policy", "description", "scheme",  "levels",  "vetting",  "occasional_allowance",
    "organisations", "roles", "nodes", "lists", "information_categories", "purposes",
    "combining", "rules", "events", "accept_schemes", "peers"};
constexpr std::string_view kPeerKeys[] = {"id", "address", "ca", "holds", "receives", "speaks_for"};
constexpr std::string_view kPeerHoldsKeys[] = {"max_classification", "categories"};
constexpr std::string_view kPeerReceivesKeys[] = {"categories", "purposes"};
constexpr std::string_view kPeerSpeaksForKeys[] = {"organisations", "nodes", "roles"};
constexpr std::string_view kVettingKeys[] = {"name", "regular", "occasional"};
constexpr std::string_view kAllowanceKeys[] = {"releases", "window"};
constexpr std::string_view kOrganisationKeys[] = {"id", "name", "kind", "ct_network"};
constexpr std::string_view kRoleKeys[] = {"id", "name", "level"};
constexpr std::string_view kNodeKeys[] = {"id", "name", "organisation", "role", "vetting", "categories"};
constexpr std::string_view kListKeys[] = {"id", "name", "nodes", "roles"};
constexpr std::string_view kRuleKeys[] = {"id",   "description", "effect",
                                          "categories", "purposes", "from",
                                          "to", "min_classification", "max_classification",
                                          "handling"};
constexpr std::string_view kMatcherKeys[] = {"nodes", "organisations", "organisation_kinds", "roles",
                                             "levels", "ct_network",    "lists",              "peers"};
constexpr std::string_view kHandlingKeys[] = {"review_by", "originator_control", "no_onward_sharing"};
constexpr std::string_view kEventKeys[] = {"id", "description", "triggered_by"};
constexpr std::string_view kSchemeKeys[] = {"scheme", "description", "classifications", "tag_sets", "equivalences"};
constexpr std::string_view kEquivalenceKeys[] = {"to", "description", "classifications", "categories"};
constexpr std::string_view kMappingKeys[] = {"name", "to", "one_of", "none", "note"};
constexpr std::string_view kClassificationKeys[] = {"name",     "marking",         "colour",
                                                    "text_colour", "requires",  "requires_any_of",
                                                    "requires_exactly_one_of"};
constexpr std::string_view kTagSetKeys[] = {"name",           "type",           "max_selection", "marking_prefix",
                                            "marking_separator", "marking_suffix", "categories"};
constexpr std::string_view kCategoryKeys[] = {"name",     "marking",         "excluded_at",
                                              "requires", "requires_any_of", "requires_exactly_one_of",
                                              "excludes"};

// ---- Small helpers ----------------------------------------------------------

bool is_hex_colour(std::string_view text) {
  if (text.size() != 7 || text[0] != '#') return false;
  return std::all_of(text.begin() + 1, text.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// "30d", "12h", "90m", "45s", or several of them: "1d12h".
std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  long long total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    long long number = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      number = number * 10 + (text[i] - '0');
      if (number > 1'000'000'000LL) return std::nullopt;
      ++i;
    }
    if (i == start || i == text.size()) return std::nullopt;
    long long unit = 0;
    switch (text[i]) {
      case 'd': unit = 86400; break;
      case 'h': unit = 3600; break;
      case 'm': unit = 60; break;
      case 's': unit = 1; break;
      default: return std::nullopt;
    }
    ++i;
    total += number * unit;
    if (total > (1LL << 50)) return std::nullopt;
  }
  return std::chrono::seconds(total);
}

// ---- The label scheme ---------------------------------------------------------

class SchemeValidator {
 public:
  explicit SchemeValidator(Diagnostics& diagnostics) : check_(diagnostics) {}

  LabelScheme validate(const SyntaxNode& root) {
    LabelScheme scheme;
    if (!check_.expect_mapping(root, "a label scheme")) return scheme;
    check_.check_keys(root, "the scheme", kSchemeKeys);
    if (auto name = check_.read_required_string(root, "scheme", "the scheme")) scheme.name = name->value;
    if (auto description = check_.read_optional_string(root, "description", "'description'")) {
      scheme.description = description->value;
    }

    if (const SyntaxNode* classifications = check_.require(root, "classifications", "the scheme")) {
      read_classifications(*classifications, scheme);
    }
    if (const SyntaxNode* tag_sets = root.find("tag_sets")) read_tag_sets(*tag_sets, scheme);
    resolve_requires();
    if (const SyntaxNode* equivalences = root.find("equivalences")) read_equivalences(*equivalences, scheme);
    return scheme;
  }

 private:
  // `equivalences:`: how this scheme's labels are written under other
  // schemes. The other scheme's names are checked when both are loaded
  // (check_equivalence); here, the shape and this scheme's names.
  void read_equivalences(const SyntaxNode& node, LabelScheme& scheme) {
    std::map<std::string, SourceLocation, std::less<>> seen;
    for (const SyntaxNode* entry : check_.read_entries(node, "equivalences")) {
      check_.check_keys(*entry, "equivalence", kEquivalenceKeys);
      SchemeEquivalence equivalence;
      equivalence.location = entry->location;
      auto to = check_.read_required_string(*entry, "to", "equivalence");
      bool ok = to.has_value();
      if (to) {
        equivalence.to = to->value;
        if (!scheme.name.empty() && to->value == scheme.name) {
          check_.diagnostics().error(Code::P040, to->location,
                                     fmt::format("scheme {} declares an equivalence to itself", to->value));
          ok = false;
        } else if (auto [it, inserted] = seen.emplace(to->value, to->location); !inserted) {
          check_.diagnostics().error(Code::P040, to->location,
                                     fmt::format("a second equivalence to scheme {} (the first is at {})", to->value,
                                                 to_string(it->second)));
          ok = false;
        }
      }
      if (auto description = check_.read_optional_string(*entry, "description", "'description'")) {
        equivalence.description = description->value;
      }
      std::set<std::string, std::less<>> written;  // names with a mapping, sound or not
      if (const SyntaxNode* list = entry->find("classifications")) {
        equivalence.classifications = read_mappings(*list, "classifications", classification_names_, written);
      }
      if (const SyntaxNode* list = entry->find("categories")) {
        equivalence.categories = read_mappings(*list, "categories", category_names_, written);
      }
      if (!ok) continue;
      warn_unmapped(equivalence, "classification", classification_names_, written);
      warn_unmapped(equivalence, "category", category_names_, written);
      scheme.equivalences.push_back(std::move(equivalence));
    }
  }

  // A name of this scheme with no mapping cannot be translated: say so once
  // here, so that the gap is a decision someone wrote down (`none: true`).
  void warn_unmapped(const SchemeEquivalence& equivalence, std::string_view kind, const Names& names,
                     const std::set<std::string, std::less<>>& written) {
    for (const std::string& name : names.in_order()) {
      if (written.contains(name)) continue;
      check_.diagnostics().warning(
          Code::P044, equivalence.location,
          fmt::format("{} '{}' has no mapping to {}: labels carrying it cannot be translated (write it with "
                      "`none: true` and a note to say so)",
                      kind, name, equivalence.to));
    }
  }

  std::vector<EquivalenceMapping> read_mappings(const SyntaxNode& node, std::string_view section, const Names& names,
                                                std::set<std::string, std::less<>>& written) {
    std::vector<EquivalenceMapping> mappings;
    std::map<std::string, SourceLocation, std::less<>> seen;
    for (const SyntaxNode* entry : check_.read_entries(node, section)) {
      check_.check_keys(*entry, "mapping", kMappingKeys);
      EquivalenceMapping mapping;
      mapping.location = entry->location;
      auto name = check_.read_required_string(*entry, "name", "mapping");
      bool ok = name.has_value();
      if (name) {
        mapping.name = name->value;
        written.insert(name->value);
        ok = check_.reference(names, *name, Code::P041) && ok;
        if (auto [it, inserted] = seen.emplace(name->value, name->location); !inserted) {
          check_.diagnostics().error(Code::P042, name->location,
                                     fmt::format("'{}' is mapped twice (the first is at {})", name->value,
                                                 to_string(it->second)));
          ok = false;
        }
      }
      if (auto note = check_.read_optional_string(*entry, "note", "'note'")) mapping.note = note->value;
      const SyntaxNode* to = entry->find("to");
      const SyntaxNode* one_of = entry->find("one_of");
      const SyntaxNode* none = entry->find("none");
      const int given = (to ? 1 : 0) + (one_of ? 1 : 0) + (none ? 1 : 0);
      const std::string what = describe_entry("mapping of", name);
      if (given != 1) {
        check_.diagnostics().error(
            Code::P043, entry->location,
            fmt::format("{} needs exactly one of 'to', 'one_of' and 'none', found {}", what, given));
        ok = false;
      } else if (to) {
        if (auto target = check_.read_string(*to, "'to'")) {
          mapping.kind = EquivalenceKind::exact;
          mapping.targets.push_back({target->value, target->location});
        } else {
          ok = false;
        }
      } else if (one_of) {
        mapping.kind = EquivalenceKind::one_of;
        for (const LocatedString& target : check_.read_string_list(*one_of, "'one_of'")) {
          if (std::none_of(mapping.targets.begin(), mapping.targets.end(),
                           [&target](const EquivalenceName& t) { return t.name == target.value; })) {
            mapping.targets.push_back({target.value, target.location});
          }
        }
        if (one_of->is_sequence() && mapping.targets.size() < 2) {
          check_.diagnostics().error(
              Code::P043, one_of->location,
              fmt::format("'one_of' of {} needs two or more different names; for one, write 'to'", what));
          ok = false;
        }
      } else {
        auto flag = check_.read_bool(*none, "'none'");
        if (flag && !*flag) {
          check_.diagnostics().error(Code::P043, none->location,
                                     fmt::format("'none: false' says nothing: give {} 'to' or 'one_of'", what));
          ok = false;
        } else if (flag && mapping.note.empty()) {
          check_.diagnostics().error(
              Code::P043, none->location,
              fmt::format("{} has 'none' but no 'note': the note is the reason a refused sender reads", what));
          ok = false;
        }
        mapping.kind = EquivalenceKind::none;
        ok = flag.has_value() && ok;
      }
      if (ok) mappings.push_back(std::move(mapping));
    }
    return mappings;
  }

  // A label is written CLASSIFICATION/CATEGORY/... (policy tests, `icegate
  // label`, explain and diff output), so a name containing '/' could never be
  // written on one, and a label printed in that form would be ambiguous.
  void check_label_name(const LocatedString& name, std::string_view kind) {
    if (name.value.find('/') == std::string::npos) return;
    check_.diagnostics().error(
        Code::P028, name.location,
        fmt::format("{} name '{}' contains '/', which separates the parts of a label (CLASSIFICATION/CATEGORY/...)",
                    kind, name.value));
  }

  void read_classifications(const SyntaxNode& node, LabelScheme& scheme) {
    auto entries = check_.read_entries(node, "classifications");
    if (node.is_sequence() && node.items.empty()) {
      check_.diagnostics().error(Code::P020, node.location, "the scheme defines no classifications");
    }
    for (const SyntaxNode* entry : entries) {
      check_.check_keys(*entry, "classification", kClassificationKeys);
      auto name = check_.read_required_string(*entry, "name", "classification");
      Classification classification;
      classification.location = entry->location;
      bool ok = name.has_value();
      if (name) {
        classification.name = name->value;
        ok = classification_names_.define(*name, check_.diagnostics(), Code::P021, "name") && ok;
        check_label_name(*name, "classification");
      }
      if (auto marking = check_.read_optional_string(*entry, "marking", "'marking'")) {
        classification.marking = marking->value;
      } else {
        classification.marking = classification.name;
      }
      classification.colour = read_colour(*entry, "colour");
      classification.text_colour = read_colour(*entry, "text_colour");
      if (const SyntaxNode* requires_node = entry->find("requires")) {
        auto required = check_.read_string_list(*requires_node, "'requires'");
        classification.requires_categories = values(required);
        pending_references_.push_back({{}, "requires", std::move(required)});
      }
      if (const SyntaxNode* groups = entry->find("requires_any_of")) {
        classification.requires_any_of = read_groups(*groups, "requires_any_of", {});
      }
      if (const SyntaxNode* groups = entry->find("requires_exactly_one_of")) {
        classification.requires_exactly_one_of = read_groups(*groups, "requires_exactly_one_of", {});
      }
      if (!ok) continue;
      classification.rank = static_cast<int>(scheme.classifications.size());
      scheme.classifications.push_back(std::move(classification));
    }
  }

  std::string read_colour(const SyntaxNode& entry, std::string_view key) {
    auto colour = check_.read_optional_string(entry, key, fmt::format("'{}'", key));
    if (!colour) return {};
    if (!is_hex_colour(colour->value)) {
      check_.diagnostics().error(
          Code::P026, colour->location,
          fmt::format("invalid colour '{}': expected #rrggbb (six hexadecimal digits)", colour->value));
      return {};
    }
    return colour->value;
  }

  void read_tag_sets(const SyntaxNode& node, LabelScheme& scheme) {
    for (const SyntaxNode* entry : check_.read_entries(node, "tag_sets")) {
      check_.check_keys(*entry, "tag set", kTagSetKeys);
      TagSet tag_set;
      tag_set.location = entry->location;
      auto name = check_.read_required_string(*entry, "name", "tag set");
      if (name) {
        tag_set.name = name->value;
        tag_set_names_.define(*name, check_.diagnostics(), Code::P022, "name");
      }
      std::string owner = describe_entry("tag set", name);
      if (const SyntaxNode* type = check_.require(*entry, "type", owner)) {
        if (auto text = check_.read_string(*type, "'type'")) {
          if (text->value == "restrictive") {
            tag_set.type = TagSetType::restrictive;
          } else if (text->value == "permissive") {
            tag_set.type = TagSetType::permissive;
          } else if (text->value == "informative") {
            tag_set.type = TagSetType::informative;
          } else {
            constexpr std::string_view kTypes[] = {"restrictive", "permissive", "informative"};
            check_.diagnostics().error(
                Code::P005, text->location,
                fmt::format("invalid tag set type '{}': expected restrictive, permissive or informative{}",
                            text->value, suggestion_suffix(closest(text->value, kTypes))),
                {.suggestion = closest(text->value, kTypes)});
          }
        }
      }
      if (const SyntaxNode* limit = entry->find("max_selection")) tag_set.max_selection = read_max_selection(*limit);
      for (auto [key, field] : {std::pair{"marking_prefix", &tag_set.marking_prefix},
                                std::pair{"marking_separator", &tag_set.marking_separator},
                                std::pair{"marking_suffix", &tag_set.marking_suffix}}) {
        if (auto text = check_.read_optional_string(*entry, key, fmt::format("'{}'", key))) *field = text->value;
      }
      if (const SyntaxNode* categories = check_.require(*entry, "categories", owner)) {
        for (const SyntaxNode* category_entry : check_.read_entries(*categories, "categories")) {
          read_category(*category_entry, tag_set, scheme);
        }
      }
      scheme.tag_sets.push_back(std::move(tag_set));
    }
  }

  int read_max_selection(const SyntaxNode& node) {
    if (!node.is_scalar()) {
      check_.wrong_type(node, "'max_selection'", "a whole number");
      return 0;
    }
    auto value = scalar_as_integer(node);
    if (!value || *value < 1 || *value > INT_MAX) {
      check_.diagnostics().error(
          Code::P005, node.location,
          fmt::format("invalid max_selection '{}': expected a whole number of at least 1", node.text));
      return 0;
    }
    return static_cast<int>(*value);
  }

  // `requires_any_of` and `requires_exactly_one_of`: a list of groups, each a
  // list of category names, checked once every category is defined.
  std::vector<std::vector<std::string>> read_groups(const SyntaxNode& node, std::string_view key,
                                                    const std::optional<std::string>& category) {
    std::vector<std::vector<std::string>> groups;
    const std::string what = fmt::format("'{}'", key);
    if (!node.is_sequence()) {
      check_.wrong_type(node, what, "a list of lists of categories");
      return groups;
    }
    for (const SyntaxNode& item : node.items) {
      if (!item.is_sequence()) {
        check_.wrong_type(item, fmt::format("each entry of {}", what), "a list");
        continue;
      }
      if (item.items.empty()) {
        check_.diagnostics().error(Code::P005, item.location,
                                   fmt::format("an empty group in {} can never be met", what));
        continue;
      }
      auto members = check_.read_string_list(item, fmt::format("a group of {}", what));
      groups.push_back(values(members));
      pending_references_.push_back({category, "requires", std::move(members)});
    }
    return groups;
  }

  void read_category(const SyntaxNode& entry, TagSet& tag_set, LabelScheme& scheme) {
    check_.check_keys(entry, "category", kCategoryKeys);
    auto name = check_.read_required_string(entry, "name", "category");
    Category category;
    category.location = entry.location;
    category.tag_set = tag_set.name;
    bool ok = name.has_value();
    if (name) {
      category.name = name->value;
      ok = category_names_.define(*name, check_.diagnostics(), Code::P023, "name") && ok;
      check_label_name(*name, "category");
    }
    if (auto marking = check_.read_optional_string(entry, "marking", "'marking'")) {
      category.marking = marking->value;
    } else {
      category.marking = category.name;
    }
    if (const SyntaxNode* excluded = entry.find("excluded_at")) {
      auto classifications = check_.read_string_list(*excluded, "'excluded_at'");
      for (const LocatedString& classification : classifications) {
        check_.reference(classification_names_, classification, Code::P024);
      }
      category.excluded_at = values(classifications);
    }
    if (const SyntaxNode* requires_node = entry.find("requires")) {
      auto required = check_.read_string_list(*requires_node, "'requires'");
      category.requires_categories = values(required);
      pending_references_.push_back({category.name, "requires", std::move(required)});
    }
    if (const SyntaxNode* groups = entry.find("requires_any_of")) {
      category.requires_any_of = read_groups(*groups, "requires_any_of", category.name);
    }
    if (const SyntaxNode* groups = entry.find("requires_exactly_one_of")) {
      category.requires_exactly_one_of = read_groups(*groups, "requires_exactly_one_of", category.name);
    }
    if (const SyntaxNode* excludes = entry.find("excludes")) {
      auto excluded = check_.read_string_list(*excludes, "'excludes'");
      category.excludes = values(excluded);
      pending_references_.push_back({category.name, "excludes", std::move(excluded)});
    }
    if (!ok) return;
    tag_set.categories.push_back(category.name);
    scheme.categories.push_back(std::move(category));
  }

  // A category rule may name a category defined further down, so they are checked last.
  void resolve_requires() {
    for (const auto& [category, verb, named] : pending_references_) {
      for (const LocatedString& name : named) {
        if (category && name.value == *category) {
          check_.diagnostics().error(Code::P027, name.location,
                                     fmt::format("category '{}' {} itself", *category, verb));
          continue;
        }
        check_.reference(category_names_, name, Code::P025);
      }
    }
  }

  Checker check_;
  Names classification_names_{"classification"};
  Names tag_set_names_{"tag set"};
  Names category_names_{"category"};
  struct PendingReferences {
    std::optional<std::string> category;  // absent: a classification's, which cannot name itself
    std::string_view verb;  // "requires", "excludes": for "category 'x' requires itself"
    std::vector<LocatedString> names;
  };
  std::vector<PendingReferences> pending_references_;
};

// ---- The policy -------------------------------------------------------------------

class PolicyValidator {
 public:
  explicit PolicyValidator(Diagnostics& diagnostics) : check_(diagnostics) {}

  Policy validate(const SyntaxNode& root, const SyntaxNode* scheme_file_root) {
    Policy policy;
    if (!check_.expect_mapping(root, "a policy file")) return policy;
    check_.check_keys(root, "the policy", kPolicyKeys);

    if (auto name = check_.read_required_string(root, "policy", "the policy")) policy.name = name->value;
    if (auto description = check_.read_optional_string(root, "description", "'description'")) {
      policy.description = description->value;
    }
    read_scheme(root, scheme_file_root, policy);
    if (const SyntaxNode* levels = root.find("levels")) {
      for (const LocatedString& level : check_.read_string_list(*levels, "'levels'")) {
        if (levels_.define(level, check_.diagnostics(), Code::P010, "name")) policy.levels.push_back(level.value);
      }
    }
    if (const SyntaxNode* vetting = root.find("vetting")) read_vetting(*vetting, policy);
    if (const SyntaxNode* allowance = root.find("occasional_allowance")) read_allowance(*allowance, policy);
    if (const SyntaxNode* organisations = root.find("organisations")) read_organisations(*organisations, policy);
    if (const SyntaxNode* roles = root.find("roles")) read_roles(*roles, policy);
    if (const SyntaxNode* nodes = root.find("nodes")) read_nodes(*nodes, policy);
    if (const SyntaxNode* lists = root.find("lists")) read_lists(*lists, policy);
    if (const SyntaxNode* events = root.find("events")) read_events(*events, policy);
    if (const SyntaxNode* categories = root.find("information_categories")) {
      for (const LocatedString& category : check_.read_string_list(*categories, "'information_categories'")) {
        if (information_categories_.define(category, check_.diagnostics(), Code::P010, "name")) {
          policy.information_categories.push_back(category.value);
        }
      }
    }
    if (const SyntaxNode* purposes = root.find("purposes")) {
      for (const LocatedString& purpose : check_.read_string_list(*purposes, "'purposes'")) {
        if (purposes_.define(purpose, check_.diagnostics(), Code::P010, "name")) policy.purposes.push_back(purpose.value);
      }
    }
    if (auto combining = check_.read_optional_string(root, "combining", "'combining'")) {
      if (combining->value != "deny-overrides") {
        constexpr std::string_view kAlgorithms[] = {"deny-overrides"};
        check_.diagnostics().error(
            Code::P005, combining->location,
            fmt::format("unsupported combining algorithm '{}': only deny-overrides is supported{}",
                        combining->value, suggestion_suffix(closest(combining->value, kAlgorithms))),
            {.suggestion = closest(combining->value, kAlgorithms)});
      }
    }
    if (const SyntaxNode* rules = root.find("rules")) read_rules(*rules, policy);
    // Last: a peer's accreditation names the scheme's, the categories' and
    // the purposes' names, and its routing must not name this policy's own.
    if (const SyntaxNode* peers = root.find("peers")) read_peers(*peers, policy);
    for (const LocatedString& peer : pending_peer_references_) check_.reference(peers_, peer);
    // The files themselves are the loader's (accepted_scheme_references); here, the shape.
    if (const SyntaxNode* accepted = root.find("accept_schemes")) {
      check_.read_string_list(*accepted, "'accept_schemes'");
    }
    return policy;
  }

 private:
  void read_scheme(const SyntaxNode& root, const SyntaxNode* scheme_file_root, Policy& policy) {
    const SyntaxNode* value = check_.require(root, "scheme", "the policy");
    if (!value) return;
    const SyntaxNode* scheme_root = nullptr;
    if (value->is_mapping()) {
      scheme_root = value;
    } else if (value->is_scalar() && !value->text.empty()) {
      scheme_root = scheme_file_root;  // null: the loader has said why it is missing
    } else {
      check_.wrong_type(*value, "'scheme'", "a scheme file path or a scheme mapping");
      return;
    }
    if (!scheme_root) return;
    // Even a scheme with errors defines the names it got right; checking the
    // policy against them keeps one scheme typo from being reported again at
    // every use.
    policy.scheme = SchemeValidator(check_.diagnostics()).validate(*scheme_root);
    scheme_known_ = true;
    for (const Classification& classification : policy.scheme.classifications) {
      classifications_.define({classification.name, classification.location}, scratch_);
      classification_rank_[classification.name] = classification.rank;
    }
    for (const Category& category : policy.scheme.categories) {
      categories_.define({category.name, category.location}, scratch_);
    }
  }

  bool classification_defined(const LocatedString& name) {
    return !scheme_known_ || check_.reference(classifications_, name);
  }

  std::optional<int> rank_of(const std::string& classification) const {
    auto it = classification_rank_.find(classification);
    if (it == classification_rank_.end()) return std::nullopt;
    return it->second;
  }

  void read_vetting(const SyntaxNode& node, Policy& policy) {
    for (const SyntaxNode* entry : check_.read_entries(node, "vetting")) {
      check_.check_keys(*entry, "vetting level", kVettingKeys);
      Vetting vetting;
      vetting.location = entry->location;
      auto name = check_.read_required_string(*entry, "name", "vetting level");
      bool ok = name.has_value();
      if (name) {
        vetting.name = name->value;
        ok = vetting_.define(*name, check_.diagnostics(), Code::P010, "name") && ok;
      }
      std::string owner = describe_entry("vetting level", name);
      auto regular = check_.read_required_string(*entry, "regular", owner);
      auto occasional = check_.read_optional_string(*entry, "occasional", "'occasional'");
      ok = regular && classification_defined(*regular) && ok;
      if (regular) vetting.regular_ceiling = regular->value;
      if (occasional) {
        vetting.occasional_ceiling = occasional->value;
        ok = classification_defined(*occasional) && ok;
        auto regular_rank = regular ? rank_of(regular->value) : std::nullopt;
        auto occasional_rank = rank_of(occasional->value);
        if (regular_rank && occasional_rank && *occasional_rank < *regular_rank) {
          check_.diagnostics().error(
              Code::P012, occasional->location,
              fmt::format("occasional ceiling {} is below the regular ceiling {}", occasional->value,
                          regular->value));
          ok = false;
        }
      } else {
        vetting.occasional_ceiling = vetting.regular_ceiling;
      }
      if (ok) policy.vetting.push_back(std::move(vetting));
    }
  }

  void read_allowance(const SyntaxNode& node, Policy& policy) {
    if (!check_.expect_mapping(node, "'occasional_allowance'")) return;
    check_.check_keys(node, "'occasional_allowance'", kAllowanceKeys);
    if (const SyntaxNode* releases = check_.require(node, "releases", "'occasional_allowance'")) {
      auto count = scalar_as_integer(*releases);
      if (!count) {
        check_.wrong_type(*releases, "'releases'", "a whole number");
      } else if (*count < 0 || *count > INT_MAX) {
        check_.diagnostics().error(Code::P005, releases->location,
                                   fmt::format("'releases' must be 0 or more, found {}", *count));
      } else {
        policy.occasional.releases = static_cast<int>(*count);
      }
    }
    if (const SyntaxNode* window = check_.require(node, "window", "'occasional_allowance'")) {
      if (auto text = check_.read_string(*window, "'window'")) {
        if (auto duration = parse_duration(text->value)) {
          policy.occasional.window = *duration;
        } else {
          check_.diagnostics().error(
              Code::P005, text->location,
              fmt::format("invalid duration '{}': expected a whole number followed by d, h, m or s, "
                          "e.g. 30d, 12h, 90m, 45s",
                          text->value));
        }
      }
    }
  }

  void read_organisations(const SyntaxNode& node, Policy& policy) {
    for (const SyntaxNode* entry : check_.read_entries(node, "organisations")) {
      check_.check_keys(*entry, "organisation", kOrganisationKeys);
      Organisation organisation;
      organisation.location = entry->location;
      auto id = check_.read_required_string(*entry, "id", "organisation");
      bool ok = id.has_value();
      if (id) {
        organisation.id = id->value;
        ok = organisations_.define(*id, check_.diagnostics()) && ok;
      }
      std::string owner = describe_entry("organisation", id);
      if (auto name = check_.read_optional_string(*entry, "name", "'name'")) organisation.name = name->value;
      auto kind = check_.read_required_string(*entry, "kind", owner);
      ok = kind.has_value() && ok;
      if (kind) {
        organisation.kind = kind->value;
        if (!organisation_kinds_.contains(kind->value)) {
          organisation_kinds_.define(*kind, check_.diagnostics());
        }
      }
      if (const SyntaxNode* ct_network = entry->find("ct_network")) {
        auto flag = check_.read_bool(*ct_network, "'ct_network'");
        ok = flag.has_value() && ok;
        organisation.ct_network = flag.value_or(false);
      }
      if (ok) policy.organisations.push_back(std::move(organisation));
    }
  }

  void read_roles(const SyntaxNode& node, Policy& policy) {
    for (const SyntaxNode* entry : check_.read_entries(node, "roles")) {
      check_.check_keys(*entry, "role", kRoleKeys);
      Role role;
      role.location = entry->location;
      auto id = check_.read_required_string(*entry, "id", "role");
      bool ok = id.has_value();
      if (id) {
        role.id = id->value;
        ok = roles_.define(*id, check_.diagnostics()) && ok;
      }
      if (auto name = check_.read_optional_string(*entry, "name", "'name'")) role.name = name->value;
      if (const SyntaxNode* level_node = entry->find("level")) {
        auto level = check_.read_string(*level_node, "'level'");
        ok = level && check_.reference(levels_, *level) && ok;
        if (level) role.level = level->value;
      }
      if (ok) policy.roles.push_back(std::move(role));
    }
  }

  void read_nodes(const SyntaxNode& node, Policy& policy) {
    for (const SyntaxNode* entry : check_.read_entries(node, "nodes")) {
      check_.check_keys(*entry, "node", kNodeKeys);
      Node result;
      result.location = entry->location;
      auto id = check_.read_required_string(*entry, "id", "node");
      bool ok = id.has_value();
      if (id) {
        result.id = id->value;
        ok = nodes_.define(*id, check_.diagnostics()) && ok;
      }
      std::string owner = describe_entry("node", id);
      if (auto name = check_.read_optional_string(*entry, "name", "'name'")) result.name = name->value;
      auto organisation = check_.read_required_string(*entry, "organisation", owner);
      ok = organisation && check_.reference(organisations_, *organisation) && ok;
      if (organisation) result.organisation = organisation->value;
      auto role = check_.read_required_string(*entry, "role", owner);
      ok = role && check_.reference(roles_, *role) && ok;
      if (role) {
        result.role = role->value;
        held_roles_.insert(role->value);
      }
      auto vetting = check_.read_required_string(*entry, "vetting", owner);
      ok = vetting && check_.reference(vetting_, *vetting) && ok;
      if (vetting) result.vetting = vetting->value;
      if (const SyntaxNode* categories = entry->find("categories")) {
        auto held = check_.read_string_list(*categories, "'categories'");
        for (const LocatedString& category : held) {
          if (scheme_known_) ok = check_.reference(categories_, category) && ok;
        }
        result.categories = values(held);
      }
      if (ok) policy.nodes.push_back(std::move(result));
    }
  }

  void read_lists(const SyntaxNode& node, Policy& policy) {
    for (const SyntaxNode* entry : check_.read_entries(node, "lists")) {
      check_.check_keys(*entry, "list", kListKeys);
      DistributionList list;
      list.location = entry->location;
      auto id = check_.read_required_string(*entry, "id", "list");
      bool ok = id.has_value();
      if (id) {
        list.id = id->value;
        ok = lists_.define(*id, check_.diagnostics()) && ok;
      }
      if (auto name = check_.read_optional_string(*entry, "name", "'name'")) list.name = name->value;
      if (const SyntaxNode* members = entry->find("nodes")) {
        auto nodes = check_.read_string_list(*members, "'nodes'");
        for (const LocatedString& member : nodes) ok = check_.reference(nodes_, member) && ok;
        list.nodes = values(nodes);
      }
      if (const SyntaxNode* members = entry->find("roles")) {
        auto roles = check_.read_string_list(*members, "'roles'");
        for (const LocatedString& member : roles) ok = check_.reference(roles_, member) && ok;
        list.roles = values(roles);
      }
      if (ok) policy.lists.push_back(std::move(list));
    }
  }

  // Reads a list of names that must all be defined in `names`.
  bool read_references(const SyntaxNode& node, std::string_view key, const Names& names,
                       std::vector<std::string>& out) {
    bool ok = true;
    auto items = check_.read_string_list(node, fmt::format("'{}'", key));
    if (!node.is_sequence()) ok = false;
    for (const LocatedString& item : items) ok = check_.reference(names, item) && ok;
    out = values(items);
    return ok;
  }

  bool read_matcher(const SyntaxNode& node, std::string_view key, SubjectMatcher& matcher) {
    if (node.is_null()) return true;  // `from:` with nothing: matches every node
    if (!check_.expect_mapping(node, fmt::format("'{}'", key))) return false;
    check_.check_keys(node, fmt::format("'{}' matcher", key), kMatcherKeys);
    bool ok = true;
    if (const SyntaxNode* v = node.find("nodes")) ok = read_references(*v, "nodes", nodes_, matcher.nodes) && ok;
    if (const SyntaxNode* v = node.find("organisations")) {
      ok = read_references(*v, "organisations", organisations_, matcher.organisations) && ok;
    }
    if (const SyntaxNode* v = node.find("organisation_kinds")) {
      ok = read_references(*v, "organisation_kinds", organisation_kinds_, matcher.organisation_kinds) && ok;
    }
    if (const SyntaxNode* v = node.find("roles")) ok = read_references(*v, "roles", roles_, matcher.roles) && ok;
    if (const SyntaxNode* v = node.find("levels")) ok = read_references(*v, "levels", levels_, matcher.levels) && ok;
    if (const SyntaxNode* v = node.find("ct_network")) {
      matcher.ct_network = check_.read_bool(*v, "'ct_network'");
      ok = matcher.ct_network.has_value() && ok;
    }
    if (const SyntaxNode* v = node.find("lists")) ok = read_references(*v, "lists", lists_, matcher.lists) && ok;
    if (const SyntaxEntry* v = node.find_entry("peers")) ok = read_matcher_peers(node, *v, key, matcher) && ok;
    return ok;
  }

  // A matcher's `peers`: a rule's `from` only, and alone in it, since a
  // remote originator is none of this policy's nodes, organisations or roles
  // (P056). The names are checked against `peers:` once it is read (it comes
  // after the rules).
  bool read_matcher_peers(const SyntaxNode& node, const SyntaxEntry& entry, std::string_view key,
                          SubjectMatcher& matcher) {
    auto items = check_.read_string_list(entry.value, "'peers'");
    bool ok = entry.value.is_sequence();
    if (key != "from") {
      check_.diagnostics().error(
          Code::P056, entry.key_location,
          fmt::format("'peers' may appear only in a rule's 'from' (a message received from another gateway), not in "
                      "'{}'",
                      key));
      ok = false;
    }
    for (std::string_view other : kMatcherKeys) {
      if (other != "peers" && node.find(other)) {
        check_.diagnostics().error(
            Code::P056, entry.key_location,
            fmt::format("'peers' cannot be combined with '{}' in one '{}': a sender at another gateway is none of "
                        "this policy's nodes, organisations or roles; write a rule of its own for it",
                        other, key));
        ok = false;
        break;
      }
    }
    if (items.empty() && entry.value.is_sequence()) {
      check_.diagnostics().error(Code::P056, entry.key_location,
                                 fmt::format("'peers' in '{}' names no peer, so the rule would match no one", key));
      ok = false;
    }
    pending_peer_references_.insert(pending_peer_references_.end(), items.begin(), items.end());
    matcher.peers = values(items);
    return ok;
  }

  // A rule's `handling:`. A review nobody could give would hold every release
  // under the rule for ever, so every reviewing role must be held by some node.
  bool read_handling(const SyntaxNode& node, const Rule& rule, const SourceLocation& key_location,
                     RuleHandling& handling) {
    handling.location = key_location;
    if (node.is_null()) return true;  // `handling:` with nothing: no handling
    if (!check_.expect_mapping(node, "'handling'")) return false;
    check_.check_keys(node, "'handling'", kHandlingKeys);
    bool ok = true;
    if (const SyntaxNode* v = node.find("review_by")) {
      std::vector<LocatedString> roles = check_.read_string_list(*v, "'review_by'");
      ok = v->is_sequence() && ok;
      for (const LocatedString& role : roles) {
        if (!check_.reference(roles_, role)) {
          ok = false;
        } else if (!held_roles_.contains(role.value)) {
          check_.diagnostics().error(
              Code::P014, role.location,
              fmt::format("no node holds role '{}', so a release held for its review could never be approved",
                          role.value));
          ok = false;
        }
      }
      handling.review_by = values(roles);
    }
    for (auto [key, flag] : {std::pair{"originator_control", &handling.originator_control},
                             std::pair{"no_onward_sharing", &handling.no_onward_sharing}}) {
      if (const SyntaxNode* v = node.find(key)) {
        auto value = check_.read_bool(*v, fmt::format("'{}'", key));
        ok = value.has_value() && ok;
        *flag = value.value_or(false);
      }
    }
    if (rule.effect == Effect::deny && !node.entries.empty()) {
      check_.diagnostics().error(Code::P013, key_location,
                                 fmt::format("deny rule '{}' has 'handling', which applies only to what a permit "
                                             "rule releases",
                                             rule.id));
      ok = false;
    }
    return ok;
  }

  void read_events(const SyntaxNode& node, Policy& policy) {
    for (const SyntaxNode* entry : check_.read_entries(node, "events")) {
      check_.check_keys(*entry, "event", kEventKeys);
      EventDef event;
      event.location = entry->location;
      auto id = check_.read_required_string(*entry, "id", "event");
      bool ok = id.has_value();
      if (id) {
        event.id = id->value;
        ok = events_.define(*id, check_.diagnostics()) && ok;
      }
      std::string owner = describe_entry("event", id);
      if (auto description = check_.read_optional_string(*entry, "description", "'description'")) {
        event.description = description->value;
      }
      // Required, so that who may release an embargo is always written down;
      // `triggered_by: {}` says "any node" explicitly.
      if (const SyntaxNode* matcher = check_.require(*entry, "triggered_by", owner)) {
        ok = read_matcher(*matcher, "triggered_by", event.triggered_by) && ok;
      } else {
        ok = false;
      }
      if (ok) policy.events.push_back(std::move(event));
    }
  }

  void read_rules(const SyntaxNode& node, Policy& policy) {
    for (const SyntaxNode* entry : check_.read_entries(node, "rules")) {
      check_.check_keys(*entry, "rule", kRuleKeys);
      Rule rule;
      rule.location = entry->location;
      auto id = check_.read_required_string(*entry, "id", "rule");
      bool ok = id.has_value();
      if (id) {
        rule.id = id->value;
        ok = rules_.define(*id, check_.diagnostics()) && ok;
      }
      std::string owner = describe_entry("rule", id);
      if (auto description = check_.read_optional_string(*entry, "description", "'description'")) {
        rule.description = description->value;
      }
      if (const SyntaxNode* effect_node = check_.require(*entry, "effect", owner)) {
        auto effect = check_.read_string(*effect_node, "'effect'");
        ok = effect.has_value() && ok;
        if (effect && effect->value == "permit") {
          rule.effect = Effect::permit;
        } else if (effect && effect->value == "deny") {
          rule.effect = Effect::deny;
        } else if (effect) {
          constexpr std::string_view kEffects[] = {"permit", "deny"};
          check_.diagnostics().error(Code::P005, effect->location,
                                     fmt::format("invalid effect '{}': expected permit or deny{}",
                                                 effect->value,
                                                 suggestion_suffix(closest(effect->value, kEffects))),
                                     {.suggestion = closest(effect->value, kEffects)});
          ok = false;
        }
      } else {
        ok = false;
      }
      if (const SyntaxNode* v = entry->find("categories")) {
        ok = read_references(*v, "categories", information_categories_, rule.categories) && ok;
      }
      if (const SyntaxNode* v = entry->find("purposes")) ok = read_references(*v, "purposes", purposes_, rule.purposes) && ok;
      if (const SyntaxNode* v = entry->find("from")) ok = read_matcher(*v, "from", rule.from) && ok;
      if (const SyntaxNode* v = entry->find("to")) ok = read_matcher(*v, "to", rule.to) && ok;
      auto min = check_.read_optional_string(*entry, "min_classification", "'min_classification'");
      auto max = check_.read_optional_string(*entry, "max_classification", "'max_classification'");
      if (min) {
        ok = classification_defined(*min) && ok;
        rule.min_classification = min->value;
      }
      if (max) {
        ok = classification_defined(*max) && ok;
        rule.max_classification = max->value;
      }
      if (min && max) {
        auto min_rank = rank_of(min->value);
        auto max_rank = rank_of(max->value);
        if (min_rank && max_rank && *min_rank > *max_rank) {
          check_.diagnostics().error(
              Code::P012, min->location,
              fmt::format("min_classification {} is above max_classification {}: the rule can never apply",
                          min->value, max->value));
          ok = false;
        }
      }
      if (const SyntaxEntry* handling = entry->find_entry("handling")) {
        ok = read_handling(handling->value, rule, handling->key_location, rule.handling) && ok;
      }
      if (ok) policy.rules.push_back(std::move(rule));
    }
  }

  // `peers:`: other gateways, each with its accreditation and the names it speaks for.
  void read_peers(const SyntaxNode& node, Policy& policy) {
    // (kind, name) -> the first peer speaking for it and where, for P051.
    std::map<std::pair<std::string, std::string>, std::pair<std::string, SourceLocation>, std::less<>> spoken;
    for (const SyntaxNode* entry : check_.read_entries(node, "peers")) {
      check_.check_keys(*entry, "peer", kPeerKeys);
      Peer peer;
      peer.location = entry->location;
      auto id = check_.read_required_string(*entry, "id", "peer");
      bool ok = id.has_value();
      if (id) {
        peer.id = id->value;
        ok = peers_.define(*id, check_.diagnostics()) && ok;
        if (nodes_.contains(id->value)) {
          std::optional<SourceLocation> node_location;
          for (const Node& local : policy.nodes) {
            if (local.id == id->value) node_location = local.location;
          }
          check_.diagnostics().error(
              Code::P050, id->location,
              fmt::format("peer id '{}' is also a node id{}: a certificate with this Common Name would be both a "
                          "node of this gateway and a peer gateway",
                          id->value, node_location ? fmt::format(" (the node is at line {})", node_location->line) : ""),
              {.related = node_location});
          ok = false;
        }
      }
      const std::string owner = describe_entry("peer", id);
      if (auto address = check_.read_optional_string(*entry, "address", "'address'")) {
        std::string why;
        if (parse_peer_address(address->value, &why)) {
          peer.address = address->value;
        } else {
          check_.diagnostics().error(Code::P053, address->location,
                                     fmt::format("address '{}' of {} is not host:port: {}", address->value, owner, why));
          ok = false;
        }
      }
      if (auto ca = check_.read_required_string(*entry, "ca", owner)) {
        peer.ca = ca->value;  // resolved against the policy file's directory by the loader
        peer.ca_location = ca->location;
      } else {
        ok = false;
      }
      if (const SyntaxEntry* holds = entry->find_entry("holds")) {
        ok = read_peer_holds(holds->value, holds->key_location, peer.holds) && ok;
      } else {
        check_.require(*entry, "holds", owner);
        ok = false;
      }
      if (const SyntaxEntry* receives = entry->find_entry("receives")) {
        ok = read_peer_receives(receives->value, receives->key_location, peer.receives) && ok;
      } else {
        check_.require(*entry, "receives", owner);
        ok = false;
      }
      if (const SyntaxEntry* speaks_for = entry->find_entry("speaks_for")) {
        peer.speaks_for.location = speaks_for->key_location;
        ok = read_peer_speaks_for(speaks_for->value, peer, spoken) && ok;
      }
      if (ok) policy.peers.push_back(std::move(peer));
    }
  }

  bool read_peer_holds(const SyntaxNode& node, const SourceLocation& key_location, PeerHolds& holds) {
    holds.location = key_location;
    if (!check_.expect_mapping(node, "'holds'")) return false;
    check_.check_keys(node, "'holds'", kPeerHoldsKeys);
    bool ok = true;
    if (auto ceiling = check_.read_required_string(node, "max_classification", "'holds'")) {
      holds.max_classification = ceiling->value;
      ok = classification_defined(*ceiling) && ok;
    } else {
      ok = false;
    }
    if (const SyntaxNode* categories = node.find("categories")) {
      auto held = check_.read_string_list(*categories, "'categories'");
      ok = categories->is_sequence() && ok;
      for (const LocatedString& category : held) {
        if (scheme_known_) ok = check_.reference(categories_, category) && ok;
      }
      holds.categories = values(held);
    }
    return ok;
  }

  // Both lists are required: unlike a rule's, an empty list here means
  // nothing (an accreditation never widens by omission), so each is written.
  bool read_peer_receives(const SyntaxNode& node, const SourceLocation& key_location, PeerReceives& receives) {
    receives.location = key_location;
    if (!check_.expect_mapping(node, "'receives'")) return false;
    check_.check_keys(node, "'receives'", kPeerReceivesKeys);
    bool ok = true;
    if (const SyntaxNode* categories = check_.require(node, "categories", "'receives'")) {
      ok = read_references(*categories, "categories", information_categories_, receives.categories) && ok;
    } else {
      ok = false;
    }
    if (const SyntaxNode* purposes = check_.require(node, "purposes", "'receives'")) {
      ok = read_references(*purposes, "purposes", purposes_, receives.purposes) && ok;
    } else {
      ok = false;
    }
    return ok;
  }

  // The names on the far side: never this policy's own (P052), and never
  // another peer's too (P051), so that a route is never ambiguous.
  bool read_peer_speaks_for(
      const SyntaxNode& node, Peer& peer,
      std::map<std::pair<std::string, std::string>, std::pair<std::string, SourceLocation>, std::less<>>& spoken) {
    if (node.is_null()) return true;  // `speaks_for:` with nothing: the peer is the next hop for no one
    if (!check_.expect_mapping(node, "'speaks_for'")) return false;
    check_.check_keys(node, "'speaks_for'", kPeerSpeaksForKeys);
    bool ok = true;
    struct Kind {
      std::string_view key;
      std::string_view noun;
      const Names* local;
      std::vector<std::string>* out;
    };
    const Kind kinds[] = {{"organisations", "organisation", &organisations_, &peer.speaks_for.organisations},
                          {"nodes", "node", &nodes_, &peer.speaks_for.nodes},
                          {"roles", "role", &roles_, &peer.speaks_for.roles}};
    for (const Kind& kind : kinds) {
      const SyntaxNode* list = node.find(kind.key);
      if (!list) continue;
      auto names = check_.read_string_list(*list, fmt::format("'{}'", kind.key));
      ok = list->is_sequence() && ok;
      for (const LocatedString& name : names) {
        if (kind.local->contains(name.value)) {
          check_.diagnostics().error(
              Code::P052, name.location,
              fmt::format("peer '{}' speaks for {} '{}', which is this policy's own {}: an addressee that is "
                          "local is never routed to a peer",
                          peer.id, kind.noun, name.value, kind.noun));
          ok = false;
          continue;
        }
        auto [it, inserted] =
            spoken.emplace(std::pair{std::string(kind.noun), name.value}, std::pair{peer.id, name.location});
        if (!inserted && it->second.first != peer.id) {
          check_.diagnostics().error(
              Code::P051, name.location,
              fmt::format("peers '{}' and '{}' both speak for {} '{}' (the first at {}): the route to it would be "
                          "ambiguous",
                          it->second.first, peer.id, kind.noun, name.value, to_string(it->second.second)),
              {.related = it->second.second});
          ok = false;
        }
      }
      *kind.out = values(names);
    }
    return ok;
  }

  Checker check_;
  Diagnostics scratch_;  // re-defining the scheme's names cannot fail; nothing to report
  bool scheme_known_ = false;
  std::map<std::string, int, std::less<>> classification_rank_;
  Names classifications_{"classification"};
  Names categories_{"category"};
  Names levels_{"level"};
  Names vetting_{"vetting level"};
  Names organisations_{"organisation"};
  Names organisation_kinds_{"organisation kind"};
  Names roles_{"role"};
  Names nodes_{"node"};
  Names lists_{"list"};
  Names information_categories_{"information category"};
  Names purposes_{"purpose"};
  Names rules_{"rule"};
  Names events_{"event"};
  Names peers_{"peer"};
  std::vector<LocatedString> pending_peer_references_;  // rules' `from: {peers: [...]}`, checked after `peers:`
  std::set<std::string, std::less<>> held_roles_;  // roles some node holds
};

}  // namespace

SchemeValidationResult validate_scheme(const SyntaxNode& root) {
  SchemeValidationResult result;
  SchemeValidator validator(result.diagnostics);
  LabelScheme scheme = validator.validate(root);
  if (!result.diagnostics.has_errors()) result.scheme = std::move(scheme);
  return result;
}

std::vector<SchemeReference> accepted_scheme_references(const SyntaxNode& policy_root) {
  std::vector<SchemeReference> references;
  const SyntaxNode* value = policy_root.find("accept_schemes");
  if (!value || !value->is_sequence()) return references;
  for (const SyntaxNode& item : value->items) {
    if (item.is_scalar() && !item.text.empty()) references.push_back({item.text, item.location});
  }
  return references;
}

std::optional<SchemeReference> scheme_file_reference(const SyntaxNode& policy_root) {
  const SyntaxNode* value = policy_root.find("scheme");
  if (!value || !value->is_scalar() || value->text.empty()) return std::nullopt;
  return SchemeReference{value->text, value->location};
}

ValidationResult validate_policy(const SyntaxNode& policy_root, const SyntaxNode* scheme_file_root) {
  ValidationResult result;
  PolicyValidator validator(result.diagnostics);
  Policy policy = validator.validate(policy_root, scheme_file_root);
  if (!result.diagnostics.has_errors()) result.policy = std::move(policy);
  return result;
}

}  // namespace icegate::policy

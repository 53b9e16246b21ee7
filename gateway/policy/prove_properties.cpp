// Reading a properties file (prove.hpp): the YAML syntax tree the policy
// loader builds, shape-checked with its Checker under the letter V, and every
// name checked against the policy the properties are written for.
#include <algorithm>

#include <fmt/format.h>

#include "gateway/policy/checker.hpp"
#include "gateway/policy/parser.hpp"
#include "gateway/policy/prove.hpp"

namespace icegate::policy {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kFileKeys[] = {"description", "properties"};
constexpr std::string_view kKinds[] = {"never_released", "always_released", "confined", "implies", "no_dead_rules"};
constexpr std::string_view kPropertyKeys[] = {"name",     "description", "never_released", "always_released",
                                              "confined", "implies",     "no_dead_rules"};
constexpr std::string_view kSliceKeys[] = {"from",
                                           "to",
                                           "categories",
                                           "purposes",
                                           "no_purpose",
                                           "min_classification",
                                           "max_classification",
                                           "with_categories",
                                           "without_categories",
                                           "occasional_available",
                                           "held_counts_as"};
constexpr std::string_view kMatcherKeys[] = {"nodes", "organisations", "organisation_kinds", "roles",
                                             "levels", "ct_network", "lists"};
constexpr std::string_view kNoDeadRulesKeys[] = {"rules", "held_counts_as"};

// kSliceKeys and one more.
std::vector<std::string_view> slice_keys_and(std::string_view extra) {
  std::vector<std::string_view> keys(std::begin(kSliceKeys), std::end(kSliceKeys));
  keys.push_back(extra);
  return keys;
}

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Every name a properties file may use, as the policy defines them.
struct PolicyNames {
  Names nodes{"node"};
  Names organisations{"organisation"};
  Names organisation_kinds{"organisation kind"};
  Names roles{"role"};
  Names levels{"level"};
  Names lists{"list"};
  Names categories{"information category"};
  Names purposes{"purpose"};
  Names classifications{"classification"};
  Names scheme_categories{"scheme category"};
  Names rules{"rule"};

  explicit PolicyNames(const Policy& policy) {
    Diagnostics ignored;  // a validated policy has no duplicates; kinds repeat by design
    for (const Node& node : policy.nodes) nodes.define({node.id, node.location}, ignored);
    for (const Organisation& organisation : policy.organisations) {
      organisations.define({organisation.id, organisation.location}, ignored);
      organisation_kinds.define({organisation.kind, organisation.location}, ignored);
    }
    for (const Role& role : policy.roles) roles.define({role.id, role.location}, ignored);
    for (const std::string& level : policy.levels) levels.define({level, {}}, ignored);
    for (const DistributionList& list : policy.lists) lists.define({list.id, list.location}, ignored);
    for (const std::string& category : policy.information_categories) categories.define({category, {}}, ignored);
    for (const std::string& purpose : policy.purposes) purposes.define({purpose, {}}, ignored);
    for (const Classification& classification : policy.scheme.classifications) {
      classifications.define({classification.name, classification.location}, ignored);
    }
    for (const Category& category : policy.scheme.categories) {
      scheme_categories.define({category.name, category.location}, ignored);
    }
    for (const Rule& rule : policy.rules) rules.define({rule.id, rule.location}, ignored);
  }
};

class PropertiesReader {
 public:
  PropertiesReader(PropertiesFile& out, const CompiledPolicy& policy)
      : out_(out), policy_(policy), names_(policy.source()), check_(out.diagnostics, 'V') {}

  void read(const SyntaxNode& root) {
    if (!check_.expect_mapping(root, "a properties file")) return;
    check_.check_keys(root, "the properties file", kFileKeys);
    if (auto description = check_.read_optional_string(root, "description", "'description'")) {
      out_.description = description->value;
    }
    const SyntaxNode* properties = check_.require(root, "properties", "the properties file");
    if (!properties) return;
    if (properties->is_sequence() && properties->items.empty()) {
      check_.diagnostics().error(Code::V005, properties->location, "'properties' has no properties");
    }
    for (const SyntaxNode* entry : check_.read_entries(*properties, "properties")) read_property(*entry);
  }

 private:
  void read_property(const SyntaxNode& entry) {
    check_.check_keys(entry, "property", kPropertyKeys);
    Property property;
    property.location = entry.location;
    auto name = check_.read_required_string(entry, "name", "property");
    bool ok = name.has_value();
    if (name) {
      property.name = name->value;
      ok = property_names_.define(*name, check_.diagnostics(), Code::V010, "name") && ok;
    }
    if (auto description = check_.read_optional_string(entry, "description", "'description'")) {
      property.description = description->value;
    }
    const std::string owner = describe_entry("property", name);

    // Exactly one kind.
    std::vector<const SyntaxEntry*> kinds;
    for (const SyntaxEntry& item : entry.entries) {
      if (std::find(std::begin(kKinds), std::end(kKinds), item.key) != std::end(kKinds)) kinds.push_back(&item);
    }
    if (kinds.size() != 1) {
      check_.diagnostics().error(
          Code::V013, kinds.empty() ? entry.location : kinds[1]->key_location,
          kinds.empty() ? fmt::format("{} states no property: give one of {}", owner, fmt::join(kKinds, ", "))
                        : fmt::format("{} states more than one property ({} and {}): one per entry", owner,
                                      kinds[0]->key, kinds[1]->key));
      return;
    }
    const SyntaxEntry& kind = *kinds.front();
    property.kind_location = kind.key_location;
    const SyntaxNode& body = kind.value;
    // `no_dead_rules:` with nothing is `no_dead_rules: {}`, as for a matcher.
    if (!body.is_null() && !check_.expect_mapping(body, fmt::format("'{}'", kind.key))) return;
    if (kind.key == "no_dead_rules") {
      property.kind = PropertyKind::no_dead_rules;
      check_.check_keys(body, "'no_dead_rules'", kNoDeadRulesKeys);
      ok = read_held(body, property.held) && ok;
      if (const SyntaxNode* rules = body.find("rules")) {
        auto ids = check_.read_string_list(*rules, "'rules'");
        ok = rules->is_sequence() && ok;
        for (const LocatedString& id : ids) {
          if (!check_.reference(names_.rules, id)) {
            ok = false;
            continue;
          }
          const auto& defined = policy_.source().rules;
          auto rule = std::find_if(defined.begin(), defined.end(), [&id](const Rule& r) { return r.id == id.value; });
          if (rule->effect != Effect::permit) {
            check_.diagnostics().error(Code::V005, id.location,
                                       fmt::format("rule '{}' is a deny rule: only a permit rule can be dead "
                                                   "(a deny that never decides is W002's business)",
                                                   id.value));
            ok = false;
            continue;
          }
          if (!contains(property.rules, id.value)) property.rules.push_back(id.value);
        }
      }
    } else {
      if (kind.key == "never_released") {
        property.kind = PropertyKind::never_released;
        check_.check_keys(body, "'never_released'", kSliceKeys);
      } else if (kind.key == "always_released") {
        property.kind = PropertyKind::always_released;
        check_.check_keys(body, "'always_released'", kSliceKeys);
      } else if (kind.key == "confined") {
        property.kind = PropertyKind::confined;
        check_.check_keys(body, "'confined'", slice_keys_and("category"));
        if (auto category = check_.read_required_string(body, "category", "'confined'")) {
          ok = check_.reference(names_.scheme_categories, *category) && ok;
          property.category = category->value;
        } else {
          ok = false;
        }
      } else {
        property.kind = PropertyKind::implies;
        check_.check_keys(body, "'implies'", slice_keys_and("policy"));
        ok = read_other_policy(body, property) && ok;
      }
      ok = read_held(body, property.held) && ok;
      ok = read_slice(body, property) && ok;
    }
    if (ok) out_.properties.push_back(std::move(property));
  }

  bool read_held(const SyntaxNode& body, HeldCountsAs& held) {
    auto value = check_.read_optional_string(body, "held_counts_as", "'held_counts_as'");
    if (!value) return !body.find("held_counts_as");
    if (value->value == "released") {
      held = HeldCountsAs::released;
    } else if (value->value == "withheld") {
      held = HeldCountsAs::withheld;
    } else {
      check_.diagnostics().error(Code::V005, value->location,
                                 fmt::format("invalid held_counts_as '{}': expected released or withheld{}",
                                             value->value,
                                             suggestion_suffix(closest(value->value, std::vector<std::string>{
                                                                                         "released", "withheld"}))));
      return false;
    }
    return true;
  }

  bool read_other_policy(const SyntaxNode& body, Property& property) {
    auto path = check_.read_required_string(body, "policy", "'implies'");
    if (!path) return false;
    property.other_file = (out_.file.parent_path() / path->value).lexically_normal();
    std::error_code ignored;
    if (!fs::is_regular_file(property.other_file, ignored)) {
      check_.diagnostics().error(Code::V007, path->location,
                                 fmt::format("cannot read policy file {}", property.other_file.string()));
      return false;
    }
    LoadResult loaded = load_policy(property.other_file);
    if (!loaded.policy) {
      out_.diagnostics.append(loaded.diagnostics);
      out_.other_policy_invalid = true;
      check_.diagnostics().error(Code::V016, path->location,
                                 fmt::format("policy {} is invalid ({} {})", property.other_file.string(),
                                             loaded.diagnostics.error_count(),
                                             loaded.diagnostics.error_count() == 1 ? "error" : "errors"));
      return false;
    }
    property.other = loaded.policy;
    return true;
  }

  // A list of names the policy must define; `ok` false on any problem.
  std::vector<std::string> read_names(const SyntaxNode& node, std::string_view key, const Names& defined, bool& ok) {
    auto items = check_.read_string_list(node, fmt::format("'{}'", key));
    if (!node.is_sequence()) ok = false;
    for (const LocatedString& item : items) ok = check_.reference(defined, item) && ok;
    return values(items);
  }

  bool read_matcher(const SyntaxNode& node, std::string_view key, SubjectMatcher& matcher) {
    if (node.is_null()) return true;  // `to:` with nothing: every node, as in a rule
    if (!check_.expect_mapping(node, fmt::format("'{}'", key))) return false;
    check_.check_keys(node, fmt::format("'{}' matcher", key), kMatcherKeys);
    bool ok = true;
    if (const SyntaxNode* v = node.find("nodes")) matcher.nodes = read_names(*v, "nodes", names_.nodes, ok);
    if (const SyntaxNode* v = node.find("organisations")) {
      matcher.organisations = read_names(*v, "organisations", names_.organisations, ok);
    }
    if (const SyntaxNode* v = node.find("organisation_kinds")) {
      matcher.organisation_kinds = read_names(*v, "organisation_kinds", names_.organisation_kinds, ok);
    }
    if (const SyntaxNode* v = node.find("roles")) matcher.roles = read_names(*v, "roles", names_.roles, ok);
    if (const SyntaxNode* v = node.find("levels")) matcher.levels = read_names(*v, "levels", names_.levels, ok);
    if (const SyntaxNode* v = node.find("ct_network")) {
      matcher.ct_network = check_.read_bool(*v, "'ct_network'");
      ok = matcher.ct_network.has_value() && ok;
    }
    if (const SyntaxNode* v = node.find("lists")) matcher.lists = read_names(*v, "lists", names_.lists, ok);
    return ok;
  }

  std::optional<bool> read_flag(const SyntaxNode& body, std::string_view key, bool& ok) {
    const SyntaxNode* node = body.find(key);
    if (!node) return std::nullopt;
    auto value = check_.read_bool(*node, fmt::format("'{}'", key));
    ok = value.has_value() && ok;
    return value;
  }

  bool read_slice(const SyntaxNode& body, Property& property) {
    PropertySlice& slice = property.slice;
    bool ok = true;
    if (const SyntaxNode* v = body.find("from")) ok = read_matcher(*v, "from", slice.from) && ok;
    if (const SyntaxNode* v = body.find("to")) ok = read_matcher(*v, "to", slice.to) && ok;
    if (const SyntaxNode* v = body.find("categories")) {
      slice.categories = read_names(*v, "categories", names_.categories, ok);
      if (v->is_sequence() && v->items.empty()) {
        check_.diagnostics().error(Code::V005, v->location,
                                   "'categories' is empty: list some, or leave it out for every information category");
        ok = false;
      }
    }
    const SyntaxNode* purposes = body.find("purposes");
    if (purposes) slice.purposes = read_names(*purposes, "purposes", names_.purposes, ok);
    // Requests without a purpose are in the slice unless it lists purposes,
    // or says otherwise.
    slice.no_purpose = read_flag(body, "no_purpose", ok).value_or(!purposes);
    if (purposes && purposes->is_sequence() && purposes->items.empty() && !slice.no_purpose) {
      check_.diagnostics().error(Code::V005, purposes->location,
                                 "'purposes' is empty and no_purpose is not true: no request is left");
      ok = false;
    }
    std::optional<LocatedString> bounds[2];
    const std::string_view bound_keys[2] = {"min_classification", "max_classification"};
    for (int b = 0; b < 2; ++b) {
      bounds[b] = check_.read_optional_string(body, bound_keys[b], fmt::format("'{}'", bound_keys[b]));
      if (!bounds[b]) {
        ok = !body.find(bound_keys[b]) && ok;
      } else if (!check_.reference(names_.classifications, *bounds[b])) {
        ok = false;
        bounds[b].reset();
      }
    }
    if (bounds[0]) slice.min_classification = bounds[0]->value;
    if (bounds[1]) slice.max_classification = bounds[1]->value;
    if (bounds[0] && bounds[1] &&
        policy_.classification_rank(bounds[0]->value) > policy_.classification_rank(bounds[1]->value)) {
      check_.diagnostics().error(Code::V012, bounds[0]->location,
                                 fmt::format("min_classification {} is above max_classification {}",
                                             bounds[0]->value, bounds[1]->value));
      ok = false;
    }
    if (const SyntaxNode* v = body.find("with_categories")) {
      slice.with_categories = read_names(*v, "with_categories", names_.scheme_categories, ok);
    }
    if (const SyntaxNode* v = body.find("without_categories")) {
      auto items = check_.read_string_list(*v, "'without_categories'");
      ok = v->is_sequence() && ok;
      for (const LocatedString& item : items) {
        if (!check_.reference(names_.scheme_categories, item)) {
          ok = false;
        } else if (contains(slice.with_categories, item.value)) {
          check_.diagnostics().error(Code::V005, item.location,
                                     fmt::format("'{}' is in both with_categories and without_categories: no "
                                                 "label is left",
                                                 item.value));
          ok = false;
        }
      }
      slice.without_categories = values(items);
    }
    slice.occasional_available = read_flag(body, "occasional_available", ok);
    if (slice.occasional_available.value_or(false)) {
      const bool allowed = policy_.source().occasional.releases > 0 ||
                           (property.other && property.other->source().occasional.releases > 0);
      if (!allowed) {
        check_.diagnostics().error(
            Code::V005, body.find("occasional_available")->location,
            fmt::format("'occasional_available' is true, but policy {} allows no occasional releases "
                        "(occasional_allowance releases: {}): the gateway never has one to give",
                        policy_.source().name, policy_.source().occasional.releases));
        ok = false;
      }
    }
    return ok;
  }

  PropertiesFile& out_;
  const CompiledPolicy& policy_;
  PolicyNames names_;
  Checker check_;
  Names property_names_{"property"};
};

}  // namespace

std::string_view to_string(PropertyKind kind) {
  switch (kind) {
    case PropertyKind::never_released: return "never_released";
    case PropertyKind::always_released: return "always_released";
    case PropertyKind::confined: return "confined";
    case PropertyKind::implies: return "implies";
    case PropertyKind::no_dead_rules: return "no_dead_rules";
  }
  return "unknown";
}

PropertiesFile load_properties_text(std::string_view text, const std::filesystem::path& file,
                                    const CompiledPolicy& policy) {
  PropertiesFile result;
  result.file = file;
  ParseResult parsed = parse_policy_file(text, file.string());
  // The parser speaks in policy codes; its own (P001 YAML syntax, P003 a key
  // that is not a string, P006 duplicate key, P008 nesting or alias
  // expansion beyond the limits, P009 not UTF-8) keep their numbers here.
  for (const Diagnostic& diagnostic : parsed.diagnostics.all()) {
    Diagnostic renumbered = diagnostic;
    renumbered.code = with_letter(diagnostic.code, 'V');
    result.diagnostics.add(std::move(renumbered));
  }
  if (!parsed.root) return result;
  PropertiesReader(result, policy).read(*parsed.root);
  return result;
}

PropertiesFile load_properties(const std::filesystem::path& file, const CompiledPolicy& policy) {
  std::string error;
  auto text = read_text_file(file, error);
  if (!text) {
    PropertiesFile result;
    result.file = file;
    result.diagnostics.error(Code::V007, SourceLocation{file.string(), 0, 0},
                             fmt::format("cannot read properties file: {}", error));
    return result;
  }
  return load_properties_text(*text, file, policy);
}

std::filesystem::path default_properties_file(const std::filesystem::path& policy_file) {
  return policy_file.parent_path() / "tests" / (policy_file.stem().string() + ".properties.yaml");
}

}  // namespace icegate::policy

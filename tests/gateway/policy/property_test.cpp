// Property test: random policies and messages (fixed seed) against an oracle
// written from the Policy model alone. The oracle shares no code with
// CompiledPolicy: it walks the model's vectors and compares strings, which is
// slow and obviously right, where the engine interns and uses bitsets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "gateway/policy/engine.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

// ---- Generator -----------------------------------------------------------------------

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : random_(seed) {}

  int between(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(random_); }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(between(0, static_cast<int>(items.size()) - 1))];
  }
  std::vector<std::string> some(const std::vector<std::string>& items, double p) {
    std::vector<std::string> result;
    for (const std::string& item : items) {
      if (chance(p)) result.push_back(item);
    }
    return result;
  }

  Policy policy() {
    Policy policy;
    policy.name = "random";
    LabelScheme& scheme = policy.scheme;
    scheme.name = "random-scheme";
    const int classification_count = between(1, 5);
    for (int c = 0; c < classification_count; ++c) {
      scheme.classifications.push_back(Classification{"K" + std::to_string(c), "K" + std::to_string(c), "", "", c, {}});
    }
    std::vector<std::string> classification_names;
    for (const auto& c : scheme.classifications) classification_names.push_back(c.name);
    const int tag_set_count = between(0, 3);
    for (int t = 0; t < tag_set_count; ++t) {
      TagSet tag_set;
      tag_set.name = "set" + std::to_string(t);
      tag_set.type = static_cast<TagSetType>(between(0, 2));
      const int category_count = between(1, 3);
      for (int k = 0; k < category_count; ++k) {
        Category category;
        category.name = "T" + std::to_string(t) + " C" + std::to_string(k);
        category.marking = category.name;
        category.tag_set = tag_set.name;
        category.excluded_at = some(classification_names, 0.15);
        tag_set.categories.push_back(category.name);
        scheme.categories.push_back(std::move(category));
      }
      scheme.tag_sets.push_back(std::move(tag_set));
    }
    std::vector<std::string> category_names;
    for (const auto& c : scheme.categories) category_names.push_back(c.name);
    for (Category& category : scheme.categories) {
      if (category_names.size() > 1 && chance(0.15)) {
        const std::string& other = pick(category_names);
        if (other != category.name) category.requires_categories.push_back(other);
      }
    }

    policy.levels = {"l0", "l1", "l2"};
    const int vetting_count = between(1, 3);
    for (int v = 0; v < vetting_count; ++v) {
      int regular = between(0, classification_count - 1);
      int occasional = between(regular, classification_count - 1);
      policy.vetting.push_back(Vetting{"v" + std::to_string(v), classification_names[regular],
                                       classification_names[occasional], {}});
    }
    const std::vector<std::string> kinds{"ka", "kb", "kc"};
    const int organisation_count = between(1, 3);
    for (int o = 0; o < organisation_count; ++o) {
      policy.organisations.push_back(Organisation{"o" + std::to_string(o), "", pick(kinds), chance(0.4), {}});
    }
    const int role_count = between(1, 3);
    for (int r = 0; r < role_count; ++r) {
      policy.roles.push_back(Role{"r" + std::to_string(r), "", pick(policy.levels), {}});
    }
    const int node_count = between(1, 6);
    for (int n = 0; n < node_count; ++n) {
      Node node;
      node.id = "n" + std::to_string(n);
      node.organisation = pick(policy.organisations).id;
      node.role = pick(policy.roles).id;
      node.vetting = pick(policy.vetting).name;
      node.categories = some(category_names, 0.5);
      policy.nodes.push_back(std::move(node));
    }
    policy.information_categories = {"i0", "i1", "i2"};
    policy.purposes = {"p0", "p1"};

    std::vector<std::string> node_ids, organisation_ids, role_ids, used_kinds;
    for (const auto& n : policy.nodes) node_ids.push_back(n.id);
    for (const auto& o : policy.organisations) {
      organisation_ids.push_back(o.id);
      if (std::find(used_kinds.begin(), used_kinds.end(), o.kind) == used_kinds.end()) used_kinds.push_back(o.kind);
    }
    for (const auto& r : policy.roles) role_ids.push_back(r.id);
    std::vector<std::string> held_roles;  // a review must name roles some node holds
    for (const auto& r : role_ids) {
      for (const auto& n : policy.nodes) {
        if (n.role == r) {
          held_roles.push_back(r);
          break;
        }
      }
    }
    const int list_count = between(0, 2);
    std::vector<std::string> list_ids;
    for (int l = 0; l < list_count; ++l) {
      DistributionList list;
      list.id = "l" + std::to_string(l);
      list.nodes = some(node_ids, 0.4);
      list.roles = some(role_ids, 0.3);
      list_ids.push_back(list.id);
      policy.lists.push_back(std::move(list));
    }
    auto matcher = [&]() {
      SubjectMatcher m;
      if (chance(0.2)) m.nodes = some(node_ids, 0.5);
      if (chance(0.2)) m.organisations = some(organisation_ids, 0.5);
      if (chance(0.2)) m.organisation_kinds = some(used_kinds, 0.5);
      if (chance(0.2)) m.roles = some(role_ids, 0.5);
      if (chance(0.2)) m.levels = some(policy.levels, 0.5);
      if (chance(0.15)) m.ct_network = chance(0.5);
      if (chance(0.15)) m.lists = some(list_ids, 0.6);
      return m;
    };
    const int rule_count = between(0, 6);
    for (int r = 0; r < rule_count; ++r) {
      Rule rule;
      rule.id = "rule" + std::to_string(r);
      rule.effect = chance(0.7) ? Effect::permit : Effect::deny;
      if (chance(0.6)) rule.categories = some(policy.information_categories, 0.5);
      if (chance(0.4)) rule.purposes = some(policy.purposes, 0.5);
      rule.from = matcher();
      rule.to = matcher();
      int low = between(0, classification_count - 1);
      int high = between(low, classification_count - 1);
      if (chance(0.3)) rule.min_classification = classification_names[low];
      if (chance(0.3)) rule.max_classification = classification_names[high];
      if (rule.effect == Effect::permit) {
        if (chance(0.3)) rule.handling.review_by = some(held_roles, 0.5);
        rule.handling.originator_control = chance(0.2);
        rule.handling.no_onward_sharing = chance(0.2);
      }
      policy.rules.push_back(std::move(rule));
    }
    return policy;
  }

  std::vector<Label> labels(const Policy& policy) {
    std::vector<std::string> category_names;
    for (const auto& c : policy.scheme.categories) category_names.push_back(c.name);
    std::vector<Label> labels;
    const int count = between(0, 4);
    for (int i = 0; i < count; ++i) {
      Label label;
      label.classification = chance(0.05) ? "UNKNOWN" : pick(policy.scheme.classifications).name;
      label.categories = some(category_names, 0.3);
      if (chance(0.03)) label.categories.push_back("NO SUCH CATEGORY");
      std::sort(label.categories.begin(), label.categories.end());
      labels.push_back(std::move(label));
    }
    return labels;
  }

 private:
  std::mt19937 random_;
};

// ---- Oracle ---------------------------------------------------------------------------------

template <typename T>
bool has(const std::vector<T>& items, const T& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

struct Oracle {
  const Policy& policy;

  int rank(const std::string& name) const {
    for (const auto& c : policy.scheme.classifications) {
      if (c.name == name) return c.rank;
    }
    return -1;
  }
  const Category* category(const std::string& name) const {
    for (const auto& c : policy.scheme.categories) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }
  TagSetType type_of(const Category& c) const {
    for (const auto& t : policy.scheme.tag_sets) {
      if (t.name == c.tag_set) return t.type;
    }
    return TagSetType::informative;
  }
  const Node* node(std::string_view id) const {
    for (const auto& n : policy.nodes) {
      if (n.id == id) return &n;
    }
    return nullptr;
  }
  const Vetting& vetting_of(const Node& n) const {
    for (const auto& v : policy.vetting) {
      if (v.name == n.vetting) return v;
    }
    throw std::logic_error("generated node without vetting");
  }

  bool label_valid(const Label& label) const {
    if (rank(label.classification) < 0) return false;
    for (const auto& name : label.categories) {
      const Category* c = category(name);
      if (!c || has(c->excluded_at, label.classification)) return false;
      for (const auto& required : c->requires_categories) {
        if (!has(label.categories, required)) return false;
      }
    }
    return true;
  }

  bool matches(const SubjectMatcher& m, const Node& n) const {
    const Organisation* o = nullptr;
    for (const auto& x : policy.organisations) {
      if (x.id == n.organisation) o = &x;
    }
    const Role* r = nullptr;
    for (const auto& x : policy.roles) {
      if (x.id == n.role) r = &x;
    }
    if (!m.nodes.empty() && !has(m.nodes, n.id)) return false;
    if (!m.organisations.empty() && !has(m.organisations, n.organisation)) return false;
    if (!m.organisation_kinds.empty() && !has(m.organisation_kinds, o->kind)) return false;
    if (!m.roles.empty() && !has(m.roles, n.role)) return false;
    if (!m.levels.empty() && !has(m.levels, r->level)) return false;
    if (m.ct_network && o->ct_network != *m.ct_network) return false;
    if (!m.lists.empty()) {
      bool member = false;
      for (const auto& list : policy.lists) {
        if (has(m.lists, list.id) && (has(list.nodes, n.id) || has(list.roles, n.role))) member = true;
      }
      if (!member) return false;
    }
    return true;
  }

  // Within the recipient's clearance: regular ceiling, or occasional when available.
  bool cleared(const Node& recipient, const Label& label, bool occasional_available, bool* occasional) const {
    const Vetting& v = vetting_of(recipient);
    *occasional = false;
    if (rank(label.classification) <= rank(v.regular_ceiling)) return true;
    if (occasional_available && rank(label.classification) <= rank(v.occasional_ceiling)) {
      *occasional = true;
      return true;
    }
    return false;
  }

  bool holds_categories(const Node& recipient, const Label& label) const {
    for (const auto& name : label.categories) {
      const Category* c = category(name);
      if (type_of(*c) == TagSetType::restrictive && !has(recipient.categories, name)) return false;
    }
    for (const auto& set : policy.scheme.tag_sets) {
      if (set.type != TagSetType::permissive) continue;
      bool on_label = false;
      bool held = false;
      for (const auto& name : label.categories) {
        if (category(name)->tag_set != set.name) continue;
        on_label = true;
        held = held || has(recipient.categories, name);
      }
      if (on_label && !held) return false;
    }
    return true;
  }

  PortionDecision decide(const DecisionRequest& request, const Label& label) const {
    PortionDecision out;
    if (!label_valid(label)) {
      out.reason = PortionReason::invalid_label;
      return out;
    }
    const Node* sender = node(request.sender);
    const Node* recipient = node(request.recipient);
    int deny = -1;
    int permit = -1;
    for (std::size_t i = 0; sender && recipient && i < policy.rules.size(); ++i) {
      const Rule& rule = policy.rules[i];
      if (!rule.categories.empty() && !has(rule.categories, std::string(request.category))) continue;
      if (!rule.purposes.empty() && !has(rule.purposes, std::string(request.purpose))) continue;
      if (!matches(rule.from, *sender) || !matches(rule.to, *recipient)) continue;
      if (rule.min_classification && rank(label.classification) < rank(*rule.min_classification)) continue;
      if (rule.max_classification && rank(label.classification) > rank(*rule.max_classification)) continue;
      if (rule.effect == Effect::deny && deny < 0) deny = static_cast<int>(i);
      if (rule.effect == Effect::permit && permit < 0) permit = static_cast<int>(i);
    }
    if (deny >= 0) {
      out.reason = PortionReason::denied_by_rule;
      out.rule = deny;
      return out;
    }
    if (permit < 0) {
      out.reason = PortionReason::no_rule_permits;
      return out;
    }
    out.rule = permit;
    const Vetting& v = vetting_of(*recipient);
    const int r = rank(label.classification);
    if (r > rank(v.occasional_ceiling)) {
      out.reason = PortionReason::above_clearance;
      return out;
    }
    if (r > rank(v.regular_ceiling) && !request.occasional_available) {
      out.reason = PortionReason::occasional_unavailable;
      return out;
    }
    if (!holds_categories(*recipient, label)) {
      out.reason = PortionReason::missing_category;
      return out;
    }
    out.released = true;
    out.occasional = r > rank(v.regular_ceiling);
    return out;
  }
};

// ---- YAML, to run the same policy through the loader ---------------------------------------------

std::string flow(const std::vector<std::string>& items) {
  std::string text = "[";
  for (std::size_t i = 0; i < items.size(); ++i) text += (i ? ", " : "") + items[i];
  return text + "]";
}

std::string matcher_yaml(const SubjectMatcher& m) {
  std::string text = "{";
  auto field = [&](const char* key, const std::vector<std::string>& values) {
    if (values.empty()) return;
    if (text.size() > 1) text += ", ";
    text += std::string(key) + ": " + flow(values);
  };
  field("nodes", m.nodes);
  field("organisations", m.organisations);
  field("organisation_kinds", m.organisation_kinds);
  field("roles", m.roles);
  field("levels", m.levels);
  field("lists", m.lists);
  if (m.ct_network) text += std::string(text.size() > 1 ? ", " : "") + "ct_network: " + (*m.ct_network ? "true" : "false");
  return text + "}";
}

std::string to_yaml(const Policy& p) {
  std::ostringstream out;
  const char* types[] = {"restrictive", "permissive", "informative"};
  out << "policy: " << p.name << "\nscheme:\n  scheme: " << p.scheme.name << "\n  classifications:\n";
  for (const auto& c : p.scheme.classifications) out << "    - name: " << c.name << "\n";
  out << "  tag_sets:\n";
  if (p.scheme.tag_sets.empty()) out << "    []\n";
  for (const auto& t : p.scheme.tag_sets) {
    out << "    - name: " << t.name << "\n      type: " << types[static_cast<int>(t.type)] << "\n      categories:\n";
    for (const auto& c : p.scheme.categories) {
      if (c.tag_set != t.name) continue;
      out << "        - {name: " << c.name << ", excluded_at: " << flow(c.excluded_at)
          << ", requires: " << flow(c.requires_categories) << "}\n";
    }
  }
  out << "levels: " << flow(p.levels) << "\nvetting:\n";
  for (const auto& v : p.vetting) {
    out << "  - {name: " << v.name << ", regular: " << v.regular_ceiling << ", occasional: " << v.occasional_ceiling << "}\n";
  }
  out << "organisations:\n";
  for (const auto& o : p.organisations) {
    out << "  - {id: " << o.id << ", kind: " << o.kind << ", ct_network: " << (o.ct_network ? "true" : "false") << "}\n";
  }
  out << "roles:\n";
  for (const auto& r : p.roles) out << "  - {id: " << r.id << ", level: " << r.level << "}\n";
  out << "nodes:\n";
  for (const auto& n : p.nodes) {
    out << "  - {id: " << n.id << ", organisation: " << n.organisation << ", role: " << n.role
        << ", vetting: " << n.vetting << ", categories: " << flow(n.categories) << "}\n";
  }
  out << "lists:\n";
  if (p.lists.empty()) out << "  []\n";
  for (const auto& l : p.lists) {
    out << "  - {id: " << l.id << ", nodes: " << flow(l.nodes) << ", roles: " << flow(l.roles) << "}\n";
  }
  out << "information_categories: " << flow(p.information_categories) << "\npurposes: " << flow(p.purposes)
      << "\ncombining: deny-overrides\nrules:\n";
  if (p.rules.empty()) out << "  []\n";
  for (const auto& r : p.rules) {
    out << "  - id: " << r.id << "\n    effect: " << (r.effect == Effect::permit ? "permit" : "deny")
        << "\n    categories: " << flow(r.categories) << "\n    purposes: " << flow(r.purposes)
        << "\n    from: " << matcher_yaml(r.from) << "\n    to: " << matcher_yaml(r.to) << "\n";
    if (r.min_classification) out << "    min_classification: " << *r.min_classification << "\n";
    if (r.max_classification) out << "    max_classification: " << *r.max_classification << "\n";
    if (r.effect == Effect::permit) {
      out << "    handling: {review_by: " << flow(r.handling.review_by)
          << ", originator_control: " << (r.handling.originator_control ? "true" : "false")
          << ", no_onward_sharing: " << (r.handling.no_onward_sharing ? "true" : "false") << "}\n";
    }
  }
  return out.str();
}

// ---- The properties ----------------------------------------------------------------------------------

constexpr int kPolicies = 300;
constexpr int kMessagesPerPolicy = 30;

DecisionRequest random_request(Generator& g, const Policy& policy, const std::vector<Label>& labels) {
  DecisionRequest request;
  request.sender = g.chance(0.03) ? std::string_view("stranger") : std::string_view(g.pick(policy.nodes).id);
  request.recipient = g.chance(0.03) ? std::string_view("stranger") : std::string_view(g.pick(policy.nodes).id);
  static const std::vector<std::string> categories{"i0", "i1", "i2", "undeclared"};
  static const std::vector<std::string> purposes{"p0", "p1", "undeclared"};
  request.category = g.pick(categories);
  request.purpose = g.pick(purposes);
  request.portion_labels = labels;
  request.occasional_available = g.chance(0.5);
  return request;
}

TEST(PolicyProperty, DecisionsAgreeWithTheOracleAndNeverOverRelease) {
  Generator g(20240601);
  int released_portions = 0;
  int withheld_portions = 0;
  int holds = 0;
  for (int p = 0; p < kPolicies; ++p) {
    const Policy policy = g.policy();
    const Oracle oracle{policy};
    const CompiledPolicy compiled(policy);
    for (int m = 0; m < kMessagesPerPolicy; ++m) {
      const std::vector<Label> labels = g.labels(policy);
      const DecisionRequest request = random_request(g, policy, labels);
      const PolicyDecision decision = compiled.decide(request);
      ASSERT_EQ(decision.portions.size(), labels.size());
      std::size_t released = 0;
      std::vector<int> rules;
      std::vector<std::string> review_roles;
      bool originator_control = false;
      bool no_onward_sharing = false;
      for (std::size_t i = 0; i < labels.size(); ++i) {
        const PortionDecision& got = decision.portions[i];
        SCOPED_TRACE(::testing::Message() << "policy " << p << " message " << m << " portion " << i << "\n"
                                          << to_yaml(policy));
        // Safety, checked directly on the model.
        if (got.released) {
          ++released;
          const Node* recipient = oracle.node(request.recipient);
          ASSERT_NE(recipient, nullptr) << "released to a node the policy does not define";
          bool occasional = false;
          EXPECT_TRUE(oracle.cleared(*recipient, labels[i], request.occasional_available, &occasional))
              << labels[i].classification << " released above " << recipient->id << "'s ceiling";
          EXPECT_EQ(got.occasional, occasional);
          EXPECT_TRUE(oracle.holds_categories(*recipient, labels[i]))
              << recipient->id << " lacks a category of the released portion";
          EXPECT_TRUE(oracle.label_valid(labels[i]));
        }
        // Agreement with the oracle's whole decision.
        const PortionDecision expected = oracle.decide(request, labels[i]);
        EXPECT_EQ(got.released, expected.released);
        EXPECT_EQ(got.reason, expected.reason) << to_string(got.reason) << ": " << got.detail;
        EXPECT_EQ(got.rule, expected.rule);
        EXPECT_EQ(got.occasional, expected.occasional);
        if (got.released) {
          EXPECT_TRUE(got.detail.empty() || got.occasional);
        } else {
          EXPECT_FALSE(got.detail.empty()) << "a withheld portion is always explained";
        }
        if (expected.rule >= 0) rules.push_back(expected.rule);
        if (expected.released) {
          const RuleHandling& handling = policy.rules[static_cast<std::size_t>(expected.rule)].handling;
          review_roles.insert(review_roles.end(), handling.review_by.begin(), handling.review_by.end());
          originator_control = originator_control || handling.originator_control;
          no_onward_sharing = no_onward_sharing || handling.no_onward_sharing;
        }
      }
      released_portions += static_cast<int>(released);
      withheld_portions += static_cast<int>(labels.size() - released);
      std::sort(rules.begin(), rules.end());
      rules.erase(std::unique(rules.begin(), rules.end()), rules.end());
      EXPECT_EQ(decision.rules, rules);
      std::sort(review_roles.begin(), review_roles.end());
      review_roles.erase(std::unique(review_roles.begin(), review_roles.end()), review_roles.end());
      const Decision expected_decision = labels.empty() || released == 0 ? Decision::deny
                                         : !review_roles.empty()         ? Decision::hold
                                         : released == labels.size()     ? Decision::release
                                                                         : Decision::release_redacted;
      EXPECT_EQ(decision.decision, expected_decision);
      EXPECT_EQ(decision.review_roles, review_roles);
      EXPECT_EQ(decision.originator_control, originator_control);
      EXPECT_EQ(decision.no_onward_sharing, no_onward_sharing);
      EXPECT_FALSE(decision.reason.empty());
      if (decision.decision == Decision::hold) {
        ++holds;
        // A hold is a release waiting for approval: never more than the
        // oracle would release, and always someone named to approve it.
        for (std::size_t i = 0; i < labels.size(); ++i) {
          if (decision.portions[i].released) {
            EXPECT_TRUE(oracle.decide(request, labels[i]).released);
          }
        }
        EXPECT_FALSE(decision.review_roles.empty());
        EXPECT_THAT(decision.reason, ::testing::StartsWith("held for review by "));
      }
    }
  }
  // The generator must exercise both outcomes, or the properties above prove little.
  EXPECT_GT(released_portions, 1000);
  EXPECT_GT(withheld_portions, 1000);
  EXPECT_GT(holds, 100);
}

TEST(PolicyProperty, WithoutPermitRulesNothingIsReleased) {
  Generator g(7);
  for (int p = 0; p < kPolicies; ++p) {
    Policy policy = g.policy();
    std::erase_if(policy.rules, [](const Rule& rule) { return rule.effect == Effect::permit; });
    const CompiledPolicy compiled(policy);
    for (int m = 0; m < 10; ++m) {
      const std::vector<Label> labels = g.labels(policy);
      const PolicyDecision decision = compiled.decide(random_request(g, policy, labels));
      EXPECT_EQ(decision.decision, Decision::deny);
      for (const PortionDecision& portion : decision.portions) {
        EXPECT_FALSE(portion.released);
        EXPECT_NE(portion.reason, PortionReason::none);
      }
    }
  }
}

TEST(PolicyProperty, LoadedFromYamlTheSamePolicyDecidesTheSame) {
  // The generated policy written as YAML must pass the validator and compile
  // to the same decisions: the loader and a hand-built Policy agree.
  Generator g(99);
  for (int p = 0; p < 100; ++p) {
    const Policy policy = g.policy();
    const std::string text = to_yaml(policy);
    LoadResult loaded = load_policy_text(text, "generated.yaml");
    ASSERT_TRUE(loaded.policy) << text << testing::joined(testing::rendered(loaded.diagnostics));
    EXPECT_TRUE(loaded.diagnostics.empty());
    const CompiledPolicy direct(policy);
    for (int m = 0; m < 20; ++m) {
      const std::vector<Label> labels = g.labels(policy);
      const DecisionRequest request = random_request(g, policy, labels);
      const PolicyDecision a = direct.decide(request);
      const PolicyDecision b = loaded.policy->decide(request);
      EXPECT_EQ(a.decision, b.decision);
      EXPECT_EQ(a.rules, b.rules);
      EXPECT_EQ(a.reason, b.reason);
      EXPECT_EQ(a.review_roles, b.review_roles);
      EXPECT_EQ(a.originator_control, b.originator_control);
      EXPECT_EQ(a.no_onward_sharing, b.no_onward_sharing);
    }
  }
}

}  // namespace
}  // namespace icegate::policy

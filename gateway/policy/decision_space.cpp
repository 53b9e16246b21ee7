// The decision space of one or more policies, folded into node classes with
// its decisions cached (DecisionSpace, shared by diff and matrix), and the
// outcome of one portion at one point of it. See diff.hpp for the method.
#include <algorithm>
#include <cstring>
#include <functional>
#include <unordered_map>

#include "gateway/policy/diff.hpp"
#include "gateway/policy/diff_support.hpp"
#include "gateway/policy/subject.hpp"

namespace icegate::policy {

using detail::contains;

namespace {

using RuleBits = std::vector<std::uint64_t>;

void set_bit(RuleBits& bits, std::size_t index) { bits[index >> 6] |= std::uint64_t{1} << (index & 63); }

// Appends the raw bytes of `value` to a hash key.
template <typename T>
void append_bytes(std::string& key, const T* data, std::size_t count) {
  key.append(reinterpret_cast<const char*>(data), count * sizeof(T));
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

  // Each node as the rules' matchers see it: the engine's own matcher
  // (subject.hpp), so the folded computation cannot drift from decide().
  std::vector<Subject> facts;
  facts.reserve(node_ids.size());
  for (std::size_t n = 0; n < node_ids.size(); ++n) {
    const Node* node = compiled.find_node(node_ids[n]);
    facts.push_back(subject_of(policy, *node));
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

}  // namespace icegate::policy

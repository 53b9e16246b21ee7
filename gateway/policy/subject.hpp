// A node as a SubjectMatcher (a rule's from/to, an event's triggered_by) sees
// it, and the one test of a matcher against it. The compiled policy's index,
// the decision space that diff and prove fold, and explain's NodeDirectory all
// match through here, so that they cannot disagree on what a matcher means.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "gateway/policy/model.hpp"

namespace icegate::policy {

struct Subject {
  std::string_view id;
  std::string_view organisation;  // the id the node names
  std::string_view role;
  const Organisation* organisation_def = nullptr;  // null: the policy defines no such organisation
  const Role* role_def = nullptr;                  // null: the policy defines no such role
  std::vector<std::string_view> lists;             // the distribution lists it belongs to
};

// `node` as a subject of `policy` (linear in the policy's organisations, roles
// and lists: build once per node where many matchers are tested).
Subject subject_of(const Policy& policy, const Node& node);

// A matcher's fields, in the order they are tested (and explained).
enum class MatcherField { nodes, organisations, organisation_kinds, roles, levels, ct_network, lists, peers };
// As the policy file spells it: "organisation_kinds".
std::string_view field_name(MatcherField field);

// The first field of `matcher` that `subject` does not satisfy; nullopt when
// it matches. An empty field matches anything; a field about the node's
// organisation or role fails when the policy defines neither. A matcher that
// names `peers` matches remote senders only (CompiledPolicy::decide with a
// sender_gateway), so never a subject, which is a local node.
std::optional<MatcherField> first_mismatch(const SubjectMatcher& matcher, const Subject& subject);
inline bool matches(const SubjectMatcher& matcher, const Subject& subject) {
  return !first_mismatch(matcher, subject).has_value();
}

}  // namespace icegate::policy

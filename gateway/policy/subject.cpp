#include "gateway/policy/subject.hpp"

#include <algorithm>

#include "gateway/policy/diff_support.hpp"

namespace icegate::policy {

using detail::contains;

Subject subject_of(const Policy& policy, const Node& node) {
  Subject subject{node.id, node.organisation, node.role, nullptr, nullptr, {}};
  for (const Organisation& organisation : policy.organisations) {
    if (organisation.id == node.organisation) {
      subject.organisation_def = &organisation;
      break;
    }
  }
  for (const Role& role : policy.roles) {
    if (role.id == node.role) {
      subject.role_def = &role;
      break;
    }
  }
  for (const DistributionList& list : policy.lists) {
    if (contains(list.nodes, node.id) || contains(list.roles, node.role)) subject.lists.push_back(list.id);
  }
  return subject;
}

std::string_view field_name(MatcherField field) {
  switch (field) {
    case MatcherField::nodes: return "nodes";
    case MatcherField::organisations: return "organisations";
    case MatcherField::organisation_kinds: return "organisation_kinds";
    case MatcherField::roles: return "roles";
    case MatcherField::levels: return "levels";
    case MatcherField::ct_network: return "ct_network";
    case MatcherField::lists: return "lists";
    case MatcherField::peers: return "peers";
  }
  return "unknown";
}

std::optional<MatcherField> first_mismatch(const SubjectMatcher& matcher, const Subject& subject) {
  const Organisation* organisation = subject.organisation_def;
  if (!matcher.peers.empty()) return MatcherField::peers;  // a local node is never a remote sender
  if (!matcher.nodes.empty() && !contains(matcher.nodes, subject.id)) return MatcherField::nodes;
  if (!matcher.organisations.empty() && !contains(matcher.organisations, subject.organisation)) {
    return MatcherField::organisations;
  }
  if (!matcher.organisation_kinds.empty() &&
      (organisation == nullptr || !contains(matcher.organisation_kinds, organisation->kind))) {
    return MatcherField::organisation_kinds;
  }
  if (!matcher.roles.empty() && !contains(matcher.roles, subject.role)) return MatcherField::roles;
  if (!matcher.levels.empty() && (subject.role_def == nullptr || !contains(matcher.levels, subject.role_def->level))) {
    return MatcherField::levels;
  }
  if (matcher.ct_network && (organisation == nullptr || organisation->ct_network != *matcher.ct_network)) {
    return MatcherField::ct_network;
  }
  if (!matcher.lists.empty() && std::none_of(matcher.lists.begin(), matcher.lists.end(), [&](const std::string& list) {
        return contains(subject.lists, std::string_view(list));
      })) {
    return MatcherField::lists;
  }
  return std::nullopt;
}

}  // namespace icegate::policy

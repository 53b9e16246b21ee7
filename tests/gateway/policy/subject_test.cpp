// The one matcher (gateway/policy/subject.hpp) that the compiled policy, the
// decision space of diff and prove, and explain all test rules with.
#include <gtest/gtest.h>

#include "gateway/policy/subject.hpp"

namespace icegate::policy {
namespace {

Policy small_policy() {
  Policy policy;
  policy.organisations = {{"gmp", "Greater Manchester Police", "police", false, {}},
                          {"ctu-nw", "CTU North West", "ctu", true, {}}};
  policy.roles = {{"ctio", "CTIO", "tactical", {}}, {"analyst", "Analyst", "delivery", {}}};
  policy.nodes = {{"ctio-gmp", "", "gmp", "ctio", "SC", {}, {}}, {"ghost", "", "nowhere", "nobody", "SC", {}, {}}};
  DistributionList list;
  list.id = "tactical-leads";
  list.roles = {"ctio"};
  policy.lists = {list};
  return policy;
}

TEST(Subject, ANodeIsSeenWithItsOrganisationRoleAndLists) {
  const Policy policy = small_policy();
  const Subject subject = subject_of(policy, policy.nodes[0]);
  ASSERT_NE(subject.organisation_def, nullptr);
  EXPECT_EQ(subject.organisation_def->kind, "police");
  ASSERT_NE(subject.role_def, nullptr);
  EXPECT_EQ(subject.role_def->level, "tactical");
  EXPECT_EQ(subject.lists, (std::vector<std::string_view>{"tactical-leads"}));
}

TEST(Subject, TheFirstFieldThatFailsIsNamedInTheDocumentedOrder) {
  const Policy policy = small_policy();
  const Subject ctio = subject_of(policy, policy.nodes[0]);
  SubjectMatcher matcher;
  EXPECT_TRUE(matches(matcher, ctio)) << "an empty matcher matches anything";
  matcher.roles = {"analyst"};
  matcher.organisation_kinds = {"ctu"};
  EXPECT_EQ(first_mismatch(matcher, ctio), MatcherField::organisation_kinds);  // kinds before roles
  matcher.organisation_kinds = {"police"};
  EXPECT_EQ(first_mismatch(matcher, ctio), MatcherField::roles);
  matcher.roles = {"ctio"};
  matcher.ct_network = true;
  EXPECT_EQ(first_mismatch(matcher, ctio), MatcherField::ct_network);
  matcher.ct_network = false;
  matcher.lists = {"other", "tactical-leads"};
  EXPECT_TRUE(matches(matcher, ctio)) << "a member of one of the lists is enough";
  matcher.levels = {"strategic"};
  EXPECT_EQ(first_mismatch(matcher, ctio), MatcherField::levels);
  EXPECT_EQ(field_name(MatcherField::organisation_kinds), "organisation_kinds");
}

TEST(Subject, WhatThePolicyDoesNotDefineFailsEveryFieldAboutIt) {
  const Policy policy = small_policy();
  const Subject ghost = subject_of(policy, policy.nodes[1]);
  EXPECT_EQ(ghost.organisation_def, nullptr);
  EXPECT_EQ(ghost.role_def, nullptr);
  SubjectMatcher matcher;
  matcher.ct_network = false;  // not "not in the CT Network": unknown
  EXPECT_EQ(first_mismatch(matcher, ghost), MatcherField::ct_network);
  matcher = {};
  matcher.levels = {"tactical", "delivery", "strategic"};
  EXPECT_EQ(first_mismatch(matcher, ghost), MatcherField::levels);
  matcher = {};
  matcher.organisations = {"nowhere"};  // the name it gives still matches by id
  EXPECT_TRUE(matches(matcher, ghost));
}

}  // namespace
}  // namespace icegate::policy

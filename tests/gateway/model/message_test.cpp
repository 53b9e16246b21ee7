// same_version: when two recipients' Deliver frames may be one and the same
// (the router builds one frame per version of a fan-out, and the audit
// records one detail): every field the frame takes from a decision counts,
// the recipient does not.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "gateway/model/message.hpp"

namespace icegate {
namespace {

RecipientDecision redacted(const std::string& node) {
  RecipientDecision decision;
  decision.node_id = node;
  decision.decision = Decision::release_redacted;
  decision.released_portion_ids = {"p1"};
  decision.released_label = {"OFFICIAL", {}};
  decision.withheld = {{"p2", {"SECRET", {"UK-EYES"}}, "above the recipient's vetting", {"r-vetting"}}};
  decision.rule_ids = {"r-share"};
  decision.reason = "released redacted";
  return decision;
}

TEST(SameVersion, TheRecipientAndItsHoldDoNotCount) {
  RecipientDecision other = redacted("officer-2");
  other.hold_id = "h-1";
  other.held_for = "review";
  EXPECT_TRUE(same_version(redacted("officer-1"), other));
}

TEST(SameVersion, EveryFieldTheDeliverCarriesCounts) {
  const std::vector<std::pair<std::string, std::function<void(RecipientDecision&)>>> changes = {
      {"decision", [](RecipientDecision& d) { d.decision = Decision::release; }},
      {"released portions", [](RecipientDecision& d) { d.released_portion_ids.push_back("p2"); }},
      {"released label", [](RecipientDecision& d) { d.released_label.classification = "SECRET"; }},
      {"released label's categories", [](RecipientDecision& d) { d.released_label.categories = {"UK-EYES"}; }},
      {"withheld portion", [](RecipientDecision& d) { d.withheld[0].portion_id = "p3"; }},
      {"withheld label", [](RecipientDecision& d) { d.withheld[0].label.classification = "TOP SECRET"; }},
      {"withheld reason", [](RecipientDecision& d) { d.withheld[0].reason = "need to know"; }},
      {"withheld rules", [](RecipientDecision& d) { d.withheld[0].rule_ids.clear(); }},
      {"rules", [](RecipientDecision& d) { d.rule_ids = {"r-other"}; }},
      {"reason", [](RecipientDecision& d) { d.reason = "released redacted for officer-2"; }},
  };
  for (const auto& [field, change] : changes) {
    RecipientDecision other = redacted("officer-2");
    change(other);
    EXPECT_FALSE(same_version(redacted("officer-1"), other)) << "a different " << field << " is another version";
  }
}

}  // namespace
}  // namespace icegate

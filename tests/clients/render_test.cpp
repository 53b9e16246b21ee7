// What `icegate node` prints of a Receipt: each gateway's step of the way to
// remote recipients (docs/FEDERATION.md, "The originator's Receipt, hop by hop").
#include "clients/node/render.hpp"

#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace icegate::node {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

HopStep step(std::string gateway, std::uint32_t hop, std::string next_peer, Decision decision,
             std::vector<std::string> addressees) {
  HopStep out;
  out.gateway = std::move(gateway);
  out.hop = hop;
  out.next_peer = std::move(next_peer);
  out.decision = decision;
  out.addressees = std::move(addressees);
  return out;
}

TEST(RenderReceipt, ShowsEachHopsStepWithWhatWasWithheldAndWhy) {
  Receipt receipt;
  receipt.message_id = "6f1e2c3d-0000-4000-8000-000000000000";
  receipt.policy_version = "sha256:abc";
  HopStep first = step("gw-wm-ctu", 1, "gw-birmingham", Decision::release_redacted,
                       {"role:prevent-coordinator", "organisation:staffs-police"});
  first.withheld = {{"1", Label{"SECRET", {"UK EYES ONLY"}}, "SECRET is above gw-birmingham's accreditation", {}}};
  receipt.hops = {first};
  std::ostringstream out;
  render(out, receipt);
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("hop 1 gw-wm-ctu -> gw-birmingham RELEASE_REDACTED for role:prevent-coordinator, "
                              "organisation:staffs-police\n"));
  EXPECT_THAT(text, HasSubstr("withheld portion 1 [SECRET | UK EYES ONLY]: "));
  EXPECT_THAT(text, HasSubstr("SECRET is above gw-birmingham's accreditation"));
  EXPECT_THAT(text, Not(HasSubstr("no recipient"))) << "its recipients are further on";
}

TEST(RenderReceipt, AFollowUpWithOnlyALaterGatewaysStepsShowsThemAndTheirRefusal) {
  Receipt receipt;
  receipt.message_id = "6f1e2c3d-0000-4000-8000-000000000000";
  receipt.follow_up = true;
  HopStep released = step("gw-staffordshire", 3, "", Decision::release, {"organisation:staffs-police"});
  released.recipients = 2;
  HopStep refused = step("gw-staffordshire", 3, "", Decision::deny, {"role:staffs-ctio"});
  refused.refusal = "beyond-accreditation";
  refused.reason = "portion 2 is beyond gw-birmingham's accreditation";
  receipt.hops = {released, refused};
  std::ostringstream out;
  render(out, receipt);
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("RECEIPT (follow-up)"));
  EXPECT_THAT(text, Not(HasSubstr("no recipient")));
  EXPECT_THAT(text, HasSubstr("hop 3 gw-staffordshire RELEASE to 2 for organisation:staffs-police\n"));
  EXPECT_THAT(text, HasSubstr("hop 3 gw-staffordshire DENY (refused: beyond-accreditation) for role:staffs-ctio\n"));
  EXPECT_THAT(text, HasSubstr("reason: portion 2 is beyond gw-birmingham's accreditation"));
}

}  // namespace
}  // namespace icegate::node

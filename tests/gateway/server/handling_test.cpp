// Handling end to end, over real TLS on loopback: critical-reader review,
// originator consent, no onward sharing, embargo (time and event), expiry and
// the occasional-access allowance. Policy: tests/data/handling-policy.yaml.
#include <gtest/gtest.h>

#include <map>

#include "gateway/audit/audit.hpp"
#include "tests/support/gateway_fixture.hpp"

namespace icegate::testing {
namespace {

const std::vector<std::string> nodes{"analyst", "sio", "reader", "housing", "education", "officer", "sb-officer"};

Label label(std::string classification, std::vector<std::string> categories = {}) {
  return {std::move(classification), std::move(categories)};
}

Addressee to_node(std::string name) { return {AddresseeKind::node, std::move(name)}; }

const node::ReceiptOutcome* outcome_for(const node::Receipt& receipt, const std::string& node_id) {
  for (const auto& outcome : receipt.outcomes)
    if (outcome.decision.node_id == node_id) return &outcome;
  return nullptr;
}

class HandlingTest : public ::testing::Test {
 protected:
  explicit HandlingTest(server::GatewayConfig config = fast_ticks())
      : gateway_(source_path("tests/data/handling-policy.yaml"), nodes, std::move(config)) {}

  static server::GatewayConfig fast_ticks() {
    server::GatewayConfig config;
    config.tick_interval = 20ms;
    return config;
  }

  Message profile(std::vector<Addressee> to) {
    return make_message("analyst", std::move(to), "ct-problem-profile", "prevent",
                        {{label("SECRET", {"UK EYES ONLY"}), "secret: source detail"},
                         {label("RESTRICTED"), "restricted: partner version"}});
  }

  RunningGateway gateway_;
};

TEST_F(HandlingTest, ProductWaitsForTheCriticalReaderThenGoesToHeadsOfService) {
  auto analyst = gateway_.connect("analyst");
  auto reader = gateway_.connect("reader");
  auto housing = gateway_.connect("housing");
  auto education = gateway_.connect("education");
  const Message message = profile({{AddresseeKind::list, "heads"}});
  analyst->submit(message);

  auto receipt = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(receipt);
  const auto* held = outcome_for(*receipt, "housing");
  ASSERT_TRUE(held);
  EXPECT_EQ(held->decision.decision, Decision::hold);
  EXPECT_EQ(held->decision.held_for, "role:critical-reader");
  EXPECT_FALSE(held->decision.hold_id.empty());
  EXPECT_EQ(outcome_for(*receipt, "education")->decision.hold_id, held->decision.hold_id) << "one hold per product";
  EXPECT_FALSE(next_of<node::Delivery>(*housing, 300ms)) << "released before review";

  auto request = next_of<node::ReviewRequest>(*reader);
  ASSERT_TRUE(request);
  EXPECT_EQ(request->hold_id, held->decision.hold_id);
  EXPECT_FALSE(request->consent);
  EXPECT_EQ(request->recipients, (std::vector<std::string>{"housing", "education"}));
  ASSERT_EQ(request->message.portions.size(), 1u) << "the reader reviews the version being released";
  EXPECT_EQ(request->message.portions[0].body, "restricted: partner version");

  reader->review(request->hold_id, node::Verdict::approve);
  auto ack = next_of<node::Acknowledgement>(*reader);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->message_id, request->hold_id);

  auto delivery = next_of<node::Delivery>(*housing);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->decision, Decision::release_redacted);
  ASSERT_EQ(delivery->message.portions.size(), 1u);
  EXPECT_TRUE(next_of<node::Delivery>(*education));

  auto follow_up = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(follow_up);
  EXPECT_TRUE(follow_up->follow_up);
  ASSERT_EQ(follow_up->outcomes.size(), 2u);
  EXPECT_EQ(follow_up->outcomes[0].decision.decision, Decision::release_redacted);
  EXPECT_TRUE(follow_up->outcomes[0].delivered);
  EXPECT_NE(follow_up->outcomes[0].decision.reason.find("approved by critical reader reader"), std::string::npos)
      << follow_up->outcomes[0].decision.reason;
}

TEST_F(HandlingTest, RefusalByTheCriticalReaderDeniesEveryHeldRecipient) {
  auto analyst = gateway_.connect("analyst");
  auto reader = gateway_.connect("reader");
  auto housing = gateway_.connect("housing");
  analyst->submit(profile({to_node("housing")}));
  auto request = next_of<node::ReviewRequest>(*reader);
  ASSERT_TRUE(request);
  reader->review(request->hold_id, node::Verdict::refuse, {}, "names a street");
  ASSERT_TRUE(next_of<node::Receipt>(*analyst));  // the first Receipt
  auto follow_up = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(follow_up);
  ASSERT_EQ(follow_up->outcomes.size(), 1u);
  EXPECT_EQ(follow_up->outcomes[0].decision.decision, Decision::deny);
  EXPECT_NE(follow_up->outcomes[0].decision.reason.find("names a street"), std::string::npos);
  EXPECT_FALSE(next_of<node::Delivery>(*housing, 300ms));
}

TEST_F(HandlingTest, ReaderCanApproveARedactedVersion) {
  auto analyst = gateway_.connect("analyst");
  auto reader = gateway_.connect("reader");
  auto housing = gateway_.connect("housing");
  analyst->submit(make_message("analyst", {to_node("housing")}, "ct-problem-profile", "prevent",
                               {{label("RESTRICTED"), "themes"}, {label("RESTRICTED"), "a named venue"}}));
  auto request = next_of<node::ReviewRequest>(*reader);
  ASSERT_TRUE(request);
  reader->review(request->hold_id, node::Verdict::approve_redacted, {"2"});
  auto delivery = next_of<node::Delivery>(*housing);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->decision, Decision::release_redacted);
  ASSERT_EQ(delivery->message.portions.size(), 1u);
  EXPECT_EQ(delivery->message.portions[0].body, "themes");
  ASSERT_EQ(delivery->withheld.size(), 1u);
  EXPECT_EQ(delivery->withheld[0].portion_id, "2");
  EXPECT_NE(delivery->withheld[0].reason.find("withheld by critical reader reader"), std::string::npos);
}

TEST_F(HandlingTest, OnlyAReviewerMayDecideAndOnlyOnce) {
  auto analyst = gateway_.connect("analyst");
  auto reader = gateway_.connect("reader");
  auto housing = gateway_.connect("housing");
  analyst->submit(profile({to_node("housing")}));
  auto request = next_of<node::ReviewRequest>(*reader);
  ASSERT_TRUE(request);

  housing->review(request->hold_id, node::Verdict::approve);  // a recipient approving its own release
  auto refused = next_of<node::ErrorNotice>(*housing);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, "NOT_PERMITTED");
  EXPECT_FALSE(next_of<node::Delivery>(*housing, 200ms));

  reader->review("no-such-hold", node::Verdict::approve);
  auto unknown = next_of<node::ErrorNotice>(*reader);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->code, "UNKNOWN_HOLD");

  reader->review(request->hold_id, node::Verdict::approve);
  ASSERT_TRUE(next_of<node::Delivery>(*housing));
  reader->review(request->hold_id, node::Verdict::refuse);
  auto again = next_of<node::ErrorNotice>(*reader);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->code, "UNKNOWN_HOLD");
  EXPECT_NE(again->text.find("already approved by reader"), std::string::npos) << again->text;
}

TEST_F(HandlingTest, ReviewerIsNotShownWhatItIsNotClearedFor) {
  auto analyst = gateway_.connect("analyst");
  auto reader = gateway_.connect("reader");
  analyst->submit(profile({to_node("sb-officer")}));  // SC recipient; BPSS reviewer
  auto request = next_of<node::ReviewRequest>(*reader);
  ASSERT_TRUE(request);
  ASSERT_EQ(request->message.portions.size(), 1u);
  EXPECT_EQ(request->message.portions[0].label, label("RESTRICTED"));
  ASSERT_EQ(request->not_shown.size(), 1u);
  EXPECT_EQ(request->not_shown[0].label, label("SECRET", {"UK EYES ONLY"}));
  EXPECT_EQ(request->message.label, label("RESTRICTED"));
}

TEST_F(HandlingTest, ReviewRequestWaitsForAnOfflineReviewer) {
  auto analyst = gateway_.connect("analyst");
  analyst->submit(profile({to_node("housing")}));
  ASSERT_TRUE(next_of<node::Receipt>(*analyst));
  auto reader = gateway_.connect("reader");
  EXPECT_TRUE(next_of<node::ReviewRequest>(*reader));
}

Message prebriefing(const std::string& from, std::vector<Addressee> to, const std::string& body) {
  return make_message(from, std::move(to), "operational-prebriefing", "consequence-management",
                      {{label("RESTRICTED"), body}});
}

TEST_F(HandlingTest, OnwardReleaseBeyondTheFirstRecipientsNeedsTheOriginatorsConsent) {
  auto analyst = gateway_.connect("analyst");
  auto housing = gateway_.connect("housing");
  auto education = gateway_.connect("education");
  auto officer = gateway_.connect("officer");
  const Message original = prebriefing("analyst", {to_node("housing"), to_node("education")}, "arrests planned");
  analyst->submit(original);
  ASSERT_TRUE(next_of<node::Delivery>(*housing));
  ASSERT_TRUE(next_of<node::Delivery>(*education));
  ASSERT_TRUE(next_of<node::Receipt>(*analyst));

  // housing re-sends the same text (without saying so) to education and to the NPT officer.
  const Message resent = prebriefing("housing", {to_node("education"), to_node("officer")}, "arrests planned");
  housing->submit(resent);
  auto receipt = next_of<node::Receipt>(*housing);
  ASSERT_TRUE(receipt);
  EXPECT_EQ(outcome_for(*receipt, "education")->decision.decision, Decision::release) << "already a first recipient";
  const auto* held = outcome_for(*receipt, "officer");
  ASSERT_TRUE(held);
  EXPECT_EQ(held->decision.decision, Decision::hold);
  EXPECT_EQ(held->decision.held_for, "node:analyst (originator consent)");
  EXPECT_FALSE(next_of<node::Delivery>(*officer, 300ms));

  auto request = next_of<node::ReviewRequest>(*analyst);
  ASSERT_TRUE(request);
  EXPECT_TRUE(request->consent);
  EXPECT_EQ(request->recipients, std::vector<std::string>{"officer"});
  analyst->review(request->hold_id, node::Verdict::approve);
  auto delivery = next_of<node::Delivery>(*officer);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->message.id, resent.id);
  auto follow_up = next_of<node::Receipt>(*housing);
  ASSERT_TRUE(follow_up);
  EXPECT_TRUE(follow_up->follow_up);
}

TEST_F(HandlingTest, NoOnwardSharingRefusesAReSendByReferenceOrByContent) {
  auto analyst = gateway_.connect("analyst");
  auto housing = gateway_.connect("housing");
  Message original = prebriefing("analyst", {to_node("housing")}, "operation at dawn");
  original.handling.no_onward_sharing = true;
  analyst->submit(original);
  ASSERT_TRUE(next_of<node::Delivery>(*housing));

  Message by_reference = prebriefing("housing", {to_node("education")}, "paraphrased");
  by_reference.derived_from = original.id;
  housing->submit(by_reference);
  auto error = next_of<node::ErrorNotice>(*housing);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "ONWARD_SHARING_FORBIDDEN");

  housing->submit(prebriefing("housing", {to_node("education")}, "operation at dawn"));
  error = next_of<node::ErrorNotice>(*housing);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "ONWARD_SHARING_FORBIDDEN");

  // The originator itself may send its own content again.
  analyst->submit(prebriefing("analyst", {to_node("education")}, "operation at dawn"));
  auto receipt = next_of<node::Receipt>(*analyst, 2s);
  while (receipt && receipt->message_id == original.id) receipt = next_of<node::Receipt>(*analyst, 2s);
  EXPECT_TRUE(receipt);
}

TEST_F(HandlingTest, EmbargoUntilAnEventOnlyThePermittedNodeMayTrigger) {
  auto analyst = gateway_.connect("analyst");
  auto housing = gateway_.connect("housing");
  auto sio = gateway_.connect("sio");
  Message message = prebriefing("analyst", {to_node("housing")}, "brief the chief executive");
  message.handling.not_before_event = "operation-start";
  analyst->submit(message);
  auto receipt = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(receipt);
  EXPECT_EQ(outcome_for(*receipt, "housing")->decision.decision, Decision::hold);
  EXPECT_EQ(outcome_for(*receipt, "housing")->decision.held_for, "event:operation-start");
  EXPECT_FALSE(next_of<node::Delivery>(*housing, 300ms));

  housing->trigger("operation-start");
  auto refused = next_of<node::ErrorNotice>(*housing);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, "NOT_PERMITTED");
  EXPECT_FALSE(next_of<node::Delivery>(*housing, 200ms));

  sio->trigger("operation-start");
  auto ack = next_of<node::Acknowledgement>(*sio);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->message_id, "operation-start");
  EXPECT_TRUE(next_of<node::Delivery>(*housing));
  auto follow_up = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(follow_up);
  EXPECT_TRUE(follow_up->outcomes.at(0).delivered);
}

TEST_F(HandlingTest, UnknownEmbargoEventIsRefusedAtSubmit) {
  auto analyst = gateway_.connect("analyst");
  Message message = prebriefing("analyst", {to_node("housing")}, "x");
  message.handling.not_before_event = "no-such-event";
  analyst->submit(message);
  auto error = next_of<node::ErrorNotice>(*analyst);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "INVALID_MESSAGE");
}

// The same, on a simulated clock: an exercise moves time itself.
class SimulatedTimeTest : public HandlingTest {
 protected:
  SimulatedTimeTest() : HandlingTest(with_clock()) {}
  static inline std::shared_ptr<SimulatedClock> clock_ =
      std::make_shared<SimulatedClock>(from_unix_ms(1'800'000'000'000));
  static server::GatewayConfig with_clock() {
    auto config = fast_ticks();
    clock_->set(from_unix_ms(1'800'000'000'000));
    config.clock = clock_;
    return config;
  }
};

TEST_F(SimulatedTimeTest, EmbargoLiftsWhenTheClockReachesIt) {
  auto analyst = gateway_.connect("analyst");
  auto housing = gateway_.connect("housing");
  Message message = prebriefing("analyst", {to_node("housing")}, "at 06:00");
  message.handling.not_before_unix_ms = clock_->now_unix_ms() + 3'600'000;
  analyst->submit(message);
  auto receipt = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(receipt);
  EXPECT_EQ(outcome_for(*receipt, "housing")->decision.held_for.rfind("time:", 0), 0u);
  EXPECT_FALSE(next_of<node::Delivery>(*housing, 200ms));
  clock_->advance(std::chrono::hours(2));
  EXPECT_TRUE(next_of<node::Delivery>(*housing));
}

TEST_F(SimulatedTimeTest, MessageThatExpiresInAnOfflineQueueIsNotDelivered) {
  auto analyst = gateway_.connect("analyst");
  Message message = prebriefing("analyst", {to_node("officer")}, "stale within the hour");
  message.handling.not_after_unix_ms = clock_->now_unix_ms() + 3'600'000;
  analyst->submit(message);
  ASSERT_TRUE(next_of<node::Receipt>(*analyst));
  clock_->advance(std::chrono::hours(2));
  auto officer = gateway_.connect("officer");
  EXPECT_FALSE(next_of<node::Delivery>(*officer, 300ms));
  auto follow_up = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(follow_up);
  EXPECT_EQ(follow_up->outcomes.at(0).decision.decision, Decision::deny);
  EXPECT_NE(follow_up->outcomes.at(0).decision.reason.find("expired"), std::string::npos);
}

// Recipients of one version of a fan-out share the outcome their owed
// frames keep; what expires unsent is still told to the originator node by
// node, each with the portions it was to be given.
TEST_F(SimulatedTimeTest, EachRecipientOfAFanOutThatExpiresIsNamedInTheOriginatorsFollowUp) {
  auto analyst = gateway_.connect("analyst");
  Message message = prebriefing("analyst", {to_node("officer"), to_node("housing"), to_node("education")},
                                "stale within the hour");
  message.handling.not_after_unix_ms = clock_->now_unix_ms() + 3'600'000;
  analyst->submit(message);
  auto receipt = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(receipt);
  std::map<std::string, std::vector<std::string>> released;  // node -> portions, as first decided
  for (const auto& outcome : receipt->outcomes)
    if (outcome.decision.decision != Decision::deny)
      released[outcome.decision.node_id] = outcome.decision.released_portion_ids;
  ASSERT_EQ(released.size(), 3u) << "every recipient is released the prebriefing";
  clock_->advance(std::chrono::hours(2));
  std::map<std::string, std::vector<std::string>> expired;
  while (expired.size() < released.size()) {
    auto follow_up = next_of<node::Receipt>(*analyst);
    ASSERT_TRUE(follow_up) << expired.size() << " of " << released.size() << " recipients told";
    for (const auto& outcome : follow_up->outcomes) {
      EXPECT_EQ(outcome.decision.decision, Decision::deny);
      EXPECT_NE(outcome.decision.reason.find("expired"), std::string::npos) << outcome.decision.reason;
      expired[outcome.decision.node_id] = outcome.decision.released_portion_ids;
    }
  }
  EXPECT_EQ(expired, released);
}

TEST_F(SimulatedTimeTest, AMessageQueuedForAnOfflineNodeExpiresOnTimeNotWhenTheNodeReturns) {
  auto analyst = gateway_.connect("analyst");
  Message message = prebriefing("analyst", {to_node("officer")}, "stale within the hour");
  message.handling.not_after_unix_ms = clock_->now_unix_ms() + 3'600'000;
  analyst->submit(message);
  ASSERT_TRUE(next_of<node::Receipt>(*analyst));
  clock_->advance(std::chrono::hours(2));
  // The officer never connects: the originator hears all the same.
  auto follow_up = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(follow_up) << "no expiry Receipt until the recipient comes back";
  EXPECT_EQ(follow_up->outcomes.at(0).decision.decision, Decision::deny);
  EXPECT_NE(follow_up->outcomes.at(0).decision.reason.find("expired"), std::string::npos);
  auto officer = gateway_.connect("officer");
  EXPECT_FALSE(next_of<node::Delivery>(*officer, 300ms));
}

TEST_F(SimulatedTimeTest, AnEmbargoWhoseEventNeverComesExpiresAtNotAfter) {
  auto analyst = gateway_.connect("analyst");
  auto housing = gateway_.connect("housing");
  Message message = prebriefing("analyst", {to_node("housing")}, "only if the operation starts within the hour");
  message.handling.not_before_event = "operation-start";
  message.handling.not_after_unix_ms = clock_->now_unix_ms() + 3'600'000;
  analyst->submit(message);
  auto receipt = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(receipt);
  EXPECT_EQ(outcome_for(*receipt, "housing")->decision.decision, Decision::hold);
  clock_->advance(std::chrono::hours(2));
  // No event comes: the hold does not wait for ever.
  auto follow_up = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(follow_up) << "the embargo outlived its message's expiry";
  ASSERT_EQ(follow_up->outcomes.size(), 1u);
  EXPECT_EQ(follow_up->outcomes[0].decision.decision, Decision::deny);
  EXPECT_NE(follow_up->outcomes[0].decision.reason.find("expired at"), std::string::npos);
  EXPECT_TRUE(gateway_.on_gateway_thread([&] { return gateway_.gateway().hold_count(); }) == 0u);
}

TEST_F(SimulatedTimeTest, AnEventAfterTheExpiryReleasesNothingAndTheExpiryIsRecordedAtNotAfter) {
  auto analyst = gateway_.connect("analyst");
  auto housing = gateway_.connect("housing");
  auto sio = gateway_.connect("sio");
  Message message = prebriefing("analyst", {to_node("housing")}, "only if the operation starts within the hour");
  message.handling.not_before_event = "operation-start";
  const std::int64_t not_after = clock_->now_unix_ms() + 3'600'000;
  message.handling.not_after_unix_ms = not_after;
  analyst->submit(message);
  auto receipt = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(receipt);
  EXPECT_EQ(outcome_for(*receipt, "housing")->decision.decision, Decision::hold);

  // Two hours on, the event comes at last: too late.
  clock_->advance(std::chrono::hours(2));
  sio->trigger("operation-start");
  auto follow_up = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(follow_up) << "the originator was not told that the embargoed message expired";
  ASSERT_EQ(follow_up->outcomes.size(), 1u);
  EXPECT_EQ(follow_up->outcomes[0].decision.decision, Decision::deny);
  EXPECT_NE(follow_up->outcomes[0].decision.reason.find("expired at"), std::string::npos)
      << follow_up->outcomes[0].decision.reason;
  EXPECT_FALSE(next_of<node::Delivery>(*housing, 300ms));
  // Recorded as taking effect at not_after, not when the gateway noticed.
  const auto records = audit::query(gateway_.data_dir(), {.message_id = message.id, .kind = "decision"});
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back().record.decision, "DENY");
  EXPECT_EQ(records.back().record.time_unix_ms, not_after);
}

TEST_F(SimulatedTimeTest, OccasionalAccessIsAnAllowanceThatRunsOutAndRenews) {
  auto analyst = gateway_.connect("analyst");
  auto officer = gateway_.connect("officer");
  auto send_secret = [&] {
    analyst->submit(make_message("analyst", {to_node("officer")}, "tension-report", "prevent",
                                 {{label("SECRET"), "secret tension detail"}}));
    auto receipt = next_of<node::Receipt>(*analyst);
    EXPECT_TRUE(receipt);
    return receipt ? outcome_for(*receipt, "officer")->decision : RecipientDecision{};
  };
  // BPSS: regular ceiling RESTRICTED, occasional SECRET, one release per 30 days.
  const auto first = send_secret();
  EXPECT_EQ(first.decision, Decision::release);
  EXPECT_TRUE(first.occasional);
  const auto second = send_secret();
  EXPECT_EQ(second.decision, Decision::deny) << "the allowance is used up";
  ASSERT_EQ(second.withheld.size(), 1u);
  EXPECT_NE(second.withheld[0].reason.find("occasional"), std::string::npos) << second.withheld[0].reason;
  clock_->advance(std::chrono::hours(24 * 31));
  const auto third = send_secret();
  EXPECT_EQ(third.decision, Decision::release) << "a new window";
  EXPECT_TRUE(third.occasional);
}

}  // namespace
}  // namespace icegate::testing

// The holds book on its own: holds opened, found, closed and remembered as
// closed; one embargo hold per message; embargoes lifting by time and by
// event; the stored form read back whole.
#include <gtest/gtest.h>

#include "gateway/server/holds_book.hpp"

namespace icegate::server {
namespace {

// A message as a node would send it (the stored form is decoded as one).
Message message(const std::string& title) {
  Message m;
  m.id = make_uuid();
  m.title = title;
  m.created_unix_ms = 1'700'000'000'000;
  m.addressees.push_back({AddresseeKind::node, "officer"});
  m.originator = "analyst";
  m.category = "operational-prebriefing";
  m.label = {"RESTRICTED", {}};
  m.portions.push_back({"p1", {"RESTRICTED", {}}, "body"});
  return m;
}

TEST(HoldsBook, AClosedHoldIsGoneButRemembered) {
  HoldsBook book;
  Hold& opened = book.open(HoldKind::review, message("m1"), "role:critical-reader", "needs review");
  const std::string id = opened.id;
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(book.size(), 1u);
  ASSERT_NE(book.find(id), nullptr);
  EXPECT_EQ(book.closed_as(id), nullptr);
  const std::string message_id = opened.message.id;
  const Hold closed = book.close(id, "approved by sio");
  EXPECT_EQ(closed.message.id, message_id);
  EXPECT_EQ(book.find(id), nullptr);
  EXPECT_EQ(book.size(), 0u);
  ASSERT_NE(book.closed_as(id), nullptr);
  EXPECT_EQ(*book.closed_as(id), "approved by sio");
}

TEST(HoldsBook, OneEmbargoHoldPerMessage) {
  HoldsBook book;
  const Message m1 = message("m1");
  book.open(HoldKind::review, m1, "role:critical-reader", "needs review");
  EXPECT_EQ(book.embargo_of(m1.id), nullptr) << "a review hold is not the message's embargo";
  Hold& embargo = book.open(HoldKind::embargo, m1, "event:landfall", "embargoed by the originator");
  EXPECT_EQ(book.embargo_of(m1.id), &embargo);
  EXPECT_EQ(book.embargo_of(message("m2").id), nullptr);
}

TEST(HoldsBook, AnEmbargoLiftsWhenItsTimeHasComeAndItsEventWasTriggered) {
  HoldsBook book;
  Handling both;
  both.not_before_unix_ms = 5000;
  both.not_before_event = "landfall";
  EXPECT_FALSE(book.embargo_lifted(both, 6000)) << "the event has not been triggered";
  EXPECT_TRUE(book.trigger("landfall"));
  EXPECT_FALSE(book.trigger("landfall")) << "only the first trigger is new";
  EXPECT_FALSE(book.embargo_lifted(both, 4999)) << "the time has not come";
  EXPECT_TRUE(book.embargo_lifted(both, 5000));
  EXPECT_TRUE(book.embargo_lifted(Handling{}, 0)) << "no embargo";
  book.clear_stored();
  EXPECT_EQ(book.event_count(), 0u);
  EXPECT_FALSE(book.embargo_lifted(both, 6000)) << "events are read back from the store with the holds";
}

TEST(HoldsBook, TheStoredFormReadsBackWhole) {
  HoldsBook book;
  Hold& hold = book.open(HoldKind::consent, message("m1"), "node:analyst (originator consent)", "re-sends m0");
  hold.consent_node = "analyst";
  hold.reviewer_roles = {"critical-reader"};
  RecipientDecision decision;
  decision.node_id = "officer";
  decision.decision = Decision::hold;
  decision.released_portion_ids = {"p1"};
  decision.reason = "needs consent";
  hold.recipients.push_back(decision);
  const auto parsed = HoldsBook::parse(HoldsBook::serialise(hold));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, hold.id);
  EXPECT_EQ(parsed->kind, HoldKind::consent);
  EXPECT_EQ(parsed->message.id, hold.message.id);
  EXPECT_EQ(parsed->message.title, "m1");
  ASSERT_EQ(parsed->message.portions.size(), 1u);
  EXPECT_EQ(parsed->message.portions[0].body, "body");
  EXPECT_EQ(parsed->consent_node, "analyst");
  EXPECT_EQ(parsed->reviewer_roles, hold.reviewer_roles);
  EXPECT_EQ(parsed->held_for, hold.held_for);
  EXPECT_EQ(parsed->reason, "re-sends m0");
  ASSERT_EQ(parsed->recipients.size(), 1u);
  EXPECT_EQ(parsed->recipients[0].node_id, "officer");
  EXPECT_EQ(parsed->recipients[0].released_portion_ids, std::vector<std::string>{"p1"});
  EXPECT_FALSE(HoldsBook::parse("\xff\xff not a hold")) << "an unreadable blob is refused, not half read";
}

TEST(HoldsBook, AHoldReadBackIsOpenAgain) {
  HoldsBook book;
  const Hold hold = book.open(HoldKind::review, message("m1"), "role:critical-reader", "needs review");
  const std::string blob = HoldsBook::serialise(hold);
  book.close(hold.id, "approved by sio");
  // A failed commit: the store still holds it, so it is open again.
  book.clear_stored();
  book.load(*HoldsBook::parse(blob));
  ASSERT_NE(book.find(hold.id), nullptr);
  EXPECT_EQ(book.closed_as(hold.id), nullptr);
  EXPECT_EQ(book.ids(), std::vector<std::string>{hold.id});
}

TEST(HoldsBook, OnlyTheOriginatorDecidesConsentAndNobodyAnEmbargo) {
  HoldsBook book;
  Hold& consent = book.open(HoldKind::consent, message("m1"), "node:analyst", "consent");
  consent.consent_node = "analyst";
  Hold& embargo = book.open(HoldKind::embargo, message("m2"), "event:landfall", "embargo");
  // Neither needs the policy's roles; a review hold does (tested end to end).
  const auto loaded = policy::load_policy(ICEGATE_SOURCE_DIR "/policies/demo.yaml");
  ASSERT_TRUE(loaded.policy) << "demo policy";
  EXPECT_TRUE(HoldsBook::may_decide(*loaded.policy, consent, "analyst"));
  EXPECT_FALSE(HoldsBook::may_decide(*loaded.policy, consent, "officer"));
  EXPECT_FALSE(HoldsBook::may_decide(*loaded.policy, embargo, "analyst"));
  EXPECT_EQ(HoldsBook::view(consent, *loaded.policy).reviewers, std::vector<std::string>{"analyst"});
  EXPECT_TRUE(HoldsBook::view(embargo, *loaded.policy).reviewers.empty());
}

}  // namespace
}  // namespace icegate::server

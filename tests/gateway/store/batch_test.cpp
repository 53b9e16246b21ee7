// The batch's encoding in the store's log (gateway/store/batch.hpp): every
// field comes back, and damage is refused naming where it is.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/store/batch.hpp"

namespace icegate::store {
namespace {

using ::testing::HasSubstr;

Batch everything() {
  Batch batch;
  batch.messages.push_back({"m-1", "analyst", 1700000000001});
  batch.outbox.push_back({7, "officer", "m-1", true, 1700000009999, "analyst", std::string("\x08\x01", 2),
                          std::string("\x00\x00\x00\x03" "abc", 7)});
  batch.outbox.push_back({8, "analyst", "m-1", false, 0, "", "", "receipt"});
  batch.acked.push_back({"officer", "m-0"});
  batch.sent = {3, 4};
  batch.holds_put.push_back({"hold-1", "{\"h\":1}"});
  batch.holds_removed.push_back("hold-0");
  batch.controlled_put.push_back({"m-1", "record"});
  batch.events.push_back({"operation-start", "facilitator", 1700000000002});
  batch.occasional.push_back({"council", 1700000000003});
  audit::AuditRecord record;
  record.time_unix_ms = 1700000000004;
  record.kind = "decision";
  record.node = "analyst";
  record.recipient = "officer";
  record.message_id = "m-1";
  record.decision = "RELEASE_REDACTED";
  record.rules = {"r1", "r2"};
  record.policy_version = "v3";
  record.detail = R"({"withheld":[2]})";
  batch.audit.push_back(record);
  return batch;
}

TEST(BatchEncodingTest, EveryFieldComesBack) {
  std::string bytes;
  encode_batch(everything(), bytes);
  const auto back = decode_batch(bytes);
  ASSERT_TRUE(back);
  std::string again;
  encode_batch(*back, again);
  EXPECT_EQ(again, bytes);
  ASSERT_EQ(back->outbox.size(), 2u);
  EXPECT_EQ(back->outbox[0].frame, std::string("\x00\x00\x00\x03" "abc", 7));
  EXPECT_TRUE(back->outbox[0].needs_ack);
  EXPECT_EQ(back->outbox[0].not_after_unix_ms, 1700000009999);
  EXPECT_EQ(back->sent, (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(back->events[0].name, "operation-start");
  ASSERT_EQ(back->audit.size(), 1u);
  EXPECT_EQ(back->audit[0].rules, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(back->audit[0].detail, R"({"withheld":[2]})");
  EXPECT_EQ(back->audit[0].decision, "RELEASE_REDACTED");
}

TEST(BatchEncodingTest, DamageIsRefusedNamingWhereItIs) {
  std::string bytes;
  encode_batch(everything(), bytes);
  std::string why;
  EXPECT_FALSE(decode_batch(bytes.substr(0, 60), &why));
  EXPECT_THAT(why, HasSubstr("outbox: 2 entries cannot fit")) << "a count the rest cannot hold";
  EXPECT_FALSE(decode_batch(bytes.substr(0, bytes.find("receipt") + 3), &why));
  EXPECT_THAT(why, HasSubstr("outbox entry 2: the frame's length 7 runs past the end"));
  EXPECT_FALSE(decode_batch(bytes + "x", &why));
  EXPECT_THAT(why, HasSubstr("left over"));
  std::string other_version = bytes;
  other_version[0] = 9;
  EXPECT_FALSE(decode_batch(other_version, &why));
  EXPECT_THAT(why, HasSubstr("version 9"));
  EXPECT_FALSE(decode_batch(std::string("\x01\xff\xff\xff\xff", 5), &why));
  EXPECT_THAT(why, HasSubstr("cannot fit")) << "a count the bytes cannot hold allocates nothing";
}

}  // namespace
}  // namespace icegate::store

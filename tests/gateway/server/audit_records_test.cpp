// AuditRecords::decision keeps the details it built for the message being
// decided (a fan-out to hundreds makes the same one for each recipient of a
// version): what it returns must be what it would build afresh, whatever
// came before.
#include <gtest/gtest.h>

#include <string>

#include "gateway/server/audit_records.hpp"

namespace icegate::server {
namespace {

AuditRecords make_records() {
  return AuditRecords([] { return std::int64_t{1'800'000'000'000}; }, [] { return std::string("sha256:policy"); });
}

Message message(const std::string& id, const std::string& category) {
  Message m;
  m.id = id;
  m.originator = "analyst";
  m.category = category;
  m.purpose = "prevent";
  m.portions = {{"p1", {"OFFICIAL", {}}, "first"}, {"p2", {"SECRET", {}}, "second"}};
  return m;
}

RecipientDecision decision(const std::string& node, Decision verdict, const std::string& reason) {
  RecipientDecision d;
  d.node_id = node;
  d.decision = verdict;
  d.released_portion_ids = verdict == Decision::release ? std::vector<std::string>{"p1", "p2"}
                                                        : std::vector<std::string>{"p1"};
  d.released_label = {verdict == Decision::release ? "SECRET" : "OFFICIAL", {}};
  if (verdict == Decision::release_redacted) d.withheld = {{"p2", {"SECRET", {}}, "vetting", {"r-v"}}};
  d.rule_ids = {"r-share"};
  d.reason = reason;
  return d;
}

TEST(AuditRecordsDecision, EachRecordIsWhatAFreshBuilderMakes) {
  const AuditRecords records = make_records();
  struct Case {
    Message m;
    RecipientDecision d;
    std::string state;
  };
  const Message first = message("m-1", "ct-problem-profile");
  const Message second = message("m-2", "community-information");
  const std::vector<Case> cases = {
      {first, decision("officer-1", Decision::release, "cleared"), "delivered"},
      {first, decision("officer-2", Decision::release, "cleared"), "delivered"},             // the same detail
      {first, decision("council", Decision::release_redacted, "vetting"), "delivered"},      // another version
      {first, decision("officer-3", Decision::release, "cleared"), "queued (offline)"},     // another state
      {first, decision("officer-4", Decision::release, "cleared for officer-4"), "delivered"},  // another reason
      {second, decision("officer-1", Decision::release, "cleared"), "delivered"},            // another message
  };
  for (const auto& c : cases) {
    const auto record = records.decision(c.m, c.d, c.state);
    const auto fresh = make_records().decision(c.m, c.d, c.state);
    EXPECT_EQ(record.detail, fresh.detail) << c.m.id << " to " << c.d.node_id << " (" << c.state << ")";
    EXPECT_EQ(record.recipient, c.d.node_id);
    EXPECT_EQ(record.message_id, c.m.id);
  }
  // The same detail for the two recipients of one version, which says so.
  EXPECT_EQ(records.decision(first, decision("a", Decision::release, "cleared"), "delivered").detail,
            records.decision(first, decision("b", Decision::release, "cleared"), "delivered").detail);
  EXPECT_NE(records.decision(second, decision("a", Decision::release, "cleared"), "delivered").detail.find(
                "community-information"),
            std::string::npos);
}

}  // namespace
}  // namespace icegate::server

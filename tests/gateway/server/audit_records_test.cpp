// AuditRecords::decision keeps the details it built lately (a fan-out to
// hundreds makes the same one for each recipient of a version, and messages
// of one kind decided by one rule the same one again): what it returns must
// be what it would build afresh, whatever came before.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/server/audit_records.hpp"

#include "gateway/audit/audit.hpp"
#include "gateway/model/json.hpp"
#include "gateway/model/json_value.hpp"

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
  // Messages like the first in all but one thing the detail holds, or only
  // in what it does not hold (id, title, bodies): details are kept across
  // messages.
  Message other_purpose = message("m-3", "ct-problem-profile");
  other_purpose.purpose = "pursue";
  Message other_label = message("m-4", "ct-problem-profile");
  other_label.portions[0].label = {"OFFICIAL", {"SENSITIVE"}};
  Message like_first = message("m-5", "ct-problem-profile");
  like_first.title = "another title";
  like_first.portions[0].body = "another body";
  Message other_portion = message("m-6", "ct-problem-profile");
  other_portion.portions[0].id = "p9";  // the decision releases "p1", which this message does not have
  const std::vector<Case> cases = {
      {first, decision("officer-1", Decision::release, "cleared"), "delivered"},
      {first, decision("officer-2", Decision::release, "cleared"), "delivered"},             // the same detail
      {first, decision("council", Decision::release_redacted, "vetting"), "delivered"},      // another version
      {first, decision("officer-3", Decision::release, "cleared"), "queued (offline)"},     // another state
      {first, decision("officer-4", Decision::release, "cleared for officer-4"), "delivered"},  // another reason
      {second, decision("officer-1", Decision::release, "cleared"), "delivered"},            // another message
      {other_purpose, decision("officer-1", Decision::release, "cleared"), "delivered"},
      {other_label, decision("officer-1", Decision::release, "cleared"), "delivered"},
      {other_label, decision("council", Decision::release_redacted, "vetting"), "delivered"},
      {like_first, decision("officer-1", Decision::release, "cleared"), "delivered"},
      {other_portion, decision("officer-1", Decision::release, "cleared"), "delivered"},
      {first, decision("officer-5", Decision::release, "cleared"), "delivered"},  // after all of those
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
  // What differs is in the detail (each also against a fresh builder, above).
  const auto detail_of = [&](const Message& m) {
    return records.decision(m, decision("a", Decision::release, "cleared"), "delivered").detail;
  };
  EXPECT_NE(detail_of(other_purpose).find("pursue"), std::string::npos);
  EXPECT_NE(detail_of(other_label).find("SENSITIVE"), std::string::npos);
  EXPECT_EQ(detail_of(like_first), detail_of(first));
  EXPECT_NE(detail_of(other_portion), detail_of(first));
}

// The details of a message's two records are JSON holding every field, with
// text that is not well-formed UTF-8 or needs escaping carried through
// (`icegate policy replay` and the reports read them back).
TEST(AuditRecordsDetails, SubmitAndDecisionDetailsHoldEveryFieldAsJson) {
  const AuditRecords records = make_records();
  Message m = message("m-\"1\"", "ct-problem-profile");
  m.title = "line one\nline \"two\" \xff";
  m.label = {"SECRET", {}};
  m.handling.originator_control = true;
  m.handling.not_before_event = "arrest";
  m.handling.not_after_unix_ms = 1'900'000'000'000;
  const policy::Expansion expansion{{"officer-1", "council"}, {"organisation:nowhere"}};

  const auto submit = json::parse(records.submit("analyst", m, expansion, "m-0").detail);
  ASSERT_TRUE(submit.error.empty()) << submit.error;
  const auto& s = submit.value.as_object();
  EXPECT_EQ(s.at("category").as_string(), "ct-problem-profile");
  EXPECT_EQ(s.at("title").as_string(), "line one\nline \"two\" \xef\xbf\xbd");
  EXPECT_EQ(s.at("label").as_string(), "SECRET");
  EXPECT_EQ(s.at("portions").as_int64(), 2);
  EXPECT_EQ(s.at("recipients").as_array().size(), 2u);
  EXPECT_EQ(s.at("recipients").as_array()[1].as_string(), "council");
  EXPECT_EQ(s.at("unresolved").as_array()[0].as_string(), "organisation:nowhere");
  EXPECT_EQ(s.at("derived_from").as_string(), "m-0");
  ASSERT_EQ(s.at("portion_labels").as_array().size(), 2u);
  EXPECT_EQ(s.at("portion_labels").as_array()[1].as_object().at("portion").as_string(), "p2");
  EXPECT_EQ(s.at("portion_labels").as_array()[1].as_object().at("label").as_string(), "SECRET");
  const auto& handling = s.at("handling").as_object();
  EXPECT_TRUE(handling.at("originator_control").as_bool());
  EXPECT_FALSE(handling.at("no_onward_sharing").as_bool());
  EXPECT_EQ(handling.at("not_before_event").as_string(), "arrest");
  EXPECT_EQ(handling.at("not_after_unix_ms").as_int64(), 1'900'000'000'000);
  EXPECT_EQ(s.size(), 10u);

  const auto decided =
      json::parse(records.decision(m, decision("council", Decision::release_redacted, "vetting\t\x01"), "delivered").detail);
  ASSERT_TRUE(decided.error.empty()) << decided.error;
  const auto& d = decided.value.as_object();
  ASSERT_EQ(d.at("released").as_array().size(), 1u);
  EXPECT_EQ(d.at("released").as_array()[0].as_object().at("label").as_string(), "OFFICIAL");
  EXPECT_EQ(d.at("released_label").as_string(), "OFFICIAL");
  ASSERT_EQ(d.at("withheld").as_array().size(), 1u);
  const auto& withheld = d.at("withheld").as_array()[0].as_object();
  EXPECT_EQ(withheld.at("portion").as_string(), "p2");
  EXPECT_EQ(withheld.at("reason").as_string(), "vetting");
  EXPECT_EQ(withheld.at("rules").as_array()[0].as_string(), "r-v");
  EXPECT_EQ(d.at("reason").as_string(), "vetting\t\x01");
  EXPECT_FALSE(d.at("occasional").as_bool());
  EXPECT_EQ(d.at("state").as_string(), "delivered");
  EXPECT_EQ(d.size(), 10u);
}

// A message's submit and decision records say that their detail is one JSON
// object (json::Writer's text), so the store writes it without reading it
// through again. Whatever the message holds (every byte value, escapes,
// well-formed and broken UTF-8), what is written that way must be exactly
// what the check would have written; if the writer ever made text the check
// reads otherwise (as a string, or an object that ends early), the two
// canonical forms differ here.
TEST(AuditRecordsDetails, ADetailWrittenUncheckedIsWhatTheCheckWouldWrite) {
  std::vector<std::string> texts = {"", "plain", "quote \" backslash \\ slash /", "\xc3\xa9t\xc3\xa9",
                                    "\xe2\x82\xac \xf0\x9f\x98\x80", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                    "}{\"][,:", std::string("nul \0 inside", 13)};
  for (int byte = 0; byte < 256; ++byte) texts.push_back("a" + std::string(1, static_cast<char>(byte)) + "z");
  for (const std::string& text : texts) {
    AuditRecords records = make_records();  // no details kept from another text
    Message m = message("m-1", text);
    m.title = text;
    m.purpose = text;
    m.portions[1].id = text;
    const policy::Expansion expansion{{"officer-1", text}, {text}};
    RecipientDecision redacted = decision(text, Decision::release_redacted, text);
    redacted.released_portion_ids.push_back(text);
    redacted.withheld[0].reason = text;
    redacted.withheld[0].rule_ids = {text, "r-v"};
    redacted.rule_ids = {text};
    for (const auto& record : {records.submit(text, m, expansion, text), records.decision(m, redacted, text),
                               records.decision(m, decision("officer-1", Decision::release, text), "delivered"),
                               records.decision(m, redacted, text)}) {  // the last: a detail kept from the second
      ASSERT_TRUE(record.detail_is_object) << record.kind;
      audit::AuditRecord checked = record;
      checked.detail_is_object = false;
      ASSERT_EQ(audit::canonical_json(record), audit::canonical_json(checked))
          << record.kind << " with " << testing::PrintToString(text);
    }
  }
}

}  // namespace
}  // namespace icegate::server

// Message descriptions: both forms parse to the same Message, and every kind
// of mistake is reported at the line and column where it is.
#include "clients/node/message_file.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace icegate::node {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The error text for `text`, or a test failure when it parses.
std::string error_for(std::string_view text) {
  try {
    parse_message_text(text, "msg.yaml", "ctu-wm");
  } catch (const MessageFileError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a MessageFileError for:\n" << text;
  return {};
}

constexpr std::string_view yaml_form = R"(title: CT neighbourhood problem profile - Sparkhill
to: [council-prevent, "role:npt-officer", "list:local-partners", "org:birmingham-cc"]
category: ct-problem-profile
purpose: prevent
portions:
  - id: summary
    label: RESTRICTED
    body: |
      partner text
  - label: {classification: SECRET, categories: [UK EYES ONLY]}
    body: sourced detail
)";

constexpr std::string_view json_form = R"({
  "title": "CT neighbourhood problem profile - Sparkhill",
  "to": ["council-prevent", "role:npt-officer", "list:local-partners", "org:birmingham-cc"],
  "category": "ct-problem-profile",
  "purpose": "prevent",
  "portions": [
    {"id": "summary", "label": "RESTRICTED", "body": "partner text\n"},
    {"label": {"classification": "SECRET", "categories": ["UK EYES ONLY"]},
     "body": "sourced detail"}
  ]
})";

void expect_sample(const Message& message) {
  EXPECT_EQ(message.title, "CT neighbourhood problem profile - Sparkhill");
  EXPECT_EQ(message.originator, "ctu-wm");
  EXPECT_TRUE(looks_like_uuid(message.id)) << message.id;
  EXPECT_GT(message.created_unix_ms, 0);
  EXPECT_THAT(message.addressees,
              ElementsAre(Addressee{AddresseeKind::node, "council-prevent"},
                          Addressee{AddresseeKind::role, "npt-officer"},
                          Addressee{AddresseeKind::list, "local-partners"},
                          Addressee{AddresseeKind::organisation, "birmingham-cc"}));
  EXPECT_EQ(message.category, "ct-problem-profile");
  EXPECT_EQ(message.purpose, "prevent");
  EXPECT_EQ(message.label, Label{}) << "left for the gateway to compute";
  ASSERT_EQ(message.portions.size(), 2u);
  EXPECT_EQ(message.portions[0].id, "summary");
  EXPECT_EQ(message.portions[0].label, (Label{"RESTRICTED", {}}));
  EXPECT_EQ(message.portions[0].body, "partner text\n");
  EXPECT_EQ(message.portions[1].id, "2") << "generated from the position";
  EXPECT_EQ(message.portions[1].label, (Label{"SECRET", {"UK EYES ONLY"}}));
  EXPECT_EQ(message.portions[1].body, "sourced detail");
}

TEST(MessageFile, ParsesYamlForm) { expect_sample(parse_message_text(yaml_form, "m.yaml", "ctu-wm")); }

TEST(MessageFile, ParsesJsonForm) { expect_sample(parse_message_text(json_form, "m.json", "ctu-wm")); }

TEST(MessageFile, EachParseGetsAFreshId) {
  const auto first = parse_message_text(yaml_form, "m.yaml", "ctu-wm");
  const auto second = parse_message_text(yaml_form, "m.yaml", "ctu-wm");
  EXPECT_NE(first.id, second.id);
}

TEST(MessageFile, KeepsAGivenIdAndLabel) {
  const auto message = parse_message_text(R"(id: 0b8e1a0c-4d0a-4f7e-9b1e-6f2a3c4d5e6f
to: [ctio-east]
category: tension-report
label: CONFIDENTIAL/PERSONAL/UK EYES ONLY
portions: [{label: CONFIDENTIAL, body: x}]
)",
                                          "m.yaml", "npt-sparkhill");
  EXPECT_EQ(message.id, "0b8e1a0c-4d0a-4f7e-9b1e-6f2a3c4d5e6f");
  EXPECT_EQ(message.purpose, "") << "purpose is optional";
  EXPECT_EQ(message.title, "");
  EXPECT_EQ(message.label, (Label{"CONFIDENTIAL", {"PERSONAL", "UK EYES ONLY"}}));
}

TEST(MessageFile, GeneratesPortionIdsByPosition) {
  const auto message = parse_message_text(R"(to: [a]
category: c
portions:
  - {label: PROTECT, body: one}
  - {label: PROTECT, body: two}
  - {label: PROTECT, body: three}
)",
                                          "m.yaml", "n");
  ASSERT_EQ(message.portions.size(), 3u);
  EXPECT_EQ(message.portions[0].id, "1");
  EXPECT_EQ(message.portions[1].id, "2");
  EXPECT_EQ(message.portions[2].id, "3");
}

TEST(Addressee, PrefixesSelectTheKind) {
  EXPECT_EQ(parse_addressee("council-prevent"), (Addressee{AddresseeKind::node, "council-prevent"}));
  EXPECT_EQ(parse_addressee("node:ctio-east"), (Addressee{AddresseeKind::node, "ctio-east"}));
  EXPECT_EQ(parse_addressee("role:npt-officer"), (Addressee{AddresseeKind::role, "npt-officer"}));
  EXPECT_EQ(parse_addressee("list:local-partners"), (Addressee{AddresseeKind::list, "local-partners"}));
  EXPECT_EQ(parse_addressee("org:birmingham-cc"),
            (Addressee{AddresseeKind::organisation, "birmingham-cc"}));
  EXPECT_EQ(parse_addressee("organisation:birmingham-cc"),
            (Addressee{AddresseeKind::organisation, "birmingham-cc"}));
  EXPECT_EQ(parse_addressee(" role: ctio "), (Addressee{AddresseeKind::role, "ctio"}));
}

TEST(Addressee, RejectsUnknownPrefixesAndEmptyNames) {
  EXPECT_THROW(parse_addressee("team:x"), std::invalid_argument);
  EXPECT_THROW(parse_addressee("role:"), std::invalid_argument);
  EXPECT_THROW(parse_addressee("  "), std::invalid_argument);
}

TEST(LabelText, ClassificationThenSortedCategories) {
  EXPECT_EQ(parse_label_text("SECRET"), (Label{"SECRET", {}}));
  EXPECT_EQ(parse_label_text("SECRET/UK EYES ONLY"), (Label{"SECRET", {"UK EYES ONLY"}}));
  EXPECT_EQ(parse_label_text("SECRET / UK EYES ONLY / PERSONAL"),
            (Label{"SECRET", {"PERSONAL", "UK EYES ONLY"}}));
  EXPECT_EQ(parse_label_text("SECRET/PERSONAL/PERSONAL"), (Label{"SECRET", {"PERSONAL"}}));
}

TEST(LabelText, RejectsEmptyParts) {
  EXPECT_THROW(parse_label_text(""), std::invalid_argument);
  EXPECT_THROW(parse_label_text("/UK EYES ONLY"), std::invalid_argument);
  EXPECT_THROW(parse_label_text("SECRET//PERSONAL"), std::invalid_argument);
  EXPECT_THROW(parse_label_text("SECRET/"), std::invalid_argument);
}

TEST(MessageFileErrors, UnknownKeyAtItsPosition) {
  EXPECT_THAT(error_for("to: [a]\ncategory: c\ncolour: red\nportions: [{label: R, body: b}]\n"),
              StartsWith("msg.yaml:3:1: unknown key 'colour' in the message"));
  EXPECT_THAT(error_for("to: [a]\ncategory: c\nportions:\n  - label: R\n    text: b\n"),
              StartsWith("msg.yaml:5:5: unknown key 'text' in portion 1"));
  EXPECT_THAT(error_for("to: [a]\ncategory: c\nportions:\n  - label: {classification: R, caveats: [X]}\n"
                        "    body: b\n"),
              StartsWith("msg.yaml:4:32: unknown key 'caveats' in 'label'"));
}

TEST(MessageFileErrors, MissingRequiredKeys) {
  EXPECT_EQ(error_for("# a comment first\nto: [a]\ncategory: c\n"),
            "msg.yaml:2:1: the message has no 'portions' (it is required)");
  EXPECT_EQ(error_for("category: c\nportions: [{label: R, body: b}]\n"),
            "msg.yaml:1:1: the message has no 'to' (it is required)");
  EXPECT_EQ(error_for("to: [a]\nportions: [{label: R, body: b}]\n"),
            "msg.yaml:1:1: the message has no 'category' (it is required)");
  EXPECT_EQ(error_for("to: [a]\ncategory: c\nportions:\n  - label: R\n  - body: b\n"),
            "msg.yaml:4:5: portion 1 has no 'body' (it is required)");
  EXPECT_EQ(error_for("to: [a]\ncategory: c\nportions:\n  - label: R\n    body: b\n  - body: b\n"),
            "msg.yaml:6:5: portion 2 has no 'label' (it is required)");
}

TEST(MessageFileErrors, EmptyListsAndValues) {
  EXPECT_EQ(error_for("to: []\ncategory: c\nportions: [{label: R, body: b}]\n"),
            "msg.yaml:1:5: 'to' must name at least one addressee");
  EXPECT_EQ(error_for("to: [a]\ncategory: c\nportions: []\n"),
            "msg.yaml:3:11: 'portions' must hold at least one portion");
  EXPECT_THAT(error_for("to: [a]\ncategory:\nportions: [{label: R, body: b}]\n"),
              StartsWith("msg.yaml:2:1: 'category' must be text, found nothing"));
  EXPECT_THAT(error_for(""), StartsWith("msg.yaml:1:1: the message description is empty"));
}

TEST(MessageFileErrors, WrongTypes) {
  EXPECT_EQ(error_for("to: council-prevent\ncategory: c\nportions: [{label: R, body: b}]\n"),
            "msg.yaml:1:5: 'to' must be a list of addressees, found text 'council-prevent'");
  EXPECT_EQ(error_for("to: [a]\ncategory: [c, d]\nportions: [{label: R, body: b}]\n"),
            "msg.yaml:2:11: 'category' must be text, found a list");
  EXPECT_EQ(error_for("to: [a]\ncategory: c\nportions:\n  label: R\n  body: b\n"),
            "msg.yaml:4:3: 'portions' must be a list, found a mapping");
  EXPECT_THAT(error_for("to: [a]\ncategory: c\nportions:\n  - label: [SECRET]\n    body: b\n"),
              StartsWith("msg.yaml:4:12: 'label' must be text such as 'SECRET/UK EYES ONLY'"));
  EXPECT_THAT(error_for("to: [{node: a}]\ncategory: c\nportions: [{label: R, body: b}]\n"),
              StartsWith("msg.yaml:1:6: an addressee must be text"));
  EXPECT_EQ(error_for("- to\n- category\n"),
            "msg.yaml:1:1: expected a mapping with title, to, category, purpose and portions, "
            "found a list");
}

TEST(MessageFileErrors, BadValues) {
  EXPECT_EQ(error_for("to: [a, \"team:x\"]\ncategory: c\nportions: [{label: R, body: b}]\n"),
            "msg.yaml:1:9: unknown addressee kind 'team' in 'team:x' (expected node:, role:, list: "
            "or org:)");
  EXPECT_EQ(error_for("to: [a, a]\ncategory: c\nportions: [{label: R, body: b}]\n"),
            "msg.yaml:1:9: addressee 'a' is listed twice");
  EXPECT_THAT(error_for("to: [a]\ncategory: c\nportions: [{label: SECRET//X, body: b}]\n"),
              StartsWith("msg.yaml:3:20: 'label': label 'SECRET//X' has an empty category"));
  EXPECT_THAT(error_for("id: 42\nto: [a]\ncategory: c\nportions: [{label: R, body: b}]\n"),
              StartsWith("msg.yaml:1:5: 'id' must be a UUID"));
  EXPECT_EQ(error_for("to: [a]\ncategory: c\nportions:\n  - {id: x, label: R, body: b}\n"
                      "  - {id: x, label: R, body: b}\n"),
            "msg.yaml:5:10: portion 2 has id 'x', which an earlier portion already has");
  EXPECT_EQ(error_for("to: [a]\ncategory: c\ncategory: d\nportions: [{label: R, body: b}]\n"),
            "msg.yaml:3:1: duplicate key 'category' in the message");
}

TEST(MessageFileErrors, YamlSyntaxErrorsCarryTheirPosition) {
  EXPECT_THAT(error_for("to: [a\ncategory: c\n"), StartsWith("msg.yaml:"));
  EXPECT_THAT(error_for("{\"to\": [\"a\"],\n \"category\": \"c\",,\n}"), StartsWith("msg.yaml:2:"));
}

TEST(MessageFile, MissingFileIsAMessageFileError) {
  EXPECT_THROW(load_message_file("/nonexistent/message.yaml", "ctu-wm"), MessageFileError);
}

TEST(MessageFile, DemoProblemProfileParses) {
  const auto file =
      std::filesystem::path(ICEGATE_SOURCE_DIR) / "policies" / "demo" / "problem-profile.yaml";
  const auto message = load_message_file(file, "ctu-wm");
  EXPECT_EQ(message.title, "CT neighbourhood problem profile: Sparkhill");
  EXPECT_EQ(message.originator, "ctu-wm");
  EXPECT_THAT(message.addressees, ElementsAre(Addressee{AddresseeKind::list, "local-partners"}));
  EXPECT_EQ(message.category, "ct-problem-profile");
  EXPECT_EQ(message.purpose, "prevent");
  ASSERT_EQ(message.portions.size(), 2u);
  EXPECT_EQ(message.portions[0].label, (Label{"SECRET", {"UK EYES ONLY"}}));
  EXPECT_EQ(message.portions[1].label, (Label{"RESTRICTED", {}}));
  EXPECT_THAT(message.portions[0].body, HasSubstr("Reporting indicates"));
  EXPECT_THAT(message.portions[1].body, HasSubstr("Prevent actions"));
}

TEST(MessageFile, SchemeIsRead) {
  const Message message = parse_message_text(
      "to: [a]\ncategory: c\nscheme: gpms-2008\nportions: [{label: RESTRICTED, body: b}]\n", "m.yaml", "n");
  EXPECT_EQ(message.label_scheme, "gpms-2008");
  EXPECT_TRUE(parse_message_text("to: [a]\ncategory: c\nportions: [{label: R, body: b}]\n", "m.yaml", "n")
                  .label_scheme.empty());
}

TEST(MessageFileErrors, EmptySchemeIsReportedWhereItIs) {
  try {
    parse_message_text("to: [a]\ncategory: c\nscheme: \"\"\nportions: [{label: R, body: b}]\n", "m.yaml", "n");
    FAIL() << "an empty scheme was accepted";
  } catch (const MessageFileError& e) {
    EXPECT_NE(std::string(e.what()).find("m.yaml:3:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("scheme"), std::string::npos) << e.what();
  }
}

TEST(MessageFile, HandlingAndDerivedFromAreRead) {
  const Message message = parse_message_text(R"(to: [housing]
category: operational-prebriefing
derived_from: 5f0c6a1e-2b7d-4c1a-9a57-0d3a4f6b8e21
handling:
  originator_control: true
  no_onward_sharing: true
  not_before: 2026-11-21T06:00:00Z
  not_before_event: operation-start
  not_after: 1800000000000
portions: [{label: RESTRICTED, body: x}]
)",
                                             "msg.yaml", "ctu-wm");
  EXPECT_TRUE(message.handling.originator_control);
  EXPECT_TRUE(message.handling.no_onward_sharing);
  EXPECT_EQ(message.handling.not_before_unix_ms, 1'795'240'800'000);
  EXPECT_EQ(message.handling.not_before_event, "operation-start");
  EXPECT_EQ(message.handling.not_after_unix_ms, 1'800'000'000'000);
  EXPECT_EQ(message.derived_from, "5f0c6a1e-2b7d-4c1a-9a57-0d3a4f6b8e21");
}

TEST(MessageFile, BadHandlingIsReportedWhereItIs) {
  EXPECT_EQ(error_for("to: [a]\ncategory: c\nportions: [{label: R, body: x}]\nhandling:\n  not_before: tomorrow\n"),
            "msg.yaml:5:15: 'not_before' must be a UTC time such as 2026-11-21T06:00:00Z, or Unix milliseconds; found "
            "'tomorrow'");
  EXPECT_THAT(error_for("to: [a]\ncategory: c\nportions: [{label: R, body: x}]\nhandling:\n  embargo: yes\n"),
              StartsWith("msg.yaml:5:3: unknown key 'embargo'"));
  EXPECT_THAT(error_for("to: [a]\ncategory: c\nportions: [{label: R, body: x}]\nhandling:\n  no_onward_sharing: 1\n"),
              StartsWith("msg.yaml:5:22: 'no_onward_sharing' must be true or false"));
}

}  // namespace
}  // namespace icegate::node

#include <functional>

#include <gtest/gtest.h>

#include "gateway/wire/codec.hpp"

namespace icegate::wire {
namespace {

Message sample() {
  Message message;
  message.id = make_uuid();
  message.originator = "ctu-wm";
  message.created_unix_ms = 1'700'000'000'000;
  message.addressees = {{AddresseeKind::node, "council-prevent"}, {AddresseeKind::list, "local-partners"}};
  message.category = "ct-problem-profile";
  message.purpose = "prevent";
  message.title = "profile";
  message.label = {"SECRET", {"UK EYES ONLY"}};
  message.portions = {{"a", {"SECRET", {"UK EYES ONLY"}}, "s"}, {"b", {"RESTRICTED", {}}, "r"}};
  return message;
}

TEST(Codec, MessageRoundTrips) {
  const Message original = sample();
  v1::Message proto;
  encode(original, proto);
  DecodeProblem problem;
  auto decoded = decode(proto, MessageLimits{}, problem);
  ASSERT_TRUE(decoded) << to_string(problem);
  EXPECT_EQ(decoded->id, original.id);
  EXPECT_EQ(decoded->addressees, original.addressees);
  EXPECT_EQ(decoded->label, original.label);
  ASSERT_EQ(decoded->portions.size(), 2u);
  EXPECT_EQ(decoded->portions[1].label, original.portions[1].label);
  EXPECT_EQ(decoded->portions[1].body, "r");
}


// What a recipient is sent: the portions its decision releases, under the
// label released; a translated message's overall original label only while
// the version is the whole message.
TEST(Codec, AReleasedVersionHoldsOnlyItsPortionsUnderTheLabelReleased) {
  Message original = sample();
  original.original_scheme = "partner";
  original.original_label = {"PARTNER SECRET", {}};
  original.portions[0].original_label = {"PARTNER SECRET", {}};
  RecipientDecision redacted;
  redacted.decision = Decision::release_redacted;
  redacted.released_portion_ids = {"b"};
  redacted.released_label = {"RESTRICTED", {}};
  v1::Message proto;
  encode(original, redacted, proto);
  ASSERT_EQ(proto.portions_size(), 1);
  EXPECT_EQ(proto.portions(0).id(), "b");
  EXPECT_EQ(proto.portions(0).body(), "r");
  EXPECT_EQ(proto.label().classification(), "RESTRICTED");
  EXPECT_FALSE(proto.has_original_label());  // it described the whole, which this version is not
  EXPECT_EQ(proto.id(), original.id);
  EXPECT_EQ(proto.addressees_size(), 2);

  RecipientDecision whole;
  whole.decision = Decision::release;
  whole.released_portion_ids = {"a", "b"};
  whole.released_label = original.label;
  v1::Message all;
  encode(original, whole, all);
  v1::Message expected;
  encode(original, expected);
  EXPECT_EQ(all.SerializeAsString(), expected.SerializeAsString());
  EXPECT_EQ(all.original_label().classification(), "PARTNER SECRET");
  EXPECT_EQ(all.portions(0).original_label().classification(), "PARTNER SECRET");
}
TEST(Codec, CategoriesAreSortedAndUnique) {
  v1::Label proto;
  proto.set_classification("SECRET");
  proto.add_categories("b");
  proto.add_categories("a");
  proto.add_categories("b");
  EXPECT_EQ(decode(proto).categories, (std::vector<std::string>{"a", "b"}));
}

struct BadCase {
  const char* name;
  std::function<void(v1::Message&)> damage;
  const char* field;
};

class CodecRefuses : public ::testing::TestWithParam<BadCase> {};

TEST_P(CodecRefuses, NamingTheField) {
  v1::Message proto;
  encode(sample(), proto);
  GetParam().damage(proto);
  MessageLimits limits;
  limits.max_portions = 4;
  DecodeProblem problem;
  EXPECT_FALSE(decode(proto, limits, problem));
  EXPECT_EQ(problem.field, GetParam().field) << to_string(problem);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CodecRefuses,
    ::testing::Values(
        BadCase{"missing_id", [](v1::Message& m) { m.clear_id(); }, "id"},
        BadCase{"id_not_uuid", [](v1::Message& m) { m.set_id("42"); }, "id"},
        BadCase{"missing_originator", [](v1::Message& m) { m.clear_originator(); }, "originator"},
        BadCase{"missing_category", [](v1::Message& m) { m.clear_category(); }, "category"},
        BadCase{"no_portions", [](v1::Message& m) { m.clear_portions(); }, "portions"},
        BadCase{"no_addressees", [](v1::Message& m) { m.clear_addressees(); }, "addressees"},
        BadCase{"too_many_portions",
                [](v1::Message& m) {
                  for (int i = 0; i < 5; ++i) *m.add_portions() = m.portions(0);
                },
                "portions"},
        BadCase{"unknown_addressee_kind",
                [](v1::Message& m) { m.mutable_addressees(1)->set_kind(static_cast<v1::AddresseeKind>(77)); },
                "addressees[1].kind"},
        BadCase{"portion_without_label", [](v1::Message& m) { m.mutable_portions(1)->clear_label(); },
                "portions[1].label"},
        BadCase{"duplicate_portion_id", [](v1::Message& m) { m.mutable_portions(1)->set_id("a"); }, "portions[1].id"}),
    [](const auto& info) { return std::string(info.param.name); });

// A Forward as a gateway sends it on its second link: the binding's values
// need not hold here (the codec checks shape; federation::verify, the rest).
ForwardedMessage sample_forward() {
  ForwardedMessage forwarded{sample(), {}};
  Route& route = forwarded.route;
  route.origin_gateway = "gw-wm";
  route.via = {"gw-bham"};
  route.hop_count = 2;
  route.binding.fields.message_id = forwarded.message.id;
  route.binding.fields.originator = "ctu-wm";
  route.binding.fields.created_unix_ms = 1'700'000'000'000;
  route.binding.fields.category = "ct-problem-profile";
  route.binding.fields.purpose = "prevent";
  route.binding.fields.title = "profile";
  route.binding.fields.handling = {true, true, 1'700'000'100'000, "", 1'700'000'900'000};
  route.binding.portion_digests = {sha256("a"), sha256("b"), sha256("c")};
  route.binding.signed_unix_ms = 1'700'000'000'500;
  route.binding.signature = std::string("\x30\x45\x02\x21\x00", 5);
  route.binding.certificate_pem = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n";
  return forwarded;
}

TEST(Codec, ForwardRoundTripsThroughTheWire) {
  const ForwardedMessage original = sample_forward();
  v1::Frame frame;
  encode(original, *frame.mutable_forward());
  v1::Frame parsed;
  ASSERT_TRUE(parsed.ParseFromString(frame.SerializeAsString()));
  ASSERT_EQ(parsed.body_case(), v1::Frame::kForward);
  DecodeProblem problem;
  auto decoded = decode(parsed.forward(), ForwardLimits{}, problem);
  ASSERT_TRUE(decoded) << to_string(problem);
  EXPECT_EQ(decoded->message.id, original.message.id);
  EXPECT_EQ(decoded->message.portions.size(), 2u);
  EXPECT_EQ(decoded->route, original.route);
}

struct BadForward {
  const char* name;
  std::function<void(v1::Forward&)> damage;
  const char* field;
};

class ForwardRefused : public ::testing::TestWithParam<BadForward> {};

TEST_P(ForwardRefused, NamingTheField) {
  v1::Forward proto;
  encode(sample_forward(), proto);
  GetParam().damage(proto);
  DecodeProblem problem;
  EXPECT_FALSE(decode(proto, ForwardLimits{}, problem));
  EXPECT_EQ(problem.field, GetParam().field) << to_string(problem);
  EXPECT_FALSE(problem.problem.empty());
}

v1::LabelBinding& binding_of(v1::Forward& f) { return *f.mutable_route()->mutable_binding(); }

INSTANTIATE_TEST_SUITE_P(
    Cases, ForwardRefused,
    ::testing::Values(
        BadForward{"no_message", [](v1::Forward& f) { f.clear_message(); }, "message"},
        BadForward{"message_malformed", [](v1::Forward& f) { f.mutable_message()->set_id("42"); }, "message.id"},
        BadForward{"no_route", [](v1::Forward& f) { f.clear_route(); }, "route"},
        BadForward{"no_origin", [](v1::Forward& f) { f.mutable_route()->clear_origin_gateway(); },
                   "route.origin_gateway"},
        BadForward{"hop_count_zero", [](v1::Forward& f) { f.mutable_route()->set_hop_count(0); }, "route.hop_count"},
        BadForward{"hop_count_above_the_limit",
                   [](v1::Forward& f) {
                     for (int i = 0; i < 7; ++i) f.mutable_route()->add_via("gw-" + std::to_string(i));
                     f.mutable_route()->set_hop_count(9);
                   },
                   "route.hop_count"},
        BadForward{"via_disagrees_with_hop_count", [](v1::Forward& f) { f.mutable_route()->set_hop_count(3); },
                   "route.via"},
        BadForward{"empty_via", [](v1::Forward& f) { f.mutable_route()->set_via(0, ""); }, "route.via[0]"},
        BadForward{"loop_through_the_origin", [](v1::Forward& f) { f.mutable_route()->set_via(0, "gw-wm"); },
                   "route.via[0]"},
        BadForward{"no_binding", [](v1::Forward& f) { f.mutable_route()->clear_binding(); }, "route.binding"},
        BadForward{"binding_version", [](v1::Forward& f) { binding_of(f).set_version(2); }, "route.binding.version"},
        BadForward{"binding_without_message_id", [](v1::Forward& f) { binding_of(f).clear_message_id(); },
                   "route.binding.message_id"},
        BadForward{"binding_without_category", [](v1::Forward& f) { binding_of(f).clear_category(); },
                   "route.binding.category"},
        BadForward{"no_digests", [](v1::Forward& f) { binding_of(f).clear_portion_digests(); },
                   "route.binding.portion_digests"},
        BadForward{"short_digest", [](v1::Forward& f) { binding_of(f).set_portion_digests(1, std::string(31, 'x')); },
                   "route.binding.portion_digests[1]"},
        BadForward{"no_signature", [](v1::Forward& f) { binding_of(f).clear_signature(); }, "route.binding.signature"},
        BadForward{"signature_too_long", [](v1::Forward& f) { binding_of(f).set_signature(std::string(513, 's')); },
                   "route.binding.signature"},
        BadForward{"no_certificate", [](v1::Forward& f) { binding_of(f).clear_certificate_pem(); },
                   "route.binding.certificate_pem"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Codec, TheHopLimitIsNamedAndAdjustable) {
  v1::Forward proto;
  encode(sample_forward(), proto);  // two hops
  ForwardLimits limits;
  limits.max_hops = 1;
  DecodeProblem problem;
  EXPECT_FALSE(decode(proto, limits, problem));
  EXPECT_EQ(problem.field, "route.hop_count");
  EXPECT_EQ(problem.problem, "is 2, more than the limit of 1 hops: a routing loop, or a route too long");
}

// A HopReport as a transit gateway passes it back: the destination's step
// and its own, on their way to the origin.
HopReport sample_report() {
  HopReport report;
  report.message_id = sample().id;
  report.report_id = report.message_id + "/gw-staffs";
  report.originator = "ctu-wm";
  report.path = {"gw-wm", "gw-bham"};
  HopStep forwarded;
  forwarded.gateway = "gw-bham";
  forwarded.hop = 2;
  forwarded.next_peer = "gw-staffs";
  forwarded.decision = Decision::release_redacted;
  forwarded.withheld = {{"b", {}, "OFFICIAL-SENSITIVE LOCSEN is above gw-staffs's accreditation", {}}};
  forwarded.addressees = {"organisation:staffs-police"};
  HopStep refused;
  refused.gateway = "gw-staffs";
  refused.hop = 3;
  refused.decision = Decision::deny;
  refused.refusal = "beyond-accreditation";
  refused.addressees = {"organisation:staffs-police"};
  refused.reason = "portion a is beyond gw-bham's accreditation";
  HopStep released;
  released.gateway = "gw-staffs";
  released.hop = 3;
  released.decision = Decision::release;
  released.addressees = {"role:staffs-ctio"};
  released.recipients = 2;
  report.hops = {forwarded, refused, released};
  return report;
}

TEST(Codec, HopReportRoundTripsThroughTheWire) {
  const HopReport original = sample_report();
  v1::Frame frame;
  encode(original, *frame.mutable_hop_report());
  v1::Frame parsed;
  ASSERT_TRUE(parsed.ParseFromString(frame.SerializeAsString()));
  ASSERT_EQ(parsed.body_case(), v1::Frame::kHopReport);
  DecodeProblem problem;
  auto decoded = decode(parsed.hop_report(), ForwardLimits{}, problem);
  ASSERT_TRUE(decoded) << to_string(problem);
  EXPECT_EQ(decoded->report_id, original.report_id);
  EXPECT_EQ(decoded->message_id, original.message_id);
  EXPECT_EQ(decoded->originator, original.originator);
  EXPECT_EQ(decoded->path, original.path);
  ASSERT_EQ(decoded->hops.size(), 3u);
  for (std::size_t i = 0; i < original.hops.size(); ++i) {
    const HopStep& a = original.hops[i];
    const HopStep& b = decoded->hops[i];
    EXPECT_EQ(a.gateway, b.gateway);
    EXPECT_EQ(a.hop, b.hop);
    EXPECT_EQ(a.next_peer, b.next_peer);
    EXPECT_EQ(a.decision, b.decision);
    EXPECT_EQ(a.refusal, b.refusal);
    EXPECT_EQ(a.addressees, b.addressees);
    EXPECT_EQ(a.recipients, b.recipients);
    EXPECT_EQ(a.reason, b.reason);
    ASSERT_EQ(a.withheld.size(), b.withheld.size());
    for (std::size_t w = 0; w < a.withheld.size(); ++w) {
      EXPECT_EQ(a.withheld[w].portion_id, b.withheld[w].portion_id);
      EXPECT_EQ(a.withheld[w].reason, b.withheld[w].reason);
    }
  }
}

struct BadReport {
  const char* name;
  std::function<void(v1::HopReport&)> damage;
  const char* field;
};

class HopReportRefused : public ::testing::TestWithParam<BadReport> {};

TEST_P(HopReportRefused, NamingTheField) {
  v1::HopReport proto;
  encode(sample_report(), proto);
  GetParam().damage(proto);
  DecodeProblem problem;
  EXPECT_FALSE(decode(proto, ForwardLimits{}, problem));
  EXPECT_EQ(problem.field, GetParam().field) << to_string(problem);
  EXPECT_FALSE(problem.problem.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HopReportRefused,
    ::testing::Values(
        BadReport{"message_id_not_a_uuid", [](v1::HopReport& r) { r.set_message_id("42"); }, "message_id"},
        BadReport{"no_report_id", [](v1::HopReport& r) { r.clear_report_id(); }, "report_id"},
        BadReport{"report_id_a_message_id", [](v1::HopReport& r) { r.set_report_id(r.message_id()); }, "report_id"},
        BadReport{"report_id_of_another_message",
                  [](v1::HopReport& r) { r.set_report_id("00000000-0000-4000-8000-000000000000/gw-staffs"); },
                  "report_id"},
        BadReport{"no_originator", [](v1::HopReport& r) { r.clear_originator(); }, "originator"},
        BadReport{"no_path", [](v1::HopReport& r) { r.clear_path(); }, "path"},
        BadReport{"path_too_long",
                  [](v1::HopReport& r) {
                    for (int i = 0; i < 7; ++i) r.add_path("gw-" + std::to_string(i));
                  },
                  "path"},
        BadReport{"empty_gateway_on_the_path", [](v1::HopReport& r) { r.set_path(1, ""); }, "path[1]"},
        BadReport{"step_without_gateway", [](v1::HopReport& r) { r.mutable_hops(1)->clear_gateway(); },
                  "hops[1].gateway"},
        BadReport{"step_without_decision", [](v1::HopReport& r) { r.mutable_hops(2)->clear_decision(); },
                  "hops[2].decision"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace icegate::wire

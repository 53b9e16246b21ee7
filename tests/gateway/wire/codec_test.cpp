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

}  // namespace
}  // namespace icegate::wire

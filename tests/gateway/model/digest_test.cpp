// The one SHA-256 helper, the one UUID maker, the one label formatter and
// parser, and the one UTC formatter (gateway/model): what every caller in the
// tree relies on.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "gateway/model/clock.hpp"
#include "gateway/model/digest.hpp"
#include "gateway/model/message.hpp"

namespace icegate {
namespace {

TEST(Sha256, MatchesTheStandardsTestVectors) {
  // FIPS 180-2, appendix B.1, and the empty message.
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, IncrementalUpdatesHashTheConcatenationAndTheContextStartsAgain) {
  Sha256 hasher;
  const std::string in_parts = hasher.update("ab").update("").update("c").finish_hex();
  EXPECT_EQ(in_parts, sha256_hex("abc"));
  // finish() starts a new hash: the next one does not carry the last one's input.
  EXPECT_EQ(hasher.update("abc").finish_hex(), sha256_hex("abc"));
  char out[64];
  hasher.update("").finish_hex(out);
  EXPECT_EQ(std::string(out, 64), sha256_hex(""));
}

TEST(Sha256, HexIsLowerCaseTwoDigitsPerByte) {
  const std::uint8_t bytes[] = {0x00, 0x0f, 0xa0, 0xff};
  EXPECT_EQ(to_hex(bytes, 4), "000fa0ff");
}

TEST(Uuid, NameBasedIsVersionEightFromTheNamesSha256) {
  // Computed independently: the first 16 bytes of SHA-256 of the name, with
  // the version nibble set to 8 and the RFC 9562 variant bits to 10.
  EXPECT_EQ(make_name_based_uuid("icegate exercise\nops\nI1\n0"), "80e8b35b-9ed7-87f1-800f-f83272b285f4");
  const std::string id = make_name_based_uuid("another name");
  EXPECT_TRUE(looks_like_uuid(id));
  EXPECT_EQ(id[14], '8');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
  EXPECT_EQ(make_name_based_uuid("another name"), id);
  EXPECT_NE(make_name_based_uuid("another name."), id);
}

TEST(Uuid, RandomIsVersionFourAndDoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = make_uuid();
    ASSERT_TRUE(looks_like_uuid(id)) << id;
    EXPECT_EQ(id[14], '4');
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(LabelText, ClassificationThenEachCategoryAfterASlash) {
  EXPECT_EQ(label_text(Label{"SECRET", {}}), "SECRET");
  EXPECT_EQ(label_text(Label{"SECRET", {"PERSONAL", "UK EYES ONLY"}}), "SECRET/PERSONAL/UK EYES ONLY");
}

TEST(ParseLabelText, ReadsBackWhatLabelTextWrites) {
  const Label label{"SECRET", {"PERSONAL", "UK EYES ONLY"}};
  EXPECT_EQ(parse_label_text(label_text(label)), label);
  EXPECT_EQ(parse_label_text("OFFICIAL"), (Label{"OFFICIAL", {}}));
}

TEST(ParseLabelText, IgnoresSpaceAroundPartsAndSortsCategories) {
  EXPECT_EQ(parse_label_text(" SECRET / UK EYES ONLY\t/ PERSONAL / PERSONAL\n"),
            (Label{"SECRET", {"PERSONAL", "UK EYES ONLY"}}));
}

TEST(ParseLabelText, NamesTheEmptyPart) {
  std::string problem;
  EXPECT_FALSE(parse_label_text("", &problem));
  EXPECT_EQ(problem, "an empty classification");
  EXPECT_FALSE(parse_label_text(" / PERSONAL", &problem));
  EXPECT_EQ(problem, "an empty classification");
  for (const char* text : {"SECRET//PERSONAL", "SECRET/", "SECRET/ /PERSONAL"}) {
    problem.clear();
    EXPECT_FALSE(parse_label_text(text, &problem)) << text;
    EXPECT_EQ(problem, "an empty category (check the '/' separators)") << text;
  }
}

TEST(FormatUtc, EveryStyle) {
  const std::int64_t t = 1'763'704'800'250;  // 2025-11-21T06:00:00.250Z
  EXPECT_EQ(format_utc(t), "2025-11-21T06:00:00Z");
  EXPECT_EQ(format_utc(t, UtcStyle::iso_ms), "2025-11-21T06:00:00.250Z");
  EXPECT_EQ(format_utc(t, UtcStyle::readable), "2025-11-21 06:00:00 UTC");
  EXPECT_EQ(format_utc(t, UtcStyle::readable_minute), "2025-11-21 06:00 UTC");
  EXPECT_EQ(format_utc(t, UtcStyle::date), "2025-11-21");
  EXPECT_EQ(format_utc(from_unix_ms(t), UtcStyle::iso), "2025-11-21T06:00:00Z");
  EXPECT_EQ(parse_utc(format_utc(t)), t - 250);
}

TEST(FormatUtc, TimesBefore1970RoundDown) {
  EXPECT_EQ(format_utc(-1, UtcStyle::iso_ms), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_utc(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_utc(-1000), "1969-12-31T23:59:59Z");
}

TEST(FormatUtc, OutsideYearsOneTo9999GivesTheMilliseconds) {
  EXPECT_EQ(format_utc(-62'135'596'800'000, UtcStyle::iso_ms), "0001-01-01T00:00:00.000Z");
  EXPECT_EQ(format_utc(253'402'300'799'999, UtcStyle::iso_ms), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_utc(-62'135'596'800'001, UtcStyle::iso_ms), "@-62135596800001ms");
  EXPECT_EQ(format_utc(253'402'300'800'000), "@253402300800000ms");
  EXPECT_EQ(format_utc(INT64_MAX, UtcStyle::readable), "@9223372036854775807ms");
}

}  // namespace
}  // namespace icegate

// json::quote: every JSON the tools print goes through it, so its output must
// be valid UTF-8 (RFC 8259 section 8.1) whatever bytes it is given. And the
// rest of the facade over Boost.JSON: Object, serialize, pretty and parse.
#include "gateway/model/json.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "gateway/model/json_value.hpp"

#include "tests/support/utf8.hpp"

namespace icegate::json {
namespace {

using icegate::testing::is_valid_utf8;

TEST(JsonQuote, EscapesWhatJsonRequires) {
  EXPECT_EQ(quote("a\"b\\c\n\r\t\x01"), "\"a\\\"b\\\\c\\n\\r\\t\\u0001\"");
}

TEST(JsonQuote, KeepsWellFormedUtf8) {
  // 2-, 3- and 4-byte sequences at the edges of their ranges.
  for (std::string_view text : {"caf\xc3\xa9", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf",
                                "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
                                "\xf0\x9f\x99\x82"}) {
    EXPECT_EQ(quote(text), "\"" + std::string(text) + "\"") << text;
  }
}

// json::Writer's strings (every audit record's detail) are scanned sixteen
// bytes a step: whatever the scan must stop at (an escape, a UTF-8 sequence
// to check, a byte to replace) is found at every position, inside a step, at
// its edges and in the bytes after the last whole step.
TEST(JsonWriter, FindsWhatItMustEscapeCheckOrReplaceAtEveryPosition) {
  struct Special {
    std::string_view in;
    std::string_view out;
  };
  for (const Special special : {Special{"\"", "\\\""}, Special{"\\", "\\\\"}, Special{"\n", "\\n"},
                                Special{"\x1f", "\\u001f"}, Special{"\xc3\xa9", "\xc3\xa9"},
                                Special{"\xf0\x9f\x99\x82", "\xf0\x9f\x99\x82"}, Special{"\xff", "\xef\xbf\xbd"},
                                Special{"\xc3", "\xef\xbf\xbd"}}) {
    for (std::size_t before = 0; before <= 40; ++before) {
      const std::string prefix(before, 'a'), suffix(40 - before, 'z');
      const std::string in = prefix + std::string(special.in) + suffix;
      const std::string out = "\"" + prefix + std::string(special.out) + suffix + "\"";
      EXPECT_EQ(Writer().add("k", in).finish(), "{\"k\":" + out + "}") << "at " << before;
      // As a key, first and after another.
      EXPECT_EQ(Writer().add(in, "v").add("k", in).add(in, true).finish(),
                "{" + out + ":\"v\",\"k\":" + out + "," + out + ":true}")
          << "at " << before;
    }
  }
}

TEST(JsonQuote, ReplacesEachByteOfAnIllFormedSequenceWithUFFFD) {
  const std::string replacement = "\xef\xbf\xbd";
  struct Case {
    std::string_view input;
    std::string expected;
  };
  for (const Case& c : {
           Case{"\xff", replacement},                                           // never in UTF-8
           Case{"a\x80z", "a" + replacement + "z"},                             // a lone continuation byte
           Case{"\xc3", replacement},                                           // cut short at the end
           Case{"\xc3z", replacement + "z"},                                    // cut short in the middle
           Case{"\xc0\xaf", replacement + replacement},                         // overlong '/'
           Case{"\xe0\x80\xaf", replacement + replacement + replacement},       // overlong, 3 bytes
           Case{"\xed\xa0\x80", replacement + replacement + replacement},       // a surrogate, U+D800
           Case{"\xf4\x90\x80\x80", replacement + replacement + replacement + replacement},  // above U+10FFFF
           Case{"\xf8\x88\x80\x80\x80",                                                    // a 5-byte form
                replacement + replacement + replacement + replacement + replacement},
       }) {
    const std::string quoted = quote(c.input);
    EXPECT_EQ(quoted, "\"" + c.expected + "\"");
    EXPECT_TRUE(is_valid_utf8(quoted));
  }
}

TEST(JsonQuote, ObjectsUseIt) {
  Object object;
  object.add("file\xff", "x\xfe").add("list", std::vector<std::string>{"\xc3"});
  EXPECT_TRUE(is_valid_utf8(object.str())) << object.str();
}

// json::Writer writes what Object writes for the same calls: Object (over
// Boost.JSON) is the reference, so each case builds both.
std::vector<std::string> tricky_strings() {
  std::vector<std::string> texts = {"", "plain", "a\"b\\c/d", "caf\xc3\xa9", "\xf0\x9f\x99\x82", "\x7f",
                                    "\xff", "a\x80z", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"};
  for (int byte = 0; byte < 0x20; ++byte) texts.push_back("<" + std::string(1, static_cast<char>(byte)) + ">");
  return texts;
}

TEST(JsonWriter, WritesEachStringKeyAndScalarAsObjectDoes) {
  for (const std::string& text : tricky_strings()) {
    EXPECT_EQ(Writer().add("k", text).finish(), Object().add("k", text).str()) << text;
    EXPECT_EQ(Writer().add(text, "v").finish(), Object().add(text, "v").str()) << text;
  }
  for (const std::int64_t number : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1'800'000'000'123},
                                    std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()})
    EXPECT_EQ(Writer().add("n", number).finish(), Object().add("n", number).str());
  EXPECT_EQ(Writer().add("t", true).add("f", false).finish(), Object().add("t", true).add("f", false).str());
  EXPECT_EQ(Writer().add("none", std::vector<std::string>{}).add("some", tricky_strings()).finish(),
            Object().add("none", std::vector<std::string>{}).add("some", tricky_strings()).str());
  EXPECT_EQ(Writer().finish(), Object().str());
}

TEST(JsonWriter, NestsObjectsAndArraysOfObjectsAsObjectDoes) {
  Writer writer;
  writer.add("a", "1").begin_array("items");
  boost::json::array items;
  for (const std::string& text : {std::string("p1"), std::string("p\n2"), std::string("\xfe")}) {
    writer.begin_object().add("portion", text).add("rules", std::vector<std::string>{text}).end();
    items.push_back(Object().add("portion", text).add("rules", std::vector<std::string>{text}).native());
  }
  writer.end().begin_array("empty").end().begin_object("inner").add("n", std::int64_t{7}).end().add("z", false);
  const std::string expected = Object()
                                   .add("a", "1")
                                   .add("items", boost::json::value(std::move(items)))
                                   .add("empty", boost::json::value(boost::json::array()))
                                   .add("inner", Object().add("n", std::int64_t{7}))
                                   .add("z", false)
                                   .str();
  EXPECT_EQ(writer.finish(), expected);
  EXPECT_EQ(writer.add("again", true).finish(), "{\"again\":true}");  // finish() leaves it empty
}

TEST(JsonWriter, ClosesWhatIsStillOpenAndRefusesMisuse) {
  EXPECT_EQ(Writer().begin_array("a").begin_object().add("b", "c").finish(), "{\"a\":[{\"b\":\"c\"}]}");
  EXPECT_THROW(Writer().end(), std::logic_error);
  EXPECT_THROW(Writer().begin_object(), std::logic_error);          // an item without a key in an object
  EXPECT_THROW(Writer().begin_array("a").add("b", "c"), std::logic_error);  // a key inside an array
  Writer deep;
  EXPECT_THROW(
      {
        for (int level = 0; level < 100; ++level) deep.begin_object("x");
      },
      std::logic_error);
}

TEST(JsonObject, KeepsKeysInTheOrderFirstAddedAndReplacesARepeatedKey) {
  Object object;
  object.add("z", "1").add("a", std::int64_t{2}).add("m", true).add("z", "again");
  EXPECT_EQ(object.str(), R"({"z":"again","a":2,"m":true})");
}

TEST(JsonObject, NestsObjectsAndEncodedValues) {
  Object inner;
  inner.add("k", std::vector<std::string>{"a", "b"});
  Object outer;
  outer.add("inner", inner).add_raw("raw", R"({"x":[1,null]})").add_raw("text", quote("q"));
  EXPECT_EQ(outer.str(), R"({"inner":{"k":["a","b"]},"raw":{"x":[1,null]},"text":"q"})");
  EXPECT_THROW(outer.add_raw("bad", "{"), std::invalid_argument);
}

TEST(JsonObject, WritesInt64LimitsExactly) {
  Object object;
  object.add("max", std::numeric_limits<std::int64_t>::max()).add("min", std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(object.str(), R"({"max":9223372036854775807,"min":-9223372036854775808})");
}

TEST(JsonSerialize, ReplacesIllFormedUtf8InStringsAndKeysAnywhereInTheDocument) {
  boost::json::value document = {{"ok", "caf\xc3\xa9"}, {"list", boost::json::array{"a\xffz"}}};
  document.as_object()["key\xc3"] = boost::json::object{{"deep", "\xed\xa0\x80"}};
  const std::string text = serialize(document);
  EXPECT_TRUE(is_valid_utf8(text)) << text;
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(text, "{\"ok\":\"caf\xc3\xa9\",\"list\":[\"a" + r + "z\"],\"key" + r + "\":{\"deep\":\"" + r + r + r + "\"}}");
}

TEST(JsonSerialize, WritesDoublesAsTheShortestTextThatReadsBackTheSame) {
  const boost::json::value document = {{"whole", 50.0}, {"tenth", 66.7}, {"small", 0.001234},
                                       {"large", 1e20}, {"int", 50}, {"list", boost::json::array{-0.5, 2.0}}};
  const std::string text = serialize(document);
  EXPECT_EQ(text, R"({"whole":50.0,"tenth":66.7,"small":0.001234,"large":1e+20,"int":50,"list":[-0.5,2.0]})");
  EXPECT_EQ(parse(text).value, document) << "and they read back as the same numbers";
  EXPECT_EQ(pretty(boost::json::array{0.25, 3.0}), "[0.25, 3.0]");
  EXPECT_EQ(Object().add("percent", boost::json::value(50.0)).str(), R"({"percent":50.0})");
}

TEST(JsonPretty, IndentsObjectsAndKeepsArraysOfScalarsOnOneLine) {
  const boost::json::value document = {{"name", "x"},
                                       {"tags", boost::json::array{"a", "b"}},
                                       {"empty", boost::json::array()},
                                       {"rows", boost::json::array{boost::json::object{{"n", 1}}}},
                                       {"none", boost::json::object()}};
  EXPECT_EQ(pretty(document), "{\n"
                              "  \"name\": \"x\",\n"
                              "  \"tags\": [\"a\", \"b\"],\n"
                              "  \"empty\": [],\n"
                              "  \"rows\": [\n"
                              "    {\n"
                              "      \"n\": 1\n"
                              "    }\n"
                              "  ],\n"
                              "  \"none\": {}\n"
                              "}");
  EXPECT_EQ(parse(pretty(document)).value, document);
  EXPECT_EQ(pretty(document, 1).substr(0, 12), "{\n    \"name\"");
}

TEST(JsonParse, ReadsInt64AndUint64WithoutLoss) {
  const ParseResult parsed = parse(R"([9223372036854775807,-9223372036854775808,18446744073709551615,1.5])");
  ASSERT_TRUE(parsed.error.empty()) << parsed.error;
  const boost::json::array& items = parsed.value.as_array();
  EXPECT_EQ(items[0].as_int64(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(items[1].as_int64(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(items[2].as_uint64(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(items[3].as_double(), 1.5);
}

TEST(JsonParse, SaysWhereTheTextIsWrongByLineAndColumn) {
  EXPECT_EQ(parse("{\n  \"a\": 1,\n  \"b\" 2\n}").error.substr(0, 19), "line 3, column 7: s");
  EXPECT_EQ(parse("{} x").error.substr(0, 18), "line 1, column 4: ");
  EXPECT_FALSE(parse("").error.empty());
  EXPECT_FALSE(parse("\"a\xff\"").error.empty()) << "JSON text must be UTF-8";
  EXPECT_TRUE(parse(" {\"a\": [1, 2]} \n").error.empty());
}

TEST(JsonParse, RefusesNestingDeeperThanAsked) {
  EXPECT_TRUE(parse("[[[1]]]", 3).error.empty());
  EXPECT_FALSE(parse("[[[[1]]]]", 3).error.empty());
}

TEST(JsonMember, FindsAMemberOfAnObjectOnly) {
  const boost::json::value document = {{"a", 1}};
  ASSERT_NE(member(document, "a"), nullptr);
  EXPECT_EQ(member(document, "a")->as_int64(), 1);
  EXPECT_EQ(member(document, "b"), nullptr);
  EXPECT_EQ(member(boost::json::value(boost::json::array{1}), "a"), nullptr);
}

}  // namespace
}  // namespace icegate::json

// json::quote: every JSON the tools print goes through it, so its output must
// be valid UTF-8 (RFC 8259 section 8.1) whatever bytes it is given.
#include "gateway/model/json.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace icegate::json

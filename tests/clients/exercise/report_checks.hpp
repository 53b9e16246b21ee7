// Checks of rendered reports shared by the report tests: that HTML nests,
// fetches nothing, and counting what a page holds.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace icegate::exercise::testing {

inline std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// Checks that every element is closed in order (void elements and "/>" aside)
// and returns the problem, or "" when the markup nests properly.
inline std::string nesting_problem(const std::string& page) {
  static const std::set<std::string> void_elements = {"meta", "br", "hr", "img", "input", "link", "wbr"};
  std::vector<std::string> open;
  std::size_t at = 0;
  while ((at = page.find('<', at)) != std::string::npos) {
    if (page.compare(at, 4, "<!--") == 0) {
      at = page.find("-->", at);
      if (at == std::string::npos) return "unclosed comment";
      continue;
    }
    if (page.compare(at, 2, "<!") == 0) {
      at = page.find('>', at);
      continue;
    }
    const std::size_t end = page.find('>', at);
    if (end == std::string::npos) return "unclosed tag at " + std::to_string(at);
    std::string tag = page.substr(at + 1, end - at - 1);
    const bool closing = !tag.empty() && tag[0] == '/';
    if (closing) tag.erase(0, 1);
    const bool self_closing = !tag.empty() && tag.back() == '/';
    const std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0])))
      return "stray '<' at " + std::to_string(at) + ": " + page.substr(at, 40);
    if (closing) {
      if (open.empty() || open.back() != name)
        return "</" + name + "> closes <" + (open.empty() ? std::string("nothing") : open.back()) + "> at " +
               std::to_string(at);
      open.pop_back();
    } else if (!self_closing && !void_elements.count(name)) {
      open.push_back(name);
      if (name == "style" || name == "script") {  // raw text up to the closing tag
        const std::size_t close = page.find("</" + name + ">", end);
        if (close == std::string::npos) return "unclosed <" + name + ">";
        at = close;
        continue;
      }
    }
    at = end + 1;
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  return "";
}

// The SVG of a page (the first one).
inline std::string svg_of(const std::string& page) {
  const std::size_t begin = page.find("<svg");
  const std::size_t end = page.find("</svg>", begin);
  if (begin == std::string::npos || end == std::string::npos) return "";
  return page.substr(begin, end + 6 - begin);
}

inline void expect_offline(const std::string& page) {
  EXPECT_THAT(page, ::testing::Not(::testing::HasSubstr("http://")));
  EXPECT_THAT(page, ::testing::Not(::testing::HasSubstr("https://")));
  EXPECT_THAT(page, ::testing::Not(::testing::HasSubstr("<link")));
  EXPECT_THAT(page, ::testing::Not(::testing::HasSubstr("src=")));
  EXPECT_THAT(page, ::testing::Not(::testing::HasSubstr("@import")));
  EXPECT_THAT(page, ::testing::Not(::testing::HasSubstr("//cdn")));
  // url(...) only for the diagram's own arrow heads.
  const std::regex url(R"(url\((?!#))");
  EXPECT_FALSE(std::regex_search(page, url));
}

}  // namespace icegate::exercise::testing

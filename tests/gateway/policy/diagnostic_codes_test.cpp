// Diagnostic codes are a contract (policies/README.md, "Diagnostics"): every
// code the policy tools can emit is documented there, so a user can look up
// what they were told.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace icegate::policy {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = ICEGATE_SOURCE_DIR;

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> matches(const std::string& text, const std::regex& pattern, int group = 1) {
  std::set<std::string> found;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern); it != std::sregex_iterator(); ++it) {
    found.insert((*it)[group].str());
  }
  return found;
}

// The codes policies/README.md documents: a table row `| P011 | ...`, or
// F001, which has a paragraph of its own.
std::set<std::string> documented_codes() {
  const std::string readme = read(kSource / "policies/README.md");
  std::set<std::string> codes = matches(readme, std::regex(R"(\n\| ([PTWSF][0-9]{3}) \|)"));
  for (const std::string& code : matches(readme, std::regex(R"(\*\*(F[0-9]{3})\*\*)"))) codes.insert(code);
  return codes;
}

TEST(DiagnosticCodes, EveryCodeTheSourceNamesIsDocumented) {
  const std::set<std::string> documented = documented_codes();
  ASSERT_GT(documented.size(), 50u) << "the README's code tables were not found";
  const std::regex literal(R"re("([PTWSF][0-9]{3})")re");
  for (const fs::path& dir : {kSource / "gateway/policy", kSource / "tools/icegate"}) {
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (!name.ends_with(".cpp") && !name.ends_with(".hpp")) continue;
      // Comments count too: an example code in a doc comment must exist.
      for (const std::string& code : matches(read(entry.path()), literal)) {
        EXPECT_TRUE(documented.count(code)) << code << " (named in " << name << ") is not in policies/README.md";
      }
    }
  }
}

// Test files and `explain --request` files are read by the policy parser
// and its codes renumbered P -> T (testing.cpp), so each parser code has a
// test file twin that must be documented as well.
TEST(DiagnosticCodes, TheParsersCodesAreDocumentedForTestFilesToo) {
  const std::set<std::string> documented = documented_codes();
  const std::set<std::string> parser_codes =
      matches(read(kSource / "gateway/policy/parser.cpp"), std::regex(R"re("P([0-9]{3})")re"));
  ASSERT_FALSE(parser_codes.empty());
  for (const std::string& number : parser_codes) {
    EXPECT_TRUE(documented.count("P" + number)) << "P" << number;
    EXPECT_TRUE(documented.count("T" + number)) << "T" << number << " (the parser's P" << number
                                                << " in a test file) is not in policies/README.md";
  }
}

}  // namespace
}  // namespace icegate::policy

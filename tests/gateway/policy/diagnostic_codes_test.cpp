// Diagnostic codes are a contract: every code the tools can emit is in one
// table (gateway/policy/diagnostic_codes.hpp) and documented for its users,
// in policies/README.md (P, W, F, T, S, V) or scenarios/README.md (X). These
// tests read the READMEs from the source tree, so the table and the
// documentation cannot drift apart.
#include "gateway/policy/diagnostic_codes.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "gateway/policy/diagnostics.hpp"

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

// What a README says about each code it documents: the text of its table row
// `| P011 | meaning |`; F001 has a paragraph of its own (`**F001**`).
std::map<std::string, std::string> documented_codes() {
  std::map<std::string, std::string> codes;
  const std::regex row(R"(\n\| ([A-Z][0-9]{3}) \| ([^\n]*) \|)");
  for (const char* readme : {"policies/README.md", "scenarios/README.md"}) {
    const std::string text = read(kSource / readme);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), row); it != std::sregex_iterator(); ++it) {
      const bool inserted = codes.emplace((*it)[1].str(), (*it)[2].str()).second;
      EXPECT_TRUE(inserted) << (*it)[1].str() << " is documented twice";
    }
  }
  const std::string policies = read(kSource / "policies/README.md");
  const std::regex paragraph(R"(\*\*(F[0-9]{3})\*\*, ([^\n]*))");
  for (auto it = std::sregex_iterator(policies.begin(), policies.end(), paragraph); it != std::sregex_iterator();
       ++it) {
    codes.emplace((*it)[1].str(), (*it)[2].str());
  }
  return codes;
}

TEST(DiagnosticCodes, EveryCodeInTheTableIsDocumented) {
  const auto documented = documented_codes();
  ASSERT_GT(documented.size(), 90u) << "the READMEs' code tables were not found";
  for (const CodeInfo& code : all_codes()) {
    EXPECT_TRUE(documented.count(std::string(code.name)))
        << code.name << " (" << code.title << ") is in the table but in neither README";
  }
}

TEST(DiagnosticCodes, EveryDocumentedCodeIsInTheTable) {
  for (const auto& [name, meaning] : documented_codes()) {
    EXPECT_TRUE(code_from_string(name)) << name << " is documented (" << meaning << ") but not in the table";
  }
}

// The READMEs mark a warning: the W section is all warnings, and any other
// warning's row begins "warning:". Everything else is an error.
TEST(DiagnosticCodes, TheREADMEsAndTheTableAgreeOnWhatIsAWarning) {
  for (const auto& [name, meaning] : documented_codes()) {
    const auto code = code_from_string(name);
    if (!code) continue;  // reported above
    const bool documented_warning = name.front() == 'W' || meaning.starts_with("warning:");
    EXPECT_EQ(severity_of(*code) == Severity::warning, documented_warning)
        << name << " is " << to_string(severity_of(*code)) << " in the table; the README says: " << meaning;
  }
}

TEST(DiagnosticCodes, NamesAndTitlesAreWellFormedAndUnique) {
  std::set<std::string_view> names;
  for (const CodeInfo& code : all_codes()) {
    EXPECT_TRUE(std::regex_match(std::string(code.name), std::regex("[A-Z][0-9]{3}"))) << code.name;
    EXPECT_TRUE(names.insert(code.name).second) << code.name << " twice";
    EXPECT_FALSE(code.title.empty()) << code.name;
    EXPECT_EQ(to_string(code.code), code.name);
    EXPECT_EQ(code_from_string(code.name), code.code);
  }
  EXPECT_EQ(code_from_string("P999"), std::nullopt);
}

// Test files and properties files are read by the policy parser, and its codes
// renumbered under their own letter (P001 -> T001, V001), so each code the
// parser emits must have both twins.
TEST(DiagnosticCodes, TheParsersCodesHaveTwinsForTestAndPropertiesFiles) {
  const std::string parser = read(kSource / "gateway/policy/parser.cpp");
  const std::regex emitted(R"(Code::(P[0-9]{3}))");
  int seen = 0;
  for (auto it = std::sregex_iterator(parser.begin(), parser.end(), emitted); it != std::sregex_iterator(); ++it) {
    const auto code = code_from_string((*it)[1].str());
    ASSERT_TRUE(code) << (*it)[1].str();
    EXPECT_NO_THROW(with_letter(*code, 'T')) << (*it)[1].str();
    EXPECT_NO_THROW(with_letter(*code, 'V')) << (*it)[1].str();
    ++seen;
  }
  EXPECT_GT(seen, 0) << "no codes found in parser.cpp";
  EXPECT_EQ(with_letter(Code::P003, 'T'), Code::T003);
  EXPECT_THROW(with_letter(Code::P046, 'T'), std::logic_error);
}

// The severity comes from the table: an emit site that calls a warning an
// error (or the other way round) is a programming error, caught at once.
TEST(DiagnosticCodes, AnEmitSiteCannotContradictTheTable) {
  Diagnostics diagnostics;
  EXPECT_THROW(diagnostics.error(Code::W002, {"p.yaml", 1, 1}, "shadowed"), std::logic_error);
  EXPECT_THROW(diagnostics.warning(Code::P011, {"p.yaml", 1, 1}, "undefined"), std::logic_error);
  diagnostics.warning(Code::P044, {"p.yaml", 2, 3}, "no mapping");
  ASSERT_EQ(diagnostics.all().size(), 1u);
  EXPECT_EQ(diagnostics.all().front().severity, Severity::warning);
  EXPECT_FALSE(diagnostics.has_errors());
}

// What analysts read is unchanged: `file:line:col: severity[code]: message`.
TEST(DiagnosticCodes, TheRenderedFormNamesTheCode) {
  Diagnostics diagnostics;
  diagnostics.error(Code::P011, {"draft.yaml", 558, 15}, "undefined role 'yot-manger'; did you mean 'yot-manager'?",
                    {.suggestion = "yot-manager"});
  EXPECT_EQ(to_string(diagnostics.all().front()),
            "draft.yaml:558:15: error[P011]: undefined role 'yot-manger'; did you mean 'yot-manager'?");
  EXPECT_EQ(diagnostics.all().front().details.suggestion, "yot-manager");
}

}  // namespace
}  // namespace icegate::policy

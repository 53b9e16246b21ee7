// Policy files are input too: aliases that refer to themselves or multiply,
// and extra YAML documents, get a located error instead of a crash, a
// memory blow-up or silence. (Found by fuzz_policy_parser.)
#include <chrono>
#include <fstream>
#include <iterator>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/policy/engine.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

// Every diagnostic, one per line.
std::string first_error(std::string_view text) {
  const auto result = load_policy_text(text, "hostile.yaml");
  EXPECT_FALSE(result.policy);
  std::string all;
  for (const auto& d : result.diagnostics.sorted()) all += to_string(d) + "\n";
  return all;
}

// The codes of every diagnostic: most tests here ask only which problem was found.
std::vector<Code> codes_of(std::string_view text) {
  const auto result = load_policy_text(text, "hostile.yaml");
  EXPECT_FALSE(result.policy);
  return testing::codes(result.diagnostics);
}

using ::testing::Contains;
using ::testing::Not;

TEST(HostileYaml, AnAliasThatRefersToItselfIsAnError) {
  EXPECT_THAT(codes_of("policy: x\na: &x {b: *x}\n"), Contains(Code::P008));
  EXPECT_THAT(codes_of("policy: x\na: &x [*x]\n"), Contains(Code::P008));
}

TEST(HostileYaml, AliasesThatMultiplyAreStoppedQuickly) {
  // Nine levels of ten aliases: a billion values from a few hundred bytes.
  std::string text = "policy: x\nl0: &l0 [a, a, a, a, a, a, a, a, a, a]\n";
  for (int level = 1; level <= 9; ++level) {
    text += "l" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", *l" : "*l") + std::to_string(level - 1);
    text += "]\n";
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(codes_of(text), Contains(Code::P008));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30)) << "not stopped early";
}

TEST(HostileYaml, ASecondDocumentIsNotIgnored) {
  const std::string error = first_error("policy: x\n---\nrulez: []\n");
  EXPECT_NE(error.find("hostile.yaml:2:1: error[P001]: a second YAML document begins here"), std::string::npos) << error;
  // A document marker before any content is only the start of the one document.
  EXPECT_EQ(first_error("---\npolicy: x\n").find("second YAML document"), std::string::npos);
}

TEST(HostileYaml, AFileThatIsNotUtf8IsRefusedWhereItsFirstBadByteIs) {
  // A name that is not UTF-8 could reach JSON output and the audit trail.
  const std::string error = first_error("policy: x\nnodes:\n  - id: caf\xe9\n");
  EXPECT_NE(error.find("hostile.yaml:3:12: error[P009]: the file is not UTF-8 text: byte 0xe9"), std::string::npos)
      << error;
  EXPECT_THAT(codes_of("policy: caf\xc3\xa9\n"), Not(Contains(Code::P009))) << "UTF-8 itself is welcome";
}

TEST(HostileYaml, MalformedInputThatMakesYamlCppLoadAllLoopIsAnsweredQuickly) {
  // Reduced from a fuzzer find: yaml-cpp's LoadAll never returns on it.
  std::ifstream in(std::string(ICEGATE_SOURCE_DIR) + "/tests/fuzz/corpus/fuzz_policy_parser/finding-loadall-loop.yaml");
  const std::string text(std::istreambuf_iterator<char>(in), {});
  ASSERT_FALSE(text.empty());
  const auto start = std::chrono::steady_clock::now();
  (void)load_policy_text(text, "hostile.yaml");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

}  // namespace
}  // namespace icegate::policy

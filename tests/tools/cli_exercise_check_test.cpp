// `icegate exercise check`: the scenario's problems and the names it uses that
// the policy does not define, every one located and sorted, before any run.
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/clients/exercise/scenario_dir.hpp"
#include "tools/icegate/cmd_exercise.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {
namespace {

using exercise::testing::position_of;
using exercise::testing::ScenarioDir;
using exercise::testing::source_file;
using ::testing::HasSubstr;

constexpr const char* kScenario = R"(exercise: check-cli
policy: policies/handling.yaml
t0: 2026-11-21T06:00:00Z
start: T-4h
end: T+4h
injects:
  - id: I1
    at: T-3h
    from: analyst
    message:
      to: [housing, council-prevnet, "role:nobody"]
      category: ct-problem-profile
      portions: [{label: RESTRICTED, body: x}]
)";

struct Outcome {
  int code;
  std::string out, err;
};

Outcome check(const std::filesystem::path& scenario, const std::filesystem::path& policy = {}) {
  std::ostringstream out, err;
  const int code = run_exercise_check(scenario, policy, out, err);
  return {code, out.str(), err.str()};
}

TEST(CliExerciseCheck, ReportsAddresseesThatResolveToNobodyWithTheirLocations) {
  ScenarioDir dir;
  const auto file = dir.write("names.yaml", kScenario);
  const Outcome result = check(file);
  EXPECT_EQ(result.code, exit_error) << result.out << result.err;
  EXPECT_THAT(result.err, HasSubstr(file.string() + ":" + position_of(kScenario, "council-prevnet") +
                                    ": error[X011]: inject I1: addressee 'council-prevnet'"));
  EXPECT_THAT(result.err, HasSubstr(file.string() + ":" + position_of(kScenario, "\"role:nobody") +
                                    ": error[X011]: inject I1: addressee 'role:nobody'"));
}

TEST(CliExerciseCheck, ChecksAgainstTheGivenPolicyAndRefusesAnInvalidOne) {
  ScenarioDir dir;
  std::string text = kScenario;
  text.replace(text.find(", council-prevnet, \"role:nobody\""), 32, "");
  const auto file = dir.write("clean.yaml", text);
  const Outcome clean = check(file);
  EXPECT_EQ(clean.code, exit_ok) << clean.err;
  EXPECT_THAT(clean.out, HasSubstr("checked against policy handling-test"));
  const auto invalid = dir.write("policies/invalid.yaml", "policy: broken\nnodes: 3\n");
  EXPECT_EQ(check(file, invalid).code, exit_invalid_policy);
}

TEST(CliExerciseCheck, EveryShippedScenarioChecksCleanUnderBothShippedPolicies) {
  for (const char* scenario : {"operation-nicole.yaml", "two-level-product.yaml", "feedback-loop.yaml", "csv-example.yaml"})
    for (const char* policy : {"need-to-share.yaml", "need-to-know.yaml"}) {
      const Outcome result = check(source_file(std::string("scenarios/") + scenario),
                                   source_file(std::string("policies/") + policy));
      EXPECT_EQ(result.code, exit_ok) << scenario << " under " << policy << ":\n" << result.err;
    }
}

}  // namespace
}  // namespace icegate::cli

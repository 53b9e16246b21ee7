// The shipped scenarios under both shipped policies: every expectation is met
// under need-to-share, and under need-to-know exactly the ones that show the
// 2008 status quo's gaps are unmet (scenarios/README.md tells the story).
#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "clients/exercise/runner.hpp"
#include "clients/exercise/scenario.hpp"

namespace icegate::exercise {
namespace {

std::filesystem::path source(const std::string& relative) { return std::filesystem::path(ICEGATE_SOURCE_DIR) / relative; }

struct Case {
  const char* scenario;
  std::set<std::string> unmet_under_need_to_know;
  std::vector<std::string> contingencies_under_need_to_know;
};

class ShippedScenario : public ::testing::TestWithParam<Case> {};

std::set<std::string> unmet(const RunResult& result) {
  std::set<std::string> ids;
  for (const auto& e : result.expectations)
    if (!e.met) ids.insert(e.id);
  return ids;
}

TEST_P(ShippedScenario, OutcomesUnderBothPolicies) {
  const auto scenario = load_scenario(source(std::string("scenarios/") + GetParam().scenario));
  RunOptions share;
  share.policy = source("policies/need-to-share.yaml");
  const RunResult shared = run_exercise(scenario, share);
  EXPECT_EQ(unmet(shared), std::set<std::string>{}) << "under need-to-share";

  RunOptions know;
  know.policy = source("policies/need-to-know.yaml");
  const RunResult known = run_exercise(scenario, know);
  EXPECT_EQ(unmet(known), GetParam().unmet_under_need_to_know) << "under need-to-know";
  EXPECT_EQ(known.contingencies_fired, GetParam().contingencies_under_need_to_know);
}

INSTANTIATE_TEST_SUITE_P(
    Scenarios, ShippedScenario,
    ::testing::Values(Case{"operation-nicole.yaml", {"E1", "E3", "E4", "E7", "E14", "E15"}, {"C1"}},
                      Case{"two-level-product.yaml", {"E2", "E3", "E4", "E5", "E6", "E7", "E9"}, {}},
                      Case{"feedback-loop.yaml", {"E6", "E7"}, {"C1"}},
                      Case{"csv-example.yaml", {"E1", "E3", "E7"}, {}}),
    [](const auto& info) {
      std::string name = info.param.scenario;
      name = name.substr(0, name.find('.'));
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

}  // namespace
}  // namespace icegate::exercise

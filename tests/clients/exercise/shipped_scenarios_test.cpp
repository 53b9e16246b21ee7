// The shipped scenarios under both shipped policies: every expectation is met
// under need-to-share, and under need-to-know exactly the ones that show the
// 2008 status quo's gaps are unmet (scenarios/README.md tells the story).
#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "clients/exercise/runner.hpp"
#include "clients/exercise/scenario.hpp"
#include "clients/exercise/table.hpp"

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
    ::testing::Values(Case{"operation-nicole.yaml", {"E1", "E3", "E4", "E7", "E14", "E15", "E16"}, {"C1"}},
                      Case{"two-level-product.yaml", {"E2", "E3", "E4", "E5", "E6", "E7", "E9"}, {}},
                      Case{"feedback-loop.yaml", {"E6", "E7"}, {"C1"}},
                      Case{"csv-example.yaml", {"E1", "E3", "E7"}, {}}),
    [](const auto& info) {
      std::string name = info.param.scenario;
      name = name.substr(0, name.find('.'));
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

// The federation across three gateways, each under its own policy of
// policies/federation/: every expectation met, those about what crosses
// gateways included. Those (E3-E7) need the router to forward between peers
// (docs/FEDERATION.md, "A decision at every hop"); until that is wired, this
// test fails on them alone (exercise_gateways_test covers the rest).
TEST(ShippedFederation, EveryExpectationIsMetAcrossTheThreeGateways) {
  const auto scenario = load_scenario(source("scenarios/west-midlands-federation.yaml"));
  const RunResult result = run_exercise(scenario, {});
  ASSERT_EQ(result.gateways.size(), 3u);
  EXPECT_EQ(unmet(result), std::set<std::string>{});
}

// Operation Nicole with people at its players' seats: the chief executive's
// scripted response (R-CMG) does not run, so E16 is met only when the person
// playing the chief executive convenes the consequence management group; the
// media feed reaches the seats it names.
TEST(ShippedScenarioPlayed, OperationNicolesChiefExecutiveMeetsE16ByActing) {
  using namespace std::chrono_literals;
  const auto scenario = load_scenario(source("scenarios/operation-nicole.yaml"));
  ASSERT_EQ(scenario.players, (std::vector<std::string>{"ctu-sio", "council-chief-exec", "npt-officer"}));
  ASSERT_EQ(scenario.evaluators.size(), 2u);
  Table table("", scenario.players);
  Control control;
  control.pause();
  RunOptions options;
  options.policy = source("policies/need-to-share.yaml");
  options.real_time = true;
  options.control = &control;
  options.table = &table;
  auto run = std::async(std::launch::async, [&] { return run_exercise(scenario, options); });

  // Step through the MSEL until the embargoed pre-briefing (I05) reaches the chief executive.
  auto has_i05 = [&] {
    for (const auto& d : table.seat("council-chief-exec").inbox)
      if (d.inject == "I05") return true;
    return false;
  };
  // One step at a time, each waited for (the clock moves to the next item), so a slow machine only takes longer.
  for (int steps = 0; steps < 40 && !has_i05(); ++steps) {
    const Offset before = table.status().now;
    control.step();
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (!has_i05() && table.status().now == before && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(has_i05()) << "stepped 40 times without I05 reaching the chief executive";

  Message briefing;
  briefing.addressees = {{AddresseeKind::list, "consequence-management-group"}};
  briefing.category = "tension-report";
  briefing.purpose = "consequence-management";
  briefing.title = "Consequence management group - meeting at 07:00";
  briefing.portions = {{"1", {"RESTRICTED", {}}, "Please attend; details at the meeting."}};
  table.send("council-chief-exec", briefing);
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (table.seat("council-chief-exec").receipts.empty() && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(20ms);
  control.set_speed(360'000);  // a hundred scenario hours a second
  control.resume();
  const RunResult result = run.get();

  for (const auto& e : result.expectations)
    if (e.id == "E16") {
      EXPECT_TRUE(e.met) << e.evidence;
      EXPECT_NE(e.evidence.find("played by a person"), std::string::npos) << e.evidence;
    }
  for (const auto& entry : result.timeline) {
    EXPECT_NE(entry.inject, "R-CMG") << "a played node runs no scripted response";
    EXPECT_NE(entry.inject, "R-NPT") << "a played node runs no scripted response";
  }
  ASSERT_EQ(result.human_actions.size(), 1u);
  EXPECT_EQ(result.human_actions[0].prompted_by, "I05");
  EXPECT_FALSE(result.human_actions[0].outcomes.empty());
  std::set<std::string> released;
  for (const auto& m : result.media) released.insert(m.id);
  EXPECT_EQ(released, (std::set<std::string>{"M1", "M2", "M3", "M4"})) << "M5 is released by hand only";
  for (const auto& m : table.seat("npt-officer").media) EXPECT_NE(m.id, "M3") << "the journalist calls the council";
}

}  // namespace
}  // namespace icegate::exercise

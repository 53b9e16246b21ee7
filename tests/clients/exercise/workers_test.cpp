// An exercise whose nodes are spread over worker processes (`icegate exercise
// node-worker`, the real binary) gives the same results as one whose nodes
// all run in the runner's process: a low RunOptions::nodes_per_process makes
// a small scenario need several workers.
#include <gtest/gtest.h>

#include "clients/exercise/national.hpp"
#include "clients/exercise/report.hpp"
#include "clients/exercise/runner.hpp"
#include "clients/exercise/scenario.hpp"
#include "tests/clients/exercise/scenario_dir.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::exercise {
namespace {

using icegate::exercise::testing::ScenarioDir;
using icegate::exercise::testing::source_file;

RunOptions in_workers(std::size_t nodes_per_process) {
  RunOptions options;
  options.nodes_per_process = nodes_per_process;
  options.worker_program = ICEGATE_BINARY;
  return options;
}

// Holds, a critical reader's review, an embargo lifted by an event, a
// redacted release and a refusal: every kind of command and event goes
// through the workers' socketpairs.
constexpr const char* scenario_text = R"(exercise: spread
policy: policies/handling.yaml
t0: 2026-11-21T06:00:00Z
start: T-4h
end: T+4h
injects:
  - id: I1
    at: T-3h
    from: analyst
    message:
      title: Problem profile
      to: [list:heads]
      category: ct-problem-profile
      purpose: prevent
      portions:
        - {label: "SECRET/UK EYES ONLY", body: secret detail}
        - {label: RESTRICTED, body: partner version}
  - id: I2
    at: T-2h
    from: analyst
    message:
      title: Pre-briefing
      to: [housing]
      category: operational-prebriefing
      purpose: consequence-management
      handling: {not_before_event: operation-start, no_onward_sharing: true}
      portions: [{label: RESTRICTED, body: brief}]
  - id: I2again
    at: T-1h
    from: sio
    message:
      title: Pre-briefing
      to: [housing]
      category: operational-prebriefing
      purpose: consequence-management
      handling: {not_before_event: operation-start, no_onward_sharing: true}
      portions: [{label: RESTRICTED, body: brief}]
  - id: I3
    at: T+0
    from: sio
    trigger: operation-start
responses:
  - id: R1
    node: reader
    on: {review_request: any}
    after: 1h
    review: approve
expectations:
  - id: E1
    receives: {node: housing, inject: I1, by: T-1h, version: redacted}
  - id: E2
    never_receives_at_or_above: {node: housing, classification: SECRET}
  - id: E3
    receives: {node: housing, inject: I2, by: T+0}
  - id: E4
    approved_within: {inject: I1, within: 2h}
  - id: E5
    does_not_receive: {node: officer, inject: I1}
)";

TEST(ExerciseWorkers, NodesSpreadOverWorkerProcessesGiveTheSameResults) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("spread.yaml", scenario_text));
  const RunResult alone = run_exercise(scenario, {});
  ASSERT_EQ(alone.worker_processes, 0u);
  ASSERT_GE(alone.nodes.size(), 4u);
  const RunResult spread = run_exercise(scenario, in_workers(2));
  EXPECT_EQ(spread.worker_processes, (alone.nodes.size() + 1) / 2) << "two nodes to a worker";
  EXPECT_TRUE(alone.all_met());
  EXPECT_EQ(to_json(spread), to_json(alone));
  EXPECT_EQ(to_html(spread, &scenario), to_html(alone, &scenario));
  EXPECT_EQ(to_mermaid(spread), to_mermaid(alone));
}

// Many nodes and many scripted messages: a small national exercise over three workers.
TEST(ExerciseWorkers, ASmallNationalExerciseOverThreeWorkersMatchesOneProcess) {
  icegate::testing::TemporaryDirectory dir;
  NationalParameters sizes;
  sizes.forces = 3;
  sizes.regions = 2;
  sizes.councils = 4;
  sizes.neighbourhoods = 20;
  sizes.arrests = 2;
  const auto generated = generate_national(sizes);
  write_national(generated, dir.path(), source_file("policies/schemes/gpms-2008.yaml"));
  const auto scenario = load_scenario(dir.path() / "national.yaml");
  const RunResult alone = run_exercise(scenario, {});
  const std::size_t per_worker = (generated.nodes + 2) / 3;
  const RunResult spread = run_exercise(scenario, in_workers(per_worker));
  EXPECT_EQ(spread.worker_processes, 3u);
  EXPECT_TRUE(spread.all_met());
  EXPECT_EQ(to_json(spread), to_json(alone));
}

// A worker program that is not there: the run says so, and starts nothing.
TEST(ExerciseWorkers, AMissingWorkerProgramIsAnError) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("spread.yaml", scenario_text));
  RunOptions options = in_workers(2);
  options.worker_program = dir / "no-such-icegate";
  try {
    run_exercise(scenario, options);
    FAIL() << "expected RunError";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-icegate"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace icegate::exercise

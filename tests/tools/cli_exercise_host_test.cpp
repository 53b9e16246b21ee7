// `icegate exercise host` through run_exercise_host: it prints the links, and
// q at the terminal finishes the exercise: the reports are written and the
// exit code is exercise run's.
#include <filesystem>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/temporary_directory.hpp"
#include "tools/icegate/cmd_host.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {
namespace {

using ::testing::HasSubstr;

TEST(CliExerciseHost, QAtTheTerminalFinishesAndWritesTheReports) {
  icegate::testing::TemporaryDirectory dir;
  ExerciseHostParams params;
  params.scenario = std::filesystem::path(ICEGATE_SOURCE_DIR) / "scenarios/operation-nicole.yaml";
  params.play = "council-chief-exec,npt-officer";
  params.http = "127.0.0.1:0";
  params.out = dir / "reports";
  params.evaluators = 2;
  params.linger_seconds = 0;
  std::istringstream in("q\n");
  std::ostringstream out, err;
  const int code = run_exercise_host(params, in, out, err);
  // Stopped at the start, Operation Nicole's expectations are not met.
  EXPECT_EQ(code, exit_denied) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("paused at the start"));
  EXPECT_THAT(out.str(), ::testing::ContainsRegex("facilitator: http://127\\.0\\.0\\.1:[0-9]+/f/[0-9a-f]{64}/"));
  EXPECT_THAT(out.str(), ::testing::ContainsRegex("seat council-chief-exec: http://127\\.0\\.0\\.1:[0-9]+/s/[0-9a-f]{64}/"));
  EXPECT_THAT(out.str(), ::testing::ContainsRegex("evaluator [^:]+: http://127\\.0\\.0\\.1:[0-9]+/e/[0-9a-f]{64}/"));
  EXPECT_THAT(out.str(), ::testing::Not(HasSubstr("HTTPS"))) << "plain HTTP on loopback unless --https";
  for (const char* name : {"operation-nicole.need-to-share.html", "operation-nicole.need-to-share.json",
                           "operation-nicole.need-to-share.bundle.json"})
    EXPECT_TRUE(std::filesystem::exists(params.out / name)) << name;
}

TEST(CliExerciseHost, AnAddressNobodyCanTypeIsRefusedBeforeAnythingStarts) {
  icegate::testing::TemporaryDirectory dir;
  ExerciseHostParams params;
  params.scenario = std::filesystem::path(ICEGATE_SOURCE_DIR) / "scenarios/operation-nicole.yaml";
  params.http = "0.0.0.0:0";
  params.out = dir / "reports";
  std::istringstream in;
  std::ostringstream out, err;
  EXPECT_EQ(run_exercise_host(params, in, out, err), exit_error);
  EXPECT_THAT(err.str(), HasSubstr("--http-name"));
  EXPECT_FALSE(std::filesystem::exists(params.out));
}

}  // namespace
}  // namespace icegate::cli

// `icegate exercise host` through run_exercise_host: it prints the links, and
// q at the terminal finishes the exercise: the reports are written and the
// exit code is exercise run's.
#include <chrono>
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
  std::istringstream in("q\n");
  std::ostringstream out, err;
  const auto started = std::chrono::steady_clock::now();
  const int code = run_exercise_host(params, in, out, err);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(60))
      << "ended at the terminal, it does not linger for the page (--linger " << params.linger_seconds << ")";
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

TEST(CliExerciseHost, ACertificateNameThatCannotBeIsRefusedBeforeAnythingStarts) {
  icegate::testing::TemporaryDirectory dir;
  ExerciseHostParams params;
  params.scenario = std::filesystem::path(ICEGATE_SOURCE_DIR) / "scenarios/operation-nicole.yaml";
  params.http = "127.0.0.1:0";
  params.https = true;
  params.http_names = {"not a name!"};
  params.out = dir / "reports";
  std::istringstream in;
  std::ostringstream out, err;
  EXPECT_EQ(run_exercise_host(params, in, out, err), exit_error);
  EXPECT_THAT(err.str(), HasSubstr("not a name!"));
  EXPECT_THAT(out.str(), ::testing::Not(HasSubstr("facilitator:")));
}

// A scenario across several gateways is hosted across them all (it was
// refused); --compare there needs --gateway, as for `exercise run`.
TEST(CliExerciseHost, AScenarioAcrossGatewaysIsHostedAcrossThemAll) {
  icegate::testing::TemporaryDirectory dir;
  ExerciseHostParams params;
  params.scenario = std::filesystem::path(ICEGATE_SOURCE_DIR) / "scenarios/west-midlands-federation.yaml";
  params.play = "wm-ctu-analyst-1,bcc-prevent-coordinator";
  params.http = "127.0.0.1:0";
  params.out = dir / "reports";
  std::istringstream in("q\n");
  std::ostringstream out, err;
  // Stopped at the start, the federation's expectations are not met.
  EXPECT_EQ(run_exercise_host(params, in, out, err), exit_denied) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("(1 table, across 3 gateways), paused at the start"));
  EXPECT_THAT(out.str(), ::testing::ContainsRegex("seat bcc-prevent-coordinator: http://127\\.0\\.0\\.1:[0-9]+/s/"));
  EXPECT_TRUE(std::filesystem::exists(params.out / "west-midlands-federation.wm-ctu+birmingham-cc+staffordshire.html"));

  params.compare = std::filesystem::path(ICEGATE_SOURCE_DIR) / "policies/federation/birmingham-cc.yaml";
  std::istringstream none;
  out.str("");
  err.str("");
  EXPECT_EQ(run_exercise_host(params, none, out, err), exit_error);
  EXPECT_THAT(err.str(), HasSubstr("--compare needs --gateway to name the one whose policy it replaces"));
  EXPECT_THAT(err.str(), HasSubstr("gw-wm-ctu, gw-birmingham, gw-staffordshire"));
  EXPECT_THAT(out.str(), ::testing::Not(HasSubstr("facilitator:")));
}

}  // namespace
}  // namespace icegate::cli

// `icegate exercise` through its run_* functions: exit codes, the files it
// writes, and what it leaves running when it returns.
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>
#include <map>
#include <sstream>
#include <streambuf>
#include <thread>

#include <gtest/gtest.h>

#include "clients/exercise/bundle.hpp"
#include "clients/exercise/report.hpp"
#include "tests/clients/exercise/sample_run.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tools/icegate/cmd_exercise.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {
namespace {

using icegate::testing::TemporaryDirectory;

std::filesystem::path source(const std::string& relative) { return std::filesystem::path(ICEGATE_SOURCE_DIR) / relative; }

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A scenario directory (`sub` inside a temporary one) holding the handling
// test policy and its scheme, and a small scenario with one objective.
class ExerciseDir {
 public:
  explicit ExerciseDir(const std::string& sub = "drill") : dir_(temporary_ / sub) {
    std::filesystem::create_directories(dir_ / "policies/schemes");
    std::filesystem::copy_file(source("policies/schemes/gpms-2008.yaml"), dir_ / "policies/schemes/gpms-2008.yaml");
    std::string policy = read(source("tests/data/handling-policy.yaml"));
    policy.replace(policy.find("../../policies/schemes/"), std::string("../../policies/schemes/").size(), "schemes/");
    write("policies/handling.yaml", policy);
    // The same policy with the heads of service refused problem profiles.
    std::string strict = policy;
    const auto at = strict.find("  - id: profile-to-heads");
    strict.replace(strict.find("effect: permit", at), 14, "effect: deny  ");
    strict.erase(strict.find("    handling: {review_by: [critical-reader]}", at),
                 std::string("    handling: {review_by: [critical-reader]}\n").size());
    strict.replace(strict.find("policy: handling-test"), 21, "policy: handling-strict");
    write("policies/strict.yaml", strict);
    write("small.yaml", R"(exercise: small
title: A small exercise
policy: policies/handling.yaml
t0: 2026-11-21T06:00:00Z
start: T-4h
end: T+4h
objectives:
  - {id: O1, text: The heads of service see the partner version of the profile}
injects:
  - id: I1
    at: T-3h
    from: analyst
    objective: O1
    message:
      title: Problem profile
      to: [list:heads]
      category: ct-problem-profile
      purpose: prevent
      portions:
        - {label: "SECRET/UK EYES ONLY", body: secret detail}
        - {label: RESTRICTED, body: partner version}
responses:
  - id: R1
    node: reader
    on: {review_request: any}
    after: 1h
    review: approve
expectations:
  - id: E1
    objective: O1
    receives: {node: housing, inject: I1, version: redacted}
)");
  }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return dir_ / name;
  }
  std::filesystem::path operator/(const std::string& name) const { return dir_ / name; }

 private:
  TemporaryDirectory temporary_;
  std::filesystem::path dir_;
};

ExerciseRunParams quiet_run(const std::filesystem::path& scenario) {
  ExerciseRunParams params;
  params.scenario = scenario;
  params.quiet = true;
  return params;
}

// `exercise run --http` across several gateways: a dashboard for each, at
// ports of its own, each named by its gateway (before, only the first
// gateway's was served). Port 0: the system's choice for each.
TEST(CliExercise, ARunAcrossGatewaysServesADashboardForEachGateway) {
  TemporaryDirectory out_dir;
  ExerciseRunParams params = quiet_run(source("scenarios/west-midlands-federation.yaml"));
  params.http = "127.0.0.1:0";
  params.speed = 1'000'000;
  params.out = out_dir.path();
  std::istringstream in;
  std::ostringstream out, err;
  ASSERT_EQ(run_exercise_run(params, in, out, err), 0) << err.str() << out.str();
  std::map<std::string, std::string> urls;  // gateway -> URL
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("dashboard ")) continue;
    const auto colon = line.find(": ");
    ASSERT_NE(colon, std::string::npos) << line;
    urls[line.substr(10, colon - 10)] = line.substr(colon + 2);
  }
  ASSERT_EQ(urls.size(), 3u) << out.str();
  EXPECT_TRUE(urls.contains("gw-wm-ctu")) << out.str();
  EXPECT_TRUE(urls.contains("gw-birmingham")) << out.str();
  EXPECT_TRUE(urls.contains("gw-staffordshire")) << out.str();
  std::set<std::string> distinct;
  for (const auto& [gateway, url] : urls) distinct.insert(url);
  EXPECT_EQ(distinct.size(), 3u) << "each gateway's dashboard at its own address";
}

TEST(CliExercise, AnInvalidPolicyExitsThreeOtherErrorsOne) {
  ExerciseDir dir;
  std::string policy = read(dir / "policies/handling.yaml");
  policy.replace(policy.find("combining: deny-overrides"), 25, "combining: nonsense-wins");
  dir.write("policies/broken.yaml", policy);
  auto params = quiet_run(dir / "small.yaml");
  params.policy = dir / "policies/broken.yaml";
  std::istringstream in;
  std::ostringstream out, err;
  EXPECT_EQ(run_exercise_run(params, in, out, err), exit_invalid_policy) << err.str();
}

// The exit code comes from what went wrong, not from the words of the message:
// a scenario whose path happens to contain "is invalid" and names a node the
// policy lacks is a scenario error (1), not an invalid policy (3).
TEST(CliExercise, AScenarioErrorIsNotMistakenForAnInvalidPolicy) {
  ExerciseDir dir("this is invalid");
  std::string text = read(dir / "small.yaml");
  text.replace(text.find("    from: analyst"), 17, "    from: nobody");
  dir.write("small.yaml", text);
  std::istringstream in;
  std::ostringstream out, err;
  EXPECT_EQ(run_exercise_run(quiet_run(dir / "small.yaml"), in, out, err), exit_error) << err.str();
  EXPECT_NE(err.str().find("'nobody' is not a node"), std::string::npos) << err.str();
}

TEST(CliExercise, GenerateNationalNeedsNoSourceTree) {
  TemporaryDirectory dir;
  NationalParams params;  // no scheme given: the one built into icegate
  params.dir = dir / "national";
  params.sizes = {2, 1, 2, 4, 1};
  std::ostringstream out, err;
  ASSERT_EQ(run_exercise_generate_national(params, out, err), exit_ok) << err.str();
  EXPECT_EQ(read(dir / "national/schemes/gpms-2008.yaml"), read(source("policies/schemes/gpms-2008.yaml")));
}

TEST(CliExercise, AReportFromABundleKeepsTheObjectives) {
  ExerciseDir dir;
  auto params = quiet_run(dir / "small.yaml");
  params.bundle = dir / "out/small.bundle.json";
  std::istringstream in;
  std::ostringstream out, err;
  ASSERT_EQ(run_exercise_run(params, in, out, err), exit_ok) << err.str();
  ExerciseReportParams report;
  report.bundle = params.bundle;
  report.html = dir / "out/again.html";
  ASSERT_EQ(run_exercise_report(report, out, err), exit_ok) << err.str();
  const std::string html = read(report.html);
  EXPECT_NE(html.find("The heads of service see the partner version of the profile"), std::string::npos);
}

// Two tables played by people: `exercise report BUNDLE` writes again, byte
// for byte, the pages and the JSON of what they did.
TEST(CliExercise, AReportFromABundleOfPlayedTablesIsTheSameAgain) {
  ExerciseDir dir;
  const exercise::Comparison played = exercise::testing::sample_played_comparison();
  const auto bundle = dir / "played.bundle.json";
  exercise::write_bundle(bundle, dir / "small.yaml", {dir / "policies/handling.yaml", dir / "policies/strict.yaml"},
                         {played.first, played.second});
  ExerciseReportParams report;
  report.bundle = bundle;
  report.html = dir / "again.html";
  report.json = dir / "again.json";
  std::ostringstream out, err;
  ASSERT_EQ(run_exercise_report(report, out, err), exit_ok) << err.str();
  const exercise::Scenario scenario = exercise::load_scenario(dir / "small.yaml");
  EXPECT_EQ(read(report.html), exercise::to_html(played, &scenario));
  EXPECT_EQ(read(report.json), exercise::to_json(played));
  EXPECT_NE(read(report.html).find("<section id=\"human-actions\">"), std::string::npos);

  // One table alone.
  exercise::write_bundle(bundle, dir / "small.yaml", {dir / "policies/handling.yaml"}, {played.first});
  ASSERT_EQ(run_exercise_report(report, out, err), exit_ok) << err.str();
  EXPECT_EQ(read(report.html), exercise::to_html(played.first, &scenario));
  EXPECT_EQ(read(report.json), exercise::to_json(played.first));
}

// Two tables that played one after the other, a bundle each: one comparison,
// the same as if they had played side by side.
TEST(CliExercise, TwoBundlesPlayedOneAfterTheOtherCompare) {
  ExerciseDir dir;
  const exercise::Comparison played = exercise::testing::sample_played_comparison();
  const auto first = dir / "first.bundle.json";
  const auto second = dir / "second.bundle.json";
  exercise::write_bundle(first, dir / "small.yaml", {dir / "policies/handling.yaml"}, {played.first});
  exercise::write_bundle(second, dir / "small.yaml", {dir / "policies/strict.yaml"}, {played.second});
  ExerciseReportParams report;
  report.bundle = first;
  report.compare = second;
  report.html = dir / "compared.html";
  report.json = dir / "compared.json";
  std::ostringstream out, err;
  ASSERT_EQ(run_exercise_report(report, out, err), exit_ok) << err.str();
  const exercise::Scenario scenario = exercise::load_scenario(dir / "small.yaml");
  EXPECT_EQ(read(report.html), exercise::to_html(played, &scenario));
  EXPECT_EQ(read(report.json), exercise::to_json(played));

  // Not two scenarios, and not a bundle that is already a comparison.
  exercise::RunResult other = played.second;
  other.scenario = "another-scenario";
  exercise::write_bundle(second, dir / "small.yaml", {dir / "policies/strict.yaml"}, {other});
  std::ostringstream err2;
  EXPECT_EQ(run_exercise_report(report, out, err2), exit_error);
  EXPECT_NE(err2.str().find("only one scenario compares"), std::string::npos) << err2.str();
  exercise::write_bundle(first, dir / "small.yaml", {dir / "policies/handling.yaml", dir / "policies/strict.yaml"},
                         {played.first, played.second});
  std::ostringstream err3;
  EXPECT_EQ(run_exercise_report(report, out, err3), exit_error);
  EXPECT_NE(err3.str().find("already holds 2 results"), std::string::npos) << err3.str();
}

// A comparison has two runs, and so two sequence diagrams: one file each.
TEST(CliExercise, AComparisonWritesASequenceDiagramPerPolicy) {
  ExerciseDir dir;
  auto params = quiet_run(dir / "small.yaml");
  params.compare = dir / "policies/strict.yaml";
  params.out = dir / "out";
  std::istringstream in;
  std::ostringstream out, err;
  EXPECT_EQ(run_exercise_run(params, in, out, err), exit_denied) << err.str();
  const auto first = dir / "out/small.compare.handling-test.mmd";
  const auto second = dir / "out/small.compare.handling-strict.mmd";
  ASSERT_TRUE(std::filesystem::exists(first)) << out.str();
  ASSERT_TRUE(std::filesystem::exists(second)) << out.str();
  EXPECT_NE(read(first), read(second)) << "the strict policy refuses the heads of service";
  EXPECT_FALSE(std::filesystem::exists(dir / "out/small.compare.mmd"));
}

// A bundle is untrusted: a policy name from it cannot steer a diagram out of
// the directory asked for.
TEST(CliExercise, PolicyNamesFromABundleStayInTheirDirectory) {
  ExerciseDir dir;
  auto params = quiet_run(dir / "small.yaml");
  params.compare = dir / "policies/strict.yaml";
  params.bundle = dir / "out/small.bundle.json";
  std::istringstream in;
  std::ostringstream out, err;
  ASSERT_EQ(run_exercise_run(params, in, out, err), exit_denied) << err.str();
  std::string bundle = read(params.bundle);
  const std::string name = "\"policy_name\": \"handling-strict\"";
  ASSERT_NE(bundle.find(name), std::string::npos);
  for (auto at = bundle.find(name); at != std::string::npos; at = bundle.find(name, at))
    bundle.replace(at, name.size(), "\"policy_name\": \"x/../../../escaped\"");
  dir.write("out/tampered.bundle.json", bundle);
  ExerciseReportParams report;
  report.bundle = dir / "out/tampered.bundle.json";
  report.mermaid = dir / "out/diagrams/d.mmd";
  ASSERT_EQ(run_exercise_report(report, out, err), exit_ok) << err.str();
  EXPECT_TRUE(std::filesystem::exists(dir / "out/diagrams/d.x_.._.._.._escaped.mmd")) << out.str();
  EXPECT_FALSE(std::filesystem::exists(dir / "escaped.mmd")) << "written outside out/diagrams";
}

// Input that never comes (a terminal nobody types at): a reader blocked in
// underflow() until released, that says no input is waiting.
class SilentTerminal : public std::streambuf {
 public:
  int readers_blocked() {
    std::lock_guard lock(mutex_);
    return blocked_;
  }
  void hang_up() {
    std::lock_guard lock(mutex_);
    hung_up_ = true;
    changed_.notify_all();
  }

 protected:
  std::streamsize showmanyc() override { return 0; }
  int_type underflow() override {
    std::unique_lock lock(mutex_);
    ++blocked_;
    changed_.wait(lock, [this] { return hung_up_; });
    --blocked_;
    return traits_type::eof();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int blocked_ = 0;
  bool hung_up_ = false;
};

// The keyboard reader of a real-time run must not outlive the run: it uses
// the run's controls, which are gone once run_exercise_run returns.
TEST(CliExercise, TheKeyboardReaderEndsWithTheRun) {
  ExerciseDir dir;
  auto params = quiet_run(dir / "small.yaml");
  params.real_time = true;
  params.speed = 100'000;
  SilentTerminal terminal;
  std::istream in(&terminal);
  std::ostringstream out, err;
  EXPECT_EQ(run_exercise_run(params, in, out, err), exit_ok) << err.str();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(terminal.readers_blocked(), 0) << "a reader still waits on the terminal after the run";
  terminal.hang_up();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

// What is typed still reaches the run.
TEST(CliExercise, TypedCommandsStillControlARealTimeRun) {
  ExerciseDir dir;
  auto params = quiet_run(dir / "small.yaml");
  params.real_time = true;
  params.speed = 1;  // eight scenario hours would take eight real ones
  std::istringstream in("q\n");
  std::ostringstream out, err;
  const auto started = std::chrono::steady_clock::now();
  run_exercise_run(params, in, out, err);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30)) << "q did not stop the run";
}

}  // namespace
}  // namespace icegate::cli

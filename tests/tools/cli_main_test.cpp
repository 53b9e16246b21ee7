// The `icegate` executable's own argument handling (tools/icegate/main.cpp),
// run as a child process: every argument error exits 1 with a message on
// standard error, and --help and --version exit 0 (README, "CLI reference").
// CLI11's own exit codes (105 for a failed check, 109 for an unknown option,
// ...) are not part of icegate's contract.
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/child_process.hpp"
#include "tests/support/temporary_directory.hpp"

namespace {

using icegate::testing::ChildRun;
using icegate::testing::run_child;
using icegate::testing::TemporaryDirectory;
using ::testing::HasSubstr;

// Runs the icegate binary with `arguments`.
ChildRun run_icegate(const std::vector<std::string>& arguments) {
  std::vector<std::string> argv{ICEGATE_BINARY};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  return run_child(argv);
}

TEST(CliMain, AFailedOptionCheckExits1WithAMessage) {
  const ChildRun run = run_icegate({"pki", "issue", "P", "x", "--days", "0"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_THAT(run.err, HasSubstr("--days"));
  EXPECT_TRUE(run.out.empty()) << run.out;
}

TEST(CliMain, AnUnknownOptionExits1WithAMessage) {
  const ChildRun run = run_icegate({"serve", "--policy", ICEGATE_SOURCE_DIR "/policies/demo.yaml", "--pki",
                                    ICEGATE_SOURCE_DIR "/policies", "--bogus"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_THAT(run.err, HasSubstr("--bogus"));
  // CLI11 checks required options before unknown ones.
  const ChildRun alone = run_icegate({"serve", "--bogus"});
  EXPECT_EQ(alone.exit_code, 1) << alone.err;
  EXPECT_THAT(alone.err, HasSubstr("--policy is required"));
}

TEST(CliMain, MissingArgumentsAndUnknownSubcommandsExit1) {
  for (const std::vector<std::string>& arguments : std::vector<std::vector<std::string>>{
           {},                                   // no subcommand
           {"frobnicate"},                       // an unknown one
           {"policy", "check"},                  // a required positional missing
           {"pki", "issue", "P", "x", "--days"},  // an option without its value
           {"audit", "query", "D", "--format", "xml"},
           {"policy", "check", "a.yaml", "b.yaml"},  // one argument too many
       }) {
    const ChildRun run = run_icegate(arguments);
    std::string joined;
    for (const std::string& argument : arguments) joined += " " + argument;
    EXPECT_EQ(run.exit_code, 1) << "icegate" << joined << "\n" << run.err;
    EXPECT_FALSE(run.err.empty()) << "icegate" << joined;
  }
}

TEST(CliMain, HelpAndVersionExit0) {
  const ChildRun help = run_icegate({"--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_THAT(help.out, HasSubstr("policy"));
  const ChildRun subcommand_help = run_icegate({"pki", "issue", "--help"});
  EXPECT_EQ(subcommand_help.exit_code, 0) << subcommand_help.err;
  EXPECT_THAT(subcommand_help.out, HasSubstr("--days"));
  const ChildRun version = run_icegate({"--version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_THAT(version.out, HasSubstr("icegate "));
}

TEST(CliMain, ExerciseHostHelpAndItsArgumentErrors) {
  const ChildRun help = run_icegate({"exercise", "host", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  for (const char* option : {"--policy", "--compare", "--play", "--http", "--http-name", "--https", "--speed", "--out",
                             "--evaluators"})
    EXPECT_THAT(help.out, HasSubstr(option));
  const std::string nicole = ICEGATE_SOURCE_DIR "/scenarios/operation-nicole.yaml";
  struct Case {
    std::vector<std::string> arguments;
    int exit_code;
    std::string says;
  };
  TemporaryDirectory dir;
  { std::ofstream(dir / "bad.yaml") << "exercise: bad\nstart: T-1h\nend: whenever\n"; }
  { std::ofstream(dir / "broken-policy.yaml") << "policy: [\n"; }
  for (const Case& c : std::vector<Case>{
           {{"exercise", "host"}, 1, "scenario is required"},
           {{"exercise", "host", nicole, "--bogus"}, 1, "--bogus"},
           {{"exercise", "host", nicole, "--evaluators", "-1"}, 1, "--evaluators"},
           {{"exercise", "host", nicole, "--play", "all", "--http", "nowhere"}, 1, "--http"},
           {{"exercise", "host", nicole, "--play", "all", "--speed", "0"}, 1, "--speed"},
           {{"exercise", "host", nicole, "--play", "council-chief-exec,nobody"}, 1, "--play: policy"},
           {{"exercise", "host", (dir / "bad.yaml").string(), "--play", "all"}, 1, (dir / "bad.yaml").string() + ":"},
           {{"exercise", "host", nicole, "--play", "all", "--policy", (dir / "broken-policy.yaml").string()}, 3,
            "is invalid"},
       }) {
    const ChildRun run = run_icegate(c.arguments);
    std::string joined;
    for (const std::string& argument : c.arguments) joined += " " + argument;
    EXPECT_EQ(run.exit_code, c.exit_code) << "icegate" << joined << "\n" << run.err;
    EXPECT_THAT(run.err, HasSubstr(c.says)) << "icegate" << joined;
    EXPECT_THAT(run.out, ::testing::Not(HasSubstr("facilitator:"))) << "nothing started: icegate" << joined;
  }
}

}  // namespace

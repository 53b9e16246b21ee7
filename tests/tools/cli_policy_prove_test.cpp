// `icegate policy prove` through run_policy_prove, asserting output and exit
// codes; its JSON read back with the dashboard's JSON reader; and every
// counterexample it prints run through the real `icegate` binary's `policy
// explain`, both from its argument list and as the shell command printed, to
// check that explain decides it as the counterexample says.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/http/json_body.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tools/icegate/cmd_policy_analysis.hpp"
#include "tools/icegate/cmd_policy_prove.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {
namespace {

namespace fs = std::filesystem;
using icegate::testing::ChildRun;
using icegate::testing::run_child;
using icegate::testing::TemporaryDirectory;
using icegate::testing::write_file;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const fs::path kPolicies = fs::path(ICEGATE_SOURCE_DIR) / "policies";
const fs::path kNeedToKnow = kPolicies / "need-to-know.yaml";
const fs::path kNeedToShare = kPolicies / "need-to-share.yaml";

const http::JsonValue& member(const http::JsonValue& object, std::string_view key) {
  static const http::JsonValue null;
  const http::JsonValue* value = object.find(key);
  EXPECT_NE(value, nullptr) << key;
  return value ? *value : null;
}

// Properties that fail under need-to-know: the issue's own examples.
std::string failing_properties() {
  return R"(properties:
  - name: every referral from a school reaches the council Prevent lead
    always_released:
      from: {organisation_kinds: [school]}
      to: {roles: [prevent-coordinator]}
      categories: [referral]
      purposes: [safeguarding, prevent]
      max_classification: RESTRICTED
  - name: nothing at all reaches a council node
    never_released: {to: {organisation_kinds: [council]}}
  - name: need to know releases at least what need to share does
    implies: {policy: )" +
         kNeedToShare.string() + R"(}
  - name: UK EYES ONLY stays with those who hold it
    confined: {category: UK EYES ONLY}
)";
}

class CliPolicyProveTest : public ::testing::Test {
 protected:
  std::ostringstream out_, err_;
  TemporaryDirectory dir_;
};

TEST_F(CliPolicyProveTest, TheShippedPoliciesProveWithTheirOwnProperties) {
  for (const char* name : {"demo.yaml", "need-to-know.yaml", "need-to-share.yaml"}) {
    SCOPED_TRACE(name);
    std::ostringstream out, err;
    PolicyProveParams params{kPolicies / name};
    EXPECT_EQ(run_policy_prove(params, out, err), exit_ok) << out.str() << err.str();
    EXPECT_THAT(out.str(), StartsWith("policy prove: " + (kPolicies / name).string() + ", properties " +
                                      (kPolicies / "tests").string()));
    EXPECT_THAT(out.str(), HasSubstr("(every valid label: "));
    EXPECT_THAT(out.str(), Not(HasSubstr("FAILS")));
    EXPECT_THAT(out.str(), HasSubstr(" hold, 0 fail, 0 not proved\n"));
    EXPECT_TRUE(err.str().empty()) << err.str();
  }
}

TEST_F(CliPolicyProveTest, FailuresExitTwoWithCounterexamplesTheRealExplainAgreesWith) {
  write_file(dir_ / "nk.properties.yaml", failing_properties());
  PolicyProveParams params{kNeedToKnow, dir_ / "nk.properties.yaml", true};
  ASSERT_EQ(run_policy_prove(params, out_, err_), exit_denied) << out_.str() << err_.str();
  const http::JsonValueResult parsed = http::parse_json(out_.str());
  ASSERT_TRUE(parsed.ok()) << parsed.error << "\n" << out_.str();
  const http::JsonValue& root = parsed.value;
  EXPECT_FALSE(member(root, "all_hold").boolean);
  EXPECT_TRUE(member(member(root, "space"), "labels_complete").boolean);
  const http::JsonValue& results = member(root, "results");
  ASSERT_EQ(results.array.size(), 4u);
  EXPECT_EQ(member(results.array[0], "status").string, "fails");
  EXPECT_EQ(member(results.array[1], "status").string, "fails");
  EXPECT_EQ(member(results.array[2], "status").string, "fails");
  EXPECT_EQ(member(results.array[3], "status").string, "holds");
  EXPECT_TRUE(member(results.array[3], "counterexample").is_null());

  std::size_t explained = 0;
  for (const http::JsonValue& result : results.array) {
    const http::JsonValue& counterexample = member(result, "counterexample");
    if (counterexample.is_null()) continue;
    std::vector<const http::JsonValue*> sides{&member(counterexample, "decided")};
    if (const http::JsonValue* other = counterexample.find("other")) sides.push_back(other);
    for (const http::JsonValue* side : sides) {
      SCOPED_TRACE(member(result, "name").string + ": " + member(*side, "explain").string);
      EXPECT_TRUE(member(*side, "explain_agrees").boolean);
      const std::string decision = member(*side, "decision").string;
      // The argument list, to the binary.
      std::vector<std::string> argv{ICEGATE_BINARY};
      for (const http::JsonValue& argument : member(*side, "explain_arguments").array) argv.push_back(argument.string);
      argv.push_back("--json");
      const ChildRun run = run_child(argv);
      EXPECT_EQ(run.exit_code, decision == "DENY" ? exit_denied : exit_ok) << run.err;
      const http::JsonValueResult trace = http::parse_json(run.out, 64);
      ASSERT_TRUE(trace.ok()) << trace.error << "\n" << run.out;
      EXPECT_EQ(member(trace.value, "decision").string, decision);
      EXPECT_TRUE(member(trace.value, "agrees_with_engine").boolean);
      const http::JsonValue& portions = member(trace.value, "portions");
      ASSERT_EQ(portions.array.size(), 1u);
      const http::JsonValue& rule = member(member(portions.array[0], "outcome"), "rule");
      EXPECT_EQ(rule.is_null() ? "" : rule.string, member(*side, "rule").string);
      // The command line as printed, to a shell in which `icegate` is the binary.
      const ChildRun quoted = run_child({"/usr/bin/env", std::string("ICEGATE=") + ICEGATE_BINARY, "/bin/sh", "-c",
                                         "icegate() { \"$ICEGATE\" \"$@\"; }; " + member(*side, "explain").string});
      EXPECT_EQ(quoted.exit_code, decision == "DENY" ? exit_denied : exit_ok) << quoted.err;
      EXPECT_THAT(quoted.out, HasSubstr("decision: " + decision)) << quoted.out;
      ++explained;
    }
  }
  EXPECT_EQ(explained, 4u);  // three failures, the implication with two sides
  EXPECT_TRUE(err_.str().empty()) << err_.str();
}

TEST_F(CliPolicyProveTest, TheTextReportNamesEachFailureAndItsCommand) {
  write_file(dir_ / "nk.properties.yaml", failing_properties());
  PolicyProveParams params{kNeedToKnow, dir_ / "nk.properties.yaml"};
  ASSERT_EQ(run_policy_prove(params, out_, err_), exit_denied) << err_.str();
  const std::string text = out_.str();
  EXPECT_THAT(text, HasSubstr("FAILS       every referral from a school reaches the council Prevent lead (always_released, " +
                              (dir_ / "nk.properties.yaml").string() + ":2:5)"));
  EXPECT_THAT(text, HasSubstr("            counterexample: school-dsl -> council-prevent, referral for "));
  EXPECT_THAT(text, HasSubstr("DENY (default deny): no rule permits referral for "));
  EXPECT_THAT(text, HasSubstr("icegate policy explain " + kNeedToKnow.string() +
                              " --from school-dsl --to council-prevent --category referral --purpose "));
  EXPECT_THAT(text, HasSubstr("              under " + kNeedToShare.string() + ": "));
  EXPECT_THAT(text, HasSubstr("HOLDS       UK EYES ONLY stays with those who hold it"));
  EXPECT_THAT(text, HasSubstr("4 properties: 1 holds, 3 fail, 0 not proved\n"));
}

TEST_F(CliPolicyProveTest, BadInputExitsOneAndAnInvalidPolicyThree) {
  // No policy.
  EXPECT_EQ(run_policy_prove(PolicyProveParams{}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("a policy file is required"));
  // A policy file that is not there.
  err_.str("");
  EXPECT_EQ(run_policy_prove(PolicyProveParams{dir_ / "missing.yaml"}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("cannot read policy file"));
  // An invalid policy.
  err_.str("");
  write_file(dir_ / "broken.yaml", "policy: broken\nscheme: " + (kPolicies / "schemes/gpms-2008.yaml").string() +
                                  "\nnodes:\n  - {id: a, organisation: nowhere, role: r, vetting: v}\n");
  EXPECT_EQ(run_policy_prove(PolicyProveParams{dir_ / "broken.yaml", dir_ / "x.yaml"}, out_, err_),
            exit_invalid_policy);
  EXPECT_THAT(err_.str(), HasSubstr("error[P011]: undefined organisation 'nowhere'"));
  // No properties beside a policy: the default path is named.
  err_.str("");
  fs::copy_file(kPolicies / "demo.yaml", dir_ / "demo.yaml");
  fs::create_directories(dir_ / "schemes");
  fs::copy_file(kPolicies / "schemes/gpms-2008.yaml", dir_ / "schemes/gpms-2008.yaml");
  EXPECT_EQ(run_policy_prove(PolicyProveParams{dir_ / "demo.yaml"}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("cannot read properties file " + (dir_ / "tests/demo.properties.yaml").string() +
                                    " (the default for this policy; give --properties FILE)"));
  // Properties with errors: every one, located, on stderr.
  err_.str("");
  write_file(dir_ / "bad.yaml", "properties:\n  - name: x\n    never_released: {to: {nodes: [nobody]}, colour: red}\n");
  EXPECT_EQ(run_policy_prove(PolicyProveParams{kNeedToKnow, dir_ / "bad.yaml"}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr((dir_ / "bad.yaml").string() + ":3:35: error[V011]: undefined node 'nobody'"));
  EXPECT_THAT(err_.str(), HasSubstr((dir_ / "bad.yaml").string() + ":3:45: error[V002]: unknown key 'colour'"));
  EXPECT_THAT(err_.str(), HasSubstr("properties not proved (2 errors)"));
  EXPECT_TRUE(out_.str().empty()) << out_.str();
  // The same as JSON on stdout too.
  std::ostringstream json;
  err_.str("");
  EXPECT_EQ(run_policy_prove(PolicyProveParams{kNeedToKnow, dir_ / "bad.yaml", true}, json, err_), exit_error);
  const http::JsonValueResult parsed = http::parse_json(json.str());
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  EXPECT_EQ(member(parsed.value, "diagnostics").array.size(), 2u);
  // An `implies` naming an invalid policy: that policy's errors, and exit 3.
  err_.str("");
  write_file(dir_ / "implies.yaml", "properties:\n  - name: x\n    implies: {policy: broken.yaml}\n");
  EXPECT_EQ(run_policy_prove(PolicyProveParams{kNeedToKnow, dir_ / "implies.yaml"}, out_, err_),
            exit_invalid_policy);
  EXPECT_THAT(err_.str(), HasSubstr("error[P011]: undefined organisation 'nowhere'"));
  EXPECT_THAT(err_.str(), HasSubstr("error[V016]: policy " + (dir_ / "broken.yaml").string() + " is invalid"));
  // A slice that selects nothing.
  out_.str("");
  err_.str("");
  write_file(dir_ / "empty.yaml",
        "properties:\n  - name: x\n    always_released: {from: {nodes: [ctu-sio]}, to: {nodes: [ctu-sio]}}\n");
  EXPECT_EQ(run_policy_prove(PolicyProveParams{kNeedToKnow, dir_ / "empty.yaml"}, out_, err_), exit_error);
  EXPECT_THAT(out_.str(), HasSubstr("error[V014]: property 'x' selects no point"));
}

// ---- The declaration ----------------------------------------------------------------

int parse(std::vector<std::string> arguments) {
  CLI::App app;
  int exit_code = -1;
  CLI::App* policy = app.add_subcommand("policy");
  add_policy_analysis_commands(*policy, exit_code);
  std::reverse(arguments.begin(), arguments.end());  // CLI11 takes them reversed
  app.parse(arguments);
  return exit_code;
}

TEST(CliPolicyProveParseTest, TheCommandLineReachesTheRunFunction) {
  TemporaryDirectory dir;
  write_file(dir / "nk.properties.yaml", failing_properties());
  EXPECT_EQ(parse({"policy", "prove", kNeedToShare.string()}), exit_ok);
  EXPECT_EQ(parse({"policy", "prove", kNeedToKnow.string(), "--properties", (dir / "nk.properties.yaml").string(),
                   "--json"}),
            exit_denied);
  EXPECT_THROW(parse({"policy", "prove"}), CLI::RequiredError);
}

// A policy with peers proves as one without: the properties range over its
// own nodes, and its peers change nothing they say.
TEST_F(CliPolicyProveTest, APolicyWithPeersProves) {
  write_file(dir_ / "staffordshire.properties.yaml", R"(properties:
  - name: neighbourhood policing never sees SECRET
    never_released:
      to: {roles: [staffs-npt-inspector]}
      min_classification: SECRET
  - name: UK EYES ONLY stays with those who hold it
    confined: {category: UK EYES ONLY}
  - name: no permit rule is dead
    no_dead_rules: {}
)");
  PolicyProveParams params{kPolicies / "federation" / "staffordshire.yaml", dir_ / "staffordshire.properties.yaml"};
  EXPECT_EQ(run_policy_prove(params, out_, err_), exit_ok) << out_.str() << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("3 hold, 0 fail, 0 not proved\n"));
}

}  // namespace
}  // namespace icegate::cli

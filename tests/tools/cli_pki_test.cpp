// `icegate pki`: the run_* functions on a temporary directory, asserting exit
// codes and what they print; and the CLI11 declarations through a real parse.
#include "tools/icegate/cmd_pki.hpp"

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/pki/pki.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {
namespace {

namespace fs = std::filesystem;
using icegate::testing::lines_of;
using icegate::testing::TemporaryDirectory;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

class CliPkiTest : public ::testing::Test {
 protected:
  int init(bool force = false) {
    reset_streams();
    return run_pki_init({.dir = dir_, .force = force}, out_, err_);
  }
  int issue(std::vector<std::string> ids, int days = 365, bool expired = false) {
    reset_streams();
    return run_pki_issue({.dir = dir_, .node_ids = std::move(ids), .days = days, .expired = expired}, out_, err_);
  }
  int revoke(std::string id) {
    reset_streams();
    return run_pki_revoke({.dir = dir_, .node_id = std::move(id)}, out_, err_);
  }
  int show() {
    reset_streams();
    return run_pki_show({.dir = dir_}, out_, err_);
  }
  void reset_streams() {
    out_.str("");
    err_.str("");
  }

  TemporaryDirectory temporary_;
  fs::path dir_ = temporary_ / "pki";
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CliPkiTest, InitCreatesTheCaAndGatewayAndSaysSo) {
  ASSERT_EQ(init(), exit_ok) << err_.str();
  EXPECT_THAT(err_.str(), IsEmpty());
  const auto lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  EXPECT_THAT(lines[0], AllOf(StartsWith("created CA"), HasSubstr((dir_ / "ca.crt").string()),
                              HasSubstr("ECDSA P-256, valid until 20")));
  EXPECT_THAT(lines[1], AllOf(StartsWith("issued gateway: "), HasSubstr((dir_ / "gateway.crt").string())));
  EXPECT_TRUE(fs::exists(pki::ca_paths(dir_).key));
}

TEST_F(CliPkiTest, InitWithAGatewayIdIssuesTheNamedGatewayCertificate) {
  ASSERT_EQ(run_pki_init({.dir = dir_, .gateway_id = "gw-birmingham", .addresses = {"127.0.0.3"}}, out_, err_),
            exit_ok)
      << err_.str();
  const auto lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  EXPECT_THAT(lines[0], HasSubstr("\"icegate gw-birmingham CA\""));
  EXPECT_THAT(lines[1], StartsWith("issued gw-birmingham: "));
  EXPECT_EQ(pki::certificate_common_name(pki::gateway_paths(dir_).certificate), "gw-birmingham");
}

TEST_F(CliPkiTest, InitRefusesABadGatewayIdOrAddress) {
  EXPECT_EQ(run_pki_init({.dir = dir_, .gateway_id = "gw/x"}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), AllOf(StartsWith("error: "), HasSubstr("invalid gateway id \"gw/x\"")));
  reset_streams();
  EXPECT_EQ(run_pki_init({.dir = dir_, .gateway_id = "gw-x", .addresses = {"not an address"}}, out_, err_),
            exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("invalid subject alternative name \"not an address\" for gateway \"gw-x\""));
  EXPECT_FALSE(fs::exists(pki::ca_paths(dir_).certificate));
}

TEST_F(CliPkiTest, ReinitIsRefusedWithoutForce) {
  ASSERT_EQ(init(), exit_ok);
  EXPECT_EQ(init(), exit_error);
  EXPECT_THAT(err_.str(), AllOf(StartsWith("error: "), HasSubstr("--force")));
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_EQ(init(/*force=*/true), exit_ok) << err_.str();
}

TEST_F(CliPkiTest, IssuePrintsOneLinePerNode) {
  ASSERT_EQ(init(), exit_ok);
  ASSERT_EQ(issue({"ctu-wm", "ntnu-lab"}, 30), exit_ok) << err_.str();
  const auto lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  EXPECT_THAT(lines[0], AllOf(StartsWith("issued ctu-wm: "), HasSubstr((dir_ / "nodes" / "ctu-wm.crt").string()),
                              HasSubstr("(ECDSA P-256, valid until ")));
  EXPECT_THAT(lines[1], StartsWith("issued ntnu-lab: "));
  EXPECT_EQ(pki::certificate_common_name(dir_ / "nodes" / "ntnu-lab.crt"), "ntnu-lab");
}

TEST_F(CliPkiTest, IssueChecksEveryIdBeforeIssuingAny) {
  ASSERT_EQ(init(), exit_ok);
  EXPECT_EQ(issue({"good", "../bad", "a b"}), exit_error);
  EXPECT_THAT(err_.str(), AllOf(HasSubstr("\"../bad\""), HasSubstr("\"a b\"")));
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_FALSE(fs::exists(dir_ / "nodes" / "good.crt"));
  EXPECT_EQ(issue({}), exit_error);
  EXPECT_EQ(issue({"good"}, 0), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("--days"));
}

TEST_F(CliPkiTest, IssueWithoutCaFails) {
  EXPECT_EQ(issue({"ctu-wm"}), exit_error);
  EXPECT_THAT(err_.str(), AllOf(HasSubstr("no CA"), HasSubstr("pki init")));
}

TEST_F(CliPkiTest, ExpiredIssueSaysExpired) {
  ASSERT_EQ(init(), exit_ok);
  ASSERT_EQ(issue({"late"}, 365, /*expired=*/true), exit_ok) << err_.str();
  EXPECT_THAT(out_.str(), AllOf(StartsWith("issued late: "), HasSubstr(", expired ")));
}

TEST_F(CliPkiTest, RevokeThenRevokeAgainThenShow) {
  ASSERT_EQ(init(), exit_ok);
  ASSERT_EQ(issue({"ctu-wm", "ntnu-lab"}), exit_ok);
  ASSERT_EQ(revoke("ctu-wm"), exit_ok) << err_.str();
  EXPECT_THAT(out_.str(), AllOf(StartsWith("revoked ctu-wm (serial "), HasSubstr((dir_ / "crl.pem").string())));
  ASSERT_EQ(revoke("ctu-wm"), exit_ok) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("already revoked ctu-wm"));
  EXPECT_EQ(revoke("nobody"), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr((dir_ / "nodes" / "nobody.crt").string()));

  ASSERT_EQ(show(), exit_ok) << err_.str();
  const auto lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 4u) << out_.str();
  EXPECT_THAT(lines[0], AllOf(StartsWith("ca "), HasSubstr("icegate test CA"), HasSubstr(" valid ")));
  EXPECT_THAT(lines[1], AllOf(StartsWith("gateway "), HasSubstr(" valid ")));
  EXPECT_THAT(lines[2], AllOf(StartsWith("node "), HasSubstr("ctu-wm"), HasSubstr(" revoked ")));
  EXPECT_THAT(lines[3], AllOf(StartsWith("node "), HasSubstr("ntnu-lab"), HasSubstr(" valid ")));
  const std::string serial = pki::read_certificate_info(dir_ / "nodes" / "ctu-wm.crt").serial_hex;
  EXPECT_THAT(lines[2], HasSubstr(serial));
}

TEST_F(CliPkiTest, ShowWithoutCaFails) {
  EXPECT_EQ(show(), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr((dir_ / "ca.crt").string()));
}

// The CLI11 declarations: positional order, several ids, --days, exit code.
TEST_F(CliPkiTest, CommandLineParsesIntoTheRunFunctions) {
  auto run = [](std::vector<std::string> arguments) {
    CLI::App app{"icegate"};
    app.require_subcommand(1);
    int exit_code = -1;
    add_pki_command(app, exit_code);
    std::reverse(arguments.begin(), arguments.end());  // CLI11 takes them back to front
    app.parse(arguments);
    return exit_code;
  };
  const std::string dir = dir_.string();
  EXPECT_EQ(run({"pki", "init", dir}), exit_ok);
  EXPECT_EQ(run({"pki", "init", dir}), exit_error);
  EXPECT_EQ(run({"pki", "init", dir, "--force"}), exit_ok);
  EXPECT_EQ(run({"pki", "issue", dir, "a", "b", "--days", "10"}), exit_ok);
  EXPECT_TRUE(fs::exists(dir_ / "nodes" / "a.crt"));
  EXPECT_TRUE(fs::exists(dir_ / "nodes" / "b.crt"));
  EXPECT_EQ(run({"pki", "issue", dir, "late", "--expired"}), exit_ok);
  EXPECT_EQ(run({"pki", "revoke", dir, "a"}), exit_ok);
  EXPECT_TRUE(pki::is_revoked(dir_, dir_ / "nodes" / "a.crt"));
  EXPECT_EQ(run({"pki", "show", dir}), exit_ok);
  EXPECT_THROW(run({"pki", "issue", dir, "c", "--days", "0"}), CLI::ValidationError);
  EXPECT_THROW(run({"pki", "revoke", dir}), CLI::RequiredError);
}

}  // namespace
}  // namespace icegate::cli

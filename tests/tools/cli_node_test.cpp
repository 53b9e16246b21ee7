// `icegate node` and `icegate serve` through their run_* functions, against a
// real gateway on loopback, asserting output and exit codes.
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "gateway/model/json_value.hpp"
#include "tests/support/gateway_fixture.hpp"
#include "tools/icegate/cmd_node.hpp"
#include "tools/icegate/cmd_serve.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::testing {
namespace {

using cli::NodeParams;

class CliNodeTest : public ::testing::Test {
 protected:
  CliNodeTest()
      : gateway_(source_path("policies/demo.yaml"),
                 {"ctu-wm", "ctio-east", "council-prevent", "npt-sparkhill", "iag-birmingham"}) {}

  NodeParams node(const std::string& id) const {
    return {id, gateway_.pki_dir(), "127.0.0.1:" + std::to_string(gateway_.port())};
  }

  RunningGateway gateway_;
};

TEST_F(CliNodeTest, SendFromFilePrintsEachRecipientsDecision) {
  cli::NodeSendParams send;
  send.file = source_path("policies/demo/problem-profile.yaml");
  std::ostringstream out, err;
  EXPECT_EQ(cli::run_node_send(node("ctu-wm"), send, out, err), cli::exit_ok) << err.str();
  const std::string text = out.str();
  EXPECT_NE(text.find("RECEIPT"), std::string::npos) << text;
  EXPECT_NE(text.find("ctio-east          RELEASE "), std::string::npos) << text;
  EXPECT_NE(text.find("council-prevent    RELEASE_REDACTED"), std::string::npos) << text;
  EXPECT_NE(text.find("iag-birmingham     DENY"), std::string::npos) << text;
  EXPECT_NE(text.find("withheld portion"), std::string::npos) << text;
}

// --json: one object a line, each a frame in protobuf's JSON mapping (original
// field names, enums by name, int64 as text), written through json::serialize.
TEST_F(CliNodeTest, SendWithJsonPrintsEachFrameAsOneJsonObjectALine) {
  cli::NodeSendParams send;
  send.file = source_path("policies/demo/problem-profile.yaml");
  send.json = true;
  std::ostringstream out, err;
  EXPECT_EQ(cli::run_node_send(node("ctu-wm"), send, out, err), cli::exit_ok) << err.str();
  std::istringstream lines(out.str());
  std::map<std::string, std::string> decisions;  // recipient -> decision
  int receipts = 0;
  for (std::string line; std::getline(lines, line);) {
    const json::ParseResult frame = json::parse(line);
    ASSERT_TRUE(frame.error.empty()) << frame.error << " in " << line;
    ASSERT_TRUE(frame.value.is_object() && frame.value.get_object().size() == 1) << line;
    const boost::json::value* receipt = json::member(frame.value, "receipt");
    if (!receipt) continue;
    ++receipts;
    for (const auto& outcome : json::member(*receipt, "outcomes")->get_array())
      decisions[std::string(json::member(outcome, "node_id")->get_string())] =
          json::member(outcome, "decision")->get_string();
  }
  EXPECT_EQ(receipts, 1) << out.str();
  EXPECT_EQ(decisions["ctio-east"], "DECISION_RELEASE") << out.str();
  EXPECT_EQ(decisions["council-prevent"], "DECISION_RELEASE_REDACTED") << out.str();
  EXPECT_EQ(decisions["iag-birmingham"], "DECISION_DENY") << out.str();
}

TEST_F(CliNodeTest, ListenPrintsTheDeliveredVersionAndWithheldNotices) {
  std::ostringstream listen_out, listen_err;
  int listen_code = -1;
  std::thread listener([&] {
    cli::NodeListenParams listen;
    listen.count = 1;
    listen.timeout = 10;
    listen_code = cli::run_node_listen(node("council-prevent"), listen, listen_out, listen_err);
  });
  // Give the listener time to connect (its first line says so).
  for (int i = 0; i < 100 && listen_out.str().find("listening as") == std::string::npos; ++i)
    std::this_thread::sleep_for(50ms);

  cli::NodeSendParams send;
  send.to = {"council-prevent"};
  send.category = "ct-problem-profile";
  send.purpose = "prevent";
  send.title = "flags";
  send.portions = {"SECRET/UK EYES ONLY=the secret part", "RESTRICTED=the partner part"};
  std::ostringstream out, err;
  EXPECT_EQ(cli::run_node_send(node("ctu-wm"), send, out, err), cli::exit_ok) << err.str();
  listener.join();

  EXPECT_EQ(listen_code, cli::exit_ok) << listen_err.str();
  const std::string text = listen_out.str();
  EXPECT_NE(text.find("decision RELEASE_REDACTED"), std::string::npos) << text;
  EXPECT_NE(text.find("the partner part"), std::string::npos) << text;
  EXPECT_EQ(text.find("the secret part"), std::string::npos) << "a withheld body reached the council:\n" << text;
  EXPECT_NE(text.find("WITHHELD portion 1 [SECRET | UK EYES ONLY]"), std::string::npos) << text;
}

TEST_F(CliNodeTest, SendWhereEveryRecipientIsDeniedExitsTwo) {
  cli::NodeSendParams send;
  send.to = {"iag-birmingham"};
  send.category = "ct-problem-profile";
  send.purpose = "prevent";
  send.portions = {"RESTRICTED=partner text"};
  std::ostringstream out, err;
  EXPECT_EQ(cli::run_node_send(node("ctu-wm"), send, out, err), cli::exit_denied);
  EXPECT_NE(out.str().find("DENY"), std::string::npos) << out.str();
}

TEST_F(CliNodeTest, RefusedMessageExitsOneAndSaysWhy) {
  cli::NodeSendParams send;
  send.to = {"council-prevent"};
  send.category = "no-such-category";
  send.portions = {"RESTRICTED=text"};
  std::ostringstream out, err;
  EXPECT_EQ(cli::run_node_send(node("ctu-wm"), send, out, err), cli::exit_error);
  EXPECT_NE(err.str().find("INVALID_MESSAGE"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("no-such-category"), std::string::npos) << err.str();
}

TEST_F(CliNodeTest, UnreachableGatewayExitsOne) {
  auto params = node("ctu-wm");
  params.gateway = "127.0.0.1:1";
  cli::NodeSendParams send;
  send.to = {"council-prevent"};
  send.category = "ct-problem-profile";
  send.portions = {"RESTRICTED=text"};
  std::ostringstream out, err;
  EXPECT_EQ(cli::run_node_send(params, send, out, err), cli::exit_error);
  EXPECT_NE(err.str().find("cannot connect"), std::string::npos) << err.str();
}

TEST_F(CliNodeTest, InteractiveSessionBuildsAndSubmitsADraft) {
  std::istringstream script(
      "to council-prevent\n"
      "category ct-problem-profile\n"
      "purpose prevent\n"
      "title typed by a trainer\n"
      "portion RESTRICTED ward-level themes\n"
      "submit\n");
  std::ostringstream out, err;
  auto council = gateway_.connect("council-prevent");
  EXPECT_EQ(cli::run_node_interactive(node("ctu-wm"), script, out, err), cli::exit_ok) << err.str();
  auto delivery = next_of<node::Delivery>(*council);
  ASSERT_TRUE(delivery) << out.str();
  EXPECT_EQ(delivery->message.title, "typed by a trainer");
  EXPECT_EQ(delivery->message.portions.at(0).body, "ward-level themes");
}

// A gateway under GSC (2014) that accepts GPMS (2008) labels
// (tests/data/gsc-2014-policy.yaml): --scheme, or `scheme:` in a message
// file, says which scheme the labels are written under.
class CliNodeSchemeTest : public ::testing::Test {
 protected:
  CliNodeSchemeTest()
      : gateway_(source_path("tests/data/gsc-2014-policy.yaml"), {"ctu-wm", "ctio-east", "council-prevent"}) {}

  NodeParams node(const std::string& id) const {
    return {id, gateway_.pki_dir(), "127.0.0.1:" + std::to_string(gateway_.port())};
  }
  // RESTRICTED is a GPMS classification and not a GSC one.
  static cli::NodeSendParams gpms_send() {
    cli::NodeSendParams send;
    send.to = {"ctio-east"};
    send.category = "ct-problem-profile";
    send.purpose = "prevent";
    send.portions = {"RESTRICTED=partner version"};
    return send;
  }

  TemporaryDirectory directory_;
  RunningGateway gateway_;
};

TEST_F(CliNodeSchemeTest, SchemeFlagHasTheLabelsTranslated) {
  auto ctio = gateway_.connect("ctio-east");
  auto send = gpms_send();
  send.scheme = "gpms-2008";
  std::ostringstream out, err;
  EXPECT_EQ(cli::run_node_send(node("ctu-wm"), send, out, err), cli::exit_ok) << err.str() << out.str();
  auto delivery = next_of<node::Delivery>(*ctio);
  ASSERT_TRUE(delivery) << out.str();
  EXPECT_EQ(delivery->message.original_scheme, "gpms-2008");
  ASSERT_EQ(delivery->message.portions.size(), 1u);
  EXPECT_EQ(delivery->message.portions[0].label, (Label{"OFFICIAL", {}}));
  EXPECT_EQ(delivery->message.portions[0].original_label, (Label{"RESTRICTED", {}}));
}

TEST_F(CliNodeSchemeTest, WithoutTheSchemeTheLabelIsReadUnderTheGatewaysOwn) {
  auto send = gpms_send();
  std::ostringstream out, err;
  EXPECT_EQ(cli::run_node_send(node("ctu-wm"), send, out, err), cli::exit_error) << out.str();
  EXPECT_NE(err.str().find("RESTRICTED"), std::string::npos) << err.str();
}

TEST_F(CliNodeSchemeTest, SchemeInAMessageFileHasTheLabelsTranslated) {
  auto ctio = gateway_.connect("ctio-east");
  const auto file = directory_ / "gpms.yaml";
  std::ofstream(file) << "to: [ctio-east]\ncategory: ct-problem-profile\npurpose: prevent\nscheme: gpms-2008\n"
                         "portions:\n  - label: RESTRICTED\n    body: partner version\n";
  cli::NodeSendParams send;
  send.file = file;
  std::ostringstream out, err;
  EXPECT_EQ(cli::run_node_send(node("ctu-wm"), send, out, err), cli::exit_ok) << err.str() << out.str();
  auto delivery = next_of<node::Delivery>(*ctio);
  ASSERT_TRUE(delivery) << out.str();
  EXPECT_EQ(delivery->message.original_scheme, "gpms-2008");
}

TEST_F(CliNodeSchemeTest, AnUnacceptedSchemeIsRefusedByName) {
  auto send = gpms_send();
  send.scheme = "no-such-scheme";
  std::ostringstream out, err;
  EXPECT_EQ(cli::run_node_send(node("ctu-wm"), send, out, err), cli::exit_error) << out.str();
  EXPECT_NE(err.str().find("no-such-scheme"), std::string::npos) << err.str();
}

TEST(CliServe, InvalidPolicyExitsThreeListingEveryError) {
  TemporaryDirectory dir;
  const auto policy = dir / "bad.yaml";
  std::ofstream(policy) << "policy: bad\nscheme: schemes/none.yaml\nnodez: []\n";
  cli::ServeParams params;
  params.policy = policy;
  params.pki = dir.path();
  params.data = dir / "data";
  std::ostringstream out, err;
  EXPECT_EQ(cli::run_serve(params, out, err), cli::exit_invalid_policy);
  EXPECT_NE(err.str().find("bad.yaml:3:1"), std::string::npos) << err.str();
}

TEST(CliServe, HostPortParsing) {
  std::string host, error;
  std::uint16_t port = 0;
  EXPECT_TRUE(cli::split_host_port("127.0.0.1:7443", host, port, error));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 7443);
  EXPECT_TRUE(cli::split_host_port("[::1]:80", host, port, error));
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(cli::split_host_port("127.0.0.1", host, port, error));
  EXPECT_FALSE(cli::split_host_port("127.0.0.1:99999", host, port, error));
  EXPECT_FALSE(cli::split_host_port(":80", host, port, error));
}

}  // namespace
}  // namespace icegate::testing

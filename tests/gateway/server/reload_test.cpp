// Hot reload: a new policy is swapped in atomically and named in every
// decision; an invalid one is refused and the old one kept.
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.hpp"

namespace icegate::testing {
namespace {

const std::vector<std::string> demo_nodes{"ctu-wm", "ctio-east", "council-prevent", "npt-sparkhill", "iag-birmingham"};

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A copy of the demo policy (and its scheme) that a test may edit.
class PolicyCopy {
 public:
  PolicyCopy() {
    std::filesystem::create_directories(dir_ / "schemes");
    std::filesystem::copy_file(source_path("policies/schemes/gpms-2008.yaml"), dir_ / "schemes/gpms-2008.yaml");
    write(read(source_path("policies/demo.yaml")));
  }
  std::filesystem::path file() const { return dir_ / "policy.yaml"; }
  void write(const std::string& text) const { std::ofstream(file(), std::ios::trunc) << text; }
  // The demo policy with the council's rule turned into a deny.
  static std::string council_denied() {
    std::string text = read(source_path("policies/demo.yaml"));
    const auto at = text.find("  - id: profile-to-council-restricted");
    const auto effect = text.find("effect: permit", at);
    text.replace(effect, std::string("effect: permit").size(), "effect: deny");
    return text;
  }

 private:
  TemporaryDirectory dir_;
};

Message profile() {
  return make_message("ctu-wm", {{AddresseeKind::node, "council-prevent"}}, "ct-problem-profile", "prevent",
                      {{{"RESTRICTED", {}}, "partner version"}});
}

Decision council_decision(node::NodeClient& sender, std::string* version = nullptr) {
  sender.submit(profile());
  auto receipt = next_of<node::Receipt>(sender);
  if (!receipt || receipt->outcomes.empty()) throw std::runtime_error("no receipt");
  if (version) *version = receipt->policy_version;
  return receipt->outcomes[0].decision.decision;
}

TEST(PolicyReload, NewPolicyIsSwappedInAndNamedInDecisions) {
  PolicyCopy policy;
  RunningGateway gateway(policy.file(), demo_nodes);
  auto sender = gateway.connect("ctu-wm");
  std::string before, after;
  EXPECT_EQ(council_decision(*sender, &before), Decision::release);

  policy.write(PolicyCopy::council_denied());
  const auto diagnostics = gateway.on_gateway_thread([&] { return gateway.gateway().reload_policy(); });
  EXPECT_FALSE(diagnostics.has_errors());
  EXPECT_EQ(council_decision(*sender, &after), Decision::deny);
  EXPECT_NE(before, after) << "the decision must name the policy version that made it";
  EXPECT_EQ(after, gateway.gateway().policy()->version());
}

TEST(PolicyReload, InvalidPolicyIsRefusedAndTheOldOneKept) {
  PolicyCopy policy;
  RunningGateway gateway(policy.file(), demo_nodes);
  auto sender = gateway.connect("ctu-wm");
  const std::string version = gateway.gateway().policy()->version();

  policy.write(PolicyCopy::council_denied() + "\nrulez: []\n");
  const auto diagnostics = gateway.on_gateway_thread([&] { return gateway.gateway().reload_policy(); });
  ASSERT_TRUE(diagnostics.has_errors());
  EXPECT_EQ(diagnostics.sorted().front().code, policy::Code::P002);
  EXPECT_EQ(gateway.gateway().policy()->version(), version);
  EXPECT_EQ(council_decision(*sender), Decision::release) << "decisions still come from the old policy";
}

TEST(PolicyReload, WatchPicksUpAnEditedFile) {
  PolicyCopy policy;
  server::GatewayConfig config;
  config.watch_policy = true;
  config.watch_interval = 50ms;
  RunningGateway gateway(policy.file(), demo_nodes, config);
  const std::string version = gateway.gateway().policy()->version();
  policy.write(PolicyCopy::council_denied());
  for (int i = 0; i < 100 && gateway.gateway().policy()->version() == version; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_NE(gateway.gateway().policy()->version(), version);
  auto sender = gateway.connect("ctu-wm");
  EXPECT_EQ(council_decision(*sender), Decision::deny);
}

}  // namespace
}  // namespace icegate::testing

// A scenario across several gateways (`gateways:`, scenarios/README.md,
// "Several gateways"): reading it, checking it against each gateway's policy
// (policies/federation/), and running it: each gateway with its own PKI,
// policy, data and loopback address, peered before anything is played.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "clients/exercise/check.hpp"
#include "clients/exercise/runner.hpp"
#include "clients/exercise/scenario.hpp"
#include "gateway/policy/engine.hpp"
#include "tests/clients/exercise/scenario_dir.hpp"
#include "tests/support/files.hpp"

namespace icegate::exercise {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using icegate::testing::lines_of;
using testing::position_of;
using testing::ScenarioDir;
using testing::source_file;

std::string policy_of(const std::string& name) { return source_file("policies/federation/" + name + ".yaml").string(); }

// Three gateways of policies/federation/, each with `nodes`, then `rest`.
std::string three_gateways(const std::string& rest = {}) {
  return "exercise: federation-checks\nt0: 2026-11-21T06:00:00Z\nstart: T-1h\nend: T+1h\ngateways:\n"
         "  - id: gw-wm-ctu\n    policy: " + policy_of("wm-ctu") + "\n    address: 127.0.0.2\n"
         "    nodes: [wm-ctu-analyst-1, wm-ctu-sio-1]\n"
         "  - id: gw-birmingham\n    policy: " + policy_of("birmingham-cc") + "\n    address: 127.0.0.3\n"
         "    nodes: [bcc-prevent-coordinator, bcc-housing-officer-1]\n"
         "  - id: gw-staffordshire\n    policy: " + policy_of("staffordshire") + "\n    address: 127.0.0.4\n"
         "    nodes: [staffs-ctio-1]\n" + rest;
}

std::string read_problems(const std::string& text, const std::filesystem::path& file) {
  const auto load = read_scenario_text(text, file);
  EXPECT_FALSE(load.scenario) << "loaded";
  return render(load.diagnostics);
}

GatewayPolicies policies_of(const Scenario& scenario) {
  GatewayPolicies policies;
  for (const auto& g : scenario.gateways) {
    auto loaded = policy::load_policy(g.policy);
    EXPECT_TRUE(loaded.policy) << g.policy;
    policies.push_back(loaded.policy);
  }
  return policies;
}

TEST(ScenarioGateways, EachGatewayHasItsIdPolicyAddressAndNodes) {
  const auto scenario = parse_scenario(three_gateways(), "federation.yaml");
  ASSERT_EQ(scenario.gateways.size(), 3u);
  EXPECT_EQ(scenario.gateways[1].id, "gw-birmingham");
  EXPECT_EQ(scenario.gateways[1].address, "127.0.0.3");
  EXPECT_EQ(scenario.gateways[1].policy, policy_of("birmingham-cc"));
  EXPECT_THAT(scenario.gateways[1].nodes, ::testing::ElementsAre("bcc-prevent-coordinator", "bcc-housing-officer-1"));
  EXPECT_TRUE(scenario.policy.empty());
  const auto policies = policies_of(scenario);
  EXPECT_THAT(participants(scenario, policies),
              ::testing::ElementsAre("wm-ctu-analyst-1", "wm-ctu-sio-1", "bcc-prevent-coordinator",
                                     "bcc-housing-officer-1", "staffs-ctio-1"));
  EXPECT_FALSE(check_against_gateways(scenario, policies).has_errors())
      << render(check_against_gateways(scenario, policies));
}

TEST(ScenarioGateways, MistakesInTheGatewaysAreLocated) {
  const std::string text =
      "exercise: bad\npolicy: p.yaml\nt0: 2026-11-21T06:00:00Z\nend: T+1h\ngateways:\n"
      "  - id: gw-a\n    policy: a.yaml\n    address: 127.0.0.2\n    nodes: [alice, bob]\n"
      "  - id: gw-b\n    policy: b.yaml\n    address: 127.0.0.2\n    nodes: [carol, bob]\n"
      "  - id: gw-a\n    policy: c.yaml\n    address: 10.1.2.3\n"
      "  - id: gw-d\n    adress: 127.0.0.5\n";
  const std::string what = read_problems(text, "bad.yaml");
  EXPECT_THAT(what, HasSubstr("bad.yaml:" + position_of(text, "p.yaml") +
                              ": error[X005]: a scenario with gateways names a policy for each gateway"));
  EXPECT_THAT(what, HasSubstr("bad.yaml:" + position_of(text, "127.0.0.2\n    nodes: [carol") +
                              ": error[X013]: gateways gw-a and gw-b are both on 127.0.0.2"));
  EXPECT_THAT(what, HasSubstr("bad.yaml:" + position_of(text, "bob]\n  - id: gw-a") +
                              ": error[X013]: node bob is under two gateways, gw-a and gw-b"));
  EXPECT_THAT(what, HasSubstr("bad.yaml:" + position_of(text, "gw-a\n    policy: c.yaml") +
                              ": error[X010]: gateway id gw-a is used twice"));
  EXPECT_THAT(what, HasSubstr("bad.yaml:" + position_of(text, "10.1.2.3") +
                              ": error[X005]: gateway gw-a: address must be a loopback IP address"));
  EXPECT_THAT(what, HasSubstr("bad.yaml:" + position_of(text, "adress") + ": error[X002]: unknown key 'adress'"));
  EXPECT_THAT(what, HasSubstr("bad.yaml:" + position_of(text, "id: gw-d") + ": error[X004]: a gateway needs 'policy'"));
  EXPECT_THAT(what, HasSubstr("error[X004]: a gateway needs 'address'"));
}

TEST(ScenarioGateways, EachPartIsCheckedAgainstItsOwnGatewaysPolicy) {
  ScenarioDir dir;
  const std::string text = three_gateways(R"(injects:
  - id: I1
    at: T+0
    from: bcc-housing-officer-1
    message:
      to: ["role:prevent-coordinator", "role:ct-analyst", "role:nobody-anywhere"]
      category: tension-report
      portions: [{label: OFFICIAL-SENSITIVE, body: x}]
  - id: I2
    at: T+0
    from: staffs-npt-inspector-1
    message:
      to: ["role:staffs-ctio"]
      category: tension-report
      portions: [{label: OFFICIAL, body: x}]
  - id: I3
    at: T+0
    from: wm-ctu-analyst-1
    message:
      to: ["role:prevent-coordinator"]
      category: tension-reprot
      portions: [{label: OFFICIAL, body: x}]
expectations:
  - id: E1
    never_receives_at_or_above: {node: staffs-ctio-1, classification: SEKRET}
)");
  const auto file = dir.write("parts.yaml", text);
  const auto scenario = load_scenario(file);
  const std::string what = render(check_against_gateways(scenario, policies_of(scenario)));
  const std::string name = file.string();
  // A name a peer speaks for is the peer's to resolve; one nobody speaks for is not defined.
  EXPECT_THAT(what, Not(HasSubstr("role:ct-analyst")));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "\"role:nobody-anywhere") +
                              ": error[X011]: inject I1: addressee 'role:nobody-anywhere': role 'nobody-anywhere' is "
                              "not defined by policy birmingham-cc"));
  // A node of a policy that is not among its gateway's nodes; one no gateway has.
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "staffs-npt-inspector-1\n") +
                              ": error[X021]: inject I2: node 'staffs-npt-inspector-1' is not a node of any gateway of "
                              "the scenario (gw-wm-ctu, gw-birmingham, gw-staffordshire)"));
  // Checked against the sender's own gateway's policy.
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "tension-reprot") +
                              ": error[X011]: inject I3: information category 'tension-reprot' is not defined by policy "
                              "wm-ctu; did you mean 'tension-report'?"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "SEKRET") +
                              ": error[X011]: expectation E1: classification 'SEKRET' is not defined by policy "
                              "staffordshire"));
  EXPECT_EQ(lines_of(what).size(), 4u) << what;
}

TEST(ScenarioGateways, GatewaysWhosePoliciesDoNotPeerAreRefused) {
  ScenarioDir dir;
  // Birmingham alone with the CTU: the CTU's and Birmingham's policies name
  // Staffordshire, which is not a gateway of this scenario; and a gateway
  // under a policy with no peers can reach nobody.
  const std::string text = "exercise: two\nt0: 2026-11-21T06:00:00Z\nend: T+1h\ngateways:\n"
                           "  - id: gw-wm-ctu\n    policy: " + policy_of("wm-ctu") + "\n    address: 127.0.0.2\n"
                           "  - id: gw-birmingham\n    policy: " + policy_of("birmingham-cc") +
                           "\n    address: 127.0.0.3\n"
                           "  - id: gw-lonely\n    policy: " + source_file("policies/demo.yaml").string() +
                           "\n    address: 127.0.0.9\n    nodes: [ctu-wm]\n";
  const auto file = dir.write("two.yaml", text);
  const auto scenario = load_scenario(file);
  const std::string what = render(check_against_gateways(scenario, policies_of(scenario)));
  EXPECT_THAT(what, HasSubstr(file.string() + ":" + position_of(text, policy_of("wm-ctu")) +
                              ": error[X024]: gateway gw-wm-ctu: policy wm-ctu names peer gw-staffordshire, which is "
                              "not a gateway of the scenario (gw-wm-ctu, gw-birmingham, gw-lonely)"));
  EXPECT_THAT(what, HasSubstr("error[X024]: gateway gw-birmingham: policy birmingham-cc names peer gw-staffordshire"));
  EXPECT_THAT(what, HasSubstr("error[X024]: gateway gw-lonely: policy demo names none of the scenario's other gateways "
                              "among its peers: nothing could reach it"));
  EXPECT_EQ(lines_of(what).size(), 3u) << what;
}

TEST(ScenarioGateways, APeerThatDoesNotNameUsBackIsRefused) {
  ScenarioDir dir;
  // Staffordshire's policy without its peer gw-birmingham: Birmingham dials a
  // gateway that would refuse it.
  std::string staffordshire = ScenarioDir::read(policy_of("staffordshire"));
  staffordshire.replace(staffordshire.find("  - id: gw-birmingham"), std::string::npos, "");
  const std::string both = "peers: [gw-wm-ctu, gw-birmingham]";
  staffordshire.replace(staffordshire.find(both), both.size(), "peers: [gw-wm-ctu]");
  const std::string schemes = source_file("policies/schemes").string();
  for (auto at = staffordshire.find("../schemes"); at != std::string::npos; at = staffordshire.find("../schemes"))
    staffordshire.replace(at, 10, schemes);
  const auto changed = dir.write("staffordshire.yaml", staffordshire);
  std::string text = three_gateways();
  text.replace(text.find(policy_of("staffordshire")), policy_of("staffordshire").size(), changed.string());
  const auto file = dir.write("one-sided.yaml", text);
  const auto scenario = load_scenario(file);
  const std::string what = render(check_against_gateways(scenario, policies_of(scenario)));
  EXPECT_THAT(what, HasSubstr("error[X024]: gateway gw-birmingham: policy birmingham-cc names gw-staffordshire as a "
                              "peer, but gw-staffordshire's policy staffordshire does not name gw-birmingham: "
                              "gw-staffordshire would refuse the link"));
  EXPECT_EQ(lines_of(what).size(), 1u) << what;
}

TEST(ScenarioGateways, PolicyReplacesTheGatewayNamedAndOnlyThen) {
  const auto scenario = parse_scenario(three_gateways(), "federation.yaml");
  RunOptions options;
  options.policy = policy_of("birmingham-cc");
  try {
    run_exercise(scenario, options);
    ADD_FAILURE() << "ran with --policy and no --gateway";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("has 3 gateways (gw-wm-ctu, gw-birmingham, gw-staffordshire): --policy needs "
                                    "--gateway to name the one whose policy it replaces"));
  }
  options.gateway = "gw-brimingham";
  try {
    run_exercise(scenario, options);
    ADD_FAILURE() << "ran with an unknown gateway";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("--gateway gw-brimingham: scenario federation-checks has no such gateway "
                                    "(gateways: gw-wm-ctu, gw-birmingham, gw-staffordshire); did you mean "
                                    "'gw-birmingham'?"));
  }
}

// The shipped scenario: three gateways started and peered, each node on its
// own, and what each gateway decides alone. (What crosses gateways is
// asserted by shipped_scenarios_test once the router forwards.)
TEST(ScenarioGatewaysRun, TheShippedFederationPlaysItsLocalPartOnEachGateway) {
  const auto scenario = load_scenario(source_file("scenarios/west-midlands-federation.yaml"));
  std::ostringstream progress;
  RunOptions options;
  options.progress = &progress;
  const RunResult result = run_exercise(scenario, options);
  EXPECT_THAT(progress.str(), HasSubstr("gateways up and peered: gw-wm-ctu on 127.0.0.2:"));
  ASSERT_EQ(result.gateways.size(), 3u);
  EXPECT_EQ(result.gateways[1].id, "gw-birmingham");
  EXPECT_EQ(result.gateways[1].policy_name, "birmingham-cc");
  EXPECT_EQ(result.gateways[1].policy_file, "../policies/federation/birmingham-cc.yaml");
  EXPECT_EQ(result.policy_name, "wm-ctu+birmingham-cc+staffordshire");
  EXPECT_EQ(result.gateway_of("staffs-ctio-1"), "gw-staffordshire");
  auto met = [&](const std::string& id) {
    for (const auto& e : result.expectations)
      if (e.id == id) return e.met;
    ADD_FAILURE() << "no expectation " << id;
    return false;
  };
  EXPECT_TRUE(met("E1")) << "decided at the CTU's gateway";
  EXPECT_TRUE(met("E2")) << "decided at the council's gateway";
  for (const auto* id : {"E8", "E9", "E10"}) EXPECT_TRUE(met(id)) << id << ": nothing forbidden crossed";
  // The local deliveries, each on its own gateway.
  bool sio = false, coordinator = false;
  for (const auto& e : result.timeline) {
    if (e.kind != TimelineEntry::Kind::delivered) continue;
    sio |= e.node == "wm-ctu-sio-1" && e.inject == "I01" && e.withheld.empty();
    coordinator |= e.node == "bcc-prevent-coordinator" && e.inject == "I02";
  }
  EXPECT_TRUE(sio);
  EXPECT_TRUE(coordinator);
}

}  // namespace
}  // namespace icegate::exercise

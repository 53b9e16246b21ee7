// `peers:` (docs/FEDERATION.md): other gateways, parsed with every problem
// located, checked by `policy check` (P050-P055, W012), and the routing and
// accreditation functions the peer link and the decider will call.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "gateway/pki/pki.hpp"
#include "gateway/policy/check.hpp"
#include "gateway/policy/diff.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/format.hpp"
#include "gateway/policy/peers.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Found;
using testing::TempDir;
using testing::found;
using testing::joined;
using testing::rendered;

// Two local nodes, and two peers: gw-a (a council-like peer: MID, EARS only,
// reports for prevent) and gw-b (cleared for everything).
constexpr std::string_view kPeers = R"(information_categories: [report, profile]
purposes: [prevent, pursue]
vetting: [{name: v, regular: HIGH}]
organisations: [{id: here, kind: ctu}]
roles: [{id: analyst}]
nodes:
  - {id: n1, organisation: here, role: analyst, vetting: v}
  - {id: n2, organisation: here, role: analyst, vetting: v}
lists: [{id: everyone, roles: [analyst]}]
rules:
  - {id: all, effect: permit}
peers:
  - id: gw-a
    address: 127.0.0.3:7443
    ca: pki/a/ca.crt
    holds: {max_classification: MID, categories: [EARS]}
    receives: {categories: [report], purposes: [prevent]}
    speaks_for: {organisations: [org-a], nodes: [far-1], roles: [far-role]}
  - id: gw-b
    ca: /etc/icegate/b-ca.crt
    holds: {max_classification: HIGH, categories: [EYES, EARS, PERSONAL, REL A]}
    receives: {categories: [report, profile], purposes: [prevent, pursue]}
    speaks_for: {organisations: [org-b], nodes: [far-2]}
  - id: gw-quiet
    ca: quiet.crt
    holds: {max_classification: LOW}
    receives: {categories: [], purposes: []}
)";

std::shared_ptr<const CompiledPolicy> peers_policy() {
  return testing::load_inline(kPeers, "/srv/gateway/policy.yaml");
}

// ---- The model ------------------------------------------------------------------------

TEST(Peers, AreReadIntoThePolicyWithTheirCaResolvedAgainstThePolicyFile) {
  auto policy = peers_policy();
  ASSERT_TRUE(policy);
  const std::vector<Peer>& peers = policy->source().peers;
  ASSERT_EQ(peers.size(), 3u);
  const Peer& a = peers[0];
  EXPECT_EQ(a.id, "gw-a");
  EXPECT_EQ(a.address, "127.0.0.3:7443");
  EXPECT_EQ(a.ca, "/srv/gateway/pki/a/ca.crt");
  EXPECT_EQ(a.holds.max_classification, "MID");
  EXPECT_THAT(a.holds.categories, ElementsAre("EARS"));
  EXPECT_THAT(a.receives.categories, ElementsAre("report"));
  EXPECT_THAT(a.receives.purposes, ElementsAre("prevent"));
  EXPECT_THAT(a.speaks_for.organisations, ElementsAre("org-a"));
  EXPECT_THAT(a.speaks_for.nodes, ElementsAre("far-1"));
  EXPECT_THAT(a.speaks_for.roles, ElementsAre("far-role"));
  EXPECT_GT(a.location.line, 0);
  EXPECT_EQ(peers[1].ca, "/etc/icegate/b-ca.crt");  // absolute stays as written
  EXPECT_EQ(peers[1].address, "");                   // the peer dials this gateway
  EXPECT_THAT(peers[2].speaks_for.organisations, IsEmpty());
  EXPECT_EQ(find_peer(policy->source(), "gw-b"), &peers[1]);
  EXPECT_EQ(find_peer(policy->source(), "n1"), nullptr);
}

// ---- Parsing and checks: every problem, located ------------------------------------------

constexpr std::string_view kBadPeers = R"(policy: p
scheme: {scheme: s, classifications: [{name: LOW}, {name: HIGH}], tag_sets: [{name: t, type: restrictive, categories: [{name: EYES}]}]}
information_categories: [report]
purposes: [prevent]
vetting: [{name: v, regular: HIGH}]
organisations: [{id: here, kind: ctu}]
roles: [{id: analyst}]
nodes:
  - {id: n1, organisation: here, role: analyst, vetting: v}
peers:
  - id: gw-a
    address: "127.0.0.3"
    ca: a.crt
    holds: {max_classification: MEDIUM, categories: [EYES, NOSE]}
    receives: {categories: [reports], purposes: [prevent, pursue]}
    speaks_for: {organisations: [far, here], nodes: [n1, far-node], roles: [analyst]}
  - id: gw-b
    ca: b.crt
    holds: {max_classification: LOW}
    receives: {categories: [report], purposes: [prevent]}
    speaks_for: {organisations: [far], nodes: [far-node]}
  - id: n1
    ca: c.crt
    hold: {max_classification: LOW}
    receives: {categories: [report]}
    speaks_for: [far]
  - id: gw-b
    address: gw-d.example:70000
    ca: [d.crt]
    holds: LOW
    receives: {categories: report, purposes: [prevent]}
)";

TEST(PeersValidation, EveryProblemIsReportedAtItsPlaceWithWhatWasWrong) {
  LoadResult result = load_policy_text(kBadPeers, "bad.yaml");
  EXPECT_FALSE(result.policy);
  EXPECT_THAT(
      rendered(result.diagnostics),
      ElementsAre(
          "bad.yaml:12:14: error[P053]: address '127.0.0.3' of peer 'gw-a' is not host:port: no port: write "
          "host:port",
          "bad.yaml:14:33: error[P011]: undefined classification 'MEDIUM'",
          "bad.yaml:14:60: error[P011]: undefined category 'NOSE'",
          "bad.yaml:15:29: error[P011]: undefined information category 'reports'; did you mean 'report'?",
          "bad.yaml:15:59: error[P011]: undefined purpose 'pursue'",
          "bad.yaml:16:39: error[P052]: peer 'gw-a' speaks for organisation 'here', which is this policy's own "
          "organisation: an addressee that is local is never routed to a peer",
          "bad.yaml:16:54: error[P052]: peer 'gw-a' speaks for node 'n1', which is this policy's own node: an "
          "addressee that is local is never routed to a peer",
          "bad.yaml:16:77: error[P052]: peer 'gw-a' speaks for role 'analyst', which is this policy's own role: an "
          "addressee that is local is never routed to a peer",
          "bad.yaml:21:34: error[P051]: peers 'gw-a' and 'gw-b' both speak for organisation 'far' (the first at "
          "bad.yaml:16:34): the route to it would be ambiguous",
          "bad.yaml:21:48: error[P051]: peers 'gw-a' and 'gw-b' both speak for node 'far-node' (the first at "
          "bad.yaml:16:58): the route to it would be ambiguous",
          "bad.yaml:22:5: error[P004]: peer 'n1' is missing required key 'holds'",
          "bad.yaml:22:9: error[P050]: peer id 'n1' is also a node id (the node is at line 9): a certificate with "
          "this Common Name would be both a node of this gateway and a peer gateway",
          "bad.yaml:24:5: error[P002]: unknown key 'hold' in peer; did you mean 'holds'?",
          "bad.yaml:25:15: error[P004]: 'receives' is missing required key 'purposes'",
          "bad.yaml:26:17: error[P003]: 'speaks_for' must be a mapping, found a list",
          "bad.yaml:27:9: error[P010]: duplicate peer id 'gw-b' (first defined at line 17)",
          "bad.yaml:28:14: error[P053]: address 'gw-d.example:70000' of peer 'gw-b' is not host:port: port 70000 "
          "is not 1 to 65535",
          "bad.yaml:29:9: error[P003]: 'ca' must be a string, found a list",
          "bad.yaml:30:12: error[P003]: 'holds' must be a mapping, found a string",
          "bad.yaml:31:28: error[P003]: 'categories' must be a list of strings, found a string"));
}

TEST(PeersValidation, TheSecondOfTwoPeersSpeakingForANameNamesTheFirst) {
  LoadResult result = load_policy_text(kBadPeers, "bad.yaml");
  for (const Diagnostic& diagnostic : result.diagnostics.all()) {
    if (diagnostic.code != Code::P051) continue;
    ASSERT_TRUE(diagnostic.details.related);
    EXPECT_EQ(diagnostic.details.related->line, 16);
  }
}

TEST(PeersValidation, AnEmptySpeaksForIsNoOneAndAPeerNeedsNoAddress) {
  auto policy = testing::load_inline(R"(information_categories: [report]
purposes: [prevent]
peers:
  - id: gw
    ca: gw.crt
    holds: {max_classification: LOW}
    receives: {categories: [report], purposes: [prevent]}
    speaks_for:
)");
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->source().peers.at(0).address, "");
}

// ---- Addresses ---------------------------------------------------------------------------

TEST(PeerAddress, HostAndPort) {
  auto v4 = parse_peer_address("127.0.0.3:7443");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.3");
  EXPECT_EQ(v4->port, 7443);
  auto v6 = parse_peer_address("[::1]:1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 1);
  auto name = parse_peer_address("gw-wm-ctu.region.example:65535");
  ASSERT_TRUE(name);
  EXPECT_EQ(name->host, "gw-wm-ctu.region.example");
  EXPECT_EQ(name->port, 65535);
}

TEST(PeerAddress, EachMalformedAddressSaysWhy) {
  auto why = [](std::string_view text) {
    std::string reason;
    EXPECT_FALSE(parse_peer_address(text, &reason)) << text;
    return reason;
  };
  EXPECT_EQ(why("127.0.0.3"), "no port: write host:port");
  EXPECT_EQ(why(":7443"), "no host before the ':'");
  EXPECT_EQ(why("host:"), "no port after the ':'");
  EXPECT_EQ(why("host:0"), "port 0 is not 1 to 65535");
  EXPECT_EQ(why("host:65536"), "port 65536 is not 1 to 65535");
  EXPECT_EQ(why("host:99999999999999999999"), "port 99999999999999999999 is not 1 to 65535");
  EXPECT_EQ(why("host:http"), "port 'http' is not a number");
  EXPECT_EQ(why("host:-1"), "port '-1' is not a number");
  EXPECT_EQ(why("300.0.0.1:1"), "'300.0.0.1' is not a host name or an IPv4 address");
  EXPECT_EQ(why("bad_host:1"), "'bad_host' is not a host name or an IPv4 address");
  EXPECT_EQ(why("-bad.example:1"), "'-bad.example' is not a host name or an IPv4 address");
  EXPECT_EQ(why("a..b:1"), "'a..b' is not a host name or an IPv4 address");
  EXPECT_EQ(why("::1:7443"), "an IPv6 address must be written in brackets: [address]:port");
  EXPECT_EQ(why("[::1:7443"), "an IPv6 address opened with '[' is not closed with ']'");
  EXPECT_EQ(why("[::g]:1"), "'::g' is not an IPv6 address");
  EXPECT_EQ(why("[::1]7443"), "no port: write [address]:port");
}

// ---- Routing -----------------------------------------------------------------------------

TEST(PeerRouting, TheNextHopIsTheFirstPeerThatSpeaksForTheNameUnderItsKind) {
  auto policy = peers_policy();
  ASSERT_TRUE(policy);
  const Policy& source = policy->source();
  EXPECT_EQ(next_hop(source, {AddresseeKind::organisation, "org-a"}), &source.peers[0]);
  EXPECT_EQ(next_hop(source, {AddresseeKind::node, "far-1"}), &source.peers[0]);
  EXPECT_EQ(next_hop(source, {AddresseeKind::role, "far-role"}), &source.peers[0]);
  EXPECT_EQ(next_hop(source, {AddresseeKind::node, "far-2"}), &source.peers[1]);
  // The kind matters: far-1 is a node on the far side, not an organisation.
  EXPECT_EQ(next_hop(source, {AddresseeKind::organisation, "far-1"}), nullptr);
  EXPECT_EQ(next_hop(source, {AddresseeKind::node, "nowhere"}), nullptr);
  // A distribution list is this gateway's own: never routed.
  EXPECT_EQ(next_hop(source, {AddresseeKind::list, "org-a"}), nullptr);
}

TEST(PeerRouting, TheFirstPeerInFileOrderWinsInAHandBuiltPolicy) {
  // `policy check` refuses two peers speaking for one name (P051); a policy
  // built in code is not checked, and the rule is still "first in file order".
  Policy policy;
  Peer first, second;
  first.id = "first";
  first.speaks_for.organisations = {"far"};
  second.id = "second";
  second.speaks_for.organisations = {"far"};
  policy.peers = {first, second};
  const Peer* hop = next_hop(policy, {AddresseeKind::organisation, "far"});
  ASSERT_TRUE(hop);
  EXPECT_EQ(hop->id, "first");
}

TEST(PeerRouting, RemoteAddresseesGoOncePerNextHopAndLocalOnesAreLeftToExpand) {
  auto policy = peers_policy();
  ASSERT_TRUE(policy);
  const std::vector<Addressee> addressees = {
      {AddresseeKind::node, "far-2"},         {AddresseeKind::node, "n1"},
      {AddresseeKind::organisation, "org-a"}, {AddresseeKind::list, "everyone"},
      {AddresseeKind::node, "far-1"},         {AddresseeKind::role, "nobody-anywhere"},
      {AddresseeKind::organisation, "org-a"}, {AddresseeKind::role, "analyst"},
      {AddresseeKind::organisation, "here"},  {AddresseeKind::list, "no-such-list"},
      {AddresseeKind::role, "nobody-anywhere"}};
  const RemoteRouting routing = route_remote(*policy, addressees);
  ASSERT_EQ(routing.routes.size(), 2u);
  EXPECT_EQ(routing.routes[0].peer->id, "gw-b");  // far-2 came first
  EXPECT_THAT(routing.routes[0].addressees, ElementsAre(Addressee{AddresseeKind::node, "far-2"}));
  EXPECT_EQ(routing.routes[1].peer->id, "gw-a");
  EXPECT_THAT(routing.routes[1].addressees,
              ElementsAre(Addressee{AddresseeKind::organisation, "org-a"}, Addressee{AddresseeKind::node, "far-1"}));
  EXPECT_THAT(routing.unresolved, ElementsAre(Addressee{AddresseeKind::role, "nobody-anywhere"},
                                              Addressee{AddresseeKind::list, "no-such-list"}));
}

TEST(PeerRouting, ALocalNameIsLocalEvenWhenNoNodeHoldsIt) {
  auto policy = testing::load_inline(R"(organisations: [{id: empty-org, kind: council}]
roles: [{id: unheld}]
)");
  ASSERT_TRUE(policy);
  EXPECT_TRUE(is_local(*policy, {AddresseeKind::role, "unheld"}));
  EXPECT_TRUE(is_local(*policy, {AddresseeKind::organisation, "empty-org"}));
  EXPECT_FALSE(is_local(*policy, {AddresseeKind::node, "unheld"}));
  EXPECT_TRUE(route_remote(*policy, std::vector<Addressee>{{AddresseeKind::role, "unheld"}}).unresolved.empty());
}

TEST(PeerRouting, APolicyWithoutPeersResolvesNothingRemote) {
  auto policy = testing::load_inline("nodes: []\n");
  ASSERT_TRUE(policy);
  const RemoteRouting routing = route_remote(*policy, std::vector<Addressee>{{AddresseeKind::node, "far"}});
  EXPECT_THAT(routing.routes, IsEmpty());
  EXPECT_THAT(routing.unresolved, ElementsAre(Addressee{AddresseeKind::node, "far"}));
}

// ---- Accreditation -------------------------------------------------------------------------

TEST(PeerAccreditation, APeerHoldsWhatItsAccreditationDominates) {
  auto policy = peers_policy();
  ASSERT_TRUE(policy);
  const Peer& a = policy->source().peers[0];
  EXPECT_TRUE(may_hold(*policy, a, {"LOW", {}}).allowed());
  EXPECT_TRUE(may_hold(*policy, a, {"MID", {}}).allowed());  // at the ceiling
  EXPECT_TRUE(may_hold(*policy, a, {"MID", {"EARS"}}).allowed());
  const PeerCheck above = may_hold(*policy, a, {"HIGH", {}});
  EXPECT_EQ(above.refusal, PeerRefusal::above_ceiling);
  EXPECT_EQ(above.detail, "HIGH is above gw-a's accreditation, which holds up to MID");
  const PeerCheck category = may_hold(*policy, a, {"MID", {"EARS", "EYES", "REL B"}});
  EXPECT_EQ(category.refusal, PeerRefusal::category_not_held);
  EXPECT_EQ(category.detail, "gw-a may not hold categories EYES and REL B (it holds EARS)");
  EXPECT_TRUE(may_hold(*policy, policy->source().peers[1], {"HIGH", {"EYES", "PERSONAL", "REL A"}}).allowed());
}

TEST(PeerAccreditation, APeerWithNoCategoriesHoldsOnlyLabelsWithout) {
  auto policy = peers_policy();
  ASSERT_TRUE(policy);
  const Peer& quiet = policy->source().peers[2];
  EXPECT_TRUE(may_hold(*policy, quiet, {"LOW", {}}).allowed());
  const PeerCheck check = may_hold(*policy, quiet, {"LOW", {"EARS"}});
  EXPECT_EQ(check.refusal, PeerRefusal::category_not_held);
  EXPECT_EQ(check.detail, "gw-quiet may not hold category EARS (it holds no categories)");
}

TEST(PeerAccreditation, AnUnknownClassificationIsNeverHeld) {
  auto policy = peers_policy();
  ASSERT_TRUE(policy);
  const PeerCheck label = may_hold(*policy, policy->source().peers[1], {"COSMIC", {}});
  EXPECT_EQ(label.refusal, PeerRefusal::unknown_classification);
  EXPECT_EQ(label.detail, "unknown classification 'COSMIC': gw-b's accreditation cannot be shown to cover it");
  // A ceiling the scheme does not define (only a policy built in code can
  // have one) holds nothing, not everything.
  Peer odd = policy->source().peers[1];
  odd.holds.max_classification = "ULTRA";
  const PeerCheck ceiling = may_hold(*policy, odd, {"LOW", {}});
  EXPECT_EQ(ceiling.refusal, PeerRefusal::unknown_classification);
  EXPECT_EQ(ceiling.detail, "gw-b's ceiling 'ULTRA' is not a classification of the scheme, so it may hold nothing");
}

TEST(PeerAccreditation, APeerReceivesOnlyListedCategoriesForListedPurposes) {
  auto policy = peers_policy();
  ASSERT_TRUE(policy);
  const Peer& a = policy->source().peers[0];
  EXPECT_TRUE(may_receive(a, "report", "prevent").allowed());
  const PeerCheck category = may_receive(a, "profile", "prevent");
  EXPECT_EQ(category.refusal, PeerRefusal::category_not_received);
  EXPECT_EQ(category.detail, "gw-a may not receive information category 'profile' (it receives report)");
  const PeerCheck purpose = may_receive(a, "report", "pursue");
  EXPECT_EQ(purpose.refusal, PeerRefusal::purpose_not_received);
  EXPECT_EQ(purpose.detail, "gw-a may not receive for purpose 'pursue' (it receives for prevent)");
  const PeerCheck none = may_receive(a, "report", "");
  EXPECT_EQ(none.refusal, PeerRefusal::purpose_not_received);
  EXPECT_EQ(none.detail, "the message states no purpose, and gw-a receives only for prevent");
  EXPECT_TRUE(may_receive(policy->source().peers[1], "profile", "pursue").allowed());
}

TEST(PeerAccreditation, EmptyListsReceiveNothing) {
  auto policy = peers_policy();
  ASSERT_TRUE(policy);
  const Peer& quiet = policy->source().peers[2];
  const PeerCheck check = may_receive(quiet, "report", "prevent");
  EXPECT_EQ(check.refusal, PeerRefusal::category_not_received);
  EXPECT_EQ(check.detail, "gw-quiet may not receive information category 'report' (it receives none)");
  EXPECT_EQ(to_string(check.refusal), "category_not_received");
}

// ---- policy check: the CA files and W012 ----------------------------------------------------

TEST(PeersCheck, CaFilesMustBeReadablePemCertificates) {
  TempDir dir("peers-ca");
  pki::init_ca(dir.path() / "pki" / "a");
  dir.write("pki/b/ca.crt", "not a certificate\n");
  const std::string text = "policy: p\n" + std::string(testing::kSmallScheme) + R"(information_categories: [report]
purposes: [prevent]
peers:
  - id: gw-a
    ca: pki/a/ca.crt
    holds: {max_classification: LOW}
    receives: {categories: [report], purposes: [prevent]}
  - id: gw-b
    ca: pki/b/ca.crt
    holds: {max_classification: LOW}
    receives: {categories: [report], purposes: [prevent]}
  - id: gw-c
    ca: pki/c/ca.crt
    holds: {max_classification: LOW}
    receives: {categories: [report], purposes: [prevent]}
)";
  const std::filesystem::path file = dir.write("policy.yaml", text);
  PolicyCheckResult result = check_policy(file);
  ASSERT_TRUE(result.policy) << "the loader does not read CA files";
  const std::string base = (dir.path() / "pki").string();
  Diagnostics files;  // the policy has no rules, so W005 too: not what this test is about
  for (const Diagnostic& diagnostic : result.diagnostics.all()) {
    if (diagnostic.code == Code::P054 || diagnostic.code == Code::P055) files.add(diagnostic);
  }
  EXPECT_THAT(rendered(files),
              ElementsAre(fmt::format("{}:36:9: error[P055]: the CA file of peer 'gw-b', '{}/b/ca.crt', holds no "
                                      "PEM certificate (-----BEGIN CERTIFICATE-----) that parses",
                                      file.string(), base),
                          fmt::format("{}:40:9: error[P054]: cannot read the CA file of peer 'gw-c', '{}/c/ca.crt': "
                                      "No such file or directory",
                                      file.string(), base)));
  EXPECT_EQ(result.error_count(), 2u);
}

TEST(PeersCheck, APeerThatCanReceiveNothingIsAWarning) {
  PolicyCheckResult result = check_policy_text("policy: p\n" + std::string(testing::kSmallScheme) +
                                                   R"(information_categories: [report]
purposes: [prevent]
peers:
  - id: one-way
    ca: /dev/null
    holds: {max_classification: LOW}
    receives: {categories: [], purposes: [prevent]}
  - id: half-written
    ca: /dev/null
    holds: {max_classification: LOW}
    receives: {categories: [report], purposes: []}
    speaks_for: {organisations: [far]}
)",
                                               "w012.yaml");
  std::vector<std::string> warnings;
  for (const Diagnostic& diagnostic : result.diagnostics.sorted()) {
    if (diagnostic.code == Code::W012) warnings.push_back(to_string(diagnostic));
  }
  EXPECT_THAT(warnings,
              ElementsAre("w012.yaml:34:5: warning[W012]: peer 'one-way' can receive nothing: its 'receives' lists no "
                          "information categories (fine for a peer that only sends to this gateway)",
                          "w012.yaml:38:5: warning[W012]: peer 'half-written' can receive nothing: its 'receives' "
                          "lists no purposes, so every message routed to it by its 'speaks_for' is withheld"));
}

// ---- The shipped federation -------------------------------------------------------------------

const std::filesystem::path kPolicies = ICEGATE_SOURCE_DIR "/policies";
// Each gateway's policy file and its certificate's Common Name (its peer id).
constexpr std::pair<const char*, const char*> kGateways[] = {
    {"wm-ctu", "gw-wm-ctu"}, {"birmingham-cc", "gw-birmingham"}, {"staffordshire", "gw-staffordshire"}};

TEST(FederationPolicies, EachLoadsNamingTheOtherTwoAsPeers) {
  for (const auto& [gateway, id] : kGateways) {
    LoadResult result = load_policy(kPolicies / "federation" / (std::string(gateway) + ".yaml"));
    ASSERT_TRUE(result.policy) << gateway << "\n" << joined(rendered(result.diagnostics));
    EXPECT_THAT(rendered(result.diagnostics), IsEmpty()) << gateway;
    std::vector<std::string> peers;
    for (const Peer& peer : result.policy->source().peers) peers.push_back(peer.id);
    std::vector<std::string> others;
    for (const auto& [other, other_id] : kGateways) {
      if (other_id != id) others.push_back(other_id);
    }
    std::sort(peers.begin(), peers.end());
    std::sort(others.begin(), others.end());
    EXPECT_EQ(peers, others) << gateway;
  }
}

// With each gateway's CA made by the project's own PKI (as `icegate pki init
// pki/gw-...` would), every policy checks clean: no error, no warning.
TEST(FederationPolicies, CheckCleanWithEachGatewaysCa) {
  TempDir dir("federation");
  std::filesystem::create_directories(dir.path() / "schemes");
  std::filesystem::copy(kPolicies / "schemes" / "gsc-2014.yaml", dir.path() / "schemes" / "gsc-2014.yaml");
  std::filesystem::copy(kPolicies / "federation", dir.path() / "federation");
  for (const auto& [gateway, id] : kGateways) pki::init_ca(dir.path() / "federation" / "pki" / id, id);
  for (const auto& [gateway, id] : kGateways) {
    PolicyCheckResult result = check_policy(dir.path() / "federation" / (std::string(gateway) + ".yaml"));
    EXPECT_TRUE(result.policy) << gateway;
    EXPECT_THAT(rendered(result.diagnostics), IsEmpty()) << gateway;
  }
}

// The accreditations say what DOMAIN.md says: a council may hold
// OFFICIAL-SENSITIVE material, never SECRET; the neighbouring force's Special
// Branch may hold SECRET UK EYES ONLY; raw intelligence never reaches the council.
TEST(FederationPolicies, TheCouncilHoldsNothingSecretAndReceivesNoRawIntelligence) {
  LoadResult ctu = load_policy(kPolicies / "federation" / "wm-ctu.yaml");
  ASSERT_TRUE(ctu.policy);
  const Peer* council = find_peer(ctu.policy->source(), "gw-birmingham");
  const Peer* force = find_peer(ctu.policy->source(), "gw-staffordshire");
  ASSERT_TRUE(council && force);
  EXPECT_TRUE(may_hold(*ctu.policy, *council, {"OFFICIAL-SENSITIVE", {"PERSONAL"}}).allowed());
  EXPECT_EQ(may_hold(*ctu.policy, *council, {"SECRET", {}}).refusal, PeerRefusal::above_ceiling);
  EXPECT_EQ(may_hold(*ctu.policy, *council, {"SECRET", {"UK EYES ONLY"}}).refusal, PeerRefusal::above_ceiling);
  EXPECT_EQ(may_receive(*council, "intelligence-report", "prevent").refusal, PeerRefusal::category_not_received);
  EXPECT_TRUE(may_receive(*council, "ct-problem-profile", "prevent").allowed());
  EXPECT_TRUE(may_hold(*ctu.policy, *force, {"SECRET", {"UK EYES ONLY"}}).allowed());
  EXPECT_TRUE(may_receive(*force, "intelligence-report", "pursue").allowed());
  const RemoteRouting routing = route_remote(
      *ctu.policy, std::vector<Addressee>{{AddresseeKind::organisation, "birmingham-cc"},
                                          {AddresseeKind::role, "staffs-ctio"},
                                          {AddresseeKind::organisation, "wm-ctu"}});
  ASSERT_EQ(routing.routes.size(), 2u);
  EXPECT_EQ(routing.routes[0].peer, council);
  EXPECT_EQ(routing.routes[1].peer, force);
  EXPECT_THAT(routing.unresolved, IsEmpty());
}

// ---- A sender at another gateway: `from: {peers: [...]}` ------------------------------------------

// n1 and n2 are local; gw-a and gw-b are peers. `all` (an empty `from`)
// covers every local sender; `from-a` covers what was originated at gw-a.
constexpr std::string_view kRemoteSenders = R"(information_categories: [report, profile]
purposes: [prevent]
vetting: [{name: v, regular: HIGH}]
organisations: [{id: here, kind: ctu}]
roles: [{id: analyst}]
nodes:
  - {id: n1, organisation: here, role: analyst, vetting: v}
  - {id: n2, organisation: here, role: analyst, vetting: v}
rules:
  - {id: all, effect: permit, categories: [report]}
  - id: from-a
    effect: permit
    categories: [profile]
    from: {peers: [gw-a]}
    to: {nodes: [n2]}
    max_classification: MID
peers:
  - id: gw-a
    ca: a.crt
    holds: {max_classification: HIGH}
    receives: {categories: [report], purposes: [prevent]}
  - id: gw-b
    ca: b.crt
    holds: {max_classification: HIGH}
    receives: {categories: [report], purposes: [prevent]}
)";

TEST(RemoteSenders, ARuleNamingAPeerMatchesOnlyMessagesOriginatedThere) {
  auto policy = testing::load_inline(kRemoteSenders);
  ASSERT_TRUE(policy);
  EXPECT_THAT(policy->source().rules.at(1).from.peers, ElementsAre("gw-a"));
  const std::vector<Label> labels{{"LOW", {}}};
  DecisionRequest request{"far-analyst", "n2", "profile", "prevent", labels};
  request.sender_gateway = "gw-a";
  PolicyDecision decision = policy->decide(request);
  EXPECT_EQ(decision.decision, Decision::release) << decision.reason;
  EXPECT_THAT(decision.rules, ElementsAre(1));
  // Its `to`, its classification bound and the recipient's vetting hold as for any rule.
  request.recipient = "n1";
  EXPECT_EQ(policy->decide(request).decision, Decision::deny);
  request.recipient = "n2";
  const std::vector<Label> high{{"HIGH", {}}};
  request.portion_labels = high;
  EXPECT_THAT(policy->decide(request).reason, HasSubstr("from-a"));
  EXPECT_EQ(policy->decide(request).decision, Decision::deny);
  // Another peer's message, and a local sender, are not matched by it.
  request.portion_labels = labels;
  request.sender_gateway = "gw-b";
  EXPECT_EQ(policy->decide(request).decision, Decision::deny);
  request.sender_gateway = "";
  request.sender = "n1";
  EXPECT_EQ(policy->decide(request).decision, Decision::deny);
}

TEST(RemoteSenders, AnEmptyFromNeverMatchesASenderAtAnotherGateway) {
  auto policy = testing::load_inline(kRemoteSenders);
  ASSERT_TRUE(policy);
  const std::vector<Label> labels{{"LOW", {}}};
  DecisionRequest request{"n1", "n2", "report", "prevent", labels};
  EXPECT_EQ(policy->decide(request).decision, Decision::release);
  request.sender_gateway = "gw-a";
  const PolicyDecision remote = policy->decide(request);
  EXPECT_EQ(remote.decision, Decision::deny);
  EXPECT_THAT(remote.reason, HasSubstr("no rule permits report for prevent from n1 to n2"));
  request.sender_gateway = "gw-nowhere";
  EXPECT_THAT(policy->decide(request).reason, HasSubstr("at gateway 'gw-nowhere', which is not a peer"));
}

TEST(RemoteSenders, PeersOnlyInARulesFromAloneAndNamingPeers) {
  const std::string text = std::string("policy: inline\n") + std::string(testing::kSmallScheme) +
                           R"(information_categories: [report]
purposes: [prevent]
vetting: [{name: v, regular: HIGH}]
nodes:
  - {id: n1, vetting: v}
rules:
  - {id: in-to, effect: permit, to: {peers: [gw-a]}}
  - {id: beside, effect: permit, from: {peers: [gw-a], nodes: [n1]}}
  - {id: unknown, effect: permit, from: {peers: [gw-z]}}
  - {id: none, effect: permit, from: {peers: []}}
events:
  - {id: go, triggered_by: {peers: [gw-a]}}
peers:
  - id: gw-a
    ca: a.crt
    holds: {max_classification: HIGH}
    receives: {categories: [report], purposes: [prevent]}
)";
  LoadResult result = load_policy_text(text, "bad.yaml");
  EXPECT_FALSE(result.policy);
  std::vector<std::string> problems;
  for (const std::string& line : rendered(result.diagnostics)) {
    if (line.find("peers") != std::string::npos || line.find("gw-z") != std::string::npos) problems.push_back(line);
  }
  EXPECT_THAT(problems, ::testing::UnorderedElementsAre(
                            HasSubstr("error[P056]: 'peers' may appear only in a rule's 'from' (a message received "
                                      "from another gateway), not in 'triggered_by'"),
                            HasSubstr("error[P056]: 'peers' may appear only in a rule's 'from' (a message received "
                                      "from another gateway), not in 'to'"),
                            HasSubstr("error[P056]: 'peers' cannot be combined with 'nodes' in one 'from'"),
                            HasSubstr("error[P011]: undefined peer 'gw-z'"),
                            HasSubstr("error[P056]: 'peers' in 'from' names no peer")))
      << joined(rendered(result.diagnostics));
}

TEST(RemoteSenders, CheckDoesNotReportARuleForRemoteSendersAsMatchingNoNode) {
  TempDir dir("remote-senders");
  const std::string text = std::string("policy: inline\n") + std::string(testing::kSmallScheme) +
                           std::string(kRemoteSenders);
  for (const char* ca : {"a", "b"}) pki::init_ca(dir.path() / ca, ca);
  std::string rewritten = text;
  for (const char* ca : {"a", "b"}) {
    const std::string from = fmt::format("ca: {}.crt", ca);
    rewritten.replace(rewritten.find(from), from.size(), fmt::format("ca: {}/ca.crt", ca));
  }
  {
    std::ofstream out(dir.path() / "policy.yaml");
    out << rewritten;
  }
  PolicyCheckResult result = check_policy(dir.path() / "policy.yaml");
  ASSERT_TRUE(result.policy) << joined(rendered(result.diagnostics));
  for (const std::string& line : rendered(result.diagnostics)) EXPECT_THAT(line, ::testing::Not(HasSubstr("W001")));
}

TEST(RemoteSenders, FormatPutsPeersLastInAMatcher) {
  const std::string text = "policy: p\nscheme: s.yaml\nrules:\n  - id: r\n    effect: permit\n"
                           "    from: {peers: [gw-a]}\n";
  FormatResult formatted = format_policy_yaml(text, "p.yaml");
  ASSERT_TRUE(formatted.ok) << joined(rendered(formatted.diagnostics));
  EXPECT_THAT(formatted.text, HasSubstr("    from:\n      peers: [gw-a]\n"));
}

// ---- The tools that read a policy -----------------------------------------------------------------

TEST(PeersTools, FormatKeepsAPeerAndPutsItsKeysInOrder) {
  const std::string text = "policy: p\nscheme: s.yaml\npeers:\n  - receives: {purposes: [prevent], categories: [report]}\n"
                           "    ca: gw.crt  # the peer's CA\n    id: gw\n    holds: {max_classification: LOW}\n";
  FormatResult formatted = format_policy_yaml(text, "p.yaml");
  ASSERT_TRUE(formatted.ok) << joined(rendered(formatted.diagnostics));
  EXPECT_EQ(formatted.text,
            "policy: p\nscheme: s.yaml\npeers:\n  - id: gw\n    ca: gw.crt  # the peer's CA\n    holds:\n"
            "      max_classification: LOW\n    receives:\n      categories: [report]\n      purposes: [prevent]\n");
  FormatResult again = format_policy_yaml(formatted.text, "p.yaml");
  ASSERT_TRUE(again.ok);
  EXPECT_FALSE(again.changed);
}

TEST(PeersTools, DiffReportsAChangedAccreditationAndPeersOnOneSide) {
  auto before = peers_policy();
  std::string changed(kPeers);
  auto replace = [&changed](std::string_view from, std::string_view to) {
    const auto at = changed.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    changed.replace(at, from.size(), to);
  };
  replace("holds: {max_classification: MID, categories: [EARS]}",
          "holds: {max_classification: HIGH, categories: [EARS, EYES]}");
  replace("receives: {categories: [report], purposes: [prevent]}",
          "receives: {categories: [report], purposes: [prevent, pursue]}");
  replace("  - id: gw-quiet\n", "  - id: gw-new\n");
  auto after = testing::load_inline(changed, "/srv/gateway/policy.yaml");
  ASSERT_TRUE(before && after);

  EXPECT_TRUE(diff_policies(*before, *before).equivalent());
  const PolicyDiff diff = diff_policies(*before, *after);
  EXPECT_FALSE(diff.equivalent()) << "a changed accreditation is a change, though no node-to-node decision differs";
  EXPECT_TRUE(diff.groups.empty());
  EXPECT_THAT(diff.peers_only_old, ElementsAre("gw-quiet"));
  EXPECT_THAT(diff.peers_only_new, ElementsAre("gw-new"));
  ASSERT_EQ(diff.peers_changed.size(), 1u);
  EXPECT_EQ(diff.peers_changed[0].peer, "gw-a");
  EXPECT_THAT(diff.peers_changed[0].changes,
              ElementsAre("holds max_classification MID -> HIGH", "holds categories added EYES",
                          "receives purposes added pursue"));

  std::ostringstream text;
  write_diff_text(text, diff);
  EXPECT_THAT(text.str(), HasSubstr("peers only in OLD: gw-quiet\npeers only in NEW: gw-new\n"
                                    "peer gw-a changed: holds max_classification MID -> HIGH; holds categories added "
                                    "EYES; receives purposes added pursue\n"));
  std::ostringstream json;
  write_diff_json(json, diff);
  EXPECT_THAT(json.str(), HasSubstr("\"peers_changed\":[{\"peer\":\"gw-a\",\"changes\":[\"holds max_classification "
                                    "MID -> HIGH\",\"holds categories added EYES\",\"receives purposes added "
                                    "pursue\"]}]"));
  EXPECT_THAT(json.str(), HasSubstr("\"peers\":[\"gw-quiet\"]"));
}

TEST(PeersTools, EveryKeyOfAPeerIsCompared) {
  Peer before;
  before.id = "gw";
  before.address = "a:1";
  before.ca = "/a.crt";
  before.holds = {"LOW", {"X"}, {}};
  before.receives = {{"r"}, {"p"}, {}};
  before.speaks_for = {{"o"}, {"n"}, {"ro"}, {}};
  Peer after = before;
  EXPECT_THAT(peer_changes(before, after), IsEmpty());
  after.address = "";
  after.ca = "/b.crt";
  after.holds.categories = {};
  after.receives.categories = {"r", "s"};
  after.speaks_for = {{}, {"n", "m"}, {"ro2"}, {}};
  EXPECT_THAT(peer_changes(before, after),
              ElementsAre("address a:1 -> (none)", "ca /a.crt -> /b.crt", "holds categories removed X",
                          "receives categories added s", "speaks_for organisations removed o",
                          "speaks_for nodes added m", "speaks_for roles added ro2", "speaks_for roles removed ro"));
}

}  // namespace
}  // namespace icegate::policy

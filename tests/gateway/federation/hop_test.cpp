// A decision at every hop (gateway/federation/hop.hpp) across the three
// example gateways of policies/federation/, each with its own PKI made here:
// the West Midlands CTU (gw-wm-ctu), Birmingham City Council (gw-birmingham)
// and Staffordshire Police (gw-staffordshire). Every frame goes through the
// wire (encode, serialise, parse, decode) as the next gateway receives it.
#include "gateway/federation/hop.hpp"
#include "gateway/federation/hop_steps.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/audit/trace.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/pki/pki.hpp"
#include "gateway/policy/translate.hpp"
#include "gateway/server/audit_records.hpp"
#include "gateway/wire/codec.hpp"
#include "tests/gateway/audit/audit_fixture.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::federation {
namespace {

using icegate::testing::TemporaryDirectory;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::int64_t now() { return to_unix_ms(SystemClock().now()); }

const std::filesystem::path kFederation = std::filesystem::path(ICEGATE_SOURCE_DIR) / "policies" / "federation";

constexpr const char* kSecretBody = "Source reporting: covert human intelligence, SECRET-ONLY-9d1f";
constexpr const char* kLocsenBody = "Locations of the addresses searched: LOCSEN-ONLY-51aa";

// The example policy `file`, each of `edits` (text, replacement) made to its text.
std::shared_ptr<const policy::CompiledPolicy> load(
    const std::string& file, const std::vector<std::pair<std::string, std::string>>& edits = {}) {
  const std::filesystem::path path = kFederation / file;
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& [from, to] : edits) {
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
  }
  policy::LoadResult loaded = policy::load_policy_text(text, path);
  std::string problems;
  for (const policy::Diagnostic& diagnostic : loaded.diagnostics.all()) problems += diagnostic.message + "\n";
  EXPECT_TRUE(loaded.policy) << file << ":\n" << problems;
  return loaded.policy;
}

// `text` with every occurrence of each `from` replaced.
std::string replace_all(std::string text, const std::vector<std::pair<std::string, std::string>>& edits) {
  for (const auto& [from, to] : edits) {
    EXPECT_NE(text.find(from), std::string::npos) << from;
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  }
  return text;
}

// Staffordshire's gateway as a region still marking under GPMS (2008) and
// accepting GSC (2014) labels: its ceilings written in GPMS, no LOCSEN (GPMS
// has no such descriptor). `edits` are made after.
std::shared_ptr<const policy::CompiledPolicy> gpms_staffordshire(
    const std::vector<std::pair<std::string, std::string>>& edits = {}) {
  const std::filesystem::path path = kFederation / "staffordshire.yaml";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text = replace_all(std::move(text),
                     {{"scheme: ../schemes/gsc-2014.yaml",
                       "scheme: ../schemes/gpms-2008.yaml\naccept_schemes: [../schemes/gsc-2014.yaml]"},
                      {"OFFICIAL-SENSITIVE", "RESTRICTED"},
                      {"occasional: SECRET\n", "occasional: CONFIDENTIAL\n"},
                      {", LOCSEN]", "]"}});
  if (!edits.empty()) text = replace_all(std::move(text), edits);
  policy::LoadResult loaded = policy::load_policy_text(text, path);
  std::string problems;
  for (const policy::Diagnostic& diagnostic : loaded.diagnostics.all()) problems += diagnostic.message + "\n";
  EXPECT_TRUE(loaded.policy) << problems;
  return loaded.policy;
}

// A GSC policy of the example that also accepts GPMS labels.
const std::pair<std::string, std::string> kAcceptGpms{
    "scheme: ../schemes/gsc-2014.yaml",
    "scheme: ../schemes/gsc-2014.yaml\naccept_schemes: [../schemes/gpms-2008.yaml]"};

// Each gateway's PKI: its CA, and its own certificate (CN = its peer id),
// made once for the suite, and a fourth region's that no policy names.
class Pkis {
 public:
  Pkis() {
    for (const char* gateway : {"gw-wm-ctu", "gw-birmingham", "gw-staffordshire", "gw-yorkshire"}) {
      pki::init_ca(dir(gateway), gateway);
      pki::issue_node(dir(gateway), gateway);
    }
  }
  std::filesystem::path dir(const std::string& gateway) const { return temporary_ / gateway; }
  std::shared_ptr<const OriginGateway> identity(const std::string& gateway) const {
    const pki::Paths paths = pki::node_paths(dir(gateway), gateway);
    return std::make_shared<OriginGateway>(paths.key, paths.certificate);
  }
  pki::TrustedCa ca(const std::string& gateway) const { return pki::TrustedCa(pki::ca_paths(dir(gateway)).certificate); }

 private:
  TemporaryDirectory temporary_;
};

class HopTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pkis_ = new Pkis; }
  static void TearDownTestSuite() {
    delete pkis_;
    pkis_ = nullptr;
  }

  // `gateway`'s hop under `policy`, trusting each peer's CA.
  static Hop hop(const std::string& gateway, std::shared_ptr<const policy::CompiledPolicy> policy) {
    std::map<std::string, pki::TrustedCa, std::less<>> cas;
    for (const policy::Peer& peer : policy->source().peers) cas.emplace(peer.id, pkis_->ca(peer.id));
    return Hop(std::move(policy), pkis_->identity(gateway), std::move(cas));
  }
  static Hop ctu() { return hop("gw-wm-ctu", load("wm-ctu.yaml")); }
  static Hop birmingham() { return hop("gw-birmingham", load("birmingham-cc.yaml")); }
  static Hop staffordshire() { return hop("gw-staffordshire", load("staffordshire.yaml")); }
  // The CTU's gateway with Staffordshire's neighbourhood policing reached
  // through the council's gateway rather than directly: a transit hop.
  static Hop ctu_through_the_council() {
    return hop("gw-wm-ctu", load("wm-ctu.yaml", {{"      organisations: [staffs-special-branch, staffs-police]",
                                                   "      organisations: [staffs-special-branch]"},
                                                  {"      organisations: [birmingham-cc]\n",
                                                   "      organisations: [birmingham-cc, staffs-police]\n"}}));
  }

  // A CTU analyst's profile for the council: one portion at SECRET, which the
  // council's gateway may not hold, and three it may.
  static Message profile(std::vector<Addressee> addressees = {{AddresseeKind::organisation, "birmingham-cc"}}) {
    Message message;
    message.id = make_uuid();
    message.originator = "wm-ctu-analyst-1";
    message.created_unix_ms = now();
    message.addressees = std::move(addressees);
    message.category = "ct-problem-profile";
    message.purpose = "prevent";
    message.title = "Sparkhill neighbourhood profile";
    message.label = {"SECRET", {"UK EYES ONLY"}};
    message.portions = {{"1", {"OFFICIAL", {}}, "Summary for partners."},
                        {"2", {"SECRET", {"UK EYES ONLY"}}, kSecretBody},
                        {"3", {"OFFICIAL-SENSITIVE", {"PERSONAL"}}, "Named individuals of concern."},
                        {"4", {"OFFICIAL-SENSITIVE", {"LOCSEN"}}, kLocsenBody}};
    return message;
  }

  // A message bound by `gateway` as it is, bypassing that gateway's own
  // checks: what a misbehaving or misconfigured peer could send.
  static ForwardedMessage bound_by(const std::string& gateway, Message message) {
    salt_portions(message);
    Route route = bind_labels(message, *pkis_->identity(gateway), now());
    return {std::move(message), std::move(route)};
  }

  static std::string serialised(const ForwardedMessage& forwarded) {
    v1::Frame frame;
    wire::encode(forwarded, *frame.mutable_forward());
    return frame.SerializeAsString();
  }
  // What the next gateway decodes from the frame it receives.
  static ForwardedMessage over_the_wire(const ForwardedMessage& forwarded) {
    v1::Frame received;
    EXPECT_TRUE(received.ParseFromString(serialised(forwarded)));
    wire::DecodeProblem problem;
    auto decoded = wire::decode(received.forward(), wire::ForwardLimits{}, problem);
    EXPECT_TRUE(decoded) << wire::to_string(problem);
    return decoded.value_or(forwarded);
  }

  static const PeerForward& to_peer(const std::vector<PeerForward>& hops, const std::string& peer) {
    const auto it = std::find_if(hops.begin(), hops.end(), [&](const PeerForward& h) { return h.peer == peer; });
    EXPECT_NE(it, hops.end()) << "no hop to " << peer;
    return *it;
  }

  static const LocalDecision* decision_for(const ReceiveResult& result, const std::string& node) {
    for (const LocalDecision& local : result.local) {
      if (local.decision.node_id == node) return &local;
    }
    return nullptr;
  }

  // `wire`: through the codec first. The codec itself refuses a route that
  // names a gateway twice, is too long or miscounts its hops; the hop checks
  // them again (it is given a model object, wherever it came from), tested
  // without the wire.
  static void expect_refused(const Hop& at, const std::string& from, const ForwardedMessage& frame,
                             HopRefusal refusal, const std::string& code, const std::string& naming,
                             bool wire = true) {
    const ReceiveResult result = at.receive(from, wire ? over_the_wire(frame) : frame);
    ASSERT_TRUE(result.refused) << "accepted, but expected " << code;
    EXPECT_EQ(result.refused->refusal, refusal) << result.refused->code() << ": " << result.refused->detail;
    EXPECT_EQ(result.refused->code(), code);
    EXPECT_THAT(result.refused->detail, HasSubstr(naming));
    EXPECT_THAT(result.local, IsEmpty());
    EXPECT_THAT(result.onward, IsEmpty());
  }

  static inline Pkis* pkis_ = nullptr;
};

// ---- 1. Origin -------------------------------------------------------------------------

TEST_F(HopTest, ASecretPortionNeverAppearsInTheFrameBuiltForTheCouncil) {
  const Hop origin = ctu();
  const OriginResult result = origin.forward_from_origin(profile(), now());
  ASSERT_EQ(result.hops.size(), 1u);
  const PeerForward& hop = result.hops.front();
  EXPECT_EQ(hop.peer, "gw-birmingham");
  EXPECT_EQ(hop.outcome, HopOutcome::forwarded_redacted);
  EXPECT_THAT(hop.forwarded, ElementsAre("1", "3", "4"));
  ASSERT_EQ(hop.withheld.size(), 1u);
  EXPECT_EQ(hop.withheld[0].portion_id, "2");
  EXPECT_EQ(hop.withheld[0].reason, policy::PeerRefusal::above_ceiling);
  EXPECT_THAT(hop.withheld[0].detail, HasSubstr("SECRET is above gw-birmingham's accreditation"));
  ASSERT_TRUE(hop.frame);
  // On the wire: neither the body, nor the marking, nor the caveat.
  const std::string bytes = serialised(*hop.frame);
  EXPECT_EQ(bytes.find(kSecretBody), std::string::npos);
  EXPECT_EQ(bytes.find("SECRET"), std::string::npos);
  EXPECT_EQ(bytes.find("UK EYES ONLY"), std::string::npos);
  // The frame: its route, its label over what goes, and a binding only over what goes.
  EXPECT_EQ(hop.frame->route.origin_gateway, "gw-wm-ctu");
  EXPECT_EQ(hop.frame->route.hop_count, 1u);
  EXPECT_THAT(hop.frame->route.via, IsEmpty());
  EXPECT_EQ(hop.frame->route.binding.portion_digests.size(), 3u);
  EXPECT_EQ(hop.frame->message.label, (Label{"OFFICIAL-SENSITIVE", {"LOCSEN", "PERSONAL"}}));
  EXPECT_THAT(hop.frame->message.addressees, ElementsAre(Addressee{AddresseeKind::organisation, "birmingham-cc"}));
  EXPECT_FALSE(birmingham().check_frame("gw-wm-ctu", over_the_wire(*hop.frame)));
}

TEST_F(HopTest, EachNextHopGetsOnlyItsOwnAddresseesAndUnresolvedOnesAreReported) {
  const Message message = profile({{AddresseeKind::organisation, "birmingham-cc"},
                                   {AddresseeKind::role, "staffs-ctio"},
                                   {AddresseeKind::role, "ct-analyst"},
                                   {AddresseeKind::organisation, "nowhere-cc"}});
  const OriginResult result = ctu().forward_from_origin(message, now());
  ASSERT_EQ(result.hops.size(), 2u);
  const PeerForward& council = to_peer(result.hops, "gw-birmingham");
  const PeerForward& force = to_peer(result.hops, "gw-staffordshire");
  EXPECT_THAT(council.frame->message.addressees,
              ElementsAre(Addressee{AddresseeKind::organisation, "birmingham-cc"}));
  EXPECT_THAT(force.frame->message.addressees, ElementsAre(Addressee{AddresseeKind::role, "staffs-ctio"}));
  // Staffordshire may hold SECRET UK EYES ONLY: everything goes.
  EXPECT_EQ(force.outcome, HopOutcome::forwarded);
  EXPECT_THAT(force.forwarded, ElementsAre("1", "2", "3", "4"));
  EXPECT_THAT(result.unresolved, ElementsAre(Addressee{AddresseeKind::organisation, "nowhere-cc"}));
}

TEST_F(HopTest, NothingIsSentToAPeerThatMayNotReceiveTheCategoryOrPurpose) {
  Message message = profile();
  message.category = "intelligence-report";  // the council's gateway never receives raw intelligence
  PeerForward hop = ctu().forward_from_origin(message, now()).hops.at(0);
  EXPECT_EQ(hop.outcome, HopOutcome::not_sent);
  EXPECT_EQ(hop.refusal, policy::PeerRefusal::category_not_received);
  EXPECT_THAT(hop.reason, HasSubstr("may not receive information category 'intelligence-report'"));
  EXPECT_FALSE(hop.frame);
  EXPECT_THAT(hop.forwarded, IsEmpty());

  message = profile();
  message.purpose = "pursue";
  hop = ctu().forward_from_origin(message, now()).hops.at(0);
  EXPECT_EQ(hop.outcome, HopOutcome::not_sent);
  EXPECT_EQ(hop.refusal, policy::PeerRefusal::purpose_not_received);
  EXPECT_FALSE(hop.frame);
}

TEST_F(HopTest, NothingIsSentWhenEveryPortionIsAboveThePeersAccreditation) {
  Message message = profile();
  message.portions = {message.portions[1]};
  const PeerForward hop = ctu().forward_from_origin(message, now()).hops.at(0);
  EXPECT_EQ(hop.outcome, HopOutcome::not_sent);
  EXPECT_EQ(hop.refusal, policy::PeerRefusal::above_ceiling);
  EXPECT_THAT(hop.reason, HasSubstr("every portion is withheld from gw-birmingham"));
  EXPECT_FALSE(hop.frame);
}

// ---- 2. Destination ----------------------------------------------------------------------

TEST_F(HopTest, TheDestinationDecidesEachRecipientUnderItsOwnPolicy) {
  const PeerForward hop = ctu().forward_from_origin(profile(), now()).hops.at(0);
  const ReceiveResult result = birmingham().receive("gw-wm-ctu", over_the_wire(*hop.frame));
  ASSERT_TRUE(result.accepted()) << result.refused->detail;
  EXPECT_THAT(result.onward, IsEmpty());
  ASSERT_EQ(result.local.size(), 4u);  // every node of birmingham-cc
  for (const char* lead : {"bcc-chief-executive", "bcc-prevent-coordinator", "bcc-critical-reader"}) {
    const LocalDecision* local = decision_for(result, lead);
    ASSERT_TRUE(local) << lead;
    EXPECT_EQ(local->decision.decision, Decision::release) << lead << ": " << local->decision.reason;
    EXPECT_THAT(local->decision.released_portion_ids, ElementsAre("1", "3", "4"));
    EXPECT_THAT(local->decision.rule_ids, ElementsAre("ctu-products-to-council-leads"));
  }
  // The CTU's gateway decided nothing for the housing officer: the council's policy does.
  const LocalDecision* housing = decision_for(result, "bcc-housing-officer-1");
  ASSERT_TRUE(housing);
  EXPECT_EQ(housing->decision.decision, Decision::deny);
  EXPECT_THAT(housing->decision.reason, HasSubstr("no rule permits ct-problem-profile"));
}

TEST_F(HopTest, ALocalRuleNeverMatchesARemoteSenderNorARemoteRuleALocalOne) {
  // The same profile from a council node: the rule naming gw-wm-ctu does not apply.
  const auto policy = load("birmingham-cc.yaml");
  const std::vector<Label> labels{{"OFFICIAL", {}}};
  policy::DecisionRequest local{"bcc-housing-officer-1", "bcc-prevent-coordinator", "ct-problem-profile", "prevent",
                                labels};
  EXPECT_EQ(policy->decide(local).decision, Decision::deny);
  // From gw-staffordshire, which no rule of the council's names: default deny, naming the gateway.
  policy::DecisionRequest remote{"staffs-ctio-1", "bcc-prevent-coordinator", "ct-problem-profile", "prevent", labels};
  remote.sender_gateway = "gw-staffordshire";
  EXPECT_EQ(policy->decide(remote).decision, Decision::deny);
  // From a gateway that is not a peer at all.
  remote.sender_gateway = "gw-yorkshire";
  const policy::PolicyDecision unknown = policy->decide(remote);
  EXPECT_EQ(unknown.decision, Decision::deny);
  EXPECT_THAT(unknown.reason, HasSubstr("at gateway 'gw-yorkshire', which is not a peer"));
  // A local rule (front-line-reports: housing officers to the coordinator)
  // does not match a remote sender, even one whose id names such a node.
  policy::DecisionRequest posing{"bcc-housing-officer-1", "bcc-prevent-coordinator", "tension-report", "prevent",
                                 labels};
  EXPECT_EQ(policy->decide(posing).decision, Decision::release);
  posing.sender_gateway = "gw-wm-ctu";
  EXPECT_EQ(policy->decide(posing).decision, Decision::deny);
}

// ---- 2. Transit ------------------------------------------------------------------------------

TEST_F(HopTest, ATransitGatewayWithholdsMoreAndWhatRemainsVerifiesAtTheDestination) {
  const Message message = profile({{AddresseeKind::organisation, "staffs-police"}});
  Message tension = message;
  tension.category = "tension-report";  // what the council forwards to Staffordshire
  const PeerForward first = ctu_through_the_council().forward_from_origin(tension, now()).hops.at(0);
  ASSERT_EQ(first.peer, "gw-birmingham");
  ASSERT_TRUE(first.frame) << first.reason;
  EXPECT_THAT(first.forwarded, ElementsAre("1", "3", "4"));  // SECRET withheld at the first hop

  const ReceiveResult transit = birmingham().receive("gw-wm-ctu", over_the_wire(*first.frame));
  ASSERT_TRUE(transit.accepted()) << transit.refused->detail;
  EXPECT_THAT(transit.local, IsEmpty());
  ASSERT_EQ(transit.onward.size(), 1u);
  const PeerForward& second = transit.onward[0];
  EXPECT_EQ(second.peer, "gw-staffordshire");
  // The council's gateway decides for itself: Staffordshire may not hold LOCSEN.
  EXPECT_EQ(second.outcome, HopOutcome::forwarded_redacted);
  EXPECT_THAT(second.forwarded, ElementsAre("1", "3"));
  ASSERT_EQ(second.withheld.size(), 1u);
  EXPECT_EQ(second.withheld[0].portion_id, "4");
  EXPECT_EQ(second.withheld[0].reason, policy::PeerRefusal::category_not_held);
  ASSERT_TRUE(second.frame);
  EXPECT_EQ(second.frame->route.origin_gateway, "gw-wm-ctu");
  EXPECT_THAT(second.frame->route.via, ElementsAre("gw-birmingham"));
  EXPECT_EQ(second.frame->route.hop_count, 2u);
  EXPECT_EQ(serialised(*second.frame).find(kLocsenBody), std::string::npos);

  const ReceiveResult destination = staffordshire().receive("gw-birmingham", over_the_wire(*second.frame));
  ASSERT_TRUE(destination.accepted()) << destination.refused->detail;
  const LocalDecision* inspector = decision_for(destination, "staffs-npt-inspector-1");
  ASSERT_TRUE(inspector);
  EXPECT_EQ(inspector->decision.decision, Decision::release) << inspector->decision.reason;
  EXPECT_THAT(inspector->decision.released_portion_ids, ElementsAre("1", "3"));
  EXPECT_THAT(inspector->decision.rule_ids, ElementsAre("partner-reporting-to-neighbourhood"));
}

// ---- 2. Refusals ---------------------------------------------------------------------------

TEST_F(HopTest, ATamperedLabelBodyOrAddedPortionIsRefusedAsNotBound) {
  const ForwardedMessage good = *ctu().forward_from_origin(profile(), now()).hops.at(0).frame;
  ForwardedMessage relabelled = good;
  relabelled.message.portions[1].label = {"OFFICIAL", {}};  // portion 3, its PERSONAL descriptor stripped
  expect_refused(birmingham(), "gw-wm-ctu", relabelled, HopRefusal::binding, "binding-portion-not-bound", "3");
  ForwardedMessage rewritten = good;
  rewritten.message.portions[0].body = "Summary for partners, amended.";
  expect_refused(birmingham(), "gw-wm-ctu", rewritten, HopRefusal::binding, "binding-portion-not-bound", "1");
  ForwardedMessage added = good;
  added.message.portions.push_back({"5", {"OFFICIAL", {}}, "Added in transit."});
  expect_refused(birmingham(), "gw-wm-ctu", added, HopRefusal::binding, "binding-portion-not-bound", "5");
  ForwardedMessage recategorised = good;
  recategorised.message.category = "consequence-briefing";
  expect_refused(birmingham(), "gw-wm-ctu", recategorised, HopRefusal::binding, "binding-field-altered", "category");
}

TEST_F(HopTest, APortionBeyondTheSendingPeersAccreditationIsRefused) {
  // The council's gateway binds and sends Staffordshire a SECRET portion it
  // should never have had: Staffordshire accredits it for OFFICIAL-SENSITIVE.
  Message message = profile({{AddresseeKind::organisation, "staffs-police"}});
  message.originator = "bcc-prevent-coordinator";
  message.category = "tension-report";
  message.portions = {message.portions[0], message.portions[1]};
  expect_refused(staffordshire(), "gw-birmingham", bound_by("gw-birmingham", message),
                 HopRefusal::beyond_accreditation, "beyond-accreditation",
                 "portion 2 (SECRET/UK EYES ONLY) is beyond what gw-birmingham is accredited to hold");
  // A category it may not hold, at a classification it may.
  message.portions = {{"1", {"OFFICIAL-SENSITIVE", {"LOCSEN"}}, "Locations."}};
  expect_refused(staffordshire(), "gw-birmingham", bound_by("gw-birmingham", message),
                 HopRefusal::beyond_accreditation, "beyond-accreditation", "may not hold category LOCSEN");
}

TEST_F(HopTest, WhatThisPolicyDoesNotKnowOrItsOwnNodesNamesAreRefused) {
  Message message = profile({{AddresseeKind::organisation, "birmingham-cc"}});
  message.portions = {message.portions[0]};
  message.category = "intelligence-report";  // not a category the council's policy declares
  expect_refused(birmingham(), "gw-wm-ctu", bound_by("gw-wm-ctu", message), HopRefusal::unknown_category,
                 "unknown-category", "'intelligence-report'");
  message.category = "ct-problem-profile";
  message.purpose = "pursue";
  expect_refused(birmingham(), "gw-wm-ctu", bound_by("gw-wm-ctu", message), HopRefusal::unknown_purpose,
                 "unknown-purpose", "'pursue'");
  message.purpose = "prevent";
  message.originator = "bcc-chief-executive";
  expect_refused(birmingham(), "gw-wm-ctu", bound_by("gw-wm-ctu", message), HopRefusal::originator_is_local,
                 "originator-is-local", "bcc-chief-executive");
}

TEST_F(HopTest, LoopsForeignOriginsAndMalformedRoutesAreRefused) {
  const Hop stafford = staffordshire();
  Message message = profile({{AddresseeKind::role, "staffs-ctio"}});
  message.portions = {message.portions[0]};
  const ForwardedMessage from_ctu = bound_by("gw-wm-ctu", message);

  ForwardedMessage through_self = from_ctu;
  through_self.route = onward(onward(through_self.route, "gw-staffordshire"), "gw-birmingham");
  expect_refused(stafford, "gw-birmingham", through_self, HopRefusal::route_names_this_gateway,
                 "route-names-this-gateway", "gw-staffordshire");

  ForwardedMessage twice = from_ctu;
  twice.route = onward(onward(twice.route, "gw-birmingham"), "gw-birmingham");
  expect_refused(stafford, "gw-birmingham", twice, HopRefusal::route_loop, "route-loop", "gw-birmingham twice",
                 false);

  // An addressee this gateway would route back to where the message came from.
  Message back = message;
  back.addressees = {{AddresseeKind::role, "ct-analyst"}};
  expect_refused(stafford, "gw-wm-ctu", bound_by("gw-wm-ctu", back), HopRefusal::route_loop, "route-loop",
                 "routed back to gw-wm-ctu");

  ForwardedMessage too_long = from_ctu;
  for (int i = 0; i < 8; ++i) too_long.route = onward(too_long.route, "gw-" + std::to_string(i));
  too_long.route = onward(too_long.route, "gw-birmingham");
  expect_refused(stafford, "gw-birmingham", too_long, HopRefusal::route_too_long, "route-too-long", "10 links", false);

  ForwardedMessage miscounted = from_ctu;
  miscounted.route.hop_count = 3;
  expect_refused(stafford, "gw-wm-ctu", miscounted, HopRefusal::route_malformed, "route-malformed", "should be 1", false);

  // From the council, claiming the CTU sent it directly.
  expect_refused(stafford, "gw-birmingham", from_ctu, HopRefusal::route_malformed, "route-malformed",
                 "the route's last gateway is gw-wm-ctu");

  // Originated at a gateway no policy here names: no CA to verify it.
  Message foreign = message;
  foreign.originator = "wy-ctu-analyst-1";
  ForwardedMessage from_yorkshire = bound_by("gw-yorkshire", foreign);
  from_yorkshire.route = onward(from_yorkshire.route, "gw-wm-ctu");
  expect_refused(stafford, "gw-wm-ctu", from_yorkshire, HopRefusal::unknown_origin, "unknown-origin",
                 "gw-yorkshire is not a peer");

  // Signed by a certificate of another CA under a peer's name.
  ForwardedMessage impostor = bound_by("gw-yorkshire", message);
  impostor.route.origin_gateway = "gw-wm-ctu";
  expect_refused(stafford, "gw-wm-ctu", impostor, HopRefusal::binding, "binding-certificate-not-from-ca", "");

  // A sender that is not a peer at all (the link would not have let it in).
  expect_refused(stafford, "gw-yorkshire", bound_by("gw-yorkshire", message), HopRefusal::unknown_peer,
                 "unknown-peer", "'gw-yorkshire' is not a peer");
}

TEST_F(HopTest, AFrameWithoutAddresseesOrPortionsIsMalformed) {
  Message message = profile();
  message.portions = {message.portions[0]};
  ForwardedMessage frame = bound_by("gw-wm-ctu", message);
  frame.message.addressees.clear();  // not bound: a hop narrows them
  expect_refused(birmingham(), "gw-wm-ctu", frame, HopRefusal::malformed, "malformed", "no addressees", false);
  frame = bound_by("gw-wm-ctu", message);
  frame.message.portions.clear();
  expect_refused(birmingham(), "gw-wm-ctu", frame, HopRefusal::malformed, "malformed", "no portions", false);
}

// ---- Different schemes ------------------------------------------------------------------------
//
// Staffordshire marks under GPMS (gpms_staffordshire), the CTU and the council
// under GSC. Each frame is bound under its origin's scheme; the receiver
// verifies the labels as signed, then translates them for its own decisions.

class SchemesTest : public HopTest {
 protected:
  static Hop gpms_stafford(const std::vector<std::pair<std::string, std::string>>& edits = {}) {
    return hop("gw-staffordshire", gpms_staffordshire(edits));
  }
  static Hop ctu_accepting_gpms() { return hop("gw-wm-ctu", load("wm-ctu.yaml", {kAcceptGpms})); }

  // Tension reporting from Staffordshire's CTIO to the CTU's analysts, marked under GPMS.
  static Message gpms_report(std::vector<Portion> portions,
                             std::vector<Addressee> addressees = {{AddresseeKind::role, "ct-analyst"}}) {
    Message message;
    message.id = make_uuid();
    message.originator = "staffs-ctio-1";
    message.created_unix_ms = now();
    message.addressees = std::move(addressees);
    message.category = "tension-report";
    message.purpose = "prevent";
    message.title = "Tension in Stoke-on-Trent";
    message.portions = std::move(portions);
    return message;
  }
  // The frame Staffordshire's gateway sends for `message`, to peer `peer`.
  static ForwardedMessage from_gpms_stafford(const Message& message, const std::string& peer = "gw-wm-ctu") {
    const OriginResult result = gpms_stafford({{"      organisations: [wm-ctu, wmp-special-branch]",
                                                "      organisations: [wm-ctu, wmp-special-branch, birmingham-cc]"},
                                               {"      organisations: [birmingham-cc]\n",
                                                "      organisations: [birmingham-cc-housing]\n"}})
                                    .forward_from_origin(message, now());
    const PeerForward& hop = to_peer(result.hops, peer);
    EXPECT_TRUE(hop.frame) << hop.reason;
    return hop.frame ? over_the_wire(*hop.frame) : ForwardedMessage{};
  }
};

TEST_F(SchemesTest, AFaithfulTranslationIsDecidedOnWithTheSignedLabelKeptBeside) {
  const Message message = gpms_report({{"1", {"PROTECT", {}}, "Leaflets at the mosque."},
                                       {"2", {"SECRET", {"UK EYES ONLY"}}, "Source reporting."}});
  const ForwardedMessage frame = from_gpms_stafford(message);
  // The origin names its scheme, and binds its labels as it marked them.
  EXPECT_EQ(frame.message.label_scheme, "gpms-2008");
  EXPECT_EQ(frame.route.binding.fields.label_scheme, "gpms-2008");
  EXPECT_EQ(frame.message.portions[0].label, (Label{"PROTECT", {}}));
  EXPECT_EQ(frame.message.label, (Label{"SECRET", {"UK EYES ONLY"}}));  // computed under GPMS

  const ReceiveResult result = ctu_accepting_gpms().receive("gw-staffordshire", frame);
  ASSERT_TRUE(result.accepted()) << result.refused->code() << ": " << result.refused->detail;
  ASSERT_TRUE(result.translated);
  const Message& held = result.message(frame);
  EXPECT_EQ(&held, &*result.translated);
  EXPECT_EQ(held.label_scheme, "gsc-2014");
  EXPECT_EQ(held.original_scheme, "gpms-2008");
  EXPECT_EQ(held.portions[0].label, (Label{"OFFICIAL", {}}));
  EXPECT_EQ(held.portions[0].original_label, (Label{"PROTECT", {}}));
  EXPECT_EQ(held.portions[1].label, (Label{"SECRET", {"UK EYES ONLY"}}));
  EXPECT_EQ(held.portions[1].original_label, (Label{"SECRET", {"UK EYES ONLY"}}));
  EXPECT_EQ(held.label, (Label{"SECRET", {"UK EYES ONLY"}}));
  EXPECT_EQ(held.original_label, (Label{"SECRET", {"UK EYES ONLY"}}));
  // Bodies and the bound fields as they came; the frame itself untouched.
  EXPECT_EQ(held.portions[0].body, "Leaflets at the mosque.");
  EXPECT_EQ(held.id, frame.message.id);
  EXPECT_EQ(frame.message.portions[0].label, (Label{"PROTECT", {}}));

  // Decided on the translation: PROTECT is no classification of the CTU's
  // scheme, so had it been decided on, portion 1 would have been withheld.
  const LocalDecision* analyst = decision_for(result, "wm-ctu-analyst-1");
  ASSERT_TRUE(analyst);
  EXPECT_EQ(analyst->decision.decision, Decision::release) << analyst->decision.reason;
  EXPECT_THAT(analyst->decision.released_portion_ids, ElementsAre("1", "2"));
  EXPECT_THAT(analyst->decision.rule_ids, ElementsAre("partner-reporting-to-analysts"));

  // The record a gateway writes for a translation names both labels.
  server::AuditRecords records{[] { return std::int64_t{1'700'000'000'000}; },
                               [] { return std::string("sha256:p"); }};
  const boost::json::object detail =
      boost::json::parse(records.labels_translated("gw-staffordshire", held).detail).as_object();
  EXPECT_EQ(detail.at("original_scheme"), "gpms-2008");
  EXPECT_EQ(detail.at("scheme"), "gsc-2014");
  EXPECT_EQ(detail.at("portions").as_array()[0].at("original_label"), "PROTECT");
  EXPECT_EQ(detail.at("portions").as_array()[0].at("label"), "OFFICIAL");
}

TEST_F(SchemesTest, AFrameUnderTheReceiversOwnSchemeIsHeldAsItCame) {
  const ForwardedMessage frame = over_the_wire(*ctu().forward_from_origin(profile(), now()).hops.at(0).frame);
  EXPECT_EQ(frame.message.label_scheme, "gsc-2014");  // named by the origin, though the sender left it empty
  const ReceiveResult result = birmingham().receive("gw-wm-ctu", frame);
  ASSERT_TRUE(result.accepted()) << result.refused->detail;
  EXPECT_FALSE(result.translated);
  EXPECT_EQ(&result.message(frame), &frame.message);
}

TEST_F(SchemesTest, ALabelWithNoFaithfulTranslationRefusesTheWholeFrameWithTheTranslatorsReason) {
  const Hop ctu = ctu_accepting_gpms();
  const Portion protect{"1", {"PROTECT", {}}, "Leaflets at the mosque."};
  // CONFIDENTIAL became OFFICIAL-SENSITIVE or SECRET: rounding down or up, so refused.
  expect_refused(ctu, "gw-staffordshire",
                 from_gpms_stafford(gpms_report({protect, {"2", {"CONFIDENTIAL", {}}, "Names."}})),
                 HopRefusal::translation, "translation-ambiguous",
                 "portion '2' label CONFIDENTIAL under gpms-2008 has no faithful mapping to gsc-2014: classification "
                 "CONFIDENTIAL may be any of OFFICIAL-SENSITIVE, SECRET");
  // RESTRICTED UK EYES ONLY would be OFFICIAL UK EYES ONLY, which GSC forbids:
  // valid only if raised to OFFICIAL-SENSITIVE, which the translator never does.
  expect_refused(ctu, "gw-staffordshire",
                 from_gpms_stafford(gpms_report({protect, {"2", {"RESTRICTED", {"UK EYES ONLY"}}, "Caveated."}})),
                 HopRefusal::translation, "translation-invalid-result",
                 "RESTRICTED/UK EYES ONLY would be OFFICIAL/UK EYES ONLY");
  // The other way: OFFICIAL from the CTU is any of three GPMS levels, and
  // LOCSEN has no GPMS counterpart.
  const Hop stafford = gpms_stafford();
  Message profile_for_force = profile({{AddresseeKind::role, "staffs-ctio"}});
  profile_for_force.portions = {profile_for_force.portions[1], profile_for_force.portions[0]};
  const ForwardedMessage official = *ctu.forward_from_origin(profile_for_force, now()).hops.at(0).frame;
  const ReceiveResult refused = stafford.receive("gw-wm-ctu", over_the_wire(official));
  ASSERT_TRUE(refused.refused);
  EXPECT_EQ(refused.refused->code(), "translation-ambiguous");
  EXPECT_EQ(refused.refused->translation_problem, policy::TranslationProblem::ambiguous);
  EXPECT_THAT(refused.refused->detail, HasSubstr("portion '1' label OFFICIAL under gsc-2014"));
  EXPECT_THAT(refused.refused->detail, Not(HasSubstr("portion '2'")));  // SECRET UK EYES ONLY translates
  // Every issue of a label is named: LOCSEN is only ever on OFFICIAL-SENSITIVE,
  // itself one of three GPMS levels.
  profile_for_force.portions = {{"4", {"OFFICIAL-SENSITIVE", {"LOCSEN"}}, kLocsenBody}};
  expect_refused(stafford, "gw-wm-ctu", *ctu.forward_from_origin(profile_for_force, now()).hops.at(0).frame,
                 HopRefusal::translation, "translation-ambiguous",
                 "classification OFFICIAL-SENSITIVE may be any of PROTECT, RESTRICTED, CONFIDENTIAL under gpms-2008 "
                 "(OFFICIAL-SENSITIVE material was marked PROTECT, RESTRICTED or CONFIDENTIAL under GPMS, depending "
                 "on the material): someone must choose, so there is no faithful mapping; category LOCSEN has no "
                 "counterpart under gpms-2008");
}

TEST_F(SchemesTest, LabelsUnderASchemeTheReceiverDoesNotAcceptAreRefused) {
  const ForwardedMessage frame = from_gpms_stafford(gpms_report({{"1", {"PROTECT", {}}, "Leaflets."}}));
  expect_refused(ctu(), "gw-staffordshire", frame, HopRefusal::scheme_not_accepted, "scheme-not-accepted",
                 "the labels are under scheme gpms-2008, which policy wm-ctu does not accept (it accepts gsc-2014)");
}

TEST_F(SchemesTest, TheBindingIsVerifiedOnTheLabelsAsSignedBeforeAnyTranslation) {
  const Hop ctu = ctu_accepting_gpms();
  const ForwardedMessage good = from_gpms_stafford(gpms_report({{"1", {"PROTECT", {}}, "Leaflets."}}));
  ASSERT_TRUE(ctu.receive("gw-staffordshire", good).accepted());
  // NOT PROTECTIVELY MARKED translates to OFFICIAL exactly as PROTECT does:
  // the label was still altered, and the binding says so.
  ForwardedMessage relabelled = good;
  relabelled.message.portions[0].label = {"NOT PROTECTIVELY MARKED", {}};
  expect_refused(ctu, "gw-staffordshire", relabelled, HopRefusal::binding, "binding-portion-not-bound", "'1'");
  // Altered to a label with no translation: refused as altered, not as untranslatable.
  relabelled.message.portions[0].label = {"CONFIDENTIAL", {}};
  expect_refused(ctu, "gw-staffordshire", relabelled, HopRefusal::binding, "binding-portion-not-bound", "'1'");
  // A hop that forwards its translation instead of the signed label breaks the binding.
  ForwardedMessage translated = good;
  translated.message.portions[0].label = {"OFFICIAL", {}};
  translated.message.label_scheme = "gsc-2014";
  expect_refused(ctu, "gw-staffordshire", translated, HopRefusal::binding, "binding-field-altered", "label_scheme");
}

TEST_F(SchemesTest, TheSendingPeersAccreditationIsJudgedOnTheTranslation) {
  // TOP SECRET under GPMS is TOP SECRET under GSC: above the SECRET the CTU
  // accredits Staffordshire's gateway for (its own gateway would never send
  // it: a misbehaving peer). Translation comes first, so the refusal is
  // beyond-accreditation, naming both labels.
  Message message = gpms_report({{"1", {"TOP SECRET", {}}, "Operation."}});
  message.label_scheme = "gpms-2008";
  const ForwardedMessage frame = bound_by("gw-staffordshire", message);
  expect_refused(ctu_accepting_gpms(), "gw-staffordshire", frame, HopRefusal::beyond_accreditation,
                 "beyond-accreditation", "portion 1 (TOP SECRET, TOP SECRET under gpms-2008) is beyond what "
                                         "gw-staffordshire is accredited to hold");
}

TEST_F(SchemesTest, AnAuthorsMarkingUnderTheReceiversSchemeComesBackAndTheSignedLabelIsKept) {
  // A CTU node marks under GPMS; the CTU's gateway translates at submission
  // (keeping the originals) and forwards its GSC labels to Staffordshire.
  const auto ctu_policy = load("wm-ctu.yaml", {kAcceptGpms});
  Message message = profile({{AddresseeKind::role, "staffs-ctio"}, {AddresseeKind::organisation, "staffs-police"}});
  message.category = "tension-report";
  message.label = {};
  message.label_scheme = "gpms-2008";
  message.portions = {{"1", {"PROTECT", {}}, "Leaflets at the mosque."},
                      {"2", {"RESTRICTED", {}}, "Names of the organisers."},
                      {"3", {"SECRET", {"UK EYES ONLY"}}, kSecretBody}};
  ASSERT_EQ(policy::translate_submitted_labels(*ctu_policy, message), std::nullopt);
  ASSERT_EQ(message.portions[1].label, (Label{"OFFICIAL", {}}));
  const PeerForward sent = hop("gw-wm-ctu", ctu_policy).forward_from_origin(message, now()).hops.at(0);
  ASSERT_TRUE(sent.frame) << sent.reason;
  EXPECT_EQ(sent.frame->message.label_scheme, "gsc-2014");
  EXPECT_EQ(sent.frame->message.original_scheme, "gpms-2008");

  const ForwardedMessage frame = over_the_wire(*sent.frame);
  const ReceiveResult result = gpms_stafford().receive("gw-wm-ctu", frame);
  ASSERT_TRUE(result.accepted()) << result.refused->code() << ": " << result.refused->detail;
  ASSERT_TRUE(result.translated);
  const Message& held = *result.translated;
  // OFFICIAL alone would be ambiguous under GPMS; the author's PROTECT and
  // RESTRICTED come back, and the GSC labels the CTU signed are kept beside.
  EXPECT_EQ(held.label_scheme, "gpms-2008");
  EXPECT_EQ(held.original_scheme, "gsc-2014");
  EXPECT_EQ(held.portions[0].label, (Label{"PROTECT", {}}));
  EXPECT_EQ(held.portions[1].label, (Label{"RESTRICTED", {}}));
  EXPECT_EQ(held.portions[2].label, (Label{"SECRET", {"UK EYES ONLY"}}));
  EXPECT_EQ(held.portions[0].original_label, (Label{"OFFICIAL", {}}));
  EXPECT_EQ(held.portions[1].original_label, (Label{"OFFICIAL", {}}));
  EXPECT_EQ(held.label, (Label{"SECRET", {"UK EYES ONLY"}}));

  // Decided on the GPMS labels: the inspector may see up to RESTRICTED from a
  // partner (and holds no UK EYES ONLY); OFFICIAL would be no GPMS label at all.
  const LocalDecision* inspector = decision_for(result, "staffs-npt-inspector-1");
  ASSERT_TRUE(inspector);
  EXPECT_EQ(inspector->decision.decision, Decision::release_redacted) << inspector->decision.reason;
  EXPECT_THAT(inspector->decision.released_portion_ids, ElementsAre("1", "2"));
  const LocalDecision* ctio = decision_for(result, "staffs-ctio-1");
  ASSERT_TRUE(ctio);
  EXPECT_EQ(ctio->decision.decision, Decision::release) << ctio->decision.reason;
}

TEST_F(SchemesTest, ATransitHopJudgesItsNextPeerOnTheTranslationAndForwardsTheLabelsAsSigned) {
  // Staffordshire (GPMS) to the council, through the CTU (GSC).
  const Message message = gpms_report({{"1", {"PROTECT", {}}, "Leaflets at the mosque."},
                                       {"2", {"SECRET", {"UK EYES ONLY"}}, kSecretBody}},
                                      {{AddresseeKind::organisation, "birmingham-cc"}});
  const ForwardedMessage first = from_gpms_stafford(message);
  // The first hop had nothing to redact: the CTU may hold SECRET UK EYES ONLY.
  EXPECT_EQ(first.message.portions.size(), 2u);
  const ReceiveResult transit = ctu_accepting_gpms().receive("gw-staffordshire", first);
  ASSERT_TRUE(transit.accepted()) << transit.refused->code() << ": " << transit.refused->detail;
  ASSERT_EQ(transit.onward.size(), 1u);
  const PeerForward& second = transit.onward[0];
  EXPECT_EQ(second.peer, "gw-birmingham");
  // The CTU redacts (the first hop that must): SECRET, as translated, is above the council.
  EXPECT_EQ(second.outcome, HopOutcome::forwarded_redacted);
  EXPECT_THAT(second.forwarded, ElementsAre("1"));
  ASSERT_EQ(second.withheld.size(), 1u);
  EXPECT_EQ(second.withheld[0].portion_id, "2");
  EXPECT_EQ(second.withheld[0].reason, policy::PeerRefusal::above_ceiling);
  // What goes keeps the label as signed, under the origin's scheme, with its
  // overall label computed under that scheme.
  ASSERT_TRUE(second.frame);
  EXPECT_EQ(second.frame->message.label_scheme, "gpms-2008");
  EXPECT_EQ(second.frame->message.portions[0].label, (Label{"PROTECT", {}}));
  EXPECT_EQ(second.frame->message.portions[0].original_label, Label{});
  EXPECT_EQ(second.frame->message.label, (Label{"PROTECT", {}}));
  EXPECT_EQ(serialised(*second.frame).find(kSecretBody), std::string::npos);

  // The council's gateway, under GSC, verifies what remains and translates it itself.
  const auto council = hop("gw-birmingham", load("birmingham-cc.yaml", {kAcceptGpms}));
  const ReceiveResult destination = council.receive("gw-wm-ctu", over_the_wire(*second.frame));
  ASSERT_TRUE(destination.accepted()) << destination.refused->code() << ": " << destination.refused->detail;
  ASSERT_TRUE(destination.translated);
  EXPECT_EQ(destination.translated->portions[0].label, (Label{"OFFICIAL", {}}));
  EXPECT_EQ(destination.translated->portions[0].original_label, (Label{"PROTECT", {}}));
  EXPECT_EQ(destination.translated->original_scheme, "gpms-2008");
}

// ---- 3. Audit records ------------------------------------------------------------------------

class HopAuditTest : public HopTest {
 protected:
  server::AuditRecords records{[] { return std::int64_t{1'700'000'000'000}; }, [] { return std::string("sha256:p"); }};
  static boost::json::object detail(const audit::AuditRecord& record) {
    return boost::json::parse(record.detail).as_object();
  }
};

TEST_F(HopAuditTest, PeerForwardRecordsWhatWentAndWhatWasWithheldAndWhy) {
  const Message message = profile();
  const PeerForward hop = ctu().forward_from_origin(message, now()).hops.at(0);
  const audit::AuditRecord record = records.peer_forward(hop);
  EXPECT_EQ(record.kind, "peer_forward");
  EXPECT_EQ(record.node, "gw-birmingham");
  EXPECT_EQ(record.message_id, message.id);
  EXPECT_EQ(record.decision, "RELEASE_REDACTED");
  EXPECT_EQ(record.policy_version, "sha256:p");
  const boost::json::object d = detail(record);
  EXPECT_EQ(d.at("peer"), "gw-birmingham");
  EXPECT_EQ(d.at("origin"), "gw-wm-ctu");
  EXPECT_EQ(d.at("via"), boost::json::array());
  EXPECT_EQ(d.at("hop"), 1);
  EXPECT_EQ(d.at("recipients"), (boost::json::array{"org:birmingham-cc"}));
  EXPECT_EQ(d.at("forwarded"), (boost::json::array{"1", "3", "4"}));
  const boost::json::array& withheld = d.at("withheld").as_array();
  ASSERT_EQ(withheld.size(), 1u);
  EXPECT_EQ(withheld[0].at("portion"), "2");
  EXPECT_EQ(withheld[0].at("reason"), "above_ceiling");
  EXPECT_THAT(std::string(withheld[0].at("detail").as_string()), HasSubstr("SECRET is above"));
  EXPECT_FALSE(d.contains("reason"));

  Message every = message;
  every.portions = {message.portions[1]};
  const audit::AuditRecord denied = records.peer_forward(ctu().forward_from_origin(every, now()).hops.at(0));
  EXPECT_EQ(denied.decision, "DENY");
  EXPECT_THAT(std::string(detail(denied).at("reason").as_string()), HasSubstr("every portion is withheld"));
  EXPECT_EQ(detail(denied).at("forwarded"), boost::json::array());

  Message whole = message;
  whole.portions = {message.portions[0]};
  EXPECT_EQ(records.peer_forward(ctu().forward_from_origin(whole, now()).hops.at(0)).decision, "RELEASE");
}

TEST_F(HopAuditTest, PeerForwardAtATransitHopNamesTheRouteSoFar) {
  Message message = profile({{AddresseeKind::organisation, "staffs-police"}});
  message.category = "tension-report";
  const PeerForward first = ctu_through_the_council().forward_from_origin(message, now()).hops.at(0);
  const PeerForward second = birmingham().receive("gw-wm-ctu", over_the_wire(*first.frame)).onward.at(0);
  const boost::json::object d = detail(records.peer_forward(second));
  EXPECT_EQ(d.at("origin"), "gw-wm-ctu");
  EXPECT_EQ(d.at("via"), (boost::json::array{"gw-birmingham"}));
  EXPECT_EQ(d.at("hop"), 2);
}

TEST_F(HopAuditTest, PeerReceiveAndPeerRefusedRecords) {
  const ForwardedMessage frame = over_the_wire(*ctu().forward_from_origin(profile(), now()).hops.at(0).frame);
  const audit::AuditRecord received = records.peer_receive("gw-wm-ctu", frame);
  EXPECT_EQ(received.kind, "peer_receive");
  EXPECT_EQ(received.node, "gw-wm-ctu");
  EXPECT_EQ(received.message_id, frame.message.id);
  boost::json::object d = detail(received);
  EXPECT_EQ(d.at("peer"), "gw-wm-ctu");
  EXPECT_EQ(d.at("origin"), "gw-wm-ctu");
  EXPECT_EQ(d.at("via"), boost::json::array());
  EXPECT_EQ(d.at("hop"), 1);
  EXPECT_EQ(d.at("portions"), (boost::json::array{"1", "3", "4"}));
  EXPECT_EQ(d.at("binding"), "verified");

  ForwardedMessage tampered = frame;
  tampered.message.portions[0].body = "changed";
  const ReceiveResult result = birmingham().receive("gw-wm-ctu", tampered);
  ASSERT_TRUE(result.refused);
  const audit::AuditRecord refused = records.peer_refused("gw-wm-ctu", tampered, *result.refused);
  EXPECT_EQ(refused.kind, "peer_refused");
  EXPECT_EQ(refused.node, "gw-wm-ctu");
  EXPECT_EQ(refused.message_id, frame.message.id);
  d = detail(refused);
  EXPECT_EQ(d.at("peer"), "gw-wm-ctu");
  EXPECT_EQ(d.at("origin"), "gw-wm-ctu");
  EXPECT_EQ(d.at("hop"), 1);
  EXPECT_EQ(d.at("reason"), "binding-portion-not-bound");
  EXPECT_THAT(std::string(d.at("detail").as_string()), HasSubstr("1"));
}

// The records three gateways write for one message, each into its own
// trail, are what `icegate audit trace` pairs hop by hop, with nothing the
// trails disagree on.
TEST_F(HopAuditTest, AuditTraceRebuildsThePathFromTheRecordsEachGatewayWrites) {
  Message message = profile({{AddresseeKind::organisation, "staffs-police"}});
  message.category = "tension-report";
  const PeerForward first = ctu_through_the_council().forward_from_origin(message, now()).hops.at(0);
  const ForwardedMessage at_council = over_the_wire(*first.frame);
  const ReceiveResult council = birmingham().receive("gw-wm-ctu", at_council);
  ASSERT_TRUE(council.accepted());
  const PeerForward second = council.onward.at(0);
  const ForwardedMessage at_force = over_the_wire(*second.frame);
  const ReceiveResult force = staffordshire().receive("gw-birmingham", at_force);
  ASSERT_TRUE(force.accepted());

  audit::AuditRecord submit = records.record("submit", message.originator);
  submit.message_id = message.id;
  std::vector<audit::AuditRecord> force_trail{records.peer_receive("gw-birmingham", at_force)};
  for (const LocalDecision& local : force.local) {
    force_trail.push_back(records.decision(at_force.message, local.decision, "delivered"));
  }
  TemporaryDirectory dirs;
  for (const char* gateway : {"ctu", "council", "force"}) std::filesystem::create_directories(dirs / gateway);
  icegate::testing::write_chain(dirs / "ctu", {submit, records.peer_forward(first)});
  icegate::testing::write_chain(dirs / "council",
                                {records.peer_receive("gw-wm-ctu", at_council), records.peer_forward(second)});
  icegate::testing::write_chain(dirs / "force", force_trail);

  const audit::Trace trace =
      audit::trace(message.id, {{"", dirs / "force"}, {"", dirs / "council"}, {"", dirs / "ctu"}});
  EXPECT_TRUE(trace.consistent()) << (trace.problems.empty() ? "" : trace.problems.front().text);
  ASSERT_EQ(trace.hops.size(), 2u);
  EXPECT_EQ(trace.hops[0].from, "gw-wm-ctu");
  EXPECT_EQ(trace.hops[0].to, "gw-birmingham");
  EXPECT_EQ(trace.hops[0].decision, "RELEASE_REDACTED");
  EXPECT_TRUE(trace.hops[0].received);
  EXPECT_THAT(trace.hops[0].received_portions, ElementsAre("1", "3", "4"));
  EXPECT_EQ(trace.hops[1].from, "gw-birmingham");
  EXPECT_EQ(trace.hops[1].to, "gw-staffordshire");
  EXPECT_THAT(trace.hops[1].forwarded, ElementsAre("1", "3"));
  ASSERT_EQ(trace.hops[1].withheld.size(), 1u);
  EXPECT_THAT(trace.hops[1].withheld[0],
              HasSubstr("4: category_not_held: gw-staffordshire may not hold category LOCSEN"));
  EXPECT_TRUE(trace.hops[1].received);
}

TEST(HopCodes, EveryRefusalHasItsOwnNamedCode) {
  std::vector<std::string> codes;
  for (HopRefusal refusal :
       {HopRefusal::unknown_peer, HopRefusal::malformed, HopRefusal::route_malformed, HopRefusal::route_too_long,
        HopRefusal::route_loop, HopRefusal::route_names_this_gateway, HopRefusal::unknown_origin,
        HopRefusal::binding, HopRefusal::beyond_accreditation, HopRefusal::unknown_category,
        HopRefusal::unknown_purpose, HopRefusal::originator_is_local, HopRefusal::scheme_not_accepted,
        HopRefusal::translation}) {
    const std::string code(to_string(refusal));
    EXPECT_NE(code, "unknown");
    EXPECT_EQ(std::count(codes.begin(), codes.end(), code), 0) << code;
    codes.push_back(code);
  }
}

// ---- The originator's Receipt, hop by hop: each gateway's steps -------------

RecipientDecision decided(std::string node, Decision decision, std::vector<std::string> withheld = {}) {
  RecipientDecision out;
  out.node_id = std::move(node);
  out.decision = decision;
  for (auto& id : withheld)
    out.withheld.push_back({std::move(id), Label{"OFFICIAL-SENSITIVE", {"PERSONAL"}},
                            "no rule permits ct-problem-profile for " + out.node_id, {"products-to-council-leads"}});
  out.rule_ids = {"products-to-council-leads"};
  out.reason = "denied by products-to-council-leads for " + out.node_id;
  return out;
}

TEST(HopSteps, ADestinationSumsItsDecisionsPerAddresseeAsWrittenAndNamesNoNodeNorRule) {
  const auto council = load("birmingham-cc.yaml");
  Message message;
  message.id = "m";
  message.originator = "wm-ctu-analyst-1";
  message.addressees = {{AddresseeKind::organisation, "birmingham-cc"},
                        {AddresseeKind::role, "prevent-coordinator"},
                        {AddresseeKind::organisation, "birmingham-cc"},  // twice: one entry
                        {AddresseeKind::organisation, "staffs-police"}};  // another gateway's: none here
  const std::vector<RecipientDecision> decisions = {
      decided("bcc-chief-executive", Decision::release),
      decided("bcc-prevent-coordinator", Decision::release_redacted, {"2"}),
      decided("bcc-critical-reader", Decision::release_redacted, {"3"}),
      decided("bcc-housing-officer-1", Decision::deny, {"1", "2", "3"}),
  };
  const auto steps = local_steps("gw-birmingham", 2, *council, message, decisions);
  ASSERT_EQ(steps.size(), 4u);
  auto ids = [](const HopStep& step) {
    std::vector<std::string> out;
    for (const auto& withheld : step.withheld) out.push_back(withheld.portion_id);
    return out;
  };
  for (const auto& step : steps) {
    EXPECT_EQ(step.gateway, "gw-birmingham");
    EXPECT_EQ(step.hop, 2u);
    EXPECT_TRUE(step.next_peer.empty());
    EXPECT_TRUE(step.reason.empty());
    for (const auto& withheld : step.withheld) {
      EXPECT_EQ(withheld.reason, "withheld under gw-birmingham's policy") << "the policy's reason names node and rule";
      EXPECT_TRUE(withheld.rule_ids.empty());
      EXPECT_TRUE(withheld.label.classification.empty());
    }
  }
  EXPECT_EQ(steps[0].addressees, std::vector<std::string>{"organisation:birmingham-cc"});
  EXPECT_EQ(steps[0].decision, Decision::release);
  EXPECT_EQ(steps[0].recipients, 1u);
  EXPECT_EQ(steps[1].decision, Decision::release_redacted);
  EXPECT_EQ(steps[1].recipients, 2u);
  EXPECT_THAT(ids(steps[1]), ElementsAre("2", "3")) << "withheld from any of them, each once";
  EXPECT_EQ(steps[2].decision, Decision::deny);
  EXPECT_EQ(steps[2].recipients, 1u);
  EXPECT_THAT(ids(steps[2]), ElementsAre("1", "2", "3"));
  EXPECT_EQ(steps[3].addressees, std::vector<std::string>{"role:prevent-coordinator"});
  EXPECT_EQ(steps[3].decision, Decision::release_redacted);
  EXPECT_EQ(steps[3].recipients, 1u);
  EXPECT_THAT(ids(steps[3]), ElementsAre("2"));
}

TEST(HopSteps, AForwardsStepIsItsAuditRecordsValuesWithTheLabelOnlyAtTheOrigin) {
  PeerForward forward;
  forward.peer = "gw-staffordshire";
  forward.hop_count = 2;
  forward.addressees = {{AddresseeKind::organisation, "staffs-police"}};
  forward.outcome = HopOutcome::forwarded_redacted;
  forward.withheld = {{"3", Label{"OFFICIAL-SENSITIVE", {"LOCSEN"}}, policy::PeerRefusal::category_not_held,
                       "LOCSEN is not among gw-staffordshire's categories"}};
  PeerForward not_sent = forward;
  not_sent.outcome = HopOutcome::not_sent;
  not_sent.reason = "gw-staffordshire does not receive ct-problem-profile";
  const auto at_transit = forward_steps("gw-birmingham", {forward, not_sent}, false);
  ASSERT_EQ(at_transit.size(), 2u);
  EXPECT_EQ(at_transit[0].gateway, "gw-birmingham");
  EXPECT_EQ(at_transit[0].hop, 2u);
  EXPECT_EQ(at_transit[0].next_peer, "gw-staffordshire");
  EXPECT_EQ(at_transit[0].decision, Decision::release_redacted);
  ASSERT_EQ(at_transit[0].withheld.size(), 1u);
  EXPECT_EQ(at_transit[0].withheld[0].portion_id, "3");
  EXPECT_EQ(at_transit[0].withheld[0].reason, "LOCSEN is not among gw-staffordshire's categories");
  EXPECT_TRUE(at_transit[0].withheld[0].label.classification.empty()) << "under the transit gateway's scheme";
  EXPECT_EQ(at_transit[0].addressees, std::vector<std::string>{"organisation:staffs-police"});
  EXPECT_EQ(at_transit[1].decision, Decision::deny);
  EXPECT_EQ(at_transit[1].reason, "gw-staffordshire does not receive ct-problem-profile");
  const auto at_origin = forward_steps("gw-wm-ctu", {forward}, true);
  EXPECT_EQ(at_origin[0].withheld[0].label, (Label{"OFFICIAL-SENSITIVE", {"LOCSEN"}})) << "the originator's marking";
}

TEST(HopSteps, ARefusalIsDenyWithItsCodeForEveryAddresseeOfTheFrame) {
  ForwardedMessage frame;
  frame.message.addressees = {{AddresseeKind::organisation, "staffs-police"}, {AddresseeKind::role, "staffs-ctio"}};
  frame.route.origin_gateway = "gw-wm-ctu";
  frame.route.via = {"gw-birmingham"};
  frame.route.hop_count = 2;
  const Refused refused{HopRefusal::beyond_accreditation, std::nullopt, "portion 2 is beyond gw-birmingham's"};
  const HopStep step = refusal_step("gw-staffordshire", frame, refused);
  EXPECT_EQ(step.hop, 3u);
  EXPECT_EQ(step.decision, Decision::deny);
  EXPECT_EQ(step.refusal, "beyond-accreditation");
  EXPECT_EQ(step.reason, "portion 2 is beyond gw-birmingham's");
  EXPECT_THAT(step.addressees, ElementsAre("organisation:staffs-police", "role:staffs-ctio"));
  EXPECT_EQ(report_id("6f1e", "gw-staffordshire"), "6f1e/gw-staffordshire");
}

TEST(HopSteps, AddresseesAHopCanNeitherDecideForNorPassOnAreOneDenyStep) {
  EXPECT_FALSE(unresolved_step("gw-birmingham", 2, {}));
  const auto step = unresolved_step("gw-birmingham", 2,
                                    {{AddresseeKind::organisation, "nowhere"}, {AddresseeKind::role, "nobody"}});
  ASSERT_TRUE(step);
  EXPECT_EQ(step->hop, 2u);
  EXPECT_EQ(step->decision, Decision::deny);
  EXPECT_TRUE(step->next_peer.empty());
  EXPECT_THAT(step->addressees, ElementsAre("organisation:nowhere", "role:nobody"));
  EXPECT_EQ(step->reason, "neither gw-birmingham nor any peer of it speaks for these addressees");
}

}  // namespace
}  // namespace icegate::federation

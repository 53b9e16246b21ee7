// Messages crossing gateways (issue 18; docs/FEDERATION.md): the hop wired
// into the router and the peer link. Three real gateways (three_gateways.hpp),
// real nodes, real TLS. What is asserted is what the issue asks of every hop:
// a portion above the next peer's accreditation never leaves (not on the
// wire, not in the next gateway's store), the destination decides for its own
// nodes, a Forward owed to a peer that is down arrives once when it is back,
// and a frame altered in transit, or beyond what the sending peer is
// accredited for, is refused and audited.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/federation/binding.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/model/route.hpp"
#include "gateway/server/router.hpp"
#include "gateway/wire/codec.hpp"
#include "tests/gateway/federation/three_gateways.hpp"

namespace icegate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSecretBody = "SECRET-ONLY: the name of the informant, never below the waterline";
constexpr const char* kSensitiveBody = "OFFICIAL-SENSITIVE: a tension report for the council's Prevent lead";

// Every byte under `dir` (the store's database, its WAL, the log): whether `text` is among them.
bool any_file_holds(const fs::path& dir, const std::string& text) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(text) != std::string::npos) return true;
  }
  return false;
}

Message two_level_profile() {
  return make_message("wm-ctu-analyst-1", {{AddresseeKind::role, "prevent-coordinator"}}, "ct-problem-profile",
                      "prevent",
                      {{Label{"SECRET", {"UK EYES ONLY"}}, kSecretBody},
                       {Label{"OFFICIAL-SENSITIVE", {"PERSONAL"}}, kSensitiveBody}});
}

class ForwardTest : public ThreeGateways {
 protected:
  bool links_up(const std::string& a, const std::string& b) { return up(a, b) && up(b, a); }
  // Frames `id` owes the peer `to`.
  std::size_t owed(const std::string& id, const std::string& to) {
    return at(id).on_gateway_thread([&] { return at(id).gateway().router().owed_count(to); });
  }
};

TEST_F(ForwardTest, APortionAboveTheNextPeersAccreditationNeverLeavesAndTheDestinationDecidesForItsNodes) {
  start("gw-wm-ctu");
  start("gw-birmingham");
  ASSERT_TRUE(eventually([&] { return links_up("gw-wm-ctu", "gw-birmingham"); }));
  auto coordinator = at("gw-birmingham").connect("bcc-prevent-coordinator");
  auto housing = at("gw-birmingham").connect("bcc-housing-officer-1");
  auto analyst = at("gw-wm-ctu").connect("wm-ctu-analyst-1");

  const Message message = two_level_profile();
  analyst->submit(message);
  const auto ack = next_of<node::Acknowledgement>(*analyst);
  ASSERT_TRUE(ack);
  EXPECT_TRUE(ack->ok);
  const auto receipt = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(receipt);
  EXPECT_TRUE(receipt->unresolved_addressees.empty()) << "the council's gateway speaks for role:prevent-coordinator";

  // The destination decided for its own node, under its own policy, on what reached it.
  const auto delivery = next_of<node::Delivery>(*coordinator, 10s);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->message.id, message.id);
  ASSERT_EQ(delivery->message.portions.size(), 1u);
  EXPECT_EQ(delivery->message.portions[0].id, "2");
  EXPECT_EQ(delivery->message.portions[0].body, kSensitiveBody);
  EXPECT_TRUE(delivery->message.portions[0].salt.empty()) << "a node is never sent the binding's salt";
  EXPECT_THAT(delivery->rule_ids, ::testing::Contains("ctu-products-to-council-leads"));
  EXPECT_FALSE(next_of<node::Delivery>(*housing, 300ms)) << "not addressed, not delivered";

  // The origin withheld the SECRET portion from the council's gateway before the frame existed...
  ASSERT_TRUE(eventually([&] { return !records(root("gw-wm-ctu") / "data", "peer_forward").empty(); }));
  const auto forwards = records(root("gw-wm-ctu") / "data", "peer_forward");
  ASSERT_EQ(forwards.size(), 1u);
  EXPECT_EQ(forwards[0].record.node, "gw-birmingham");
  EXPECT_EQ(forwards[0].record.message_id, message.id);
  EXPECT_EQ(forwards[0].record.decision, "RELEASE_REDACTED");
  EXPECT_THAT(forwards[0].record.detail, HasSubstr(R"("portion":"1")"));
  // ...so the council's gateway received, recorded and stored only what it may hold.
  ASSERT_TRUE(eventually([&] { return !records(root("gw-birmingham") / "data", "peer_receive").empty(); }));
  const auto received = records(root("gw-birmingham") / "data", "peer_receive");
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].record.node, "gw-wm-ctu");
  EXPECT_THAT(received[0].record.detail, HasSubstr(R"("portions":["2"])"));
  const auto decisions = records(root("gw-birmingham") / "data", "decision");
  ASSERT_EQ(decisions.size(), 1u) << "one local recipient decided at the destination";
  EXPECT_EQ(decisions[0].record.node, "wm-ctu-analyst-1") << "the sender, as at its own gateway";
  EXPECT_EQ(decisions[0].record.recipient, "bcc-prevent-coordinator");
  EXPECT_TRUE(any_file_holds(root("gw-birmingham") / "data", kSensitiveBody))
      << "the scan below finds what was stored";
  EXPECT_FALSE(any_file_holds(root("gw-birmingham") / "data", kSecretBody))
      << "a portion above the council's accreditation reached its store";

  // Answered once durable there: nothing is left owed at the origin.
  EXPECT_TRUE(eventually([&] { return owed("gw-wm-ctu", "gw-birmingham") == 0; }));
}

TEST_F(ForwardTest, OnTheWireThePeerIsSentOnlyWhatItMayHoldAndWhatItDoesNotAnswerIsSentAgain) {
  start("gw-wm-ctu");
  auto analyst = at("gw-wm-ctu").connect("wm-ctu-analyst-1");
  const Message message = two_level_profile();
  analyst->submit(message);
  ASSERT_TRUE(next_of<node::Acknowledgement>(*analyst));

  // The council's gateway is not running: a client with its certificate reads what it is sent.
  auto read_forward = [&](RawNode& peer) -> std::optional<v1::Forward> {
    for (int i = 0; i < 10; ++i) {
      auto frame = peer.next_frame(5s);
      if (!frame) return std::nullopt;
      if (frame->has_forward()) return frame->forward();
    }
    return std::nullopt;
  };
  {
    auto peer = connect_as("gw-wm-ctu", pki::gateway_paths(pki_dir("gw-birmingham")), "gw-birmingham");
    const auto forward = read_forward(*peer);
    ASSERT_TRUE(forward);
    EXPECT_EQ(forward->message().id(), message.id);
    ASSERT_EQ(forward->message().portions_size(), 1);
    EXPECT_EQ(forward->message().portions(0).id(), "2");
    EXPECT_EQ(forward->message().portions(0).salt().size(), portion_salt_bytes);
    EXPECT_EQ(forward->route().origin_gateway(), "gw-wm-ctu");
    EXPECT_EQ(forward->route().hop_count(), 1u);
    std::string wire;
    ASSERT_TRUE(forward->SerializeToString(&wire));
    EXPECT_THAT(wire, Not(HasSubstr(kSecretBody)));
    // Not answered: the link goes, and the Forward stays owed.
  }
  ASSERT_TRUE(eventually([&] { return !up("gw-wm-ctu", "gw-birmingham"); }));
  EXPECT_EQ(owed("gw-wm-ctu", "gw-birmingham"), 1u);

  auto peer = connect_as("gw-wm-ctu", pki::gateway_paths(pki_dir("gw-birmingham")), "gw-birmingham");
  const auto again = read_forward(*peer);
  ASSERT_TRUE(again) << "what a peer did not answer is sent again on its next link";
  EXPECT_EQ(again->message().id(), message.id);
  v1::Frame answer;
  answer.mutable_ack()->set_message_id(message.id);
  answer.mutable_ack()->set_ok(true);
  ASSERT_TRUE(peer->send_frame(answer));
  EXPECT_TRUE(eventually([&] { return owed("gw-wm-ctu", "gw-birmingham") == 0; })) << "answered: settled";
}

TEST_F(ForwardTest, AForwardOwedToAPeerThatIsDownArrivesExactlyOnceWhenItComesBack) {
  start("gw-wm-ctu");
  auto analyst = at("gw-wm-ctu").connect("wm-ctu-analyst-1");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const Message message = two_level_profile();
    ids.push_back(message.id);
    analyst->submit(message);
    ASSERT_TRUE(next_of<node::Acknowledgement>(*analyst));
  }
  EXPECT_EQ(owed("gw-wm-ctu", "gw-birmingham"), 5u) << "five Forwards owed to the council's gateway, which is down";

  start("gw-birmingham");
  auto coordinator = at("gw-birmingham").connect("bcc-prevent-coordinator");
  std::vector<std::string> delivered;
  while (auto delivery = next_of<node::Delivery>(*coordinator, 10s)) {
    delivered.push_back(delivery->message.id);
    if (delivered.size() == ids.size()) break;
  }
  EXPECT_EQ(delivered, ids) << "each once, in the order sent";
  EXPECT_TRUE(eventually([&] { return owed("gw-wm-ctu", "gw-birmingham") == 0; }));
  // The coordinator's Acks settled there: a Deliver whose Ack a stopping
  // gateway never read is owed again, and a new client would take it as new.
  EXPECT_TRUE(eventually([&] { return owed("gw-birmingham", "bcc-prevent-coordinator") == 0; }));

  // The council's gateway restarts, and the link with it comes back: nothing is sent twice.
  coordinator.reset();
  stop("gw-birmingham");
  start("gw-birmingham");
  ASSERT_TRUE(eventually([&] { return links_up("gw-wm-ctu", "gw-birmingham"); }));
  coordinator = at("gw-birmingham").connect("bcc-prevent-coordinator");
  EXPECT_FALSE(next_of<node::Delivery>(*coordinator, 1s)) << "delivered again after a restart";
  EXPECT_EQ(records(root("gw-birmingham") / "data", "peer_receive").size(), ids.size());
}

// The originator's Receipt, hop by hop (docs/FEDERATION.md): a chain
// through the three gateways. The CTU's policy is rewritten so that the
// council's gateway speaks for Staffordshire's neighbourhood policing: a
// message from the CTU's analyst to it goes gw-wm-ctu -> gw-birmingham ->
// gw-staffordshire, and each gateway's decisions come back to the analyst.
class HopsTest : public ForwardTest {
 protected:
  void SetUp() override {
    ForwardTest::SetUp();
    std::string policy = read_text(policy_file("gw-wm-ctu"));
    rewrite(policy, "organisations: [staffs-special-branch, staffs-police]", "organisations: [staffs-special-branch]");
    rewrite(policy, "speaks_for:\n      organisations: [birmingham-cc]\n",
            "speaks_for:\n      organisations: [birmingham-cc, staffs-police]\n");
    std::ofstream(policy_file("gw-wm-ctu")) << policy;
  }
  static void rewrite(std::string& text, const std::string& from, const std::string& to) {
    ASSERT_NE(text.find(from), std::string::npos) << "the shipped policy changed: " << from;
    replace_all(text, from, to);
  }
  void start_chain() {
    start("gw-wm-ctu");
    start("gw-birmingham");
    start("gw-staffordshire");
    ASSERT_TRUE(eventually([&] { return links_up("gw-wm-ctu", "gw-birmingham"); }));
    ASSERT_TRUE(eventually([&] { return links_up("gw-birmingham", "gw-staffordshire"); }));
  }
  // A tension report to the council's Prevent coordinator and to
  // Staffordshire's neighbourhood policing: a SECRET portion (which no
  // gateway beyond the CTU may hold), a PERSONAL one (which goes all the
  // way) and a LOCSEN one (which the council may hold but not pass on).
  static Message chain_report() {
    return make_message("wm-ctu-analyst-1",
                        {{AddresseeKind::role, "prevent-coordinator"}, {AddresseeKind::organisation, "staffs-police"}},
                        "tension-report", "prevent",
                        {{Label{"SECRET", {"UK EYES ONLY"}}, kSecretBody},
                         {Label{"OFFICIAL-SENSITIVE", {"PERSONAL"}}, kSensitiveBody},
                         {Label{"OFFICIAL-SENSITIVE", {"LOCSEN"}}, "LOCSEN: where the meeting will be held"}});
  }
  // Follow-up Receipts for `id` until steps from each of `gateways` have come.
  static std::vector<HopStep> reported(node::NodeClient& originator, const std::string& id,
                                       std::set<std::string> gateways, std::chrono::milliseconds timeout = 10s) {
    std::vector<HopStep> steps;
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!gateways.empty() && std::chrono::steady_clock::now() < until) {
      auto receipt = next_of<node::Receipt>(originator, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                            until - std::chrono::steady_clock::now()));
      if (!receipt) break;
      if (receipt->message_id != id || !receipt->follow_up) continue;
      for (auto& step : receipt->hops) {
        gateways.erase(step.gateway);
        steps.push_back(std::move(step));
      }
    }
    return steps;
  }
  static const HopStep* find(const std::vector<HopStep>& steps, const std::string& gateway, const std::string& next) {
    for (const auto& step : steps)
      if (step.gateway == gateway && step.next_peer == next) return &step;
    return nullptr;
  }
  static std::vector<std::string> withheld_ids(const HopStep& step) {
    std::vector<std::string> ids;
    for (const auto& withheld : step.withheld) ids.push_back(withheld.portion_id);
    return ids;
  }
};

TEST_F(HopsTest, TheOriginatorsReceiptReportsEachHopsDecisionWithWhatEachWithheld) {
  start_chain();
  auto analyst = at("gw-wm-ctu").connect("wm-ctu-analyst-1");
  const Message message = chain_report();
  analyst->submit(message);
  ASSERT_TRUE(next_of<node::Acknowledgement>(*analyst));

  // Hop 1, in the Receipt that answers the Submit: the CTU's own forward.
  const auto receipt = next_of<node::Receipt>(*analyst);
  ASSERT_TRUE(receipt);
  EXPECT_FALSE(receipt->follow_up);
  ASSERT_EQ(receipt->hops.size(), 1u);
  const HopStep& first = receipt->hops[0];
  EXPECT_EQ(first.gateway, "gw-wm-ctu");
  EXPECT_EQ(first.hop, 1u);
  EXPECT_EQ(first.next_peer, "gw-birmingham");
  EXPECT_EQ(first.decision, Decision::release_redacted);
  EXPECT_EQ(withheld_ids(first), std::vector<std::string>{"1"}) << "SECRET never leaves the CTU";
  ASSERT_EQ(first.withheld.size(), 1u);
  EXPECT_EQ(first.withheld[0].label, (Label{"SECRET", {"UK EYES ONLY"}})) << "the originator's own marking";
  EXPECT_THAT(first.withheld[0].reason, HasSubstr("gw-birmingham"));
  EXPECT_EQ(first.addressees,
            (std::vector<std::string>{"role:prevent-coordinator", "organisation:staffs-police"}));

  // Hops 2 and 3, in follow-ups passed back along the route.
  const auto steps = reported(*analyst, message.id, {"gw-birmingham", "gw-staffordshire"});
  const HopStep* onward = find(steps, "gw-birmingham", "gw-staffordshire");
  ASSERT_TRUE(onward) << "the council's gateway's forward to Staffordshire";
  EXPECT_EQ(onward->hop, 2u);
  EXPECT_EQ(onward->decision, Decision::release_redacted);
  EXPECT_EQ(withheld_ids(*onward), std::vector<std::string>{"3"}) << "the council may hold LOCSEN, not pass it on";
  EXPECT_TRUE(onward->withheld[0].label.classification.empty()) << "a later hop's labels are its own business";
  EXPECT_EQ(onward->addressees, std::vector<std::string>{"organisation:staffs-police"});

  const HopStep* council = find(steps, "gw-birmingham", "");
  ASSERT_TRUE(council) << "the council's gateway's decision for its own addressee";
  EXPECT_EQ(council->hop, 2u);
  EXPECT_EQ(council->addressees, std::vector<std::string>{"role:prevent-coordinator"});
  EXPECT_EQ(council->decision, Decision::deny) << "no council rule lets a CTU tension report reach its leads";
  EXPECT_EQ(council->recipients, 1u);

  const HopStep* staffordshire = find(steps, "gw-staffordshire", "");
  ASSERT_TRUE(staffordshire) << "Staffordshire's decision for its own addressee";
  EXPECT_EQ(staffordshire->hop, 3u);
  EXPECT_EQ(staffordshire->addressees, std::vector<std::string>{"organisation:staffs-police"});
  EXPECT_EQ(staffordshire->decision, Decision::release);
  EXPECT_EQ(staffordshire->recipients, 1u);
  EXPECT_TRUE(staffordshire->refusal.empty());
  EXPECT_EQ(steps.size(), 3u) << "one step each: the council's two, Staffordshire's one";

  // No node id of another gateway reaches the originator.
  for (const auto& step : steps) {
    for (const auto& withheld : step.withheld) {
      EXPECT_THAT(withheld.reason, Not(HasSubstr("bcc-prevent-coordinator")));
      EXPECT_TRUE(withheld.rule_ids.empty());
    }
    EXPECT_THAT(step.reason, Not(HasSubstr("staffs-npt-inspector-1")));
  }

  // The Receipt agrees with each gateway's trail.
  const auto forwards = records(data("gw-birmingham"), "peer_forward", "gw-staffordshire");
  ASSERT_EQ(forwards.size(), 1u);
  EXPECT_EQ(forwards[0].record.decision, "RELEASE_REDACTED");
  const auto decided = records(data("gw-staffordshire"), "decision");
  ASSERT_EQ(decided.size(), 1u);
  EXPECT_EQ(decided[0].record.decision, "RELEASE");

  // Everything answered: nothing is left owed along the route.
  EXPECT_TRUE(eventually([&] { return owed("gw-staffordshire", "gw-birmingham") == 0; }));
  EXPECT_TRUE(eventually([&] { return owed("gw-birmingham", "gw-wm-ctu") == 0; }));
  EXPECT_FALSE(next_of<node::Receipt>(*analyst, 300ms)) << "a step reported twice";
}

TEST_F(HopsTest, ARefusalAtALaterHopReachesTheOriginatorAsDenyWithItsCode) {
  // Staffordshire accredits the council's gateway to OFFICIAL only: what the
  // council (which thinks otherwise) passes on is refused there.
  std::string policy = read_text(policy_file("gw-staffordshire"));
  rewrite(policy, "max_classification: OFFICIAL-SENSITIVE\n      categories: [PERSONAL]\n",
          "max_classification: OFFICIAL\n      categories: [PERSONAL]\n");
  std::ofstream(policy_file("gw-staffordshire")) << policy;
  start_chain();
  auto analyst = at("gw-wm-ctu").connect("wm-ctu-analyst-1");
  const Message message = chain_report();
  analyst->submit(message);
  ASSERT_TRUE(next_of<node::Acknowledgement>(*analyst));

  const auto steps = reported(*analyst, message.id, {"gw-birmingham", "gw-staffordshire"});
  const HopStep* refused = find(steps, "gw-staffordshire", "");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->hop, 3u);
  EXPECT_EQ(refused->decision, Decision::deny);
  EXPECT_EQ(refused->refusal, "beyond-accreditation");
  EXPECT_THAT(refused->reason, HasSubstr("gw-birmingham"));
  EXPECT_EQ(refused->addressees, std::vector<std::string>{"organisation:staffs-police"});
  ASSERT_TRUE(find(steps, "gw-birmingham", "gw-staffordshire"));
  EXPECT_EQ(find(steps, "gw-birmingham", "gw-staffordshire")->decision, Decision::release_redacted)
      << "the council sent it: its own step says so";

  // The same code as Staffordshire's trail.
  const auto audited = records(data("gw-staffordshire"), "peer_refused");
  ASSERT_EQ(audited.size(), 1u);
  EXPECT_THAT(audited[0].record.detail, HasSubstr("beyond-accreditation"));
  EXPECT_TRUE(eventually([&] { return owed("gw-birmingham", "gw-wm-ctu") == 0; }));
}

TEST_F(HopsTest, AReportOwedToAGatewayThatIsDownArrivesOnceWhenItIsBack) {
  start("gw-wm-ctu");
  start("gw-birmingham");
  ASSERT_TRUE(eventually([&] { return links_up("gw-wm-ctu", "gw-birmingham"); }));
  std::string id;
  {
    auto analyst = at("gw-wm-ctu").connect("wm-ctu-analyst-1");
    const Message message = chain_report();
    id = message.id;
    analyst->submit(message);
    ASSERT_TRUE(next_of<node::Acknowledgement>(*analyst));
    // The council's own steps come back at once; Staffordshire is down, so its Forward waits.
    const auto council = reported(*analyst, id, {"gw-birmingham"});
    ASSERT_TRUE(find(council, "gw-birmingham", "gw-staffordshire"));
    EXPECT_EQ(owed("gw-birmingham", "gw-staffordshire"), 1u);
  }
  // The CTU's gateway goes down; Staffordshire comes up and decides.
  stop("gw-wm-ctu");
  ASSERT_TRUE(eventually([&] { return !up("gw-birmingham", "gw-wm-ctu"); }));
  start("gw-staffordshire");
  ASSERT_TRUE(eventually([&] { return owed("gw-birmingham", "gw-staffordshire") == 0; }));
  ASSERT_TRUE(eventually([&] { return owed("gw-birmingham", "gw-wm-ctu") == 1u; }))
      << "Staffordshire's report, owed to the CTU's gateway, which is down";
  EXPECT_EQ(records(data("gw-staffordshire"), "decision").size(), 1u);

  // The CTU's gateway restarts: the report arrives, and the analyst is told, once.
  start("gw-wm-ctu");
  auto analyst = at("gw-wm-ctu").connect("wm-ctu-analyst-1");
  const auto steps = reported(*analyst, id, {"gw-staffordshire"});
  const HopStep* staffordshire = find(steps, "gw-staffordshire", "");
  ASSERT_TRUE(staffordshire) << "the report owed while the origin was down";
  EXPECT_EQ(staffordshire->hop, 3u);
  EXPECT_EQ(staffordshire->decision, Decision::release);
  EXPECT_TRUE(eventually([&] { return owed("gw-birmingham", "gw-wm-ctu") == 0; }));

  // The council's gateway restarts too: nothing is reported again.
  stop("gw-birmingham");
  start("gw-birmingham");
  ASSERT_TRUE(eventually([&] { return links_up("gw-wm-ctu", "gw-birmingham"); }));
  EXPECT_FALSE(reported(*analyst, id, {"gw-staffordshire", "gw-birmingham"}, 1s).size() > 0)
      << "a report passed on twice";
}

// A client with the CTU gateway's own certificate, at the council's gateway:
// a peer that sends what it likes.
class TamperingPeerTest : public ForwardTest {
 protected:
  ForwardedMessage bound(Message message) {
    federation::salt_portions(message);
    const auto paths = pki::gateway_paths(pki_dir("gw-wm-ctu"));
    const federation::OriginGateway origin(paths.key, paths.certificate);
    ForwardedMessage frame;
    frame.route = federation::bind_labels(message, origin, message.created_unix_ms);
    frame.message = std::move(message);
    return frame;
  }
  static v1::Frame wire_frame(const ForwardedMessage& forwarded) {
    v1::Frame frame;
    wire::encode(forwarded, *frame.mutable_forward());
    return frame;
  }
  // The answer to a Forward: Ack{ok} and, when refused, the Error saying why.
  struct Answer {
    bool ok = false;
    std::optional<v1::Error> error;
  };
  static Answer answer(RawNode& peer) {
    Answer answer;
    for (int i = 0; i < 10; ++i) {
      auto frame = peer.next_frame(5s);
      if (!frame) break;
      if (frame->has_error()) answer.error = frame->error();
      if (frame->has_ack()) {
        answer.ok = frame->ack().ok();
        if (answer.ok) break;
      }
      if (answer.error) break;
    }
    return answer;
  }
  Message profile(Label label) {
    Message message = make_message("wm-ctu-analyst-1", {{AddresseeKind::role, "prevent-coordinator"}},
                                   "ct-problem-profile", "prevent", {{label, kSensitiveBody}});
    message.label = label;
    message.created_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch()).count();
    return message;
  }
};

TEST_F(TamperingPeerTest, ALabelAlteredInTransitIsRefusedAuditedAndNeverDelivered) {
  start("gw-birmingham");
  auto coordinator = at("gw-birmingham").connect("bcc-prevent-coordinator");
  auto peer = connect_as("gw-birmingham", pki::gateway_paths(pki_dir("gw-wm-ctu")), "gw-wm-ctu");

  ForwardedMessage tampered = bound(profile(Label{"OFFICIAL-SENSITIVE", {"PERSONAL"}}));
  tampered.message.portions[0].label = Label{"OFFICIAL", {}};  // relabelled down after it was signed
  tampered.message.label = Label{"OFFICIAL", {}};
  ASSERT_TRUE(peer->send_frame(wire_frame(tampered)));
  const Answer refused = answer(*peer);
  EXPECT_FALSE(refused.ok);
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(refused.error->code(), v1::ERROR_CODE_NOT_PERMITTED);
  EXPECT_EQ(refused.error->message_id(), tampered.message.id);
  EXPECT_THAT(refused.error->message(), HasSubstr("binding-"));
  EXPECT_FALSE(refused.error->fatal()) << "the link stays up";
  EXPECT_FALSE(next_of<node::Delivery>(*coordinator, 300ms));
  ASSERT_TRUE(eventually([&] { return !records(root("gw-birmingham") / "data", "peer_refused").empty(); }));
  const auto audited = records(root("gw-birmingham") / "data", "peer_refused");
  EXPECT_EQ(audited[0].record.node, "gw-wm-ctu");
  EXPECT_EQ(audited[0].record.message_id, tampered.message.id);
  EXPECT_THAT(audited[0].record.detail, HasSubstr("binding-"));

  // The same message as signed is accepted on the same link, and delivered.
  ForwardedMessage genuine = bound(profile(Label{"OFFICIAL-SENSITIVE", {"PERSONAL"}}));
  ASSERT_TRUE(peer->send_frame(wire_frame(genuine)));
  EXPECT_TRUE(answer(*peer).ok);
  const auto delivery = next_of<node::Delivery>(*coordinator, 5s);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->message.id, genuine.message.id);
  // Sent again (its answer lost): answered, not decided twice.
  ASSERT_TRUE(peer->send_frame(wire_frame(genuine)));
  EXPECT_TRUE(answer(*peer).ok);
  EXPECT_FALSE(next_of<node::Delivery>(*coordinator, 300ms)) << "delivered twice";
  // The gateway's own exactly-once, not the node's: received and decided once.
  std::size_t received = 0, decided = 0;
  for (const auto& stored : records(root("gw-birmingham") / "data", "peer_receive"))
    received += stored.record.message_id == genuine.message.id;
  for (const auto& stored : records(root("gw-birmingham") / "data", "decision"))
    decided += stored.record.message_id == genuine.message.id;
  EXPECT_EQ(received, 1u);
  EXPECT_EQ(decided, 1u);
}

TEST_F(TamperingPeerTest, AFrameBeyondTheSendingPeersAccreditationIsRefusedAndAudited) {
  start("gw-birmingham");
  auto coordinator = at("gw-birmingham").connect("bcc-prevent-coordinator");
  auto peer = connect_as("gw-birmingham", pki::gateway_paths(pki_dir("gw-wm-ctu")), "gw-wm-ctu");
  // Signed properly, but TOP SECRET: the council's policy accredits the CTU's gateway to SECRET.
  const ForwardedMessage beyond = bound(profile(Label{"TOP SECRET", {"UK EYES ONLY"}}));
  ASSERT_TRUE(peer->send_frame(wire_frame(beyond)));
  const Answer refused = answer(*peer);
  EXPECT_FALSE(refused.ok);
  ASSERT_TRUE(refused.error);
  EXPECT_THAT(refused.error->message(), HasSubstr("beyond-accreditation"));
  EXPECT_FALSE(next_of<node::Delivery>(*coordinator, 300ms));
  ASSERT_TRUE(eventually([&] { return !records(root("gw-birmingham") / "data", "peer_refused").empty(); }));
  EXPECT_THAT(records(root("gw-birmingham") / "data", "peer_refused")[0].record.detail,
              HasSubstr("beyond-accreditation"));
  EXPECT_FALSE(any_file_holds(root("gw-birmingham") / "data", kSensitiveBody))
      << "a refused frame's content is not stored";
}

// Staffordshire marking under GPMS (2008), the CTU's gateway accepting it:
// a client with Staffordshire's gateway certificate sends a Forward it bound
// under GPMS, and the CTU's analyst is delivered the translation, the label
// as signed kept beside it.
TEST_F(TamperingPeerTest, AFrameUnderAnotherSchemeIsDeliveredTranslatedWithItsLabelAsSignedBeside) {
  std::string policy = read_text(policy_file("gw-wm-ctu"));
  const std::string own_scheme = source_path("policies/schemes/gsc-2014.yaml").string();
  replace_all(policy, "scheme: " + own_scheme,
              "scheme: " + own_scheme + "\naccept_schemes: [" +
                  source_path("policies/schemes/gpms-2008.yaml").string() + "]");
  std::ofstream(policy_file("gw-wm-ctu")) << policy;
  start("gw-wm-ctu");
  auto analyst = at("gw-wm-ctu").connect("wm-ctu-analyst-1");
  auto peer = connect_as("gw-wm-ctu", pki::gateway_paths(pki_dir("gw-staffordshire")), "gw-staffordshire");

  Message message = make_message("staffs-ctio-1", {{AddresseeKind::role, "ct-analyst"}}, "tension-report", "prevent",
                                 {{Label{"PROTECT", {}}, "Leaflets outside the community centre in Stoke."}});
  message.label = Label{"PROTECT", {}};
  message.label_scheme = "gpms-2008";
  message.created_unix_ms = to_unix_ms(std::chrono::system_clock::now());
  federation::salt_portions(message);
  const auto paths = pki::gateway_paths(pki_dir("gw-staffordshire"));
  ForwardedMessage frame;
  frame.route = federation::bind_labels(message, federation::OriginGateway(paths.key, paths.certificate),
                                        message.created_unix_ms);
  frame.message = message;
  ASSERT_TRUE(peer->send_frame(wire_frame(frame)));
  const Answer answered = answer(*peer);
  EXPECT_TRUE(answered.ok) << (answered.error ? answered.error->message() : "no answer");

  const auto delivery = next_of<node::Delivery>(*analyst, 5s);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->message.id, message.id);
  EXPECT_EQ(delivery->message.label_scheme, "gsc-2014");
  EXPECT_EQ(delivery->message.original_scheme, "gpms-2008");
  ASSERT_EQ(delivery->message.portions.size(), 1u);
  EXPECT_EQ(delivery->message.portions[0].label, (Label{"OFFICIAL", {}}));
  EXPECT_EQ(delivery->message.portions[0].original_label, (Label{"PROTECT", {}}));
  EXPECT_THAT(delivery->rule_ids, ::testing::Contains("partner-reporting-to-analysts"));
  ASSERT_TRUE(eventually([&] { return !records(root("gw-wm-ctu") / "data", "labels_translated").empty(); }));
  const auto translated = records(root("gw-wm-ctu") / "data", "labels_translated");
  EXPECT_EQ(translated[0].record.node, "gw-staffordshire");
  EXPECT_EQ(translated[0].record.message_id, message.id);
}

}  // namespace
}  // namespace icegate::testing

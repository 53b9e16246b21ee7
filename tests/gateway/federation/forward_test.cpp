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

  // The council's gateway restarts, and the link with it comes back: nothing is sent twice.
  coordinator.reset();
  stop("gw-birmingham");
  start("gw-birmingham");
  ASSERT_TRUE(eventually([&] { return links_up("gw-wm-ctu", "gw-birmingham"); }));
  coordinator = at("gw-birmingham").connect("bcc-prevent-coordinator");
  EXPECT_FALSE(next_of<node::Delivery>(*coordinator, 1s)) << "delivered again after a restart";
  EXPECT_EQ(records(root("gw-birmingham") / "data", "peer_receive").size(), ids.size());
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

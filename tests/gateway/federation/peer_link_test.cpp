// The links between peer gateways (gateway/federation/peer_link.hpp,
// docs/FEDERATION.md): three real gateways on their own loopback addresses
// (127.0.0.2, .3 and .4), each with its own PKI, policy (the shipped
// policies/federation/ ones, with the ports this test picks) and data
// directory, over mutual TLS.
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/audit/audit.hpp"
#include "gateway/federation/peer_link.hpp"
#include "gateway/http/dashboard.hpp"
#include "gateway/pki/pki.hpp"
#include "tests/support/gateway_fixture.hpp"
#include "tests/support/raw_node.hpp"
#include "tests/gateway/federation/three_gateways.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::testing {
namespace {

using ::testing::HasSubstr;

using PeerLinkTest = ThreeGateways;

TEST_F(PeerLinkTest, EveryLinkComesUpOncePerPairWithTheRightIdentityOnEachSide) {
  for (const Spec& gateway : kGateways) start(gateway.id);
  ASSERT_TRUE(eventually([&] {
    return up("gw-wm-ctu", "gw-birmingham") && up("gw-wm-ctu", "gw-staffordshire") &&
           up("gw-birmingham", "gw-wm-ctu") && up("gw-birmingham", "gw-staffordshire") &&
           up("gw-staffordshire", "gw-wm-ctu") && up("gw-staffordshire", "gw-birmingham");
  }));
  // The side whose policy gives the address dialled; the other accepted: one link per pair.
  EXPECT_EQ(status("gw-wm-ctu", "gw-birmingham").direction, "dialled");
  EXPECT_EQ(status("gw-birmingham", "gw-wm-ctu").direction, "accepted");
  EXPECT_EQ(status("gw-wm-ctu", "gw-staffordshire").direction, "dialled");
  EXPECT_EQ(status("gw-staffordshire", "gw-wm-ctu").direction, "accepted");
  EXPECT_EQ(status("gw-birmingham", "gw-staffordshire").direction, "dialled");
  EXPECT_EQ(status("gw-staffordshire", "gw-birmingham").direction, "accepted");
  EXPECT_EQ(at("gw-wm-ctu").gateway().config().gateway_id, "gw-wm-ctu") << "the id is the certificate's CN";

  // And they stay up: no second link replaces the first.
  const auto since = status("gw-staffordshire", "gw-birmingham").since_unix_ms;
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(status("gw-staffordshire", "gw-birmingham").since_unix_ms, since);
  for (const Spec& gateway : kGateways) EXPECT_EQ(at(gateway.id).gateway().session_count(), 0u) << "no node session";

  // /healthz and /metrics show each peer's link.
  const auto [health, metrics] = at("gw-birmingham").on_gateway_thread([&] {
    http::Dashboard dashboard(at("gw-birmingham").gateway(), http::AccessPolicy{true, ""});
    return std::make_pair(dashboard.handle({"GET", "/healthz", "127.0.0.1:8080", "", "", "", ""}).body,
                          dashboard.metrics_text());
  });
  EXPECT_THAT(health, HasSubstr(R"("peers":[{"id":"gw-wm-ctu","state":"up")"));
  EXPECT_THAT(health, HasSubstr(R"("direction":"accepted")"));
  EXPECT_THAT(health, HasSubstr(R"({"id":"gw-staffordshire","state":"up")"));
  EXPECT_THAT(health, HasSubstr(R"("address":"127.0.0.4:)"));
  EXPECT_THAT(metrics, HasSubstr("icegate_peer_link_up{peer=\"gw-wm-ctu\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("icegate_peer_link_up{peer=\"gw-staffordshire\"} 1\n"));

  // Each side audited its link, naming the peer gateway.
  ASSERT_TRUE(eventually([&] { return records(root("gw-staffordshire") / "data", "connection").size() >= 2; }));
  for (const auto& record : records(root("gw-staffordshire") / "data", "connection")) {
    EXPECT_THAT(record.record.detail, HasSubstr("\"peer_gateway\":true"));
    EXPECT_THAT(record.record.detail, HasSubstr("\"direction\":\"accepted\""));
  }
}

TEST_F(PeerLinkTest, ARestartedPeerIsRedialledAndItsLinkComesBack) {
  for (const Spec& gateway : kGateways) start(gateway.id);
  ASSERT_TRUE(eventually([&] { return up("gw-wm-ctu", "gw-staffordshire") && up("gw-birmingham", "gw-staffordshire"); }));

  stop("gw-staffordshire");
  ASSERT_TRUE(eventually([&] { return !up("gw-wm-ctu", "gw-staffordshire"); }));
  // Redialled, failing, each failure with its reason.
  ASSERT_TRUE(eventually([&] {
    return status("gw-wm-ctu", "gw-staffordshire").last_error.find("cannot connect") != std::string::npos;
  })) << status("gw-wm-ctu", "gw-staffordshire").last_error;

  start("gw-staffordshire");
  EXPECT_TRUE(eventually([&] {
    return up("gw-wm-ctu", "gw-staffordshire") && up("gw-birmingham", "gw-staffordshire") &&
           up("gw-staffordshire", "gw-wm-ctu") && up("gw-staffordshire", "gw-birmingham");
  }));
  EXPECT_EQ(status("gw-wm-ctu", "gw-staffordshire").direction, "dialled");
  EXPECT_EQ(status("gw-staffordshire", "gw-wm-ctu").direction, "accepted");
  EXPECT_TRUE(up("gw-wm-ctu", "gw-birmingham")) << "the other link was not disturbed";
}

// (a) a certificate from a peer's CA whose CN is not that peer.
TEST_F(PeerLinkTest, ACertificateFromAPeersCaThatIsNotThePeerIsRefusedAndAudited) {
  start("gw-wm-ctu");
  const auto impostor = pki::issue_node(pki_dir("gw-birmingham"), "gw-impostor");
  auto client = connect_as("gw-wm-ctu", impostor, "gw-impostor", false);
  auto error = client->next_error();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->second.code(), v1::ERROR_CODE_UNKNOWN_NODE);
  EXPECT_THAT(error->second.message(), HasSubstr("issued by the CA of peer gw-birmingham"));
  EXPECT_TRUE(client->closed_at());
  ASSERT_TRUE(eventually([&] { return !records(root("gw-wm-ctu") / "data", "connection_refused").empty(); }));
  const auto refused = records(root("gw-wm-ctu") / "data", "connection_refused");
  EXPECT_EQ(refused.front().record.node, "gw-impostor");
  EXPECT_THAT(refused.front().record.detail, HasSubstr("vouches only for gw-birmingham"));
  EXPECT_NE(status("gw-wm-ctu", "gw-birmingham").state, LinkState::up);
}

// (b) a certificate from a CA no policy names, with the peer's CN.
TEST_F(PeerLinkTest, ThePeersNameFromAnUnknownCaIsRefusedAndAudited) {
  start("gw-wm-ctu");
  TemporaryDirectory other;
  pki::init_ca(other.path(), "icegate gw-birmingham CA", false, pki::KeyType::ecdsa_p256,
               pki::GatewayCertificate{.id = "gw-birmingham"});
  try {
    auto client = connect_as("gw-wm-ctu", pki::gateway_paths(other.path()), "gw-birmingham", false);
    auto frame = client->next_frame();
    EXPECT_FALSE(frame && frame->has_welcome());
  } catch (const std::exception&) {
    // The handshake may fail on the client's side too: refused either way.
  }
  ASSERT_TRUE(eventually([&] { return !records(root("gw-wm-ctu") / "data", "connection_refused").empty(); }));
  EXPECT_THAT(records(root("gw-wm-ctu") / "data", "connection_refused").front().record.detail,
              HasSubstr("TLS handshake failed: certificate verify failed (unable to get local issuer certificate)"));
  EXPECT_NE(status("gw-wm-ctu", "gw-birmingham").state, LinkState::up);
}

// (c) a peer's CA must never authenticate one of our nodes: a node
// certificate it issued, in the name of a node of ours, is refused; the real
// node (from our own CA) still connects.
TEST_F(PeerLinkTest, APeersCaNeverAuthenticatesALocalNode) {
  start("gw-wm-ctu");
  const auto forged = pki::issue_node(pki_dir("gw-birmingham"), "wm-ctu-analyst-1");
  auto client = connect_as("gw-wm-ctu", forged, "wm-ctu-analyst-1", false);
  auto error = client->next_error();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->second.code(), v1::ERROR_CODE_UNKNOWN_NODE);
  EXPECT_THAT(error->second.message(), HasSubstr("never authenticates a node of this gateway"));
  EXPECT_EQ(at("gw-wm-ctu").gateway().session_count(), 0u);
  ASSERT_TRUE(eventually([&] { return !records(root("gw-wm-ctu") / "data", "connection_refused").empty(); }));
  EXPECT_EQ(records(root("gw-wm-ctu") / "data", "connection_refused").front().record.node, "wm-ctu-analyst-1");

  auto node = at("gw-wm-ctu").connect("wm-ctu-analyst-1");
  EXPECT_TRUE(eventually([&] { return at("gw-wm-ctu").gateway().session_count() == 1; }));
}

// The peer's own certificate, on a link it opens to us (birmingham's gateway
// is not running: this test plays it). A node's frame is refused, naming it;
// a Forward gets "not enabled"; nothing reaches a node; the link stays up.
// The node PKI has a CRL: a peer's certificate, which no CRL of ours covers,
// is not refused for want of one.
// A peer may send Forwards and its answers to them (Acks); anything else a
// node would send is refused with an Error naming it, a Forward that does
// not hold is refused by the hop (forward_test.cpp has the rest), and the
// link stays up throughout.
TEST_F(PeerLinkTest, NodeFramesAndBadForwardsOnAPeerLinkAreRefusedAndTheLinkStaysUp) {
  pki::issue_node(pki_dir("gw-wm-ctu"), "revoked-node");
  pki::revoke_node(pki_dir("gw-wm-ctu"), "revoked-node");
  start("gw-wm-ctu");
  auto node = at("gw-wm-ctu").connect("wm-ctu-analyst-1");
  auto peer = connect_as("gw-wm-ctu", pki::gateway_paths(pki_dir("gw-birmingham")), "gw-birmingham");
  ASSERT_TRUE(eventually([&] { return up("gw-wm-ctu", "gw-birmingham"); }));
  EXPECT_EQ(status("gw-wm-ctu", "gw-birmingham").direction, "accepted");

  v1::Frame submit;
  submit.mutable_submit()->mutable_message()->set_id("m-1");
  ASSERT_TRUE(peer->send_frame(submit));
  auto error = peer->next_error();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->second.code(), v1::ERROR_CODE_UNEXPECTED_FRAME);
  EXPECT_THAT(error->second.message(), HasSubstr("may not send submit"));
  EXPECT_FALSE(error->second.fatal());

  // An answer to a Forward never sent is a repeat: dropped, not refused.
  v1::Frame ack;
  ack.mutable_ack()->set_message_id("m-1");
  ASSERT_TRUE(peer->send_frame(ack));

  // Not bound by any origin: refused by the hop, answered Ack{ok: false} and an Error.
  v1::Frame forward;
  auto* message = forward.mutable_forward()->mutable_message();
  message->set_id("m-2");
  auto* addressee = message->add_addressees();
  addressee->set_kind(v1::ADDRESSEE_KIND_NODE);
  addressee->set_name("wm-ctu-analyst-1");
  forward.mutable_forward()->mutable_route()->set_origin_gateway("gw-birmingham");
  ASSERT_TRUE(peer->send_frame(forward));
  auto answer = next_link_frame(*peer);
  ASSERT_TRUE(answer);
  ASSERT_TRUE(answer->has_ack()) << "the Ack of m-1 was answered with an Error";
  EXPECT_EQ(answer->ack().message_id(), "m-2");
  EXPECT_FALSE(answer->ack().ok());
  error = peer->next_error();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->second.code(), v1::ERROR_CODE_NOT_PERMITTED);
  EXPECT_THAT(error->second.message(), HasSubstr("message m-2 refused: malformed"));
  EXPECT_EQ(error->second.message_id(), "m-2");

  // Still up: a heartbeat is echoed.
  v1::Frame beat;
  beat.mutable_heartbeat()->set_sent_unix_ms(42);
  ASSERT_TRUE(peer->send_frame(beat));
  auto echo = next_link_frame(*peer);
  ASSERT_TRUE(echo);
  EXPECT_TRUE(echo->has_heartbeat());
  EXPECT_FALSE(peer->closed());
  EXPECT_TRUE(up("gw-wm-ctu", "gw-birmingham"));
  EXPECT_FALSE(next_of<node::Delivery>(*node, 300ms)) << "a peer's frame never reaches a node";

  ASSERT_TRUE(eventually([&] { return records(root("gw-wm-ctu") / "data", "peer_refused").size() == 1; }));
  const auto refused = records(root("gw-wm-ctu") / "data", "peer_frame_refused");
  ASSERT_EQ(refused.size(), 1u) << "the Submit; the Ack is not refused";
  EXPECT_EQ(refused[0].record.node, "gw-birmingham");
  EXPECT_THAT(refused[0].record.detail, HasSubstr("\"frame\":\"submit\""));
  const auto hop_refused = records(root("gw-wm-ctu") / "data", "peer_refused");
  EXPECT_EQ(hop_refused[0].record.message_id, "m-2");
  EXPECT_EQ(hop_refused[0].record.node, "gw-birmingham");
}

// One link per pair: the peer connecting again (it restarted) supersedes its
// old link, which is closed with SUPERSEDED; the gateway keeps one.
TEST_F(PeerLinkTest, ASecondLinkFromTheSamePeerSupersedesTheFirstCleanly) {
  start("gw-wm-ctu");
  const auto credentials = pki::gateway_paths(pki_dir("gw-staffordshire"));
  auto first = connect_as("gw-wm-ctu", credentials, "gw-staffordshire");
  ASSERT_TRUE(eventually([&] { return up("gw-wm-ctu", "gw-staffordshire"); }));
  auto second = connect_as("gw-wm-ctu", credentials, "gw-staffordshire");
  auto error = first->next_error();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->second.code(), v1::ERROR_CODE_SUPERSEDED);
  EXPECT_TRUE(first->closed_at());
  v1::Frame beat;
  beat.mutable_heartbeat()->set_sent_unix_ms(7);
  ASSERT_TRUE(second->send_frame(beat));
  auto echo = next_link_frame(*second);
  ASSERT_TRUE(echo);
  EXPECT_TRUE(echo->has_heartbeat());
  EXPECT_TRUE(up("gw-wm-ctu", "gw-staffordshire"));
  // The second handshake's chain came from the verified-chain cache, and kept its anchor (the peer's CA).
  const auto cache = at("gw-wm-ctu").gateway().verify_cache_stats();
  ASSERT_TRUE(cache);
  EXPECT_GE(cache->hits, 1u);
}

// A peer whose Hello names another gateway than its certificate is refused.
TEST_F(PeerLinkTest, APeerWhoseHelloNamesAnotherGatewayIsRefused) {
  start("gw-wm-ctu");
  auto client =
      connect_as("gw-wm-ctu", pki::gateway_paths(pki_dir("gw-staffordshire")), "gw-birmingham", false);
  auto error = client->next_error();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->second.code(), v1::ERROR_CODE_NODE_MISMATCH);
}

// A peer removed from the policy: its live link is closed, and it is refused from then on.
TEST_F(PeerLinkTest, APeerRemovedFromThePolicyLosesItsLinkAndIsRefused) {
  start("gw-wm-ctu");
  const auto credentials = pki::gateway_paths(pki_dir("gw-staffordshire"));
  auto peer = connect_as("gw-wm-ctu", credentials, "gw-staffordshire");
  ASSERT_TRUE(eventually([&] { return up("gw-wm-ctu", "gw-staffordshire"); }));

  std::string text = read_text(policy_file("gw-wm-ctu"));
  const auto from = text.find("  - id: gw-staffordshire");
  ASSERT_NE(from, std::string::npos);
  text.erase(from);
  // A rule for what remote senders send names the peer too: it goes with it.
  const std::string named = "peers: [gw-birmingham, gw-staffordshire]";
  const auto rule = text.find(named);
  ASSERT_NE(rule, std::string::npos);
  text.replace(rule, named.size(), "peers: [gw-birmingham]");
  std::ofstream(policy_file("gw-wm-ctu")) << text;
  const auto diagnostics =
      at("gw-wm-ctu").on_gateway_thread([&] { return at("gw-wm-ctu").gateway().reload_policy(); });
  ASSERT_EQ(diagnostics.error_count(), 0u);

  auto error = peer->next_error();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->second.code(), v1::ERROR_CODE_SUPERSEDED);
  EXPECT_THAT(error->second.message(), HasSubstr("no longer a peer"));
  EXPECT_TRUE(peer->closed_at());
  try {
    auto again = connect_as("gw-wm-ctu", credentials, "gw-staffordshire", false);
    auto frame = again->next_frame();
    EXPECT_FALSE(frame && frame->has_welcome());
  } catch (const std::exception&) {
    // Its CA is no longer trusted: the handshake itself fails.
  }
}

// Both policies give each other's address, so both dial: of two links up at
// once, the one the smaller id dialled is kept (gw-staffordshire < gw-wm-ctu),
// and both sides agree on it, and it stays.
TEST_F(PeerLinkTest, WhenBothSidesDialTheLinkTheSmallerIdDialledIsKeptOnBothSides) {
  std::string text = read_text(policy_file("gw-staffordshire"));
  const std::string entry = "  - id: gw-wm-ctu\n";
  const auto at_entry = text.find(entry);
  ASSERT_NE(at_entry, std::string::npos);
  text.insert(at_entry + entry.size(), fmt::format("    address: 127.0.0.2:{}\n", ports_["gw-wm-ctu"]));
  std::ofstream(policy_file("gw-staffordshire")) << text;

  start("gw-wm-ctu");
  start("gw-staffordshire");
  ASSERT_TRUE(eventually([&] {
    return up("gw-wm-ctu", "gw-staffordshire") && up("gw-staffordshire", "gw-wm-ctu") &&
           status("gw-staffordshire", "gw-wm-ctu").direction == "dialled" &&
           status("gw-wm-ctu", "gw-staffordshire").direction == "accepted";
  })) << status("gw-staffordshire", "gw-wm-ctu").direction << " / " << status("gw-wm-ctu", "gw-staffordshire").direction;
  const auto since = status("gw-wm-ctu", "gw-staffordshire").since_unix_ms;
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(up("gw-wm-ctu", "gw-staffordshire"));
  EXPECT_EQ(status("gw-wm-ctu", "gw-staffordshire").since_unix_ms, since) << "the kept link was not replaced";
  EXPECT_EQ(status("gw-staffordshire", "gw-wm-ctu").direction, "dialled");
}

// A peer's CA that cannot be read: the gateway refuses to start, naming the peer and the file.
TEST_F(PeerLinkTest, AGatewayWhosePeersCaCannotBeReadRefusesToStart) {
  const fs::path missing = pki::ca_paths(pki_dir("gw-birmingham")).certificate;
  fs::remove(missing);
  try {
    start("gw-wm-ctu");
    FAIL() << "the gateway started without gw-birmingham's CA";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("gw-birmingham"));
    EXPECT_THAT(error.what(), HasSubstr(missing.string()));
  }
}

}  // namespace
}  // namespace icegate::testing

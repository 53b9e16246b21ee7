// Peers witness each other's audit trail (gateway/federation/head_exchange.hpp,
// docs/FEDERATION.md "Peers witness each other's audit trail"): real gateways
// on their own loopback addresses (127.0.0.2, .3), each with its own PKI,
// policy (the shipped policies/federation/ ones, with the ports this test
// picks) and data directory, over mutual TLS. Each sends its signed durable
// audit head to its peers, which keep it as a `witness` record; a trail cut
// or rewritten at its tail, which still verifies alone, is named against
// those witnesses; a head that does not hold is refused and audited.
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
#include "gateway/audit/witness.hpp"
#include "gateway/federation/head_exchange.hpp"
#include "gateway/federation/peer_link.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/pki/pki.hpp"
#include "tests/gateway/audit/audit_fixture.hpp"
#include "tests/gateway/federation/three_gateways.hpp"
#include "tests/support/gateway_fixture.hpp"
#include "tests/support/raw_node.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The hash of record `seq` of a trail ("" when there is none).
std::string hash_at(const fs::path& data, std::int64_t seq) {
  for (const audit::StoredRecord& stored : audit::query(data, {}))
    if (stored.seq == seq) return stored.hash;
  return {};
}

std::int64_t now_ms() { return to_unix_ms(std::chrono::system_clock::now()); }

v1::Frame head_frame(const audit::SignedHead& head) {
  v1::Frame frame;
  auto& body = *frame.mutable_audit_head();
  body.set_seq(head.seq);
  body.set_hash(head.hash);
  body.set_signed_unix_ms(head.signed_unix_ms);
  body.set_signature(head.signature);
  body.set_certificate_pem(head.certificate_pem);
  return frame;
}

// A head signed with the key and certificate of `paths`.
audit::SignedHead signed_by(const pki::Paths& paths, std::int64_t seq, const std::string& hash) {
  const pki::SigningKey key(paths.key);
  return audit::sign_head(audit::TrailHead{seq, hash}, key, pki::read_certificate_pem(paths.certificate), now_ms());
}

const std::string kHashA(64, 'a');
const std::string kHashB(64, 'b');

class HeadExchangeTest : public ThreeGateways {
 protected:
  HeadExchangeTest() { config_.audit_head_interval = 100ms; }  // the default is 10 s

  // The witnesses of `gateway`'s heads that `peer`'s trail holds, highest seq last.
  std::vector<audit::SignedHead> witnessed(const std::string& peer, const std::string& gateway) {
    std::vector<audit::SignedHead> heads;
    for (const auto& stored : records(data(peer), "witness", gateway))
      heads.push_back(audit::parse_witness(stored.record.detail, "record"));
    return heads;
  }

};

TEST_F(HeadExchangeTest, EachGatewaysDurableHeadReachesItsPeerAndIsKeptAsAWitnessRecord) {
  start("gw-wm-ctu");
  start("gw-birmingham");
  ASSERT_TRUE(eventually([&] { return up("gw-wm-ctu", "gw-birmingham") && up("gw-birmingham", "gw-wm-ctu"); }));
  ASSERT_TRUE(eventually([&] {
    return !witnessed("gw-birmingham", "gw-wm-ctu").empty() && !witnessed("gw-wm-ctu", "gw-birmingham").empty();
  }));

  // The head witnessed is a record of the sender's trail, with its hash, and
  // signed by the sender's certificate.
  const audit::SignedHead first = witnessed("gw-birmingham", "gw-wm-ctu").back();
  EXPECT_GT(first.seq, 0);
  EXPECT_EQ(first.hash, hash_at(data("gw-wm-ctu"), first.seq));
  EXPECT_EQ(pki::pem_common_name(first.certificate_pem), "gw-wm-ctu");
  EXPECT_EQ(pki::check_signature(first.certificate_pem, audit::signed_bytes(first), first.signature, ca("gw-wm-ctu"),
                                 first.signed_unix_ms),
            "");
  const audit::SignedHead back = witnessed("gw-wm-ctu", "gw-birmingham").back();
  EXPECT_EQ(back.hash, hash_at(data("gw-birmingham"), back.seq));
  const auto record = records(data("gw-birmingham"), "witness", "gw-wm-ctu").back();
  EXPECT_EQ(record.record.node, "gw-wm-ctu");
  EXPECT_THAT(record.record.detail, AllOf(HasSubstr("\"peer_gateway\":true"), HasSubstr("\"gateway\":\"gw-wm-ctu\"")));

  // The trail grows (a node connects): a newer head follows.
  auto node = at("gw-wm-ctu").connect("wm-ctu-analyst-1");
  ASSERT_TRUE(eventually([&] { return witnessed("gw-birmingham", "gw-wm-ctu").back().seq > first.seq; }));
  const audit::SignedHead newer = witnessed("gw-birmingham", "gw-wm-ctu").back();
  EXPECT_EQ(newer.hash, hash_at(data("gw-wm-ctu"), newer.seq));
  // Seqs only go up.
  const auto all = witnessed("gw-birmingham", "gw-wm-ctu");
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].seq, all[i - 1].seq);

  // Then, quiet, they stop: a witness record is no news to send back.
  std::this_thread::sleep_for(1500ms);
  const auto count = [&] {
    return std::make_pair(records(data("gw-birmingham"), "witness").size(), records(data("gw-wm-ctu"), "witness").size());
  };
  const auto settled = count();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(count(), settled) << "two quiet gateways witness each other's witnesses for ever";
  EXPECT_THAT(records(data("gw-birmingham"), "peer_refused"), IsEmpty());
  EXPECT_THAT(records(data("gw-wm-ctu"), "peer_refused"), IsEmpty());
}

// The chain alone verifies a trail cut back, or rewritten with recomputed
// hashes; the peer's witness records name either.
TEST_F(HeadExchangeTest, ACutOrRewrittenTailIsNamedAgainstThePeersWitnessRecords) {
  start("gw-wm-ctu");
  start("gw-birmingham");
  ASSERT_TRUE(eventually([&] { return up("gw-wm-ctu", "gw-birmingham"); }));
  {
    auto node = at("gw-wm-ctu").connect("wm-ctu-analyst-1");
    ASSERT_TRUE(eventually([&] { return at("gw-wm-ctu").gateway().session_count() == 1; }));
  }
  // The node's disconnection is witnessed too: the last record of the trail.
  ASSERT_TRUE(eventually([&] {
    const auto heads = witnessed("gw-birmingham", "gw-wm-ctu");
    return !records(data("gw-wm-ctu"), "disconnection", "wm-ctu-analyst-1").empty() && !heads.empty() &&
           heads.back().seq >= records(data("gw-wm-ctu"), "disconnection", "wm-ctu-analyst-1").back().seq;
  }));
  running_.clear();

  const std::vector<audit::Witness> witnesses = audit::witnesses_from(data("gw-birmingham"), ca("gw-wm-ctu"));
  ASSERT_FALSE(witnesses.empty());
  std::int64_t highest = 0;
  for (const auto& witness : witnesses) highest = std::max(highest, witness.head.seq);
  ASSERT_GE(highest, 3);  // the peer link, the node connecting and leaving
  EXPECT_TRUE(audit::verify(data("gw-wm-ctu")).intact());
  EXPECT_THAT(audit::check_witnesses(data("gw-wm-ctu"), witnesses, ca("gw-wm-ctu")), IsEmpty());
  // Birmingham's own heads, which gw-wm-ctu witnessed, are not gw-wm-ctu's: passed over.
  EXPECT_THAT(audit::witnesses_from(data("gw-wm-ctu"), ca("gw-wm-ctu")), IsEmpty());

  const fs::path cut = directory_.path() / "cut";
  const fs::path rewritten = directory_.path() / "rewritten";
  fs::copy(data("gw-wm-ctu"), cut, fs::copy_options::recursive);
  fs::copy(data("gw-wm-ctu"), rewritten, fs::copy_options::recursive);

  // The last two witnessed records removed.
  {
    AuditDatabase db(cut);
    db.exec("DELETE FROM audit WHERE seq >= " + std::to_string(highest - 1));
  }
  EXPECT_TRUE(audit::verify(cut).intact()) << "the chain alone cannot see the cut";
  const auto truncated = audit::check_witnesses(cut, witnesses, ca("gw-wm-ctu"));
  ASSERT_FALSE(truncated.empty());
  EXPECT_EQ(truncated.back().seq, highest);
  EXPECT_EQ(truncated.back().kind, audit::ProblemKind::truncated);
  EXPECT_THAT(truncated.back().text,
              AllOf(HasSubstr(fmt::format("the trail ends at seq {}", highest - 2)), HasSubstr("gw-wm-ctu signed"),
                    HasSubstr(data("gw-birmingham").string())));

  // The tail replaced by other records, every hash recomputed, one longer.
  {
    AuditDatabase db(rewritten);
    db.exec("DELETE FROM audit WHERE seq >= " + std::to_string(highest - 1));
    audit::AuditChain chain(db);
    db.exec("BEGIN");
    for (const audit::AuditRecord& record : sample_records(3)) chain.append(record);
    db.exec("COMMIT");
  }
  EXPECT_TRUE(audit::verify(rewritten).intact()) << "the chain alone cannot see the rewrite";
  const auto problems = audit::check_witnesses(rewritten, witnesses, ca("gw-wm-ctu"));
  ASSERT_FALSE(problems.empty());
  for (const auto& problem : problems) EXPECT_EQ(problem.kind, audit::ProblemKind::rewritten) << problem.text;
  EXPECT_EQ(problems.back().seq, highest);
}

// A head that does not hold is refused with an Error, audited as
// peer_refused, and the link stays up; a good one is kept. Birmingham's
// gateway is not running: this test plays it, with its real certificate.
TEST_F(HeadExchangeTest, AForgedUnsignedOrBackwardHeadIsRefusedAuditedAndTheLinkStaysUp) {
  pki::issue_node(pki_dir("gw-birmingham"), "gw-impostor");
  start("gw-wm-ctu");
  const pki::Paths birmingham = pki::gateway_paths(pki_dir("gw-birmingham"));
  auto peer = connect_as("gw-wm-ctu", birmingham, "gw-birmingham");
  ASSERT_TRUE(eventually([&] { return up("gw-wm-ctu", "gw-birmingham"); }));

  // The gateway sends its own head to the peer, signed by its key.
  std::optional<v1::Frame> from_gateway;
  for (int i = 0; i < 20 && !(from_gateway && from_gateway->has_audit_head()); ++i) from_gateway = peer->next_frame();
  ASSERT_TRUE(from_gateway && from_gateway->has_audit_head());
  EXPECT_GT(from_gateway->audit_head().seq(), 0);
  audit::SignedHead sent;
  sent.seq = from_gateway->audit_head().seq();
  sent.hash = from_gateway->audit_head().hash();
  sent.signed_unix_ms = from_gateway->audit_head().signed_unix_ms();
  EXPECT_EQ(pki::check_signature(from_gateway->audit_head().certificate_pem(), audit::signed_bytes(sent),
                                 from_gateway->audit_head().signature(), ca("gw-wm-ctu"), sent.signed_unix_ms),
            "");

  // Each refused frame is answered with a non-fatal Error.
  const auto refused_with = [&](const v1::Frame& frame, const std::string& says) {
    ASSERT_TRUE(peer->send_frame(frame));
    auto error = peer->next_error();
    ASSERT_TRUE(error) << says;
    EXPECT_EQ(error->second.code(), v1::ERROR_CODE_NOT_PERMITTED);
    EXPECT_FALSE(error->second.fatal());
    EXPECT_THAT(error->second.message(), AllOf(HasSubstr("audit head"), HasSubstr(says)));
  };
  audit::SignedHead unsigned_head = signed_by(birmingham, 5, kHashA);
  unsigned_head.signature.clear();
  refused_with(head_frame(unsigned_head), "not signed");
  audit::SignedHead altered = signed_by(birmingham, 5, kHashA);
  altered.seq = 6;
  refused_with(head_frame(altered), "signature");
  refused_with(head_frame(signed_by(pki::node_paths(pki_dir("gw-birmingham"), "gw-impostor"), 5, kHashA)),
               "signed by 'gw-impostor', not by gw-birmingham");
  refused_with(head_frame(signed_by(pki::gateway_paths(pki_dir("gw-staffordshire")), 5, kHashA)), "");

  // A good head is kept, without an Error.
  ASSERT_TRUE(peer->send_frame(head_frame(signed_by(birmingham, 5, kHashA))));
  ASSERT_TRUE(eventually([&] { return witnessed("gw-wm-ctu", "gw-birmingham").size() == 1; }));
  EXPECT_EQ(witnessed("gw-wm-ctu", "gw-birmingham").front().hash, kHashA);

  // Then a lower seq, and the same seq with another hash.
  refused_with(head_frame(signed_by(birmingham, 4, kHashA)), "below the head of 5 records");
  refused_with(head_frame(signed_by(birmingham, 5, kHashB)), "rewritten");

  ASSERT_TRUE(eventually([&] { return records(data("gw-wm-ctu"), "peer_refused").size() == 6; }));
  const auto refused = records(data("gw-wm-ctu"), "peer_refused");
  const std::vector<std::string> reasons = {"malformed",     "bad_signature", "signer_not_peer",
                                            "certificate_not_from_ca", "seq_went_back", "hash_changed"};
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    EXPECT_EQ(refused[i].record.node, "gw-birmingham");
    EXPECT_THAT(refused[i].record.detail,
                AllOf(HasSubstr("\"frame\":\"audit_head\""), HasSubstr("\"reason\":\"" + reasons[i] + "\"")));
  }
  EXPECT_EQ(witnessed("gw-wm-ctu", "gw-birmingham").size(), 1u);

  // The link is still up: a heartbeat is echoed.
  v1::Frame beat;
  beat.mutable_heartbeat()->set_sent_unix_ms(42);
  ASSERT_TRUE(peer->send_frame(beat));
  std::optional<v1::Frame> echo;
  for (int i = 0; i < 20 && !(echo && echo->has_heartbeat()); ++i) echo = peer->next_frame();
  ASSERT_TRUE(echo && echo->has_heartbeat());
  EXPECT_TRUE(up("gw-wm-ctu", "gw-birmingham"));

  // After a restart, the last head witnessed is read back from the trail: a
  // lower seq is still refused.
  peer.reset();
  stop("gw-wm-ctu");
  start("gw-wm-ctu");
  peer = connect_as("gw-wm-ctu", birmingham, "gw-birmingham");
  refused_with(head_frame(signed_by(birmingham, 3, kHashA)), "below the head of 5 records");
}

// An AuditHead is a peer's frame: a node that sends one is told so.
TEST_F(HeadExchangeTest, ANodeThatSendsAnAuditHeadIsAnsweredUnexpectedFrame) {
  start("gw-wm-ctu");
  auto node = connect_as("gw-wm-ctu", pki::node_paths(pki_dir("gw-wm-ctu"), "wm-ctu-analyst-1"), "wm-ctu-analyst-1");
  ASSERT_TRUE(node->send_frame(head_frame(signed_by(pki::gateway_paths(pki_dir("gw-wm-ctu")), 1, kHashA))));
  auto error = node->next_error();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->second.code(), v1::ERROR_CODE_UNEXPECTED_FRAME);
  EXPECT_THAT(error->second.message(), HasSubstr("a node may not send audit_head"));
  EXPECT_FALSE(error->second.fatal());
  EXPECT_THAT(records(data("gw-wm-ctu"), "witness"), IsEmpty());
}

}  // namespace
}  // namespace icegate::testing

// audit::trace: one message's path rebuilt from several gateways' trails,
// each chain verified, each hop's two sides compared.
#include "gateway/audit/trace.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/gateway/audit/trace_fixture.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::audit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace icegate::testing;

class TraceTest : public ::testing::Test {
 protected:
  void write(const TraceTrails& trails) {
    for (const auto& dir : {origin_, council_, force_}) std::filesystem::create_directories(dir);
    write_chain(origin_, trails.origin);
    write_chain(council_, trails.council);
    write_chain(force_, trails.force);
  }
  std::string problems(const Trace& trace) const {
    std::string text;
    for (const auto& problem : trace.problems) text += problem.text + "\n";
    return text;
  }
  std::string notes(const Trace& trace) const {
    std::string text;
    for (const auto& note : trace.notes) text += note.text + "\n";
    return text;
  }

  TemporaryDirectory temporary_;
  std::filesystem::path origin_ = temporary_ / "wm", council_ = temporary_ / "bcc", force_ = temporary_ / "staffs";
};

TEST_F(TraceTest, ThreeTrailsGivenInAnyOrderAreNamedPutInPathOrderAndAgree) {
  write(chain_of_three());
  const Trace trace = audit::trace(traced_message, {{"", force_}, {"", origin_}, {"", council_}});
  ASSERT_EQ(trace.gateways.size(), 3u);
  EXPECT_EQ(trace.gateways[0].id, "gw-wm-ctu");
  EXPECT_TRUE(trace.gateways[0].origin);
  EXPECT_EQ(trace.gateways[0].dir, origin_);
  EXPECT_EQ(trace.gateways[1].id, "gw-birmingham");
  EXPECT_EQ(trace.gateways[1].dir, council_);
  EXPECT_EQ(trace.gateways[2].id, "gw-staffordshire");
  EXPECT_EQ(trace.gateways[2].dir, force_);
  for (const auto& gateway : trace.gateways) {
    EXPECT_TRUE(gateway.chain.intact());
    for (const auto& stored : gateway.records) EXPECT_EQ(stored.record.message_id, traced_message);
  }
  EXPECT_EQ(trace.gateways[0].records.size(), 3u) << "the message's records only, not the trail's others";
  ASSERT_EQ(trace.hops.size(), 2u);
  EXPECT_EQ(trace.hops[0].from, "gw-wm-ctu");
  EXPECT_EQ(trace.hops[0].to, "gw-birmingham");
  EXPECT_EQ(trace.hops[0].decision, "RELEASE_REDACTED");
  EXPECT_THAT(trace.hops[0].forwarded, ElementsAre("p2", "p3"));
  ASSERT_EQ(trace.hops[0].withheld.size(), 1u);
  EXPECT_THAT(trace.hops[0].withheld[0], HasSubstr("p1: above_ceiling: SECRET is above gw-birmingham's"));
  EXPECT_TRUE(trace.hops[0].received);
  EXPECT_THAT(trace.hops[1].received_portions, ElementsAre("p3"));
  EXPECT_TRUE(trace.consistent()) << problems(trace);
  EXPECT_THAT(trace.notes, IsEmpty()) << notes(trace);
}

TEST_F(TraceTest, AReceiverThatRecordsAPortionItsSenderDidNotForwardIsNamed) {
  TraceTrails trails = chain_of_three();
  // The force's trail says it received p2, which the council withheld from it.
  trails.force[3].detail =
      R"({"peer":"gw-birmingham","origin":"gw-wm-ctu","via":["gw-birmingham"],"hop":2,"portions":["p2","p3"],"binding":"verified"})";
  write(trails);
  const Trace trace = audit::trace(traced_message, {{"", origin_}, {"", council_}, {"", force_}});
  ASSERT_EQ(trace.problems.size(), 1u) << problems(trace);
  EXPECT_EQ(trace.problems[0].gateway, "gw-staffordshire");
  EXPECT_THAT(trace.problems[0].text,
              HasSubstr("gw-staffordshire recorded receiving portion(s) p2 from gw-birmingham, whose trail does "
                        "not say it forwarded them (it forwarded p3)"));
}

TEST_F(TraceTest, ATrailAlteredAfterTheFactIsNamedByItsChain) {
  write(chain_of_three());
  {
    AuditDatabase db(council_);
    db.exec("UPDATE audit SET decision = 'RELEASE' WHERE kind = 'peer_forward'");
  }
  const Trace trace = audit::trace(traced_message, {{"", origin_}, {"", council_}, {"", force_}});
  EXPECT_FALSE(trace.consistent());
  ASSERT_FALSE(trace.problems.empty());
  EXPECT_EQ(trace.problems[0].gateway, "gw-birmingham");
  EXPECT_THAT(trace.problems[0].text, HasSubstr("gw-birmingham's trail: seq 7: modified"));
}

TEST_F(TraceTest, AReceiptWithNoForwardBehindItIsNamed) {
  TraceTrails trails = chain_of_three();
  trails.council.pop_back();  // the council's trail no longer shows the forward to the force
  write(trails);
  // Nothing in the trails ties the force's directory to its name now: the caller names it.
  const Trace trace =
      audit::trace(traced_message, {{"", origin_}, {"", council_}, {"gw-staffordshire", force_}});
  EXPECT_THAT(problems(trace), HasSubstr("gw-staffordshire recorded receiving the message from gw-birmingham, "
                                         "whose trail has no forward of it to gw-staffordshire"));
  const Trace unnamed = audit::trace(traced_message, {{"", origin_}, {"", council_}, {"", force_}});
  EXPECT_THAT(notes(unnamed), HasSubstr("could not be matched to a gateway: name it as GATEWAY=DIR"));
}

TEST_F(TraceTest, AHopToATrailNotGivenIsANoteAndNotAProblem) {
  write(chain_of_three());
  const Trace trace = audit::trace(traced_message, {{"", origin_}, {"", council_}});
  EXPECT_TRUE(trace.consistent()) << problems(trace);
  EXPECT_THAT(notes(trace), HasSubstr("gw-birmingham forwarded it to gw-staffordshire, whose trail was not given"));
  ASSERT_EQ(trace.hops.size(), 2u);
  EXPECT_FALSE(trace.hops[1].receiver_trail);
}

TEST_F(TraceTest, ARefusalAtTheNextHopIsItsOutcome) {
  TraceTrails trails = chain_of_three();
  trails.force.resize(3);
  trails.force.push_back(trace_record(
      1200, "peer_refused", "gw-birmingham", "", "",
      R"({"peer":"gw-birmingham","origin":"gw-wm-ctu","via":["gw-birmingham"],"hop":2,"reason":"binding","detail":"portion p3 is not bound to the origin's signature"})"));
  write(trails);
  const Trace trace = audit::trace(traced_message, {{"", origin_}, {"", council_}, {"", force_}});
  ASSERT_EQ(trace.gateways.size(), 3u);
  EXPECT_EQ(trace.gateways[2].id, "gw-staffordshire") << "named from the refusal, as from a receipt";
  ASSERT_EQ(trace.hops.size(), 2u);
  EXPECT_FALSE(trace.hops[1].received);
  EXPECT_EQ(trace.hops[1].refused, "binding: portion p3 is not bound to the origin's signature");
  EXPECT_TRUE(trace.consistent()) << problems(trace);
}

TEST_F(TraceTest, TwoOriginsAreAProblemAndAMessageInNoTrailIsAnError) {
  TraceTrails trails = chain_of_three();
  trails.council.push_back(trails.origin[6]);  // a second submit of the same id
  write(trails);
  const Trace trace = audit::trace(traced_message, {{"", origin_}, {"", council_}, {"", force_}});
  EXPECT_THAT(problems(trace), HasSubstr("2 trails hold a submit of the message"));
  EXPECT_THROW(audit::trace("no-such-message", {{"", origin_}, {"", council_}}), std::runtime_error);
}

}  // namespace
}  // namespace icegate::audit

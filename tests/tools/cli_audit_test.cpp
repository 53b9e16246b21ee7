// `icegate audit`: the run_* functions on audit databases in a temporary
// directory, asserting exit codes and output; and the CLI11 declarations
// through a real parse.
#include "tools/icegate/cmd_audit.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/audit/audit.hpp"
#include "gateway/audit/witness.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/model/json_value.hpp"
#include "gateway/pki/pki.hpp"
#include "tests/gateway/audit/audit_fixture.hpp"
#include "tests/gateway/audit/trace_fixture.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {
namespace {

namespace fs = std::filesystem;
using icegate::testing::AuditDatabase;
using icegate::testing::lines_of;
using icegate::testing::sample_records;
using icegate::testing::sample_start_unix_ms;
using icegate::testing::TemporaryDirectory;
using icegate::testing::write_chain;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

class CliAuditTest : public ::testing::Test {
 protected:
  void SetUp() override { head_ = write_chain(dir_, sample_records(20)); }

  int verify(bool json = false) {
    reset_streams();
    return run_audit_verify({.dir = dir_, .json = json}, out_, err_);
  }
  int query(AuditQueryParams params) {
    reset_streams();
    params.dir = dir_;
    return run_audit_query(params, out_, err_);
  }
  void reset_streams() {
    out_.str("");
    err_.str("");
  }

  TemporaryDirectory temporary_;
  fs::path dir_ = temporary_.path();
  std::string head_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CliAuditTest, VerifyAnIntactChainExitsZeroAndPrintsTheHead) {
  EXPECT_EQ(verify(), exit_ok) << err_.str();
  EXPECT_EQ(out_.str(), "intact: 20 records, head " + head_ + "\n");
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST_F(CliAuditTest, VerifyPrintsEachProblemOnItsOwnLineAndExitsTwo) {
  {
    AuditDatabase db(dir_);
    db.exec("UPDATE audit SET recipient = 'zulu' WHERE seq = 2");
    db.exec("DELETE FROM audit WHERE seq = 9");
  }
  EXPECT_EQ(verify(), exit_denied);
  const std::vector<std::string> lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 3u) << out_.str();
  EXPECT_THAT(lines[0], StartsWith("seq 2: modified: its recipient column is \"zulu\""));
  EXPECT_THAT(lines[1], StartsWith("seq 9: deleted: seq 9 is missing"));
  EXPECT_THAT(lines[2], StartsWith("NOT INTACT: 2 problems in 19 records, head "));
}

TEST_F(CliAuditTest, VerifyJsonIsOneObject) {
  EXPECT_EQ(verify(/*json=*/true), exit_ok);
  EXPECT_EQ(out_.str(), R"({"intact":true,"records":20,"head_hash":")" + head_ + R"(","problems":[]})" "\n");
  {
    AuditDatabase db(dir_);
    db.exec("DELETE FROM audit WHERE seq = 3");
  }
  EXPECT_EQ(verify(/*json=*/true), exit_denied);
  EXPECT_THAT(out_.str(), AllOf(StartsWith(R"({"intact":false,"records":19,)"),
                                HasSubstr(R"("problems":[{"seq":3,"kind":"deleted","text":"seq 3 is missing)")));
}

TEST_F(CliAuditTest, VerifyWithoutADatabaseExitsOne) {
  EXPECT_EQ(run_audit_verify({.dir = dir_ / "empty"}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), AllOf(StartsWith("error: "), HasSubstr("icegate.db not found")));
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(CliAuditTest, HeadSignsTheTrailAndVerifyNamesACutTailAgainstIt) {
  const fs::path pki_dir = temporary_.path() / "pki";
  pki::init_ca(pki_dir);
  const fs::path witness = temporary_.path() / "head-20.json";
  reset_streams();
  ASSERT_EQ(run_audit_head({.dir = dir_, .pki = pki_dir, .out = witness}, out_,
                           err_),
            exit_ok)
      << err_.str();
  EXPECT_EQ(err_.str(), "signed head: 20 records, hash " + head_ + ", written to " + witness.string() + "\n");

  const AuditVerifyParams with_witness{
      .dir = dir_, .witnesses = {witness}, .ca = pki::ca_paths(pki_dir).certificate};
  reset_streams();
  EXPECT_EQ(run_audit_verify(with_witness, out_, err_), exit_ok) << err_.str();
  EXPECT_EQ(out_.str(), "intact: 20 records, head " + head_ + "\n");

  {
    AuditDatabase db(dir_);
    db.exec("DELETE FROM audit WHERE seq > 16");
  }
  EXPECT_EQ(verify(), exit_ok) << "the chain alone cannot see the cut";
  reset_streams();
  EXPECT_EQ(run_audit_verify(with_witness, out_, err_), exit_denied);
  const std::vector<std::string> lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  EXPECT_THAT(lines[0], AllOf(StartsWith("seq 20: truncated: the trail ends at seq 16"),
                              HasSubstr("records 17 to 20 were removed")));
  EXPECT_THAT(lines[1], StartsWith("NOT INTACT: 1 problem in 16 records"));
}

// A peer's trail holds witness records of this gateway's heads, as a running
// peer keeps them (gateway/federation/head_exchange.hpp): --witnesses-from
// reads them and names a cut, or a rewrite, that the chain alone misses. The
// heads of another gateway the peer witnesses are passed over.
TEST_F(CliAuditTest, VerifyWitnessesFromAPeersTrailNamesACutAndARewrite) {
  const fs::path pki_dir = temporary_.path() / "pki";
  const fs::path other_pki = temporary_.path() / "other-pki";
  pki::init_ca(pki_dir);
  pki::init_ca(other_pki);
  const std::int64_t now = to_unix_ms(SystemClock().now());
  const auto sign = [&](const fs::path& signer, std::int64_t seq, const std::string& hash) {
    const pki::Paths gateway = pki::gateway_paths(signer);
    return audit::sign_head(audit::TrailHead{seq, hash}, pki::SigningKey(gateway.key),
                            pki::read_certificate_pem(gateway.certificate), now);
  };
  const std::vector<audit::StoredRecord> trail = audit::query(dir_, {});
  ASSERT_EQ(trail.size(), 20u);
  std::vector<audit::AuditRecord> peer_records = sample_records(3);
  peer_records.push_back(audit::witness_record("gateway", sign(pki_dir, 10, trail[9].hash)));
  peer_records.push_back(audit::witness_record("other", sign(other_pki, 30, std::string(64, 'c'))));
  peer_records.push_back(audit::witness_record("gateway", sign(pki_dir, 20, head_)));
  const fs::path peer = temporary_.path() / "peer";
  fs::create_directories(peer);
  write_chain(peer, peer_records);

  const AuditVerifyParams params{.dir = dir_, .witnesses_from = {peer}, .ca = pki::ca_paths(pki_dir).certificate};
  reset_streams();
  EXPECT_EQ(run_audit_verify(params, out_, err_), exit_ok) << err_.str();
  EXPECT_EQ(out_.str(), "intact: 20 records, head " + head_ + "\n");

  {
    AuditDatabase db(dir_);
    db.exec("DELETE FROM audit WHERE seq > 16");
  }
  EXPECT_EQ(verify(), exit_ok) << "the chain alone cannot see the cut";
  reset_streams();
  EXPECT_EQ(run_audit_verify(params, out_, err_), exit_denied);
  std::vector<std::string> lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  EXPECT_THAT(lines[0], AllOf(StartsWith("seq 20: truncated: the trail ends at seq 16"),
                              HasSubstr("records 17 to 20 were removed"), HasSubstr(peer.string() + " seq 6")));
  EXPECT_THAT(lines[1], StartsWith("NOT INTACT: 1 problem in 16 records"));

  // Regrown past the witnessed head with other records, every hash recomputed.
  {
    AuditDatabase db(dir_);
    audit::AuditChain chain(db);
    db.exec("BEGIN");
    for (audit::AuditRecord record : sample_records(5)) {
      record.node = "forger";
      chain.append(record);
    }
    db.exec("COMMIT");
  }
  EXPECT_EQ(verify(), exit_ok) << "the chain alone cannot see the rewrite";
  reset_streams();
  EXPECT_EQ(run_audit_verify(params, out_, err_), exit_denied);
  lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  EXPECT_THAT(lines[0], AllOf(StartsWith("seq 20: rewritten: "), HasSubstr("the trail was rewritten")));
  EXPECT_THAT(lines[1], StartsWith("NOT INTACT: 1 problem in 21 records"));
}

// A witness is only as good as the trail that keeps it: a peer's trail whose
// own chain does not verify is named (its database, the record, why) and none
// of its witnesses is used, even ones that would pass; the verification fails.
TEST_F(CliAuditTest, VerifyWitnessesFromAPeerWhoseOwnChainIsBrokenRefusesItsWitnesses) {
  const fs::path pki_dir = temporary_.path() / "pki";
  pki::init_ca(pki_dir);
  const pki::Paths gateway = pki::gateway_paths(pki_dir);
  const std::int64_t now = to_unix_ms(SystemClock().now());
  std::vector<audit::AuditRecord> peer_records = sample_records(3);
  peer_records.push_back(audit::witness_record(
      "gateway", audit::sign_head(audit::TrailHead{20, head_}, pki::SigningKey(gateway.key),
                                  pki::read_certificate_pem(gateway.certificate), now)));
  const fs::path peer = temporary_.path() / "peer";
  fs::create_directories(peer);
  write_chain(peer, peer_records);
  const AuditVerifyParams params{.dir = dir_, .witnesses_from = {peer}, .ca = pki::ca_paths(pki_dir).certificate};
  reset_streams();
  ASSERT_EQ(run_audit_verify(params, out_, err_), exit_ok) << "the peer's trail is intact: " << err_.str();

  {
    AuditDatabase db(peer);
    db.exec("UPDATE audit SET recipient = 'zulu' WHERE seq = 2");
  }
  reset_streams();
  EXPECT_EQ(run_audit_verify(params, out_, err_), exit_denied);
  std::vector<std::string> lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  EXPECT_THAT(lines[0], AllOf(StartsWith("peer trail " + audit::database_path(peer).string() + ": "),
                              HasSubstr("the peer's trail does not verify, so none of its witnesses is used"),
                              HasSubstr("seq 2: modified: its recipient column is \"zulu\"")));
  EXPECT_THAT(lines[1], StartsWith("NOT VERIFIED: 1 peer trail given with --witnesses-from does not verify; the chain "
                                   "alone: 20 records, head " + head_));
  EXPECT_THAT(err_.str(), IsEmpty());

  // As JSON: the trail's own chain, and the peer's refused, with its problems.
  reset_streams();
  AuditVerifyParams as_json = params;
  as_json.json = true;
  EXPECT_EQ(run_audit_verify(as_json, out_, err_), exit_denied);
  EXPECT_THAT(out_.str(), AllOf(StartsWith(R"({"intact":false,"records":20,)"),
                                HasSubstr(R"("unverified_peer_trails":[{"database":")"),
                                HasSubstr(R"("witnesses_used":false,"problems":[{"seq":2,"kind":"modified",)")));

  // Its witnesses are not used: a cut they would name is not named by them.
  {
    AuditDatabase db(dir_);
    db.exec("DELETE FROM audit WHERE seq > 16");
  }
  reset_streams();
  EXPECT_EQ(run_audit_verify(params, out_, err_), exit_denied);
  lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  EXPECT_THAT(lines[0], StartsWith("peer trail "));
  EXPECT_THAT(out_.str(), Not(HasSubstr("truncated")));

  // The library refuses it too, for any caller.
  try {
    audit::witnesses_from(peer, pki::ca_paths(pki_dir).certificate);
    ADD_FAILURE() << "witnesses read from a trail that does not verify";
  } catch (const audit::UnverifiedPeerTrail& refused) {
    EXPECT_EQ(refused.database(), audit::database_path(peer));
    ASSERT_EQ(refused.problems().size(), 1u);
    EXPECT_EQ(refused.problems()[0].seq, 2);
  }
}

TEST_F(CliAuditTest, WitnessesFromAPeerThatWitnessedNothingOfThisGatewayIsAnError) {
  const fs::path pki_dir = temporary_.path() / "pki";
  pki::init_ca(pki_dir);
  const fs::path peer = temporary_.path() / "peer";
  fs::create_directories(peer);
  write_chain(peer, sample_records(3));
  reset_streams();
  EXPECT_EQ(run_audit_verify({.dir = dir_, .witnesses_from = {peer}, .ca = pki::ca_paths(pki_dir).certificate}, out_,
                             err_),
            exit_error);
  EXPECT_THAT(err_.str(), AllOf(HasSubstr(peer.string()), HasSubstr("holds no witness")));
  reset_streams();
  EXPECT_EQ(run_audit_verify({.dir = dir_, .witnesses_from = {peer}}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("--witnesses-from needs --ca"));
}

TEST_F(CliAuditTest, AWitnessWithoutItsCaIsAMistake) {
  reset_streams();
  EXPECT_EQ(run_audit_verify({.dir = dir_, .witnesses = {dir_ / "head.json"}}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("--witness needs --ca"));
}

TEST_F(CliAuditTest, QueryPrintsTheMatchingRecordsInEachFormat) {
  EXPECT_EQ(query({.message_id = "m-2"}), exit_ok) << err_.str();
  ASSERT_EQ(lines_of(out_.str()).size(), 1u) << out_.str();
  EXPECT_THAT(out_.str(), AllOf(StartsWith("     2  2026-11-21T06:01:00.000Z  decision"), HasSubstr("message=m-2")));

  EXPECT_EQ(query({.node = "bravo", .kind = "connection", .format = "jsonl"}), exit_ok) << err_.str();
  const std::vector<std::string> jsonl = lines_of(out_.str());
  ASSERT_EQ(jsonl.size(), 1u) << out_.str();  // seq 10 is bravo's only connection in 20
  EXPECT_THAT(jsonl[0], AllOf(StartsWith(R"({"seq":10,"hash":")"), HasSubstr(R"("kind":"connection","node":"bravo")")));

  EXPECT_EQ(query({.decision = "deny", .until = "2026-11-21T06:10:00Z", .format = "csv"}), exit_ok) << err_.str();
  const std::vector<std::string> csv = lines_of(out_.str());
  ASSERT_EQ(csv.size(), 4u) << out_.str();  // the header, then seqs 3, 6 and 9
  EXPECT_THAT(csv[0], StartsWith("seq,time_unix_ms,"));
  EXPECT_THAT(csv[1], StartsWith("3,"));
  EXPECT_THAT(csv[3], StartsWith("9,"));
}

TEST_F(CliAuditTest, QueryTakesIsoTimesAndUnixMillisecondsInclusively) {
  EXPECT_EQ(query({.since = "2026-11-21T06:05:00Z", .until = std::to_string(sample_start_unix_ms + 7 * 60'000)}),
            exit_ok)
      << err_.str();
  const std::vector<std::string> lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 3u) << out_.str();
  EXPECT_THAT(lines[0], StartsWith("     6  "));
  EXPECT_THAT(lines[2], StartsWith("     8  "));
}

TEST_F(CliAuditTest, QueryWithNoMatchPrintsNothingAndSaysSo) {
  EXPECT_EQ(query({.node = "nobody"}), exit_ok);
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_EQ(err_.str(), "no records match\n");
}

TEST_F(CliAuditTest, QueryRefusesBadArgumentsAndReportsEveryOne) {
  EXPECT_EQ(query({.decision = "MAYBE", .kind = "lunch", .since = "yesterday", .until = "2026-13-01T00:00:00Z",
                   .format = "xml"}),
            exit_error);
  const std::vector<std::string> errors = lines_of(err_.str());
  EXPECT_THAT(errors, ElementsAre(HasSubstr("--format \"xml\": use one of text, jsonl, csv"),
                                  HasSubstr("--decision \"MAYBE\": use one of RELEASE"),
                                  HasSubstr("--kind \"lunch\": use one of connection"),
                                  HasSubstr("--since \"yesterday\" is not a time: use ISO-8601 UTC"),
                                  HasSubstr("--until \"2026-13-01T00:00:00Z\" is not a time")));
  EXPECT_THAT(out_.str(), IsEmpty());

  EXPECT_EQ(query({.since = "2026-11-21T07:00:00Z", .until = "2026-11-21T06:00:00Z"}), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("--since 2026-11-21T07:00:00Z is after --until 2026-11-21T06:00:00Z"));
}

// The router writes hold_expired and undeliverable records: --kind must take
// them (it refused both until they were listed in audit::record_kinds), and
// a gateway that peers writes peer_forward, peer_receive and peer_refused.
TEST_F(CliAuditTest, QueryTakesEveryKindTheGatewayWrites) {
  for (const char* kind : {"hold_expired", "undeliverable", "labels_translated", "shadow_difference", "expired",
                           "peer_forward", "peer_receive", "peer_refused"}) {
    EXPECT_EQ(query({.kind = kind}), exit_ok) << kind << ": " << err_.str();
    EXPECT_THAT(err_.str(), Not(HasSubstr("use one of"))) << kind;
  }
}

TEST_F(CliAuditTest, QueryWithoutADatabaseExitsOne) {
  EXPECT_EQ(run_audit_query({.dir = dir_ / "empty"}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), AllOf(StartsWith("error: "), HasSubstr("not found")));
}

TEST(ParseTimeArgumentTest, AcceptsIsoUtcAndUnixMilliseconds) {
  EXPECT_EQ(parse_time_argument("2026-11-21T06:00:00Z"), sample_start_unix_ms);
  EXPECT_EQ(parse_time_argument("2026-11-21T06:00:00+00:00"), sample_start_unix_ms);
  EXPECT_EQ(parse_time_argument("2026-11-21T06:00:00.25Z"), sample_start_unix_ms + 250);
  EXPECT_EQ(parse_time_argument("2026-11-21T06:00:00.123999Z"), sample_start_unix_ms + 123);
  EXPECT_EQ(parse_time_argument("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_time_argument("2024-02-29T23:59:59Z"), 1709251199000);
  EXPECT_EQ(parse_time_argument("1795240800000"), sample_start_unix_ms);
  EXPECT_EQ(parse_time_argument("0"), 0);
}

TEST(ParseTimeArgumentTest, RefusesAnythingElse) {
  for (const char* text : {"", "yesterday", "2026-11-21", "2026-11-21T06:00:00", "2026-11-21T06:00:00+01:00",
                           "2026-11-21 06:00:00Z", "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z",
                           "2026-11-21T24:00:00Z", "2026-11-21T06:60:00Z", "2026-11-21T06:00:60Z",
                           "2026-11-21T06:00:00.Z", "2026-11-21T06:00:00.1234567890Z", "-5", "12a",
                           "99999999999999999999", "2026-1-21T06:00:00Z"}) {
    EXPECT_EQ(parse_time_argument(text), std::nullopt) << text;
  }
}

// The declarations: a real parse of `icegate audit ...` sets the exit code.
TEST_F(CliAuditTest, TheCommandLineReachesTheRunFunctions) {
  auto parse = [](std::vector<std::string> arguments) {
    CLI::App app;
    int exit_code = -1;
    add_audit_command(app, exit_code);
    std::reverse(arguments.begin(), arguments.end());  // CLI11 takes them reversed
    app.parse(arguments);
    return exit_code;
  };
  EXPECT_EQ(parse({"audit", "verify", dir_.string()}), exit_ok);
  EXPECT_EQ(parse({"audit", "verify", (dir_ / "empty").string(), "--json"}), exit_error);
  EXPECT_EQ(parse({"audit", "query", dir_.string(), "--node", "alpha", "--format", "csv", "--since",
                   "2026-11-21T06:00:00Z"}),
            exit_ok);
  EXPECT_EQ(parse({"audit", "query", dir_.string(), "--until", "soon"}), exit_error);
  EXPECT_THROW(parse({"audit", "query"}), CLI::RequiredError);
  EXPECT_THROW(parse({"audit", "trace", "m-1"}), CLI::RequiredError);
  EXPECT_EQ(parse({"audit", "trace", "m-1", dir_.string()}), exit_ok);
}

// `audit trace`: three gateways' trails of one message (trace_fixture.hpp).
class CliAuditTraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto trails = icegate::testing::chain_of_three();
    for (const auto& dir : {origin_, council_, force_}) fs::create_directories(dir);
    write_chain(origin_, trails.origin);
    write_chain(council_, trails.council);
    write_chain(force_, trails.force);
  }
  int trace(std::vector<std::string> trails, bool json = false) {
    out_.str("");
    err_.str("");
    return run_audit_trace({.message_id = icegate::testing::traced_message, .trails = std::move(trails), .json = json},
                           out_, err_);
  }
  TemporaryDirectory temporary_;
  fs::path origin_ = temporary_.path() / "wm", council_ = temporary_.path() / "bcc",
           force_ = temporary_.path() / "staffs";
  std::ostringstream out_, err_;
};

TEST_F(CliAuditTraceTest, PrintsEachGatewaysRecordsAndEachHopAndExitsZeroWhenTheTrailsAgree) {
  EXPECT_EQ(trace({force_.string(), council_.string(), origin_.string()}), exit_ok) << err_.str();
  const std::string text = out_.str();
  EXPECT_THAT(text, StartsWith(fmt::format("message {}: 3 trail(s), 2 hop(s)\n", icegate::testing::traced_message)));
  const auto origin = text.find("\ngw-wm-ctu (origin)  " + origin_.string() + "  chain intact, 9 records\n");
  const auto council = text.find("\ngw-birmingham  " + council_.string() + "  chain intact, 7 records\n");
  const auto force = text.find("\ngw-staffordshire  " + force_.string());
  ASSERT_NE(origin, std::string::npos) << text;
  ASSERT_NE(council, std::string::npos) << text;
  ASSERT_NE(force, std::string::npos) << text;
  EXPECT_LT(origin, council);
  EXPECT_LT(council, force);
  EXPECT_THAT(text, HasSubstr("  gw-wm-ctu -> gw-birmingham: RELEASE_REDACTED, forwarded p2, p3; withheld p1: "
                              "above_ceiling: SECRET is above gw-birmingham's accreditation, which holds up to "
                              "OFFICIAL-SENSITIVE; received p2, p3\n"));
  EXPECT_THAT(text, HasSubstr("  gw-birmingham -> gw-staffordshire: RELEASE_REDACTED, forwarded p3; withheld p2: "
                              "category_not_held"));
  EXPECT_THAT(text, HasSubstr("\nconsistent: every trail intact, and the trails agree on every hop\n"));
}

TEST_F(CliAuditTraceTest, ExitsTwoNamingTheTrailThatWasAlteredAndPrintsJson) {
  AuditDatabase(council_).exec("UPDATE audit SET record = replace(record, '\"p3\"]', '\"p2\",\"p3\"]') "
                               "WHERE kind = 'peer_forward'");
  EXPECT_EQ(trace({"gw-wm-ctu=" + origin_.string(), council_.string(), force_.string()}, true), exit_denied);
  const auto parsed = json::parse(out_.str());
  ASSERT_TRUE(parsed.error.empty()) << parsed.error << "\n" << out_.str();
  EXPECT_FALSE(json::member(parsed.value, "consistent")->as_bool());
  const auto& problems = json::member(parsed.value, "problems")->as_array();
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(json::member(problems[0], "gateway")->as_string(), "gw-birmingham");
  EXPECT_THAT(std::string(json::member(problems[0], "text")->as_string()), HasSubstr("seq 7: modified"));
  EXPECT_EQ(json::member(parsed.value, "gateways")->as_array().size(), 3u);
}

TEST_F(CliAuditTraceTest, ABadArgumentIsNamedAndNothingIsRead) {
  EXPECT_EQ(trace({"=" + origin_.string()}), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("use DIR or GATEWAY=DIR"));
  EXPECT_EQ(trace({(temporary_.path() / "nowhere").string()}), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("nowhere: no audit trail here"));
  EXPECT_EQ(trace({origin_.string()}), exit_ok) << "one trail is a path of one gateway";
  out_.str("");
  err_.str("");
  EXPECT_EQ(run_audit_trace({.message_id = "unknown", .trails = {origin_.string()}}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("message unknown is in none of the trails given"));
  EXPECT_THAT(out_.str(), IsEmpty());
}

// A trail written by icegate b05aa7f, before JSON moved to Boost.JSON
// (tests/data/audit/trail-b05aa7f.sql): `icegate audit verify` still finds it intact.
TEST(CliAuditOldTrailTest, VerifyFindsATrailWrittenBeforeBoostJsonIntact) {
  TemporaryDirectory dir;
  std::ifstream in(fs::path(ICEGATE_SOURCE_DIR) / "tests/data/audit/trail-b05aa7f.sql", std::ios::binary);
  std::ostringstream sql;
  sql << in.rdbuf();
  AuditDatabase(dir.path()).exec(sql.str());
  std::ostringstream out, err;
  EXPECT_EQ(run_audit_verify({.dir = dir.path(), .json = false}, out, err), exit_ok) << err.str();
  EXPECT_EQ(out.str(), "intact: 8 records, head e05abe69d76424fafa922f42fb57171feb39eba99f12e91d0610357975989684\n");
}

}  // namespace
}  // namespace icegate::cli

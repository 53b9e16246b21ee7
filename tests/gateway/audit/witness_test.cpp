// Signed audit heads and witnesses (gateway/audit/witness.hpp): a trail cut
// back, or rewritten with recomputed hashes, still verifies on its own; checked
// against a head the gateway signed before, each is named. A witness that was
// not signed by the gateway's CA, or was altered, is refused.
#include "gateway/audit/witness.hpp"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/model/clock.hpp"
#include "gateway/pki/pki.hpp"
#include "tests/gateway/audit/audit_fixture.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::audit {
namespace {

using icegate::testing::AuditDatabase;
using icegate::testing::sample_records;
using icegate::testing::TemporaryDirectory;
using icegate::testing::write_chain;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Signed now: the gateway's certificate, issued by the test, must be valid
// when the head is signed (a head dated before it is refused).
const std::int64_t signed_at = to_unix_ms(SystemClock().now());

class WitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki::init_ca(pki_dir_);
    std::filesystem::create_directories(dir_);
    head_ = write_chain(dir_, sample_records(20));
  }

  Witness sign() const {
    const pki::Paths gateway = pki::gateway_paths(pki_dir_);
    const SignedHead head = sign_head(dir_, gateway.key, gateway.certificate, signed_at);
    // Through the file's text, as a peer keeps it.
    return {"head.json", parse_witness(to_witness_json(head), "head.json")};
  }
  std::vector<VerifyProblem> check(const std::vector<Witness>& witnesses) const {
    return check_witnesses(dir_, witnesses, pki::ca_paths(pki_dir_).certificate);
  }

  // Deletes the records from `seq` on and appends `count` others, re-hashed
  // from the record before: a chain that verifies, with another tail.
  void rewrite_from(std::int64_t seq, int count) const {
    AuditDatabase db(dir_);
    db.exec("DELETE FROM audit WHERE seq >= " + std::to_string(seq));
    AuditChain chain(db);
    std::vector<AuditRecord> forged = sample_records(count);
    db.exec("BEGIN");
    for (AuditRecord& record : forged) {
      record.decision = "RELEASE";
      chain.append(record);
    }
    db.exec("COMMIT");
  }

  TemporaryDirectory temporary_;
  std::filesystem::path dir_ = temporary_ / "data";
  std::filesystem::path pki_dir_ = temporary_ / "pki";
  std::string head_;
};

TEST_F(WitnessTest, ASignedHeadNamesTheTrailsLastRecordAndSurvivesItsFile) {
  const Witness witness = sign();
  EXPECT_EQ(witness.head.seq, 20);
  EXPECT_EQ(witness.head.hash, head_);
  EXPECT_EQ(witness.head.signed_unix_ms, signed_at);
  EXPECT_EQ(pki::pem_common_name(witness.head.certificate_pem), "gateway");
  EXPECT_THAT(check({witness}), IsEmpty());
}

TEST_F(WitnessTest, AnOlderHeadStillHoldsOnceTheTrailGrew) {
  const Witness witness = sign();
  {
    AuditDatabase db(dir_);
    AuditChain chain(db);
    for (const AuditRecord& record : sample_records(5)) chain.append(record);
  }
  EXPECT_TRUE(verify(dir_).intact());
  EXPECT_THAT(check({witness}), IsEmpty());
}

TEST_F(WitnessTest, ATruncatedTailVerifiesAloneAndIsNamedAgainstTheWitness) {
  const Witness witness = sign();
  {
    AuditDatabase db(dir_);
    db.exec("DELETE FROM audit WHERE seq >= 18");
  }
  // The chain alone cannot tell: 17 records that chain perfectly.
  const VerifyReport alone = verify(dir_);
  ASSERT_TRUE(alone.intact());
  EXPECT_EQ(alone.records, 17);

  const std::vector<VerifyProblem> problems = check({witness});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].seq, 20);
  EXPECT_EQ(problems[0].kind, ProblemKind::truncated);
  EXPECT_THAT(problems[0].text, AllOf(HasSubstr("the trail ends at seq 17"), HasSubstr("records 18 to 20 were removed"),
                                      HasSubstr("gateway signed a head of 20 records"), HasSubstr("head.json")));
}

TEST_F(WitnessTest, ATailRewrittenWithRecomputedHashesVerifiesAloneAndIsNamedAgainstTheWitness) {
  const Witness witness = sign();
  rewrite_from(15, 6);  // records 15..20 replaced, every hash recomputed
  const VerifyReport alone = verify(dir_);
  ASSERT_TRUE(alone.intact());
  EXPECT_EQ(alone.records, 20);
  EXPECT_NE(alone.head_hash, head_);

  const std::vector<VerifyProblem> problems = check({witness});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].seq, 20);
  EXPECT_EQ(problems[0].kind, ProblemKind::rewritten);
  EXPECT_THAT(problems[0].text, AllOf(HasSubstr("its hash is " + alone.head_hash.substr(0, 16)),
                                      HasSubstr("signed " + head_.substr(0, 16)), HasSubstr("rewritten")));
}

TEST_F(WitnessTest, ATrailCutAndRegrownPastTheHeadIsRewrittenThere) {
  const Witness witness = sign();
  rewrite_from(19, 4);  // 18 kept, then 19..22 forged: longer than the witness saw
  ASSERT_TRUE(verify(dir_).intact());
  const std::vector<VerifyProblem> problems = check({witness});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].kind, ProblemKind::rewritten);
}

TEST_F(WitnessTest, ABrokenTrailIsNotSigned) {
  {
    AuditDatabase db(dir_);
    db.exec("UPDATE audit SET recipient = 'zulu' WHERE seq = 4");
  }
  const pki::Paths gateway = pki::gateway_paths(pki_dir_);
  try {
    sign_head(dir_, gateway.key, gateway.certificate, signed_at);
    FAIL() << "a broken trail was signed";
  } catch (const WitnessError& error) {
    EXPECT_THAT(std::string(error.what()), AllOf(HasSubstr("does not verify"), HasSubstr("seq 4: modified")));
  }
}

TEST_F(WitnessTest, AnAlteredWitnessIsRefused) {
  Witness witness = sign();
  witness.head.seq = 17;  // claims a shorter trail, to cover a cut
  try {
    check({witness});
    FAIL() << "an altered witness was trusted";
  } catch (const WitnessError& error) {
    EXPECT_THAT(std::string(error.what()),
                AllOf(HasSubstr("head.json: not a trusted witness"), HasSubstr("signature does not verify")));
  }
}

TEST_F(WitnessTest, AWitnessSignedUnderAnotherCaIsRefused) {
  const Witness witness = sign();
  const std::filesystem::path other = temporary_ / "other-pki";
  pki::init_ca(other, "another CA");
  try {
    check_witnesses(dir_, {witness}, pki::ca_paths(other).certificate);
    FAIL() << "a witness from another CA was trusted";
  } catch (const WitnessError& error) {
    EXPECT_THAT(std::string(error.what()), AllOf(HasSubstr("not a trusted witness"), HasSubstr("was not issued by")));
  }
}

TEST_F(WitnessTest, AHeadDatedBeforeTheCertificateIsRefused) {
  Witness witness = sign();
  // Re-signed with the right key, but dated a year back: the certificate
  // was not valid then, so the head proves nothing about that time.
  witness.head.signed_unix_ms -= std::int64_t{365} * 24 * 3'600'000;
  witness.head.signature = pki::sign(pki::gateway_paths(pki_dir_).key, signed_bytes(witness.head));
  try {
    check({witness});
    FAIL() << "a backdated witness was trusted";
  } catch (const WitnessError& error) {
    EXPECT_THAT(std::string(error.what()), HasSubstr("certificate is not yet valid"));
  }
}

TEST_F(WitnessTest, AMalformedWitnessFileNamesTheFileAndTheField) {
  const auto message = [](std::string_view text) {
    try {
      parse_witness(text, "w.json");
    } catch (const WitnessError& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  EXPECT_THAT(message("{"), HasSubstr("w.json: not JSON: line 1"));
  EXPECT_EQ(message("[]"), "w.json: not a witness: expected a JSON object");
  EXPECT_EQ(message(R"({"format":"other"})"), "w.json: \"format\" is \"other\", not \"icegate-audit-head/1\"");
  EXPECT_EQ(message(R"({"format":"icegate-audit-head/1","seq":"20"})"), "w.json: \"seq\" is missing or not an integer");
  EXPECT_EQ(message(R"({"format":"icegate-audit-head/1","seq":20,"hash":"ABC"})"),
            "w.json: \"hash\" is not 64 lower-case hex digits");
  const Witness good = sign();
  std::string text = to_witness_json(good.head);
  const std::size_t signature = text.find("\"signature\": \"") + 14;
  text[signature] = 'z';
  EXPECT_EQ(message(text), "w.json: \"signature\" is not hex");
}

}  // namespace
}  // namespace icegate::audit

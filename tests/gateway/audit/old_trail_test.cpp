// The audit chain's canonical form is a contract: every stored record is hashed
// over its bytes. These tests pin it from outside the code that writes it: a
// trail written by icegate b05aa7f (before JSON moved to Boost.JSON) still
// verifies, and a fixed record still has the bytes and chain hash computed
// independently (Python's hashlib over the bytes that version stored).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "gateway/audit/audit.hpp"
#include "tests/gateway/audit/audit_fixture.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::audit {
namespace {

namespace fs = std::filesystem;
using icegate::testing::AuditDatabase;
using icegate::testing::TemporaryDirectory;

// The head hash b05aa7f printed when it wrote the trail.
constexpr const char* old_head = "e05abe69d76424fafa922f42fb57171feb39eba99f12e91d0610357975989684";

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class OldTrailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string sql = read_text(fs::path(ICEGATE_SOURCE_DIR) / "tests/data/audit/trail-b05aa7f.sql");
    ASSERT_FALSE(sql.empty());
    AuditDatabase(dir_.path()).exec(sql);
  }
  TemporaryDirectory dir_;
};

TEST_F(OldTrailTest, StillVerifiesWithTheSameHead) {
  const VerifyReport report = verify(dir_.path());
  EXPECT_TRUE(report.intact());
  EXPECT_TRUE(report.problems.empty());
  EXPECT_EQ(report.records, 8);
  EXPECT_EQ(report.head_hash, old_head);
}

TEST_F(OldTrailTest, EachRecordReadBackIsWrittenAgainToTheSameBytes) {
  AuditDatabase db(dir_.path());
  for (const StoredRecord& stored : query(dir_.path(), QueryFilter{})) {
    const std::string old_bytes = db.text("SELECT record FROM audit WHERE seq = " + std::to_string(stored.seq));
    EXPECT_EQ(canonical_json(stored.record), old_bytes) << "seq " << stored.seq;
  }
}

TEST(CanonicalJsonGoldenTest, AFixedRecordHasTheBytesAndChainHashTheOldVersionWrote) {
  AuditRecord record;
  record.time_unix_ms = 1'795'240'861'000;
  record.kind = "disconnection";
  record.node = "caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac";
  record.detail = std::string("peer said: \"bye\"\r\nand left \x01 \\ end");  // not JSON: kept as a string
  const std::string canonical = canonical_json(record);
  EXPECT_EQ(canonical,
            "{\"time_unix_ms\":1795240861000,\"kind\":\"disconnection\",\"node\":\"caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac\","
            "\"recipient\":\"\",\"message_id\":\"\",\"decision\":\"\",\"rules\":[],\"policy_version\":\"\","
            "\"detail\":\"peer said: \\\"bye\\\"\\r\\nand left \\u0001 \\\\ end\"}");
  // Record 6 of the old trail: sha256(hash of record 5 + "\n" + its bytes), by hashlib.
  EXPECT_EQ(chain_hash("f9f2f76853c3b7fbef3bd2f7083bf281a5f84d93a9986d5396a4fd60479e38dc", canonical),
            "7b9ea14e20abc8b1d1e5a21680ac2462c33a31b34354e0a8b775fdef833ffe1a");
}

}  // namespace
}  // namespace icegate::audit

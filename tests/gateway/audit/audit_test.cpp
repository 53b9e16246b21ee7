// gateway/audit: canonical JSON, the hash chain, verify (on copies tampered
// with through plain SQL), query and the three output formats.
#include "gateway/audit/audit.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/audit/canonical.hpp"
#include "gateway/audit/database.hpp"
#include "tests/gateway/audit/audit_fixture.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::audit {
namespace {

namespace fs = std::filesystem;
using icegate::testing::AuditDatabase;
using icegate::testing::sample_records;
using icegate::testing::sample_start_unix_ms;
using icegate::testing::TemporaryDirectory;
using icegate::testing::write_chain;
using ::testing::AllOf;
using ::testing::ElementsAre;
using icegate::testing::lines_of;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::string problems_text(const VerifyReport& report) {
  std::string text;
  for (const VerifyProblem& problem : report.problems) {
    text += "seq " + std::to_string(problem.seq) + ": " + std::string(to_string(problem.kind)) + ": " +
            problem.text + "\n";
  }
  return text;
}

auto IsProblem(std::int64_t seq, ProblemKind kind) {
  return AllOf(Field(&VerifyProblem::seq, seq), Field(&VerifyProblem::kind, kind));
}

// ----------------------------------------------------------- canonical JSON

TEST(CanonicalJsonTest, HasTheFixedKeyOrderAndNoInsignificantSpace) {
  AuditRecord record;
  record.time_unix_ms = 1795240800123;
  record.kind = "decision";
  record.node = "alpha";
  record.recipient = "bravo";
  record.message_id = "m-1";
  record.decision = "RELEASE_REDACTED";
  record.rules = {"share-official", "default"};
  record.policy_version = "v7";
  record.detail = R"({"withheld":["SECRET"]})";
  EXPECT_EQ(canonical_json(record),
            R"({"time_unix_ms":1795240800123,"kind":"decision","node":"alpha","recipient":"bravo",)"
            R"("message_id":"m-1","decision":"RELEASE_REDACTED","rules":["share-official","default"],)"
            R"("policy_version":"v7","detail":{"withheld":["SECRET"]}})");
}

TEST(CanonicalJsonTest, WritesEmptyFieldsAsEmptyStringsAndNegativeTimes) {
  AuditRecord record;
  record.time_unix_ms = -5;
  EXPECT_EQ(canonical_json(record),
            R"({"time_unix_ms":-5,"kind":"","node":"","recipient":"","message_id":"","decision":"",)"
            R"("rules":[],"policy_version":"","detail":{}})");
}

TEST(CanonicalJsonTest, EscapesQuotesBackslashesAndControlCharactersAndPassesUtf8Through) {
  AuditRecord record;
  record.kind = std::string("q\"b\\s/n\nt\tr\rb\bf\f") + '\x01' + '\x1f' + '\x7f' + '\0' + "x";
  record.node = "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x92";  // café 日本 🔒
  record.rules = {"a,b", "\"quoted\""};
  const std::string json = canonical_json(record);
  EXPECT_THAT(json, HasSubstr(R"("kind":"q\"b\\s/n\nt\tr\rb\bf\f\u0001\u001f)"
                              "\x7f"
                              R"(\u0000x")"));
  EXPECT_THAT(json, HasSubstr("\"node\":\"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x92\""));
  EXPECT_THAT(json, HasSubstr(R"("rules":["a,b","\"quoted\""])"));
  EXPECT_EQ(json_string(std::string("a\"\\\n") + '\x02'), R"("a\"\\\n\u0002")");
}

// The writer and the reader look for the bytes to escape sixteen at a time
// (plain_run_end in gateway/audit/canonical.cpp), so each such byte is put at every position of
// texts up to three steps long, beside bytes that need no escape, and
// checked against the escaping written out byte by byte.
TEST(CanonicalJsonTest, FindsEachByteToEscapeWhereverItFallsInTheSixteenByteSteps) {
  const auto escaped = [](std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (const char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (byte < 0x20) {
            out += "\\u00";
            out += hex[byte >> 4];
            out += hex[byte & 15];
          } else {
            out += c;
          }
      }
    }
    return out + "\"";
  };
  const std::string to_escape = std::string("\"\\\n\x01\x1f") + '\0';
  const std::string as_they_are = "a \x7f\x80\xff";
  for (std::size_t length = 1; length <= 48; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      for (const std::string& bytes : {to_escape, as_they_are}) {
        for (const char byte : bytes) {
          std::string text(length, 'a');
          text[at] = byte;
          const std::string where = "byte " + std::to_string(static_cast<unsigned char>(byte)) + " at " +
                                    std::to_string(at) + " of " + std::to_string(length);
          ASSERT_EQ(json_string(text), escaped(text)) << where;
          // The reader: the string escaped is one object's value, kept as it
          // is; written raw, it is an object only if nothing needed escaping.
          AuditRecord record;
          record.detail = "{\"k\":" + escaped(text) + "}";
          ASSERT_THAT(canonical_json(record), HasSubstr("\"detail\":" + record.detail + "}")) << where;
          record.detail = "{\"k\":\"" + text + "\"}";
          const bool plain = bytes == as_they_are;
          ASSERT_THAT(canonical_json(record),
                      HasSubstr("\"detail\":" + (plain ? record.detail : escaped(record.detail)) + "}"))
              << where;
        }
      }
    }
  }
}

TEST(CanonicalJsonTest, EmbedsOneJsonObjectVerbatimWithoutSurroundingSpace) {
  AuditRecord record;
  record.detail = " \n{\"b\": [1, -2.5e3, true, false, null], \"a\": {\"x\": \"y\\u00e9\"}}\t ";
  EXPECT_THAT(canonical_json(record),
              HasSubstr(R"("detail":{"b": [1, -2.5e3, true, false, null], "a": {"x": "y\u00e9"}}})"));
}

TEST(CanonicalJsonTest, EmbedsAnythingButOneJsonObjectAsAString) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", R"("not json")"},
      {"", R"("")"},
      {"[1,2]", R"("[1,2]")"},
      {"\"text\"", R"("\"text\"")"},
      {"42", R"("42")"},
      {R"({"a":1} {"b":2})", R"("{\"a\":1} {\"b\":2}")"},
      {R"({"a":})", R"("{\"a\":}")"},
      {R"({"a":1,})", R"("{\"a\":1,}")"},
      {R"({'a':1})", R"("{'a':1}")"},
      {R"({"a":01})", R"("{\"a\":01}")"},
      {"{\"a\":\"raw\nnewline\"}", R"("{\"a\":\"raw\nnewline\"}")"},
      {R"({"a":"\x"})", R"("{\"a\":\"\\x\"}")"},
      {R"({"a":"\ud800"})", R"("{\"a\":\"\\ud800\"}")"},
      {std::string(300, '[') , "\"" + std::string(300, '[') + "\""},
  };
  for (const auto& [detail, expected] : cases) {
    AuditRecord record;
    record.detail = detail;
    EXPECT_THAT(canonical_json(record), HasSubstr("\"detail\":" + expected + "}")) << detail;
  }
  AuditRecord nested;
  nested.detail = std::string(150, '[');
  nested.detail = "{\"deep\":" + std::string(150, '[') + std::string(150, ']') + "}";
  EXPECT_THAT(canonical_json(nested), HasSubstr("\"detail\":" + nested.detail + "}"));
}

// A record read back knows whether its detail was one object: written again,
// unchecked, it is the same text.
TEST(CanonicalJsonTest, ARecordReadBackIsWrittenAgainAsItWas) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {R"({"a":[1,{"b":"c\"d"}],"e":null})", true}, {"{}", true}, {"not json", false},
      {R"([1,2])", false}, {"{oops", false}};
  for (const auto& [text, is_object] : cases) {
    AuditRecord record;
    record.kind = "decision";
    record.detail = text;
    const std::string written = canonical_json(record);
    AuditRecord read;
    ASSERT_TRUE(detail::parse_record_json(written, read)) << written;
    EXPECT_EQ(read.detail, text);
    EXPECT_EQ(read.detail_is_object, is_object) << text;
    EXPECT_EQ(canonical_json(read), written);
  }
  // A record that is not one the gateway wrote (a tampered row): two details,
  // the object first. The string read last is not an object, and is written
  // again as a string, not as its bare text.
  AuditRecord read;
  ASSERT_TRUE(detail::parse_record_json(R"({"kind":"decision","detail":{},"detail":"x y"})", read));
  EXPECT_EQ(read.detail, "x y");
  EXPECT_FALSE(read.detail_is_object);
  EXPECT_THAT(canonical_json(read), HasSubstr(R"("detail":"x y"})"));
}

// -------------------------------------------------------------- chain hash

TEST(ChainHashTest, IsTheSha256OfThePreviousHashANewlineAndTheCanonicalJson) {
  EXPECT_EQ(genesis_hash, std::string(64, '0'));
  // printf '0000...0000\nabc' | sha256sum
  EXPECT_EQ(chain_hash(std::string(genesis_hash), "abc"),
            "ac10ec504bb4ed3d77c3b3d1cf8fc534a2f6658185a64fc00b24a1afce46cec3");
}

TEST(ChainHashTest, DependsOnBothInputs) {
  const std::string base = chain_hash(std::string(genesis_hash), "{}");
  EXPECT_NE(chain_hash(std::string(63, '0') + "1", "{}"), base);
  EXPECT_NE(chain_hash(std::string(genesis_hash), "{ }"), base);
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(base.find_first_not_of("0123456789abcdef"), std::string::npos);
}

// ------------------------------------------------------------- AuditChain

class AuditChainTest : public ::testing::Test {
 protected:
  TemporaryDirectory temporary_;
  fs::path dir_ = temporary_.path();
};

TEST_F(AuditChainTest, ChainsEachRecordToThePreviousOne) {
  const std::vector<AuditRecord> records = sample_records(6);
  const std::string head = write_chain(dir_, records);

  AuditDatabase db(dir_);
  sqlite::Statement statement(db,
                              "SELECT seq, record, previous_hash, hash, node, recipient, message_id, decision "
                              "FROM audit ORDER BY seq");
  std::string previous(genesis_hash);
  std::int64_t expected_seq = 1;
  auto text = [&](int column) {
    return statement.type(column) == sqlite::Type::null ? std::string("<null>") : statement.text(column);
  };
  while (statement.next()) {
    const AuditRecord& record = records[static_cast<std::size_t>(expected_seq - 1)];
    EXPECT_EQ(statement.integer(0), expected_seq);
    EXPECT_EQ(text(1), canonical_json(record));
    EXPECT_EQ(text(2), previous);
    EXPECT_EQ(text(3), chain_hash(previous, canonical_json(record)));
    EXPECT_EQ(text(4), record.node);
    // Empty fields are NULL in the indexed columns.
    EXPECT_EQ(text(5), record.recipient.empty() ? "<null>" : record.recipient);
    EXPECT_EQ(text(6), record.message_id.empty() ? "<null>" : record.message_id);
    EXPECT_EQ(text(7), record.decision.empty() ? "<null>" : record.decision);
    previous = text(3);
    ++expected_seq;
  }
  EXPECT_EQ(expected_seq, 7);
  EXPECT_EQ(head, previous);
}

TEST_F(AuditChainTest, AnAppendedChainVerifiesIntact) {
  const std::string head = write_chain(dir_, sample_records(25));
  const VerifyReport report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);
  EXPECT_EQ(report.records, 25);
  EXPECT_EQ(report.head_hash, head);
}

TEST_F(AuditChainTest, AnEmptyChainStartsAtTheGenesisHash) {
  AuditDatabase db(dir_);
  create_schema(db);
  create_schema(db);  // idempotent
  const AuditChain chain(db);
  EXPECT_EQ(chain.head(), genesis_hash);
  EXPECT_EQ(chain.count(), 0);
  const VerifyReport report = verify(dir_);
  EXPECT_TRUE(report.intact());
  EXPECT_EQ(report.records, 0);
  EXPECT_EQ(report.head_hash, genesis_hash);
}

TEST_F(AuditChainTest, ANewChainContinuesFromTheStoredHead) {
  const std::vector<AuditRecord> records = sample_records(5);
  const std::string head = write_chain(dir_, {records.begin(), records.begin() + 3});
  {
    AuditDatabase db(dir_);
    AuditChain chain(db);
    EXPECT_EQ(chain.head(), head);
    EXPECT_EQ(chain.count(), 3);
    chain.append(records[3]);  // no transaction: SQLite commits each on its own
    chain.append(records[4]);
    EXPECT_EQ(chain.count(), 5);
  }
  const VerifyReport report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);
  EXPECT_EQ(report.records, 5);
}

TEST_F(AuditChainTest, AppendsInTheCallersTransactionAndReloadsTheHeadAfterARollback) {
  const std::vector<AuditRecord> records = sample_records(4);
  AuditDatabase db(dir_);
  create_schema(db);
  AuditChain chain(db);
  db.exec("BEGIN");
  chain.append(records[0]);
  db.exec("COMMIT");
  const std::string committed_head = chain.head();

  db.exec("BEGIN");
  chain.append(records[1]);
  chain.append(records[2]);
  EXPECT_EQ(sqlite3_get_autocommit(db.get()), 0) << "append must not end the caller's transaction";
  db.exec("ROLLBACK");
  EXPECT_EQ(db.text("SELECT count(*) FROM audit"), "1") << "the rolled-back appends were in our transaction";

  chain.reload_head();
  EXPECT_EQ(chain.head(), committed_head);
  EXPECT_EQ(chain.count(), 1);
  db.exec("BEGIN");
  chain.append(records[3]);
  db.exec("COMMIT");
  const VerifyReport report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);
  EXPECT_EQ(report.records, 2);
}

TEST_F(AuditChainTest, VerifyAndQueryReadWhileTheGatewayHoldsTheDatabaseOpen) {
  const std::vector<AuditRecord> records = sample_records(8);
  AuditDatabase db(dir_);
  create_schema(db);
  AuditChain chain(db);
  db.exec("PRAGMA wal_autocheckpoint = 0");  // keep the records in the WAL
  db.exec("BEGIN");
  for (int index = 0; index < 5; ++index) chain.append(records[static_cast<std::size_t>(index)]);
  db.exec("COMMIT");
  db.exec("BEGIN");
  chain.append(records[5]);  // not committed: invisible to readers
  ASSERT_TRUE(fs::exists(dir_ / "icegate.db-wal"));

  const VerifyReport report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);
  EXPECT_EQ(report.records, 5);
  EXPECT_THAT(query(dir_, {}), SizeIs(5));
  db.exec("COMMIT");
  EXPECT_EQ(verify(dir_).records, 6);
  EXPECT_EQ(verify(dir_).head_hash, chain.head());
}

// The indexed columns of the audit table.
std::set<std::string> audit_indexed_columns(const sqlite::Connection& db) {
  std::set<std::string> indexed;
  sqlite::Statement statement(db,
                              "SELECT ii.name FROM pragma_index_list('audit') AS il, "
                              "pragma_index_info(il.name) AS ii");
  while (statement.next()) indexed.insert(statement.text(0));
  return indexed;
}

std::vector<std::int64_t> seqs_of(const std::vector<StoredRecord>& records) {
  std::vector<std::int64_t> seqs;
  for (const StoredRecord& stored : records) seqs.push_back(stored.seq);
  return seqs;
}

// Node, recipient, time and message id go to the blocks, in bulk: no index
// of the audit table has them, which would cost a B-tree insert per record,
// and a page per node (or per random message id) per commit.
TEST_F(AuditChainTest, TheSchemaIndexesNoColumnAndHasNoBlocksYet) {
  AuditDatabase db(dir_);
  create_schema(db);
  EXPECT_THAT(audit_indexed_columns(db), IsEmpty());
  EXPECT_EQ(db.text("SELECT count(*) FROM audit_blocks"), "0");
  EXPECT_EQ(db.text("SELECT count(*) FROM audit_block_parties"), "0");
}

// The seqs of `records` (seq = position + 1) whose node or recipient is `node`.
std::vector<std::int64_t> seqs_about(const std::vector<AuditRecord>& records, const std::string& node) {
  std::vector<std::int64_t> seqs;
  for (std::size_t index = 0; index < records.size(); ++index)
    if (records[index].node == node || records[index].recipient == node)
      seqs.push_back(static_cast<std::int64_t>(index) + 1);
  return seqs;
}

// The seqs of `records` made within [since, until].
std::vector<std::int64_t> seqs_between(const std::vector<AuditRecord>& records, std::int64_t since,
                                       std::int64_t until) {
  std::vector<std::int64_t> seqs;
  for (std::size_t index = 0; index < records.size(); ++index)
    if (records[index].time_unix_ms >= since && records[index].time_unix_ms <= until)
      seqs.push_back(static_cast<std::int64_t>(index) + 1);
  return seqs;
}

// Makes blocks of the trail's next records, one of each size given, in one
// transaction, as the store's writer does.
void make_blocks(AuditDatabase& db, std::initializer_list<std::int64_t> sizes) {
  AuditChain chain(db);
  db.exec("BEGIN");
  for (const std::int64_t size : sizes) chain.index_blocks(size);
  db.exec("COMMIT");
}

// The blocks as "first-last min..max: parties", in seq order (times in
// minutes after sample_start_unix_ms).
std::vector<std::string> blocks_of(AuditDatabase& db) {
  std::vector<std::string> blocks;
  sqlite::Statement statement(
      db,
      "SELECT first_seq, last_seq, min_time, max_time, "
      "(SELECT group_concat(party, ',') FROM (SELECT party FROM audit_block_parties p "
      "WHERE p.first_seq = b.first_seq ORDER BY party)) FROM audit_blocks b ORDER BY first_seq");
  while (statement.next()) {
    blocks.push_back(std::to_string(statement.integer(0)) + "-" + std::to_string(statement.integer(1)) + " " +
                     std::to_string((statement.integer(2) - sample_start_unix_ms) / 60'000) + ".." +
                     std::to_string((statement.integer(3) - sample_start_unix_ms) / 60'000) + ": " +
                     statement.text(4));
  }
  return blocks;
}

TEST_F(AuditChainTest, AppendsLeaveTheBlocksAloneAndIndexBlocksSummarisesTheNextRecordsAsOneBlock) {
  std::vector<AuditRecord> records = sample_records(20);
  records[7].recipient = records[7].node;  // about alpha twice
  AuditDatabase db(dir_);
  create_schema(db);
  AuditChain chain(db);
  db.exec("BEGIN");
  for (const AuditRecord& record : records) chain.append(record);
  db.exec("COMMIT");
  EXPECT_THAT(blocks_of(db), IsEmpty()) << "nothing indexed record by record";
  EXPECT_EQ(chain.unindexed(), 20);

  db.exec("BEGIN");
  EXPECT_EQ(chain.index_blocks(7), 7);
  db.exec("COMMIT");
  EXPECT_EQ(chain.indexed(), 7);
  // Records 1-7: alpha's decisions to bravo, charlie and delta, and
  // charlie's connection (seq 5): each party listed once.
  EXPECT_THAT(blocks_of(db), ElementsAre("1-7 0..6: alpha,bravo,charlie,delta"));

  db.exec("BEGIN");
  EXPECT_EQ(chain.index_blocks(100), 13) << "only what there is";
  EXPECT_EQ(chain.index_blocks(100), 0) << "no empty block";
  db.exec("COMMIT");
  EXPECT_EQ(chain.unindexed(), 0);
  EXPECT_THAT(blocks_of(db), ElementsAre("1-7 0..6: alpha,bravo,charlie,delta", "8-20 7..19: alpha,bravo,charlie,delta"));
  const VerifyReport report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);
}

TEST_F(AuditChainTest, AQueryByNodeOrTimeFindsTheSameRecordsBeforeDuringAndAfterIndexing) {
  std::vector<AuditRecord> records = sample_records(30);
  records[12].node = "echo";  // a party in one block only
  records[12].recipient.clear();
  AuditDatabase db(dir_);
  create_schema(db);
  AuditChain chain(db);
  db.exec("BEGIN");
  for (const AuditRecord& record : records) chain.append(record);
  db.exec("COMMIT");
  for (const std::int64_t step : {0, 1, 9, 20}) {
    db.exec("BEGIN");
    chain.index_blocks(step);
    db.exec("COMMIT");
    SCOPED_TRACE("indexed through seq " + std::to_string(chain.indexed()));
    for (const std::string node : {"alpha", "bravo", "charlie", "delta", "echo", "nobody"}) {
      EXPECT_EQ(seqs_of(query(dir_, {.node = node})), seqs_about(records, node)) << node;
    }
    const auto minute = [](std::int64_t minutes) { return sample_start_unix_ms + 60'000 * minutes; };
    for (const auto& [since, until] : std::vector<std::pair<std::int64_t, std::int64_t>>{
             {0, 0}, {0, 3}, {5, 12}, {9, 10}, {10, 25}, {29, 40}, {31, 40}, {-5, -1}}) {
      EXPECT_EQ(seqs_of(query(dir_, {.since_unix_ms = minute(since), .until_unix_ms = minute(until)})),
                seqs_between(records, minute(since), minute(until)))
          << "minutes " << since << " to " << until;
    }
    EXPECT_EQ(seqs_of(query(dir_, {.since_unix_ms = minute(26)})), seqs_between(records, minute(26), minute(99)));
    EXPECT_EQ(seqs_of(query(dir_, {.until_unix_ms = minute(2)})), seqs_between(records, minute(-1), minute(2)));
    // With other filters: the records in blocks and the rest both apply them.
    std::vector<std::int64_t> denied_to_bravo;
    for (const std::int64_t seq : seqs_about(records, "bravo"))
      if (records[static_cast<std::size_t>(seq - 1)].decision == "DENY") denied_to_bravo.push_back(seq);
    EXPECT_EQ(seqs_of(query(dir_, {.node = "bravo", .decision = "DENY"})), denied_to_bravo);
    std::vector<std::int64_t> bravo_in_minutes_5_to_20;
    for (const std::int64_t seq : seqs_between(records, minute(5), minute(20)))
      if (records[static_cast<std::size_t>(seq - 1)].node == "bravo" ||
          records[static_cast<std::size_t>(seq - 1)].recipient == "bravo")
        bravo_in_minutes_5_to_20.push_back(seq);
    EXPECT_EQ(seqs_of(query(dir_, {.node = "bravo", .since_unix_ms = minute(5), .until_unix_ms = minute(20)})),
              bravo_in_minutes_5_to_20);
    EXPECT_EQ(seqs_of(query(dir_, {.node = "charlie", .message_id = "m-2"})), (std::vector<std::int64_t>{2}));
  }
  EXPECT_EQ(chain.indexed(), 30);
}

// A block's summary only says where a query need not look: what a query
// returns is decided by each record's own columns, so a block that lists
// someone it should not, or a wider time than its records', changes no
// answer (verify reports both; a summary that leaves a record out is the
// kind that would hide it, and verify reports that too, below).
TEST_F(AuditChainTest, AQueryReturnsOnlyRecordsWhoseOwnColumnsMatchWhateverTheBlocksSay) {
  const std::vector<AuditRecord> records = sample_records(10);
  write_chain(dir_, records);
  AuditDatabase db(dir_);
  make_blocks(db, {8});
  db.exec("INSERT INTO audit_block_parties(party, first_seq) VALUES('mallory', 1)");
  db.exec("UPDATE audit_blocks SET min_time = 0, max_time = 9e15");
  EXPECT_THAT(query(dir_, {.node = "mallory"}), IsEmpty());
  EXPECT_EQ(seqs_of(query(dir_, {.node = "charlie"})), seqs_about(records, "charlie"));
  EXPECT_EQ(seqs_of(query(dir_, {.since_unix_ms = sample_start_unix_ms + 60'000,
                                  .until_unix_ms = sample_start_unix_ms + 120'000})),
            (std::vector<std::int64_t>{2, 3}));
}

// A reader reads in several statements (how far the blocks go, then the
// blocks and the records after them; verify: the records, then the blocks).
// A block or record the gateway commits between two of them must not be seen
// by one and not the other: a record would be returned twice, or a block
// reported as reaching past the trail.
TEST_F(AuditChainTest, AReaderSeesTheTrailAsItWasWhenItOpenedIt) {
  const std::vector<AuditRecord> records = sample_records(12);
  write_chain(dir_, std::vector<AuditRecord>(records.begin(), records.begin() + 8));
  const sqlite::Connection reader = detail::open_read_only(dir_);
  const auto count = [&reader](const char* table) {
    sqlite::Statement statement(reader, std::string("SELECT count(*) FROM ") + table);
    return statement.next() ? statement.integer(0) : -1;
  };
  EXPECT_EQ(count("audit"), 8);
  {
    AuditDatabase db(dir_);
    AuditChain chain(db);
    db.exec("BEGIN");
    for (std::size_t i = 8; i < records.size(); ++i) chain.append(records[i]);
    chain.index_blocks(12);
    db.exec("COMMIT");
  }
  EXPECT_EQ(count("audit"), 8) << "the records committed since are not seen";
  EXPECT_EQ(count("audit_blocks"), 0) << "nor the block";
  EXPECT_EQ(detail::blocks_through(reader), 0);
  EXPECT_EQ(seqs_of(query(dir_, {.node = "alpha"})).size(), 10u) << "a new reader sees them";
}

TEST_F(AuditChainTest, ARolledBackIndexingIsForgottenAndDoneAgain) {
  AuditDatabase db(dir_);
  create_schema(db);
  AuditChain chain(db);
  db.exec("BEGIN");
  for (const AuditRecord& record : sample_records(6)) chain.append(record);
  db.exec("COMMIT");
  db.exec("BEGIN");
  EXPECT_EQ(chain.index_blocks(6), 6);
  db.exec("ROLLBACK");
  chain.reload_head();
  EXPECT_EQ(chain.indexed(), 0);
  db.exec("BEGIN");
  EXPECT_EQ(chain.index_blocks(6), 6);
  db.exec("COMMIT");
  EXPECT_THAT(blocks_of(db), ElementsAre("1-6 0..5: alpha,bravo,charlie,delta"));
  const VerifyReport report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);
}

// A message's records may fall in several blocks and after the last one; a
// query by its id finds them all, through the blocks' filters, and none of
// another message's, whatever a filter's "maybe" says.
TEST_F(AuditChainTest, AQueryByMessageIdFindsEachOfItsRecordsBeforeDuringAndAfterIndexing) {
  std::vector<AuditRecord> records;
  AuditRecord record = sample_records(1).front();
  for (const char* id : {"m-a", "m-b", "m-c", "m-d", "m-e", "m-f", "m-a", "m-b", "m-a", "", "m-g", "m-a"}) {
    record.message_id = id;
    record.kind = *id ? "decision" : "connection";
    record.time_unix_ms += 1;
    records.push_back(record);
  }
  const auto seqs_of_message = [&records](const std::string& id) {
    std::vector<std::int64_t> seqs;
    for (std::size_t index = 0; index < records.size(); ++index)
      if (records[index].message_id == id) seqs.push_back(static_cast<std::int64_t>(index) + 1);
    return seqs;
  };
  AuditDatabase db(dir_);
  create_schema(db);
  AuditChain chain(db);
  db.exec("BEGIN");
  for (const AuditRecord& r : records) chain.append(r);
  db.exec("COMMIT");
  for (const std::int64_t step : {0, 3, 3, 4, 100}) {
    db.exec("BEGIN");
    chain.index_blocks(step);
    db.exec("COMMIT");
    SCOPED_TRACE("indexed through seq " + std::to_string(chain.indexed()));
    for (const std::string id : {"m-a", "m-b", "m-c", "m-g", "m-zz"}) {
      EXPECT_EQ(seqs_of(query(dir_, {.message_id = id})), seqs_of_message(id)) << id;
    }
    EXPECT_EQ(seqs_of(query(dir_, {.message_id = "m-a", .since_unix_ms = records[6].time_unix_ms})),
              (std::vector<std::int64_t>{7, 9, 12}));
    EXPECT_EQ(seqs_of(query(dir_, {.node = "alpha", .message_id = "m-b"})), (std::vector<std::int64_t>{2, 8}));
    EXPECT_THAT(query(dir_, {.node = "nobody", .message_id = "m-b"}), IsEmpty());
  }
  EXPECT_EQ(chain.indexed(), 12);
  const VerifyReport report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);
}

TEST_F(AuditChainTest, ATrailWrittenBeforeThePartyIndexIsReadAsItIsThenIndexedFromTheStart) {
  const std::vector<AuditRecord> records = sample_records(12);
  write_chain(dir_, records);
  {
    // Back to the layout of earlier versions: node, recipient and time indexed.
    AuditDatabase db(dir_);
    db.exec("DROP TABLE audit_blocks");
    db.exec("DROP TABLE audit_block_parties");
    db.exec("CREATE INDEX audit_node ON audit(node)");
    db.exec("CREATE INDEX audit_recipient ON audit(recipient)");
    db.exec("CREATE INDEX audit_time ON audit(time_unix_ms)");
  }
  EXPECT_EQ(seqs_of(query(dir_, {.node = "bravo"})), seqs_about(records, "bravo"));
  VerifyReport report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);

  AuditDatabase db(dir_);
  create_schema(db);  // what the gateway does when it opens its store
  EXPECT_THAT(audit_indexed_columns(db), IsEmpty());
  AuditChain chain(db);
  EXPECT_EQ(chain.unindexed(), 12) << "every record waits for a block";
  EXPECT_EQ(seqs_of(query(dir_, {.node = "bravo"})), seqs_about(records, "bravo"));
  db.exec("BEGIN");
  EXPECT_EQ(chain.index_blocks(5), 5);
  db.exec("COMMIT");
  EXPECT_EQ(seqs_of(query(dir_, {.node = "bravo"})), seqs_about(records, "bravo"));
  report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);
}

// The version before the blocks kept a party index, (party, seq) rows filled
// in bulk, and an index on time: readers take such a trail as it is; the
// gateway drops both when it opens it and puts its records in blocks.
TEST_F(AuditChainTest, ATrailWithThePartyIndexOfTheVersionBeforeIsReadAsItIsThenPutInBlocks) {
  const std::vector<AuditRecord> records = sample_records(12);
  write_chain(dir_, records);
  {
    AuditDatabase db(dir_);
    db.exec("DROP TABLE audit_blocks");
    db.exec("DROP TABLE audit_block_parties");
    db.exec("CREATE INDEX audit_time ON audit(time_unix_ms)");
    db.exec("CREATE TABLE audit_parties(party TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(party, seq)) "
            "WITHOUT ROWID");
    db.exec("CREATE TABLE audit_parties_indexed(through_seq INTEGER NOT NULL)");
    db.exec("INSERT INTO audit_parties_indexed VALUES(8)");
    db.exec("INSERT INTO audit_parties SELECT node, seq FROM audit WHERE seq <= 8 "
            "UNION SELECT recipient, seq FROM audit WHERE seq <= 8 AND recipient IS NOT NULL");
  }
  EXPECT_EQ(seqs_of(query(dir_, {.node = "charlie"})), seqs_about(records, "charlie"));
  VerifyReport report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);

  AuditDatabase db(dir_);
  create_schema(db);
  EXPECT_THAT(audit_indexed_columns(db), IsEmpty());
  EXPECT_EQ(db.text("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'audit_parties%'"), "0");
  AuditChain chain(db);
  EXPECT_EQ(chain.unindexed(), 12) << "every record waits for a block";
  db.exec("BEGIN");
  EXPECT_EQ(chain.index_blocks(100), 12);
  db.exec("COMMIT");
  EXPECT_THAT(blocks_of(db), ElementsAre("1-12 0..11: alpha,bravo,charlie,delta"));
  EXPECT_EQ(seqs_of(query(dir_, {.node = "charlie"})), seqs_about(records, "charlie"));
  report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);
}

// A block removed, stretched or narrowed, or a party taken from or added to
// one, hides a record from a query by node or time, or is not what the
// gateway wrote, without touching the chain: verify names where and what.
TEST_F(AuditChainTest, VerifyFindsBlocksThatWereTamperedWith) {
  write_chain(dir_, sample_records(10));
  AuditDatabase db(dir_);
  make_blocks(db, {4, 4});  // blocks 1-4 and 5-8; 9 and 10 in none yet
  ASSERT_TRUE(verify(dir_).intact());

  struct Tampering {
    std::vector<std::string> change, undo;
    std::int64_t seq;
    std::string text;
  };
  const std::string block_1 = "SELECT * FROM audit_blocks WHERE first_seq = 1";
  const Tampering tamperings[] = {
      // charlie is only seq 2's recipient in block 1
      {{"DELETE FROM audit_block_parties WHERE first_seq = 1 AND party = 'charlie'"},
       {"INSERT INTO audit_block_parties VALUES('charlie', 1)"}, 2,
       "its block (audit_blocks, from seq 1) does not list its recipient \"charlie\""},
      {{"INSERT INTO audit_block_parties VALUES('mallory', 1)"},
       {"DELETE FROM audit_block_parties WHERE party = 'mallory'"}, 1,
       "lists \"mallory\" (audit_block_parties), who is the node or recipient of no record in it"},
      {{"INSERT INTO audit_block_parties VALUES('alpha', 40)"},
       {"DELETE FROM audit_block_parties WHERE first_seq = 40"}, 40,
       "for a block from seq 40, which audit_blocks does not have"},
      // Seq 9 is alpha's to delta, both listed in block 5, but a minute later.
      {{"UPDATE audit_blocks SET last_seq = 9 WHERE first_seq = 5"},
       {"UPDATE audit_blocks SET last_seq = 8 WHERE first_seq = 5"}, 9, "is outside its block's"},
      {{"UPDATE audit_blocks SET min_time = min_time + 1 WHERE first_seq = 1"},
       {"UPDATE audit_blocks SET min_time = min_time - 1 WHERE first_seq = 1"}, 1,
       "is outside its block's (audit_blocks, from seq 1)"},
      {{"CREATE TABLE saved AS " + block_1, "DELETE FROM audit_blocks WHERE first_seq = 1"},
       {"INSERT INTO audit_blocks SELECT * FROM saved", "DROP TABLE saved"}, 1,
       "seqs 1 to 4 are in no block (audit_blocks), though later records are"},
      {{"INSERT INTO audit_blocks SELECT 3, 4, min_time, max_time, messages FROM audit_blocks WHERE first_seq = 1",
        "INSERT INTO audit_block_parties SELECT party, 3 FROM audit_block_parties WHERE first_seq = 1"},
       {"DELETE FROM audit_blocks WHERE first_seq = 3", "DELETE FROM audit_block_parties WHERE first_seq = 3"}, 3,
       "the block (audit_blocks) from seq 3 overlaps the one before it, which ends at seq 4"},
  };
  for (const Tampering& tampering : tamperings) {
    SCOPED_TRACE(tampering.change.back());
    for (const std::string& sql : tampering.change) db.exec(sql);
    const VerifyReport report = verify(dir_);
    ASSERT_EQ(report.problems.size(), 1u) << problems_text(report);
    EXPECT_EQ(report.problems[0].seq, tampering.seq);
    EXPECT_EQ(report.problems[0].kind, ProblemKind::modified);
    EXPECT_THAT(report.problems[0].text, HasSubstr(tampering.text));
    for (const std::string& sql : tampering.undo) db.exec(sql);
    ASSERT_TRUE(verify(dir_).intact()) << problems_text(verify(dir_));
  }
}

// The version before the blocks numbered each message id (audit_messages)
// and indexed the number (message_ref): readers take such a trail as it is;
// the gateway drops the numbers and their index when it opens it (the column
// stays, unread) and finds messages through the blocks.
TEST_F(AuditChainTest, ATrailWithTheMessageNumbersOfTheVersionBeforeIsReadAsItIsThenPutInBlocks) {
  const std::vector<AuditRecord> records = sample_records(10);
  write_chain(dir_, records);
  {
    AuditDatabase db(dir_);
    db.exec("DROP TABLE audit_blocks");
    db.exec("DROP TABLE audit_block_parties");
    db.exec("ALTER TABLE audit ADD COLUMN message_ref INTEGER");
    db.exec("CREATE TABLE audit_messages(ref INTEGER PRIMARY KEY, message_id TEXT NOT NULL)");
    db.exec("INSERT INTO audit_messages(message_id) SELECT message_id FROM audit WHERE message_id IS NOT NULL "
            "ORDER BY seq");
    db.exec("UPDATE audit SET message_ref = (SELECT ref FROM audit_messages m WHERE m.message_id = audit.message_id)");
    db.exec("CREATE INDEX audit_message_ref ON audit(message_ref)");
  }
  // Readers open it read-only and cannot upgrade it: they read it as it is.
  EXPECT_EQ(seqs_of(query(dir_, {.message_id = "m-3"})), (std::vector<std::int64_t>{3}));
  VerifyReport report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);

  AuditDatabase db(dir_);
  create_schema(db);  // what the gateway does when it opens its store
  EXPECT_THAT(audit_indexed_columns(db), IsEmpty());
  EXPECT_EQ(db.text("SELECT count(*) FROM sqlite_schema WHERE name = 'audit_messages'"), "0");
  AuditChain chain(db);
  AuditRecord later = records[2];  // about m-3 again
  later.kind = "review";
  db.exec("BEGIN");
  chain.append(later);
  EXPECT_EQ(chain.index_blocks(6), 6);
  db.exec("COMMIT");
  EXPECT_EQ(seqs_of(query(dir_, {.message_id = "m-3"})), (std::vector<std::int64_t>{3, 11}));
  report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);
  EXPECT_EQ(report.records, 11);
}

// Blocks without message filters (made only by a build between two commits
// of the change that brought the filters) are made again.
TEST_F(AuditChainTest, BlocksWithoutMessageFiltersAreMadeAgain) {
  const std::vector<AuditRecord> records = sample_records(6);
  write_chain(dir_, records);
  {
    AuditDatabase db(dir_);
    db.exec("DROP TABLE audit_blocks");
    db.exec("CREATE TABLE audit_blocks(first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, "
            "min_time INTEGER NOT NULL, max_time INTEGER NOT NULL)");
    db.exec("INSERT INTO audit_blocks VALUES(1, 6, 0, 9e15)");
    db.exec("INSERT INTO audit_block_parties VALUES('alpha', 1)");
  }
  EXPECT_EQ(seqs_of(query(dir_, {.node = "bravo"})), seqs_about(records, "bravo")) << "read as a trail without blocks";
  AuditDatabase db(dir_);
  create_schema(db);
  AuditChain chain(db);
  EXPECT_EQ(chain.unindexed(), 6);
  db.exec("BEGIN");
  EXPECT_EQ(chain.index_blocks(100), 6);
  db.exec("COMMIT");
  EXPECT_THAT(blocks_of(db), ElementsAre("1-6 0..5: alpha,bravo,charlie,delta"));
  EXPECT_EQ(seqs_of(query(dir_, {.message_id = "m-4"})), (std::vector<std::int64_t>{4}));
  const VerifyReport report = verify(dir_);
  EXPECT_TRUE(report.intact()) << problems_text(report);
}

// A block's message filter that lacks a message id would hide that record
// from a query by its message; one that is not a filter at all is named too.
TEST_F(AuditChainTest, VerifyFindsABlocksMessageFilterThatDoesNotHoldItsRecordsIds) {
  write_chain(dir_, sample_records(6));
  AuditDatabase db(dir_);
  make_blocks(db, {6});
  ASSERT_TRUE(verify(dir_).intact());
  db.exec("CREATE TABLE saved AS SELECT messages FROM audit_blocks");
  // Seqs 1-4 and 6 are about messages; 5 is a connection.
  const std::vector<std::int64_t> about_messages{1, 2, 3, 4, 6};
  db.exec("UPDATE audit_blocks SET messages = zeroblob(64)");
  VerifyReport report = verify(dir_);
  ASSERT_EQ(report.problems.size(), about_messages.size()) << problems_text(report);
  for (std::size_t i = 0; i < about_messages.size(); ++i) {
    EXPECT_EQ(report.problems[i].seq, about_messages[i]);
    EXPECT_THAT(report.problems[i].text, HasSubstr("message filter does not have its message id \"m-"));
  }
  EXPECT_THAT(query(dir_, {.message_id = "m-2"}), IsEmpty()) << "what verify warns of";
  db.exec("UPDATE audit_blocks SET messages = x'00'");
  report = verify(dir_);
  ASSERT_EQ(report.problems.size(), about_messages.size()) << problems_text(report);
  EXPECT_THAT(report.problems[0].text, HasSubstr("message filter is not a filter (1 bytes"));
  EXPECT_EQ(seqs_of(query(dir_, {.message_id = "m-2"})), (std::vector<std::int64_t>{2})) << "its block is read";
  db.exec("UPDATE audit_blocks SET messages = (SELECT messages FROM saved)");
  EXPECT_TRUE(verify(dir_).intact());
}

TEST_F(AuditChainTest, AppendWithoutTheSchemaIsRefusedClearly) {
  AuditDatabase db(dir_);
  try {
    AuditChain chain(db);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("create_schema"));
  }
}

TEST_F(AuditChainTest, VerifyAndQueryRefuseAMissingDatabaseOrTable) {
  EXPECT_THROW(verify(dir_ / "nowhere"), std::runtime_error);
  EXPECT_THROW(query(dir_ / "nowhere", {}), std::runtime_error);
  { AuditDatabase db(dir_); }  // an empty database: no audit table
  try {
    verify(dir_);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("no audit table"));
  }
}

// -------------------------------------------------------------- tampering

// A 10-record chain in original/, and a copy in tampered/ to change with SQL.
class TamperingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(original_);
    fs::create_directories(tampered_);
    records_ = sample_records(10);
    head_ = write_chain(original_, records_);
    ASSERT_FALSE(fs::exists(original_ / "icegate.db-wal")) << "closing the database checkpoints the WAL";
    fs::copy_file(database_path(original_), database_path(tampered_));
    db_ = std::make_unique<AuditDatabase>(tampered_);
  }
  void TearDown() override {
    // Tampering with the copy leaves the original intact.
    EXPECT_TRUE(verify(original_).intact());
  }

  std::string hash_of(std::int64_t seq) const {
    return db_->text("SELECT hash FROM audit WHERE seq = " + std::to_string(seq));
  }
  VerifyReport verify_tampered() {
    db_.reset();  // close, so verify sees a checkpointed file as an auditor would
    return verify(tampered_);
  }
  // Moves seq >= from up by one, freeing `from`.
  void make_room_at(std::int64_t from) const {
    db_->exec("UPDATE audit SET seq = -seq WHERE seq >= " + std::to_string(from));
    db_->exec("UPDATE audit SET seq = 1 - seq WHERE seq < 0");
  }
  // A careful forger's row: its columns right too, so that only the chain
  // can give it away.
  void insert_row(std::int64_t seq, const AuditRecord& record, const std::string& previous_hash,
                  const std::string& hash) const {
    sqlite::Statement statement(*db_,
                                "INSERT INTO audit(seq, time_unix_ms, kind, node, recipient, message_id, decision, "
                                "record, previous_hash, hash) "
                                "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    const std::string canonical = canonical_json(record);
    statement.bind(1, seq).bind(2, record.time_unix_ms);
    const std::string* texts[] = {&record.kind,     &record.node, &record.recipient, &record.message_id,
                                  &record.decision, &canonical,   &previous_hash,    &hash};
    for (int index = 0; index < 8; ++index) statement.bind(index + 3, *texts[index]);
    statement.run();
  }
  void swap_seqs(std::int64_t a, std::int64_t b) const {
    db_->exec("UPDATE audit SET seq = -1 WHERE seq = " + std::to_string(a));
    db_->exec("UPDATE audit SET seq = " + std::to_string(a) + " WHERE seq = " + std::to_string(b));
    db_->exec("UPDATE audit SET seq = " + std::to_string(b) + " WHERE seq = -1");
  }
  // A plausible forged decision: alpha releases m-99 to bravo.
  static AuditRecord forged_record(std::int64_t time_unix_ms) {
    AuditRecord record = sample_records(1).front();
    record.time_unix_ms = time_unix_ms;
    record.message_id = "m-99";
    return record;
  }

  TemporaryDirectory temporary_;
  fs::path original_ = temporary_ / "original";
  fs::path tampered_ = temporary_ / "tampered";
  std::vector<AuditRecord> records_;
  std::string head_;
  std::unique_ptr<AuditDatabase> db_;
};

TEST_F(TamperingTest, AnUntouchedCopyIsIntact) {
  const VerifyReport report = verify_tampered();
  EXPECT_TRUE(report.intact()) << problems_text(report);
  EXPECT_EQ(report.records, 10);
  EXPECT_EQ(report.head_hash, head_);
}

TEST_F(TamperingTest, ChangingADecisionInTheRecordIsModified) {
  ASSERT_EQ(records_[2].decision, "DENY");
  db_->exec(R"(UPDATE audit SET record = replace(record, '"decision":"DENY"', '"decision":"RELEASE"') WHERE seq = 3)");
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, ElementsAre(IsProblem(3, ProblemKind::modified))) << problems_text(report);
  EXPECT_THAT(report.problems[0].text, AllOf(HasSubstr("hash does not match its content"),
                                              HasSubstr(R"(decision column is "DENY" but its record says "RELEASE")")));
}

TEST_F(TamperingTest, ChangingOnlyAnIndexedColumnIsModified) {
  db_->exec("UPDATE audit SET recipient = 'zulu' WHERE seq = 2");
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, ElementsAre(IsProblem(2, ProblemKind::modified))) << problems_text(report);
  EXPECT_THAT(report.problems[0].text, HasSubstr(R"(recipient column is "zulu" but its record says "charlie")"));
}

TEST_F(TamperingTest, ChangingOnlyTheStoredHashIsModifiedOnce) {
  db_->exec("UPDATE audit SET hash = '" + std::string(64, 'f') + "' WHERE seq = 4");
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, ElementsAre(IsProblem(4, ProblemKind::modified))) << problems_text(report);
  EXPECT_THAT(report.problems[0].text, HasSubstr("its hash was changed"));
}

TEST_F(TamperingTest, ChangingOnlyThePreviousHashIsModifiedOnce) {
  db_->exec("UPDATE audit SET previous_hash = '" + hash_of(2) + "' WHERE seq = 6");
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, ElementsAre(IsProblem(6, ProblemKind::modified))) << problems_text(report);
  EXPECT_THAT(report.problems[0].text, HasSubstr("previous_hash was changed"));
}

TEST_F(TamperingTest, DeletingAMiddleRowIsDeleted) {
  db_->exec("DELETE FROM audit WHERE seq = 5");
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, ElementsAre(IsProblem(5, ProblemKind::deleted))) << problems_text(report);
  EXPECT_THAT(report.problems[0].text, HasSubstr("seq 5 is missing"));
  EXPECT_EQ(report.records, 9);
}

TEST_F(TamperingTest, DeletingSeveralRowsIsOneDeletion) {
  db_->exec("DELETE FROM audit WHERE seq BETWEEN 4 AND 6");
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, ElementsAre(IsProblem(4, ProblemKind::deleted))) << problems_text(report);
  EXPECT_THAT(report.problems[0].text, HasSubstr("seqs 4 to 6 are missing (3 records)"));
}

TEST_F(TamperingTest, DeletingTheFirstRowIsDeleted) {
  db_->exec("DELETE FROM audit WHERE seq = 1");
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, ElementsAre(IsProblem(1, ProblemKind::deleted))) << problems_text(report);
}

TEST_F(TamperingTest, AForgedRowWithAPlausibleSeqAndHashIsInserted) {
  // Renumber to make room at 5, then forge a record chained after seq 4 with
  // a correct hash: only the link from the old seq 5 (now 6) gives it away.
  const std::string previous = hash_of(4);
  const AuditRecord forged = forged_record(records_[3].time_unix_ms + 1);
  make_room_at(5);
  insert_row(5, forged, previous, chain_hash(previous, canonical_json(forged)));
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, ElementsAre(IsProblem(5, ProblemKind::inserted))) << problems_text(report);
  EXPECT_THAT(report.problems[0].text, HasSubstr("claims to follow seq 4 in the chain, but seq 6 does"));
  EXPECT_EQ(report.records, 11);
}

TEST_F(TamperingTest, AForgedRowChainedToNothingIsInserted) {
  const AuditRecord forged = forged_record(records_[3].time_unix_ms + 1);
  const std::string previous(64, 'a');
  make_room_at(5);
  insert_row(5, forged, previous, chain_hash(previous, canonical_json(forged)));
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, ElementsAre(IsProblem(5, ProblemKind::inserted))) << problems_text(report);
  EXPECT_THAT(report.problems[0].text, HasSubstr("matches no record"));
}

TEST_F(TamperingTest, AForgedRowAtTheEndChainedToAnOlderRecordIsInserted) {
  const std::string previous = hash_of(9);
  const AuditRecord forged = forged_record(records_[9].time_unix_ms + 1);
  insert_row(11, forged, previous, chain_hash(previous, canonical_json(forged)));
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, ElementsAre(IsProblem(11, ProblemKind::inserted))) << problems_text(report);
}

TEST_F(TamperingTest, AQueryOfATamperedRecordShowsWhatItsColumnsSay) {
  db_->exec("UPDATE audit SET record = 'garbage' WHERE seq = 2");
  db_.reset();
  QueryFilter filter;
  filter.message_id = "m-2";
  const std::vector<StoredRecord> stored = query(tampered_, filter);
  ASSERT_THAT(stored, SizeIs(1));
  EXPECT_EQ(stored[0].canonical, "garbage");
  EXPECT_EQ(stored[0].record.recipient, "charlie");
  EXPECT_EQ(stored[0].record.decision, "RELEASE");
  EXPECT_THAT(stored[0].record.rules, IsEmpty());
}

TEST_F(TamperingTest, ACopyOfARecordIsInserted) {
  db_->exec("INSERT INTO audit SELECT 11, time_unix_ms, kind, node, recipient, message_id, decision, record, "
            "previous_hash, hash FROM audit WHERE seq = 3");
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, ElementsAre(IsProblem(11, ProblemKind::inserted))) << problems_text(report);
  EXPECT_THAT(report.problems[0].text, HasSubstr("same hash as seq 3"));
}

TEST_F(TamperingTest, SwappingTwoRowsIsReorderedAtBoth) {
  swap_seqs(3, 7);
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems,
              ElementsAre(IsProblem(3, ProblemKind::reordered), IsProblem(7, ProblemKind::reordered)))
      << problems_text(report);
  // Seq 3 now holds the old seventh record, chained after the old sixth (still seq 6).
  EXPECT_THAT(report.problems[0].text, HasSubstr("belongs right after seq 6"));
  EXPECT_THAT(report.problems[1].text, HasSubstr("belongs right after seq 2"));
}

TEST_F(TamperingTest, SwappingTwoAdjacentRowsIsOneReordering) {
  swap_seqs(4, 5);
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, SizeIs(1)) << problems_text(report);
  EXPECT_EQ(report.problems[0].kind, ProblemKind::reordered);
  EXPECT_TRUE(report.problems[0].seq == 4 || report.problems[0].seq == 5) << problems_text(report);
}

TEST_F(TamperingTest, MovingABlockOfRowsIsOneReordering) {
  // Rows 2..4 moved to the end (seqs 11..13), the rest renumbered down.
  db_->exec("UPDATE audit SET seq = seq + 9 WHERE seq BETWEEN 2 AND 4");
  db_->exec("UPDATE audit SET seq = seq - 3 WHERE seq BETWEEN 5 AND 10");
  db_->exec("UPDATE audit SET seq = seq - 3 WHERE seq BETWEEN 11 AND 13");
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, SizeIs(1)) << problems_text(report);
  EXPECT_EQ(report.problems[0].kind, ProblemKind::reordered) << problems_text(report);
}

TEST_F(TamperingTest, AModifiedRecordWithItsHashRecomputedIsCaughtByTheNextLink) {
  AuditRecord changed = records_[4];
  changed.kind = "disconnection";
  const std::string previous = hash_of(4);
  const std::string canonical = canonical_json(changed);
  const std::string hash = chain_hash(previous, canonical);
  sqlite::Statement(*db_, "UPDATE audit SET kind = ?, record = ?, hash = ? WHERE seq = 5")
      .bind(1, changed.kind)
      .bind(2, canonical)
      .bind(3, hash)
      .run();

  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, ElementsAre(IsProblem(5, ProblemKind::modified))) << problems_text(report);
  EXPECT_THAT(report.problems[0].text,
              AllOf(HasSubstr("seq 6, is chained to a different hash"), HasSubstr("hash recomputed")));
}

TEST_F(TamperingTest, EveryProblemIsReportedNotJustTheFirst) {
  db_->exec(R"(UPDATE audit SET record = replace(record, '"reason":"test"', '"reason":"ok"') WHERE seq = 2)");
  db_->exec("DELETE FROM audit WHERE seq = 5");
  swap_seqs(7, 9);
  const VerifyReport report = verify_tampered();
  EXPECT_THAT(report.problems,
              ElementsAre(IsProblem(2, ProblemKind::modified), IsProblem(5, ProblemKind::deleted),
                          IsProblem(7, ProblemKind::reordered), IsProblem(9, ProblemKind::reordered)))
      << problems_text(report);
}

TEST_F(TamperingTest, HashFieldsFormingALoopAreReportedWithoutHanging) {
  db_->exec("UPDATE audit SET hash = 'loop-a', previous_hash = 'loop-b' WHERE seq = 3");
  db_->exec("UPDATE audit SET hash = 'loop-b', previous_hash = 'loop-a' WHERE seq = 4");
  const VerifyReport report = verify_tampered();
  EXPECT_FALSE(report.intact());
  EXPECT_THAT(report.problems, ::testing::Contains(IsProblem(3, ProblemKind::modified))) << problems_text(report);
  EXPECT_THAT(report.problems, ::testing::Contains(IsProblem(4, ProblemKind::modified))) << problems_text(report);
}

TEST_F(TamperingTest, GarbageInTheRecordIsModified) {
  db_->exec("UPDATE audit SET record = 'not json' WHERE seq = 8");
  const VerifyReport report = verify_tampered();
  ASSERT_THAT(report.problems, ElementsAre(IsProblem(8, ProblemKind::modified))) << problems_text(report);
  EXPECT_THAT(report.problems[0].text, HasSubstr("not a valid audit record"));
}

// The documented limitation (SECURITY.md): the chain alone cannot show that
// its tail was cut off; only a head hash and count kept elsewhere can.
TEST_F(TamperingTest, ATruncatedTailIsNotDetectableFromTheChainAlone) {
  const std::string new_head = hash_of(9);
  db_->exec("DELETE FROM audit WHERE seq = 10");
  const VerifyReport report = verify_tampered();
  EXPECT_TRUE(report.intact()) << problems_text(report);
  EXPECT_EQ(report.records, 9);
  EXPECT_EQ(report.head_hash, new_head);
  EXPECT_NE(report.head_hash, head_);
}

// ------------------------------------------------------------------ query

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    records_ = sample_records(30);
    write_chain(dir_, records_);
  }
  // The seqs of the sample records `keep` selects: the oracle for query().
  template <typename Predicate>
  std::vector<std::int64_t> expected_seqs(Predicate keep) const {
    std::vector<std::int64_t> seqs;
    for (std::size_t index = 0; index < records_.size(); ++index) {
      if (keep(records_[index])) seqs.push_back(static_cast<std::int64_t>(index) + 1);
    }
    return seqs;
  }
  std::vector<std::int64_t> seqs_of(const QueryFilter& filter) const {
    std::vector<std::int64_t> seqs;
    for (const StoredRecord& stored : query(dir_, filter)) seqs.push_back(stored.seq);
    return seqs;
  }

  TemporaryDirectory temporary_;
  fs::path dir_ = temporary_.path();
  std::vector<AuditRecord> records_;
};

TEST_F(QueryTest, WithoutFiltersReturnsEveryRecordInSeqOrderWithAllItsFields) {
  const std::vector<StoredRecord> stored = query(dir_, {});
  ASSERT_EQ(stored.size(), records_.size());
  std::string previous(genesis_hash);
  for (std::size_t index = 0; index < stored.size(); ++index) {
    const AuditRecord& expected = records_[index];
    const AuditRecord& actual = stored[index].record;
    EXPECT_EQ(stored[index].seq, static_cast<std::int64_t>(index) + 1);
    EXPECT_EQ(actual.time_unix_ms, expected.time_unix_ms);
    EXPECT_EQ(actual.kind, expected.kind);
    EXPECT_EQ(actual.node, expected.node);
    EXPECT_EQ(actual.recipient, expected.recipient);
    EXPECT_EQ(actual.message_id, expected.message_id);
    EXPECT_EQ(actual.decision, expected.decision);
    EXPECT_EQ(actual.rules, expected.rules);
    EXPECT_EQ(actual.policy_version, expected.policy_version);
    EXPECT_EQ(actual.detail, expected.detail);
    EXPECT_EQ(stored[index].canonical, canonical_json(expected));
    EXPECT_EQ(stored[index].previous_hash, previous);
    EXPECT_EQ(stored[index].hash, chain_hash(previous, stored[index].canonical));
    previous = stored[index].hash;
  }
}

TEST_F(QueryTest, NodeMatchesTheActingNodeOrTheRecipient) {
  const std::vector<std::int64_t> expected =
      expected_seqs([](const AuditRecord& r) { return r.node == "bravo" || r.recipient == "bravo"; });
  QueryFilter filter;
  filter.node = "bravo";
  EXPECT_EQ(seqs_of(filter), expected);
  // Both sides are present in the sample: connections by bravo, decisions to bravo.
  EXPECT_TRUE(std::any_of(records_.begin(), records_.end(), [](auto& r) { return r.node == "bravo"; }));
  EXPECT_TRUE(std::any_of(records_.begin(), records_.end(), [](auto& r) { return r.recipient == "bravo"; }));
  filter.node = "alpha";
  EXPECT_EQ(seqs_of(filter), expected_seqs([](const AuditRecord& r) { return r.node == "alpha"; }));
  filter.node = "nobody";
  EXPECT_THAT(seqs_of(filter), IsEmpty());
}

TEST_F(QueryTest, FiltersByMessageDecisionAndKind) {
  QueryFilter by_message;
  by_message.message_id = "m-8";
  EXPECT_THAT(seqs_of(by_message), ElementsAre(8));
  QueryFilter by_decision;
  by_decision.decision = "DENY";
  EXPECT_EQ(seqs_of(by_decision), expected_seqs([](const AuditRecord& r) { return r.decision == "DENY"; }));
  QueryFilter by_kind;
  by_kind.kind = "connection";
  EXPECT_EQ(seqs_of(by_kind), expected_seqs([](const AuditRecord& r) { return r.kind == "connection"; }));
}

TEST_F(QueryTest, SinceAndUntilAreInclusive) {
  QueryFilter filter;
  filter.since_unix_ms = records_[9].time_unix_ms;
  filter.until_unix_ms = records_[14].time_unix_ms;
  EXPECT_THAT(seqs_of(filter), ElementsAre(10, 11, 12, 13, 14, 15));
  filter.since_unix_ms = records_[9].time_unix_ms + 1;
  filter.until_unix_ms = records_[14].time_unix_ms - 1;
  EXPECT_THAT(seqs_of(filter), ElementsAre(11, 12, 13, 14));
  QueryFilter only_since;
  only_since.since_unix_ms = records_[27].time_unix_ms;
  EXPECT_THAT(seqs_of(only_since), ElementsAre(28, 29, 30));
  QueryFilter only_until;
  only_until.until_unix_ms = sample_start_unix_ms;
  EXPECT_THAT(seqs_of(only_until), ElementsAre(1));
}

TEST_F(QueryTest, FiltersCombineWithAnd) {
  QueryFilter filter;
  filter.node = "charlie";
  filter.decision = "RELEASE";
  filter.until_unix_ms = records_[19].time_unix_ms;
  const std::vector<std::int64_t> expected = expected_seqs([&](const AuditRecord& r) {
    return (r.node == "charlie" || r.recipient == "charlie") && r.decision == "RELEASE" &&
           r.time_unix_ms <= *filter.until_unix_ms;
  });
  ASSERT_THAT(expected, ::testing::Not(IsEmpty()));
  EXPECT_EQ(seqs_of(filter), expected);
}

// ----------------------------------------------------------------- output

// Records whose fields need quoting in every format.
std::vector<AuditRecord> awkward_records() {
  AuditRecord first;
  first.time_unix_ms = 1795240800123;
  first.kind = "decision";
  first.node = "alpha, \"the first\"";
  first.recipient = "bravo\nline two";
  first.message_id = "m-\xc3\xa9\xe6\x97\xa5";
  first.decision = "RELEASE_REDACTED";
  first.rules = {"rule one", "rule,two"};
  first.policy_version = "v\t1";
  first.detail = R"({"withheld": ["SECRET"], "note": "a \"quoted\" word"})";
  AuditRecord second;
  second.time_unix_ms = 1795240860000;
  second.kind = "connection_refused";
  second.node = "mallory";
  second.detail = "peer said: \"hello\"\r\nand left";  // not JSON: kept as a string
  AuditRecord third;
  third.time_unix_ms = 1795240920000;
  third.kind = "policy_loaded";
  third.policy_version = "v2";
  return {first, second, third};
}

// A JSON value as the tests need it: strings decoded, arrays of strings as
// items, anything else as its text. An independent reader, not the library's.
struct JsonValue {
  std::string text;
  std::vector<std::string> items;
};

class TestJsonReader {
 public:
  explicit TestJsonReader(std::string_view text) : text_(text) {}

  std::map<std::string, JsonValue> object() {
    std::map<std::string, JsonValue> fields;
    expect('{');
    if (peek() == '}') {
      ++pos_;
      return fields;
    }
    while (true) {
      const std::string key = string();
      expect(':');
      JsonValue& value = fields[key];
      const char first = peek();
      if (first == '"') {
        value.text = string();
      } else if (first == '[') {
        ++pos_;
        while (peek() != ']') {
          value.items.push_back(string());
          if (peek() == ',') ++pos_;
        }
        ++pos_;
      } else {
        const std::size_t start = pos_;
        skip();
        value.text = std::string(text_.substr(start, pos_ - start));
      }
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return fields;
    }
  }

 private:
  char peek() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    if (pos_ >= text_.size()) throw std::runtime_error("unexpected end of JSON");
    return text_[pos_];
  }
  void expect(char c) {
    if (peek() != c) throw std::runtime_error(std::string("expected ") + c + " at " + std::to_string(pos_));
    ++pos_;
  }
  std::string string() {
    expect('"');
    std::string out;
    while (text_.at(pos_) != '"') {
      char c = text_[pos_++];
      if (c == '\\') {
        c = text_.at(pos_++);
        switch (c) {
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          case 'r': c = '\r'; break;
          case 'b': c = '\b'; break;
          case 'f': c = '\f'; break;
          case 'u':
            c = static_cast<char>(std::stoi(std::string(text_.substr(pos_, 4)), nullptr, 16));
            pos_ += 4;
            break;
          default: break;  // " \ /
        }
      }
      out.push_back(c);
    }
    ++pos_;
    return out;
  }
  // A number, literal or nested object, by bracket counting outside strings.
  void skip() {
    int depth = 0;
    bool in_string = false;
    for (; pos_ < text_.size(); ++pos_) {
      const char c = text_[pos_];
      if (in_string) {
        if (c == '\\') ++pos_;
        else if (c == '"') in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (depth == 0) return;
        if (--depth == 0) {
          ++pos_;
          return;
        }
      } else if (c == ',' && depth == 0) {
        return;
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// RFC 4180 records: fields split on commas, quoted fields unquoted, CRLF ends a record.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t index = 0; index < text.size(); ++index) {
    const char c = text[index];
    if (quoted) {
      if (c == '"' && index + 1 < text.size() && text[index + 1] == '"') {
        field.push_back('"');
        ++index;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\r' && index + 1 < text.size() && text[index + 1] == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      ++index;
    } else {
      field.push_back(c);
    }
  }
  EXPECT_TRUE(field.empty() && row.empty()) << "the last record must end with CRLF";
  return rows;
}

class OutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    records_ = awkward_records();
    write_chain(dir_, records_);
    stored_ = query(dir_, {});
    ASSERT_EQ(stored_.size(), records_.size());
  }

  TemporaryDirectory temporary_;
  fs::path dir_ = temporary_.path();
  std::vector<AuditRecord> records_;
  std::vector<StoredRecord> stored_;
};

TEST_F(OutputTest, JsonlIsOneObjectPerLineWithSeqHashesAndEveryField) {
  std::ostringstream out;
  write_jsonl(out, stored_);
  const std::vector<std::string> lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), records_.size()) << out.str();
  for (std::size_t index = 0; index < lines.size(); ++index) {
    SCOPED_TRACE(lines[index]);
    EXPECT_EQ(lines[index].rfind("{\"seq\":", 0), 0u) << "seq first";
    std::map<std::string, JsonValue> fields = TestJsonReader(lines[index]).object();
    const AuditRecord& record = records_[index];
    EXPECT_EQ(fields["seq"].text, std::to_string(index + 1));
    EXPECT_EQ(fields["hash"].text, stored_[index].hash);
    EXPECT_EQ(fields["previous_hash"].text, stored_[index].previous_hash);
    EXPECT_EQ(fields["time_unix_ms"].text, std::to_string(record.time_unix_ms));
    EXPECT_EQ(fields["kind"].text, record.kind);
    EXPECT_EQ(fields["node"].text, record.node);
    EXPECT_EQ(fields["recipient"].text, record.recipient);
    EXPECT_EQ(fields["message_id"].text, record.message_id);
    EXPECT_EQ(fields["decision"].text, record.decision);
    EXPECT_EQ(fields["rules"].items, record.rules);
    EXPECT_EQ(fields["policy_version"].text, record.policy_version);
    EXPECT_EQ(fields["detail"].text, record.detail);
    EXPECT_EQ(fields.size(), 12u);
  }
}

TEST_F(OutputTest, CsvHasAHeaderAndQuotesFieldsAsRfc4180Says) {
  std::ostringstream out;
  write_csv(out, stored_);
  const auto rows = parse_csv(out.str());
  ASSERT_EQ(rows.size(), records_.size() + 1) << out.str();
  EXPECT_THAT(rows[0], ElementsAre("seq", "time_unix_ms", "time", "kind", "node", "recipient", "message_id",
                                   "decision", "rules", "policy_version", "detail", "previous_hash", "hash"));
  for (std::size_t index = 0; index < records_.size(); ++index) {
    const std::vector<std::string>& row = rows[index + 1];
    const AuditRecord& record = records_[index];
    ASSERT_EQ(row.size(), 13u) << out.str();
    EXPECT_EQ(row[0], std::to_string(index + 1));
    EXPECT_EQ(row[1], std::to_string(record.time_unix_ms));
    EXPECT_EQ(row[3], record.kind);
    EXPECT_EQ(row[4], record.node);
    EXPECT_EQ(row[5], record.recipient);
    EXPECT_EQ(row[6], record.message_id);
    EXPECT_EQ(row[7], record.decision);
    std::string rules;
    for (const std::string& rule : record.rules) rules += (rules.empty() ? "" : ";") + rule;
    EXPECT_EQ(row[8], rules);
    EXPECT_EQ(row[9], record.policy_version);
    EXPECT_EQ(row[11], stored_[index].previous_hash);
    EXPECT_EQ(row[12], stored_[index].hash);
  }
  EXPECT_EQ(rows[1][2], "2026-11-21T06:00:00.123Z");
  EXPECT_EQ(rows[1][10], records_[0].detail);             // an object: its JSON text
  EXPECT_EQ(rows[2][10], json_string(records_[1].detail));  // not JSON: as a JSON string
  EXPECT_EQ(rows[3][10], "{}");
  EXPECT_THAT(out.str(), HasSubstr(R"(,"alpha, ""the first""",)"));
}

TEST_F(OutputTest, TextIsOneReadableLinePerRecord) {
  std::ostringstream out;
  write_text(out, stored_);
  const std::vector<std::string> lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), records_.size()) << out.str();
  EXPECT_THAT(lines[0], AllOf(HasSubstr("     1  2026-11-21T06:00:00.123Z  decision"),
                              HasSubstr(R"(node="alpha, \"the first\"")"), HasSubstr(R"(recipient="bravo\nline two")"),
                              HasSubstr("decision=RELEASE_REDACTED"), HasSubstr(R"(rules="rule one,rule,two")"),
                              HasSubstr(records_[0].detail)));
  EXPECT_THAT(lines[1], AllOf(HasSubstr("     2  2026-11-21T06:01:00.000Z  connection_refused"),
                              HasSubstr("node=mallory"), HasSubstr(R"(detail="peer said: \"hello\"\r\nand left")")));
  EXPECT_THAT(lines[2], AllOf(HasSubstr("policy_loaded"), HasSubstr("policy=v2")));
  EXPECT_THAT(lines[2], ::testing::Not(HasSubstr("node=")));
}

}  // namespace
}  // namespace icegate::audit

// The segment log (gateway/store/segment_log): appends come back after a
// reopen, in order; a torn tail (the file cut at every byte offset of its last
// records) and a corrupted one (every byte of the last records flipped) keep
// exactly the records before the damage and say what was dropped and where; a
// writer killed with SIGKILL loses nothing it was told was durable.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/store/segment_log.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::store {
namespace {

namespace fs = std::filesystem;
using icegate::testing::TemporaryDirectory;

struct Record {
  std::uint64_t seq;
  std::string payload;
  bool operator==(const Record&) const = default;
};

// Opens the log in `dir` and returns what recovery handed back.
std::vector<Record> reopen(const fs::path& dir, RecoveryReport* report = nullptr) {
  std::vector<Record> records;
  SegmentLog log(dir, {}, [&](std::uint64_t seq, std::string_view payload) {
    records.push_back({seq, std::string(payload)});
  });
  if (report) *report = log.recovery();
  return records;
}

std::vector<fs::path> segment_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".seg") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string payload_for(std::uint64_t seq) {
  // Varied sizes (including empty), so record boundaries fall at varied offsets.
  std::string payload = "payload " + std::to_string(seq);
  payload.resize((seq * 37) % 90, static_cast<char>('a' + seq % 26));
  return payload;
}

std::string fmt_payload(int thread, int index, int part) {
  return "thread " + std::to_string(thread) + " append " + std::to_string(index) + " part " + std::to_string(part);
}

// Writes `count` records, one append each, and returns them.
std::vector<Record> write_log(const fs::path& dir, std::uint64_t count) {
  std::vector<Record> records;
  SegmentLog log(dir);
  for (std::uint64_t seq = 1; seq <= count; ++seq) {
    const std::uint64_t first = log.append({payload_for(seq)}, {});
    EXPECT_EQ(first, seq);
    records.push_back({seq, payload_for(seq)});
  }
  log.flush();
  return records;
}

// The segment holding records (the log's first), and where each record starts in it.
struct Layout {
  fs::path segment;
  std::string bytes;
  std::vector<std::uint64_t> starts;  // starts[i]: offset of records[i]
};

Layout layout_of(const fs::path& dir, const std::vector<Record>& records) {
  Layout layout;
  layout.segment = segment_files(dir).front();
  layout.bytes = read_bytes(layout.segment);
  std::uint64_t offset = segment_magic.size();
  for (const auto& record : records) {
    layout.starts.push_back(offset);
    offset += segment_record_header_bytes + record.payload.size();
  }
  EXPECT_EQ(offset, layout.bytes.size());
  return layout;
}

// A fresh directory holding just `bytes` as its one segment.
void lay_out(const fs::path& dir, const fs::path& segment_name, std::string_view bytes) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_bytes(dir / segment_name, bytes);
}

TEST(SegmentLogTest, RecordsAppendedFromSeveralThreadsComeBackInSeqOrderAfterReopen) {
  TemporaryDirectory dir;
  std::map<std::uint64_t, std::string> appended;
  std::mutex mutex;  // guards appended
  std::atomic<std::uint64_t> durable_calls{0};
  {
    SegmentLog log(dir.path());
    EXPECT_TRUE(log.recovery().clean());
    auto produce = [&](int thread) {
      for (int i = 0; i < 200; ++i) {
        std::vector<std::string> payloads{fmt_payload(thread, i, 0), fmt_payload(thread, i, 1)};
        std::lock_guard lock(mutex);  // so the seqs are known when the payloads are recorded
        const auto copy = payloads;
        const std::uint64_t first = log.append(std::move(payloads), [&](bool ok, std::uint64_t) {
          EXPECT_TRUE(ok);
          ++durable_calls;
        });
        appended[first] = copy[0];
        appended[first + 1] = copy[1];
      }
    };
    std::thread a(produce, 0), b(produce, 1), c(produce, 2);
    a.join();
    b.join();
    c.join();
    log.flush();
    EXPECT_EQ(durable_calls.load(), 600u);
    EXPECT_EQ(log.stats().records, 1200u);
    EXPECT_GE(log.stats().syncs, 1u);
  }
  RecoveryReport report;
  const auto records = reopen(dir.path(), &report);
  EXPECT_TRUE(report.clean()) << report.describe();
  ASSERT_EQ(records.size(), 1200u);
  std::uint64_t expected = 1;
  for (const auto& record : records) {
    EXPECT_EQ(record.seq, expected++);
    EXPECT_EQ(record.payload, appended.at(record.seq));
  }
  // A reopened log goes on from the next seq.
  SegmentLog log(dir.path());
  EXPECT_EQ(log.append({"after"}, {}), 1201u);
}

TEST(SegmentLogTest, DurableCallbacksRunInAppendOrderWithTheirLastSeq) {
  TemporaryDirectory dir;
  SegmentLog log(dir.path());
  std::vector<std::uint64_t> seen;  // only the sync thread appends, until flush() returns
  for (int i = 0; i < 100; ++i)
    log.append(std::vector<std::string>(static_cast<std::size_t>(1 + i % 3), "x"),
               [&](bool ok, std::uint64_t last) {
                 EXPECT_TRUE(ok);
                 seen.push_back(last);
               });
  log.flush();
  ASSERT_EQ(seen.size(), 100u);
  std::uint64_t expected = 0;
  for (int i = 0; i < 100; ++i) {
    expected += static_cast<std::uint64_t>(1 + i % 3);
    EXPECT_EQ(seen[static_cast<std::size_t>(i)], expected);
  }
}

// Appends one payload and waits until the log says whether it is durable.
bool append_and_wait(SegmentLog& log, std::string payload, std::uint64_t* seq = nullptr) {
  std::promise<bool> durable;
  const std::uint64_t first = log.append({std::move(payload)}, [&](bool ok, std::uint64_t) { durable.set_value(ok); });
  if (seq) *seq = first;
  return durable.get_future().get();
}

TEST(SegmentLogTest, AFailedWriteIsCutOffAndWhatWasQueuedAfterItIsRefusedUntilResume) {
  TemporaryDirectory dir;
  std::uint64_t after_seq = 0;
  {
    SegmentLog log(dir.path());
    ASSERT_TRUE(append_and_wait(log, "before"));
    log.inject_write_failure(1, "injected write failure");
    EXPECT_FALSE(append_and_wait(log, "lost in the failed write"));
    EXPECT_TRUE(log.health().refusing);
    EXPECT_EQ(log.health().why, "injected write failure");
    EXPECT_FALSE(append_and_wait(log, "made on top of the lost one")) << "refused until resume()";
    log.resume();
    EXPECT_FALSE(log.health().refusing);
    ASSERT_TRUE(append_and_wait(log, "after resume", &after_seq));
  }
  const auto records = reopen(dir.path());
  ASSERT_EQ(records.size(), 2u) << "the failed write was cut off the segment, and the refused append never written";
  EXPECT_EQ(records[0], (Record{1, "before"}));
  EXPECT_EQ(records[1], (Record{after_seq, "after resume"}));
  EXPECT_EQ(after_seq, 4u) << "a refused append's seqs are not given again";
}

TEST(SegmentLogTest, AFailedSyncFailsTheLogForGood) {
  TemporaryDirectory dir;
  SegmentLog log(dir.path());
  ASSERT_TRUE(append_and_wait(log, "before"));
  log.inject_sync_failure(1, "injected sync failure");
  EXPECT_FALSE(append_and_wait(log, "its sync failed"));
  log.resume();
  EXPECT_FALSE(append_and_wait(log, "after")) << "nothing after a failed sync can be trusted";
  EXPECT_TRUE(log.health().failed);
  EXPECT_EQ(log.health().why, "injected sync failure");
}

TEST(SegmentLogTest, ASecondOpenerIsRefusedWhileTheFirstHoldsTheDirectory) {
  TemporaryDirectory dir;
  {
    SegmentLog log(dir.path());
    EXPECT_THROW(SegmentLog second(dir.path()), SegmentLogLocked);
  }
  EXPECT_NO_THROW(SegmentLog again(dir.path())) << "the lock goes with the log";
}

TEST(SegmentLogTest, FirstSeqKeepsSeqsAboveRecordsDroppedElsewhere) {
  TemporaryDirectory dir;
  SegmentLog log(dir.path(), {.first_seq = 1000});
  EXPECT_EQ(log.append({"x"}, {}), 1000u);
}

TEST(SegmentLogTest, SegmentsRollAndCompactionKeepsOnlyWhatIsAskedWithTheSameSeqs) {
  TemporaryDirectory dir;
  {
    SegmentLog log(dir.path(), {.segment_bytes = 4096});
    for (std::uint64_t seq = 1; seq <= 400; ++seq) {
      log.append({payload_for(seq)}, {});
      if (seq % 50 == 0) log.flush();
    }
    log.flush();
    auto sealed = log.sealed_segments();
    ASSERT_GE(sealed.size(), 3u);
    // Keep the even seqs of the first sealed segment, nothing of the second.
    const auto first = sealed[0], second = sealed[1];
    EXPECT_GT(log.compact(first, [](std::uint64_t seq, std::string_view) { return seq % 2 == 0; }), 0u);
    EXPECT_EQ(log.compact(second, [](std::uint64_t, std::string_view) { return false; }), 0u);
    EXPECT_FALSE(fs::exists(second.file));
    sealed = log.sealed_segments();
    EXPECT_EQ(sealed.front().file, first.file);
    EXPECT_EQ(sealed.front().last_seq % 2, 0u);
  }
  RecoveryReport report;
  auto records = reopen(dir.path(), &report);
  EXPECT_TRUE(report.clean()) << report.describe();
  std::uint64_t previous = 0;
  for (const auto& record : records) {
    EXPECT_GT(record.seq, previous);
    EXPECT_EQ(record.payload, payload_for(record.seq));
    previous = record.seq;
  }
  EXPECT_EQ(records.back().seq, 400u);
  EXPECT_LT(records.size(), 400u);

  // drop_before removes whole sealed segments below a seq, never the rest.
  SegmentLog log(dir.path());
  const auto sealed = log.sealed_segments();
  ASSERT_GE(sealed.size(), 2u);
  EXPECT_EQ(log.drop_before(sealed[1].last_seq + 1), 2u);
  EXPECT_FALSE(fs::exists(sealed[0].file));
  EXPECT_FALSE(fs::exists(sealed[1].file));
  EXPECT_TRUE(fs::exists(sealed[2].file));
}

// Cut the log at every byte offset from the start of its third-last record to
// its end: the records wholly before the cut are kept, the rest dropped, and
// the report names the segment, the offset of the first dropped record and
// how many bytes went. Appending then goes on from the last kept seq.
TEST(SegmentLogTest, TornTailAtEveryByteOffsetOfTheLastRecordsKeepsEveryWholeRecordBefore) {
  TemporaryDirectory dir;
  const auto records = write_log(dir / "original", 12);
  const Layout layout = layout_of(dir / "original", records);
  const fs::path name = layout.segment.filename();
  const std::size_t first_damaged = records.size() - 3;
  for (std::uint64_t cut = layout.starts[first_damaged]; cut < layout.bytes.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    const fs::path copy = dir / "copy";
    lay_out(copy, name, std::string_view(layout.bytes).substr(0, cut));
    std::size_t whole = 0;  // records wholly before the cut
    while (whole < records.size() && layout.starts[whole] + segment_record_header_bytes +
                                             records[whole].payload.size() <= cut)
      ++whole;
    RecoveryReport report;
    const auto kept = reopen(copy, &report);
    ASSERT_EQ(kept, std::vector<Record>(records.begin(), records.begin() + static_cast<long>(whole)));
    EXPECT_EQ(report.last_seq, whole);
    if (cut == layout.starts[whole]) {
      EXPECT_TRUE(report.clean()) << report.describe();  // cut on a boundary: nothing torn
    } else {
      EXPECT_TRUE(report.problem == SegmentProblem::truncated_header ||
                  report.problem == SegmentProblem::truncated_payload)
          << report.describe();
      EXPECT_EQ(report.damaged_segment.filename(), name);
      EXPECT_EQ(report.damaged_offset, layout.starts[whole]);
      EXPECT_EQ(report.dropped_bytes, cut - layout.starts[whole]);
      EXPECT_EQ(fs::file_size(copy / name), layout.starts[whole]);  // the torn bytes are gone from disk
    }
    // The log is usable again, and the next record follows the last kept one
    // (checked at every fifth offset: each check costs two more opens, each
    // with its fsyncs).
    if (cut % 5 != 0) continue;
    {
      SegmentLog log(copy);
      EXPECT_EQ(log.append({"next"}, {}), whole + 1);
    }
    RecoveryReport again;
    const auto after = reopen(copy, &again);
    EXPECT_TRUE(again.clean()) << again.describe();
    ASSERT_EQ(after.size(), whole + 1);
    EXPECT_EQ(after.back(), (Record{whole + 1, "next"}));
  }
}

// Flip each byte of the last three records in turn (one bit at even offsets,
// all eight at odd ones): the record holding the flipped byte and everything
// after it are dropped, everything before is kept, and the report says where
// the damaged record starts.
TEST(SegmentLogTest, FlippedByteAtEveryOffsetOfTheLastRecordsDropsThatRecordAndAfterKeepsBefore) {
  TemporaryDirectory dir;
  const auto records = write_log(dir / "original", 12);
  const Layout layout = layout_of(dir / "original", records);
  const fs::path name = layout.segment.filename();
  const std::size_t first_damaged = records.size() - 3;
  for (std::uint64_t at = layout.starts[first_damaged]; at < layout.bytes.size(); ++at) {
    {
      // One bit, or the whole byte, in turn.
      const unsigned char mask = at % 2 == 0 ? 0x01 : 0xff;
      SCOPED_TRACE("byte " + std::to_string(at) + " xor " + std::to_string(mask));
      std::string damaged = layout.bytes;
      damaged[at] = static_cast<char>(static_cast<unsigned char>(damaged[at]) ^ mask);
      const fs::path copy = dir / "copy";
      lay_out(copy, name, damaged);
      std::size_t hit = 0;  // the record holding byte `at`
      while (hit + 1 < records.size() && layout.starts[hit + 1] <= at) ++hit;
      RecoveryReport report;
      const auto kept = reopen(copy, &report);
      ASSERT_EQ(kept, std::vector<Record>(records.begin(), records.begin() + static_cast<long>(hit)));
      EXPECT_FALSE(report.clean());
      EXPECT_NE(report.problem, SegmentProblem::bad_magic);
      EXPECT_EQ(report.damaged_segment.filename(), name);
      EXPECT_EQ(report.damaged_offset, layout.starts[hit]);
      EXPECT_EQ(report.dropped_bytes, layout.bytes.size() - layout.starts[hit]);
      EXPECT_EQ(report.last_seq, hit);
      EXPECT_NE(report.describe().find(name.string() + " at byte " + std::to_string(layout.starts[hit])),
                std::string::npos)
          << report.describe();
    }
  }
}

TEST(SegmentLogTest, DamageInAnEarlierSegmentDropsEveryLaterSegmentAndSaysSo) {
  TemporaryDirectory dir;
  {
    SegmentLog log(dir.path(), {.segment_bytes = 1024});
    for (std::uint64_t seq = 1; seq <= 200; ++seq) {
      log.append({payload_for(seq)}, {});
      log.flush();  // one record per write, so segments roll at 1 KB
    }
  }
  auto files = segment_files(dir.path());
  ASSERT_GE(files.size(), 4u);
  // Corrupt the first record of the second segment that holds any.
  const fs::path victim = files[1];
  std::string bytes = read_bytes(victim);
  ASSERT_GT(bytes.size(), segment_magic.size() + segment_record_header_bytes);
  bytes[segment_magic.size() + segment_record_header_bytes] ^= 0x40;  // its first payload byte (or the next header)
  write_bytes(victim, bytes);
  std::uint64_t later_bytes = 0;
  for (std::size_t i = 2; i < files.size(); ++i) later_bytes += fs::file_size(files[i]);

  RecoveryReport report;
  const auto kept = reopen(dir.path(), &report);
  EXPECT_EQ(report.problem, SegmentProblem::bad_checksum) << report.describe();
  EXPECT_EQ(report.damaged_segment, victim);
  EXPECT_EQ(report.damaged_offset, segment_magic.size());
  EXPECT_EQ(report.removed_segments, std::vector<fs::path>(files.begin() + 2, files.end()));
  EXPECT_EQ(report.dropped_bytes, bytes.size() - segment_magic.size() + later_bytes);
  // Left: the first segment, the damaged one cut to its magic, and the new
  // (empty) segment reopening made, which takes the next number.
  const auto left = segment_files(dir.path());
  ASSERT_EQ(left.size(), 3u);
  EXPECT_EQ(left[0], files[0]);
  EXPECT_EQ(fs::file_size(victim), segment_magic.size());
  EXPECT_EQ(fs::file_size(left[2]), segment_magic.size());
  ASSERT_FALSE(kept.empty());
  for (std::size_t i = 0; i < kept.size(); ++i) EXPECT_EQ(kept[i], (Record{i + 1, payload_for(i + 1)}));
}

TEST(SegmentLogTest, AFileThatIsNotASegmentIsReportedAndRemoved) {
  TemporaryDirectory dir;
  write_log(dir.path(), 3);
  const auto files = segment_files(dir.path());
  // A later segment whose creation was torn before its magic was written.
  const fs::path torn = dir / "00000000000000ff.seg";
  write_bytes(torn, "ICEG");
  RecoveryReport report;
  const auto kept = reopen(dir.path(), &report);
  EXPECT_EQ(kept.size(), 3u);
  EXPECT_EQ(report.problem, SegmentProblem::bad_magic);
  EXPECT_EQ(report.damaged_segment, torn);
  EXPECT_EQ(report.dropped_bytes, 4u);
  EXPECT_FALSE(fs::exists(torn));
}

TEST(SegmentLogTest, TheReaderRefusesRecordsOutOfSeqOrder) {
  std::string bytes(segment_magic);
  encode_record(bytes, 5, "five");
  const std::size_t second = bytes.size();
  encode_record(bytes, 5, "five again");
  encode_record(bytes, 6, "six");
  std::vector<std::uint64_t> seen;
  const SegmentScan scan = scan_segment(bytes, 0, [&](std::uint64_t seq, std::string_view) { seen.push_back(seq); });
  EXPECT_EQ(scan.problem, SegmentProblem::bad_seq);
  EXPECT_EQ(scan.valid_bytes, second);
  EXPECT_EQ(seen, std::vector<std::uint64_t>{5});
  // And records must follow the previous segment's last seq.
  EXPECT_EQ(scan_segment(bytes, 5).problem, SegmentProblem::bad_seq);
  EXPECT_EQ(scan_segment(bytes, 5).valid_bytes, segment_magic.size());
}

// The writer as a child process (segment_log_writer), killed with SIGKILL
// while appending, three times over the same log: each time, every seq it
// printed as durable is there after recovery with its own payload, and the
// recovered records are the unbroken run 1..last.
TEST(SegmentLogTest, SigkillOfAWriterMidAppendLosesNothingAcknowledged) {
  TemporaryDirectory dir;
  const fs::path log_dir = dir / "log";
  std::uint64_t acknowledged = 0;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::dup2(pipe_fds[1], STDOUT_FILENO);
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
      ::execl(SEGMENT_LOG_WRITER, SEGMENT_LOG_WRITER, log_dir.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
    // Read acknowledgements until a few thousand more records are durable,
    // then kill the writer wherever it is.
    std::string pending;
    const std::uint64_t wanted = acknowledged + 3000;
    std::uint64_t round_acknowledged = acknowledged;
    char buffer[4096];
    bool killed = false;
    while (true) {
      const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
      if (n <= 0) break;  // the writer died (killed below, or on its own: the checks then fail)
      pending.append(buffer, static_cast<std::size_t>(n));
      std::size_t newline;
      while ((newline = pending.find('\n')) != std::string::npos) {
        round_acknowledged = std::max<std::uint64_t>(round_acknowledged, std::stoull(pending.substr(0, newline)));
        pending.erase(0, newline + 1);
      }
      if (!killed && round_acknowledged >= wanted) {
        ::kill(child, SIGKILL);
        killed = true;  // keep reading what it printed before it died
      }
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the writer exited on its own: " << status;
    acknowledged = round_acknowledged;

    RecoveryReport report;
    const auto records = reopen(log_dir, &report);
    ASSERT_GE(report.last_seq, acknowledged) << report.describe();
    ASSERT_EQ(records.size(), report.last_seq);
    for (std::size_t i = 0; i < records.size(); ++i) {
      ASSERT_EQ(records[i].seq, i + 1);
      const std::string prefix = "record " + std::to_string(i + 1) + " ";
      ASSERT_EQ(records[i].payload.substr(0, prefix.size()), prefix);
    }
  }
}

}  // namespace
}  // namespace icegate::store

// An append-only log of records in segment files, for the gateway's hot path
// (docs/adr/0005-store-for-the-hot-path.md): what is appended is durable once its
// callback says so, at one fdatasync per group of appends, and the next group
// is written while the previous one is being synced (a pipelined group commit).
//
// On disk, DIR holds segment files NNNNNNNNNNNNNNNN.seg (16 hex digits, in
// order). Each starts with the 8-byte magic "ICEGLOG1", then records:
//
//   u32 payload length | u32 CRC-32 | u64 seq | payload      (little-endian)
//
// The CRC (zlib's crc32) covers the length, the seq and the payload, so a
// damaged length is caught like damaged content. Seqs start at 1 and only
// increase (compaction leaves gaps, never reorders).
//
// Opening the log recovers it: every segment is read in order, and the first
// record that is incomplete, fails its checksum or breaks the seq order ends
// the log there. That segment is cut at the record's offset, any later
// segment is removed, and recovery() says what was dropped and where.
//
// One process at a time: opening takes an exclusive lock (flock(2)) on
// DIR/LOCK, held until the log is destroyed; a second opener gets
// SegmentLogLocked. The kernel drops the lock when the process dies, SIGKILL
// included.
//
// Failures. A write that fails (the disk is full, an I/O error at write) is
// cut off again (the segment truncated back to where the write began), its
// appends fail, and so does every append queued after it, until resume():
// those were made on top of what never became durable. Appends queued after
// resume() are written again. A failed fdatasync fails the log for good: the
// kernel may have dropped the dirty pages, so nothing after it can be trusted,
// and every append fails until the log is reopened.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace icegate::store {

class SegmentLogError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// DIR is open in another process (or another SegmentLog of this one).
class SegmentLogLocked : public SegmentLogError {
 public:
  using SegmentLogError::SegmentLogError;
};

inline constexpr std::string_view segment_magic = "ICEGLOG1";
inline constexpr std::size_t segment_record_header_bytes = 16;
// A longer length field is taken for damage, not for a record.
inline constexpr std::uint32_t segment_max_payload_bytes = 64u << 20;

// Why a segment's records end before its last byte.
enum class SegmentProblem {
  none,
  bad_magic,          // the file does not start with "ICEGLOG1" (or is shorter)
  truncated_header,   // fewer than 16 bytes left for a record's header
  bad_length,         // the length field is over segment_max_payload_bytes
  truncated_payload,  // the payload runs past the end of the file
  bad_checksum,       // the CRC does not match the header and payload
  bad_seq,            // seq 0, or not after the previous record's
};
std::string_view to_string(SegmentProblem problem);

// Appends one encoded record to `out`.
void encode_record(std::string& out, std::uint64_t seq, std::string_view payload);

// What reading one segment file's bytes found: the records from the start up
// to the first problem. `valid_bytes` is where that problem starts (the whole
// size when there is none).
struct SegmentScan {
  std::uint64_t valid_bytes = 0;
  std::uint64_t records = 0;
  std::uint64_t first_seq = 0;  // 0: no records
  std::uint64_t last_seq = 0;
  SegmentProblem problem = SegmentProblem::none;
};

// The recovery reader: reads a whole segment file's bytes, handing each good
// record to `visit` (if set), and stops at the first problem. Records must
// have seqs above `after_seq` (the previous segment's last). Never throws on
// any input.
SegmentScan scan_segment(std::string_view file_bytes, std::uint64_t after_seq,
                         const std::function<void(std::uint64_t seq, std::string_view payload)>& visit = {});

// What opening the log kept and dropped.
struct RecoveryReport {
  std::uint64_t records = 0;   // kept
  std::uint64_t last_seq = 0;  // the last kept record's seq (0: none)
  std::uint64_t segments = 0;  // kept
  // Where the damage was, if any: everything from there on was dropped.
  SegmentProblem problem = SegmentProblem::none;
  std::filesystem::path damaged_segment;
  std::uint64_t damaged_offset = 0;
  std::uint64_t dropped_bytes = 0;  // cut from that segment, plus every later segment's size
  std::vector<std::filesystem::path> removed_segments;  // later segments, removed whole
  bool clean() const { return problem == SegmentProblem::none; }
  // e.g. "0000000000000003.seg at byte 4096: bad_checksum; dropped 5120 bytes and 1 later segment(s)"
  std::string describe() const;
};

struct SegmentLogOptions {
  std::uint64_t segment_bytes = 64u << 20;  // a new segment once the current one has this many
  std::size_t max_batch_bytes = 8u << 20;   // one write() at most (a single larger append is written alone)
  // false: no fdatasync (`icegate serve --no-fsync`): appends survive a crash
  // of the process, not of the machine.
  bool sync = true;
  // The first seq to give, at least: a log whose segments were all dropped
  // (their records applied elsewhere) must not give those seqs again.
  std::uint64_t first_seq = 1;
};

// Whether appends are being taken.
struct SegmentLogHealth {
  bool failed = false;    // a sync failed: nothing is taken until the log is reopened
  bool refusing = false;  // a write failed: nothing is taken until resume()
  std::string why;        // the last failure, e.g. "writing DIR/0000000000000001.seg: No space left on device (the disk is full)"
};

struct SegmentLogStats {
  std::uint64_t appends = 0;      // append() calls made durable
  std::uint64_t records = 0;
  std::uint64_t writes = 0;       // batches written
  std::uint64_t syncs = 0;        // fdatasyncs that made appends durable
  std::uint64_t bytes = 0;        // record bytes written
};

// A sealed segment: no longer appended to.
struct SegmentInfo {
  std::filesystem::path file;
  std::uint64_t first_seq = 0;  // 0: holds no records
  std::uint64_t last_seq = 0;
  std::uint64_t bytes = 0;
};

class SegmentLog {
 public:
  // ok is false if the write or the sync failed: the records may be lost, and
  // every later append fails too (the log is then unusable until reopened).
  using Durable = std::function<void(bool ok, std::uint64_t last_seq)>;
  using Visit = std::function<void(std::uint64_t seq, std::string_view payload)>;

  // Opens DIR (creating it), recovers it as described above, handing each kept
  // record to `visit` in seq order, and starts a new segment for appends.
  // Throws SegmentLogError naming the file on an I/O error.
  explicit SegmentLog(std::filesystem::path dir, SegmentLogOptions options = {}, const Visit& visit = {});
  // Waits until everything appended is durable (or failed).
  ~SegmentLog();
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;

  const RecoveryReport& recovery() const { return recovery_; }

  // Queues records under consecutive seqs and returns the first. `done` runs
  // on the log's sync thread once an fdatasync has covered all of them, in
  // append order. Thread-safe.
  std::uint64_t append(std::vector<std::string> payloads, Durable done);
  // Waits until everything appended so far is durable (or failed).
  void flush();
  // After a failed write: appends queued from now on are written again
  // (those queued before still fail). Does nothing after a failed sync.
  void resume();
  SegmentLogHealth health() const;

  // TEST HOOKS, never called by the gateway's configuration or command line:
  // the next `writes` writes fail after they ran (cut off again, as a full
  // disk's would be), and the next `syncs` fdatasyncs count as failed, with
  // `why` as the failure.
  void inject_write_failure(int writes, std::string why);
  void inject_sync_failure(int syncs, std::string why);

  SegmentLogStats stats() const;
  // Sealed segments, oldest first.
  std::vector<SegmentInfo> sealed_segments() const;
  // Removes the sealed segments whose records all have seqs below `seq`;
  // returns how many.
  std::size_t drop_before(std::uint64_t seq);
  // Rewrites a sealed segment with only the records `keep` returns true for,
  // same seqs (written to a new file, synced, then renamed over the old one);
  // a segment left with no records is removed. Returns the bytes it now holds.
  std::uint64_t compact(const SegmentInfo& segment, const std::function<bool(std::uint64_t, std::string_view)>& keep);

  const std::filesystem::path& directory() const { return dir_; }

 private:
  struct Pending {
    std::uint64_t last_seq = 0;
    std::vector<std::string> payloads;
    Durable done;
  };
  struct Written {
    std::uint64_t last_seq = 0;
    std::size_t records = 0;
    Durable done;
    bool ok = true;  // false: refused, or its write failed
  };

  void lock_directory();
  void recover(const Visit& visit);
  void open_new_segment();
  void writer_loop();
  void syncer_loop();

  std::filesystem::path dir_;
  SegmentLogOptions options_;
  RecoveryReport recovery_;
  int lock_fd_ = -1;  // DIR/LOCK, flock'ed while the log is open

  // Only the writer thread touches these (and the constructor, before it starts).
  int fd_ = -1;
  std::uint64_t segment_number_ = 0;
  std::uint64_t segment_size_ = 0;
  std::uint64_t segment_first_seq_ = 0;
  std::uint64_t segment_last_seq_ = 0;
  std::string buffer_;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable queued_;      // writer: appends to write, or stopping
  std::condition_variable written_;     // syncer: batches to sync, or stopping
  std::condition_variable durable_;     // flush(), and the writer waiting to roll a segment
  std::deque<Pending> queue_;
  std::deque<Written> to_sync_;
  bool syncing_ = false;
  bool stopping_ = false;
  bool writer_done_ = false;
  bool failed_ = false;             // a sync failed: for good
  std::uint64_t refuse_below_ = 0;  // appends whose first seq is below this are refused (a write failed)
  std::string why_;                 // the last failure
  int inject_write_ = 0;
  int inject_sync_ = 0;
  std::string inject_write_why_, inject_sync_why_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t durable_seq_ = 0;  // every seq up to here is durable (or failed)
  std::vector<SegmentInfo> sealed_;
  SegmentLogStats stats_;

  std::thread writer_;
  std::thread syncer_;
};

}  // namespace icegate::store

#include "gateway/store/segment_log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <iterator>

#include <fmt/format.h>

namespace icegate::store {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view segment_suffix = ".seg";
constexpr std::string_view compact_suffix = ".compact";

void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}
void put_u64(std::string& out, std::uint64_t value) {
  for (int shift = 0; shift < 64; shift += 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}
std::uint32_t get_u32(const unsigned char* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}
std::uint64_t get_u64(const unsigned char* p) {
  return std::uint64_t{get_u32(p)} | std::uint64_t{get_u32(p + 4)} << 32;
}

// CRC-32 over the length field, then the seq and payload (which follow the CRC field).
std::uint32_t record_crc(const unsigned char* length_field, const unsigned char* seq_and_payload, std::size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, length_field, 4);
  crc = crc32(crc, seq_and_payload, static_cast<uInt>(size));
  return static_cast<std::uint32_t>(crc);
}

std::string errno_text() { return std::strerror(errno); }

void write_all(int fd, std::string_view bytes, const fs::path& file) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const bool full = errno == ENOSPC;
      throw SegmentLogError(
          fmt::format("writing {}: {}{}", file.string(), errno_text(), full ? " (the disk is full)" : ""));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void sync_file(int fd, const fs::path& file) {
  if (::fdatasync(fd) != 0) throw SegmentLogError(fmt::format("syncing {}: {}", file.string(), errno_text()));
}

// A created, renamed or removed file survives a crash only once its directory is synced.
void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw SegmentLogError(fmt::format("opening {}: {}", dir.string(), errno_text()));
  const int rc = ::fsync(fd);
  const std::string why = rc != 0 ? errno_text() : std::string();
  ::close(fd);
  if (rc != 0) throw SegmentLogError(fmt::format("syncing {}: {}", dir.string(), why));
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw SegmentLogError(fmt::format("cannot read {}", file.string()));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// "0000000000000001.seg" -> 1; anything else -> 0 (segment numbers start at 1).
std::uint64_t segment_number(const fs::path& file) {
  const std::string name = file.filename().string();
  if (name.size() != 16 + segment_suffix.size() || !name.ends_with(segment_suffix)) return 0;
  std::uint64_t number = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    const char c = name[i];
    int digit;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else return 0;
    number = number << 4 | static_cast<std::uint64_t>(digit);
  }
  return number;
}

fs::path segment_path(const fs::path& dir, std::uint64_t number) {
  return dir / fmt::format("{:016x}{}", number, segment_suffix);
}

}  // namespace

std::string_view to_string(SegmentProblem problem) {
  switch (problem) {
    case SegmentProblem::none: return "none";
    case SegmentProblem::bad_magic: return "bad_magic";
    case SegmentProblem::truncated_header: return "truncated_header";
    case SegmentProblem::bad_length: return "bad_length";
    case SegmentProblem::truncated_payload: return "truncated_payload";
    case SegmentProblem::bad_checksum: return "bad_checksum";
    case SegmentProblem::bad_seq: return "bad_seq";
  }
  return "unknown";
}

void encode_record(std::string& out, std::uint64_t seq, std::string_view payload) {
  const std::size_t start = out.size();
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  put_u32(out, 0);  // the CRC, filled in below
  put_u64(out, seq);
  out.append(payload);
  auto* base = reinterpret_cast<unsigned char*>(out.data() + start);
  const std::uint32_t crc = record_crc(base, base + 8, 8 + payload.size());
  for (int i = 0; i < 4; ++i) base[4 + i] = static_cast<unsigned char>((crc >> (8 * i)) & 0xff);
}

SegmentScan scan_segment(std::string_view file_bytes, std::uint64_t after_seq,
                         const std::function<void(std::uint64_t, std::string_view)>& visit) {
  SegmentScan scan;
  if (file_bytes.size() < segment_magic.size() || file_bytes.substr(0, segment_magic.size()) != segment_magic) {
    scan.problem = SegmentProblem::bad_magic;
    return scan;
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(file_bytes.data());
  const std::size_t size = file_bytes.size();
  std::size_t position = segment_magic.size();
  std::uint64_t previous = after_seq;
  while (position < size) {
    const std::size_t left = size - position;
    if (left < segment_record_header_bytes) {
      scan.problem = SegmentProblem::truncated_header;
      break;
    }
    const unsigned char* header = bytes + position;
    const std::uint32_t length = get_u32(header);
    if (length > segment_max_payload_bytes) {
      scan.problem = SegmentProblem::bad_length;
      break;
    }
    if (left - segment_record_header_bytes < length) {
      scan.problem = SegmentProblem::truncated_payload;
      break;
    }
    if (record_crc(header, header + 8, 8 + std::size_t{length}) != get_u32(header + 4)) {
      scan.problem = SegmentProblem::bad_checksum;
      break;
    }
    const std::uint64_t seq = get_u64(header + 8);
    if (seq == 0 || seq <= previous) {
      scan.problem = SegmentProblem::bad_seq;
      break;
    }
    if (visit) visit(seq, file_bytes.substr(position + segment_record_header_bytes, length));
    if (scan.records++ == 0) scan.first_seq = seq;
    scan.last_seq = previous = seq;
    position += segment_record_header_bytes + length;
  }
  scan.valid_bytes = position;
  return scan;
}

std::string RecoveryReport::describe() const {
  if (clean()) return fmt::format("clean: {} record(s) in {} segment(s)", records, segments);
  return fmt::format("{} at byte {}: {}; dropped {} byte(s) and {} later segment(s); kept {} record(s) up to seq {}",
                     damaged_segment.filename().string(), damaged_offset, to_string(problem), dropped_bytes,
                     removed_segments.size(), records, last_seq);
}

SegmentLog::SegmentLog(fs::path dir, SegmentLogOptions options, const Visit& visit)
    : dir_(std::move(dir)), options_(options) {
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error) throw SegmentLogError(fmt::format("cannot create {}: {}", dir_.string(), error.message()));
  lock_directory();
  try {
    recover(visit);
  } catch (const fs::filesystem_error& e) {  // listing, sizing or removing a file
    ::close(lock_fd_);
    throw SegmentLogError(fmt::format("recovering {}: {}", dir_.string(), e.what()));
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
  try {
    open_new_segment();
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
  writer_ = std::thread([this] { writer_loop(); });
  syncer_ = std::thread([this] { syncer_loop(); });
}

SegmentLog::~SegmentLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  writer_.join();
  syncer_.join();
  if (fd_ >= 0) ::close(fd_);
  ::close(lock_fd_);  // and with it the lock
}

void SegmentLog::lock_directory() {
  const fs::path file = dir_ / "LOCK";
  lock_fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw SegmentLogError(fmt::format("opening {}: {}", file.string(), errno_text()));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (error == EWOULDBLOCK)
      throw SegmentLogLocked(fmt::format("{} is open in another process (locked: {})", dir_.string(), file.string()));
    throw SegmentLogError(fmt::format("locking {}: {}", file.string(), std::strerror(error)));
  }
}

void SegmentLog::recover(const Visit& visit) {
  std::vector<fs::path> segments;
  bool changed = false;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const fs::path& file = entry.path();
    if (file.extension() == compact_suffix) {  // a compaction that did not finish: the original is intact
      fs::remove(file);
      changed = true;
    } else if (segment_number(file) != 0) {
      segments.push_back(file);
    }
  }
  std::sort(segments.begin(), segments.end());

  std::uint64_t last_seq = 0;
  bool damaged = false;
  for (const auto& file : segments) {
    if (damaged) {
      recovery_.dropped_bytes += fs::file_size(file);
      recovery_.removed_segments.push_back(file);
      fs::remove(file);
      changed = true;
      continue;
    }
    const std::string bytes = read_file(file);
    const SegmentScan scan = scan_segment(bytes, last_seq, visit);
    segment_number_ = segment_number(file);
    recovery_.records += scan.records;
    if (scan.records > 0) last_seq = scan.last_seq;
    if (scan.problem != SegmentProblem::none) {
      damaged = true;
      changed = true;
      recovery_.problem = scan.problem;
      recovery_.damaged_segment = file;
      recovery_.damaged_offset = scan.valid_bytes;
      recovery_.dropped_bytes += bytes.size() - scan.valid_bytes;
      if (scan.problem == SegmentProblem::bad_magic) {  // not a segment of ours, or its creation was torn
        fs::remove(file);
        continue;
      }
      const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(scan.valid_bytes)) != 0 || ::fdatasync(fd) != 0) {
        const std::string why = errno_text();
        if (fd >= 0) ::close(fd);
        throw SegmentLogError(fmt::format("cutting the damaged tail of {} at byte {}: {}", file.string(),
                                          scan.valid_bytes, why));
      }
      ::close(fd);
    }
    sealed_.push_back({file, scan.first_seq, scan.last_seq, scan.valid_bytes});
    recovery_.segments += 1;
  }
  if (changed) sync_directory(dir_);
  recovery_.last_seq = last_seq;
  next_seq_ = std::max(last_seq + 1, options_.first_seq);
  durable_seq_ = next_seq_ - 1;
}

void SegmentLog::open_new_segment() {
  const std::uint64_t number = segment_number_ + 1;
  const fs::path file = segment_path(dir_, number);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw SegmentLogError(fmt::format("creating {}: {}", file.string(), errno_text()));
  try {
    write_all(fd, segment_magic, file);
    sync_file(fd, file);
    sync_directory(dir_);
  } catch (...) {
    ::close(fd);
    throw;
  }
  std::lock_guard lock(mutex_);
  if (fd_ >= 0) {
    ::close(fd_);
    sealed_.push_back({segment_path(dir_, segment_number_), segment_first_seq_, segment_last_seq_, segment_size_});
  }
  fd_ = fd;
  segment_number_ = number;
  segment_size_ = segment_magic.size();
  segment_first_seq_ = 0;
  segment_last_seq_ = 0;
}

std::uint64_t SegmentLog::append(std::vector<std::string> payloads, Durable done) {
  std::uint64_t first;
  {
    std::lock_guard lock(mutex_);
    first = next_seq_;
    next_seq_ += payloads.size();
    queue_.push_back({next_seq_ - 1, std::move(payloads), std::move(done)});
  }
  queued_.notify_one();
  return first;
}

void SegmentLog::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = next_seq_ - 1;
  durable_.wait(lock, [&] { return durable_seq_ >= target; });
}

SegmentLogStats SegmentLog::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::vector<SegmentInfo> SegmentLog::sealed_segments() const {
  std::lock_guard lock(mutex_);
  return sealed_;
}

void SegmentLog::resume() {
  std::lock_guard lock(mutex_);
  if (failed_) return;
  refuse_below_ = next_seq_;
}

SegmentLogHealth SegmentLog::health() const {
  std::lock_guard lock(mutex_);
  return {failed_, refuse_below_ == std::numeric_limits<std::uint64_t>::max(), why_};
}

void SegmentLog::inject_write_failure(int writes, std::string why) {
  std::lock_guard lock(mutex_);
  inject_write_ = writes;
  inject_write_why_ = std::move(why);
}

void SegmentLog::inject_sync_failure(int syncs, std::string why) {
  std::lock_guard lock(mutex_);
  inject_sync_ = syncs;
  inject_sync_why_ = std::move(why);
}

void SegmentLog::writer_loop() {
  while (true) {
    std::vector<Pending> batch;
    std::vector<bool> take;  // per pending: written (true) or refused
    std::size_t batch_bytes = 0;
    bool failed;
    {
      std::unique_lock lock(mutex_);
      queued_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) break;
      while (!queue_.empty()) {
        std::size_t bytes = 0;
        for (const auto& payload : queue_.front().payloads) bytes += segment_record_header_bytes + payload.size();
        if (!batch.empty() && batch_bytes + bytes > options_.max_batch_bytes) break;
        // Queued before the last resume() after a failed write: made on top
        // of what that write lost, so refused unwritten.
        const std::uint64_t first = queue_.front().last_seq + 1 - queue_.front().payloads.size();
        const bool refused = first < refuse_below_;
        if (!refused) batch_bytes += bytes;
        take.push_back(!refused);
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      failed = failed_;
    }
    std::string why;
    bool write_failed = false;
    bool broken = false;
    const bool any = std::find(take.begin(), take.end(), true) != take.end();
    buffer_.clear();
    if (!failed && any) {
      const std::uint64_t size_before = segment_size_;
      const std::uint64_t first_before = segment_first_seq_, last_before = segment_last_seq_;
      bool rolled = false;
      try {
        // A new segment only once the current one is durable: the syncer
        // syncs one file, and the sealed segment is then complete on disk.
        if (segment_size_ > segment_magic.size() && segment_size_ + batch_bytes > options_.segment_bytes) {
          std::unique_lock lock(mutex_);
          durable_.wait(lock, [this] { return to_sync_.empty() && !syncing_; });
          lock.unlock();
          rolled = true;
          open_new_segment();
          rolled = false;
        }
        buffer_.clear();
        for (std::size_t i = 0; i < batch.size(); ++i) {
          if (!take[i]) continue;
          std::uint64_t seq = batch[i].last_seq + 1 - batch[i].payloads.size();
          if (segment_first_seq_ == 0 && !batch[i].payloads.empty()) segment_first_seq_ = seq;
          for (const auto& payload : batch[i].payloads) encode_record(buffer_, seq++, payload);
          if (!batch[i].payloads.empty()) segment_last_seq_ = seq - 1;
        }
        write_all(fd_, buffer_, segment_path(dir_, segment_number_));
        {
          std::lock_guard lock(mutex_);
          if (inject_write_ > 0) {
            --inject_write_;
            throw SegmentLogError(inject_write_why_);
          }
        }
        segment_size_ += buffer_.size();
      } catch (const SegmentLogError& e) {
        why = e.what();
        write_failed = true;
        if (rolled) {
          broken = true;  // a new segment could not be made: the directory's state is unknown
        } else {
          // Cut off whatever part of the write reached the file, so that
          // nothing of it is read back after a restart.
          segment_first_seq_ = first_before;
          segment_last_seq_ = last_before;
          if (::ftruncate(fd_, static_cast<off_t>(size_before)) != 0) {
            why += fmt::format("; cutting {} back to {} bytes failed too: {}",
                               segment_path(dir_, segment_number_).string(), size_before, errno_text());
            broken = true;
          }
        }
      }
    }
    {
      std::lock_guard lock(mutex_);
      if (write_failed) {
        why_ = why;
        refuse_below_ = std::numeric_limits<std::uint64_t>::max();
        if (broken) failed_ = true;
      }
      for (std::size_t i = 0; i < batch.size(); ++i)
        to_sync_.push_back({batch[i].last_seq, batch[i].payloads.size(), std::move(batch[i].done),
                            take[i] && !write_failed && !failed});
      stats_.writes += 1;
      if (!failed && !write_failed) stats_.bytes += buffer_.size();
    }
    written_.notify_one();
  }
  {
    std::lock_guard lock(mutex_);
    writer_done_ = true;
  }
  written_.notify_one();
}

void SegmentLog::syncer_loop() {
  while (true) {
    std::deque<Written> work;
    int fd;
    bool failed;
    {
      std::unique_lock lock(mutex_);
      written_.wait(lock, [this] { return !to_sync_.empty() || writer_done_; });
      if (to_sync_.empty()) break;
      work.swap(to_sync_);
      syncing_ = true;
      fd = fd_;
      failed = failed_;
    }
    // One fdatasync for everything written since the last one; meanwhile the
    // writer forms and writes the next batch.
    const bool wrote = std::any_of(work.begin(), work.end(), [](const Written& w) { return w.ok; });
    std::string why;
    bool synced = false;
    if (!failed && wrote && options_.sync) {
      if (::fdatasync(fd) != 0) {
        why = fmt::format("syncing {}: {}", dir_.string(), errno_text());
        failed = true;
      } else {
        synced = true;
      }
    }
    if (synced) {
      std::lock_guard lock(mutex_);
      if (inject_sync_ > 0) {
        --inject_sync_;
        why = inject_sync_why_;
        failed = true;
      }
    }
    if (failed && !why.empty()) {
      std::lock_guard lock(mutex_);
      failed_ = true;
      why_ = why;
    }
    std::size_t records = 0;
    for (auto& written : work) {
      records += written.records;
      if (written.done) written.done(!failed && written.ok, written.last_seq);
    }
    {
      std::lock_guard lock(mutex_);
      syncing_ = false;
      durable_seq_ = work.back().last_seq;
      stats_.appends += work.size();
      stats_.records += records;
      if (synced && !failed) stats_.syncs += 1;
    }
    durable_.notify_all();
  }
}

std::size_t SegmentLog::drop_before(std::uint64_t seq) {
  std::vector<fs::path> doomed;
  {
    std::lock_guard lock(mutex_);
    auto end = sealed_.begin();
    while (end != sealed_.end() && end->last_seq < seq) ++end;
    for (auto it = sealed_.begin(); it != end; ++it) doomed.push_back(it->file);
    sealed_.erase(sealed_.begin(), end);
  }
  for (const auto& file : doomed) fs::remove(file);
  if (!doomed.empty()) sync_directory(dir_);
  return doomed.size();
}

std::uint64_t SegmentLog::compact(const SegmentInfo& segment,
                                  const std::function<bool(std::uint64_t, std::string_view)>& keep) {
  const std::string bytes = read_file(segment.file);
  std::string kept(segment_magic);
  std::uint64_t first = 0, last = 0;
  scan_segment(bytes, 0, [&](std::uint64_t seq, std::string_view payload) {
    if (!keep(seq, payload)) return;
    encode_record(kept, seq, payload);
    if (first == 0) first = seq;
    last = seq;
  });
  auto update = [&](std::uint64_t size) {
    std::lock_guard lock(mutex_);
    for (auto it = sealed_.begin(); it != sealed_.end(); ++it) {
      if (it->file != segment.file) continue;
      if (size == 0) {
        sealed_.erase(it);
      } else {
        it->first_seq = first;
        it->last_seq = last;
        it->bytes = size;
      }
      break;
    }
  };
  if (first == 0) {
    fs::remove(segment.file);
    sync_directory(dir_);
    update(0);
    return 0;
  }
  fs::path temporary = segment.file;
  temporary += compact_suffix;
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw SegmentLogError(fmt::format("creating {}: {}", temporary.string(), errno_text()));
  try {
    write_all(fd, kept, temporary);
    sync_file(fd, temporary);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  fs::rename(temporary, segment.file);
  sync_directory(dir_);
  update(kept.size());
  return kept.size();
}

}  // namespace icegate::store

// Small helpers the peer targets need: a child process, /proc readings, a
// latency histogram, free loopback ports and the open-file limit. They are
// private to tools/bench/peers until the bench library has shared ones; each
// is small on purpose so that it can be swapped for the shared version.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace icegate::bench::peers {

// A server started as a child process, its output in a log file. Stopping
// sends SIGTERM, waits for it to exit, and only then SIGKILL.
class ChildProcess {
 public:
  // Throws std::runtime_error naming the program when it cannot be started.
  ChildProcess(const std::filesystem::path& program, const std::vector<std::string>& arguments,
               const std::filesystem::path& log_file);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // False once the process has exited (reaps it).
  bool running();
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status as
  // waitpid reports it, or -1 when it had already been reaped.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  const std::filesystem::path& log_file() const { return log_file_; }
  // The last `bytes` of the log, for error messages.
  std::string log_tail(std::size_t bytes = 2000) const;

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::filesystem::path log_file_;
};

// Waits until something accepts TCP connections on 127.0.0.1:port, or throws
// (naming the server and quoting its log) when the child exits or `timeout` passes.
void wait_until_accepting(ChildProcess& server, const std::string& server_name, std::uint16_t port,
                          std::chrono::milliseconds timeout = std::chrono::seconds(15));

// The full path of an installed program: each directory of PATH, then /usr/sbin
// and /usr/local/sbin (where Debian puts mosquitto and nats-server, and which
// are not on an ordinary user's PATH). Empty when it is not installed.
std::filesystem::path find_program(const std::string& name);

// A port that was free on 127.0.0.1 a moment ago (bind to port 0, read it back).
std::uint16_t free_loopback_port();

// What /proc says about a process right now.
struct ProcessUsage {
  double cpu_seconds = 0;        // utime + stime
  std::uint64_t rss_bytes = 0;   // VmRSS
  std::uint64_t peak_rss_bytes = 0;  // VmHWM
};
// Throws std::runtime_error when /proc/PID cannot be read.
ProcessUsage read_process_usage(pid_t pid);

// Raises this process's soft (and, if needed and permitted, hard) limit on open
// files to at least `wanted`. Returns the soft limit now in force, which may be
// less than asked for; children started afterwards inherit it.
std::size_t raise_open_file_limit(std::size_t wanted);

// Latencies in nanoseconds, log-linear buckets (32 per power of two, so a
// reported percentile is within about 3% of the true value). Recording is
// lock-free and safe from several threads.
class LatencyHistogram {
 public:
  void record(std::int64_t nanoseconds);
  void reset();
  std::uint64_t count() const;
  // The value at quantile q (0 < q <= 1), in nanoseconds; 0 when empty.
  double quantile_ns(double q) const;

  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t bucket_low(std::size_t bucket);
  static std::uint64_t bucket_high(std::size_t bucket);  // inclusive
  static constexpr std::size_t bucket_count = 64 + 58 * 32;

 private:
  std::array<std::atomic<std::uint64_t>, bucket_count> buckets_{};
};

// steady_clock now, in nanoseconds since its epoch (what payloads carry).
std::int64_t steady_now_ns();

}  // namespace icegate::bench::peers

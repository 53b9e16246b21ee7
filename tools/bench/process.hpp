// Child processes for `icegate-bench`: every server under test (the gateway,
// the relay, the peer brokers) runs as a child of the bench, so that its CPU
// time and memory can be read from /proc/PID for that process alone.
//
// A ChildProcess is always reaped: stop() (also run by the destructor) sends
// SIGTERM, waits, then SIGKILL, and waitpid()s the child, so no run leaves a
// zombie or a server holding a port behind it. Should the bench itself die
// first, the kernel sends the child SIGTERM (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace icegate::bench {

// CPU and memory of one process at one moment, from /proc/PID/stat and
// /proc/PID/status.
struct ProcessSample {
  double cpu_seconds = 0;          // utime + stime, all threads
  std::uint64_t rss_bytes = 0;     // VmRSS
  std::uint64_t peak_rss_bytes = 0;  // VmHWM
};

// nullopt when the process is gone or /proc cannot be read.
std::optional<ProcessSample> sample_process(pid_t pid);

// The bench process itself (getrusage): the load generator's CPU time.
double own_cpu_seconds();

// Raises the soft limit on open files (children inherit it) to the hard limit,
// or with `wanted` to at least `wanted`: above the hard limit it first tries to
// raise both limits (permitted with CAP_SYS_RESOURCE). Returns the soft limit
// now in force, which may be less than `wanted`.
std::uint64_t raise_open_file_limit(std::uint64_t wanted = 0);

// The full path of an installed program: each directory of PATH, then /usr/sbin
// and /usr/local/sbin (where Debian puts mosquitto and nats-server, and which
// are not on an ordinary user's PATH). Empty when it is not installed.
std::filesystem::path find_program(const std::string& name);

class ChildProcess {
 public:
  ChildProcess() = default;
  // Starts `argv[0]` (a path, or a bare name looked up in PATH) with stdout and stderr appended
  // to `log_file`. Throws std::runtime_error naming the program on failure.
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log_file);
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();  // reaps the child if it has exited
  // The exit status once reaped (as from waitpid), else nullopt.
  std::optional<int> exit_status() const { return status_; }
  // "exited with status 3" / "killed by signal 9" / "running".
  std::string describe_status() const;
  // sample_process(pid()), or std::runtime_error naming the pid and status
  // when /proc cannot be read (the child has gone).
  ProcessSample sample();

  // Waits until `port_file` holds a port number (servers write it, by rename,
  // once they are listening). Throws std::runtime_error (with the tail of the
  // log) when the child exits first or `timeout` passes.
  std::uint16_t wait_for_port_file(const std::filesystem::path& port_file, std::chrono::milliseconds timeout);
  // Waits until 127.0.0.1:port accepts a TCP connection (for servers that are
  // told their port rather than writing it).
  void wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout);

  // SIGTERM, up to `grace` for the child to exit, then SIGKILL; always reaps.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

 private:
  void fail_start(const std::string& what);
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_file_;
};

// The last `lines` lines of a text file (for error messages about a child).
std::string tail_of_file(const std::filesystem::path& file, std::size_t lines = 20);

// A free TCP port on 127.0.0.1 (bound, then released: for servers that must
// be told a port; racy in principle, fine on a bench machine).
std::uint16_t pick_free_port();

}  // namespace icegate::bench

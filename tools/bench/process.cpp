#include "tools/bench/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <fmt/format.h>


namespace icegate::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string read_whole(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// "VmRSS:     1234 kB" -> bytes.
std::uint64_t status_kilobytes(const std::string& status, std::string_view key) {
  const auto at = status.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(status.c_str() + at + key.size(), nullptr, 10) * 1024;
}

bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::optional<ProcessSample> sample_process(pid_t pid) {
  const fs::path proc = fs::path("/proc") / std::to_string(pid);
  const std::string stat = read_whole(proc / "stat");
  const std::string status = read_whole(proc / "status");
  if (stat.empty() || status.empty()) return std::nullopt;
  // The command name (field 2) is in parentheses and may hold spaces: count
  // fields from the last ')'. utime and stime are fields 14 and 15.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  ProcessSample sample;
  sample.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks);
  sample.rss_bytes = status_kilobytes(status, "VmRSS:");
  sample.peak_rss_bytes = status_kilobytes(status, "VmHWM:");
  return sample;
}

double own_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::uint64_t raise_open_file_limit(std::uint64_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur >= wanted && wanted > 0) return limit.rlim_cur;
  if (limit.rlim_max < wanted) {
    const rlimit raised{wanted, wanted};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return wanted;
  }
  const rlim_t target = wanted > 0 && wanted < limit.rlim_max ? wanted : limit.rlim_max;
  if (limit.rlim_cur < target) {
    limit.rlim_cur = target;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

fs::path find_program(const std::string& name) {
  std::vector<fs::path> directories;
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest = path;
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const auto entry = rest.substr(0, colon);
      if (!entry.empty()) directories.emplace_back(entry);
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  directories.emplace_back("/usr/sbin");
  directories.emplace_back("/usr/local/sbin");
  for (const auto& directory : directories) {
    const auto candidate = directory / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const fs::path& log_file) : log_file_(log_file) {
  if (argv.empty()) throw std::runtime_error("no program to start");
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  const int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) throw std::runtime_error(fmt::format("cannot open {}: {}", log_file.string(), std::strerror(errno)));
  // A bare name ("valgrind", from a profiler wrapper) is looked up in PATH.
  const bool search = argv[0].find('/') == std::string::npos;
  // A pipe closed on exec tells the parent whether exec worked (and if not, errno).
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    ::close(log);
    throw std::runtime_error(fmt::format("cannot start {}: pipe: {}", argv[0], std::strerror(error)));
  }
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // The child: only async-signal-safe calls until exec. If the bench dies
    // (killed, or Ctrl-C), the kernel sends the server SIGTERM, so no run
    // leaves a server behind; the check covers a parent that died already.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    if (search) {
      ::execvp(args[0], args.data());
    } else {
      ::execv(args[0], args.data());
    }
    const int error = errno;
    const ssize_t ignored = ::write(status_pipe[1], &error, sizeof error);
    (void)ignored;
    ::_exit(127);
  }
  const int fork_error = pid_ < 0 ? errno : 0;
  ::close(status_pipe[1]);
  ::close(log);
  int error = fork_error;
  if (pid_ > 0) {
    int exec_error = 0;
    ssize_t got;
    while ((got = ::read(status_pipe[0], &exec_error, sizeof exec_error)) < 0 && errno == EINTR) {
    }
    if (got == sizeof exec_error) {
      error = exec_error;
      int ignored = 0;
      ::waitpid(pid_, &ignored, 0);
    }
  }
  ::close(status_pipe[0]);
  if (error != 0) {
    pid_ = -1;
    throw std::runtime_error(fmt::format("cannot start {}: {}", argv[0], std::strerror(error)));
  }
}

ChildProcess::~ChildProcess() { stop(); }

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), status_(other.status_), log_file_(std::move(other.log_file_)) {
  other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = other.pid_;
    status_ = other.status_;
    log_file_ = std::move(other.log_file_);
    other.pid_ = -1;
  }
  return *this;
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
  if (reaped == pid_) {
    status_ = status;
    pid_ = -1;
    return false;
  }
  return reaped == 0;
}

std::string ChildProcess::describe_status() const {
  if (!status_) return pid_ > 0 ? "running" : "not started";
  if (WIFEXITED(*status_)) return fmt::format("exited with status {}", WEXITSTATUS(*status_));
  if (WIFSIGNALED(*status_)) return fmt::format("killed by signal {}", WTERMSIG(*status_));
  return "stopped";
}

ProcessSample ChildProcess::sample() {
  auto sample = sample_process(pid_);
  if (!sample) throw std::runtime_error(fmt::format("cannot read /proc/{} (the server {})", pid_, describe_status()));
  return *sample;
}

void ChildProcess::fail_start(const std::string& what) {
  const std::string log = tail_of_file(log_file_);
  const std::string status = describe_status();
  stop();
  throw std::runtime_error(fmt::format("{} ({}); its log {}:\n{}", what, status, log_file_.string(), log));
}

std::uint16_t ChildProcess::wait_for_port_file(const fs::path& port_file, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (!running()) fail_start("the server exited before it was listening");
    std::ifstream in(port_file);
    unsigned port = 0;
    // Written (by rename) only once listening; no probe connection, which
    // the server would log and audit as a failed handshake.
    if (in >> port && port > 0 && port < 65536) return static_cast<std::uint16_t>(port);
    std::this_thread::sleep_for(20ms);
  }
  fail_start(fmt::format("the server did not write a port to {} within {} ms", port_file.string(), timeout.count()));
  return 0;
}

void ChildProcess::wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (!running()) fail_start("the server exited before it was listening");
    if (port_accepts(port)) return;
    std::this_thread::sleep_for(20ms);
  }
  fail_start(fmt::format("nothing accepted connections on 127.0.0.1:{} within {} ms", port, timeout.count()));
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < until) {
    if (!running()) return;
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = status;
  pid_ = -1;
}

std::string tail_of_file(const fs::path& file, std::size_t lines) {
  std::ifstream in(file);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string text;
  for (const auto& line : last) text += "  " + line + "\n";
  return text.empty() ? "  (empty)\n" : text;
}

std::uint16_t pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int error = errno;
    ::close(fd);
    throw std::runtime_error(fmt::format("cannot pick a free port: {}", std::strerror(error)));
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace icegate::bench

#include "tools/bench/peers/support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

extern char** environ;

namespace icegate::bench::peers {
namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

ChildProcess::ChildProcess(const std::filesystem::path& program,
                           const std::vector<std::string>& arguments,
                           const std::filesystem::path& log_file)
    : log_file_(log_file) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);

  std::vector<std::string> argv_strings;
  argv_strings.push_back(program.string());
  argv_strings.insert(argv_strings.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (auto& argument : argv_strings) argv.push_back(argument.data());
  argv.push_back(nullptr);

  const int error = posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + program.string() + ": " + std::strerror(error));
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) stop(std::chrono::seconds(5));
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
  return true;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return status_;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  status_ = status;
  return status_;
}

std::string ChildProcess::log_tail(std::size_t bytes) const {
  std::ifstream in(log_file_, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0));
  in.seekg(static_cast<std::streamoff>(size > bytes ? size - bytes : 0));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void wait_until_accepting(ChildProcess& server, const std::string& server_name, std::uint16_t port,
                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  while (true) {
    if (!server.running()) {
      throw std::runtime_error(server_name + " exited before accepting connections on 127.0.0.1:" +
                               std::to_string(port) + "; its log (" + server.log_file().string() +
                               ") ends:\n" + server.log_tail());
    }
    const int socket = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (socket < 0) throw std::runtime_error("socket: " + errno_text());
    const bool connected =
        ::connect(socket, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    ::close(socket);
    if (connected) return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(server_name + " did not accept connections on 127.0.0.1:" +
                               std::to_string(port) + " within " +
                               std::to_string(timeout.count()) + " ms; its log (" +
                               server.log_file().string() + ") ends:\n" + server.log_tail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::filesystem::path find_program(const std::string& name) {
  std::vector<std::filesystem::path> directories;
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

std::uint16_t free_loopback_port() {
  const int socket = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (socket < 0) throw std::runtime_error("socket: " + errno_text());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(socket, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const auto text = errno_text();
    ::close(socket);
    throw std::runtime_error("cannot find a free port on 127.0.0.1: " + text);
  }
  ::close(socket);
  return ntohs(address.sin_port);
}

ProcessUsage read_process_usage(pid_t pid) {
  ProcessUsage usage;
  const std::string base = "/proc/" + std::to_string(pid);
  {
    std::ifstream in(base + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The command name (field 2) may hold spaces and parentheses: fields are
    // counted from after its last ')'. utime and stime are fields 14 and 15.
    const auto close = text.rfind(')');
    if (text.empty()) throw std::runtime_error("cannot read " + base + "/stat");
    if (close == std::string::npos) throw std::runtime_error("unexpected format in " + base + "/stat");
    std::istringstream fields(text.substr(close + 1));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int index = 3; fields >> field; ++index) {
      if (index == 14) utime = std::stoull(field);
      if (index == 15) {
        stime = std::stoull(field);
        break;
      }
    }
    usage.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  std::ifstream status(base + "/status");
  if (!status) throw std::runtime_error("cannot read " + base + "/status");
  std::string line;
  while (std::getline(status, line)) {
    auto kilobytes = [&](std::string_view key) -> std::optional<std::uint64_t> {
      if (line.rfind(key, 0) != 0) return std::nullopt;
      return std::stoull(line.substr(key.size())) * 1024;
    };
    if (auto value = kilobytes("VmRSS:")) usage.rss_bytes = *value;
    if (auto value = kilobytes("VmHWM:")) usage.peak_rss_bytes = *value;
  }
  return usage;
}

std::size_t raise_open_file_limit(std::size_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur >= wanted) return limit.rlim_cur;
  if (limit.rlim_max < wanted) {
    rlimit raised{wanted, wanted};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return wanted;  // permitted (CAP_SYS_RESOURCE)
  }
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, wanted);
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

std::size_t LatencyHistogram::bucket_of(std::uint64_t value) {
  if (value < 64) return static_cast<std::size_t>(value);
  const int most_significant = 63 - std::countl_zero(value);
  const int shift = most_significant - 5;  // keep the top 6 bits: 32 sub-buckets
  const auto top = value >> shift;         // in [32, 64)
  return 64 + static_cast<std::size_t>(shift - 1) * 32 + static_cast<std::size_t>(top - 32);
}

std::uint64_t LatencyHistogram::bucket_low(std::size_t bucket) {
  if (bucket < 64) return bucket;
  const auto shift = (bucket - 64) / 32 + 1;
  const auto top = (bucket - 64) % 32 + 32;
  return static_cast<std::uint64_t>(top) << shift;
}

std::uint64_t LatencyHistogram::bucket_high(std::size_t bucket) {
  if (bucket < 64) return bucket;
  const auto shift = (bucket - 64) / 32 + 1;
  return bucket_low(bucket) + ((std::uint64_t{1} << shift) - 1);
}

void LatencyHistogram::record(std::int64_t nanoseconds) {
  const auto value = static_cast<std::uint64_t>(std::max<std::int64_t>(nanoseconds, 0));
  buckets_[std::min(bucket_of(value), bucket_count - 1)].fetch_add(1, std::memory_order_relaxed);
}

void LatencyHistogram::reset() {
  for (auto& bucket : buckets_) bucket.store(0, std::memory_order_relaxed);
}

std::uint64_t LatencyHistogram::count() const {
  std::uint64_t total = 0;
  for (const auto& bucket : buckets_) total += bucket.load(std::memory_order_relaxed);
  return total;
}

double LatencyHistogram::quantile_ns(double q) const {
  const auto total = count();
  if (total == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (std::size_t bucket = 0; bucket < bucket_count; ++bucket) {
    seen += buckets_[bucket].load(std::memory_order_relaxed);
    if (seen >= std::max<std::uint64_t>(rank, 1)) {
      // The middle of the bucket: within half a bucket (about 1.6%) of any value in it.
      return (static_cast<double>(bucket_low(bucket)) + static_cast<double>(bucket_high(bucket))) / 2;
    }
  }
  return static_cast<double>(bucket_high(bucket_count - 1));
}

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace icegate::bench::peers

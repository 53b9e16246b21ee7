// A gateway as a child process (`icegate serve`), for tests that kill it
// with SIGKILL. The test target defines ICEGATE_EXE (the icegate binary).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>

namespace icegate::testing {

class GatewayProcess {
 public:
  GatewayProcess(std::filesystem::path policy, std::filesystem::path pki, std::filesystem::path data,
                 std::string listen, std::filesystem::path log)
      : policy_(std::move(policy)), pki_(std::move(pki)), data_(std::move(data)), listen_(std::move(listen)),
        log_(std::move(log)) {}
  ~GatewayProcess() { kill(SIGKILL); }
  GatewayProcess(const GatewayProcess&) = delete;
  GatewayProcess& operator=(const GatewayProcess&) = delete;

  void start() {
    pid_ = fork();
    if (pid_ == 0) {
      FILE* log = std::fopen(log_.c_str(), "a");
      if (log) dup2(fileno(log), STDERR_FILENO);
      execl(ICEGATE_EXE, ICEGATE_EXE, "serve", "--policy", policy_.c_str(), "--pki", pki_.c_str(), "--listen",
            listen_.c_str(), "--data", data_.c_str(), "--log-level", "info", static_cast<char*>(nullptr));
      _exit(127);
    }
  }

  void kill(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  const std::filesystem::path& log() const { return log_; }

 private:
  std::filesystem::path policy_, pki_, data_;
  std::string listen_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

}  // namespace icegate::testing

// Lines typed at the terminal, handed over as they come, on a thread of the
// reader's own. The reader never blocks in a read, so its owner can end it
// whenever it is done: on standard input it waits in poll(2) for a key or
// for the destructor's word on a pipe (not a look every few milliseconds).
// Another stream (a test's) holds all it ever will: its whole lines are
// handed over at once, and the reader ends.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <iostream>
#include <string>
#include <thread>

namespace icegate::cli {

class TerminalLines {
 public:
  // `on_line` gets each whole line, without its end ("\n" or "\r\n").
  TerminalLines(std::istream& in, std::function<void(std::string)> on_line)
      : in_(in), on_line_(std::move(on_line)) {
    if (::pipe(wake_) != 0) wake_[0] = wake_[1] = -1;  // then only the end of input ends the reader
    thread_ = std::thread([this] { read(); });
  }
  ~TerminalLines() {
    if (wake_[1] >= 0) {
      const char byte = 0;
      [[maybe_unused]] const auto written = ::write(wake_[1], &byte, 1);
    }
    thread_.join();
    for (const int fd : wake_)
      if (fd >= 0) ::close(fd);
  }
  TerminalLines(const TerminalLines&) = delete;
  TerminalLines& operator=(const TerminalLines&) = delete;

 private:
  void read() {
    if (&in_ != &std::cin) {
      const std::streamsize waiting = in_.rdbuf()->in_avail();
      if (waiting <= 0) return;
      std::string text(static_cast<std::size_t>(waiting), '\0');
      text.resize(static_cast<std::size_t>(in_.rdbuf()->sgetn(text.data(), waiting)));
      hand_over(text);
      return;
    }
    // Read the descriptor directly: std::cin would block, and stdio may hold lines poll(2) cannot see.
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    while (true) {
      const int ready = ::poll(fds, wake_[0] >= 0 ? 2 : 1, -1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0 || fds[1].revents != 0) return;  // the owner is done
      char buffer[256];
      const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n <= 0) return;  // the input ended
      hand_over(std::string(buffer, static_cast<std::size_t>(n)));
    }
  }

  void hand_over(const std::string& text) {
    pending_ += text;
    for (auto end = pending_.find('\n'); end != std::string::npos; end = pending_.find('\n')) {
      std::string line = pending_.substr(0, end);
      pending_.erase(0, end + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      on_line_(std::move(line));
    }
  }

  std::istream& in_;
  std::function<void(std::string)> on_line_;
  std::string pending_;
  int wake_[2] = {-1, -1};  // the destructor writes a byte to wake_[1]
  std::thread thread_;
};

}  // namespace icegate::cli

#include "tools/bench/peers/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace icegate::bench::peers {

EventLoop::EventLoop() {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_ < 0) {
    ::close(epoll_);
    throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the wake descriptor has no handler
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &event);
}

EventLoop::~EventLoop() {
  ::close(wake_);
  ::close(epoll_);
}

void EventLoop::add(int fd, std::uint32_t events, Handler* handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) {
    throw std::runtime_error("epoll_ctl ADD fd " + std::to_string(fd) + ": " + std::strerror(errno));
  }
}

void EventLoop::modify(int fd, std::uint32_t events, Handler* handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  if (::epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &event) != 0) {
    throw std::runtime_error("epoll_ctl MOD fd " + std::to_string(fd) + ": " + std::strerror(errno));
  }
}

void EventLoop::remove(int fd) { ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr); }

int EventLoop::run_once(std::chrono::milliseconds timeout) {
  std::array<epoll_event, 256> events;
  const int ready = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()),
                                 static_cast<int>(timeout.count()));
  if (ready < 0) {
    if (errno == EINTR) return 0;
    throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
  }
  int handled = 0;
  for (int i = 0; i < ready; ++i) {
    auto* handler = static_cast<Handler*>(events[i].data.ptr);
    if (handler == nullptr) {
      std::uint64_t count = 0;
      [[maybe_unused]] auto ignored = ::read(wake_, &count, sizeof count);
      continue;
    }
    handler->on_event(events[i].events);
    ++handled;
  }
  return handled;
}

void EventLoop::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto ignored = ::write(wake_, &one, sizeof one);
}

}  // namespace icegate::bench::peers

// One epoll instance for thousands of client sockets in the bench process, so
// that the load needs no thread per connection. Level-triggered: a handler
// that leaves data unread is called again.
#pragma once

#include <chrono>
#include <cstdint>

namespace icegate::bench::peers {

class EventLoop {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // `events` is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP).
    virtual void on_event(std::uint32_t events) = 0;
  };

  EventLoop();  // throws std::runtime_error when epoll or eventfd fails
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Thread-safe (epoll_ctl is). Each throws std::runtime_error naming the fd on failure,
  // except remove, which ignores a descriptor that is already gone.
  void add(int fd, std::uint32_t events, Handler* handler);
  void modify(int fd, std::uint32_t events, Handler* handler);
  void remove(int fd);

  // Waits up to `timeout` and calls the handlers of ready descriptors.
  // Returns how many were ready (0 on time-out or wake).
  int run_once(std::chrono::milliseconds timeout);
  // Makes a run_once in another thread return; thread-safe.
  void wake();

 private:
  int epoll_ = -1;
  int wake_ = -1;  // eventfd
};

}  // namespace icegate::bench::peers

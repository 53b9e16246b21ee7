#include "clients/node/io_threads.hpp"

#include <algorithm>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace icegate::node {

struct IoThreads::Loop {
  boost::asio::io_context io{1};  // a concurrency hint: one thread runs it
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
};

IoThreads::IoThreads(std::size_t count) {
  if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < count; ++i) contexts_.push_back(std::make_unique<Loop>());
}

IoThreads::~IoThreads() {
  // The clients are closed: once the guard goes, each loop finishes what they
  // left (a cancelled timer's handler, say) and its run() returns by itself.
  for (auto& loop : contexts_) loop->work.reset();
  for (auto& loop : contexts_) loop->thread.join();
}

boost::asio::io_context& IoThreads::next() {
  auto& loop = *contexts_[next_];
  next_ = (next_ + 1) % contexts_.size();
  return loop.io;
}

}  // namespace icegate::node

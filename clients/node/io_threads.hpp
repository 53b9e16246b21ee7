// A few io_contexts, each run by one thread of its own: many NodeClients
// (NodeOptions::io) share them, one io_context per core, so thousands of
// simulated nodes need a handful of threads rather than one each. A
// connection stays on the io_context it was given, so its coroutines never
// run on two threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace icegate::node {

class IoThreads {
 public:
  // `count` io_contexts and threads; 0: one per core.
  explicit IoThreads(std::size_t count = 0);
  // Lets the io_contexts run out of work and joins the threads: close the
  // clients first (a client still open keeps its thread, and this, waiting).
  ~IoThreads();
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  // The io_contexts in turn, for spreading clients evenly.
  boost::asio::io_context& next();
  std::size_t size() const { return contexts_.size(); }

 private:
  struct Loop;
  std::vector<std::unique_ptr<Loop>> contexts_;
  std::size_t next_ = 0;
};

}  // namespace icegate::node

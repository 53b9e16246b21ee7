// Calls a function when a signal arrives, on a thread of its own, until
// destroyed. A signal handler may do almost nothing (no lock, no condition
// variable); a boost::asio::signal_set turns the signal into an ordinary
// completion, in which stopping a run, which takes locks, is safe.
#pragma once

#include <functional>
#include <initializer_list>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

namespace icegate::cli {

class SignalWatch {
 public:
  // `on_signal` runs on the watch's thread, once for each signal.
  SignalWatch(std::initializer_list<int> signals, std::function<void()> on_signal)
      : on_signal_(std::move(on_signal)) {
    for (const int signal : signals) signals_.add(signal);
    wait();
    thread_ = std::thread([this] { io_.run(); });
  }
  // Cancels the wait: the loop has nothing left and its thread ends.
  ~SignalWatch() {
    boost::asio::post(io_, [this] { signals_.cancel(); });
    thread_.join();
  }
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

 private:
  void wait() {
    signals_.async_wait([this](const boost::system::error_code& error, int) {
      if (error) return;  // cancelled
      on_signal_();
      wait();
    });
  }

  std::function<void()> on_signal_;
  boost::asio::io_context io_{1};
  boost::asio::signal_set signals_{io_};
  std::thread thread_;
};

}  // namespace icegate::cli

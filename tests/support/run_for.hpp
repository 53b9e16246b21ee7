// A coroutine run to completion on an io_context of its own, for tests that
// drive a server as its client would (http_server_test, site_server_test).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>

namespace icegate::testing {

// What `task` returns, or what it threw; std::runtime_error when it has not
// finished within `timeout`.
template <typename T>
T run_for(std::function<boost::asio::awaitable<T>()> task,
          std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  boost::asio::io_context io;
  std::optional<T> result;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, task(), [&](std::exception_ptr e, T value) {
    failure = e;
    if (!e) result = std::move(value);
  });
  io.run_for(timeout);
  if (failure) std::rethrow_exception(failure);
  if (!result) throw std::runtime_error("the client timed out");
  return std::move(*result);
}

}  // namespace icegate::testing

// Frames over a TLS stream, for the gateway's sessions and the node library
// alike. I/O errors come back as values; deadlines are the caller's watchdog's
// job (see Deadline), so a read here never waits for ever on its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "gateway/transport/tls_stream.hpp"
#include "gateway/wire/framing.hpp"

namespace icegate::transport {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct ReadResult {
  boost::system::error_code error;  // transport failure (EOF, reset, cancelled...)
  wire::FrameError frame_error = wire::FrameError::none;  // bad bytes from the peer
  std::uint32_t length = 0;  // the length prefix read, also when too large
  bool ok() const { return !error && frame_error == wire::FrameError::none; }
};

// A watchdog for one connection: whoever reads or writes sets the deadline
// first. When it passes, the watchdog cancels the socket's pending operations
// (so the owner can still say why, e.g. with an Error TIMEOUT frame) and, if
// the connection is still open after a short grace period, closes it.
// `watch()` runs for the life of the connection, on a timer's completion
// handler rather than as a waiting coroutine (which would cost an idle
// connection several coroutine frames).
class Deadline {
 public:
  static constexpr auto grace = std::chrono::seconds(2);

  explicit Deadline(const asio::any_io_executor& executor) : timer_(executor) {}

  void expires_after(Clock::duration duration) {
    deadline_ = Clock::now() + duration;
    // The watchdog may be sleeping towards a later time (or for ever): wake it
    // so that it re-arms for the new, earlier deadline.
    if (deadline_ < armed_) timer_.cancel();
  }
  void disable() { deadline_ = Clock::time_point::max(); }
  bool expired() const { return expired_; }

  // Starts watching `socket`, until it is closed (by the owner or after the
  // grace period) or cancel() is called. `owner` must own this Deadline and
  // the socket; the watch keeps it alive until then.
  void watch(tcp::socket::lowest_layer_type& socket, std::shared_ptr<const void> owner);
  void cancel() {
    stopped_ = true;
    timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point armed_ = Clock::time_point::max();
  bool expired_ = false;
  bool stopped_ = false;
};

// Reads one length-prefixed frame. A prefix over `max_frame_bytes` is reported
// as FrameError::too_large without reading the body.
// `header_wait` applies to waiting for the next frame's prefix (the idle time);
// `body_wait` to the rest of the frame once its prefix has arrived.
asio::awaitable<ReadResult> read_frame(TlsStream& stream, Deadline& deadline,
                                       Clock::duration header_wait, Clock::duration body_wait,
                                       std::uint32_t max_frame_bytes, std::string& buffer,
                                       v1::Frame& frame);

// Writes already-framed bytes.
asio::awaitable<boost::system::error_code> write_bytes(TlsStream& stream, Deadline& deadline,
                                                      Clock::duration wait, const std::string& bytes);

// True for errors that only mean "the peer went away": EOF, reset, the TLS
// peer closing without close_notify (stream_truncated), our own cancellation.
bool is_disconnect(const boost::system::error_code& error);

// An OpenSSL handshake error in words ("certificate verify failed", ...).
std::string describe(const boost::system::error_code& error);

}  // namespace icegate::transport

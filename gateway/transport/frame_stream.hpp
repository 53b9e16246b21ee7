// Frames over a TLS stream, for the gateway's sessions and the node library
// alike. I/O errors come back as values; deadlines are the caller's watchdog's
// job (see Deadline), so a read here never waits for ever on its own.
#pragma once

#include <algorithm>
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

// A watchdog for one connection, with one deadline for reading and one for
// writing: the reader and the writer run at the same time, and neither may
// move or switch off the other's deadline (a write finishing must not lift the
// idle deadline of the read still waiting). When the earlier of the two
// passes, the watchdog cancels the socket's pending operations (so the owner
// can still say why, e.g. with an Error TIMEOUT frame) and, if the connection
// is still open after a short grace period, closes it. `watch()` runs for the
// life of the connection, on a timer's completion handler rather than as a
// waiting coroutine (which would cost an idle connection several coroutine
// frames).
class Deadline {
 public:
  static constexpr auto grace = std::chrono::seconds(2);
  enum class Side { read = 0, write = 1 };

  explicit Deadline(const asio::any_io_executor& executor) : timer_(executor) {}

  void expires_at(Side side, Clock::time_point when) {
    at_[index(side)] = when;
    // The watchdog may be sleeping towards a later time (or for ever): wake it
    // so that it re-arms for the new, earlier deadline.
    if (when < armed_) timer_.cancel();
  }
  void expires_after(Side side, Clock::duration duration) { expires_at(side, Clock::now() + duration); }
  void disable(Side side) { at_[index(side)] = Clock::time_point::max(); }
  // Whether a deadline has passed (and the socket's operations were cancelled).
  bool expired() const { return expired_[0] || expired_[1]; }
  // Whether this side's deadline was among those that had passed.
  bool expired(Side side) const { return expired_[index(side)]; }

  // Starts watching `socket`, until it is closed (by the owner or after the
  // grace period) or cancel() is called. `owner` must own this Deadline and
  // the socket; the watch keeps it alive until then.
  void watch(tcp::socket::lowest_layer_type& socket, std::shared_ptr<const void> owner);
  void cancel() {
    stopped_ = true;
    timer_.cancel();
  }

 private:
  static std::size_t index(Side side) { return static_cast<std::size_t>(side); }
  Clock::time_point next() const { return std::min(at_[0], at_[1]); }

  asio::steady_timer timer_;
  Clock::time_point at_[2] = {Clock::time_point::max(), Clock::time_point::max()};
  Clock::time_point close_at_ = Clock::time_point::max();  // once expired: the end of the grace period
  Clock::time_point armed_ = Clock::time_point::max();
  bool expired_[2] = {false, false};
  bool stopped_ = false;
};

// Reads one length-prefixed frame. A prefix over `max_frame_bytes` is reported
// as FrameError::too_large without reading the body.
// `header_wait` applies to waiting for the next frame's prefix (the idle time);
// `body_wait` to the rest of the frame once its prefix has arrived; neither
// runs past `not_after`, when a deadline covers several steps (the handshake
// and the Hello after it). The read side of `deadline` is lifted at the end.
asio::awaitable<ReadResult> read_frame(TlsStream& stream, Deadline& deadline,
                                       Clock::duration header_wait, Clock::duration body_wait,
                                       std::uint32_t max_frame_bytes, std::string& buffer,
                                       v1::Frame& frame,
                                       Clock::time_point not_after = Clock::time_point::max());

// Writes already-framed bytes, within `wait`, on the write side of `deadline`.
asio::awaitable<boost::system::error_code> write_bytes(TlsStream& stream, Deadline& deadline,
                                                      Clock::duration wait, const std::string& bytes);

// True for errors that only mean "the peer went away": EOF, reset, the TLS
// peer closing without close_notify (stream_truncated), our own cancellation.
bool is_disconnect(const boost::system::error_code& error);

// An OpenSSL handshake error in words ("certificate verify failed", ...).
std::string describe(const boost::system::error_code& error);

}  // namespace icegate::transport

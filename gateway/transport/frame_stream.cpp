#include "gateway/transport/frame_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/err.h>

namespace icegate::transport {

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}

void Deadline::watch(tcp::socket::lowest_layer_type& socket, std::shared_ptr<const void> owner) {
  while (socket.is_open() && !stopped_) {
    const auto now = Clock::now();
    if (expired()) {
      // Cancelled already: the owner has the grace period to say why.
      if (close_at_ <= now) {
        boost::system::error_code ignored;
        socket.close(ignored);
        return;
      }
    } else if (next() <= now) {
      for (std::size_t side = 0; side < 2; ++side) expired_[side] = at_[side] <= now;
      close_at_ = now + grace;
      boost::system::error_code ignored;
      socket.cancel(ignored);
      continue;
    }
    const auto wake = expired() ? close_at_ : next();
    armed_ = wake;
    timer_.expires_at(wake);
    // Woken early by cancel() or a new deadline. `this` and `socket` stay
    // valid: the handler holds `owner`, which owns them both.
    timer_.async_wait([this, &socket, owner = std::move(owner)](const boost::system::error_code&) mutable {
      armed_ = Clock::time_point::max();
      watch(socket, std::move(owner));
    });
    return;
  }
}

asio::awaitable<ReadResult> read_frame(TlsStream& stream, Deadline& deadline,
                                       Clock::duration header_wait, Clock::duration body_wait,
                                       std::uint32_t max_frame_bytes, std::string& buffer,
                                       v1::Frame& frame, Clock::time_point not_after) {
  using Side = Deadline::Side;
  // now + wait, saturating (a wait of "for ever" is Clock::duration::max()).
  auto within = [not_after](Clock::duration wait) {
    const auto now = Clock::now();
    const auto by = wait >= Clock::time_point::max() - now ? Clock::time_point::max() : now + wait;
    return std::min(by, not_after);
  };
  ReadResult result;
  unsigned char header[wire::frame_header_bytes];
  deadline.expires_at(Side::read, within(header_wait));
  // The header is where an idle connection waits, usually for a long time:
  // read it by hand, waiting for the socket between attempts, so that what
  // is pending meanwhile is one small wait operation rather than an
  // async_read's composed operations and coroutine frame (docs/PERFORMANCE.md,
  // W5). The first attempt reads at once when bytes are there, as an
  // async_read would.
  for (std::size_t have = 0; have < sizeof header;) {
    const TlsStream::Outcome attempt = stream.try_read_some(header + have, sizeof header - have);
    boost::system::error_code header_error = attempt.error;
    if (!header_error && attempt.want == TlsStream::Want::nothing) {
      if (attempt.bytes == 0) header_error = asio::error::eof;  // SSL_read_ex never reads 0 bytes and succeeds
      have += attempt.bytes;
    } else if (!header_error) {
      auto [wait_error] = co_await stream.lowest_layer().async_wait(
          attempt.want == TlsStream::Want::read ? tcp::socket::wait_read : tcp::socket::wait_write, use_tuple);
      header_error = wait_error;
    }
    if (header_error) {
      deadline.disable(Side::read);
      result.error = header_error;
      co_return result;
    }
  }
  result.length = wire::decode_length(header);
  if ((result.frame_error = wire::check_length(result.length, max_frame_bytes)) != wire::FrameError::none) {
    deadline.disable(Side::read);
    co_return result;
  }
  buffer.resize(result.length);
  deadline.expires_at(Side::read, within(body_wait));
  auto [body_error, body_read] = co_await asio::async_read(stream, asio::buffer(buffer), use_tuple);
  deadline.disable(Side::read);
  if (body_error) {
    result.error = body_error;
    co_return result;
  }
  result.frame_error = wire::parse_frame(buffer, frame);
  co_return result;
}

asio::awaitable<boost::system::error_code> write_bytes(TlsStream& stream, Deadline& deadline,
                                                      Clock::duration wait, const std::string& bytes) {
  deadline.expires_after(Deadline::Side::write, wait);
  auto [error, written] = co_await asio::async_write(stream, asio::buffer(bytes), use_tuple);
  deadline.disable(Deadline::Side::write);
  co_return error;
}

bool is_disconnect(const boost::system::error_code& error) {
  return error == asio::error::eof || error == asio::error::connection_reset ||
         error == asio::error::operation_aborted || error == asio::error::broken_pipe ||
         error == asio::error::bad_descriptor || error == asio::ssl::error::stream_truncated;
}

std::string describe(const boost::system::error_code& error) {
  if (error.category() == asio::error::get_ssl_category()) {
    // OpenSSL's reason string ("certificate verify failed", "tlsv13 alert
    // certificate required") says more than the generic message.
    char text[256];
    ERR_error_string_n(static_cast<unsigned long>(error.value()), text, sizeof text);
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(error.value()));
    return reason ? reason : text;
  }
  return error.message();
}

}  // namespace icegate::transport

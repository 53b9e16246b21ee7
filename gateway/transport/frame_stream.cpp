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
    const auto deadline = deadline_;
    if (deadline <= Clock::now()) {
      boost::system::error_code ignored;
      if (!expired_) {
        expired_ = true;
        socket.cancel(ignored);
        deadline_ = Clock::now() + grace;
        continue;
      }
      socket.close(ignored);
      return;
    }
    armed_ = deadline;
    timer_.expires_at(deadline);
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
                                       v1::Frame& frame) {
  ReadResult result;
  unsigned char header[wire::frame_header_bytes];
  deadline.expires_after(header_wait);
  auto [header_error, header_read] = co_await asio::async_read(stream, asio::buffer(header), use_tuple);
  if (header_error) {
    result.error = header_error;
    co_return result;
  }
  result.length = wire::decode_length(header);
  if ((result.frame_error = wire::check_length(result.length, max_frame_bytes)) != wire::FrameError::none)
    co_return result;
  buffer.resize(result.length);
  deadline.expires_after(body_wait);
  auto [body_error, body_read] = co_await asio::async_read(stream, asio::buffer(buffer), use_tuple);
  deadline.disable();
  if (body_error) {
    result.error = body_error;
    co_return result;
  }
  result.frame_error = wire::parse_frame(buffer, frame);
  co_return result;
}

asio::awaitable<boost::system::error_code> write_bytes(TlsStream& stream, Deadline& deadline,
                                                      Clock::duration wait, const std::string& bytes) {
  deadline.expires_after(wait);
  auto [error, written] = co_await asio::async_write(stream, asio::buffer(bytes), use_tuple);
  deadline.disable();
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

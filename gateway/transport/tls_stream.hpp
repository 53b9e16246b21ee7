// A TLS stream over a TCP socket with OpenSSL reading and writing the socket
// itself, in place of asio::ssl::stream<tcp::socket>.
//
// Why our own: Asio's ssl::stream keeps two 17 KiB buffers of its own and an
// OpenSSL BIO pair (two more) per connection, about 68 KiB that an idle
// connection never uses. Here OpenSSL's record layer talks to the socket
// directly (no BIO pair), with SSL_MODE_RELEASE_BUFFERS so that an idle
// connection holds no record buffers at all; readiness comes from
// socket.async_wait when OpenSSL says it wants to read or write.
//
// It offers the part of ssl::stream's interface the code base uses, and it is
// an AsyncReadStream and AsyncWriteStream, so asio::async_read/async_write
// compose over it with any completion token. Errors are the ones ssl::stream
// gives: OpenSSL failures in asio::error::get_ssl_category() (the value from
// ERR_get_error, so transport::describe can name it), close_notify from the
// peer as asio::error::eof, a peer that vanishes without close_notify as
// asio::ssl::error::stream_truncated, socket errors as themselves, and
// cancellation (socket cancel or close) as operation_aborted or
// bad_descriptor.
//
// Full duplex: one read and one write may be outstanding at once (the
// sessions' reader and writer coroutines), on one thread: every operation
// retries its own SSL_* call each time the socket becomes ready for what that
// call wants, so neither starves the other. Like ssl::stream, it is not safe
// to use from two threads at once, and it must not be moved while an
// operation is outstanding.
#pragma once

#include <cstddef>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/system/error_code.hpp>

typedef struct ssl_st SSL;

namespace icegate::transport {

namespace detail {
template <typename Attempt, bool WithBytes>
class TlsOperation;
}

class TlsStream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  using next_layer_type = boost::asio::ip::tcp::socket;
  using lowest_layer_type = boost::asio::ip::tcp::socket;
  using native_handle_type = SSL*;

  // An accepted (or already connected) socket.
  TlsStream(boost::asio::ip::tcp::socket&& socket, boost::asio::ssl::context& context);
  // A socket yet to be connected through lowest_layer().
  TlsStream(const boost::asio::any_io_executor& executor, boost::asio::ssl::context& context);
  TlsStream(boost::asio::io_context& io, boost::asio::ssl::context& context);
  TlsStream(TlsStream&& other) noexcept;
  TlsStream& operator=(TlsStream&&) = delete;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;
  ~TlsStream();

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  boost::asio::ip::tcp::socket& next_layer() { return socket_; }
  boost::asio::ip::tcp::socket& lowest_layer() { return socket_; }
  // The OpenSSL connection, e.g. for the peer's certificate once the handshake is done.
  SSL* native_handle() { return ssl_; }

  // Completes with void(error_code). The socket must be connected.
  template <typename Token = boost::asio::default_completion_token_t<executor_type>>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type type, Token&& token = Token()) {
    prepare_handshake(type);
    return compose<void(boost::system::error_code), false>(HandshakeAttempt{this}, std::forward<Token>(token));
  }

  // Sends close_notify and waits for the peer's. Completes with void(error_code).
  template <typename Token = boost::asio::default_completion_token_t<executor_type>>
  auto async_shutdown(Token&& token = Token()) {
    return compose<void(boost::system::error_code), false>(ShutdownAttempt{this}, std::forward<Token>(token));
  }

  // Reads into the first non-empty buffer. Completes with void(error_code, std::size_t).
  template <typename MutableBufferSequence, typename Token = boost::asio::default_completion_token_t<executor_type>>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token = Token()) {
    boost::asio::mutable_buffer target;
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it)
      if ((target = boost::asio::mutable_buffer(*it)).size() > 0) break;
    return compose<void(boost::system::error_code, std::size_t), true>(ReadAttempt{this, target},
                                                                        std::forward<Token>(token));
  }

  // What one SSL_* call came to: done (with an error or not), or it must be
  // retried once the socket is readable or writable.
  enum class Want { nothing, read, write };
  struct Outcome {
    Want want = Want::nothing;
    boost::system::error_code error;
    std::size_t bytes = 0;
  };

  // One read attempt, now, without waiting: bytes read, an error, or what
  // the socket must become before trying again. For a reader that waits for
  // the socket itself (socket.async_wait) rather than keep a read pending:
  // a pending wait holds a small operation, a pending async_read_some its
  // composed operations (transport::read_frame waits so for the next frame).
  Outcome try_read_some(void* data, std::size_t size) { return read_once(data, size); }

  // Writes from the first non-empty buffer. Completes with void(error_code, std::size_t).
  template <typename ConstBufferSequence, typename Token = boost::asio::default_completion_token_t<executor_type>>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token = Token()) {
    boost::asio::const_buffer source;
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it)
      if ((source = boost::asio::const_buffer(*it)).size() > 0) break;
    return compose<void(boost::system::error_code, std::size_t), true>(WriteAttempt{this, source},
                                                                        std::forward<Token>(token));
  }

 private:
  template <typename Attempt, bool WithBytes>
  friend class detail::TlsOperation;

  struct HandshakeAttempt {
    TlsStream* stream;
    Outcome operator()() const { return stream->handshake_once(); }
  };
  struct ShutdownAttempt {
    TlsStream* stream;
    Outcome operator()() const { return stream->shutdown_once(); }
  };
  struct ReadAttempt {
    TlsStream* stream;
    boost::asio::mutable_buffer buffer;
    Outcome operator()() const { return stream->read_once(buffer.data(), buffer.size()); }
  };
  struct WriteAttempt {
    TlsStream* stream;
    boost::asio::const_buffer buffer;
    Outcome operator()() const { return stream->write_once(buffer.data(), buffer.size()); }
  };

  template <typename Signature, bool WithBytes, typename Attempt, typename Token>
  auto compose(Attempt attempt, Token&& token) {
    return boost::asio::async_compose<Token, Signature>(detail::TlsOperation<Attempt, WithBytes>(*this, attempt),
                                                        token, socket_);
  }

  void prepare_handshake(boost::asio::ssl::stream_base::handshake_type type);
  // Hands the socket to OpenSSL (non-blocking) the first time it is needed.
  bool attach(boost::system::error_code& error);
  Outcome handshake_once();
  Outcome shutdown_once();
  Outcome read_once(void* data, std::size_t size);
  Outcome write_once(const void* data, std::size_t size);
  // The outcome of an SSL_* call that returned `result`, with errno as it was right after it.
  Outcome outcome_of(int result, int saved_errno, std::size_t bytes);

  boost::asio::ip::tcp::socket socket_;
  SSL* ssl_ = nullptr;
  bool attached_ = false;
};

namespace detail {

// One handshake, read, write or shutdown: tries the SSL_* call, waits for the
// socket when OpenSSL wants to read or write, tries again. A result found on
// the first try is posted, never delivered from inside the initiating call.
template <typename Attempt, bool WithBytes>
class TlsOperation {
 public:
  TlsOperation(TlsStream& stream, Attempt attempt) : stream_(stream), attempt_(attempt) {}

  template <typename Self>
  void operator()(Self& self, boost::system::error_code wait_error = {}) {
    const bool first = state_ == State::starting;
    switch (state_) {
      case State::starting: state_ = State::waiting; break;
      case State::waiting:
        if (wait_error) return complete(self, wait_error, 0);
        break;
      case State::posted: return complete(self, outcome_.error, outcome_.bytes);
    }
    outcome_ = attempt_();
    switch (outcome_.want) {
      case TlsStream::Want::read:
        return stream_.socket_.async_wait(boost::asio::ip::tcp::socket::wait_read, std::move(self));
      case TlsStream::Want::write:
        return stream_.socket_.async_wait(boost::asio::ip::tcp::socket::wait_write, std::move(self));
      case TlsStream::Want::nothing: break;
    }
    if (!first) return complete(self, outcome_.error, outcome_.bytes);
    state_ = State::posted;
    const auto executor = stream_.get_executor();
    boost::asio::post(executor, std::move(self));
  }

 private:
  enum class State { starting, waiting, posted };

  template <typename Self>
  static void complete(Self& self, const boost::system::error_code& error, std::size_t bytes) {
    if constexpr (WithBytes)
      self.complete(error, bytes);
    else
      self.complete(error);
  }

  TlsStream& stream_;
  Attempt attempt_;
  State state_ = State::starting;
  TlsStream::Outcome outcome_;
};

}  // namespace detail

}  // namespace icegate::transport

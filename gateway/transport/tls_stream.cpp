#include "gateway/transport/tls_stream.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstdint>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/system/system_error.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace icegate::transport {

namespace asio = boost::asio;

namespace {

// A BIO on the socket's descriptor, as OpenSSL's own socket BIO (SSL_set_fd)
// but sending with MSG_NOSIGNAL: OpenSSL's writes a peer that has gone away
// with write(), which raises SIGPIPE and would end the whole gateway (Asio's
// own socket writes avoid it the same way). It does not own the descriptor:
// the tcp::socket does.
int descriptor_of(BIO* bio) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio))); }

bool retryable(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR; }

int socket_write(BIO* bio, const char* data, int length) {
  BIO_clear_retry_flags(bio);
  const ssize_t sent = ::send(descriptor_of(bio), data, static_cast<std::size_t>(length), MSG_NOSIGNAL);
  if (sent < 0 && retryable(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(sent);
}

int socket_read(BIO* bio, char* data, int length) {
  if (data == nullptr) return 0;
  BIO_clear_retry_flags(bio);
  const ssize_t received = ::recv(descriptor_of(bio), data, static_cast<std::size_t>(length), 0);
  if (received == 0) {
    BIO_set_flags(bio, BIO_FLAGS_IN_EOF);  // lets OpenSSL tell a truncation from a socket error
  } else if (received < 0 && retryable(errno)) {
    BIO_set_retry_read(bio);
  }
  return static_cast<int>(received);
}

long socket_control(BIO* bio, int command, long, void* pointer) {
  switch (command) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_EOF: return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    case BIO_C_GET_FD:
      if (pointer != nullptr) *static_cast<int*>(pointer) = descriptor_of(bio);
      return descriptor_of(bio);
    default: return 0;
  }
}

BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                    "icegate socket");
    if (made == nullptr || !BIO_meth_set_write(made, socket_write) || !BIO_meth_set_read(made, socket_read) ||
        !BIO_meth_set_ctrl(made, socket_control))
      throw boost::system::system_error(
          boost::system::error_code(static_cast<int>(ERR_get_error()), asio::error::get_ssl_category()),
          "cannot create the TLS socket BIO");
    return made;
  }();
  return method;
}

SSL* new_ssl(asio::ssl::context& context) {
  ERR_clear_error();
  SSL* ssl = SSL_new(context.native_handle());
  if (ssl == nullptr)
    throw boost::system::system_error(
        boost::system::error_code(static_cast<int>(ERR_get_error()), asio::error::get_ssl_category()), "SSL_new");
  // Record buffers only while a record is in flight (an idle connection holds
  // none); writes may complete in part, and be retried from a moved buffer.
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read whatever the socket holds, not a record header and then its body:
  // one recv() for many small records (as ssl::stream's own 17 KiB input
  // buffer did) instead of two per record. A read still returns WANT_READ
  // only once OpenSSL holds no complete record, so waiting for the socket
  // then is right; and the buffer is still released once it is empty.
  SSL_set_read_ahead(ssl, 1);
  return ssl;
}

// An error from OpenSSL's queue: a system call's errno as itself (so that a
// reset is connection_reset), anything else in the SSL category.
boost::system::error_code queued_error(unsigned long queued) {
  if (ERR_GET_LIB(queued) == ERR_LIB_SYS)
    return boost::system::error_code(ERR_GET_REASON(queued), boost::system::system_category());
  return boost::system::error_code(static_cast<int>(queued), asio::error::get_ssl_category());
}

int clamp(std::size_t size) { return size > INT_MAX ? INT_MAX : static_cast<int>(size); }

}  // namespace

TlsStream::TlsStream(asio::ip::tcp::socket&& socket, asio::ssl::context& context)
    : socket_(std::move(socket)), ssl_(new_ssl(context)) {}

TlsStream::TlsStream(const asio::any_io_executor& executor, asio::ssl::context& context)
    : socket_(executor), ssl_(new_ssl(context)) {}

TlsStream::TlsStream(asio::io_context& io, asio::ssl::context& context) : socket_(io), ssl_(new_ssl(context)) {}

TlsStream::TlsStream(TlsStream&& other) noexcept
    : socket_(std::move(other.socket_)), ssl_(std::exchange(other.ssl_, nullptr)), attached_(other.attached_) {}

TlsStream::~TlsStream() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // the BIO does not close the descriptor; socket_ does
}

void TlsStream::prepare_handshake(asio::ssl::stream_base::handshake_type type) {
  if (type == asio::ssl::stream_base::client)
    SSL_set_connect_state(ssl_);
  else
    SSL_set_accept_state(ssl_);
}

bool TlsStream::attach(boost::system::error_code& error) {
  if (attached_) return true;
  if (!socket_.is_open()) {
    error = asio::error::bad_descriptor;
    return false;
  }
  socket_.non_blocking(true, error);
  if (error) return false;
  BIO* bio = BIO_new(socket_method());
  if (bio == nullptr) {
    error = boost::system::error_code(static_cast<int>(ERR_get_error()), asio::error::get_ssl_category());
    return false;
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(socket_.native_handle())));
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);  // one reference, owned by the SSL
  attached_ = true;
  return true;
}

// Every attempt first checks that the socket is still open: once it is closed
// its descriptor number may already belong to another connection, which
// OpenSSL must never read or write.

TlsStream::Outcome TlsStream::handshake_once() {
  Outcome outcome;
  if (!attach(outcome.error)) return outcome;
  ERR_clear_error();
  errno = 0;
  const int result = SSL_do_handshake(ssl_);
  return outcome_of(result, errno, 0);
}

TlsStream::Outcome TlsStream::shutdown_once() {
  Outcome outcome;
  if (!attached_ || !socket_.is_open()) {
    outcome.error = asio::error::bad_descriptor;
    return outcome;
  }
  ERR_clear_error();
  errno = 0;
  // 0: our close_notify is out, the peer's has yet to come; ask again to wait for it.
  int result = SSL_shutdown(ssl_);
  if (result == 0) {
    ERR_clear_error();
    errno = 0;
    result = SSL_shutdown(ssl_);
  }
  return outcome_of(result, errno, 0);
}

TlsStream::Outcome TlsStream::read_once(void* data, std::size_t size) {
  Outcome outcome;
  if (size == 0) return outcome;
  if (!attached_ || !socket_.is_open()) {
    outcome.error = asio::error::bad_descriptor;
    return outcome;
  }
  std::size_t read = 0;
  ERR_clear_error();
  errno = 0;
  const int result = SSL_read_ex(ssl_, data, static_cast<std::size_t>(clamp(size)), &read);
  return outcome_of(result, errno, read);
}

TlsStream::Outcome TlsStream::write_once(const void* data, std::size_t size) {
  Outcome outcome;
  if (size == 0) return outcome;
  if (!attached_ || !socket_.is_open()) {
    outcome.error = asio::error::bad_descriptor;
    return outcome;
  }
  std::size_t written = 0;
  ERR_clear_error();
  errno = 0;
  const int result = SSL_write_ex(ssl_, data, static_cast<std::size_t>(clamp(size)), &written);
  return outcome_of(result, errno, written);
}

TlsStream::Outcome TlsStream::outcome_of(int result, int saved_errno, std::size_t bytes) {
  Outcome outcome;
  const int ssl_error = SSL_get_error(ssl_, result);
  switch (ssl_error) {
    case SSL_ERROR_NONE: outcome.bytes = bytes; return outcome;
    case SSL_ERROR_WANT_READ: outcome.want = Want::read; return outcome;
    case SSL_ERROR_WANT_WRITE: outcome.want = Want::write; return outcome;
    case SSL_ERROR_ZERO_RETURN: outcome.error = asio::error::eof; return outcome;  // the peer's close_notify
    case SSL_ERROR_SYSCALL: {
      if (const unsigned long queued = ERR_get_error(); queued != 0) {
        outcome.error = queued_error(queued);
      } else if (saved_errno != 0) {
        outcome.error = boost::system::error_code(saved_errno, boost::system::system_category());
      } else {
        outcome.error = asio::ssl::error::stream_truncated;  // EOF with no close_notify
      }
      return outcome;
    }
    case SSL_ERROR_SSL: {
      const unsigned long queued = ERR_get_error();
      // OpenSSL 3 reports a peer that closed without close_notify this way;
      // ssl::stream calls it stream_truncated, and so do we.
      if (ERR_GET_LIB(queued) == ERR_LIB_SSL && ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        outcome.error = asio::ssl::error::stream_truncated;
      else if (queued != 0)
        outcome.error = queued_error(queued);
      else
        outcome.error = asio::ssl::error::unexpected_result;
      return outcome;
    }
    default: outcome.error = asio::ssl::error::unexpected_result; return outcome;
  }
}

}  // namespace icegate::transport

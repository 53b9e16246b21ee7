// The one translation unit that includes Boost.Beast (see http_server.hpp).
#include "gateway/http/http_server.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <deque>
#include <set>
#include <stdexcept>
#include <system_error>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/http/site.hpp"

namespace icegate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
// The two kinds of connection; everything from the first request on is the
// same code for both (templates below).
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view server_name = "icegate";

std::string header(const bhttp::request<bhttp::string_body>& request, bhttp::field field) {
  auto it = request.find(field);
  return it == request.end() ? std::string() : std::string(it->value());
}

Request to_request(const bhttp::request<bhttp::string_body>& request) {
  Request r;
  r.method = std::string(request.method_string());
  r.target = std::string(request.target());
  r.host = header(request, bhttp::field::host);
  r.origin = header(request, bhttp::field::origin);
  r.authorization = header(request, bhttp::field::authorization);
  r.content_type = header(request, bhttp::field::content_type);
  r.body = request.body();
  return r;
}

bhttp::response<bhttp::string_body> to_response(const Response& response, unsigned version, bool keep_alive,
                                                bool head) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(response.status), version};
  out.set(bhttp::field::server, server_name);
  out.set(bhttp::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) out.set(name, value);
  out.keep_alive(keep_alive);
  out.body() = response.body;
  out.prepare_payload();
  if (head) out.body().clear();  // Content-Length still says what a GET would bring
  return out;
}

// Is this error just the peer going away (not worth a warning)?
bool is_disconnect(const boost::system::error_code& error) {
  return error == asio::error::eof || error == asio::error::connection_reset || error == asio::error::broken_pipe ||
         error == asio::error::operation_aborted || error == beast::error::timeout || error == bhttp::error::end_of_stream ||
         error == websocket::error::closed || error == asio::error::not_connected || error == asio::error::bad_descriptor ||
         error == ssl::error::stream_truncated;  // a TLS peer that closed without saying so
}

ssl::context make_https_context(const HttpsFiles& files) {
  ssl::context context(ssl::context::tls_server);
  SSL_CTX* native = context.native_handle();
  // TLS 1.2 is the floor (see HttpServerOptions::https); its suites are
  // limited to forward secrecy with AEAD, as TLS 1.3's all are.
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
    ERR_clear_error();
    throw std::runtime_error("cannot configure TLS for HTTPS");
  }
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  boost::system::error_code error;
  context.use_certificate_chain_file(files.certificate.string(), error);
  if (error) {
    ERR_clear_error();
    throw std::runtime_error(
        fmt::format("cannot load the HTTPS certificate {}: {}", files.certificate.string(), error.message()));
  }
  context.use_private_key_file(files.key.string(), ssl::context::pem, error);
  if (error) {
    ERR_clear_error();
    throw std::runtime_error(fmt::format("cannot load the HTTPS key {}: {}", files.key.string(), error.message()));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    throw std::runtime_error(fmt::format("the HTTPS key {} does not match the certificate {}", files.key.string(),
                                         files.certificate.string()));
  }
  return context;
}

// Why a TLS handshake failed, with what to do when it is a person's browser.
std::string handshake_failure(const boost::system::error_code& error) {
  if (error == beast::error::timeout) return "no handshake within the deadline";
  if (error.category() == asio::error::get_ssl_category()) {
    switch (ERR_GET_REASON(static_cast<unsigned long>(error.value()))) {
      case SSL_R_HTTP_REQUEST:
        return "a plain-HTTP request on the HTTPS port (closed unanswered: the link must start with https://)";
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        return error.message() +
               " (the client does not trust the certificate: install the exercise's CA certificate on that device)";
      default:
        break;
    }
  }
  return error.message();
}

// Ends a connection: half-close, or TLS's close_notify (waiting briefly for
// the peer's), then the socket.
asio::awaitable<void> end_connection(PlainStream& stream) {
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
  co_return;
}

// Long enough for a browser's close_notify on a LAN; short, since a client
// that never sends one keeps a connection slot until then.
constexpr std::chrono::seconds tls_close_grace{1};

asio::awaitable<void> end_connection(TlsStream& stream) {
  auto& lowest = beast::get_lowest_layer(stream);
  if (lowest.socket().is_open()) {
    lowest.expires_after(tls_close_grace);
    co_await stream.async_shutdown(use_tuple);
  }
  lowest.close();
}

}  // namespace

// What the server needs of a WebSocket whatever its stream: to close it when stopping.
class WebSocketSession {
 public:
  virtual ~WebSocketSession() = default;
  virtual void close_now() = 0;
};

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, Site& site, HttpServerOptions options)
      : io(io), site(&site), options(std::move(options)), acceptor(io) {
    if (this->options.https) tls.emplace(make_https_context(*this->options.https));
  }

  // Keeps a connection's socket where stop() finds it, until released (the
  // socket moved into a WebSocket, which keeps itself) or destroyed.
  class Registration {
   public:
    Registration(Impl& impl, tcp::socket& socket) : impl_(impl), socket_(&socket) { impl_.sockets.insert(socket_); }
    ~Registration() { release(); }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    void release() {
      if (socket_) impl_.sockets.erase(socket_);
      socket_ = nullptr;
    }

   private:
    Impl& impl_;
    tcp::socket* socket_;
  };

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> connection(tcp::socket socket);
  template <typename Stream>
  asio::awaitable<void> serve(Stream& stream, const std::string& peer, Registration& registration);

  asio::io_context& io;
  Site* site;  // null once stopped: sessions still unwinding must not touch it
  HttpServerOptions options;
  std::optional<ssl::context> tls;  // with HTTPS
  tcp::acceptor acceptor;
  std::size_t connections = 0;
  // Every open socket, so that stop() can close them (io thread only).
  std::set<tcp::socket*> sockets;
  std::set<std::shared_ptr<WebSocketSession>> websockets;
  bool stopped = false;
};

// One WebSocket: a reader (which only notices the peer closing, and answers
// pings), a writer that drains a bounded queue, and a subscription to the
// Site's feed that fills the queue.
template <typename Stream>
class WebSocketClient final : public WebSocketSession, public std::enable_shared_from_this<WebSocketClient<Stream>> {
 public:
  WebSocketClient(std::shared_ptr<HttpServer::Impl> server, Stream stream, std::string peer, Feed& feed)
      : server_(std::move(server)),
        ws_(std::move(stream)),
        wake_(ws_.get_executor()),
        grace_(ws_.get_executor()),
        peer_(std::move(peer)),
        feed_(feed) {}

  asio::awaitable<void> run(bhttp::request<bhttp::string_body> request) {
    auto self = this->shared_from_this();
    beast::get_lowest_layer(ws_).expires_never();  // the websocket's own timeouts take over
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(bhttp::field::server, server_name); }));
    ws_.read_message_max(4096);
    std::uint64_t since = 0;
    if (auto text = query_parameter(std::string(request.target()), "since"); !text.empty()) {
      try {
        since = std::stoull(text);
      } catch (const std::exception&) {
        since = 0;
      }
    }
    auto [accept_error] = co_await ws_.async_accept(request, use_tuple);
    if (accept_error || !server_->site) {
      finish();
      co_return;
    }
    ws_.text(true);
    std::weak_ptr<WebSocketClient> weak = self;
    subscription_ = feed_.subscribe([weak](const Feed::EventText& event) {
      if (auto client = weak.lock()) client->push(event);
    });
    subscribed_ = true;
    if (since > 0)
      for (const auto& event : feed_.events_after(since)) push(event);
    asio::co_spawn(ws_.get_executor(), [self]() { return self->writer(); }, asio::detached);

    beast::flat_buffer buffer;
    while (true) {
      auto [error, n] = co_await ws_.async_read(buffer, use_tuple);
      if (error) {
        if (!is_disconnect(error)) spdlog::info("websocket {}: {}", peer_, error.message());
        break;
      }
      buffer.consume(buffer.size());  // the page has nothing to say; what it sends is ignored
    }
    finish();
  }

  // A new event for this client (io thread, from the feed).
  void push(const Feed::EventText& event) {
    if (finished_ || overflowed_) return;
    const auto& options = server_->options;
    if (queue_.size() >= options.websocket_queue_events || queued_bytes_ + event->size() > options.websocket_queue_bytes) {
      drop(fmt::format("too slow: {} events ({} bytes) not yet read", queue_.size(), queued_bytes_));
      return;
    }
    queue_.push_back(event);
    queued_bytes_ += event->size();
    wake_.cancel();
  }

  // Closes at once (the server is stopping).
  void close_now() override {
    finished_ = true;
    unsubscribe();
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    wake_.cancel();
    grace_.cancel();
  }

 private:
  void unsubscribe() {
    if (subscribed_ && server_->site) feed_.unsubscribe(subscription_);
    subscribed_ = false;
  }

  // Fell too far behind: the queue is dropped, the writer sends a close frame
  // with the reason once its current write completes, and if that does not
  // happen within the grace period (the client reads nothing at all) the socket is closed.
  void drop(std::string reason) {
    overflowed_ = true;
    close_reason_ = std::move(reason);
    if (close_reason_.size() > 120) close_reason_.resize(120);  // a close frame's reason fits in 123 bytes
    queue_.clear();
    queued_bytes_ = 0;
    unsubscribe();
    if (server_->site) feed_.count_dropped_client();
    spdlog::warn("websocket {} closed: {}", peer_, close_reason_);
    wake_.cancel();
    grace_.expires_after(server_->options.websocket_close_grace);
    grace_.async_wait([self = this->shared_from_this()](const boost::system::error_code& error) {
      if (error) return;
      boost::system::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
    });
  }

  asio::awaitable<void> writer() {
    auto self = this->shared_from_this();
    while (!finished_) {
      if (overflowed_) {
        co_await ws_.async_close(websocket::close_reason(websocket::close_code::policy_error, close_reason_), use_tuple);
        break;
      }
      if (queue_.empty()) {
        wake_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_.async_wait(use_tuple);
        continue;
      }
      const Feed::EventText event = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= std::min(queued_bytes_, event->size());
      auto [error, n] = co_await ws_.async_write(asio::buffer(*event), use_tuple);
      if (error) break;
    }
    finish();
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    unsubscribe();
    wake_.cancel();
    grace_.cancel();
    server_->websockets.erase(this->shared_from_this());
  }

  std::shared_ptr<HttpServer::Impl> server_;
  websocket::stream<Stream> ws_;
  asio::steady_timer wake_;
  asio::steady_timer grace_;
  std::string peer_;
  Feed& feed_;  // outlives the WebSocket, or the server stops first (then site is null and feed_ untouched)
  std::deque<Feed::EventText> queue_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t subscription_ = 0;
  bool subscribed_ = false;
  bool overflowed_ = false;
  bool finished_ = false;
  std::string close_reason_;
};

asio::awaitable<void> HttpServer::Impl::accept_loop() {
  auto self = shared_from_this();
  while (acceptor.is_open()) {
    auto [error, socket] = co_await acceptor.async_accept(use_tuple);
    if (error) {
      if (error == asio::error::operation_aborted || !acceptor.is_open()) break;
      spdlog::warn("web server: accept failed: {}", error.message());
      continue;
    }
    if (connections >= options.max_connections) {
      boost::system::error_code ignored;
      spdlog::warn("web server: refused {}: {} connections already open (the limit)",
                   socket.remote_endpoint(ignored).address().to_string(), connections);
      socket.close(ignored);
      continue;
    }
    ++connections;
    asio::co_spawn(io, [self, socket = std::move(socket)]() mutable -> asio::awaitable<void> {
      co_await self->connection(std::move(socket));
      --self->connections;
    }, asio::detached);
  }
}

asio::awaitable<void> HttpServer::Impl::connection(tcp::socket socket) {
  auto self = shared_from_this();
  boost::system::error_code ignored;
  const auto remote = socket.remote_endpoint(ignored);
  const std::string peer = fmt::format("{}:{}", remote.address().to_string(), remote.port());
  if (!tls) {
    PlainStream stream(std::move(socket));
    Registration registration(*this, stream.socket());
    co_await serve(stream, peer, registration);
    co_return;
  }
  TlsStream stream(std::move(socket), *tls);
  Registration registration(*this, beast::get_lowest_layer(stream).socket());
  beast::get_lowest_layer(stream).expires_after(options.handshake_timeout);
  auto [error] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
  if (error) {
    // No answer beyond the TLS alert OpenSSL may send (none to a plain-HTTP
    // request: not one byte), and no other connection notices.
    if (!stopped) spdlog::warn("web server {}: TLS handshake failed: {}", peer, handshake_failure(error));
    beast::get_lowest_layer(stream).close();
    co_return;
  }
  co_await serve(stream, peer, registration);
}

template <typename Stream>
asio::awaitable<void> HttpServer::Impl::serve(Stream& stream, const std::string& peer, Registration& registration) {
  auto self = shared_from_this();
  auto& lowest = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  while (!stopped) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(options.max_body_bytes);
    lowest.expires_after(options.request_timeout);
    auto [error, n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
    if (stopped || !site) break;
    if (error) {
      // Say what was wrong when it is the request's fault, then close.
      int status = 0;
      std::string why;
      if (error == bhttp::error::body_limit) {
        status = 413;
        why = fmt::format("the body is larger than {} bytes", options.max_body_bytes);
      } else if (error == bhttp::error::header_limit) {
        status = 431;
        why = fmt::format("the headers are larger than {} bytes", options.max_header_bytes);
      } else if (!is_disconnect(error) && error.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
        status = 400;
        why = "malformed HTTP request: " + error.message();
      }
      if (status) {
        auto response = to_response(error_response(status, why), 11, false, false);
        lowest.expires_after(options.request_timeout);
        co_await bhttp::async_write(stream, response, use_tuple);
      }
      break;
    }
    auto request = parser.release();
    if (websocket::is_upgrade(request)) {
      // Which feed, if any, is the Site's to say (the dashboard's is at /ws).
      auto opened = site->open_feed(to_request(request));
      Feed* const* feed = std::get_if<Feed*>(&opened);
      if (!feed || !*feed) {
        const Response refusal = feed ? error_response(404, "no event feed here") : std::get<Response>(opened);
        auto response = to_response(refusal, request.version(), false, false);
        lowest.expires_after(options.request_timeout);
        co_await bhttp::async_write(stream, response, use_tuple);
        break;
      }
      registration.release();  // the client below keeps itself (and its socket) in `websockets`
      auto client = std::make_shared<WebSocketClient<Stream>>(self, std::move(stream), peer, **feed);
      websockets.insert(client);
      co_await client->run(std::move(request));
      co_return;
    }
    const bool head = request.method() == bhttp::verb::head;
    const Response answer = site->handle(to_request(request));
    auto response = to_response(answer, request.version(), request.keep_alive(), head);
    lowest.expires_after(options.request_timeout);
    auto [write_error, written] = co_await bhttp::async_write(stream, response, use_tuple);
    if (write_error || !response.keep_alive()) break;
  }
  co_await end_connection(stream);
}

HttpServer::HttpServer(asio::io_context& io, Site& site, HttpServerOptions options)
    : impl_(std::make_shared<Impl>(io, site, std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  auto& acceptor = impl_->acceptor;
  acceptor.open(impl_->options.listen.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(impl_->options.listen);
  acceptor.listen();
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
}

void HttpServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  for (auto* socket : impl_->sockets) socket->close(ignored);
  const auto websockets = impl_->websockets;  // close_now() leads to erasure from the set
  for (const auto& client : websockets) client->close_now();
  impl_->websockets.clear();
  impl_->site = nullptr;
}

bool HttpServer::https() const { return impl_->tls.has_value(); }

asio::ip::tcp::endpoint HttpServer::local_endpoint() const {
  boost::system::error_code ignored;
  return impl_->acceptor.local_endpoint(ignored);
}

}  // namespace icegate::http

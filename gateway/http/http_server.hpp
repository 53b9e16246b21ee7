// A Site on the network (site.hpp: the dashboard, or an exercise hosted for
// people): an HTTP/1.1 server with WebSocket feeds, over plain TCP or, with
// `https`, over TLS for every connection. It runs on the io_context of what it
// serves (the gateway's own, so the dashboard reads the router's state without
// locks). The only translation unit that includes Boost.Beast is http_server.cpp.
//
// One slow or hostile client never harms the others or the gateway: every
// read has a deadline and a size limit, connections are capped, and each
// WebSocket has a bounded queue; a client that falls too far behind is
// closed with the reason in the close frame.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace icegate::http {

class Site;

// The server's certificate (PEM; the leaf first, then any intermediates) and
// its private key (PEM). pki::issue_server makes both from the exercise's CA.
struct HttpsFiles {
  std::filesystem::path certificate;
  std::filesystem::path key;
};

struct HttpServerOptions {
  boost::asio::ip::tcp::endpoint listen{boost::asio::ip::make_address("127.0.0.1"), 8080};
  std::size_t max_connections = 256;           // HTTP and WebSocket together
  std::chrono::milliseconds request_timeout{30'000};  // to read one request (and between keep-alive requests)
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t websocket_queue_events = 4096;   // events waiting for one WebSocket, at most...
  std::size_t websocket_queue_bytes = 16u << 20;  // ...and bytes; beyond either it is closed
  std::chrono::milliseconds websocket_close_grace{5'000};  // for the close frame to go out, then the socket closes
  // With HTTPS, every connection is TLS (pages, API and WebSockets alike); a
  // client that does not speak TLS gets no answer (a plain-HTTP request, not
  // one byte) and is closed; a failed handshake is logged. TLS 1.2 and
  // 1.3: browsers are the clients here, and a phone or a managed laptop at an
  // exercise may still stop at 1.2 (1.2 only with ECDHE and AEAD ciphers).
  std::optional<HttpsFiles> https;
  std::chrono::milliseconds handshake_timeout{10'000};  // for a client to complete the TLS handshake
};

class HttpServer {
 public:
  // `site` must outlive the server, or stop() must be called first. With
  // options.https, throws std::runtime_error naming the file when the
  // certificate or key cannot be loaded or do not match.
  HttpServer(boost::asio::io_context& io, Site& site, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting; throws std::system_error when the address cannot be bound.
  void start();
  // Stops accepting and closes every connection; on the io thread. Idempotent.
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  bool https() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace icegate::http

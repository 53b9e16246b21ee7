// The dashboard on the network: an HTTP/1.1 server with a WebSocket feed, on
// the gateway's own io_context (same thread as the gateway, so the dashboard
// reads the router's state without locks). The only translation unit that
// includes Boost.Beast is http_server.cpp.
//
// One slow or hostile client never harms the others or the gateway: every
// read has a deadline and a size limit, connections are capped, and each
// WebSocket has a bounded queue; a client that falls too far behind is
// closed with the reason in the close frame.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace icegate::http {

class Dashboard;

struct HttpServerOptions {
  boost::asio::ip::tcp::endpoint listen{boost::asio::ip::make_address("127.0.0.1"), 8080};
  std::size_t max_connections = 256;           // HTTP and WebSocket together
  std::chrono::milliseconds request_timeout{30'000};  // to read one request (and between keep-alive requests)
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t websocket_queue_events = 4096;   // events waiting for one WebSocket, at most...
  std::size_t websocket_queue_bytes = 16u << 20;  // ...and bytes; beyond either it is closed
  std::chrono::milliseconds websocket_close_grace{5'000};  // for the close frame to go out, then the socket closes
};

class HttpServer {
 public:
  // `dashboard` must outlive the server, or stop() must be called first.
  HttpServer(boost::asio::io_context& io, Dashboard& dashboard, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting; throws std::system_error when the address cannot be bound.
  void start();
  // Stops accepting and closes every connection; on the io thread. Idempotent.
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace icegate::http

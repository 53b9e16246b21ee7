// What an HttpServer serves: a Site answers requests as plain data and opens
// event feeds for WebSockets. The dashboard is one Site; an exercise hosted
// for people (clients/exercise/host) is another, which mounts the dashboard
// of each table under its own paths. The server (http_server.cpp) knows
// sockets, TLS and HTTP framing; a Site knows everything else.
//
// Threading: every call is made on the server's io_context thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "gateway/http/api.hpp"

namespace icegate::http {

// A stream of events (JSON text) a WebSocket carries to a page.
class Feed {
 public:
  using EventText = std::shared_ptr<const std::string>;
  using Subscriber = std::function<void(const EventText&)>;
  virtual ~Feed() = default;
  // Every event from now on; the subscriber must not block, and may
  // unsubscribe (itself or others) from inside the call.
  virtual std::uint64_t subscribe(Subscriber subscriber) = 0;
  virtual void unsubscribe(std::uint64_t id) = 0;
  // Remembered events after `seq`, oldest first (a reconnecting page catches up).
  virtual std::vector<EventText> events_after(std::uint64_t seq) const = 0;
  // The server closed a subscriber that fell too far behind.
  virtual void count_dropped_client() {}
};

class Site {
 public:
  virtual ~Site() = default;
  // Every request except a WebSocket upgrade.
  virtual Response handle(const Request& request) = 0;
  // A WebSocket upgrade: the feed to subscribe it to, or the refusal to send.
  // The feed must outlive the WebSocket, or the server must be stopped first.
  virtual std::variant<Feed*, Response> open_feed(const Request& request) = 0;
};

}  // namespace icegate::http

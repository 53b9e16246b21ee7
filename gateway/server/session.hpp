// One session per connection, owning its TLS stream. Spawned by the acceptor,
// kept alive by the `self` its coroutines capture; nothing holds a raw `this`
// across a suspension. A reader coroutine handles frames from the node; only
// the writer coroutine writes, started when frames are queued; a watchdog
// enforces every deadline. A full outbound queue pauses the reader until the
// writer has drained half of it (back-pressure, not unbounded memory).
//
// Thousands of sessions may sit idle, so an idle one holds only what it must:
// the TLS stream (no record buffers while idle), the reader waiting for the
// next frame and the watchdog's timer. The writer runs only while there is
// something to write (and for a moment after, so that a busy connection does
// not start a new one for every frame), and the queue allocates nothing
// while it is empty.
#pragma once

#include <list>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/server/router.hpp"
#include "gateway/transport/frame_stream.hpp"

namespace icegate::server {

struct GatewayConfig;
class Gateway;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `stop` is the session's cancellation slot: the gateway emits to it when
  // shutting down, and the session answers with shut_down(). It is cleared
  // when run() returns.
  Session(transport::TlsStream stream, const GatewayConfig& config, Router& router,
          const Router::PolicyGetter& policy, boost::asio::cancellation_slot stop = {});

  // Returns once the connection is closed: after the writer has written what
  // it had to (within the write deadline) and closed it.
  boost::asio::awaitable<void> run();

  // Queues a frame for the writer. False (and the session closes) when the
  // queue is full.
  bool send(Outgoing frame);
  bool send(FrameBytes bytes) { return send(Outgoing{std::move(bytes), 0, false}); }
  // Queues an Error frame; a fatal one closes the session once written.
  void send_error(v1::ErrorCode code, std::string text, bool fatal, std::string message_id = {});
  // Closes at the next opportunity (used when superseded or on shutdown).
  void close(v1::ErrorCode code, std::string text);
  // The router hands over frames owed to this node, committed and in order,
  // no more than its delivery window (so never a whole backlog). The writer
  // sends them after the frames queued by send(), and reports them written
  // (Router::written), which opens the window for more.
  void deliver(std::vector<Outgoing> frames);
  // Stops handling new frames (the gateway is draining); what is queued still
  // goes out. A connection still in its handshake is closed at once: it has
  // nothing queued and the node has not been welcomed.
  void shut_down();

  const std::string& node_id() const { return node_id_; }
  const std::string& peer() const { return peer_; }

 private:
  boost::asio::awaitable<bool> handshake();
  boost::asio::awaitable<void> reader();
  boost::asio::awaitable<void> writer();
  // Starts the writer unless it is running (a running writer looks at the
  // queue again before it stops) or the handshake is still writing for itself.
  void wake_writer();
  void handle(const v1::Frame& frame);
  void handle_submit(const v1::Submit& submit);
  void log_frame(const char* direction, const v1::Frame& frame) const;
  // Counts a frame and tells the observer, if any (which costs nothing otherwise).
  void observe_in(const v1::Frame& frame, std::size_t bytes);
  void observe_out(const std::string& bytes);
  void observe_out(const v1::Frame& frame, std::size_t bytes);
  void audit_connection(std::string kind, std::string reason);

  transport::TlsStream stream_;
  transport::Deadline deadline_;
  const GatewayConfig& config_;
  Router& router_;
  const Router::PolicyGetter& policy_;
  std::string node_id_;
  std::string peer_;
  std::string read_buffer_;
  // Confined to the session's executor (today the gateway's one io thread,
  // shared with the router, which calls send() and deliver()).
  std::list<Outgoing> outbound_;  // a list: nothing allocated while empty, unlike a deque
  std::list<Outgoing> owed_;      // handed over by the router: at most its delivery window
  boost::asio::steady_timer wake_writer_;  // a lingering writer waits on it
  boost::asio::steady_timer resume_reading_;  // a reader paused by back-pressure waits on it
  bool reading_paused_ = false;   // the queue is full: the reader waits for the writer
  bool writer_allowed_ = false;   // the handshake is over: the writer may run
  bool writer_running_ = false;   // stays true once the writer has closed the connection
  bool closing_ = false;  // read no more; the writer writes what is queued, then closes
  FrameBytes fatal_;      // the Error frame after which the writer closes
  bool draining_ = false;
  bool welcoming_ = false;          // the handshake is writing the Welcome
  bool attached_ = false;           // registered with the router: reports owed frames written
  std::uint64_t lane_ = 0;          // its delivery lane at the router, named in those reports
  std::string end_reason_;          // why the session ended, for watchers
  boost::asio::cancellation_slot stop_;
};

}  // namespace icegate::server

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
//
// Threads: a session runs on its own executor, one of the gateway's session
// threads (`serve --threads`), which may not be the router's. Everything it
// owns is confined to that executor. What the router asks of it (deliver,
// reply, reply_error, close) may be called from any thread: it is
// dispatched to the session's executor, with values. Its cancellation slot
// (shut_down) is emitted to on that executor only, as asio's signals and
// slots are not thread-safe. What it asks of the
// router runs on the router's executor (on_router), carrying values; the
// reader waits for the router's answer before it reads the next frame, except
// after an Ack (posted; at most 64 of a node's queued there), and before it
// answers any other frame it waits for those posted Acks to be settled: a
// node's frames are handled, and answered, in the order it sent them.
#pragma once

#include <list>
#include <memory>
#include <string>
#include <type_traits>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/server/router.hpp"
#include "gateway/transport/frame_stream.hpp"
#include "gateway/transport/identity.hpp"

namespace icegate::federation {
class LinkEnd;
class PeerLinks;
}  // namespace icegate::federation

namespace icegate::server {

struct GatewayConfig;
class Gateway;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `stop` is the session's cancellation slot: the gateway emits to it when
  // shutting down, on the session's executor, and the session answers with
  // shut_down(). It is connected here (on the decision thread, before run()
  // is spawned) and cleared when run() returns (on the session's thread).
  //
  // With `anchors`, the other side is identified by the CA its certificate
  // chains to as well as its Common Name (transport/identity.hpp): a node as
  // before, or a peer gateway, whose link is handed to `peer_links` (on the
  // router's executor) and whose frames never reach the router. Without
  // them, every client is a node named by its certificate's CN.
  Session(transport::TlsStream stream, const GatewayConfig& config, Router& router,
          const Router::PolicyGetter& policy, boost::asio::cancellation_slot stop = {},
          std::shared_ptr<const transport::TrustAnchors> anchors = nullptr,
          federation::PeerLinks* peer_links = nullptr);

  // Returns once the connection is closed: after the writer has written what
  // it had to (within the write deadline) and closed it.
  boost::asio::awaitable<void> run();

  // Called by the router, from any thread; each takes effect on the session's
  // executor (at once when the caller is already on it), in the order called.
  //
  // Queues frames answering what the node asked (Acks, Receipts, heartbeat
  // echoes, Errors): written before owed frames.
  void reply(FrameBytes bytes);
  void reply_error(v1::ErrorCode code, std::string text, bool fatal, std::string message_id = {});
  // Closes at the next opportunity (used when superseded or on shutdown).
  void close(v1::ErrorCode code, std::string text);
  // The router hands over frames owed to this node, committed and in order,
  // no more than its delivery window (so never a whole backlog). The writer
  // sends them after the frames queued by reply(), and reports them written
  // (Router::written), which opens the window for more.
  void deliver(std::vector<Outgoing> frames);
  // Stops handling new frames (the gateway is draining); what is queued still
  // goes out. A connection still in its handshake is closed at once: it has
  // nothing queued and the node has not been welcomed. Session executor only:
  // it answers the session's cancellation slot, which the gateway emits to
  // on this session's thread.
  void shut_down();

  const std::string& node_id() const { return node_id_; }
  const std::string& peer() const { return peer_; }

 private:
  boost::asio::awaitable<bool> handshake();
  // After the TLS handshake, for a peer gateway: its Hello, PeerLinks' admission, the Welcome.
  boost::asio::awaitable<bool> handshake_peer(transport::Clock::time_point hello_by);
  // Refuses with a fatal Error written directly (the writer is not running
  // yet), audited as connection_refused.
  boost::asio::awaitable<bool> refuse_connection(v1::ErrorCode code, std::string text);
  // A frame on a peer gateway's link: heartbeats echoed, the rest to PeerLinks.
  void handle_peer(const v1::Frame& frame);
  boost::asio::awaitable<void> reader();
  boost::asio::awaitable<void> writer();
  // Queues a frame for the writer. False (and the session closes) when the
  // queue is full. Session executor only.
  bool send(Outgoing frame);
  bool send(FrameBytes bytes) { return send(Outgoing{std::move(bytes), 0, false}); }
  // Queues an Error frame; a fatal one closes the session once written.
  void send_error(v1::ErrorCode code, std::string text, bool fatal, std::string message_id = {});
  // Runs `f` on the router's executor and resumes on the session's with its
  // result (directly, when the two are the same thread).
  template <typename F>
  boost::asio::awaitable<std::invoke_result_t<F&>> on_router(F f);
  // Runs `f` on the router's executor and does not wait for it.
  template <typename F>
  void post_to_router(F f);
  // Runs `f(session)` on the session's executor (at once when already there).
  template <typename F>
  void on_session(F f);
  // Starts the writer unless it is running (a running writer looks at the
  // queue again before it stops) or the handshake is still writing for itself.
  void wake_writer();
  boost::asio::awaitable<void> handle(const v1::Frame& frame);
  boost::asio::awaitable<void> handle_submit(const v1::Submit& submit);
  boost::asio::awaitable<void> handle_ack(const std::string& message_id);
  // Said to the node when an Ack settled nothing. Session executor only.
  void refuse_ack(const std::string& message_id);
  // Waits until the router has settled the Acks posted to it (at once if none were).
  boost::asio::awaitable<void> router_caught_up();
  void log_frame(const char* direction, const v1::Frame& frame) const;
  // Counts a frame and tells the observer, if any (which costs nothing otherwise).
  // (Counted here; the observer is told on the router's executor.)
  void observe_in(const v1::Frame& frame, std::size_t bytes);
  void observe_out(const std::string& bytes);
  void observe_out(const v1::Frame& frame, std::size_t bytes);
  audit::AuditRecord connection_record(std::string kind, std::string reason) const;
  // Appends the record on the router's executor.
  void audit_connection(std::string kind, std::string reason);

  transport::TlsStream stream_;
  transport::Deadline deadline_;
  const GatewayConfig& config_;
  Router& router_;
  const Router::PolicyGetter& policy_;
  // The router's executor is this session's too (the same thread): calls
  // across are made directly, as they were with one thread.
  const bool shares_router_thread_;
  // Otherwise: counts as work on the router's io_context while the session
  // lives, so that its loop does not run out while sessions still report to it.
  boost::asio::any_io_executor router_work_;
  std::string node_id_;  // set in the handshake, before the router first hears of the session; then read-only
  std::string peer_;     // set in the constructor; read-only
  std::string read_buffer_;
  // Everything below is guarded by: the session's executor (stream_'s), the
  // only one that reads or writes it.
  std::list<Outgoing> outbound_;  // a list: nothing allocated while empty, unlike a deque
  std::list<Outgoing> owed_;      // handed over by the router: at most its delivery window
  boost::asio::steady_timer wake_writer_;  // a lingering writer waits on it
  boost::asio::steady_timer resume_reading_;  // a reader paused by back-pressure waits on it
  bool reading_paused_ = false;   // the queue is full: the reader waits for the writer
  // Acks posted to the router since the reader last waited for one (see handle_ack).
  std::size_t acks_posted_ = 0;
  bool writer_allowed_ = false;   // the handshake is over: the writer may run
  bool writer_running_ = false;   // stays true once the writer has closed the connection
  bool closing_ = false;  // handle no more; the writer writes what is queued, then closes
  bool reader_done_ = false;  // the reader has ended (the node closed, or the writer did)
  FrameBytes fatal_;      // the Error frame after which the writer closes
  bool draining_ = false;
  bool welcoming_ = false;          // the handshake is attaching at the router or writing the Welcome
  bool attached_ = false;           // registered with the router: reports owed frames written
  std::uint64_t lane_ = 0;          // its delivery lane at the router, named in those reports
  std::string end_reason_;          // why the session ended, for watchers
  boost::asio::cancellation_slot stop_;  // guarded by: the session's executor (see the constructor)
  std::shared_ptr<const transport::TrustAnchors> anchors_;  // read-only
  federation::PeerLinks* peer_links_;  // used on the router's executor only
  // Set in the handshake when the other side is a peer gateway whose link
  // PeerLinks admitted; then read-only.
  std::shared_ptr<federation::LinkEnd> peer_link_;
};

}  // namespace icegate::server

#include "gateway/server/session.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <google/protobuf/text_format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "gateway/federation/peer_link.hpp"
#include "gateway/model/json.hpp"
#include "gateway/server/gateway.hpp"
#include "gateway/transport/tls.hpp"
#include "gateway/wire/codec.hpp"
#include "gateway/wire/error_frame.hpp"

// g++ 12 reports Asio's awaitable frames (allocated by their own operator
// new, freed by the matching operator delete) as mismatched once it inlines a
// coroutine that co_spawns another: a false positive of its
// -Wmismatched-new-delete with coroutines. clang reports nothing.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace icegate::server {

namespace asio = boost::asio;
using transport::Clock;
using Side = transport::Deadline::Side;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// How long an idle writer waits for more before it stops (and a new one is
// started for the next frame).
constexpr auto writer_linger = std::chrono::seconds(1);
// How long a session closing after its fatal Error keeps reading (and
// dropping) what the node still sends, waiting for the node to close: a
// lingering close, as HTTP servers do (see Session::writer).
constexpr auto close_linger = std::chrono::seconds(2);
// The most read buffer a session keeps between frames (W1's 1 KB messages fit).
constexpr std::size_t idle_read_buffer_bytes = 4096;
// A node's Acks posted to the router at most before the reader waits for one
// (Session::handle_ack): what a node can queue there is bounded.
constexpr std::size_t acks_awaited_every = 64;
constexpr std::string_view write_deadline_passed = "write deadline passed (the node is not reading)";

FrameBytes frame_bytes(const v1::Frame& frame) {
  return std::make_shared<const std::string>(wire::encode_frame(frame));
}

// Tells the observer of a frame in or out (the router's executor only).
void tell(Observer* observer, const std::string& node, FrameDirection direction, const v1::Frame& frame,
          std::size_t bytes) {
  observer->frame(node, direction, frame, bytes);
  if (direction == FrameDirection::in) return;
  if (frame.has_deliver())
    observer->delivery(node, frame.deliver().message().id(),
                       wire::decode(frame.deliver().decision()).value_or(Decision::deny));
  else if (frame.has_receipt())
    observer->receipt(node, frame.receipt().message_id());
}

// A peer gateway's accepted link, as PeerLinks sees it. Weak: the session
// ends with its connection, whatever PeerLinks still holds.
class SessionLinkEnd final : public federation::LinkEnd {
 public:
  explicit SessionLinkEnd(std::weak_ptr<Session> session) : session_(std::move(session)) {}
  void send(federation::FrameBytes bytes) override {
    if (auto session = session_.lock()) session->reply(std::move(bytes));
  }
  void close(v1::ErrorCode code, std::string text) override {
    if (auto session = session_.lock()) session->close(code, std::move(text));
  }

 private:
  std::weak_ptr<Session> session_;
};

}  // namespace

Session::Session(transport::TlsStream stream, const GatewayConfig& config, Router& router,
                 const Router::PolicyGetter& policy, asio::cancellation_slot stop,
                 std::shared_ptr<const transport::TrustAnchors> anchors, federation::PeerLinks* peer_links)
    : stream_(std::move(stream)),
      deadline_(stream_.get_executor()),
      config_(config),
      router_(router),
      policy_(policy),
      shares_router_thread_(stream_.get_executor() == router.executor()),
      wake_writer_(stream_.get_executor()),
      resume_reading_(stream_.get_executor()),
      stop_(stop),
      anchors_(std::move(anchors)),
      peer_links_(peer_links) {
  if (!shares_router_thread_) router_work_ = asio::prefer(router.executor(), asio::execution::outstanding_work.tracked);
  boost::system::error_code ignored;
  const auto endpoint = stream_.lowest_layer().remote_endpoint(ignored);
  peer_ = fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
  // Connected here, not in run(): the gateway may stop before run() starts
  // (this runs on the decision thread before run() is spawned on the
  // session's). The gateway emits on the session's executor only, as does
  // run() clear the slot before it returns: an emit either finds `this`
  // alive (held by run(), or by the spawn that has not yet started it) or
  // the slot empty.
  if (stop_.is_connected()) stop_.assign([this](asio::cancellation_type) { shut_down(); });
}

void Session::shut_down() {
  draining_ = true;
  // A node's session is closed by Gateway::stop() once the commits in flight
  // are done; one being welcomed, by the handshake when its Welcome is out.
  if (attached_ || welcoming_) return;
  if (end_reason_.empty()) end_reason_ = "the gateway is shutting down";
  // Its handshake (or the Hello it waits for) fails at once.
  boost::system::error_code ignored;
  stream_.lowest_layer().close(ignored);
}

template <typename F>
asio::awaitable<std::invoke_result_t<F&>> Session::on_router(F f) {
  using Result = std::invoke_result_t<F&>;
  if (shares_router_thread_) co_return f();
  // The reader waits here, so `f` (in its frame) outlives the call.
  co_return co_await asio::co_spawn(router_.executor(), [&f]() -> asio::awaitable<Result> { co_return f(); },
                                    asio::use_awaitable);
}

template <typename F>
void Session::post_to_router(F f) {
  if (shares_router_thread_) return f();
  asio::post(router_.executor(), std::move(f));
}

template <typename F>
void Session::on_session(F f) {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(), f = std::move(f)]() mutable { f(*self); });
}

void Session::reply(FrameBytes bytes) {
  on_session([bytes = std::move(bytes)](Session& self) mutable { self.send(std::move(bytes)); });
}

void Session::reply_error(v1::ErrorCode code, std::string text, bool fatal, std::string message_id) {
  on_session([=, text = std::move(text), message_id = std::move(message_id)](Session& self) mutable {
    self.send_error(code, std::move(text), fatal, std::move(message_id));
  });
}

void Session::close(v1::ErrorCode code, std::string text) { reply_error(code, std::move(text), true); }

void Session::deliver(std::vector<Outgoing> frames) {
  on_session([frames = std::move(frames)](Session& self) mutable {
    if (self.closing_) return;  // the node's next session is handed them again
    for (auto& frame : frames) self.owed_.push_back(std::move(frame));
    self.wake_writer();
  });
}

asio::awaitable<void> Session::run() {
  auto self = shared_from_this();
  deadline_.watch(stream_.lowest_layer(), self);
  if (co_await handshake()) {
    writer_allowed_ = true;
    wake_writer();  // sends what the node is owed from before it connected
    co_await reader();
    reader_done_ = true;  // a lingering writer need wait no longer (woken below)
    const std::string why = end_reason_.empty() ? "closed" : end_reason_;
    if (peer_link_) {
      // PeerLinks logs and audits the link going down (unless it was superseded).
      post_to_router([links = peer_links_, gateway = node_id_, end = peer_link_, why] {
        links->lost(gateway, end.get(), why);
      });
    } else {
    spdlog::info("disconnected node={} peer={}", node_id_, peer_);
    post_to_router([&router = router_, weak = weak_from_this(), node = node_id_, peer = peer_, lane = lane_, why,
                    record = connection_record("disconnection", why)]() mutable {
      router.detach(node, weak, lane);
      router.audit(std::move(record));
      if (auto* observer = router.observer()) observer->connection(node, peer, false, why);
    });
    }
  }
  closing_ = true;
  if (writer_allowed_) {
    // The writer closes the socket once it has written what it must; start it
    // in case it is idle, and end with the connection (the writer cancels
    // resume_reading_, free now that the reader is done, when it closes).
    wake_writer();
    while (stream_.lowest_layer().is_open()) {
      resume_reading_.expires_at(Clock::time_point::max());
      co_await resume_reading_.async_wait(use_tuple);
    }
  } else {
    // The handshake failed: no writer ran, and the watchdog may still be
    // waiting for the handshake deadline.
    deadline_.cancel();
    boost::system::error_code ignored;
    stream_.lowest_layer().close(ignored);
  }
  stop_.clear();
}

void Session::wake_writer() {
  if (!writer_allowed_) return;
  if (writer_running_) {
    wake_writer_.cancel();  // in case it is lingering; it looks at the queue again either way
    return;
  }
  writer_running_ = true;
  asio::co_spawn(stream_.get_executor(), [self = shared_from_this()]() { return self->writer(); }, asio::detached);
}

asio::awaitable<bool> Session::handshake() {
  // One deadline covers the TLS handshake and the Hello that must follow it,
  // however the node spreads its bytes over that time.
  const auto hello_by = Clock::now() + config_.handshake_timeout;
  deadline_.expires_at(Side::read, hello_by);
  auto [tls_error] = co_await stream_.async_handshake(asio::ssl::stream_base::server, use_tuple);
  if (tls_error) {
    std::string why = deadline_.expired() ? "handshake timed out"
                      : draining_         ? end_reason_
                                          : transport::describe(tls_error);
    // Which check failed, when it was the client's certificate ("unable to
    // get local issuer certificate": it chains to no CA this gateway trusts).
    if (const long verify = SSL_get_verify_result(stream_.native_handle()); verify != X509_V_OK)
      why += fmt::format(" ({})", X509_verify_cert_error_string(verify));
    spdlog::warn("refused connection peer={}: TLS handshake failed: {}", peer_, why);
    audit_connection("connection_refused", "TLS handshake failed: " + why);
    deadline_.cancel();
    boost::system::error_code ignored;
    stream_.lowest_layer().close(ignored);
    co_return false;
  }

  auto refuse = [this](v1::ErrorCode code, std::string text) { return refuse_connection(code, std::move(text)); };

  // Who it is: the CA its chain ends at and its Common Name (identity.hpp).
  transport::Identity identity;
  if (anchors_) {
    identity = anchors_->identify(stream_.native_handle());
  } else if (const auto common_name = transport::peer_common_name(stream_.native_handle())) {
    identity = {transport::Identity::Kind::node, *common_name, {}};
  } else {
    identity.reason = "client certificate has no Common Name";
  }
  node_id_ = identity.name;
  if (identity.kind == transport::Identity::Kind::refused)
    co_return co_await refuse(v1::ERROR_CODE_UNKNOWN_NODE, identity.reason);
  if (identity.kind == transport::Identity::Kind::peer) co_return co_await handshake_peer(hello_by);
  if (!policy_()->has_node(node_id_))
    co_return co_await refuse(v1::ERROR_CODE_UNKNOWN_NODE,
                              fmt::format("node '{}' is not in the policy", node_id_));

  v1::Frame frame;
  auto result = co_await transport::read_frame(stream_, deadline_, config_.handshake_timeout,
                                               config_.handshake_timeout, config_.max_frame_bytes, read_buffer_,
                                               frame, hello_by);
  if (result.error) {
    if (deadline_.expired(Side::read)) co_return co_await refuse(v1::ERROR_CODE_TIMEOUT, "no Hello before the handshake deadline");
    spdlog::info("connection peer={} cn={} closed before Hello", peer_, node_id_);
    co_return false;
  }
  if (result.frame_error == wire::FrameError::too_large)
    co_return co_await refuse(v1::ERROR_CODE_FRAME_TOO_LARGE,
                              fmt::format("frame of {} bytes exceeds the limit of {}", result.length, config_.max_frame_bytes));
  if (result.frame_error != wire::FrameError::none || !frame.has_hello())
    co_return co_await refuse(v1::ERROR_CODE_HELLO_REQUIRED, "the first frame must be Hello");
  log_frame("in", frame);
  observe_in(frame, result.length + wire::frame_header_bytes);
  const auto& hello = frame.hello();
  if (hello.protocol_version() != wire::protocol_version)
    co_return co_await refuse(v1::ERROR_CODE_PROTOCOL_VERSION,
                              fmt::format("protocol version {} is not supported (this gateway speaks {})",
                                          hello.protocol_version(), wire::protocol_version));
  if (hello.node_id() != node_id_)
    co_return co_await refuse(v1::ERROR_CODE_NODE_MISMATCH,
                              fmt::format("Hello names node '{}' but the certificate is for '{}'", hello.node_id(), node_id_));

  v1::Frame welcome;
  welcome.mutable_welcome()->set_gateway_id(config_.gateway_id);
  welcome.mutable_welcome()->set_protocol_version(wire::protocol_version);
  welcome.mutable_welcome()->set_policy_version(policy_()->version());
  welcome.mutable_welcome()->set_session_id(make_uuid());
  // Being welcomed from here: a shutdown now lets the handshake finish (the
  // router refuses to attach once draining, and the node is told why).
  welcoming_ = true;
  // Attached before the Welcome is written: once the node has its Welcome
  // (and so may tell others it is connected), the router already counts it
  // connected, whichever thread either session runs on.
  auto attachment = co_await on_router([&]() -> std::optional<Router::Attachment> {
    // Authenticated while the gateway began to drain: it would not be closed with the rest.
    if (router_.draining()) return std::nullopt;
    if (auto* observer = router_.observer()) observer->connection(node_id_, peer_, true, "");
    router_.audit(connection_record("connection", hello.software_version()));
    return router_.attach(node_id_, shared_from_this());
  });
  if (!attachment) co_return co_await refuse(v1::ERROR_CODE_SUPERSEDED, "the gateway is shutting down");
  attached_ = true;
  lane_ = attachment->lane;
  if (attachment->replaced)
    attachment->replaced->close(v1::ERROR_CODE_SUPERSEDED, "a newer session for this node has connected");

  log_frame("out", welcome);
  const std::string welcome_bytes = wire::encode_frame(welcome);
  if (auto error = co_await transport::write_bytes(stream_, deadline_, config_.write_timeout, welcome_bytes)) {
    spdlog::info("connection node={} peer={} lost during Welcome: {}", node_id_, peer_, error.message());
    // Attached: run() detaches it (and records the disconnection); nothing more is read or written.
    end_reason_ = "lost during Welcome: " + transport::describe(error);
    closing_ = true;
    co_return true;
  }
  observe_out(welcome, welcome_bytes.size());
  spdlog::info("connected node={} peer={} software={}", node_id_, peer_, hello.software_version());
  // Welcomed while the gateway began to shut down: told so, like every session.
  if (draining_) close(v1::ERROR_CODE_SUPERSEDED, "the gateway is shutting down");
  co_return true;
}

asio::awaitable<bool> Session::refuse_connection(v1::ErrorCode code, std::string text) {
  spdlog::warn("refused connection peer={} cn={}: {}: {}", peer_, node_id_, wire::error_code_name(code), text);
  audit_connection("connection_refused", wire::error_code_name(code) + ": " + text);
  const auto bytes = wire::encode_frame(wire::error_frame(code, std::move(text), true, {}));
  co_await transport::write_bytes(stream_, deadline_, config_.write_timeout, bytes);
  deadline_.cancel();
  boost::system::error_code ignored;
  stream_.lowest_layer().shutdown(transport::tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
  co_return false;
}

// The same Hello as a node's, naming the peer gateway (its certificate's CN);
// then PeerLinks admits the link (one per pair of gateways) and the peer is
// welcomed with this gateway's id. Nothing is attached at the router.
asio::awaitable<bool> Session::handshake_peer(Clock::time_point hello_by) {
  if (peer_links_ == nullptr)
    co_return co_await refuse_connection(v1::ERROR_CODE_UNKNOWN_NODE, "this gateway takes no peer links");
  v1::Frame frame;
  auto result = co_await transport::read_frame(stream_, deadline_, config_.handshake_timeout,
                                               config_.handshake_timeout, config_.max_frame_bytes, read_buffer_,
                                               frame, hello_by);
  if (result.error) {
    if (deadline_.expired(Side::read))
      co_return co_await refuse_connection(v1::ERROR_CODE_TIMEOUT, "no Hello before the handshake deadline");
    spdlog::info("peer gateway {} ({}) closed before Hello", node_id_, peer_);
    co_return false;
  }
  if (result.frame_error != wire::FrameError::none || !frame.has_hello())
    co_return co_await refuse_connection(v1::ERROR_CODE_HELLO_REQUIRED, "the first frame must be Hello");
  log_frame("in", frame);
  const auto& hello = frame.hello();
  if (hello.protocol_version() != wire::protocol_version)
    co_return co_await refuse_connection(v1::ERROR_CODE_PROTOCOL_VERSION,
                                         fmt::format("protocol version {} is not supported (this gateway speaks {})",
                                                     hello.protocol_version(), wire::protocol_version));
  if (hello.node_id() != node_id_)
    co_return co_await refuse_connection(
        v1::ERROR_CODE_NODE_MISMATCH,
        fmt::format("Hello names '{}' but the certificate is peer gateway {}'s", hello.node_id(), node_id_));
  auto end = std::make_shared<SessionLinkEnd>(weak_from_this());
  const auto refused = co_await on_router([&, links = peer_links_]() -> std::optional<std::string> {
    if (router_.draining()) return std::string("the gateway is shutting down");
    return links->admit(node_id_, end);
  });
  if (refused) co_return co_await refuse_connection(v1::ERROR_CODE_SUPERSEDED, *refused);
  peer_link_ = std::move(end);

  v1::Frame welcome;
  welcome.mutable_welcome()->set_gateway_id(config_.gateway_id);
  welcome.mutable_welcome()->set_protocol_version(wire::protocol_version);
  welcome.mutable_welcome()->set_policy_version(policy_()->version());
  welcome.mutable_welcome()->set_session_id(make_uuid());
  log_frame("out", welcome);
  if (auto error = co_await transport::write_bytes(stream_, deadline_, config_.write_timeout,
                                                   wire::encode_frame(welcome))) {
    end_reason_ = "lost during Welcome: " + transport::describe(error);
    closing_ = true;
    co_return true;  // admitted: run() tells PeerLinks it is lost
  }
  spdlog::info("connected peer gateway={} peer={} software={}", node_id_, peer_, hello.software_version());
  if (draining_) close(v1::ERROR_CODE_SUPERSEDED, "the gateway is shutting down");
  co_return true;
}

void Session::handle_peer(const v1::Frame& frame) {
  switch (frame.body_case()) {
    case v1::Frame::kHeartbeat: {
      v1::Frame echo;
      echo.mutable_heartbeat()->set_sent_unix_ms(frame.heartbeat().sent_unix_ms());
      send(frame_bytes(echo));
      return;
    }
    case v1::Frame::kError:
      spdlog::info("peer gateway {} reports error {}: {}", node_id_, wire::error_code_name(frame.error().code()),
                   frame.error().message());
      return;
    default:
      // In order: the reader posts each frame before it reads the next.
      post_to_router([links = peer_links_, gateway = node_id_, frame] { links->received(gateway, frame); });
  }
}

asio::awaitable<void> Session::reader() {
  // Closing, it reads on and drops what it reads, until the node closes or
  // the writer does: bytes left unread when the socket is closed would make
  // it a reset, and the node could lose the frames it had not yet read (the
  // closing Error, the last Acks).
  while (true) {
    // Back-pressure: while the node leaves its answers unread, read nothing
    // more from it (TCP then slows its sending). A node that never reads is
    // closed by the writer's deadline; one that reads late carries on.
    while (outbound_.size() >= config_.outbound_queue_limit && !closing_) {
      reading_paused_ = true;
      resume_reading_.expires_at(Clock::time_point::max());
      co_await resume_reading_.async_wait(use_tuple);
    }
    reading_paused_ = false;
    v1::Frame frame;
    auto result = co_await transport::read_frame(stream_, deadline_, config_.idle_timeout, config_.frame_timeout,
                                                 config_.max_frame_bytes, read_buffer_, frame);
    // A node's frames are answered in the order it sent them: before anything
    // but another Ack is answered, the router settles the Acks posted to it
    // (and so sends their refusals) first. (Before the look at closing_: the
    // session may be closed while the reader waits.)
    if (result.error || result.frame_error != wire::FrameError::none || !frame.has_ack())
      co_await router_caught_up();
    if (closing_) {
      if (result.error || result.frame_error != wire::FrameError::none) break;
      continue;  // dropped: not acknowledged, so the node sends it again later
    }
    if (result.error) {
      if (deadline_.expired(Side::read)) {
        send_error(v1::ERROR_CODE_TIMEOUT,
                   result.length == 0 ? "no frame within the idle deadline" : "the frame's body did not arrive within the frame deadline",
                   true);
      } else if (deadline_.expired(Side::write)) {
        // The writer's deadline cancelled this read too.
        if (end_reason_.empty()) end_reason_ = "write failed: " + std::string(write_deadline_passed);
      } else if (!transport::is_disconnect(result.error)) {
        spdlog::warn("read failed node={} peer={}: {}", node_id_, peer_, transport::describe(result.error));
        if (end_reason_.empty()) end_reason_ = "read failed: " + transport::describe(result.error);
      } else if (end_reason_.empty()) {
        end_reason_ = peer_link_ ? "the peer gateway closed the connection" : "the node closed the connection";
      }
      break;
    }
    switch (result.frame_error) {
      case wire::FrameError::none: break;
      case wire::FrameError::too_large:
        send_error(v1::ERROR_CODE_FRAME_TOO_LARGE,
                   fmt::format("frame of {} bytes exceeds the limit of {}", result.length, config_.max_frame_bytes), true);
        co_return;
      case wire::FrameError::unknown_body:
        // A frame type from a newer protocol: say so, skip it, carry on.
        send_error(v1::ERROR_CODE_UNEXPECTED_FRAME, "unknown frame type", false);
        continue;
      case wire::FrameError::empty:
      case wire::FrameError::not_protobuf:
        send_error(v1::ERROR_CODE_MALFORMED_FRAME,
                   fmt::format("{} bytes that are not an icegate.v1.Frame", result.length), true);
        co_return;
    }
    if (draining_) continue;  // shutting down: not acknowledged, so the node sends it again later
    log_frame("in", frame);
    observe_in(frame, result.length + wire::frame_header_bytes);
    co_await handle(frame);
    // Between frames the buffer holds nothing: after a large frame, do not
    // keep its size for as long as the node stays idle.
    if (read_buffer_.capacity() > idle_read_buffer_bytes) std::string().swap(read_buffer_);
  }
}

asio::awaitable<void> Session::writer() {
  auto self = shared_from_this();
  // Never run inside whoever queued the frame (the router, in the middle of
  // its own work): co_spawn may start this coroutine on the spot.
  co_await asio::post(stream_.get_executor(), asio::use_awaitable);
  // A frame that finds the writer idle goes out on its own, at once. Frames
  // that queue up while a write is in progress go out together with the next
  // write: copied into one buffer (a TLS record per 16 KiB and one send() per
  // record, rather than one of each per frame).
  constexpr std::size_t coalesce_bytes = 64 * 1024;
  std::string batch;
  std::vector<Outgoing> written;
  bool idle = true;      // the last write found nothing more to send
  bool lingered = false;  // waited writer_linger for more, and nothing came
  bool wrote_fatal = false;  // the closing Error is out
  while (stream_.lowest_layer().is_open()) {
    batch.clear();
    written.clear();
    bool fatal = false;
    std::size_t queued_bytes = 0;
    const std::size_t max_frames = idle ? 1 : std::numeric_limits<std::size_t>::max();
    while (!fatal && queued_bytes < coalesce_bytes && written.size() < max_frames) {
      Outgoing next;
      if (!outbound_.empty()) {
        next = std::move(outbound_.front());
        outbound_.pop_front();
      } else if (closing_) {
        break;
      } else if (!owed_.empty()) {
        next = std::move(owed_.front());
        owed_.pop_front();
      } else {
        break;
      }
      fatal = next.bytes == fatal_;
      queued_bytes += next.bytes->size();
      // A lone frame is written from where it is; the copy starts with the second.
      if (written.size() == 1) batch = *written.front().bytes;
      if (!written.empty()) batch += *next.bytes;
      written.push_back(std::move(next));
    }
    idle = written.empty();
    if (written.empty()) {
      if (closing_) break;
      if (lingered) {
        // Nothing to write for a while: stop, so that an idle connection
        // keeps no writer, no write buffer and no waiting timer (thousands of
        // them may be open). No suspension since the queue was found empty,
        // so nothing queued meanwhile is missed: the next frame starts a new
        // writer.
        writer_running_ = false;
        co_return;
      }
      wake_writer_.expires_after(writer_linger);
      auto [woken] = co_await wake_writer_.async_wait(use_tuple);
      lingered = !woken;  // ran out: one more look at the queue, then stop
      continue;
    }
    lingered = false;
    const std::string& bytes = written.size() == 1 ? *written.front().bytes : batch;
    if (auto error = co_await transport::write_bytes(stream_, deadline_, config_.write_timeout, bytes)) {
      const std::string why =
          deadline_.expired(Side::write) ? std::string(write_deadline_passed) : transport::describe(error);
      if (!transport::is_disconnect(error) || deadline_.expired(Side::write))
        spdlog::warn("write failed node={} peer={}: {}", node_id_, peer_, why);
      if (end_reason_.empty()) end_reason_ = "write failed: " + why;
      break;
    }
    for (const auto& frame : written) observe_out(*frame.bytes);
    // Settles what needs no Ack and opens the delivery window (the router may
    // hand over more at once: owed_, not `written`, receives them).
    if (attached_ && std::any_of(written.begin(), written.end(), [](const Outgoing& frame) { return frame.seq > 0; })) {
      if (shares_router_thread_) {
        router_.written(node_id_, lane_, written);
      } else {
        // `written` is reused for the next batch: the router is handed what this one wrote.
        post_to_router([&router = router_, node = node_id_, lane = lane_, frames = std::exchange(written, {})] {
          router.written(node, lane, frames);
        });
      }
    }
    if (fatal) {
      wrote_fatal = true;
      break;
    }
    if (reading_paused_ && outbound_.size() <= config_.outbound_queue_limit / 2) resume_reading_.cancel();
  }
  // Only the writer closes: whatever had to be said has been written.
  closing_ = true;
  resume_reading_.cancel();  // a reader paused by back-pressure reads on (and drops) while we linger
  outbound_.clear();
  owed_.clear();
  boost::system::error_code ignored;
  if (wrote_fatal && !reader_done_ && stream_.lowest_layer().is_open()) {
    // A lingering close: the node may still be sending (pipelined Submits).
    // Closed with those unread, the connection would be reset, and the node
    // could lose the Error and the Acks it has not read yet. So the write
    // side is shut (the node reads to the end of the stream, then closes),
    // the reader drops what still comes, and the socket is closed once the
    // node has closed its side, or after close_linger at most.
    stream_.lowest_layer().shutdown(transport::tcp::socket::shutdown_send, ignored);
    wake_writer_.expires_after(close_linger);
    co_await wake_writer_.async_wait(use_tuple);  // run() wakes it when the reader ends
  }
  deadline_.cancel();
  stream_.lowest_layer().shutdown(transport::tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
  resume_reading_.cancel();  // run() waits on it for the close (again: it may have waited anew while we lingered)
}

bool Session::send(Outgoing frame) {
  if (closing_) return false;
  // The reader stops at the queue limit, so only answers to frames already
  // read (the Acks that follow a commit) take the queue past it: a node that
  // pipelines thousands of Submits into one commit and reads none of the
  // answers. At twice the limit it is closed with OVERLOADED.
  if (outbound_.size() >= 2 * config_.outbound_queue_limit) {
    spdlog::warn("closing node={} peer={}: outbound queue full ({} frames)", node_id_, peer_, outbound_.size());
    outbound_.clear();
    send_error(v1::ERROR_CODE_OVERLOADED, "outbound queue full: the node is not reading", true);
    return false;
  }
  outbound_.push_back(std::move(frame));
  wake_writer();
  return true;
}

void Session::send_error(v1::ErrorCode code, std::string text, bool fatal, std::string message_id) {
  if (closing_) return;
  spdlog::log(fatal ? spdlog::level::warn : spdlog::level::info, "error to node={} peer={}: {}{}: {}", node_id_,
              peer_, wire::error_code_name(code), fatal ? " (closing)" : "", text);
  const v1::Frame frame = wire::error_frame(code, std::move(text), fatal, std::move(message_id));
  log_frame("out", frame);
  auto bytes = frame_bytes(frame);
  outbound_.push_back({bytes, 0, false});
  if (fatal) {
    fatal_ = bytes;
    closing_ = true;
    if (end_reason_.empty()) end_reason_ = wire::error_code_name(code) + ": " + frame.error().message();
  }
  wake_writer();
}

asio::awaitable<void> Session::handle(const v1::Frame& frame) {
  if (peer_link_) {
    handle_peer(frame);
    co_return;
  }
  switch (frame.body_case()) {
    case v1::Frame::kSubmit: co_await handle_submit(frame.submit()); co_return;
    case v1::Frame::kAck: co_await handle_ack(frame.ack().message_id()); co_return;
    case v1::Frame::kHeartbeat: {
      // Echoed, so that the node's own idle deadline sees a live gateway.
      v1::Frame echo;
      echo.mutable_heartbeat()->set_sent_unix_ms(frame.heartbeat().sent_unix_ms());
      send(frame_bytes(echo));
      co_return;
    }
    case v1::Frame::kReviewDecision: {
      const auto result = co_await on_router([&] {
        // Shutting down: not handled, so not answered (as the reader's own check).
        if (router_.draining()) return SubmitResult{.accepted = true};
        return router_.review(node_id_, frame.review_decision());
      });
      if (!result.accepted) send_error(result.error, result.error_text, false, frame.review_decision().hold_id());
      co_return;
    }
    case v1::Frame::kTrigger: {
      const auto result = co_await on_router([&] {
        if (router_.draining()) return SubmitResult{.accepted = true};
        return router_.trigger(node_id_, frame.trigger().event());
      });
      if (!result.accepted) send_error(result.error, result.error_text, false);
      co_return;
    }
    case v1::Frame::kError:
      spdlog::info("node={} reports error {}: {}", node_id_, wire::error_code_name(frame.error().code()), frame.error().message());
      co_return;
    default:
      send_error(v1::ERROR_CODE_UNEXPECTED_FRAME,
                 fmt::format("a node may not send {} here", frame.GetDescriptor()->FindFieldByNumber(
                                                                   static_cast<int>(frame.body_case()))->name()),
                 false);
  }
}

// A recipient confirms a Deliver: it leaves the node's outbox.
//
// Posted to the router, not waited for: a recipient acknowledges every
// Deliver, and a session on another thread than the router's that waited for
// each Ack's trip through the router's queue (the busiest in the gateway)
// read one Ack a trip. The router then handed it no more than it had
// acknowledged, so a recipient on a session thread was delivered a third of
// what one on the router's thread was (W3: 2,000 senders to 4 recipients, two
// on each thread), and its senders waited up to a second. Every
// `acks_awaited_every`th Ack is waited for, so that no more than that many of a
// node's are queued at the router at once: the router runs what it is posted
// in order, so when that one is done, so are those before it. The reader
// waits for the router the same way before it answers any other frame
// (router_caught_up), so that answers keep the order of the frames.
asio::awaitable<void> Session::handle_ack(const std::string& id) {
  auto settle = [&router = router_, node = node_id_](const std::string& id) {
    if (router.draining()) return true;
    if (router.acknowledged(node, id)) {
      if (auto* observer = router.observer()) observer->acknowledged(node, id);
      return true;
    }
    ++router.metrics().acks_unexpected;
    return false;
  };
  if (!shares_router_thread_ && acks_posted_ + 1 < acks_awaited_every) {
    ++acks_posted_;
    post_to_router([settle, id, weak = weak_from_this()] {
      // On the decision thread's loop, not in the session's coroutine: what
      // the router throws must not end that loop. It ends the session, as an
      // awaited step's exception does.
      bool settled = false;
      try {
        settled = settle(id);
      } catch (const std::exception& e) {
        spdlog::error("settling an Ack for message {} failed: {}", id, e.what());
        if (auto self = weak.lock())
          self->on_session([](Session& session) {
            session.send_error(v1::ERROR_CODE_INTERNAL, "the gateway failed to settle an Ack", true);
          });
        return;
      }
      if (settled) return;
      // Posted back after what the router posted before, so before the end of any wait for it.
      if (auto self = weak.lock()) self->on_session([id](Session& session) { session.refuse_ack(id); });
    });
    co_return;
  }
  acks_posted_ = 0;
  if (!co_await on_router([&] { return settle(id); })) refuse_ack(id);
}

asio::awaitable<void> Session::router_caught_up() {
  if (acks_posted_ == 0) co_return;
  acks_posted_ = 0;
  // The router runs what it is posted in order: this runs after the Acks.
  co_await on_router([] { return true; });
}

void Session::refuse_ack(const std::string& id) {
  // Said, not ignored: an Ack can only settle a Deliver this node was sent.
  // Not fatal: a node acknowledging a redelivery twice does no harm.
  if (id.size() > config_.message_limits.max_text_bytes) {
    send_error(v1::ERROR_CODE_UNEXPECTED_FRAME,
               fmt::format("an Ack whose message id is {} bytes long: no Deliver has such an id", id.size()), false);
  } else {
    send_error(v1::ERROR_CODE_UNEXPECTED_FRAME,
               fmt::format("Ack for message {}, which is not awaiting an Ack from {} (never delivered to it, "
                           "or acknowledged already)",
                           id, node_id_),
               false, id);
  }
}

// The message is decoded and checked for size here, on the session's thread;
// only the decision is the router's.
asio::awaitable<void> Session::handle_submit(const v1::Submit& submit) {
  const std::string& message_id = submit.message().id();
  auto refuse = [&](v1::ErrorCode code, std::string text) {
    send_error(code, std::move(text), false, message_id);
    v1::Frame ack;
    ack.mutable_ack()->set_message_id(message_id);
    ack.mutable_ack()->set_ok(false);
    log_frame("out", ack);
    send(frame_bytes(ack));
  };
  wire::DecodeProblem problem;
  auto message = wire::decode(submit.message(), config_.message_limits, problem);
  if (!message) co_return refuse(v1::ERROR_CODE_INVALID_MESSAGE, "invalid message: " + wire::to_string(problem));
  const SubmitResult result = co_await on_router([&] {
    // Shutting down: not acknowledged, so the node sends it again later.
    if (router_.draining()) return SubmitResult{.accepted = true};
    return router_.submit(node_id_, std::move(*message));
  });
  if (!result.accepted) refuse(result.error, result.error_text);
}

audit::AuditRecord Session::connection_record(std::string kind, std::string reason) const {
  audit::AuditRecord record;
  record.kind = std::move(kind);
  record.node = node_id_;
  record.detail = json::Object().add("peer", peer_).add("reason", reason).str();
  return record;
}

void Session::audit_connection(std::string kind, std::string reason) {
  post_to_router([&router = router_, record = connection_record(std::move(kind), std::move(reason))]() mutable {
    router.audit(std::move(record));
  });
}

void Session::observe_in(const v1::Frame& frame, std::size_t bytes) {
  router_.metrics().frames_in.fetch_add(1, std::memory_order_relaxed);
  if (auto* observer = router_.observer(); observer && shares_router_thread_)
    return tell(observer, node_id_, FrameDirection::in, frame, bytes);
  if (!router_.observer()) return;
  // Told before the router acts on the frame (that is posted after this).
  post_to_router([&router = router_, node = node_id_, frame, bytes] {
    if (auto* observer = router.observer()) tell(observer, node, FrameDirection::in, frame, bytes);
  });
}

void Session::observe_out(const v1::Frame& frame, std::size_t bytes) {
  router_.metrics().frames_out.fetch_add(1, std::memory_order_relaxed);
  if (auto* observer = router_.observer(); observer && shares_router_thread_)
    return tell(observer, node_id_, FrameDirection::out, frame, bytes);
  if (!router_.observer()) return;
  post_to_router([&router = router_, node = node_id_, frame, bytes] {
    if (auto* observer = router.observer()) tell(observer, node, FrameDirection::out, frame, bytes);
  });
}

// Frames go out as encoded bytes (from outboxes shared with the store); only a
// watcher pays for parsing them back.
void Session::observe_out(const std::string& bytes) {
  v1::Frame frame;
  if (router_.observer() && bytes.size() >= wire::frame_header_bytes &&
      frame.ParseFromArray(bytes.data() + wire::frame_header_bytes,
                           static_cast<int>(bytes.size() - wire::frame_header_bytes))) {
    observe_out(frame, bytes.size());
  } else {
    router_.metrics().frames_out.fetch_add(1, std::memory_order_relaxed);
  }
}

void Session::log_frame(const char* direction, const v1::Frame& frame) const {
  if (!config_.log_frames) return;
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.PrintToString(frame, &text);
  spdlog::info("frame {} node={} {}", direction, node_id_.empty() ? peer_ : node_id_, text);
}

}  // namespace icegate::server

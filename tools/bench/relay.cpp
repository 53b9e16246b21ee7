#include "tools/bench/relay.hpp"

#include <deque>
#include <fstream>
#include <memory>
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <openssl/ssl.h>

#include "gateway/transport/frame_stream.hpp"
#include "gateway/transport/tls.hpp"
#include "gateway/wire/framing.hpp"

namespace icegate::bench {

namespace asio = boost::asio;
using transport::Clock;
using transport::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using Bytes = std::shared_ptr<const std::string>;

// The same deadlines as the gateway's defaults, except idle: a bench
// connection may sit quiet for as long as the run lasts.
constexpr auto kHandshakeTimeout = 10s;
constexpr auto kIdleTimeout = 600s;
constexpr auto kFrameTimeout = 10s;
constexpr auto kWriteTimeout = 10s;

// A Frame's first byte when its body is `submit` (field 3) or `deliver`
// (field 5), both length-delimited: (field << 3) | 2. Submit { message = 1 }
// and Deliver { message = 1 } have the same layout, so a Submit's bytes with
// that one byte changed are a Deliver of the same message.
constexpr unsigned char kSubmitTag = (3 << 3) | 2;
constexpr unsigned char kDeliverTag = (5 << 3) | 2;

Bytes framed(const v1::Frame& frame) { return std::make_shared<const std::string>(wire::encode_frame(frame)); }

class RelaySession;

// The relay's state, confined to its one io thread (that thread is its guard).
struct Relay {
  std::unordered_map<std::string, std::weak_ptr<RelaySession>> sessions;
  std::size_t outbound_queue_limit = 1024;
};

class RelaySession : public std::enable_shared_from_this<RelaySession> {
 public:
  RelaySession(transport::TlsStream stream, Relay& relay)
      : stream_(std::move(stream)), deadline_(stream_.get_executor()), relay_(relay), wake_(stream_.get_executor()) {}

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    deadline_.watch(stream_.lowest_layer(), self);
    if (co_await handshake()) {
      asio::co_spawn(stream_.get_executor(), [self]() { return self->writer(); }, asio::detached);
      co_await reader();
      if (auto it = relay_.sessions.find(node_id_); it != relay_.sessions.end() && it->second.lock() == self)
        relay_.sessions.erase(it);
    } else {
      deadline_.cancel();
      boost::system::error_code ignored;
      stream_.lowest_layer().close(ignored);
    }
    closing_ = true;
    wake_.cancel();
  }

  bool send(Bytes bytes) {
    if (closing_) return false;
    if (outbound_.size() >= relay_.outbound_queue_limit) {
      // Back-pressure as in the gateway: a node that does not read is closed.
      close();
      return false;
    }
    outbound_.push_back(std::move(bytes));
    wake_.cancel();
    return true;
  }

  void close() {
    closing_ = true;
    outbound_.clear();
    boost::system::error_code ignored;
    stream_.lowest_layer().close(ignored);
    wake_.cancel();
  }

 private:
  asio::awaitable<bool> handshake() {
    const auto hello_by = transport::Clock::now() + kHandshakeTimeout;
    deadline_.expires_at(transport::Deadline::Side::read, hello_by);
    auto [tls_error] = co_await stream_.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (tls_error) co_return false;
    const auto common_name = transport::peer_common_name(stream_.native_handle());
    if (!common_name) co_return false;
    node_id_ = *common_name;
    v1::Frame frame;
    auto result = co_await transport::read_frame(stream_, deadline_, kHandshakeTimeout, kHandshakeTimeout,
                                                 wire::default_max_frame_bytes, read_buffer_, frame, hello_by);
    if (!result.ok() || !frame.has_hello() || frame.hello().node_id() != node_id_) co_return false;
    v1::Frame welcome;
    welcome.mutable_welcome()->set_gateway_id("relay");
    welcome.mutable_welcome()->set_protocol_version(wire::protocol_version);
    if (co_await transport::write_bytes(stream_, deadline_, kWriteTimeout, wire::encode_frame(welcome))) co_return false;
    auto& slot = relay_.sessions[node_id_];
    if (auto previous = slot.lock()) previous->close();
    slot = shared_from_this();
    co_return true;
  }

  asio::awaitable<void> reader() {
    while (!closing_) {
      v1::Frame frame;
      auto result = co_await transport::read_frame(stream_, deadline_, kIdleTimeout, kFrameTimeout,
                                                   wire::default_max_frame_bytes, read_buffer_, frame);
      if (closing_ || result.error || result.frame_error == wire::FrameError::too_large ||
          result.frame_error == wire::FrameError::empty || result.frame_error == wire::FrameError::not_protobuf)
        break;
      if (frame.has_submit()) {
        relay(frame.submit());
      } else if (frame.has_heartbeat()) {
        send(framed(frame));
      }
      // Acks from recipients, and anything else: read and dropped.
    }
  }

  void relay(const v1::Submit& submit) {
    const std::string& message_id = submit.message().id();
    std::shared_ptr<RelaySession> target;
    if (submit.message().addressees_size() > 0)
      if (auto it = relay_.sessions.find(submit.message().addressees(0).name()); it != relay_.sessions.end())
        target = it->second.lock();
    bool ok = false;
    if (target) {
      auto deliver = std::make_shared<std::string>(wire::frame_header_bytes + read_buffer_.size(), '\0');
      wire::encode_length(static_cast<std::uint32_t>(read_buffer_.size()),
                          reinterpret_cast<unsigned char*>(deliver->data()));
      deliver->replace(wire::frame_header_bytes, read_buffer_.size(), read_buffer_);
      if (static_cast<unsigned char>((*deliver)[wire::frame_header_bytes]) == kSubmitTag) {
        (*deliver)[wire::frame_header_bytes] = static_cast<char>(kDeliverTag);
      } else {  // not the minimal encoding (a peer's own encoder): build the Deliver
        v1::Frame frame;
        *frame.mutable_deliver()->mutable_message() = submit.message();
        *deliver = wire::encode_frame(frame);
      }
      ok = target->send(std::move(deliver));
    }
    v1::Frame ack;
    ack.mutable_ack()->set_message_id(message_id);
    ack.mutable_ack()->set_ok(ok);
    send(framed(ack));
  }

  asio::awaitable<void> writer() {
    auto self = shared_from_this();
    while (stream_.lowest_layer().is_open()) {
      if (outbound_.empty()) {
        if (closing_) break;
        wake_.expires_at(Clock::time_point::max());
        co_await wake_.async_wait(use_tuple);
        continue;
      }
      Bytes next = std::move(outbound_.front());
      outbound_.pop_front();
      if (co_await transport::write_bytes(stream_, deadline_, kWriteTimeout, *next)) break;
    }
    closing_ = true;
    outbound_.clear();
    deadline_.cancel();
    boost::system::error_code ignored;
    stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.lowest_layer().close(ignored);
  }

  transport::TlsStream stream_;
  transport::Deadline deadline_;
  Relay& relay_;
  asio::steady_timer wake_;
  std::deque<Bytes> outbound_;
  std::string read_buffer_;
  std::string node_id_;
  bool closing_ = false;
};

}  // namespace

int run_relay(const RelayParams& params, std::ostream& err) {
  asio::io_context io(1);
  Relay relay;
  relay.outbound_queue_limit = params.outbound_queue_limit;
  std::unique_ptr<asio::ssl::context> tls;
  tcp::acceptor acceptor(io);
  try {
    tls = std::make_unique<asio::ssl::context>(transport::make_server_context(params.pki));
    const tcp::endpoint endpoint(asio::ip::make_address(params.host), params.port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen();
  } catch (const std::exception& e) {
    fmt::print(err, "icegate-bench bench-relay: {}\n", e.what());
    return 1;
  }
  if (!params.port_file.empty()) {
    const auto temporary = params.port_file.string() + ".tmp";
    std::ofstream(temporary) << acceptor.local_endpoint().port() << '\n';
    std::error_code error;
    std::filesystem::rename(temporary, params.port_file, error);
    if (error) {
      fmt::print(err, "icegate-bench bench-relay: cannot write {}: {}\n", params.port_file.string(), error.message());
      return 1;
    }
  }

  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    while (acceptor.is_open()) {
      auto [error, socket] = co_await acceptor.async_accept(use_tuple);
      if (error) {
        if (!acceptor.is_open()) break;
        continue;  // out of descriptors under a burst: keep accepting
      }
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      transport::TlsStream stream(std::move(socket), *tls);
      if (params.keep_buffers) SSL_clear_mode(stream.native_handle(), SSL_MODE_RELEASE_BUFFERS);
      auto session = std::make_shared<RelaySession>(std::move(stream), relay);
      asio::co_spawn(io, [session]() { return session->run(); }, asio::detached);
    }
  }, asio::detached);

  asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  stop_signals.async_wait([&](const boost::system::error_code& error, int) {
    if (error) return;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    for (auto& [node, weak] : relay.sessions)
      if (auto session = weak.lock()) session->close();
    io.stop();
  });
  io.run();
  return 0;
}

}  // namespace icegate::bench

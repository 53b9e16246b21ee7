#include "clients/node/node_client.hpp"

#include <future>
#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "gateway/transport/frame_stream.hpp"
#include "gateway/wire/codec.hpp"

namespace icegate::node {

namespace asio = boost::asio;
using transport::Clock;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto frame_wait = std::chrono::seconds(10);

wire::MessageLimits delivery_limits() {
  // What the gateway sends has passed its own limits; these only stop a
  // broken peer from making us allocate without bound.
  wire::MessageLimits limits;
  limits.max_portions = 1u << 16;
  limits.max_addressees = 1u << 16;
  limits.max_text_bytes = 1u << 16;
  return limits;
}
}  // namespace

std::string error_code_name(v1::ErrorCode code) {
  std::string name = v1::ErrorCode_Name(code);
  constexpr std::string_view prefix = "ERROR_CODE_";
  if (name.empty()) return fmt::format("UNKNOWN({})", static_cast<int>(code));
  return name.starts_with(prefix) ? name.substr(prefix.size()) : name;
}

Delivery to_delivery(const v1::Deliver& deliver) {
  Delivery delivery;
  wire::DecodeProblem problem;
  if (auto message = wire::decode(deliver.message(), delivery_limits(), problem)) delivery.message = std::move(*message);
  delivery.decision = wire::decode(deliver.decision()).value_or(Decision::deny);
  for (const auto& withheld : deliver.withheld()) delivery.withheld.push_back(wire::decode(withheld));
  delivery.rule_ids.assign(deliver.rule_ids().begin(), deliver.rule_ids().end());
  delivery.reason = deliver.reason();
  delivery.policy_version = deliver.policy_version();
  return delivery;
}

Receipt to_receipt(const v1::Receipt& proto) {
  Receipt receipt;
  receipt.message_id = proto.message_id();
  receipt.policy_version = proto.policy_version();
  receipt.unresolved_addressees.assign(proto.unresolved_addressees().begin(), proto.unresolved_addressees().end());
  receipt.follow_up = proto.follow_up();
  for (const auto& outcome : proto.outcomes()) receipt.outcomes.push_back({wire::decode(outcome), outcome.delivered()});
  return receipt;
}

ReviewRequest to_review_request(const v1::ReviewRequest& proto) {
  ReviewRequest request;
  request.hold_id = proto.hold_id();
  request.consent = proto.kind() == v1::HOLD_KIND_ORIGINATOR_CONSENT;
  wire::DecodeProblem problem;
  if (auto message = wire::decode(proto.message(), delivery_limits(), problem)) request.message = std::move(*message);
  request.recipients.assign(proto.recipients().begin(), proto.recipients().end());
  request.reason = proto.reason();
  request.rule_ids.assign(proto.rule_ids().begin(), proto.rule_ids().end());
  for (const auto& withheld : proto.not_shown()) request.not_shown.push_back(wire::decode(withheld));
  return request;
}

// Everything that lives on the io thread. Coroutines hold it by shared_ptr.
struct NodeClient::Connection : std::enable_shared_from_this<Connection> {
  Connection(const NodeOptions& options, std::function<void(NodeEvent)> push)
      : options(options),
        tls(transport::make_client_context(options.credentials)),
        stream(io, tls),
        deadline(io.get_executor()),
        wake_writer(io),
        heartbeat_timer(io),
        push(std::move(push)) {}

  const NodeOptions& options;
  asio::io_context io;
  asio::ssl::context tls;
  transport::TlsStream stream;
  transport::Deadline deadline;
  asio::steady_timer wake_writer;
  asio::steady_timer heartbeat_timer;
  std::function<void(NodeEvent)> push;
  std::promise<std::string> ready;  // "" when connected, else why not
  v1::Welcome welcome;
  std::deque<std::string> outbound;
  std::set<std::string> delivered_ids;
  std::string read_buffer;
  bool closing = false;
  std::atomic<bool> open{false};

  void queue(std::string bytes) {
    if (closing) return;
    outbound.push_back(std::move(bytes));
    wake_writer.cancel();
  }

  void close_socket() {
    closing = true;
    open = false;
    deadline.cancel();
    heartbeat_timer.cancel();
    wake_writer.cancel();
    boost::system::error_code ignored;
    stream.lowest_layer().shutdown(transport::tcp::socket::shutdown_both, ignored);
    stream.lowest_layer().close(ignored);
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    asio::co_spawn(io, [self]() { return self->deadline.watch(self->stream.lowest_layer()); }, asio::detached);
    std::string failure = co_await connect();
    if (!failure.empty()) {
      close_socket();
      ready.set_value(failure);
      co_return;
    }
    open = true;
    ready.set_value("");
    asio::co_spawn(io, [self]() { return self->writer(); }, asio::detached);
    asio::co_spawn(io, [self]() { return self->heartbeat(); }, asio::detached);
    std::string reason = co_await reader();
    close_socket();
    push(NodeEvent{Disconnected{reason}, {}});
  }

  asio::awaitable<std::string> connect() {
    deadline.expires_after(options.connect_timeout);
    asio::ip::tcp::resolver resolver(io);
    auto [resolve_error, endpoints] =
        co_await resolver.async_resolve(options.host, std::to_string(options.port), use_tuple);
    if (resolve_error) co_return fmt::format("cannot resolve {}: {}", options.host, resolve_error.message());
    auto [connect_error, endpoint] = co_await asio::async_connect(stream.lowest_layer(), endpoints, use_tuple);
    if (connect_error)
      co_return fmt::format("cannot connect to {}:{}: {}", options.host, options.port,
                            deadline.expired() ? "timed out" : connect_error.message());
    boost::system::error_code ignored;
    stream.lowest_layer().set_option(asio::ip::tcp::no_delay(true), ignored);
    auto [handshake_error] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (handshake_error)
      co_return fmt::format("TLS handshake with {}:{} failed: {}", options.host, options.port,
                            deadline.expired() ? "timed out" : transport::describe(handshake_error));

    v1::Frame hello;
    hello.mutable_hello()->set_node_id(options.hello_node_id.empty() ? options.node_id : options.hello_node_id);
    hello.mutable_hello()->set_software_version(std::string("icegate ") + ICEGATE_VERSION);
    hello.mutable_hello()->set_protocol_version(wire::protocol_version);
    if (auto error = co_await transport::write_bytes(stream, deadline, options.connect_timeout, wire::encode_frame(hello)))
      co_return fmt::format("sending Hello failed: {}", transport::describe(error));

    v1::Frame frame;
    auto result = co_await transport::read_frame(stream, deadline, options.connect_timeout, frame_wait,
                                                 options.max_frame_bytes, read_buffer, frame);
    // With TLS 1.3 the server checks our certificate after the handshake has
    // completed on our side, so a refused certificate shows up here, as an alert.
    if (result.error)
      co_return fmt::format("the gateway closed the connection before Welcome: {}",
                            deadline.expired() ? "timed out" : transport::describe(result.error));
    if (!result.ok()) co_return fmt::format("bad frame instead of Welcome: {}", wire::to_string(result.frame_error));
    if (frame.has_error())
      co_return fmt::format("the gateway refused us: {}: {}", error_code_name(frame.error().code()), frame.error().message());
    if (!frame.has_welcome()) co_return "the gateway answered Hello with something other than Welcome";
    welcome = frame.welcome();
    co_return "";
  }

  asio::awaitable<std::string> reader() {
    // The gateway echoes our heartbeats, so silence for three intervals means it is gone.
    const auto idle = options.heartbeat_interval * 3;
    while (true) {
      v1::Frame frame;
      auto result = co_await transport::read_frame(stream, deadline, idle, frame_wait, options.max_frame_bytes,
                                                   read_buffer, frame);
      if (result.error) {
        if (closing) co_return "closed";
        if (deadline.expired()) co_return "the gateway went silent (idle deadline)";
        co_return transport::is_disconnect(result.error) ? "the gateway closed the connection"
                                                         : transport::describe(result.error);
      }
      if (!result.ok()) co_return fmt::format("bad frame from the gateway: {}", wire::to_string(result.frame_error));
      switch (frame.body_case()) {
        case v1::Frame::kDeliver: {
          const std::string& id = frame.deliver().message().id();
          v1::Frame ack;
          ack.mutable_ack()->set_message_id(id);
          ack.mutable_ack()->set_ok(true);
          queue(wire::encode_frame(ack));
          if (!delivered_ids.insert(id).second) break;  // a redelivery: acknowledged, not shown twice
          push(NodeEvent{to_delivery(frame.deliver()), std::move(frame)});
          break;
        }
        case v1::Frame::kReceipt: push(NodeEvent{to_receipt(frame.receipt()), std::move(frame)}); break;
        case v1::Frame::kReviewRequest:
          push(NodeEvent{to_review_request(frame.review_request()), std::move(frame)});
          break;
        case v1::Frame::kAck:
          push(NodeEvent{Acknowledgement{frame.ack().message_id(), frame.ack().ok()}, std::move(frame)});
          break;
        case v1::Frame::kError: {
          const auto& error = frame.error();
          ErrorNotice notice{error_code_name(error.code()), error.message(), error.message_id(), error.fatal()};
          push(NodeEvent{std::move(notice), std::move(frame)});
          break;
        }
        default: break;  // heartbeats, and frame types from a newer gateway
      }
    }
  }

  asio::awaitable<void> writer() {
    auto self = shared_from_this();
    while (stream.lowest_layer().is_open()) {
      if (outbound.empty()) {
        if (closing) break;
        wake_writer.expires_at(Clock::time_point::max());
        co_await wake_writer.async_wait(use_tuple);
        continue;
      }
      std::string bytes = std::move(outbound.front());
      outbound.pop_front();
      if (co_await transport::write_bytes(stream, deadline, frame_wait, bytes)) break;
    }
    close_socket();
  }

  asio::awaitable<void> heartbeat() {
    auto self = shared_from_this();
    while (!closing) {
      heartbeat_timer.expires_after(options.heartbeat_interval);
      auto [error] = co_await heartbeat_timer.async_wait(use_tuple);
      if (error || closing) break;
      v1::Frame frame;
      frame.mutable_heartbeat()->set_sent_unix_ms(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
      queue(wire::encode_frame(frame));
    }
  }
};

NodeClient::NodeClient(NodeOptions options) : options_(std::move(options)) {
  connection_ = std::make_shared<Connection>(options_, [this](NodeEvent event) { push(std::move(event)); });
  auto ready = connection_->ready.get_future();
  asio::co_spawn(connection_->io, [c = connection_]() { return c->run(); }, asio::detached);
  thread_ = std::thread([c = connection_] { c->io.run(); });
  std::string failure;
  if (ready.wait_for(options_.connect_timeout + std::chrono::seconds(2)) != std::future_status::ready)
    failure = "timed out connecting";
  else
    failure = ready.get();
  if (!failure.empty()) {
    close();
    throw ConnectError(failure);
  }
  welcome_ = connection_->welcome;
}

NodeClient::~NodeClient() { close(); }

void NodeClient::submit(const Message& message) {
  v1::Frame frame;
  wire::encode(message, *frame.mutable_submit()->mutable_message());
  send_frame(frame);
}

void NodeClient::review(const std::string& hold_id, Verdict verdict, const std::vector<std::string>& withhold_portion_ids,
                        const std::string& comment) {
  v1::Frame frame;
  auto* decision = frame.mutable_review_decision();
  decision->set_hold_id(hold_id);
  switch (verdict) {
    case Verdict::approve: decision->set_verdict(v1::VERDICT_APPROVE); break;
    case Verdict::refuse: decision->set_verdict(v1::VERDICT_REFUSE); break;
    case Verdict::approve_redacted: decision->set_verdict(v1::VERDICT_APPROVE_REDACTED); break;
  }
  for (const auto& id : withhold_portion_ids) decision->add_withhold_portion_ids(id);
  decision->set_comment(comment);
  send_frame(frame);
}

void NodeClient::trigger(const std::string& event) {
  v1::Frame frame;
  frame.mutable_trigger()->set_event(event);
  send_frame(frame);
}

void NodeClient::send_frame(const v1::Frame& frame) { send_raw(wire::encode_frame(frame)); }

void NodeClient::send_raw(std::string bytes) {
  asio::post(connection_->io, [c = connection_, bytes = std::move(bytes)]() mutable { c->queue(std::move(bytes)); });
}

std::optional<NodeEvent> NodeClient::next_event(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!events_changed_.wait_for(lock, timeout, [this] { return !events_.empty(); })) return std::nullopt;
  NodeEvent event = std::move(events_.front());
  events_.pop_front();
  return event;
}

bool NodeClient::connected() const { return connection_ && connection_->open; }

void NodeClient::close() {
  if (!thread_.joinable()) return;
  // Let the writer finish what is queued, then close; the reader then ends.
  asio::post(connection_->io, [c = connection_] {
    c->closing = true;
    c->heartbeat_timer.cancel();
    c->wake_writer.cancel();
    c->deadline.expires_after(std::chrono::seconds(5));  // bound the final writes
  });
  thread_.join();
}

void NodeClient::push(NodeEvent event) {
  {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  events_changed_.notify_all();
}

}  // namespace icegate::node

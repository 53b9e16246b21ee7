#include "clients/node/node_client.hpp"

#include <algorithm>
#include <future>
#include <set>
#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "gateway/transport/backoff.hpp"
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
  for (const auto& step : proto.hops()) receipt.hops.push_back(wire::decode(step));
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
// With options.reconnect, one Connection outlives many TLS connections: the
// stream is made anew for each, while the outbound queue, the submits not yet
// acknowledged and the ids already delivered carry over.
struct NodeClient::Connection : std::enable_shared_from_this<Connection> {
  struct Outbound {
    std::string bytes;
    std::string submit_id;  // set for Submit frames: they are resent until acknowledged
  };

  Connection(const NodeOptions& options, std::function<void(NodeEvent)> push)
      : options(options),
        own_io(options.io ? nullptr : std::make_unique<asio::io_context>()),
        io(options.io ? *options.io : *own_io),
        tls(transport::make_client_context(options.credentials)),
        wake_writer(io),
        heartbeat_timer(io),
        backoff_timer(io),
        push(std::move(push)) {}

  // A copy: on a shared io_context, a coroutine may still look at it after the
  // NodeClient is gone.
  const NodeOptions options;
  std::unique_ptr<asio::io_context> own_io;  // without NodeOptions::io
  asio::io_context& io;
  asio::ssl::context tls;
  // Made anew for each connection; coroutines of an old connection keep theirs alive.
  std::shared_ptr<transport::TlsStream> stream;
  std::shared_ptr<transport::Deadline> deadline;
  asio::steady_timer wake_writer;
  asio::steady_timer heartbeat_timer;
  asio::steady_timer backoff_timer;
  std::function<void(NodeEvent)> push;
  std::promise<std::string> ready;  // "" when connected, else why not
  std::promise<void> finished;      // run() has ended: nothing more is pushed
  std::atomic<bool> done{false};
  v1::Welcome welcome;
  std::deque<Outbound> outbound;
  std::vector<std::pair<std::string, std::string>> unacked;  // (message id, Submit bytes), in order sent
  std::set<std::string> resent;            // ids submitted again after a reconnection
  std::set<std::string> duplicate_settled; // ids whose DUPLICATE answer meant "already accepted"
  std::set<std::string> not_stored;        // ids the gateway could not store (INTERNAL): kept to send again
  std::set<std::string> delivered_ids;
  std::set<std::int64_t> echoes_requested;  // request_echo tags whose echo is still to come
  std::string read_buffer;
  bool closing = false;
  std::atomic<bool> open{false};

  void queue(Outbound entry) {
    if (closing) return;
    // A Submit sent again by the application (after INTERNAL) is tracked once.
    if (!entry.submit_id.empty() &&
        std::none_of(unacked.begin(), unacked.end(), [&](const auto& u) { return u.first == entry.submit_id; }))
      unacked.emplace_back(entry.submit_id, entry.bytes);
    outbound.push_back(std::move(entry));
    wake_writer.cancel();
  }

  void settle_submit(const std::string& id) {
    unacked.erase(std::remove_if(unacked.begin(), unacked.end(), [&](const auto& u) { return u.first == id; }),
                  unacked.end());
  }

  void close_socket() {
    open = false;
    if (deadline) deadline->cancel();
    heartbeat_timer.cancel();
    wake_writer.cancel();
    if (!stream) return;
    boost::system::error_code ignored;
    stream->lowest_layer().shutdown(transport::tcp::socket::shutdown_both, ignored);
    stream->lowest_layer().close(ignored);
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    bool first = true;
    transport::Backoff backoff(options.reconnect_min, options.reconnect_max);
    while (true) {
      stream = std::make_shared<transport::TlsStream>(io, tls);
      deadline = std::make_shared<transport::Deadline>(io.get_executor());
      read_buffer.clear();
      std::string failure = co_await connect();
      if (failure.empty()) {
        open = true;
        backoff.reset();
        if (first) {
          ready.set_value("");
          first = false;
        } else {
          resend_unacknowledged();
        }
        asio::co_spawn(io, [self]() { return self->writer(); }, asio::detached);
        asio::co_spawn(io, [self]() { return self->heartbeat(); }, asio::detached);
        failure = co_await reader();
      }
      close_socket();
      if (first) {  // never connected: the constructor reports it
        closing = true;
        ready.set_value(failure);
        co_return;
      }
      if (closing || !options.reconnect) {
        closing = true;
        push(NodeEvent{Disconnected{closing_by_us ? "closed" : failure, false}, {}});
        co_return;
      }
      push(NodeEvent{Disconnected{failure, true}, {}});
      // Exponential backoff with jitter, so a restarted gateway is not met by
      // every node in the same millisecond.
      backoff_timer.expires_after(backoff.next());
      co_await backoff_timer.async_wait(use_tuple);
      if (closing) {
        push(NodeEvent{Disconnected{"closed", false}, {}});
        co_return;
      }
    }
  }

  // After a reconnection: every Submit not yet acknowledged goes again, first
  // and in order (the gateway answers DUPLICATE_MESSAGE for one it had already
  // made durable, which counts as accepted).
  void resend_unacknowledged() {
    std::deque<Outbound> rest;
    for (auto& entry : outbound)
      if (entry.submit_id.empty()) rest.push_back(std::move(entry));
    outbound.clear();
    for (const auto& [id, bytes] : unacked) {
      outbound.push_back({bytes, {}});  // tracked in unacked already
      resent.insert(id);
    }
    for (auto& entry : rest) outbound.push_back(std::move(entry));
  }

  bool closing_by_us = false;

  asio::awaitable<std::string> connect() {
    auto& d = *deadline;
    // One deadline for the whole set-up, from the TLS handshake to Welcome.
    const auto welcome_by = Clock::now() + options.connect_timeout;
    d.expires_at(transport::Deadline::Side::read, welcome_by);
    asio::ip::tcp::resolver resolver(io);
    auto [resolve_error, endpoints] =
        co_await resolver.async_resolve(options.host, std::to_string(options.port), use_tuple);
    if (resolve_error) co_return fmt::format("cannot resolve {}: {}", options.host, resolve_error.message());
    // The watchdog cannot watch a socket that is not open yet, so the TCP
    // connect has a timer of its own, to the same deadline: a gateway that
    // never answers (a full accept queue, a dropped SYN) closes the socket,
    // which ends the connect.
    asio::steady_timer connect_timer(io);
    connect_timer.expires_after(options.connect_timeout);
    auto connect_timed_out = std::make_shared<bool>(false);
    connect_timer.async_wait([s = stream, connect_timed_out](const boost::system::error_code& error) {
      if (error) return;  // cancelled: the connect ended in time
      *connect_timed_out = true;
      boost::system::error_code ignored;
      s->lowest_layer().close(ignored);
    });
    auto [connect_error, endpoint] = co_await asio::async_connect(stream->lowest_layer(), endpoints, use_tuple);
    connect_timer.cancel();
    if (connect_error)
      co_return fmt::format("cannot connect to {}:{}: {}", options.host, options.port,
                            *connect_timed_out ? "timed out" : connect_error.message());
    boost::system::error_code ignored;
    stream->lowest_layer().set_option(asio::ip::tcp::no_delay(true), ignored);
    // The watchdog starts once the socket is open (it stops at a closed
    // socket), and keeps this connection's stream and deadline alive.
    deadline->watch(stream->lowest_layer(),
                    std::make_shared<std::tuple<std::shared_ptr<Connection>, std::shared_ptr<transport::TlsStream>,
                                                std::shared_ptr<transport::Deadline>>>(shared_from_this(), stream,
                                                                                       deadline));
    auto [handshake_error] = co_await stream->async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (handshake_error)
      co_return fmt::format("TLS handshake with {}:{} failed: {}", options.host, options.port,
                            d.expired() ? "timed out" : transport::describe(handshake_error));

    v1::Frame hello;
    hello.mutable_hello()->set_node_id(options.hello_node_id.empty() ? options.node_id : options.hello_node_id);
    hello.mutable_hello()->set_software_version(std::string("icegate ") + ICEGATE_VERSION);
    hello.mutable_hello()->set_protocol_version(wire::protocol_version);
    if (auto error = co_await transport::write_bytes(*stream, d, options.connect_timeout, wire::encode_frame(hello)))
      co_return fmt::format("sending Hello failed: {}", transport::describe(error));

    v1::Frame frame;
    auto result = co_await transport::read_frame(*stream, d, options.connect_timeout, frame_wait,
                                                 options.max_frame_bytes, read_buffer, frame, welcome_by);
    // With TLS 1.3 the server checks our certificate after the handshake has
    // completed on our side, so a refused certificate shows up here, as an alert.
    if (result.error)
      co_return fmt::format("the gateway closed the connection before Welcome: {}",
                            d.expired() ? "timed out" : transport::describe(result.error));
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
      auto result = co_await transport::read_frame(*stream, *deadline, idle, frame_wait, options.max_frame_bytes,
                                                   read_buffer, frame);
      if (result.error) {
        if (closing) co_return "closed";
        if (deadline->expired(transport::Deadline::Side::read)) co_return "the gateway went silent (idle deadline)";
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
          queue({wire::encode_frame(ack), {}});
          if (!delivered_ids.insert(id).second) break;  // a redelivery: acknowledged, not shown twice
          push(NodeEvent{to_delivery(frame.deliver()), std::move(frame)});
          break;
        }
        case v1::Frame::kReceipt: push(NodeEvent{to_receipt(frame.receipt()), std::move(frame)}); break;
        case v1::Frame::kReviewRequest:
          push(NodeEvent{to_review_request(frame.review_request()), std::move(frame)});
          break;
        case v1::Frame::kAck: {
          const std::string id = frame.ack().message_id();
          if (duplicate_settled.erase(id)) break;  // the ok=false after a DUPLICATE we already settled
          // The ok=false after INTERNAL: not accepted, but still ours to send again.
          if (frame.ack().ok() || !not_stored.erase(id)) settle_submit(id);
          push(NodeEvent{Acknowledgement{id, frame.ack().ok()}, std::move(frame)});
          break;
        }
        case v1::Frame::kError: {
          const auto& error = frame.error();
          if (error.code() == v1::ERROR_CODE_DUPLICATE_MESSAGE && resent.erase(error.message_id())) {
            // Our own resend of a message the gateway had already made durable.
            settle_submit(error.message_id());
            duplicate_settled.insert(error.message_id());
            v1::Frame ack;
            ack.mutable_ack()->set_message_id(error.message_id());
            ack.mutable_ack()->set_ok(true);
            push(NodeEvent{Acknowledgement{error.message_id(), true}, std::move(ack)});
            break;
          }
          if (error.code() == v1::ERROR_CODE_INTERNAL && !error.message_id().empty() &&
              std::any_of(unacked.begin(), unacked.end(), [&](const auto& u) { return u.first == error.message_id(); })) {
            // The gateway could not store it (its disk is full, say): not
            // accepted, so it stays unacknowledged, is sent again after a
            // reconnection, and the application may submit it again.
            not_stored.insert(error.message_id());
          } else if (!error.message_id().empty()) {
            settle_submit(error.message_id());
          }
          ErrorNotice notice{error_code_name(error.code()), error.message(), error.message_id(), error.fatal()};
          push(NodeEvent{std::move(notice), std::move(frame)});
          break;
        }
        case v1::Frame::kHeartbeat: {
          // Only an echo this node asked for is an event; the periodic ones are not.
          const std::int64_t tag = frame.heartbeat().sent_unix_ms();
          if (echoes_requested.erase(tag)) push(NodeEvent{Echo{tag}, std::move(frame)});
          break;
        }
        default: break;  // frame types from a newer gateway
      }
    }
  }

  asio::awaitable<void> writer() {
    auto self = shared_from_this();
    const auto s = stream;
    const auto d = deadline;
    while (s->lowest_layer().is_open()) {
      if (outbound.empty()) {
        if (closing) break;
        wake_writer.expires_at(Clock::time_point::max());
        co_await wake_writer.async_wait(use_tuple);
        continue;
      }
      Outbound next = std::move(outbound.front());
      outbound.pop_front();
      if (co_await transport::write_bytes(*s, *d, frame_wait, next.bytes)) break;
    }
    if (s == stream) {  // still the current connection
      if (closing) closing_by_us = true;
      close_socket();
    }
  }

  asio::awaitable<void> heartbeat() {
    auto self = shared_from_this();
    while (!closing && open) {
      heartbeat_timer.expires_after(options.heartbeat_interval);
      auto [error] = co_await heartbeat_timer.async_wait(use_tuple);
      if (error || closing || !open) break;
      v1::Frame frame;
      frame.mutable_heartbeat()->set_sent_unix_ms(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
      queue({wire::encode_frame(frame), {}});
    }
  }
};

std::optional<NodeEvent> to_event(v1::Frame frame) {
  switch (frame.body_case()) {
    case v1::Frame::kDeliver: {
      auto delivery = to_delivery(frame.deliver());
      return NodeEvent{std::move(delivery), std::move(frame)};
    }
    case v1::Frame::kReceipt: {
      auto receipt = to_receipt(frame.receipt());
      return NodeEvent{std::move(receipt), std::move(frame)};
    }
    case v1::Frame::kHeartbeat: {  // relayed only when it was an echo asked for
      const std::int64_t tag = frame.heartbeat().sent_unix_ms();
      return NodeEvent{Echo{tag}, std::move(frame)};
    }
    case v1::Frame::kReviewRequest: {
      auto request = to_review_request(frame.review_request());
      return NodeEvent{std::move(request), std::move(frame)};
    }
    case v1::Frame::kAck: {
      Acknowledgement ack{frame.ack().message_id(), frame.ack().ok()};
      return NodeEvent{std::move(ack), std::move(frame)};
    }
    case v1::Frame::kError: {
      const auto& error = frame.error();
      ErrorNotice notice{error_code_name(error.code()), error.message(), error.message_id(), error.fatal()};
      return NodeEvent{std::move(notice), std::move(frame)};
    }
    default: return std::nullopt;
  }
}

NodeClient::NodeClient(NodeOptions options) : options_(std::move(options)) {
  connection_ = std::make_shared<Connection>(options_, [this](NodeEvent event) { push(std::move(event)); });
  auto ready = connection_->ready.get_future();
  asio::co_spawn(connection_->io, [c = connection_]() { return c->run(); }, [c = connection_](std::exception_ptr) {
    // As with asio::detached, an exception from run() ends only this connection.
    c->done = true;
    c->finished.set_value();
  });
  if (!options_.io) thread_ = std::thread([c = connection_] { c->io.run(); });
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
  submit_encoded(message.id, wire::encode_frame(frame));
}

void NodeClient::submit_encoded(std::string message_id, std::string frame) {
  asio::post(connection_->io, [c = connection_, bytes = std::move(frame), id = std::move(message_id)]() mutable {
    c->queue({std::move(bytes), std::move(id)});
  });
}

v1::Frame review_frame(const std::string& hold_id, Verdict verdict, const std::vector<std::string>& withhold_portion_ids,
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
  return frame;
}

v1::Frame trigger_frame(const std::string& event) {
  v1::Frame frame;
  frame.mutable_trigger()->set_event(event);
  return frame;
}

void NodeClient::review(const std::string& hold_id, Verdict verdict, const std::vector<std::string>& withhold_portion_ids,
                        const std::string& comment) {
  send_frame(review_frame(hold_id, verdict, withhold_portion_ids, comment));
}

void NodeClient::trigger(const std::string& event) { send_frame(trigger_frame(event)); }

void NodeClient::send_frame(const v1::Frame& frame) { send_raw(wire::encode_frame(frame)); }

void NodeClient::request_echo(std::int64_t tag) {
  v1::Frame frame;
  frame.mutable_heartbeat()->set_sent_unix_ms(tag);
  asio::post(connection_->io, [c = connection_, tag, bytes = wire::encode_frame(frame)]() mutable {
    c->echoes_requested.insert(tag);
    c->queue({std::move(bytes), {}});
  });
}

void NodeClient::send_raw(std::string bytes) {
  asio::post(connection_->io, [c = connection_, bytes = std::move(bytes)]() mutable { c->queue({std::move(bytes), {}}); });
}

std::optional<NodeEvent> NodeClient::next_event(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!events_changed_.wait_for(lock, timeout, [this] { return !events_.empty(); })) return std::nullopt;
  NodeEvent event = std::move(events_.front());
  events_.pop_front();
  return event;
}

bool NodeClient::connected() const { return connection_ && connection_->open; }

std::size_t NodeClient::unacknowledged() const {
  if (connection_->done) return connection_->unacked.size();
  std::promise<std::size_t> count;
  auto result = count.get_future();
  asio::post(connection_->io, [&] { count.set_value(connection_->unacked.size()); });
  return result.wait_for(std::chrono::seconds(5)) == std::future_status::ready ? result.get() : 0;
}

void NodeClient::close() {
  if (closed_) return;
  closed_ = true;
  // Let the writer finish what is queued, then close; the reader then ends.
  asio::post(connection_->io, [c = connection_] {
    c->closing = true;
    c->heartbeat_timer.cancel();
    c->backoff_timer.cancel();
    c->wake_writer.cancel();
    if (c->deadline) c->deadline->expires_after(transport::Deadline::Side::write, std::chrono::seconds(5));  // bound the final writes
    if (!c->open) c->close_socket();
  });
  if (thread_.joinable()) thread_.join();
  else connection_->finished.get_future().wait();
}

void NodeClient::push(NodeEvent event) {
  if (options_.sink) {
    options_.sink(options_.node_id, std::move(event));
    return;
  }
  {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  events_changed_.notify_all();
}

}  // namespace icegate::node

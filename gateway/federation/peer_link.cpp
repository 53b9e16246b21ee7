#include "gateway/federation/peer_link.hpp"

#include <algorithm>
#include <deque>
#include <tuple>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/model/clock.hpp"
#include "gateway/model/json.hpp"
#include "gateway/pki/pki.hpp"
#include "gateway/transport/backoff.hpp"
#include "gateway/transport/frame_stream.hpp"
#include "gateway/transport/tls.hpp"
#include "gateway/wire/error_frame.hpp"

// g++ 12's false positive with coroutines that co_spawn others (see session.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace icegate::federation {

namespace asio = boost::asio;
using Side = transport::Deadline::Side;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::int64_t now_ms() { return to_unix_ms(std::chrono::system_clock::now()); }

FrameBytes encode(const v1::Frame& frame) { return std::make_shared<const std::string>(wire::encode_frame(frame)); }

// The frame's body, as the proto names it ("submit", "forward", ...).
std::string frame_type(const v1::Frame& frame) {
  if (frame.body_case() == v1::Frame::BODY_NOT_SET) return "an empty frame";
  const auto* field = frame.GetDescriptor()->FindFieldByNumber(static_cast<int>(frame.body_case()));
  return field != nullptr ? field->name() : "an unknown frame";
}

audit::AuditRecord link_record(std::string kind, const std::string& peer_id, json::Object detail) {
  audit::AuditRecord record;
  record.kind = std::move(kind);
  record.node = peer_id;
  record.detail = detail.add("peer_gateway", true).str();
  return record;
}

}  // namespace

std::string_view to_string(LinkState state) {
  switch (state) {
    case LinkState::down: return "down";
    case LinkState::connecting: return "connecting";
    case LinkState::up: return "up";
  }
  return "down";
}

std::string PeerEntry::address() const {
  if (host.empty()) return {};
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

// ---- The handler until the per-hop decision lands ----------------------------

void ForwardingNotEnabled::received(const std::string& peer_id, const v1::Frame& frame, PeerLinks& links) {
  if (!frame.has_forward()) {
    refuse_peer_frame(peer_id, frame, links);
    return;
  }
  std::string message_id = frame.forward().message().id();
  std::string text = fmt::format("forwarding is not enabled on this gateway ({}): message {} is not accepted",
                                 links.options().gateway_id, message_id);
  spdlog::warn("peer {}: refused {}: {}", peer_id, frame_type(frame), text);
  audit::AuditRecord record =
      link_record("peer_frame_refused", peer_id, json::Object().add("frame", frame_type(frame)).add("reason", text));
  record.message_id = message_id;
  links.audit(std::move(record));
  links.send(peer_id, wire::error_frame(v1::ERROR_CODE_NOT_PERMITTED, std::move(text), false, std::move(message_id)));
}

void refuse_peer_frame(const std::string& peer_id, const v1::Frame& frame, PeerLinks& links) {
  std::string text = fmt::format("a peer gateway may not send {} on a peer link", frame_type(frame));
  spdlog::warn("peer {}: refused {}: {}", peer_id, frame_type(frame), text);
  links.audit(
      link_record("peer_frame_refused", peer_id, json::Object().add("frame", frame_type(frame)).add("reason", text)));
  links.send(peer_id, wire::error_frame(v1::ERROR_CODE_UNEXPECTED_FRAME, std::move(text), false));
}

// ---- The connection this gateway dials ---------------------------------------

struct PeerLinks::Dialler {
  explicit Dialler(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;  // the backoff, and the wait while an accepted link is up
  bool stopped = false;
  std::shared_ptr<DialledLink> current;
};

class PeerLinks::DialledLink final : public LinkEnd, public std::enable_shared_from_this<DialledLink> {
 public:
  DialledLink(asio::io_context& io, std::unique_ptr<asio::ssl::context> context, const PeerLinkOptions& options)
      : context_(std::move(context)), stream_(io, *context_), deadline_(io.get_executor()), options_(options) {}

  void send(FrameBytes bytes) override {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this(), bytes = std::move(bytes)]() mutable {
      if (self->closing_) return;
      self->queue_.push_back(std::move(bytes));
      self->wake();
    });
  }
  void close(v1::ErrorCode code, std::string text) override {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this(), code, text = std::move(text)]() mutable {
      if (self->closing_) return;
      self->queue_.push_back(encode(wire::error_frame(code, std::move(text), true)));
      self->closing_ = true;
      self->wake();
    });
  }
  // Closes at once (stopping, or the link is no longer wanted).
  void abort() {
    closing_ = true;
    boost::system::error_code ignored;
    stream_.lowest_layer().close(ignored);
  }
  void wake() {
    if (writing_ || !stream_.lowest_layer().is_open()) return;
    writing_ = true;
    asio::co_spawn(stream_.get_executor(), [self = shared_from_this()] { return self->writer(); }, asio::detached);
  }
  asio::awaitable<void> writer() {
    bool failed = false;
    while (!queue_.empty() && stream_.lowest_layer().is_open()) {
      const FrameBytes bytes = std::move(queue_.front());
      queue_.pop_front();
      if (auto error = co_await transport::write_bytes(stream_, deadline_, options_.write_timeout, *bytes)) {
        if (end_reason.empty())
          end_reason = deadline_.expired(Side::write) ? "write deadline passed (the peer is not reading)"
                                                      : "write failed: " + transport::describe(error);
        failed = true;
        break;
      }
    }
    writing_ = false;
    // Said what it had to before closing, or could not say it: the reader
    // then ends, and the link with it.
    if (closing_ || failed) abort();
  }

  std::unique_ptr<asio::ssl::context> context_;  // before the stream, which uses it
  transport::TlsStream stream_;
  transport::Deadline deadline_;
  const PeerLinkOptions& options_;
  std::deque<FrameBytes> queue_;
  std::string read_buffer;
  std::string end_reason;
  bool writing_ = false;
  bool closing_ = false;
};

PeerLinks::PeerLinks(asio::io_context& io, PeerLinkOptions options) : io_(io), options_(std::move(options)) {}

PeerLinks::~PeerLinks() { stop(); }

void PeerLinks::set_handler(PeerFrameHandler* handler) { handler_ = handler; }

void PeerLinks::set_state(Peer& peer, LinkState state, std::string direction) {
  const std::lock_guard lock(mutex_);
  peer.status.state = state;
  peer.status.since_unix_ms = now_ms();
  peer.status.direction = std::move(direction);
}

void PeerLinks::update(std::vector<PeerEntry> peers, const std::vector<std::string>& ca_changed) {
  if (stopped_) return;
  std::vector<std::string> order;
  std::map<std::string, PeerEntry> wanted;
  for (auto& entry : peers) {
    order.push_back(entry.id);
    wanted.emplace(entry.id, std::move(entry));
  }
  // Removed peers, and those whose CA changed: their links end.
  for (auto it = peers_.begin(); it != peers_.end();) {
    Peer& peer = it->second;
    const bool removed = !wanted.contains(it->first);
    const bool changed = std::find(ca_changed.begin(), ca_changed.end(), it->first) != ca_changed.end();
    const auto found = wanted.find(it->first);
    const bool address_changed = found != wanted.end() && found->second.address() != peer.entry.address();
    if ((removed || changed || address_changed) && peer.dialler) {
      peer.dialler->stopped = true;
      peer.dialler->timer.cancel();
      if (peer.dialler->current) peer.dialler->current->abort();
      peer.dialler.reset();
    }
    if ((removed || changed) && peer.link) {
      const std::string why = removed ? fmt::format("{} is no longer a peer in the policy", it->first)
                                      : fmt::format("the policy names another CA for {}", it->first);
      spdlog::warn("peer link {} closed: {}", it->first, why);
      peer.link->close(v1::ERROR_CODE_SUPERSEDED, why);
      went_down(peer, why);
    }
    if (removed) {
      const std::lock_guard lock(mutex_);
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [id, entry] : wanted) {
    Peer* peer = nullptr;
    {
      const std::lock_guard lock(mutex_);
      const auto [it, added] = peers_.try_emplace(id);
      peer = &it->second;
      peer->entry = entry;
      peer->status.id = id;
      peer->status.address = entry.address();
      if (added) peer->status.since_unix_ms = now_ms();
    }
    if (!entry.host.empty() && !peer->dialler) start_dialling(*peer);
  }
  const std::lock_guard lock(mutex_);
  order_ = std::move(order);
}

void PeerLinks::start_dialling(Peer& peer) {
  peer.dialler = std::make_shared<Dialler>(io_);
  asio::co_spawn(io_, dial_loop(peer.entry.id, peer.dialler), asio::detached);
}

asio::awaitable<void> PeerLinks::dial_loop(std::string peer_id, std::shared_ptr<Dialler> dialler) {
  transport::Backoff backoff(options_.backoff_initial, options_.backoff_max);
  while (!dialler->stopped) {
    auto found = peers_.find(peer_id);
    if (found == peers_.end()) co_return;
    if (found->second.link) {
      // Up, accepted from the peer: nothing to dial while it lasts.
      dialler->timer.expires_after(options_.backoff_initial);
      co_await dialler->timer.async_wait(use_tuple);
      continue;
    }
    set_state(found->second, LinkState::connecting);
    const PeerEntry entry = found->second.entry;
    bool was_up = false;
    std::string why = co_await dial_once(entry, dialler);
    dialler->current.reset();
    if (dialler->stopped) co_return;
    found = peers_.find(peer_id);
    if (found == peers_.end()) co_return;
    if (why.starts_with("+")) {  // it was up, then ended
      was_up = true;
      why.erase(0, 1);
    }
    if (was_up) backoff.reset();
    if (!found->second.link) {
      const std::lock_guard lock(mutex_);
      found->second.status.state = LinkState::down;
      found->second.status.since_unix_ms = now_ms();
      found->second.status.direction.clear();
      found->second.status.last_error = why;
    }
    const auto wait = backoff.next();
    spdlog::warn("peer link {} ({}) {}: {}; dialling again in {} ms", peer_id, entry.address(),
                 was_up ? "went down" : "failed", why, wait.count());
    dialler->timer.expires_after(wait);
    co_await dialler->timer.async_wait(use_tuple);
  }
}

// Returns the reason the attempt failed, or "+reason" when the link came up
// and later ended for that reason.
asio::awaitable<std::string> PeerLinks::dial_once(const PeerEntry& entry, const std::shared_ptr<Dialler>& dialler) {
  std::unique_ptr<asio::ssl::context> context;
  try {
    // Trusts that peer's CA only: no other CA's certificate, nor our own
    // nodes', can pass for the peer.
    const pki::Paths own = pki::gateway_paths(options_.pki_dir);
    context = std::make_unique<asio::ssl::context>(transport::make_client_context({entry.ca, own.certificate, own.key}));
  } catch (const std::exception& error) {
    co_return fmt::format("cannot make the TLS context: {}", error.what());
  }
  auto link = std::make_shared<DialledLink>(io_, std::move(context), options_);
  dialler->current = link;
  auto& socket = link->stream_.lowest_layer();

  asio::steady_timer give_up(io_);  // connecting has no Deadline yet (it needs an open socket)
  give_up.expires_after(options_.handshake_timeout);
  auto timed_out = std::make_shared<bool>(false);  // the handler may run after this coroutine has moved on
  give_up.async_wait([link, timed_out](const boost::system::error_code& error) {
    if (error) return;
    *timed_out = true;
    link->abort();
  });
  asio::ip::tcp::resolver resolver(io_);
  auto [resolve_error, endpoints] =
      co_await resolver.async_resolve(entry.host, std::to_string(entry.port), use_tuple);
  if (resolve_error || dialler->stopped) {
    give_up.cancel();
    co_return fmt::format("cannot resolve {}: {}", entry.host, resolve_error.message());
  }
  // From the gateway's own address, when it listens on one: a peer then
  // sees the connection come from the host it would dial. Not from a
  // loopback address to another host (nor the other way), which cannot work.
  boost::system::error_code unparsed;
  auto local = asio::ip::make_address(options_.local_address, unparsed);
  const bool bind_local = !options_.local_address.empty() && !unparsed && !local.is_unspecified();
  boost::system::error_code connect_error = asio::error::host_not_found;
  for (const auto& candidate : endpoints) {
    if (*timed_out || dialler->stopped) break;
    boost::system::error_code error;
    socket.close(error);
    socket.open(candidate.endpoint().protocol(), error);
    const auto remote = candidate.endpoint().address();
    if (!error && bind_local && local.is_v4() == remote.is_v4() && local.is_loopback() == remote.is_loopback())
      socket.bind({local, 0}, error);
    if (error) {
      connect_error = error;
      continue;
    }
    std::tie(connect_error) = co_await socket.async_connect(candidate.endpoint(), use_tuple);
    if (!connect_error) break;
  }
  give_up.cancel();
  if (dialler->stopped) co_return "stopped";
  if (connect_error || *timed_out) {
    co_return *timed_out ? fmt::format("no connection to {} within {} ms", entry.address(),
                                      options_.handshake_timeout.count())
                        : fmt::format("cannot connect to {}: {}", entry.address(), connect_error.message());
  }
  boost::system::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);

  const auto by = transport::Clock::now() + options_.handshake_timeout;
  link->deadline_.watch(socket, link);
  link->deadline_.expires_at(Side::read, by);
  auto [tls_error] = co_await link->stream_.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (tls_error) {
    link->deadline_.cancel();
    link->abort();
    co_return link->deadline_.expired() ? std::string("TLS handshake timed out")
                                        : "TLS handshake failed: " + transport::describe(tls_error);
  }
  // The chain verified against the peer's CA; it must also be the peer's own.
  const auto common_name = transport::peer_common_name(link->stream_.native_handle());
  if (!common_name || *common_name != entry.id) {
    link->deadline_.cancel();
    link->abort();
    co_return fmt::format("the server's certificate names '{}', not {}: a certificate from {}'s CA that is not "
                          "the peer's own",
                          common_name.value_or(""), entry.id, entry.id);
  }

  v1::Frame hello;
  hello.mutable_hello()->set_node_id(options_.gateway_id);
  hello.mutable_hello()->set_protocol_version(wire::protocol_version);
  hello.mutable_hello()->set_software_version("icegate gateway " + options_.gateway_id);
  if (auto error = co_await transport::write_bytes(link->stream_, link->deadline_, options_.write_timeout,
                                                   wire::encode_frame(hello))) {
    link->deadline_.cancel();
    link->abort();
    co_return "Hello not sent: " + transport::describe(error);
  }
  v1::Frame answer;
  auto result = co_await transport::read_frame(link->stream_, link->deadline_, options_.handshake_timeout,
                                               options_.handshake_timeout, options_.max_frame_bytes,
                                               link->read_buffer, answer, by);
  std::string refusal;
  if (!result.ok()) {
    refusal = link->deadline_.expired() ? std::string("no Welcome before the handshake deadline")
                                        : "closed before Welcome: " + transport::describe(result.error);
  } else if (answer.has_error()) {
    refusal = fmt::format("refused by {}: {}: {}", entry.id, wire::error_code_name(answer.error().code()), answer.error().message());
  } else if (!answer.has_welcome()) {
    refusal = fmt::format("{} answered Hello with {}, not Welcome", entry.id, frame_type(answer));
  } else if (answer.welcome().gateway_id() != entry.id) {
    refusal = fmt::format("Welcome names gateway '{}', not {}", answer.welcome().gateway_id(), entry.id);
  }
  if (!refusal.empty()) {
    link->deadline_.cancel();
    link->abort();
    co_return refusal;
  }
  if (dialler->stopped) {
    link->deadline_.cancel();
    link->abort();
    co_return "stopped";
  }
  if (auto kept = attach_dialled(entry.id, link)) {
    link->deadline_.cancel();
    link->close(v1::ERROR_CODE_SUPERSEDED, *kept);
    co_return *kept;
  }

  // Up: heartbeats keep the peer's idle deadline (and ours) from passing.
  auto heartbeat = std::make_shared<asio::steady_timer>(io_);
  asio::co_spawn(
      io_,
      [link, heartbeat, every = options_.idle_timeout / 3]() -> asio::awaitable<void> {
        while (link->stream_.lowest_layer().is_open() && !link->closing_) {
          heartbeat->expires_after(every);
          auto [cancelled] = co_await heartbeat->async_wait(use_tuple);
          if (cancelled || link->closing_) break;
          v1::Frame beat;
          beat.mutable_heartbeat()->set_sent_unix_ms(now_ms());
          link->send(encode(beat));
        }
      },
      asio::detached);
  std::string ended;
  while (true) {
    v1::Frame frame;
    auto read = co_await transport::read_frame(link->stream_, link->deadline_, options_.idle_timeout,
                                               options_.frame_timeout, options_.max_frame_bytes, link->read_buffer,
                                               frame);
    if (!read.ok()) {
      if (!link->end_reason.empty()) ended = link->end_reason;
      else if (link->deadline_.expired(Side::read)) ended = "no frame within the idle deadline";
      else if (read.error) ended = transport::is_disconnect(read.error) ? std::string("the peer closed the link")
                                                                          : "read failed: " + transport::describe(read.error);
      else ended = "the peer sent bytes that are not a frame";
      break;
    }
    if (frame.has_heartbeat()) continue;
    if (frame.has_error()) {
      spdlog::info("peer {} reports error {}: {}", entry.id, wire::error_code_name(frame.error().code()), frame.error().message());
      if (frame.error().fatal()) {
        ended = fmt::format("closed by {}: {}: {}", entry.id, wire::error_code_name(frame.error().code()), frame.error().message());
        break;
      }
      continue;
    }
    received(entry.id, frame);
  }
  heartbeat->cancel();
  link->deadline_.cancel();
  link->abort();
  if (auto found = peers_.find(entry.id); found != peers_.end() && found->second.link == link) {
    went_down(found->second, ended);
  }
  co_return "+" + ended;
}

std::optional<std::string> PeerLinks::attach_dialled(const std::string& peer_id, const std::shared_ptr<LinkEnd>& end) {
  auto found = peers_.find(peer_id);
  if (found == peers_.end()) return fmt::format("{} is no longer a peer in the policy", peer_id);
  Peer& peer = found->second;
  if (peer.link && !peer.dialled) {
    // Both dialled at once: the link dialled by the smaller id is kept.
    if (peer_id < options_.gateway_id)
      return fmt::format("the link {} dialled is kept ({} < {})", peer_id, peer_id, options_.gateway_id);
    peer.link->close(v1::ERROR_CODE_SUPERSEDED,
                     fmt::format("the link {} dialled is kept ({} < {})", options_.gateway_id, options_.gateway_id,
                                 peer_id));
  }
  peer.link = end;
  peer.dialled = true;
  {
    const std::lock_guard lock(mutex_);
    peer.status.last_error.clear();
  }
  set_state(peer, LinkState::up, "dialled");
  spdlog::info("peer link {} up (dialled {})", peer_id, peer.entry.address());
  audit(link_record("connection", peer_id,
                    json::Object().add("peer", peer.entry.address()).add("direction", "dialled")));
  handler().link_up(peer_id);
  return std::nullopt;
}

std::optional<std::string> PeerLinks::admit(const std::string& peer_id, std::shared_ptr<LinkEnd> end) {
  if (stopped_) return std::string("the gateway is shutting down");
  auto found = peers_.find(peer_id);
  if (found == peers_.end()) return fmt::format("{} is not a peer in the policy", peer_id);
  Peer& peer = found->second;
  if (peer.link) {
    if (peer.dialled && options_.gateway_id < peer_id)
      return fmt::format("the link {} dialled is kept ({} < {})", options_.gateway_id, options_.gateway_id, peer_id);
    // A redial (the peer restarted) or the tie-break: the new link supersedes.
    peer.link->close(v1::ERROR_CODE_SUPERSEDED, fmt::format("a newer link with {} has connected", peer_id));
    if (peer.dialled && peer.dialler && peer.dialler->current) peer.dialler->current->abort();
  }
  peer.link = std::move(end);
  peer.dialled = false;
  {
    const std::lock_guard lock(mutex_);
    peer.status.last_error.clear();
  }
  set_state(peer, LinkState::up, "accepted");
  spdlog::info("peer link {} up (accepted)", peer_id);
  audit(link_record("connection", peer_id, json::Object().add("direction", "accepted")));
  handler().link_up(peer_id);
  return std::nullopt;
}

void PeerLinks::lost(const std::string& peer_id, const LinkEnd* end, const std::string& reason) {
  auto found = peers_.find(peer_id);
  if (found == peers_.end() || found->second.link.get() != end) return;  // superseded already
  spdlog::warn("peer link {} (accepted) went down: {}", peer_id, reason);
  went_down(found->second, reason);
}

void PeerLinks::went_down(Peer& peer, const std::string& reason) {
  audit(link_record("disconnection", peer.entry.id,
                    json::Object().add("direction", peer.dialled ? "dialled" : "accepted").add("reason", reason)));
  peer.link.reset();
  peer.dialled = false;
  {
    const std::lock_guard lock(mutex_);
    peer.status.last_error = reason;
  }
  set_state(peer, LinkState::down);
  handler().link_down(peer.entry.id);
  // A dialler waiting while the accepted link was up dials now.
  if (peer.dialler) peer.dialler->timer.cancel();
}

void PeerLinks::received(const std::string& peer_id, const v1::Frame& frame) {
  if (stopped_ || !peers_.contains(peer_id)) return;
  if (frame.has_audit_head() && options_.on_audit_head) {
    options_.on_audit_head(peer_id, frame.audit_head());
    return;
  }
  handler().received(peer_id, frame, *this);
}

bool PeerLinks::send(const std::string& peer_id, const v1::Frame& frame) { return send(peer_id, encode(frame)); }

bool PeerLinks::send(const std::string& peer_id, FrameBytes bytes) {
  auto found = peers_.find(peer_id);
  if (found == peers_.end() || !found->second.link) return false;
  found->second.link->send(std::move(bytes));
  return true;
}

bool PeerLinks::up(const std::string& peer_id) const {
  auto found = peers_.find(peer_id);
  return found != peers_.end() && found->second.link != nullptr;
}

void PeerLinks::close(const std::string& peer_id, v1::ErrorCode code, std::string text) {
  auto found = peers_.find(peer_id);
  if (found == peers_.end() || !found->second.link) return;
  spdlog::warn("closing the link with peer {}: {}", peer_id, text);
  found->second.link->close(code, std::move(text));
}

PeerFrameHandler& PeerLinks::handler() { return handler_ != nullptr ? *handler_ : not_enabled_; }

void PeerLinks::audit(audit::AuditRecord record) {
  if (options_.audit) options_.audit(std::move(record));
}

std::vector<PeerStatus> PeerLinks::status() const {
  const std::lock_guard lock(mutex_);
  std::vector<PeerStatus> all;
  for (const auto& id : order_)
    if (auto found = peers_.find(id); found != peers_.end()) all.push_back(found->second.status);
  return all;
}

std::optional<PeerStatus> PeerLinks::status(const std::string& peer_id) const {
  const std::lock_guard lock(mutex_);
  if (auto found = peers_.find(peer_id); found != peers_.end()) return found->second.status;
  return std::nullopt;
}

void PeerLinks::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [id, peer] : peers_) {
    if (peer.dialler) {
      peer.dialler->stopped = true;
      peer.dialler->timer.cancel();
      if (peer.dialler->current) peer.dialler->current->abort();
    }
    if (peer.link && peer.dialled) peer.link->close(v1::ERROR_CODE_SUPERSEDED, "the gateway is shutting down");
  }
}

}  // namespace icegate::federation

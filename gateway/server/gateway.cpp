#include "gateway/server/gateway.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <mutex>
#include <utility>

#include <pthread.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "gateway/audit/witness.hpp"
#include "gateway/federation/binding.hpp"
#include "gateway/federation/head_exchange.hpp"
#include "gateway/federation/hop.hpp"
#include "gateway/federation/peer_link.hpp"
#include "gateway/model/allocator.hpp"
#include "gateway/model/json.hpp"
#include "gateway/pki/pki.hpp"
#include "gateway/policy/peers.hpp"
#include "gateway/server/peer_frames.hpp"
#include "gateway/server/router.hpp"
#include "gateway/server/session.hpp"
#include "gateway/server/shadow.hpp"
#include "gateway/store/store.hpp"
#include "gateway/transport/identity.hpp"
#include "gateway/transport/tls.hpp"

namespace icegate::server {

namespace asio = boost::asio;

// What the accept loop verifies clients with: the TLS context (the node CA,
// DIR/crl.pem, the peers' CAs) and the anchors that tell a node from a peer.
struct ServerTrust {
  asio::ssl::context context;
  transport::TrustAnchors anchors;
  std::vector<transport::PeerCa> cas;
};

namespace {

std::vector<transport::PeerCa> peer_cas(const policy::CompiledPolicy& policy) {
  std::vector<transport::PeerCa> cas;
  for (const policy::Peer& peer : policy.source().peers) cas.push_back({peer.id, peer.ca});
  return cas;
}

// Throws, naming the peer and its file, when a peer's CA cannot be trusted.
std::shared_ptr<ServerTrust> make_trust(const GatewayConfig& config, const policy::CompiledPolicy& policy) {
  const policy::Diagnostics problems = policy::check_peer_files(policy.source());
  if (problems.error_count() > 0) {
    std::vector<std::string> lines;
    for (const auto& diagnostic : problems.sorted()) lines.push_back(policy::to_string(diagnostic));
    throw std::runtime_error(fmt::format("cannot trust the policy's peers: {}", fmt::join(lines, "; ")));
  }
  auto cas = peer_cas(policy);
  transport::ServerContextOptions options{.verified_chain_cache = config.verify_cache, .peer_cas = cas};
  return std::make_shared<ServerTrust>(ServerTrust{transport::make_server_context(config.pki_dir, options),
                                                   transport::TrustAnchors(pki::ca_paths(config.pki_dir).certificate, cas),
                                                   cas});
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Keeps the session threads' io_contexts until the decision io_context is
// destroyed. A session lives on its own io_context (its socket and timers are
// there) but may be held, when the loops stop, by a handler queued on the
// decision io_context (a request it was waiting on the router for): that
// handler is destroyed, and the session with it, when the decision
// io_context is, and the session's io_context must still exist then. As a
// service of the decision io_context, this is destroyed after its handlers
// are, and takes the session io_contexts (and what is left queued on them)
// with it.
class SessionContextsKeeper final : public asio::execution_context::service {
 public:
  using key_type = SessionContextsKeeper;
  static inline asio::execution_context::id id;
  explicit SessionContextsKeeper(asio::execution_context& owner) : asio::execution_context::service(owner) {}
  void keep(std::shared_ptr<asio::io_context> context) {
    std::lock_guard lock(mutex_);
    contexts_.push_back(std::move(context));
  }

 private:
  void shutdown() override {}
  std::mutex mutex_;
  std::vector<std::shared_ptr<asio::io_context>> contexts_;  // guarded by: mutex_
};
}  // namespace

namespace {
// A gateway whose certificate names it (`pki init --gateway-id`) is that
// gateway: peers know it by its certificate's Common Name, so that is its id
// unless the configuration gives another. A PKI without a name keeps "gateway".
GatewayConfig with_certificate_id(GatewayConfig config) {
  if (config.gateway_id != "gateway") return config;
  try {
    const std::string name = pki::certificate_common_name(pki::gateway_paths(config.pki_dir).certificate);
    if (!name.empty()) config.gateway_id = name;
  } catch (const std::exception&) {
    // No certificate: make_server_context says so, naming the file.
  }
  return config;
}
}  // namespace

std::size_t session_threads(const GatewayConfig& config) {
  if (config.threads > 0) return config.threads;
  return std::max(1u, std::thread::hardware_concurrency());
}


Gateway::Gateway(asio::io_context& io, GatewayConfig config, std::shared_ptr<const policy::CompiledPolicy> policy)
    : io_(io),
      config_(with_certificate_id(std::move(config))),
      trust_(make_trust(config_, *policy)),
      acceptor_(io),
      policy_(std::move(policy)),
      router_policy_([this] { return policy_.load(); }),
      store_(std::make_unique<store::Store>(config_.data_dir, store::StoreOptions{config_.durable_fsync})),
      router_(std::make_unique<Router>(config_, router_policy_, *store_, io.get_executor())) {
  peer_links_ = std::make_unique<federation::PeerLinks>(
      io_, federation::PeerLinkOptions{.gateway_id = config_.gateway_id,
                                       .pki_dir = config_.pki_dir,
                                       .local_address = config_.listen.address().to_string(),
                                       .handshake_timeout = config_.handshake_timeout,
                                       .idle_timeout = config_.idle_timeout,
                                       .frame_timeout = config_.frame_timeout,
                                       .write_timeout = config_.write_timeout,
                                       .max_frame_bytes = config_.max_frame_bytes,
                                       .backoff_initial = config_.peer_redial_min,
                                       .backoff_max = config_.peer_redial_max,
                                       .audit = [this](audit::AuditRecord record) { router_->audit(std::move(record)); },
                                       .on_audit_head = [this](const std::string& peer_id, const v1::AuditHead& head) {
                                         heads_->received(peer_id, head);
                                       }});
  heads_ = std::make_unique<federation::HeadExchange>(
      *peer_links_,
      federation::HeadExchange::Sources{
          .durable_head = [this] { return store_->durable_audit_head(); },
          .signer = [this] { return signer(); },
          .peer_ca =
              [this](const std::string& peer_id) {
                for (const policy::Peer& peer : this->policy()->source().peers)
                  if (peer.id == peer_id) return peer.ca;
                return std::string();
              },
          .last_witnessed = [this](const std::string& peer_id) -> std::optional<audit::TrailHead> {
            try {
              return audit::last_witnessed(config_.data_dir, peer_id);
            } catch (const std::exception& error) {
              spdlog::error("peer {}: cannot read the last head witnessed of it: {}", peer_id, error.what());
              return std::nullopt;
            }
          }},
      federation::HeadExchangeOptions{.records = config_.audit_head_records,
                                      .interval = config_.audit_head_interval});
  wire::ForwardLimits limits;
  limits.message = config_.message_limits;
  peer_frames_ = std::make_unique<PeerFrames>(*router_, limits);
  peer_links_->set_handler(peer_frames_.get());
  router_->set_federation(Router::Federation{
      .hop = [this] { return hop_; },
      .send = [this](const std::string& peer, FrameBytes bytes) { return peer_links_->send(peer, std::move(bytes)); },
      .close = [this](const std::string& peer, v1::ErrorCode code,
                      std::string text) { peer_links_->close(peer, code, std::move(text)); }});
}

// The session threads stop before anything they use (the router, the
// configuration, the TLS context) is destroyed.
Gateway::~Gateway() {
  for (auto& work : session_work_) work.reset();
  for (auto& context : session_contexts_) context->stop();
  for (auto& thread : session_threads_) thread.join();
  // After a clean stop every session has ended, but what one left queued as
  // it ended (its deadline's cancelled wait, which holds the session, which
  // holds work on the decision loop) may not have run if the stop above
  // overtook its thread. Run it now: left in a stopped io_context, it would
  // keep the caller's loop from ever running out of work (the exercise host
  // waits for exactly that). Only ready handlers run; nothing waits.
  if (has_stopped_)
    for (auto& context : session_contexts_) {
      context->restart();
      context->poll();
    }
}

void Gateway::start() {
  router_->recover();
  acceptor_.open(config_.listen.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(config_.listen);
  acceptor_.listen();
  auto& keeper = asio::use_service<SessionContextsKeeper>(io_);
  for (std::size_t i = 1; i < session_threads(config_); ++i) {
    auto context = std::make_shared<asio::io_context>(1);
    keeper.keep(context);
    session_work_.push_back(asio::make_work_guard(*context));
    session_threads_.emplace_back([context, name = fmt::format("session-{}", i)] {
      ::pthread_setname_np(::pthread_self(), name.c_str());  // named for top -H and per-thread CPU figures
      context->run();
    });
    session_contexts_.push_back(std::move(context));
  }
  spdlog::info("gateway {} listening on {}:{} policy={} ({}) threads={} allocator={}", config_.gateway_id,
               local_endpoint().address().to_string(), local_endpoint().port(), policy()->source().name,
               policy()->version(), threads(), allocator_in_use());
  if (shadow_)
    spdlog::info("shadow policy={} ({}): every submission decided under it too, nothing enforced",
                 shadow_->policy()->source().name, shadow_->policy()->version());
  spawn_loop(accept_loop());
  spawn_loop(tick_loop());
  update_hop(policy());
  update_peers(*policy(), {});
  spawn_loop(head_loop());
  if (config_.watch_policy) spawn_loop(watch_loop(read_file(config_.policy_file)));
}

void Gateway::spawn_loop(asio::awaitable<void> loop) {
  const Task task = tasks_.emplace(tasks_.end(), TaskSignal{.executor = io_.get_executor()});
  // The loop's timer or accept, wherever it is waiting, is cancelled by the
  // signal (a coroutine passes a terminal cancellation on to what it awaits).
  asio::co_spawn(io_, std::move(loop),
                 asio::bind_cancellation_slot(task->signal->slot(), [this, task](std::exception_ptr error) {
                   finished(task, error);
                 }));
}

void Gateway::finished(Task task, const std::exception_ptr& error) {
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("a gateway task ended with an exception: {}", e.what());
    } catch (...) {
      spdlog::error("a gateway task ended with an exception");
    }
  }
  tasks_.erase(task);
  if (!stopping_ || !tasks_.empty()) return;
  // The last sessions' disconnection records are queued: the gateway has
  // stopped once they (and every commit before them) are done.
  router_->after_commits([this] { all_stopped(); });
}

void Gateway::all_stopped() {
  spdlog::info("stopped: every connection closed and every commit done");
  has_stopped_ = true;
  for (auto& stopped : std::exchange(stopped_, {})) stopped();
}

// Compares the file's bytes rather than its mtime: editors that write a new
// file and rename it, and coarse mtimes, fool a timestamp check. The baseline
// is taken in start(), before anyone can edit the file.
asio::awaitable<void> Gateway::watch_loop(std::string seen) {
  asio::steady_timer timer(io_);
  while (!stopping_) {
    timer.expires_after(config_.watch_interval);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    std::string now = read_file(config_.policy_file);
    if (now == seen) continue;
    seen = std::move(now);
    spdlog::info("policy file {} changed; reloading", config_.policy_file.string());
    reload_policy();
  }
}

asio::awaitable<void> Gateway::tick_loop() {
  asio::steady_timer timer(io_);
  while (!stopping_) {
    timer.expires_after(config_.tick_interval);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!stopping_) router_->tick();
  }
}

// Peers witness each other's audit trail: each turn sends the durable head to
// the peers due one (federation/head_exchange.hpp). Signed at the real time,
// not the exercise's clock: a certificate is valid in real time.
asio::awaitable<void> Gateway::head_loop() {
  asio::steady_timer timer(io_);
  const auto period = std::min<std::chrono::milliseconds>(config_.audit_head_interval, std::chrono::milliseconds(500));
  while (!stopping_) {
    timer.expires_after(period);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!stopping_ && !policy()->source().peers.empty()) heads_->send_due(to_unix_ms(std::chrono::system_clock::now()));
  }
}

std::shared_ptr<const federation::OriginGateway> Gateway::signer() {
  if (signer_ || signer_failed_) return signer_;
  try {
    const pki::Paths paths = pki::gateway_paths(config_.pki_dir);
    signer_ = std::make_shared<const federation::OriginGateway>(paths.key, paths.certificate);
  } catch (const std::exception& error) {
    signer_failed_ = true;
    spdlog::error("the gateway key cannot sign its audit heads, so no peer is sent one: {}", error.what());
  }
  return signer_;
}

void Gateway::stop(std::function<void()> stopped) {
  if (stopped) {
    if (has_stopped_) asio::post(io_, std::move(stopped));
    else stopped_.push_back(std::move(stopped));
  }
  if (stopping_) return;
  stopping_ = true;
  // No more dialling; links this gateway dialled close now, accepted ones with their sessions.
  peer_links_->stop();
  // What sessions on other threads hand the router from now on is not
  // handled (they hear of the shutdown only once their emit has run).
  router_->drain();
  // The loops end; every session stops taking frames, and one still in its
  // handshake is closed (Session::shut_down). A signal is emitted on its
  // task's thread: here for the loops and this thread's sessions, posted for
  // the others. Nothing completes inline, so no task leaves the list while
  // it is walked.
  for (auto& task : tasks_) {
    if (task.executor == io_.get_executor()) {
      task.signal->emit(asio::cancellation_type::terminal);
    } else {
      asio::post(task.executor, [signal = task.signal] { signal->emit(asio::cancellation_type::terminal); });
    }
  }
  // Whatever was accepted is committed and its frames queued before anyone is closed.
  router_->after_commits([this] {
    spdlog::info("drained: {} frame(s) owed, {} hold(s) kept for the next start", router_->owed_count(),
                 router_->hold_count());
    for (auto& session : router_->sessions()) session->close(v1::ERROR_CODE_SUPERSEDED, "the gateway is shutting down");
  });
  if (tasks_.empty()) router_->after_commits([this] { all_stopped(); });  // never started
}

asio::ip::tcp::endpoint Gateway::local_endpoint() const {
  boost::system::error_code ignored;
  return acceptor_.local_endpoint(ignored);
}

void Gateway::set_policy(std::shared_ptr<const policy::CompiledPolicy> policy) {
  spdlog::info("policy now {} ({})", policy->source().name, policy->version());
  std::vector<std::string> ca_changed;
  const auto current = trust_.load();
  // A policy without peers, after one without, leaves the context (and its
  // verified-chain cache) as it is.
  if (!current->cas.empty() || !policy->source().peers.empty()) {
    try {
      auto fresh = make_trust(config_, *policy);
      for (const auto& peer : current->cas)
        if (!current->anchors.same_peer_ca(fresh->anchors, peer.peer_id)) ca_changed.push_back(peer.peer_id);
      trust_.store(std::move(fresh));
    } catch (const std::exception& error) {
      spdlog::error("policy {}: its peers are not trusted, the TLS context is kept as it was: {}",
                    policy->source().name, error.what());
    }
  }
  policy_.store(policy);
  asio::dispatch(io_, [this, policy = std::move(policy), ca_changed = std::move(ca_changed)] {
    if (stopping_) return;
    update_hop(policy);
    update_peers(*policy, ca_changed);
  });
}

void Gateway::update_peers(const policy::CompiledPolicy& policy, const std::vector<std::string>& ca_changed) {
  std::vector<federation::PeerEntry> entries;
  for (const policy::Peer& peer : policy.source().peers) {
    federation::PeerEntry entry{.id = peer.id, .ca = peer.ca};
    if (!peer.address.empty()) {
      std::string why;
      if (auto address = policy::parse_peer_address(peer.address, &why)) {
        entry.host = address->host;
        entry.port = address->port;
      } else {
        spdlog::error("peer {}: address '{}' is not host:port ({}); it is not dialled", peer.id, peer.address, why);
      }
    }
    entries.push_back(std::move(entry));
  }
  peer_links_->update(std::move(entries), ca_changed);
}

void Gateway::update_hop(std::shared_ptr<const policy::CompiledPolicy> policy) {
  hop_.reset();
  if (policy->source().peers.empty()) return;
  auto self = signer();
  if (!self) {
    spdlog::error("policy {}: this gateway forwards nothing and refuses what peers forward: it cannot sign",
                  policy->source().name);
    return;
  }
  try {
    auto cas = federation::Hop::load_peer_cas(policy->source());
    hop_ = std::make_shared<const federation::Hop>(std::move(policy), std::move(self), std::move(cas));
  } catch (const std::exception& error) {
    spdlog::error("policy {}: this gateway forwards nothing and refuses what peers forward: {}",
                  policy->source().name, error.what());
  }
}

std::vector<federation::PeerStatus> Gateway::peer_status() const { return peer_links_->status(); }

policy::LoadResult load_policy_giving_memory_back(const std::filesystem::path& file) {
  const GiveBackFreedMemory give_back;
  return policy::load_policy(file);
}

policy::Diagnostics Gateway::reload_policy() {
  auto loaded = load_policy_giving_memory_back(config_.policy_file);
  audit::AuditRecord record;
  record.node = config_.gateway_id;
  if (loaded.policy) {
    record.kind = "policy_loaded";
    record.policy_version = loaded.policy->version();
    record.detail = json::Object().add("file", config_.policy_file.string()).str();
    router_->audit(std::move(record));
    set_policy(std::move(loaded.policy));
    if (auto* observer = router_->observer()) observer->policy_loaded(*policy());
    if (!config_.shadow_policy_file.empty()) reload_shadow_policy();
  } else {
    std::vector<std::string> errors;
    for (const auto& diagnostic : loaded.diagnostics.sorted()) errors.push_back(policy::to_string(diagnostic));
    record.kind = "policy_refused";
    record.detail = json::Object().add("file", config_.policy_file.string()).add("errors", errors).str();
    router_->audit(std::move(record));
    spdlog::error("policy reload refused; keeping {} ({}): {} error(s)", policy()->source().name,
                  policy()->version(), loaded.diagnostics.error_count());
    for (const auto& diagnostic : loaded.diagnostics.sorted()) spdlog::error("{}", policy::to_string(diagnostic));
  }
  return loaded.diagnostics;
}

void Gateway::reload_shadow_policy() {
  auto loaded = load_policy_giving_memory_back(config_.shadow_policy_file);
  audit::AuditRecord record;
  record.node = config_.gateway_id;
  if (loaded.policy) {
    record.kind = "policy_loaded";
    record.policy_version = loaded.policy->version();
    record.detail = json::Object().add("file", config_.shadow_policy_file.string()).add("shadow", true).str();
    router_->audit(std::move(record));
    spdlog::info("shadow policy now {} ({})", loaded.policy->source().name, loaded.policy->version());
    set_shadow_policy(std::move(loaded.policy));
    return;
  }
  std::vector<std::string> errors;
  for (const auto& diagnostic : loaded.diagnostics.sorted()) errors.push_back(policy::to_string(diagnostic));
  record.kind = "policy_refused";
  record.detail =
      json::Object().add("file", config_.shadow_policy_file.string()).add("shadow", true).add("errors", errors).str();
  router_->audit(std::move(record));
  spdlog::error("shadow policy reload refused; keeping {}: {} error(s)",
                shadow_ ? fmt::format("{} ({})", shadow_->policy()->source().name, shadow_->policy()->version())
                        : std::string("none"),
                loaded.diagnostics.error_count());
  for (const auto& error : errors) spdlog::error("{}", error);
}

void Gateway::set_shadow_policy(std::shared_ptr<const policy::CompiledPolicy> policy) {
  if (shadow_) {
    shadow_->set_policy(std::move(policy));
    return;
  }
  shadow_ = std::make_unique<ShadowPolicy>(std::move(policy), router_->metrics());
  router_->set_shadow(shadow_.get());
}

std::shared_ptr<const policy::CompiledPolicy> Gateway::shadow_policy() const {
  return shadow_ ? shadow_->policy() : nullptr;
}

std::size_t Gateway::session_count() const { return router_->session_count(); }
std::size_t Gateway::hold_count() const { return router_->hold_count(); }
std::size_t Gateway::owed_count() const { return router_->owed_count(); }
std::size_t Gateway::owed_to_connected() const { return router_->owed_to_connected(); }
void Gateway::tick_now() { router_->tick(); }
void Gateway::after_commits(std::function<void()> then) { router_->after_commits(std::move(then)); }
void Gateway::set_observer(Observer* observer) { router_->set_observer(observer); }
Observer* Gateway::observer() const { return router_->observer(); }
void Gateway::set_settled_watch(std::function<void()> watch) { router_->set_settled_watch(std::move(watch)); }

std::vector<std::string> Gateway::take_written_unacknowledged() { return router_->take_written_unacknowledged(); }
const GatewayMetrics& Gateway::metrics() const { return router_->metrics(); }

std::optional<transport::VerifiedChainCacheStats> Gateway::verify_cache_stats() {
  if (auto* cache = transport::verified_chain_cache(trust_.load()->context.native_handle())) return cache->stats();
  return std::nullopt;
}

asio::any_io_executor Gateway::next_session_executor() {
  const std::size_t slot = next_context_++ % threads();
  if (slot == 0) return io_.get_executor();
  return session_contexts_[slot - 1]->get_executor();
}

asio::awaitable<void> Gateway::accept_loop() {
  while (acceptor_.is_open() && !stopping_) {
    // The connection's socket, and so its session, belongs to its thread's io_context.
    const auto executor = next_session_executor();
    auto [error, socket] = co_await acceptor_.async_accept(executor, asio::as_tuple(asio::use_awaitable));
    // A connection accepted just before stop() was cancelled is not taken.
    if (stopping_) break;
    if (error) {
      if (error == asio::error::operation_aborted || !acceptor_.is_open()) break;
      // Running out of descriptors under a connection burst must not end the loop.
      spdlog::warn("accept failed: {}", error.message());
      continue;
    }
    boost::system::error_code ignored;
    if (live_connections_ >= config_.max_connections) {
      // Refused before any TLS work, so a flood costs a file descriptor briefly and nothing more.
      spdlog::warn("refused connection from {}: {} connections already open (the limit)",
                   socket.remote_endpoint(ignored).address().to_string(), live_connections_);
      socket.close(ignored);
      continue;
    }
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    // The session answers the task's signal itself (Session::shut_down), on
    // its own thread: its coroutine is not bound to the slot, which would cut
    // its reads and writes short rather than let it say goodbye.
    const Task task = tasks_.emplace(tasks_.end(), TaskSignal{.executor = executor});
    const std::shared_ptr<ServerTrust> trust = trust_.load();
    auto session = std::make_shared<Session>(
        transport::TlsStream(std::move(socket), trust->context), config_, *router_, router_policy_,
        task->signal->slot(), std::shared_ptr<const transport::TrustAnchors>(trust, &trust->anchors),
        peer_links_.get());
    ++live_connections_;
    // The session runs on its thread; its end is handled on this one (the
    // handler is bound to it, which also counts as work here until it runs).
    asio::co_spawn(executor, [session]() -> asio::awaitable<void> { co_await session->run(); },
                   asio::bind_executor(io_, [this, task](std::exception_ptr error) {
                     --live_connections_;
                     finished(task, error);
                   }));
  }
  boost::system::error_code ignored;
  acceptor_.close(ignored);  // refuses connections from now on
}

}  // namespace icegate::server

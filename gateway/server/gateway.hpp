// The gateway: accepts mutually authenticated TLS connections from nodes,
// checks every submitted message against the policy, and delivers to each
// recipient the version it is entitled to.
//
// Threading: the io_context the gateway is given runs on one thread, the
// decision thread: the acceptor, the router and everything it owns (the
// session registry, the ledger, holds, the store's completions), the policy
// reloads, and the dashboard. Connections are spread round-robin over
// config.threads io_contexts, one thread each: the given one (so one thread
// means everything on it, as before) and threads - 1 the gateway runs itself.
// A session's TLS, framing and message decoding run on its own thread; it
// hands the router values and the router hands it frames, each posted to the
// other's executor (see session.hpp and router.hpp). State touched from
// several threads: the current policy (an atomic shared_ptr<const
// CompiledPolicy> swapped on reload), the observer pointer and the frame
// counters (atomics), the verified-chain cache (its own mutex), and each
// session's cancellation signal, emitted on the session's thread only (see
// Gateway::TaskSignal).
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "gateway/model/clock.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/delivery_ledger.hpp"
#include "gateway/server/observer.hpp"
#include "gateway/server/submit_checks.hpp"
#include "gateway/transport/verify_cache.hpp"
#include "gateway/wire/codec.hpp"
#include "gateway/wire/framing.hpp"

namespace icegate::server {

struct GatewayConfig {
  std::string gateway_id = "gateway";
  boost::asio::ip::tcp::endpoint listen{boost::asio::ip::make_address("127.0.0.1"), 7443};
  std::filesystem::path pki_dir;
  std::filesystem::path policy_file;
  // A second policy every submission is also decided under, never enforced
  // (set_shadow_policy installs it; a reload reloads it with policy_file).
  std::filesystem::path shadow_policy_file;
  std::filesystem::path data_dir;
  std::uint32_t max_frame_bytes = wire::default_max_frame_bytes;
  std::chrono::milliseconds handshake_timeout{10'000};  // TLS handshake, then Hello
  std::chrono::milliseconds idle_timeout{60'000};       // between frames
  std::chrono::milliseconds frame_timeout{10'000};      // rest of a frame once its prefix arrived
  std::chrono::milliseconds write_timeout{10'000};      // one frame to a slow reader
  std::size_t outbound_queue_limit = 1024;              // frames waiting for one node
  std::size_t max_connections = 20'000;                 // open connections, handshaking or not
  wire::MessageLimits message_limits;
  bool log_frames = false;  // log every frame in and out (for trainers)
  // What "now" is for embargoes, expiry and occasional-access windows;
  // exercises substitute a simulated clock.
  std::shared_ptr<const Clock> clock = system_clock();
  std::chrono::milliseconds tick_interval{100};  // how often embargoes are checked
  // Reload the policy when its file changes (checked every watch_interval).
  // Edits to the scheme file alone are not seen: send SIGHUP, or touch the policy.
  bool watch_policy = false;
  std::chrono::milliseconds watch_interval{1000};
  // Each group commit made durable (an fdatasync of the WAL) before its Acks:
  // survives power loss. false (--no-fsync): survives a gateway crash only.
  bool durable_fsync = true;
  // Answer a node that reconnects with byte-for-byte the same certificate
  // chain from a cache of chains verified in the last five minutes
  // (gateway/transport/verify_cache.hpp), rather than checking its
  // signatures again. Off: every handshake verifies the chain in full.
  bool verify_cache = true;
  // Threads that run sessions, the decision thread among them (0, the
  // default: one per core, std::thread::hardware_concurrency()). 1:
  // everything on one thread. The threads and shutdown tests pin 1, 2, 3
  // and 4; every other test runs at the default.
  std::size_t threads = 0;
  // Message ids held in memory for duplicate detection once committed: at
  // most this many, none older than the window; older ones are looked up in
  // the store's index (SubmitChecks, docs/ARCHITECTURE.md "Memory bounds").
  std::size_t recent_message_ids = SubmitChecks::default_recent_ids;
  std::chrono::milliseconds recent_message_window = SubmitChecks::default_recent_window;
  // Frames owed to a node held in memory at most (a Deliver written and
  // awaiting its Ack keeps only its key); the rest stay on disk and are read
  // back in order, off the decision thread (DeliveryLedger, "Memory bounds").
  std::size_t owed_frames_in_memory = DeliveryLedger::default_resident_frames;
  // Bytes of those frames held in memory at most, per node and over every
  // node (a node may always hold one frame, however large).
  std::size_t owed_bytes_in_memory = DeliveryLedger::default_resident_bytes;
  std::size_t owed_bytes_in_memory_total = DeliveryLedger::default_total_bytes;
  // Redialling a peer gateway after a failure: the first wait, doubled after
  // each failure up to the cap, jittered (federation/peer_link.hpp).
  std::chrono::milliseconds peer_redial_min{250};
  std::chrono::milliseconds peer_redial_max{30'000};
  // Peers witness each other's audit trail (federation/head_exchange.hpp): a
  // peer is sent the gateway's signed durable audit head once the trail has
  // grown by audit_head_records records since the last head it was sent, or
  // has grown at all and audit_head_interval has passed.
  std::int64_t audit_head_records = 1000;
  std::chrono::milliseconds audit_head_interval{10'000};
};

// config.threads, with 0 read as the number of cores (at least 1).
std::size_t session_threads(const GatewayConfig& config);

// policy::load_policy, with the memory its reading and compiling freed given
// back to the system (GiveBackFreedMemory): how every policy a gateway will
// enforce is loaded: serve's at start and on every reload, and an exercise's
// (`icegate exercise run`, the exercise host's plans).
policy::LoadResult load_policy_giving_memory_back(const std::filesystem::path& file);

class PeerFrames;
class Router;
class Session;
class ShadowPolicy;
struct ServerTrust;
}  // namespace icegate::server
namespace icegate::federation {
class Hop;
class PeerLinks;
class PeerFrameHandler;
struct OriginGateway;
struct PeerStatus;
class HeadExchange;
struct OriginGateway;
}  // namespace icegate::federation
namespace icegate::store {
class Store;
struct StoreOptions;
}  // namespace icegate::store
namespace icegate::server {

class Gateway {
 public:
  // Throws std::runtime_error when the TLS context cannot be made, naming
  // the file; for a peer's CA that cannot be read, naming the peer too.
  Gateway(boost::asio::io_context& io, GatewayConfig config,
          std::shared_ptr<const policy::CompiledPolicy> policy);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Recovers the store, binds and starts accepting. Throws on a bind failure.
  void start();
  // Shuts down by cancellation (decision thread only). stop() emits a
  // cancellation to each of the gateway's tasks, each on its own thread (a
  // session's emit is posted to its executor): the accept, tick and watch
  // loops end; a connection still in its handshake is closed at once; a
  // node's session stops taking frames (and the router handles none that
  // reach it from now on), and once every commit has finished and its frames
  // are queued it is closed with an Error frame, written within the write
  // deadline (GatewayConfig::write_timeout) like any other. `stopped` runs on
  // the decision thread when the last task has ended and the commits they
  // left (their disconnection records) are done: the gateway then holds no
  // work on the loop, whose run() returns unless something else keeps it
  // busy. A second call only adds its callback.
  void stop(std::function<void()> stopped = {});
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  std::shared_ptr<const policy::CompiledPolicy> policy() const { return policy_.load(); }
  // Swaps in a new policy; sessions and decisions use it from their next frame.
  // Its peers take effect for new connections: the TLS context is made again
  // with their CAs (kept as it was, with an error logged, if one cannot be
  // read), and a live link with a peer that was removed, or whose CA
  // changed, is closed (and dialled again under the new CA if the policy
  // still gives its address). Decision thread only once started.
  void set_policy(std::shared_ptr<const policy::CompiledPolicy> policy);
  // Loads config.policy_file again; keeps the current policy if the new one is invalid.
  // When it loads, the shadow policy file (if any) is loaded again too, and
  // kept as it was if invalid. Returns the enforced policy's diagnostics.
  policy::Diagnostics reload_policy();
  // Decides every submission under `policy` as well, recording the
  // differences and enforcing nothing (ShadowPolicy). Io thread only, or
  // before the loop runs.
  void set_shadow_policy(std::shared_ptr<const policy::CompiledPolicy> policy);
  // The shadow policy, or null when there is none.
  std::shared_ptr<const policy::CompiledPolicy> shadow_policy() const;

  const GatewayConfig& config() const { return config_; }
  std::size_t session_count() const;
  std::size_t hold_count() const;
  std::size_t owed_count() const;
  std::size_t owed_to_connected() const;
  // Checks embargoes now (after a simulated clock has moved), rather than at the next tick.
  void tick_now();
  // Runs `then` (on the io thread) once every commit queued so far has
  // finished, so what they owe is counted in owed_to_connected(); io thread only.
  void after_commits(std::function<void()> then);
  store::Store& store() { return *store_; }

  // For watchers (the dashboard); io thread only. The observer must outlive
  // the gateway or be reset to null first.
  void set_observer(Observer* observer);
  Observer* observer() const;
  // Router::set_settled_watch: told when owed_to_connected() may have dropped
  // to zero; io thread only. The watch must outlive the gateway's io work.
  void set_settled_watch(std::function<void()> watch);
  // Router::take_written_unacknowledged; io thread only.
  std::vector<std::string> take_written_unacknowledged();
  const GatewayMetrics& metrics() const;
  // The verified-chain cache's counts, or nothing when it is off.
  std::optional<transport::VerifiedChainCacheStats> verify_cache_stats();
  Router& router() { return *router_; }
  // The links with peer gateways (docs/FEDERATION.md); decision thread only,
  // but for status().
  federation::PeerLinks& peer_links() { return *peer_links_; }
  // The audit heads exchanged with peers; decision thread only.
  federation::HeadExchange& audit_heads() { return *heads_; }
  // Each peer's link, in the policy's order (any thread).
  std::vector<federation::PeerStatus> peer_status() const;
  boost::asio::io_context& io() { return io_; }
  // True once stop() has begun: draining, then closed.
  bool stopping() const { return stopping_; }
  // How many threads run sessions (the decision thread among them).
  std::size_t threads() const { return session_contexts_.size() + 1; }
  // The executor of session thread `i`, 1 <= i < threads() (0 is the decision
  // thread, the caller's loop). For tests that must hold a thread up.
  boost::asio::any_io_executor session_executor(std::size_t i) const {
    return session_contexts_.at(i - 1)->get_executor();
  }

 private:
  // A task's cancellation signal and the executor of what its slot is bound
  // to: the decision thread's for the loops, the session's own for a
  // session. An asio signal and its slot are not thread-safe, so the signal
  // is emitted on that executor only (stop() posts the emit to a session on
  // another thread). Shared, because such an emit may run after the session
  // has ended and its entry has left tasks_.
  struct TaskSignal {
    std::shared_ptr<boost::asio::cancellation_signal> signal = std::make_shared<boost::asio::cancellation_signal>();
    boost::asio::any_io_executor executor;
  };
  using Task = std::list<TaskSignal>::iterator;
  // Runs a loop with a cancellation slot of its own, which stop() emits to.
  void spawn_loop(boost::asio::awaitable<void> loop);
  // A task has ended (decision thread): once stopping and none is left, the
  // gateway has stopped.
  void finished(Task task, const std::exception_ptr& error);
  void all_stopped();
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> tick_loop();
  boost::asio::awaitable<void> watch_loop(std::string seen);
  void reload_shadow_policy();
  // The executor the next connection's session runs on (round-robin).
  boost::asio::any_io_executor next_session_executor();

  boost::asio::io_context& io_;
  GatewayConfig config_;
  // The TLS server context (node CA and peers' CAs) and the anchors that say
  // who a client is; made again when a new policy's peers differ. The
  // accept loop takes the current one for each connection.
  std::atomic<std::shared_ptr<ServerTrust>> trust_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<std::shared_ptr<const policy::CompiledPolicy>> policy_;
  std::function<std::shared_ptr<const policy::CompiledPolicy>()> router_policy_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ShadowPolicy> shadow_;  // declared before the router, which points to it, so it outlives it
  std::unique_ptr<Router> router_;
  // Turns what peers send into the router's calls; outlives the links.
  std::unique_ptr<PeerFrames> peer_frames_;
  std::unique_ptr<federation::PeerLinks> peer_links_;
  // The audit heads sent to peers and witnessed of them; decision thread only.
  std::unique_ptr<federation::HeadExchange> heads_;
  std::shared_ptr<const federation::OriginGateway> signer_;  // gateway.key, read once when first needed
  bool signer_failed_ = false;                                 // and could not be: said once
  std::shared_ptr<const federation::OriginGateway> signer();
  boost::asio::awaitable<void> head_loop();
  void update_peers(const policy::CompiledPolicy& policy, const std::vector<std::string>& ca_changed);
  // The decision at every hop under `policy` (null when it names no peers,
  // or this gateway cannot sign or read a peer's CA: then it forwards
  // nothing, and refuses what peers forward). Decision thread.
  void update_hop(std::shared_ptr<const policy::CompiledPolicy> policy);
  // guarded by: the decision thread (the router reads it there).
  std::shared_ptr<const federation::Hop> hop_;
  bool stopping_ = false;
  // What the gateway runs, each with the signal stop() emits to it: the
  // loops, and a session per connection.
  // guarded by: the decision thread (the list, its entries' bookkeeping);
  // each signal itself, by its task's executor (TaskSignal).
  std::list<TaskSignal> tasks_;
  std::vector<std::function<void()>> stopped_;  // stop()'s callbacks, until they are called; decision thread only
  bool has_stopped_ = false;                    // decision thread only
  // Connections accepted and not yet finished, handshaking or not.
  // guarded by: the decision thread (counted up when accepted, down when the
  // session's task ends, both there).
  std::size_t live_connections_ = 0;
  // The session threads beyond the decision thread: their io_contexts (kept
  // alive, once the threads are joined, until `io` is destroyed: a session
  // may be held by a handler queued there), what keeps each running while it
  // has no session, and the threads. Made in start(), joined in ~Gateway.
  std::vector<std::shared_ptr<boost::asio::io_context>> session_contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> session_work_;
  std::vector<std::thread> session_threads_;
  std::size_t next_context_ = 0;  // decision thread only
};

}  // namespace icegate::server

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
// counters (atomics), the connection count (atomic) and the verified-chain
// cache (its own mutex).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "gateway/model/clock.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/observer.hpp"
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
  // SQLite synchronous=FULL: an fsync per group commit (survives power loss).
  bool durable_fsync = true;
  // Answer a node that reconnects with byte-for-byte the same certificate
  // chain from a cache of chains verified in the last five minutes
  // (gateway/transport/verify_cache.hpp), rather than checking its
  // signatures again. Off: every handshake verifies the chain in full.
  bool verify_cache = true;
  // Threads that run sessions, the decision thread among them (0: one per
  // core, std::thread::hardware_concurrency()). 1: everything on one thread.
  std::size_t threads = 0;
};

// config.threads, with 0 read as the number of cores (at least 1).
std::size_t session_threads(const GatewayConfig& config);

class Router;
class Session;
class ShadowPolicy;
}  // namespace icegate::server
namespace icegate::store {
class Store;
struct StoreOptions;
}  // namespace icegate::store
namespace icegate::server {

class Gateway {
 public:
  Gateway(boost::asio::io_context& io, GatewayConfig config,
          std::shared_ptr<const policy::CompiledPolicy> policy);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Recovers the store, binds and starts accepting. Throws on a bind failure.
  void start();
  // Drains: stops accepting and stops taking new frames, lets every commit
  // finish and its frames go out, then closes every session.
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  std::shared_ptr<const policy::CompiledPolicy> policy() const { return policy_.load(); }
  // Swaps in a new policy; sessions and decisions use it from their next frame.
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
  store::Store& store() { return *store_; }

  // For watchers (the dashboard); io thread only. The observer must outlive
  // the gateway or be reset to null first.
  void set_observer(Observer* observer);
  Observer* observer() const;
  const GatewayMetrics& metrics() const;
  // The verified-chain cache's counts, or nothing when it is off.
  std::optional<transport::VerifiedChainCacheStats> verify_cache_stats();
  Router& router() { return *router_; }
  boost::asio::io_context& io() { return io_; }
  // True once stop() has begun: draining, then closed.
  bool stopping() const { return stopping_; }
  // How many threads run sessions (the decision thread among them).
  std::size_t threads() const { return session_contexts_.size() + 1; }

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> tick_loop();
  boost::asio::awaitable<void> watch_loop(std::string seen);
  void reload_shadow_policy();
  // The executor the next connection's session runs on (round-robin).
  boost::asio::any_io_executor next_session_executor();

  boost::asio::io_context& io_;
  GatewayConfig config_;
  boost::asio::ssl::context tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<std::shared_ptr<const policy::CompiledPolicy>> policy_;
  std::function<std::shared_ptr<const policy::CompiledPolicy>()> router_policy_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ShadowPolicy> shadow_;  // declared before the router, which points to it, so it outlives it
  std::unique_ptr<Router> router_;
  bool stopping_ = false;
  // Connections accepted and not yet finished, handshaking or not.
  // guarded by: atomic (counted up on the decision thread, down on a session's).
  std::shared_ptr<std::atomic<std::size_t>> live_connections_ = std::make_shared<std::atomic<std::size_t>>(0);
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

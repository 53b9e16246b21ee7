// The gateway: accepts mutually authenticated TLS connections from nodes,
// checks every submitted message against the policy, and delivers to each
// recipient the version it is entitled to.
//
// Threading: everything runs on one io_context thread. The session registry,
// the pending queues and the router's state are confined to it (that thread is
// their guard); the only state touched from other threads is the current
// policy, an atomic shared_ptr<const CompiledPolicy> swapped on reload.
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
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
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
};

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
  // Shuts down by cancellation (io thread only). stop() emits a cancellation
  // to each of the gateway's tasks: the accept, tick and watch loops end; a
  // connection still in its handshake is closed at once; a node's session
  // stops taking frames, and once every commit has finished and its frames
  // are queued it is closed with an Error frame, written within the write
  // deadline (GatewayConfig::write_timeout) like any other. `stopped` runs on
  // the io thread when the last task has ended and the commits they left
  // (their disconnection records) are done: the gateway then holds no work on
  // the loop, whose run() returns unless something else keeps it busy. A
  // second call only adds its callback.
  void stop(std::function<void()> stopped = {});
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

 private:
  using Task = std::list<boost::asio::cancellation_signal>::iterator;
  // Runs a loop with a cancellation slot of its own, which stop() emits to.
  void spawn_loop(boost::asio::awaitable<void> loop);
  // A task has ended: once stopping and none is left, the gateway has stopped.
  void finished(Task task, const std::exception_ptr& error);
  void all_stopped();
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> tick_loop();
  boost::asio::awaitable<void> watch_loop(std::string seen);
  void reload_shadow_policy();

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
  // What the gateway runs on the loop, each with the signal stop() emits to
  // it: the loops, and a session per connection (io thread only).
  std::list<boost::asio::cancellation_signal> tasks_;
  std::vector<std::function<void()>> stopped_;  // stop()'s callbacks, until they are called
  bool has_stopped_ = false;
  // Connections accepted and not yet finished, handshaking or not (io thread only).
  std::size_t live_connections_ = 0;
};

}  // namespace icegate::server

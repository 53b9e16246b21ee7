// The gateway's metrics in the Prometheus text exposition format, version
// 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>
#include <string>

#include "gateway/server/observer.hpp"
#include "gateway/store/store.hpp"
#include "gateway/transport/verify_cache.hpp"

namespace icegate::http {

inline constexpr const char* metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

// Values read at the moment of the scrape.
struct Gauges {
  std::size_t connections = 0;  // sessions that have said Hello
  std::size_t outbox = 0;       // frames owed to nodes, not yet acknowledged or written
  std::size_t holds = 0;
  std::size_t dashboard_clients = 0;    // open WebSockets
  std::uint64_t dashboard_dropped = 0;  // WebSockets closed for falling behind
  // Whether a shadow policy is configured (its differences are then reported).
  bool shadow_policy = false;
  // The store's writer, syncer and checkpointer so far (their counters).
  std::optional<store::StoreStats> store;
  // The TLS verified-chain cache, when the gateway has one.
  std::optional<transport::VerifiedChainCacheStats> verify_cache;
  // Each peer gateway of the policy and whether its link is up (docs/FEDERATION.md).
  std::vector<std::pair<std::string, bool>> peer_links;
};

std::string render_metrics(const server::GatewayMetrics& metrics, const Gauges& gauges);

// A bucket bound as Prometheus writes it ("1e-06", "0.0025", "+Inf").
std::string format_bound(double bound);

}  // namespace icegate::http

#include "gateway/http/metrics_text.hpp"

#include <fmt/format.h>

namespace icegate::http {

std::string format_bound(double bound) { return fmt::format("{}", bound); }

std::string render_metrics(const server::GatewayMetrics& m, const Gauges& g) {
  std::string out;
  out.reserve(4096);
  auto header = [&](std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  header("icegate_messages_submitted_total", "counter", "Messages the gateway accepted.");
  fmt::format_to(std::back_inserter(out), "icegate_messages_submitted_total {}\n", m.messages_submitted);
  header("icegate_messages_refused_total", "counter", "Submits refused (invalid, duplicate, not the originator, ...).");
  fmt::format_to(std::back_inserter(out), "icegate_messages_refused_total {}\n", m.messages_refused);

  header("icegate_decisions_total", "counter", "Decisions made on submission, one per recipient, by outcome.");
  static constexpr const char* decision_names[] = {"release", "release_redacted", "hold", "deny"};
  for (std::size_t i = 0; i < m.decisions.size(); ++i)
    fmt::format_to(std::back_inserter(out), "icegate_decisions_total{{decision=\"{}\"}} {}\n", decision_names[i],
                   m.decisions[i]);

  header("icegate_holds_closed_total", "counter", "Holds closed, by how: approved, refused, lifted (embargo).");
  fmt::format_to(std::back_inserter(out),
                 "icegate_holds_closed_total{{result=\"approved\"}} {}\n"
                 "icegate_holds_closed_total{{result=\"refused\"}} {}\n"
                 "icegate_holds_closed_total{{result=\"lifted\"}} {}\n",
                 m.holds_approved, m.holds_refused, m.holds_lifted);

  header("icegate_connections", "gauge", "Node sessions that have said Hello.");
  fmt::format_to(std::back_inserter(out), "icegate_connections {}\n", g.connections);
  header("icegate_queue_depth", "gauge", "Frames owed to nodes and not yet acknowledged (Deliver) or written.");
  fmt::format_to(std::back_inserter(out), "icegate_queue_depth{{queue=\"outbox\"}} {}\n", g.outbox);
  header("icegate_holds", "gauge", "Messages held for a review, an originator's consent or an embargo.");
  fmt::format_to(std::back_inserter(out), "icegate_holds {}\n", g.holds);

  header("icegate_decision_latency_seconds", "histogram", "Time to decide one recipient of one message.");
  std::uint64_t cumulative = 0;
  const auto& h = m.decision_latency;
  for (std::size_t i = 0; i < h.bounds.size(); ++i) {
    cumulative += h.counts[i];
    fmt::format_to(std::back_inserter(out), "icegate_decision_latency_seconds_bucket{{le=\"{}\"}} {}\n",
                   format_bound(h.bounds[i]), cumulative);
  }
  cumulative += h.counts.back();
  fmt::format_to(std::back_inserter(out), "icegate_decision_latency_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  fmt::format_to(std::back_inserter(out), "icegate_decision_latency_seconds_sum {}\n", h.sum);
  fmt::format_to(std::back_inserter(out), "icegate_decision_latency_seconds_count {}\n", h.count);

  header("icegate_frames_total", "counter", "Frames read from (in) and written to (out) nodes.");
  fmt::format_to(std::back_inserter(out), "icegate_frames_total{{direction=\"in\"}} {}\n", m.frames_in.load());
  fmt::format_to(std::back_inserter(out), "icegate_frames_total{{direction=\"out\"}} {}\n", m.frames_out.load());
  header("icegate_acks_unexpected_total", "counter",
         "Acks naming no Deliver that awaits the sending node's Ack (answered with a non-fatal Error).");
  fmt::format_to(std::back_inserter(out), "icegate_acks_unexpected_total {}\n", m.acks_unexpected);

  header("icegate_dashboard_clients", "gauge", "Open dashboard WebSockets.");
  fmt::format_to(std::back_inserter(out), "icegate_dashboard_clients {}\n", g.dashboard_clients);
  header("icegate_dashboard_dropped_total", "counter", "Dashboard WebSockets closed for falling too far behind.");
  fmt::format_to(std::back_inserter(out), "icegate_dashboard_dropped_total {}\n", g.dashboard_dropped);

  if (g.shadow_policy) {
    header("icegate_shadow_differences_total", "counter",
           "Portions of a recipient's decision that the shadow policy (never enforced) would decide differently, "
           "by change.");
    static constexpr const char* change_names[] = {"opened", "closed", "hold_added", "hold_removed"};
    for (std::size_t i = 0; i < m.shadow_differences.size(); ++i)
      fmt::format_to(std::back_inserter(out), "icegate_shadow_differences_total{{change=\"{}\"}} {}\n", change_names[i],
                     m.shadow_differences[i]);
  }

  if (g.store) {
    const auto& st = *g.store;
    auto counter = [&](std::string_view name, std::string_view help, auto value) {
      header(name, "counter", help);
      fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
    };
    counter("icegate_store_commits_total",
            "Transactions the store's writer committed or tried, each a group of one or more operations.", st.commits);
    counter("icegate_store_operations_total",
            "Operations (an accepted message, an acknowledgement, an audit record, ...) in those transactions.",
            st.operations);
    counter("icegate_store_failed_commits_total", "Transactions that could not be committed.", st.failed_commits);
    counter("icegate_store_syncs_total", "fdatasyncs of the write-ahead log, each making one or more transactions durable.",
            st.syncs);
    counter("icegate_store_checkpoints_total", "Checkpoints of the write-ahead log into the database.", st.checkpoints);
    counter("icegate_store_checkpoint_seconds_total", "Time spent in those checkpoints.",
            format_bound(static_cast<double>(st.checkpoint_us) / 1e6));
  }

  if (g.verify_cache) {
    const auto& c = *g.verify_cache;
    header("icegate_tls_chain_verifications_total", "counter",
           "Client certificate chains checked at handshakes: answered from the verified-chain cache (cached) "
           "or verified in full (full).");
    fmt::format_to(std::back_inserter(out),
                   "icegate_tls_chain_verifications_total{{result=\"cached\"}} {}\n"
                   "icegate_tls_chain_verifications_total{{result=\"full\"}} {}\n",
                   c.hits, c.misses + c.bypassed);
    header("icegate_tls_verify_cache_entries", "gauge", "Verified client chains the cache holds.");
    fmt::format_to(std::back_inserter(out), "icegate_tls_verify_cache_entries {}\n", c.entries);
  }
  if (!g.peer_links.empty()) {
    header("icegate_peer_link_up", "gauge", "Whether the link with each peer gateway of the policy is up (1) or not (0).");
    for (const auto& [peer, up] : g.peer_links)
      fmt::format_to(std::back_inserter(out), "icegate_peer_link_up{{peer=\"{}\"}} {}\n", peer, up ? 1 : 0);
  }
  return out;
}

}  // namespace icegate::http

// The dashboard's model and API, without any networking: it watches the
// gateway (as its Observer), turns what happens into the JSON events of
// docs/DASHBOARD.md, keeps a bounded ring of recent events and a bounded index
// of recent messages, and answers the HTTP API as plain data. It is a Site
// (site.hpp) with one Feed, itself, at /ws; HttpServer (http_server.hpp) puts
// it on the network, on its own or mounted inside an exercise host's Site.
//
// Threading: confined to the gateway's io_context thread, like the gateway
// itself (construct, call and destroy it there, or before the loop runs).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>

#include "gateway/http/access.hpp"
#include "gateway/http/api.hpp"
#include "gateway/http/site.hpp"
#include "gateway/model/json.hpp"
#include "gateway/server/observer.hpp"

namespace icegate::server {
class Gateway;
}

namespace icegate::http {

// Where an exercise stands, for the `exercise` event and /api/state.
struct ExerciseStatus {
  std::string name;
  std::string state;  // "running", "paused", "finished"
  std::int64_t clock_unix_ms = 0;
  std::optional<std::int64_t> next_unix_ms;  // the next scheduled item, if any
  std::string inject;                        // the item just run, if any
  double speed = 0;                          // scenario seconds per real second
};

// The facilitator's buttons. Called on the io thread; they must not block.
struct ExerciseControls {
  std::function<void()> pause, resume, step;
};

struct DashboardLimits {
  std::size_t events = 2000;                   // recent events kept for /api/state
  std::size_t messages = 2000;                 // messages /api/messages/ID remembers...
  std::size_t message_bytes = 64u << 20;       // ...and at most this much JSON for them
  std::size_t frames_per_message = 512;        // frame events kept per message (then counted)
  std::size_t frame_string_bytes = 256;        // longer strings in a frame's text are cut
  std::size_t body_bytes = 8192;               // a portion body in a submission event is cut beyond
};

class Dashboard final : public server::Observer, public Site, public Feed {
 public:
  using EventText = Feed::EventText;
  using Subscriber = Feed::Subscriber;

  // Attaches itself to the gateway as its observer; detaches when destroyed.
  Dashboard(server::Gateway& gateway, AccessPolicy access, DashboardLimits limits = {});
  ~Dashboard() override;
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  // Every request except a WebSocket upgrade: the API, /metrics, /healthz and the page's files.
  Response handle(const Request& request) override;
  // A WebSocket upgrade: the feed (this) at /ws to whoever may read the API; else the refusal.
  std::variant<Feed*, Response> open_feed(const Request& request) override;
  // For the WebSocket upgrade (and inside handle): null if allowed, else the refusal.
  std::optional<Response> authorize(const Request& request, bool state_changing) const;
  const AccessPolicy& access() const { return access_; }

  // The event feed: each subscriber gets every event from now on, as JSON
  // text. A subscriber must not block; it may unsubscribe (itself or others)
  // from inside the call.
  std::uint64_t subscribe(Subscriber subscriber) override;
  void unsubscribe(std::uint64_t id) override;
  // The remembered events with seq > `seq`, oldest first (a reconnecting page catches up).
  std::vector<EventText> events_after(std::uint64_t seq) const override;
  std::size_t subscriber_count() const;
  // The HTTP server closed a WebSocket that fell too far behind.
  void count_dropped_client() override { ++dropped_clients_; }
  std::uint64_t last_seq() const { return seq_; }

  // An exercise drives this gateway: the facilitator's controls (where it
  // stands follows through exercise_progress).
  void set_exercise(ExerciseControls controls);
  // `notable`: a state change or an item run; otherwise a clock tick, sent to
  // the feed but not kept among the recent events.
  void exercise_progress(const ExerciseStatus& status, bool notable);

  // ---- server::Observer ----
  void connection(const std::string& node, const std::string& peer, bool connected, std::string_view reason) override;
  void frame(const std::string& node, server::FrameDirection direction, const v1::Frame& frame,
             std::size_t bytes) override;
  void submission(const Message& message, const policy::CompiledPolicy& policy, std::string_view derived_from) override;
  void decision(const std::string& message_id, const RecipientDecision& decision, std::string_view state) override;
  void delivery(const std::string& node, const std::string& message_id, Decision decision) override;
  void acknowledged(const std::string& node, const std::string& message_id) override;
  void receipt(const std::string& originator, const std::string& message_id) override;
  void hold_opened(const server::HoldView& hold) override;
  void hold_closed(const std::string& hold_id, const std::string& message_id, std::string_view result,
                   std::string_view by) override;
  void policy_loaded(const policy::CompiledPolicy& policy) override;
  void shadow_difference(const server::ShadowDifference& difference) override;
  void hop(const server::HopView& hop) override;

  // Looks at the peer links now: a `peer` event for each peer whose link
  // state, direction or last error changed since the last look (which a timer
  // does every peer_watch_interval while the policy names peers).
  void watch_peers();
  static constexpr std::chrono::milliseconds peer_watch_interval{500};

  // The JSON documents of the API (public for tests).
  std::string state_json() const;
  std::optional<std::string> message_json(const std::string& message_id) const;
  std::string metrics_text() const;

 private:
  struct MessageRecord {
    std::string envelope = "null";  // the submission event without its portions
    std::string portions = "[]";
    std::vector<EventText> history;  // every decision event, in order
    std::vector<std::pair<std::string, EventText>> latest;  // recipient -> latest decision, first-seen order
    std::unordered_map<std::string, std::size_t> latest_index;
    std::vector<EventText> deliveries, acks, receipts, holds, frames, hops;
    std::size_t frames_dropped = 0;
    std::size_t bytes = 0;
    std::vector<std::string> hold_ids;
  };
  enum class Keep { ring, feed_only };

  // Starts an event, {"seq":N,"time":"...","type":"..."}; the caller adds the rest.
  json::Object begin_event(std::string_view type);
  // Writes it, keeps it and sends it to every subscriber.
  EventText publish(const json::Object& event, Keep keep = Keep::ring);
  MessageRecord* record(const std::string& message_id, bool create);
  void account(MessageRecord& record, const EventText& event);
  void evict();
  std::string frame_message_id(const v1::Frame& frame) const;
  std::string exercise_json() const;  // null when no exercise runs
  json::Object& add_exercise_fields(json::Object& to) const;
  std::string shadow_json() const;  // null when the gateway has no shadow policy
  json::Object& add_hold_fields(json::Object& to, const server::HoldView& hold) const;
  Response decide_hold(const Request& request, const std::string& hold_id);
  Response exercise_action(std::string_view action);
  Response static_file(std::string_view name) const;
  Response healthz() const;
  boost::json::array peers_json() const;  // each peer link, as /healthz and /api/state show it
  // Looks again after peer_watch_interval while the policy names peers (`once`: in any case).
  void arm_peer_watch(bool once = false);
  std::int64_t now_ms() const;

  server::Gateway& gateway_;
  AccessPolicy access_;
  DashboardLimits limits_;
  std::uint64_t seq_ = 0;
  struct Kept {
    std::uint64_t seq;
    EventText text;
  };
  std::deque<Kept> ring_;
  std::map<std::uint64_t, Subscriber> subscribers_;
  std::uint64_t next_subscriber_ = 1;
  int publishing_ = 0;                        // > 0 while subscribers are being called
  std::vector<std::uint64_t> unsubscribed_;   // removed while publishing: erased afterwards
  std::uint64_t dropped_clients_ = 0;
  std::unordered_map<std::string, MessageRecord> messages_;
  std::deque<std::string> message_order_;     // oldest first
  std::size_t message_bytes_ = 0;
  std::unordered_map<std::string, std::string> hold_messages_;  // hold id -> message id
  std::unordered_map<std::string, std::string> closed_holds_;   // hold id -> "approved by x"
  // The shadow policy's differences: how many, and the latest (newest last).
  std::uint64_t shadow_differences_ = 0;
  std::deque<EventText> shadow_latest_;
  // The peer links as last seen (id -> "state|direction|last_error"), and the
  // timer that looks again while the policy names peers.
  std::map<std::string, std::string, std::less<>> peers_seen_;
  boost::asio::steady_timer peer_timer_;
  bool peer_timer_armed_ = false;
  std::optional<ExerciseControls> exercise_controls_;
  std::optional<ExerciseStatus> exercise_;
};

}  // namespace icegate::http

#include "gateway/http/dashboard.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

#include <fmt/format.h>
#include <google/protobuf/text_format.h>

#include "gateway/federation/peer_link.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/http/assets.hpp"
#include "gateway/http/json_body.hpp"
#include "gateway/http/metrics_text.hpp"
#include "gateway/model/json_value.hpp"
#include "gateway/policy/diff.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/gateway.hpp"
#include "gateway/server/router.hpp"
#include "gateway/server/shadow.hpp"
#include "icegate/v1/icegate.pb.h"

namespace icegate::http {

namespace {

// "2008-06-01T09:30:00.250Z"
std::string iso_ms(std::int64_t unix_ms) { return format_utc(unix_ms, UtcStyle::iso_ms); }

// Events are written once, when published, and kept as text: the documents
// that list them (the state, a message) join those texts rather than write
// each event again.
std::string array(const std::vector<Dashboard::EventText>& events) {
  std::string out = "[";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i) out += ',';
    out += *events[i];
  }
  return out + "]";
}

// Cuts `text` to at most `limit` bytes without splitting a UTF-8 sequence.
std::string cut(std::string_view text, std::size_t limit, bool& truncated) {
  truncated = text.size() > limit;
  if (!truncated) return std::string(text);
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

std::string marking_of(const policy::CompiledPolicy& policy, const Label& label) {
  return label.classification.empty() ? std::string() : policy.display_marking(label);
}

// The frame type as the proto names it: "Submit", "ReviewRequest", ...
std::string frame_type(const v1::Frame& frame) {
  if (frame.body_case() == v1::Frame::BODY_NOT_SET) return "Unknown";
  const auto* field = frame.GetDescriptor()->FindFieldByNumber(static_cast<int>(frame.body_case()));
  return field && field->message_type() ? field->message_type()->name() : "Unknown";
}

const char* decision_name(Decision decision) {
  switch (decision) {
    case Decision::release: return "RELEASE";
    case Decision::release_redacted: return "RELEASE_REDACTED";
    case Decision::hold: return "HOLD";
    case Decision::deny: return "DENY";
  }
  return "DENY";
}

std::vector<std::string> addressee_texts(const std::vector<Addressee>& addressees) {
  std::vector<std::string> out;
  for (const auto& a : addressees) out.push_back(fmt::format("{}:{}", to_string(a.kind), a.name));
  return out;
}

constexpr std::string_view security_policy =
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'none'";

}  // namespace

Dashboard::Dashboard(server::Gateway& gateway, AccessPolicy access, DashboardLimits limits)
    : gateway_(gateway), access_(std::move(access)), limits_(limits), peer_timer_(gateway.io()) {
  gateway_.set_observer(this);
  // The links as they are now are in /api/state; changes from here on are events.
  for (const auto& peer : gateway_.peer_status())
    peers_seen_[peer.id] = fmt::format("{}|{}|{}", federation::to_string(peer.state), peer.direction, peer.last_error);
  arm_peer_watch();
}

Dashboard::~Dashboard() {
  if (gateway_.observer() == this) gateway_.set_observer(nullptr);
}

std::int64_t Dashboard::now_ms() const { return gateway_.config().clock->now_unix_ms(); }

// ---- the feed ----------------------------------------------------------------

json::Object Dashboard::begin_event(std::string_view type) {
  json::Object event;
  event.add("seq", static_cast<std::int64_t>(++seq_)).add("time", iso_ms(now_ms())).add("type", type);
  return event;
}

Dashboard::EventText Dashboard::publish(const json::Object& event, Keep keep) {
  auto text = std::make_shared<const std::string>(event.str());
  if (keep == Keep::ring) {
    ring_.push_back({seq_, text});
    while (ring_.size() > limits_.events) ring_.pop_front();
  }
  ++publishing_;
  for (const auto& [id, subscriber] : subscribers_)
    if (subscriber) subscriber(text);
  if (--publishing_ == 0 && !unsubscribed_.empty()) {
    for (const auto id : unsubscribed_) subscribers_.erase(id);
    unsubscribed_.clear();
  }
  return text;
}

std::uint64_t Dashboard::subscribe(Subscriber subscriber) {
  const auto id = next_subscriber_++;
  subscribers_.emplace(id, std::move(subscriber));
  return id;
}

void Dashboard::unsubscribe(std::uint64_t id) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  if (publishing_ > 0) {
    it->second = nullptr;  // the loop over subscribers_ is still running
    unsubscribed_.push_back(id);
  } else {
    subscribers_.erase(it);
  }
}

std::size_t Dashboard::subscriber_count() const { return subscribers_.size() - unsubscribed_.size(); }

std::vector<Dashboard::EventText> Dashboard::events_after(std::uint64_t seq) const {
  std::vector<EventText> out;
  for (const auto& kept : ring_)
    if (kept.seq > seq) out.push_back(kept.text);
  return out;
}

// ---- the message index -------------------------------------------------------------

Dashboard::MessageRecord* Dashboard::record(const std::string& message_id, bool create) {
  if (message_id.empty()) return nullptr;
  if (auto it = messages_.find(message_id); it != messages_.end()) return &it->second;
  if (!create) return nullptr;
  message_order_.push_back(message_id);
  auto* created = &messages_[message_id];
  evict();
  return created;
}

void Dashboard::account(MessageRecord& record, const EventText& event) {
  record.bytes += event->size();
  message_bytes_ += event->size();
}

// Oldest messages go first, until within both bounds; the newest one always stays.
void Dashboard::evict() {
  while (message_order_.size() > 1 &&
         (message_order_.size() > limits_.messages || message_bytes_ > limits_.message_bytes)) {
    const std::string id = std::move(message_order_.front());
    message_order_.pop_front();
    auto it = messages_.find(id);
    if (it == messages_.end()) continue;
    message_bytes_ -= std::min(message_bytes_, it->second.bytes);
    for (const auto& hold : it->second.hold_ids) {
      hold_messages_.erase(hold);
      closed_holds_.erase(hold);
    }
    messages_.erase(it);
  }
}

std::string Dashboard::frame_message_id(const v1::Frame& frame) const {
  auto known = [this](const std::string& id) -> std::string {
    if (messages_.contains(id)) return id;
    if (auto hold = hold_messages_.find(id); hold != hold_messages_.end()) return hold->second;
    return {};
  };
  switch (frame.body_case()) {
    case v1::Frame::kSubmit: return frame.submit().message().id();
    case v1::Frame::kDeliver: return frame.deliver().message().id();
    case v1::Frame::kReceipt: return frame.receipt().message_id();
    case v1::Frame::kReviewRequest: return frame.review_request().message().id();
    case v1::Frame::kAck: return known(frame.ack().message_id());  // a message, a hold, or an event name
    case v1::Frame::kError: return known(frame.error().message_id());
    case v1::Frame::kReviewDecision: return known(frame.review_decision().hold_id());
    default: return {};
  }
}

// ---- observer hooks -----------------------------------------------------------------

void Dashboard::connection(const std::string& node, const std::string& peer, bool connected, std::string_view reason) {
  json::Object event = begin_event("connection");
  event.add("node", node)
      .add("state", connected ? "connected" : "disconnected")
      .add("peer", peer)
      .add("reason", reason);
  publish(event);
}

void Dashboard::frame(const std::string& node, server::FrameDirection direction, const v1::Frame& frame,
                      std::size_t bytes) {
  // Heartbeats are counted in /metrics but would drown the feed.
  if (frame.has_heartbeat()) return;
  const std::string message_id = frame_message_id(frame);
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.SetTruncateStringFieldLongerThan(static_cast<std::int64_t>(limits_.frame_string_bytes));
  std::string text;
  printer.PrintToString(frame, &text);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  json::Object event = begin_event("frame");
  event.add("node", node)
      .add("direction", direction == server::FrameDirection::in ? "in" : "out")
      .add("frame_type", frame_type(frame))
      .add("message_id", message_id)
      .add("bytes", static_cast<std::int64_t>(bytes))
      .add("text", text);
  auto published = publish(event);
  // A Submit opens the message's record, even one the gateway then refuses:
  // its Error and Ack(ok false) are worth seeing too.
  if (auto* r = record(message_id, frame.has_submit())) {
    if (r->frames.size() < limits_.frames_per_message) {
      r->frames.push_back(published);
      account(*r, published);
    } else {
      ++r->frames_dropped;
    }
  }
}

void Dashboard::submission(const Message& message, const policy::CompiledPolicy& policy, std::string_view derived_from) {
  const auto colours = policy.classification_colours(message.label.classification);
  const auto& h = message.handling;
  json::Object handling;
  handling.add("originator_control", h.originator_control)
      .add("no_onward_sharing", h.no_onward_sharing)
      .add("not_before", h.not_before_unix_ms ? iso_ms(h.not_before_unix_ms) : "")
      .add("not_before_event", h.not_before_event)
      .add("not_after", h.not_after_unix_ms ? iso_ms(h.not_after_unix_ms) : "");
  boost::json::array portions;
  for (const auto& portion : message.portions) {
    const auto c = policy.classification_colours(portion.label.classification);
    bool truncated = false;
    const std::string body = cut(portion.body, limits_.body_bytes, truncated);
    json::Object object;
    object.add("id", portion.id)
        .add("marking", marking_of(policy, portion.label))
        .add("colour", c.colour)
        .add("text_colour", c.text_colour)
        .add("body", body);
    if (truncated) object.add("body_bytes", static_cast<std::int64_t>(portion.body.size()));
    portions.emplace_back(object.native());
  }
  json::Object event = begin_event("submission");
  event.add("message_id", message.id)
      .add("originator", message.originator)
      .add("title", message.title)
      .add("category", message.category)
      .add("purpose", message.purpose)
      .add("marking", marking_of(policy, message.label))
      .add("colour", colours.colour)
      .add("text_colour", colours.text_colour)
      .add("addressees", addressee_texts(message.addressees))
      .add("handling", handling)
      .add("derived_from", derived_from);
  // The envelope keeps seq, time and type: they say when the message was seen.
  std::string envelope = event.str();
  event.add("portions", boost::json::value(portions));
  auto published = publish(event);
  if (auto* r = record(message.id, true)) {
    r->envelope = std::move(envelope);
    r->portions = json::serialize(portions);
    account(*r, published);
  }
}

void Dashboard::decision(const std::string& message_id, const RecipientDecision& d, std::string_view state) {
  const auto policy = gateway_.policy();
  const auto colours = policy->classification_colours(d.released_label.classification);
  boost::json::array withheld;
  for (const auto& w : d.withheld)
    withheld.emplace_back(json::Object()
                              .add("portion", w.portion_id)
                              .add("marking", marking_of(*policy, w.label))
                              .add("reason", w.reason)
                              .add("rules", w.rule_ids)
                              .native());
  json::Object event = begin_event("decision");
  event.add("message_id", message_id)
      .add("recipient", d.node_id)
      .add("decision", decision_name(d.decision))
      .add("marking", marking_of(*policy, d.released_label))
      .add("colour", colours.colour)
      .add("text_colour", colours.text_colour)
      .add("rules", d.rule_ids)
      .add("reason", d.reason)
      .add("withheld", boost::json::value(std::move(withheld)))
      .add("hold_id", d.hold_id)
      .add("held_for", d.held_for)
      .add("occasional", d.occasional)
      .add("state", state);
  auto published = publish(event);
  if (auto* r = record(message_id, true)) {
    r->history.push_back(published);
    if (auto it = r->latest_index.find(d.node_id); it != r->latest_index.end()) {
      r->latest[it->second].second = published;
    } else {
      r->latest_index.emplace(d.node_id, r->latest.size());
      r->latest.emplace_back(d.node_id, published);
    }
    account(*r, published);
    if (!d.hold_id.empty() && !hold_messages_.contains(d.hold_id)) {
      hold_messages_.emplace(d.hold_id, message_id);
      r->hold_ids.push_back(d.hold_id);
    }
  }
}

void Dashboard::delivery(const std::string& node, const std::string& message_id, Decision decision) {
  json::Object event = begin_event("delivery");
  event.add("message_id", message_id).add("recipient", node).add("decision", decision_name(decision));
  auto published = publish(event);
  if (auto* r = record(message_id, false)) {
    r->deliveries.push_back(published);
    account(*r, published);
  }
}

void Dashboard::acknowledged(const std::string& node, const std::string& message_id) {
  json::Object event = begin_event("ack");
  event.add("message_id", message_id).add("node", node);
  auto published = publish(event);
  if (auto* r = record(message_id, false)) {
    r->acks.push_back(published);
    account(*r, published);
  }
}

void Dashboard::receipt(const std::string& originator, const std::string& message_id) {
  json::Object event = begin_event("receipt");
  event.add("message_id", message_id).add("originator", originator);
  auto published = publish(event);
  if (auto* r = record(message_id, false)) {
    r->receipts.push_back(published);
    account(*r, published);
  }
}

json::Object& Dashboard::add_hold_fields(json::Object& to, const server::HoldView& hold) const {
  return to.add("hold_id", hold.id)
      .add("kind", hold.kind)
      .add("message_id", hold.message_id)
      .add("originator", hold.originator)
      .add("held_for", hold.held_for)
      .add("reviewer_roles", hold.reviewer_roles)
      .add("reviewers", hold.reviewers)
      .add("recipients", hold.recipients)
      .add("reason", hold.reason);
}

void Dashboard::hold_opened(const server::HoldView& hold) {
  json::Object event = begin_event("hold");
  add_hold_fields(event, hold);
  auto published = publish(event);
  if (auto* r = record(hold.message_id, true)) {
    r->holds.push_back(published);
    account(*r, published);
    if (hold_messages_.emplace(hold.id, hold.message_id).second) r->hold_ids.push_back(hold.id);
  }
}

void Dashboard::hold_closed(const std::string& hold_id, const std::string& message_id, std::string_view result,
                            std::string_view by) {
  json::Object event = begin_event("hold_closed");
  event.add("hold_id", hold_id).add("message_id", message_id).add("result", result).add("by", by);
  auto published = publish(event);
  if (auto* r = record(message_id, true)) {
    r->holds.push_back(published);
    account(*r, published);
    if (hold_messages_.emplace(hold_id, message_id).second) r->hold_ids.push_back(hold_id);
    closed_holds_[hold_id] = by.empty() ? std::string(result) : fmt::format("{} by {}", result, by);
  }
}

void Dashboard::policy_loaded(const policy::CompiledPolicy& policy) {
  json::Object event = begin_event("policy");
  event.add("name", policy.source().name).add("version", policy.version());
  publish(event);
  // The new policy may name peers the old one did not (or none any more):
  // look once more soon, outside this hook, and go on looking if it does.
  arm_peer_watch(true);
}

// The dashboard shows the count and this many of the latest shadow differences.
constexpr std::size_t shadow_latest_kept = 20;

void Dashboard::shadow_difference(const server::ShadowDifference& difference) {
  json::Object event = begin_event("shadow_difference");
  event.add("message_id", difference.message_id)
      .add("sender", difference.sender)
      .add("recipient", difference.recipient)
      .add("enforced", to_string(difference.enforced))
      .add("shadow", to_string(difference.shadow))
      .add_raw("changes", server::changes_json(difference))
      .add("shadow_rules", difference.shadow_rules)
      .add("shadow_reason", difference.shadow_reason)
      .add("shadow_version", difference.shadow_version);
  ++shadow_differences_;
  shadow_latest_.push_back(publish(event));
  while (shadow_latest_.size() > shadow_latest_kept) shadow_latest_.pop_front();
}

// One decision between gateways, as the peer_forward / peer_receive /
// peer_refused audit records have it; kept with the message's record too.
void Dashboard::hop(const server::HopView& hop) {
  boost::json::array withheld;
  for (const auto& w : hop.withheld)
    withheld.emplace_back(json::Object().add("portion", w.portion).add("reason", w.reason).native());
  json::Object event = begin_event("hop");
  event.add("kind", hop.kind)
      .add("message_id", hop.message_id)
      .add("peer", hop.peer)
      .add("origin", hop.origin)
      .add("via", hop.via)
      .add("hop", static_cast<std::int64_t>(hop.hop))
      .add("outcome", hop.outcome)
      .add("portions", hop.portions)
      .add("withheld", boost::json::value(std::move(withheld)))
      .add("reason", hop.reason);
  auto published = publish(event);
  if (auto* r = record(hop.message_id, true)) {
    r->hops.push_back(published);
    account(*r, published);
  }
}

// ---- peer links --------------------------------------------------------------------------

void Dashboard::arm_peer_watch(bool once) {
  if (peer_timer_armed_ || gateway_.stopping() || (!once && gateway_.peer_status().empty())) return;
  peer_timer_armed_ = true;
  peer_timer_.expires_after(peer_watch_interval);
  // Cancelled when the dashboard goes: then `this` is gone, and the handler touches nothing.
  peer_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error) return;
    peer_timer_armed_ = false;
    watch_peers();
    arm_peer_watch();
  });
}

void Dashboard::watch_peers() {
  std::map<std::string, std::string, std::less<>> now;
  for (const auto& peer : gateway_.peer_status()) {
    auto seen = fmt::format("{}|{}|{}", federation::to_string(peer.state), peer.direction, peer.last_error);
    if (auto it = peers_seen_.find(peer.id); it == peers_seen_.end() || it->second != seen) {
      json::Object event = begin_event("peer");
      event.add("id", peer.id)
          .add("state", federation::to_string(peer.state))
          .add("since", format_utc(peer.since_unix_ms))
          .add("address", peer.address)
          .add("direction", peer.direction)
          .add("last_error", peer.last_error);
      publish(event);
    }
    now.emplace(peer.id, std::move(seen));
  }
  // A peer the policy no longer names: the page drops it.
  for (const auto& [id, seen] : peers_seen_)
    if (!now.contains(id)) {
      json::Object event = begin_event("peer");
      event.add("id", id).add("state", "removed");
      publish(event);
    }
  peers_seen_ = std::move(now);
}

boost::json::array Dashboard::peers_json() const {
  boost::json::array links;
  for (const auto& peer : gateway_.peer_status()) {
    boost::json::object link;
    link["id"] = peer.id;
    link["state"] = std::string(federation::to_string(peer.state));
    link["since"] = format_utc(peer.since_unix_ms);
    if (!peer.address.empty()) link["address"] = peer.address;
    if (!peer.direction.empty()) link["direction"] = peer.direction;
    if (!peer.last_error.empty()) link["last_error"] = peer.last_error;
    links.push_back(std::move(link));
  }
  return links;
}

std::string Dashboard::shadow_json() const {
  const auto shadow = gateway_.shadow_policy();
  if (!shadow) return "null";
  std::vector<EventText> latest(shadow_latest_.rbegin(), shadow_latest_.rend());  // newest first
  return json::Object()
      .add("name", shadow->source().name)
      .add("version", shadow->version())
      .add("differences", static_cast<std::int64_t>(shadow_differences_))
      .add_raw("latest", array(latest))
      .str();
}

// ---- exercise --------------------------------------------------------------------------

void Dashboard::set_exercise(ExerciseControls controls) { exercise_controls_ = std::move(controls); }

json::Object& Dashboard::add_exercise_fields(json::Object& to) const {
  const auto& e = *exercise_;
  to.add("name", e.name)
      .add("state", e.state)
      .add("clock", iso_ms(e.clock_unix_ms))
      .add("next", e.next_unix_ms ? boost::json::value(iso_ms(*e.next_unix_ms)) : boost::json::value(nullptr))
      // As "{}" prints it: a whole speed as an integer ("60"), any other as a number.
      .add("speed", e.speed == std::floor(e.speed) && std::fabs(e.speed) < 9.0e15
                        ? boost::json::value(static_cast<std::int64_t>(e.speed))
                        : boost::json::value(e.speed));
  if (!e.inject.empty()) to.add("inject", e.inject);
  return to;
}

std::string Dashboard::exercise_json() const {
  if (!exercise_) return "null";
  json::Object object;
  return add_exercise_fields(object).str();
}

void Dashboard::exercise_progress(const ExerciseStatus& status, bool notable) {
  exercise_ = status;
  json::Object event = begin_event("exercise");
  add_exercise_fields(event);
  publish(event, notable ? Keep::ring : Keep::feed_only);
  exercise_->inject.clear();  // the item just run belongs to this event only
}

Response Dashboard::exercise_action(std::string_view action) {
  if (!exercise_controls_) return error_response(404, "no exercise is running on this gateway");
  if (exercise_ && exercise_->state == "finished") return error_response(409, "the exercise has finished");
  const auto& controls = *exercise_controls_;
  if (action == "pause" && controls.pause) controls.pause();
  else if (action == "resume" && controls.resume) controls.resume();
  else if (action == "step" && controls.step) {
    if (exercise_ && exercise_->state != "paused") return error_response(409, "step works while paused: pause first");
    controls.step();
  }
  else return error_response(404, fmt::format("no exercise action '{}' (pause, resume, step)", action));
  return json_response(json::Object().add("requested", action).add_raw("exercise", exercise_json()).str());
}

// ---- the API ---------------------------------------------------------------------------

std::string Dashboard::state_json() const {
  const auto policy = gateway_.policy();
  const auto& source = policy->source();
  boost::json::array markings;
  for (const auto& c : source.scheme.classifications)
    markings.emplace_back(json::Object()
                              .add("name", c.name)
                              .add("marking", c.marking.empty() ? c.name : c.marking)
                              .add("colour", c.colour)
                              .add("text_colour", c.text_colour)
                              .native());
  auto& router = gateway_.router();
  boost::json::array nodes;
  for (const auto& node : source.nodes) {
    const policy::Organisation* organisation = nullptr;
    for (const auto& o : source.organisations)
      if (o.id == node.organisation) organisation = &o;
    std::string level;
    for (const auto& role : source.roles)
      if (role.id == node.role) level = role.level;
    nodes.emplace_back(json::Object()
                           .add("id", node.id)
                           .add("name", node.name)
                           .add("organisation", node.organisation)
                           .add("organisation_name", organisation ? organisation->name : "")
                           .add("ct_network", organisation && organisation->ct_network)
                           .add("level", level)
                           .add("vetting", node.vetting)
                           .add("roles", std::vector<std::string>{node.role})
                           .add("connected", router.is_connected(node.id))
                           .native());
  }
  boost::json::array holds;
  for (const auto& hold : router.holds()) {
    json::Object object;
    object.add("type", "hold");
    holds.emplace_back(add_hold_fields(object, hold).native());
  }
  return json::Object()
      .add("gateway_id", gateway_.config().gateway_id)
      .add("policy", json::Object().add("name", source.name).add("version", policy->version()))
      .add("levels", source.levels)
      .add("markings", boost::json::value(std::move(markings)))
      .add("nodes", boost::json::value(std::move(nodes)))
      .add("holds", boost::json::value(std::move(holds)))
      .add_raw("exercise", exercise_json())
      .add_raw("shadow", shadow_json())
      .add("peers", boost::json::value(peers_json()))
      .add("last_seq", static_cast<std::int64_t>(seq_))
      .add_raw("events", array(events_after(0)))
      .str();
}

std::optional<std::string> Dashboard::message_json(const std::string& message_id) const {
  auto it = messages_.find(message_id);
  if (it == messages_.end()) return std::nullopt;
  const MessageRecord& r = it->second;
  std::vector<EventText> latest;
  for (const auto& [recipient, event] : r.latest) latest.push_back(event);
  return json::Object()
      .add("message_id", message_id)
      .add_raw("envelope", r.envelope)
      .add_raw("portions", r.portions)
      .add_raw("decisions", array(latest))
      .add_raw("decision_history", array(r.history))
      .add_raw("deliveries", array(r.deliveries))
      .add_raw("acks", array(r.acks))
      .add_raw("receipts", array(r.receipts))
      .add_raw("holds", array(r.holds))
      .add_raw("frames", array(r.frames))
      .add_raw("hops", array(r.hops))
      .add("frames_dropped", static_cast<std::int64_t>(r.frames_dropped))
      .str();
}

std::string Dashboard::metrics_text() const {
  auto& router = gateway_.router();
  Gauges gauges;
  gauges.connections = router.session_count();
  gauges.outbox = router.owed_count();
  gauges.holds = router.hold_count();
  gauges.dashboard_clients = subscriber_count();
  gauges.dashboard_dropped = dropped_clients_;
  gauges.verify_cache = gateway_.verify_cache_stats();
  gauges.store = gateway_.store().stats();
  gauges.shadow_policy = gateway_.shadow_policy() != nullptr;
  for (const auto& peer : gateway_.peer_status())
    gauges.peer_links.emplace_back(peer.id, peer.state == federation::LinkState::up);
  return render_metrics(gateway_.metrics(), gauges);
}

// 503 while draining, or while the store cannot commit (the last commit that
// wrote failed: nothing is being accepted); the store fields say why, and
// whether only a restart clears it (a sync failed).
Response Dashboard::healthz() const {
  const bool draining = gateway_.stopping();
  const auto store = gateway_.store().health();
  const auto policy = gateway_.policy();
  json::Object body;
  body.add("status", draining ? "draining" : store.ok ? "ok" : "failing")
      .add("sessions", static_cast<std::int64_t>(gateway_.session_count()))
      .add("policy_version", policy->version())
      .add("store", store.ok ? "ok" : "failing");
  if (!store.ok)
    body.add("store_error", store.reason)
        .add("store_failed_at", format_utc(store.failed_at_unix_ms))
        .add("store_restart_required", store.restart_required);
  // Each peer gateway's link: informative, never the status (a peer that is
  // down does not make this gateway unhealthy).
  if (auto links = peers_json(); !links.empty()) body.add("peers", boost::json::value(std::move(links)));
  return json_response(body.str(), draining || !store.ok ? 503 : 200);
}

Response Dashboard::static_file(std::string_view name) const {
  const Asset* asset = find_asset(name);
  if (!asset) return error_response(404, fmt::format("no file '{}'", name));
  Response response;
  response.content_type = std::string(content_type_for(asset->name));
  response.body = std::string(asset->body);
  response.headers.emplace_back("Cache-Control", "no-cache");
  return response;
}

Response Dashboard::decide_hold(const Request& request, const std::string& hold_id) {
  const std::string_view type = std::string_view(request.content_type).substr(0, request.content_type.find(';'));
  if (type != "application/json")
    return error_response(415, fmt::format("the body must be application/json, not '{}'", request.content_type));
  const auto body = parse_string_object(request.body);
  if (!body.ok()) return error_response(400, "the body is not a JSON object of strings: " + body.error);
  for (const auto& [key, value] : body.values)
    if (key != "decision" && key != "reviewer" && key != "reason")
      return error_response(400, fmt::format("unknown key \"{}\" (decision, reviewer, reason)", key));
  auto get = [&](std::string_view key) {
    auto it = body.values.find(key);
    return it == body.values.end() ? std::string() : it->second;
  };
  const std::string decision = get("decision"), reviewer = get("reviewer");
  if (decision != "approve" && decision != "refuse")
    return error_response(400, fmt::format("\"decision\" must be \"approve\" or \"refuse\", not \"{}\"", decision));
  if (reviewer.empty()) return error_response(400, "\"reviewer\" must name the reviewer node the page acts for");

  auto& router = gateway_.router();
  if (auto closed = closed_holds_.find(hold_id); closed != closed_holds_.end())
    return error_response(409, fmt::format("hold {} was already {}", hold_id, closed->second));
  for (const auto& hold : router.holds())
    if (hold.id == hold_id && hold.kind == "embargo")
      return error_response(409, fmt::format("hold {} is an embargo ({}): it lifts by itself, no one decides it",
                                             hold_id, hold.held_for));
  v1::ReviewDecision answer;
  answer.set_hold_id(hold_id);
  answer.set_verdict(decision == "approve" ? v1::VERDICT_APPROVE : v1::VERDICT_REFUSE);
  answer.set_comment(get("reason"));
  const auto result = router.review(reviewer, answer, server::Router::ReviewVia::dashboard);
  if (!result.accepted) {
    const int status = result.error == v1::ERROR_CODE_NOT_PERMITTED ? 403
                       : result.error == v1::ERROR_CODE_UNKNOWN_HOLD ? 404
                                                                     : 400;
    return error_response(status, result.error_text);
  }
  return json_response(json::Object()
                           .add("hold_id", hold_id)
                           .add("result", decision == "approve" ? "approved" : "refused")
                           .add("by", reviewer)
                           .str());
}

std::optional<Response> Dashboard::authorize(const Request& request, bool state_changing) const {
  return check_access(access_, request, state_changing);
}

std::variant<Feed*, Response> Dashboard::open_feed(const Request& request) {
  if (target_path(request.target) != "/ws") return error_response(404, "the WebSocket is at /ws");
  if (auto refused = authorize(request, true)) return *refused;
  return static_cast<Feed*>(this);
}

Response Dashboard::handle(const Request& request) {
  Response response = [&]() -> Response {
    const std::string_view path = target_path(request.target);
    const bool get = request.method == "GET" || request.method == "HEAD";
    const bool post = request.method == "POST";
    auto method_not_allowed = [&](std::string_view allowed) {
      Response r = error_response(405, fmt::format("{} {} is not allowed; use {}", request.method, path, allowed));
      r.headers.emplace_back("Allow", allowed);
      return r;
    };
    // The page's files hold no data: they are served without the token (a
    // browser fetches scripts without our ?token=), still only to a loopback Host on loopback.
    if (path == "/" || path == "/index.html" || path.starts_with("/assets/")) {
      if (auto refused = authorize(request, false); refused && refused->status != 401) return *refused;
      if (!get) return method_not_allowed("GET");
      return static_file(path.starts_with("/assets/") ? path.substr(8) : std::string_view("index.html"));
    }
    if (auto refused = authorize(request, post)) return *refused;
    if (path == "/healthz") return get ? healthz() : method_not_allowed("GET");
    if (path == "/metrics") {
      if (!get) return method_not_allowed("GET");
      Response r = json_response(metrics_text());
      r.content_type = metrics_content_type;
      return r;
    }
    if (path == "/api/state") return get ? json_response(state_json()) : method_not_allowed("GET");
    if (path.starts_with("/api/messages/")) {
      if (!get) return method_not_allowed("GET");
      std::string id;
      if (!percent_decode(path.substr(14), id)) return error_response(400, "malformed percent-escape in the message id");
      if (auto body = message_json(id)) return json_response(std::move(*body));
      return error_response(404, fmt::format("no message {} (unknown, or older than the {} remembered)", id,
                                             limits_.messages));
    }
    if (path.starts_with("/api/holds/")) {
      if (!post) return method_not_allowed("POST");
      std::string id;
      if (!percent_decode(path.substr(11), id)) return error_response(400, "malformed percent-escape in the hold id");
      return decide_hold(request, id);
    }
    if (path.starts_with("/api/exercise/")) {
      if (!post) return method_not_allowed("POST");
      return exercise_action(path.substr(14));
    }
    if (path == "/ws") return error_response(426, "/ws is a WebSocket: send an Upgrade request");
    return error_response(404, fmt::format("nothing at {}", path));
  }();
  add_security_headers(response, security_policy);
  return response;
}

}  // namespace icegate::http

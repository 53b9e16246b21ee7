// A decision at every hop (hop.hpp).
#include "gateway/federation/hop.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace icegate::federation {
namespace {

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// The gateways a route names: its origin, then each it passed through.
std::vector<std::string> route_gateways(const Route& route) {
  std::vector<std::string> gateways{route.origin_gateway};
  gateways.insert(gateways.end(), route.via.begin(), route.via.end());
  return gateways;
}

Refused refuse(HopRefusal refusal, std::string detail) { return Refused{refusal, std::nullopt, std::move(detail)}; }

}  // namespace

std::string_view to_string(HopOutcome outcome) {
  switch (outcome) {
    case HopOutcome::forwarded: return "forwarded";
    case HopOutcome::forwarded_redacted: return "forwarded_redacted";
    case HopOutcome::not_sent: return "not_sent";
  }
  return "unknown";
}

std::string_view to_string(HopRefusal refusal) {
  switch (refusal) {
    case HopRefusal::unknown_peer: return "unknown-peer";
    case HopRefusal::malformed: return "malformed";
    case HopRefusal::route_malformed: return "route-malformed";
    case HopRefusal::route_too_long: return "route-too-long";
    case HopRefusal::route_loop: return "route-loop";
    case HopRefusal::route_names_this_gateway: return "route-names-this-gateway";
    case HopRefusal::unknown_origin: return "unknown-origin";
    case HopRefusal::binding: return "binding";
    case HopRefusal::beyond_accreditation: return "beyond-accreditation";
    case HopRefusal::unknown_category: return "unknown-category";
    case HopRefusal::unknown_purpose: return "unknown-purpose";
    case HopRefusal::originator_is_local: return "originator-is-local";
  }
  return "unknown";
}

std::string Refused::code() const {
  if (refusal == HopRefusal::binding && binding_problem) return fmt::format("binding-{}", to_string(*binding_problem));
  return std::string(to_string(refusal));
}

Hop::Hop(std::shared_ptr<const policy::CompiledPolicy> policy, std::shared_ptr<const OriginGateway> self,
         std::map<std::string, pki::TrustedCa, std::less<>> peer_cas)
    : policy_(std::move(policy)), self_(std::move(self)), peer_cas_(std::move(peer_cas)) {}

std::map<std::string, pki::TrustedCa, std::less<>> Hop::load_peer_cas(const policy::Policy& policy) {
  std::map<std::string, pki::TrustedCa, std::less<>> cas;
  for (const policy::Peer& peer : policy.peers) cas.emplace(peer.id, pki::TrustedCa(peer.ca));
  return cas;
}

// ---- One next peer --------------------------------------------------------------------

PeerForward Hop::narrow_for_peer(const Message& message, const policy::PeerRoute& route, std::int64_t now_unix_ms,
                                 const Route* received) const {
  const policy::Peer& peer = *route.peer;
  PeerForward out;
  out.peer = peer.id;
  out.message_id = message.id;
  out.addressees = route.addressees;
  if (received) {
    out.origin = received->origin_gateway;
    out.via = received->via;
    out.via.push_back(self_->name);
    out.hop_count = received->hop_count + 1;
  } else {
    out.origin = self_->name;
  }
  // Nothing at all when the peer may not receive this category or purpose.
  const policy::PeerCheck receives = policy::may_receive(peer, message.category, message.purpose);
  if (!receives.allowed()) {
    out.refusal = receives.refusal;
    out.reason = receives.detail;
    return out;
  }
  // Each portion the peer may not hold is withheld before the frame exists.
  Message narrowed;
  narrowed.id = message.id;
  narrowed.originator = message.originator;
  narrowed.created_unix_ms = message.created_unix_ms;
  narrowed.addressees = route.addressees;
  narrowed.category = message.category;
  narrowed.purpose = message.purpose;
  narrowed.title = message.title;
  narrowed.handling = message.handling;
  narrowed.derived_from = message.derived_from;
  narrowed.label_scheme = message.label_scheme;
  narrowed.original_scheme = message.original_scheme;
  std::vector<Label> kept;
  for (const Portion& portion : message.portions) {
    const policy::PeerCheck holds = policy::may_hold(*policy_, peer, portion.label);
    if (!holds.allowed()) {
      out.withheld.push_back({portion.id, portion.label, holds.refusal, holds.detail});
      continue;
    }
    narrowed.portions.push_back(portion);
    out.forwarded.push_back(portion.id);
    kept.push_back(portion.label);
  }
  if (narrowed.portions.empty()) {
    out.refusal = out.withheld.empty() ? policy::PeerRefusal::none : out.withheld.front().reason;
    out.reason = out.withheld.empty()
                     ? "the message has no portions"
                     : fmt::format("every portion is withheld from {}: {}", peer.id, out.withheld.front().detail);
    return out;
  }
  // The label of what goes. The sender's overall label under its own scheme
  // (when the origin translated) is kept only when nothing was withheld: this
  // gateway cannot recompute it under a scheme it may not have.
  narrowed.label = policy_->least_upper_bound(kept);
  if (out.withheld.empty()) narrowed.original_label = message.original_label;
  out.outcome = out.withheld.empty() ? HopOutcome::forwarded : HopOutcome::forwarded_redacted;
  ForwardedMessage frame;
  // At the origin every portion gets a fresh salt before it is bound (a
  // sender's is replaced); in transit each portion kept carries the salt its
  // origin drew, and one withheld takes its salt with it.
  if (!received) salt_portions(narrowed);
  frame.route = received ? onward(*received, self_->name) : bind_labels(narrowed, *self_, now_unix_ms);
  frame.message = std::move(narrowed);
  out.frame = std::move(frame);
  return out;
}

// ---- 1. Origin ------------------------------------------------------------------------

OriginResult Hop::forward_from_origin(const Message& message, std::int64_t now_unix_ms) const {
  OriginResult result;
  const policy::RemoteRouting routing = policy::route_remote(*policy_, message.addressees);
  result.unresolved = routing.unresolved;
  for (const policy::PeerRoute& route : routing.routes) {
    result.hops.push_back(narrow_for_peer(message, route, now_unix_ms, nullptr));
  }
  return result;
}

// ---- 2. Transit and destination -------------------------------------------------------

std::optional<Refused> Hop::check_frame(std::string_view from_peer, const ForwardedMessage& frame) const {
  const policy::Policy& source = policy_->source();
  const policy::Peer* sender = policy::find_peer(source, from_peer);
  if (!sender) {
    return refuse(HopRefusal::unknown_peer,
                  fmt::format("'{}' is not a peer of this gateway's policy, so it may send nothing", from_peer));
  }
  const Message& message = frame.message;
  const Route& route = frame.route;
  if (message.id.empty()) return refuse(HopRefusal::malformed, "the forwarded message has no id");
  if (message.portions.empty()) return refuse(HopRefusal::malformed, "the forwarded message has no portions");
  if (message.addressees.empty()) return refuse(HopRefusal::malformed, "the forwarded message has no addressees");
  for (std::size_t i = 0; i < message.portions.size(); ++i) {
    if (message.portions[i].id.empty()) {
      return refuse(HopRefusal::malformed, fmt::format("portion {} of the forwarded message has no id", i + 1));
    }
  }

  // The route: its count, its length, who sent it, and no gateway twice.
  if (route.origin_gateway.empty()) return refuse(HopRefusal::route_malformed, "the route names no origin gateway");
  if (route.hop_count != route.via.size() + 1) {
    return refuse(HopRefusal::route_malformed,
                  fmt::format("the route's hop count is {}, but it names {} gateway(s) after the origin, so it "
                              "should be {}",
                              route.hop_count, route.via.size(), route.via.size() + 1));
  }
  if (route.hop_count > max_hops) {
    return refuse(HopRefusal::route_too_long,
                  fmt::format("the route has crossed {} links, more than the {} a route may", route.hop_count, max_hops));
  }
  const std::vector<std::string> gateways = route_gateways(route);
  if (contains(gateways, name())) {
    return refuse(HopRefusal::route_names_this_gateway,
                  fmt::format("the route already names this gateway, {} (origin {}, via [{}]): a loop", name(),
                              route.origin_gateway, fmt::join(route.via, ", ")));
  }
  for (std::size_t i = 0; i < gateways.size(); ++i) {
    if (std::find(gateways.begin() + static_cast<std::ptrdiff_t>(i) + 1, gateways.end(), gateways[i]) !=
        gateways.end()) {
      return refuse(HopRefusal::route_loop, fmt::format("the route names gateway {} twice (origin {}, via [{}])",
                                                        gateways[i], route.origin_gateway, fmt::join(route.via, ", ")));
    }
  }
  if (gateways.back() != from_peer) {
    return refuse(HopRefusal::route_malformed,
                  fmt::format("the frame came from {}, but the route's last gateway is {}: a peer that forwards "
                              "appends itself to the route",
                              from_peer, gateways.back()));
  }

  // The binding, against the origin gateway's CA from this policy's peers.
  const auto ca = peer_cas_.find(route.origin_gateway);
  if (!policy::find_peer(source, route.origin_gateway) || ca == peer_cas_.end()) {
    return refuse(HopRefusal::unknown_origin,
                  fmt::format("the origin gateway {} is not a peer of this gateway's policy, so its label binding "
                              "cannot be verified",
                              route.origin_gateway));
  }
  if (std::optional<BindingFailure> failure = verify(frame, ca->second)) {
    return Refused{HopRefusal::binding, failure->problem, failure->text};
  }

  // What the sending peer may send: a sender that is not one of ours, of a
  // category and purpose this policy knows, and nothing it may not hold.
  if (policy_->has_node(message.originator)) {
    return refuse(HopRefusal::originator_is_local,
                  fmt::format("the originator {} is a node of this gateway: a peer may not send in its name",
                              message.originator));
  }
  if (!contains(source.information_categories, message.category)) {
    return refuse(HopRefusal::unknown_category,
                  fmt::format("information category '{}' is not one this gateway's policy declares", message.category));
  }
  if (!contains(source.purposes, message.purpose)) {
    return refuse(HopRefusal::unknown_purpose,
                  message.purpose.empty()
                      ? std::string("the message states no purpose")
                      : fmt::format("purpose '{}' is not one this gateway's policy declares", message.purpose));
  }
  for (const Portion& portion : message.portions) {
    const policy::PeerCheck holds = policy::may_hold(*policy_, *sender, portion.label);
    if (!holds.allowed()) {
      return refuse(HopRefusal::beyond_accreditation,
                    fmt::format("portion {} ({}) is beyond what {} is accredited to hold, so it should never have "
                                "had it: {}",
                                portion.id, label_text(portion.label), from_peer, holds.detail));
    }
  }

  // No addressee may be routed back to a gateway the message has been through.
  const policy::RemoteRouting routing = policy::route_remote(*policy_, message.addressees);
  for (const policy::PeerRoute& next : routing.routes) {
    if (contains(gateways, next.peer->id)) {
      return refuse(HopRefusal::route_loop,
                    fmt::format("addressee {}:{} would be routed back to {}, which the message has already passed",
                                to_string(next.addressees.front().kind), next.addressees.front().name, next.peer->id));
    }
  }
  return std::nullopt;
}

LocalDecision Hop::decide_local(const ForwardedMessage& frame, const std::string& recipient,
                                bool occasional_available) const {
  const Message& message = frame.message;
  std::vector<Label> labels;
  labels.reserve(message.portions.size());
  for (const Portion& portion : message.portions) labels.push_back(portion.label);
  policy::DecisionRequest request{message.originator, recipient, message.category, message.purpose, labels,
                                  occasional_available};
  request.sender_gateway = frame.route.origin_gateway;
  const policy::PolicyDecision decision = policy_->decide(request);
  LocalDecision out;
  out.decision = policy::recipient_decision(*policy_, message, recipient, decision);
  out.review_roles = decision.review_roles;
  out.originator_control = decision.originator_control;
  out.no_onward_sharing = decision.no_onward_sharing;
  return out;
}

ReceiveResult Hop::receive(std::string_view from_peer, const ForwardedMessage& frame,
                           const OccasionalAvailable& occasional_available) const {
  ReceiveResult result;
  result.refused = check_frame(from_peer, frame);
  if (result.refused) return result;
  const Message& message = frame.message;

  std::vector<Addressee> local;
  for (const Addressee& addressee : message.addressees) {
    if (policy::is_local(*policy_, addressee)) local.push_back(addressee);
  }
  const policy::Expansion expansion = policy_->expand(local, message.originator);
  result.local_unresolved = expansion.unresolved;
  for (const std::string& recipient : expansion.recipients) {
    const bool occasional = occasional_available && occasional_available(recipient);
    result.local.push_back(decide_local(frame, recipient, occasional));
  }

  const policy::RemoteRouting routing = policy::route_remote(*policy_, message.addressees);
  result.unresolved = routing.unresolved;
  for (const policy::PeerRoute& route : routing.routes) {
    result.onward.push_back(narrow_for_peer(message, route, 0, &frame.route));
  }
  return result;
}

}  // namespace icegate::federation

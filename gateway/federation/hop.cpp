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

std::vector<Label> labels_of(const Message& message) {
  std::vector<Label> labels;
  labels.reserve(message.portions.size());
  for (const Portion& portion : message.portions) labels.push_back(portion.label);
  return labels;
}

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
    case HopRefusal::scheme_not_accepted: return "scheme-not-accepted";
    case HopRefusal::translation: return "translation";
  }
  return "unknown";
}

std::string Refused::code() const {
  if (refusal == HopRefusal::binding && binding_problem) return fmt::format("binding-{}", to_string(*binding_problem));
  if (refusal == HopRefusal::translation && translation_problem) {
    return fmt::format("translation-{}", policy::to_string(*translation_problem));
  }
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

PeerForward Hop::narrow_for_peer(const Message& message, const std::vector<Label>& judged,
                                 const policy::CompiledPolicy& marked_under, const policy::PeerRoute& route,
                                 std::int64_t now_unix_ms, const Route* received) const {
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
  // The origin names the scheme its labels are under, so that a peer under
  // another scheme knows what to translate from (it is bound with them).
  if (!received && narrowed.label_scheme.empty()) narrowed.label_scheme = policy_->source().scheme.name;
  narrowed.original_scheme = message.original_scheme;
  std::vector<Label> kept;
  for (std::size_t i = 0; i < message.portions.size(); ++i) {
    const Portion& portion = message.portions[i];
    const policy::PeerCheck holds = policy::may_hold(*policy_, peer, judged[i]);
    if (!holds.allowed()) {
      out.withheld.push_back({portion.id, judged[i], holds.refusal, holds.detail});
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
  // The label of what goes, under the scheme its portions are marked in. The
  // sender's overall label under its own scheme (when the origin translated)
  // is kept only when nothing was withheld: this gateway cannot recompute it
  // under a scheme it may not have.
  narrowed.label = marked_under.least_upper_bound(kept);
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
  const std::vector<Label> labels = labels_of(message);
  for (const policy::PeerRoute& route : routing.routes) {
    result.hops.push_back(narrow_for_peer(message, labels, *policy_, route, now_unix_ms, nullptr));
  }
  return result;
}

// ---- 2. Transit and destination -------------------------------------------------------

std::optional<Refused> Hop::check_frame(std::string_view from_peer, const ForwardedMessage& frame) const {
  return admit(from_peer, frame).refused;
}

Hop::Admission Hop::translate(const ForwardedMessage& frame) const {
  const policy::Policy& source = policy_->source();
  const std::string& own = source.scheme.name;
  const Message& message = frame.message;
  Admission out;
  // A frame that names no scheme is read as a node's Submit is: under this
  // gateway's own. A label of a scheme it does not know then has names it
  // does not know, which no accreditation holds: refused, never guessed at.
  if (message.label_scheme.empty() || message.label_scheme == own) {
    out.marked_under = policy_.get();
    return out;
  }
  const policy::CompiledPolicy* accepted = source.accepted_scheme(message.label_scheme);
  if (!accepted) {
    std::vector<std::string> names{own};
    for (const policy::AcceptedScheme& scheme : source.accepted_schemes) {
      names.push_back(scheme.scheme->source().scheme.name);
    }
    out.refused = refuse(HopRefusal::scheme_not_accepted,
                         fmt::format("the labels are under scheme {}, which policy {} does not accept (it accepts "
                                     "{}), so they cannot be translated into {}",
                                     message.label_scheme, source.name, fmt::join(names, ", "), own));
    return out;
  }
  out.marked_under = accepted;

  // The author's marking came back to this gateway's own scheme: the kept
  // original is what the translation gives back, when it is what the origin
  // translated from (translate_label's `original`).
  const bool authored_here = message.original_scheme == own;
  Message held = message;
  std::vector<std::string> refusals;
  std::optional<policy::TranslationProblem> first;
  for (Portion& portion : held.portions) {
    const bool has_original = !portion.original_label.classification.empty();
    const policy::LabelTranslation translation = policy::translate_label(
        *accepted, *policy_, portion.label, authored_here && has_original ? &portion.original_label : nullptr);
    if (!translation.faithful()) {
      if (!first) first = translation.issues.front().problem;
      refusals.push_back(fmt::format("portion '{}' label {} under {} has no faithful mapping to {}: {}", portion.id,
                                     label_text(portion.label), message.label_scheme, own, translation.reason()));
      continue;
    }
    // The original kept: the author's marking, unless that is the label now.
    if (!has_original || authored_here) portion.original_label = portion.label;
    portion.label = *translation.translated;
  }
  if (!refusals.empty()) {
    out.refused = Refused{HopRefusal::translation, std::nullopt, fmt::format("{}", fmt::join(refusals, "; ")), first};
    return out;
  }
  if (message.original_scheme.empty() || authored_here) {
    held.original_scheme = message.label_scheme;
    held.original_label = accepted->least_upper_bound(labels_of(message));
  }
  held.label_scheme = own;
  held.label = policy_->least_upper_bound(labels_of(held));
  out.translated = std::move(held);
  return out;
}

Hop::Admission Hop::admit(std::string_view from_peer, const ForwardedMessage& frame) const {
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
  // The labels under this gateway's scheme: translated when the origin
  // marked under another, after the binding held on them as signed.
  Admission admitted = translate(frame);
  if (admitted.refused) return admitted;
  const Message& held = admitted.translated ? *admitted.translated : message;
  for (const Portion& portion : held.portions) {
    const policy::PeerCheck holds = policy::may_hold(*policy_, *sender, portion.label);
    if (!holds.allowed()) {
      const std::string marked = admitted.translated ? fmt::format(", {} under {}", label_text(portion.original_label),
                                                                   held.original_scheme)
                                                     : std::string();
      return refuse(HopRefusal::beyond_accreditation,
                    fmt::format("portion {} ({}{}) is beyond what {} is accredited to hold, so it should never have "
                                "had it: {}",
                                portion.id, label_text(portion.label), marked, from_peer, holds.detail));
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
  return admitted;
}

LocalDecision Hop::decide_local(const ForwardedMessage& frame, const std::string& recipient,
                                bool occasional_available) const {
  return decide_held(frame.message, frame.route.origin_gateway, recipient, occasional_available);
}

LocalDecision Hop::decide_held(const Message& held, const std::string& origin, const std::string& recipient,
                               bool occasional_available) const {
  const std::vector<Label> labels = labels_of(held);  // the request refers to them
  policy::DecisionRequest request{held.originator, recipient, held.category, held.purpose, labels,
                                  occasional_available};
  request.sender_gateway = origin;
  const policy::PolicyDecision decision = policy_->decide(request);
  LocalDecision out;
  out.decision = policy::recipient_decision(*policy_, held, recipient, decision);
  out.review_roles = decision.review_roles;
  out.originator_control = decision.originator_control;
  out.no_onward_sharing = decision.no_onward_sharing;
  return out;
}

ReceiveResult Hop::receive(std::string_view from_peer, const ForwardedMessage& frame,
                           const OccasionalAvailable& occasional_available) const {
  ReceiveResult result;
  Admission admitted = admit(from_peer, frame);
  if (admitted.refused) {
    result.refused = std::move(admitted.refused);
    return result;
  }
  result.translated = std::move(admitted.translated);
  // Decided on under this gateway's scheme; forwarded as signed.
  const Message& message = frame.message;
  const Message& held = result.message(frame);

  std::vector<Addressee> local;
  for (const Addressee& addressee : message.addressees) {
    if (policy::is_local(*policy_, addressee)) local.push_back(addressee);
  }
  const policy::Expansion expansion = policy_->expand(local, message.originator);
  result.local_unresolved = expansion.unresolved;
  for (const std::string& recipient : expansion.recipients) {
    const bool occasional = occasional_available && occasional_available(recipient);
    result.local.push_back(decide_held(held, frame.route.origin_gateway, recipient, occasional));
  }

  const policy::RemoteRouting routing = policy::route_remote(*policy_, message.addressees);
  result.unresolved = routing.unresolved;
  const std::vector<Label> judged = labels_of(held);
  for (const policy::PeerRoute& route : routing.routes) {
    result.onward.push_back(narrow_for_peer(message, judged, *admitted.marked_under, route, 0, &frame.route));
  }
  return result;
}

}  // namespace icegate::federation

// Following one request across gateways (path.hpp).
#include "gateway/federation/path.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gateway/pki/pki.hpp"

namespace icegate::federation {
namespace {

std::vector<std::string> peer_ids(const policy::CompiledPolicy& policy) {
  std::vector<std::string> ids;
  for (const policy::Peer& peer : policy.source().peers) ids.push_back(peer.id);
  return ids;
}

bool contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// The gateway a forward goes to, when the next policy is that gateway's: a
// policy never names itself among its peers.
const PeerForward* towards(const std::vector<PeerForward>& forwards, const policy::CompiledPolicy& next,
                           std::string& problem) {
  const std::vector<std::string> named = peer_ids(next);
  std::vector<const PeerForward*> candidates;
  std::vector<std::string> all;
  for (const PeerForward& forward : forwards) {
    all.push_back(forward.peer);
    if (!contains(named, forward.peer)) candidates.push_back(&forward);
  }
  if (candidates.size() == 1) return candidates.front();
  problem = forwards.empty()
                ? fmt::format("no addressee is routed to another gateway, so nothing reaches {}'s gateway",
                              next.source().name)
                : candidates.empty()
                      ? fmt::format("the addressees are routed to [{}], none of which is {}'s gateway (that policy "
                                    "names each of them as its peer)",
                                    fmt::join(all, ", "), next.source().name)
                      : fmt::format("the addressees are routed to [{}], and more than one of them could be {}'s "
                                    "gateway: address the recipient alone",
                                    fmt::join(all, ", "), next.source().name);
  return nullptr;
}

}  // namespace

PathExplanation follow_path(const std::vector<std::shared_ptr<const policy::CompiledPolicy>>& policies,
                            const Message& message, const std::string& recipient,
                            const std::filesystem::path& scratch) {
  PathExplanation out;
  if (policies.size() < 2) {
    out.problem = "a path needs the sender's gateway's policy and at least the recipient's";
    return out;
  }
  // The sender's gateway: the one peer of the second policy the first does not name.
  std::vector<std::string> origin_candidates;
  const std::vector<std::string> first_names = peer_ids(*policies[0]);
  for (const std::string& id : peer_ids(*policies[1])) {
    if (!contains(first_names, id)) origin_candidates.push_back(id);
  }
  if (origin_candidates.size() != 1) {
    out.problem = fmt::format("cannot tell which peer of {} is {}'s gateway: {}", policies[1]->source().name,
                              policies[0]->source().name,
                              origin_candidates.empty()
                                  ? std::string("every peer it names is named by the sender's policy too")
                                  : fmt::format("any of [{}]", fmt::join(origin_candidates, ", ")));
    return out;
  }
  const std::string origin = origin_candidates.front();

  pki::IssueOptions quick;
  quick.sync = false;
  auto identity = [&](const std::string& id) {
    pki::init_ca(scratch / id, id);
    const pki::Paths paths = pki::issue_node(scratch / id, id, quick);
    return std::make_shared<OriginGateway>(paths.key, paths.certificate);
  };
  auto origin_cas = [&] {
    std::map<std::string, pki::TrustedCa, std::less<>> cas;
    cas.emplace(origin, pki::TrustedCa(pki::ca_paths(scratch / origin).certificate));
    return cas;
  };

  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  out.gateways.push_back(origin);
  const Hop first(policies[0], identity(origin), {});
  const OriginResult at_origin = first.forward_from_origin(message, now);
  // A copy: each hop's result dies with its step.
  std::optional<PeerForward> next;
  if (const PeerForward* chosen = towards(at_origin.hops, *policies[1], out.problem)) next = *chosen;
  for (std::size_t k = 1; next; ++k) {
    out.hops.push_back(*next);
    if (!next->frame) return out;  // not sent: the explanation is the hop's outcome
    const std::string id = next->peer;
    out.gateways.push_back(id);
    const Hop hop(policies[k], identity(id), origin_cas());
    const ReceiveResult received = hop.receive(out.gateways[k - 1], *next->frame);
    if (received.refused) {
      out.refused = received.refused;
      out.refused_at = id;
      return out;
    }
    if (received.translated) {
      PathTranslation translation{id, next->frame->message.label_scheme, received.translated->label_scheme, {}};
      for (std::size_t i = 0; i < received.translated->portions.size(); ++i) {
        translation.portions.push_back({received.translated->portions[i].id, next->frame->message.portions[i].label,
                                        received.translated->portions[i].label});
      }
      out.translations.push_back(std::move(translation));
    }
    if (k + 1 == policies.size()) {
      for (const LocalDecision& local : received.local) {
        if (local.decision.node_id == recipient) out.destination = local;
      }
      if (!out.destination) {
        std::vector<std::string> recipients;
        for (const LocalDecision& local : received.local) recipients.push_back(local.decision.node_id);
        out.problem = fmt::format("{} is not a recipient at {}: the forwarded addressees reach [{}] there", recipient,
                                  id, fmt::join(recipients, ", "));
      }
      return out;
    }
    next.reset();
    if (const PeerForward* chosen = towards(received.onward, *policies[k + 1], out.problem)) next = *chosen;
  }
  return out;
}

}  // namespace icegate::federation

// A policy's peers (`peers:`, docs/FEDERATION.md): the routing to other
// gateways and the accreditation checked at every hop, as pure functions of
// the compiled policy, for the peer link and the decider to call.
//
//   route_remote(policy, addressees) --> per next hop, the addressees it speaks for
//   may_hold(policy, peer, label)    --> whether the peer may hold a portion, and why not
//   may_receive(peer, category, purpose) --> whether it may be sent the message, and why not
//
// Nothing here reads a file or the network, except check_peer_files, which
// `policy check` calls (and the peer link will, before it trusts a CA).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/diagnostics.hpp"
#include "gateway/policy/model.hpp"

namespace icegate::policy {

class CompiledPolicy;

// ---- The address a gateway dials ---------------------------------------------

struct PeerAddress {
  std::string host;  // a DNS name, an IPv4 address, or an IPv6 address (without its brackets)
  std::uint16_t port = 0;
};

// "host:port", "127.0.0.3:7443" or "[::1]:7443"; nullopt with `why` set when
// it is not one ("no port", "port 0 is not 1 to 65535", ...).
std::optional<PeerAddress> parse_peer_address(std::string_view text, std::string* why = nullptr);

// ---- Routing -------------------------------------------------------------------

// The peer whose certificate Common Name is `id`, or null.
const Peer* find_peer(const Policy& policy, std::string_view id);

// Whether this policy itself defines the addressee's name (a node, role,
// list or organisation of its own): such an addressee is never routed to a
// peer, even when no node of this gateway holds the role or belongs to the
// organisation (`policy check` refuses a peer that speaks for a local name).
bool is_local(const CompiledPolicy& policy, const Addressee& addressee);

// The next hop for an addressee that is not local: the first peer, in file
// order, whose `speaks_for` lists its name under its kind. Null when none does
// (unresolved); always null for a distribution list, which is local only.
const Peer* next_hop(const Policy& policy, const Addressee& addressee);

struct PeerRoute {
  const Peer* peer = nullptr;         // the next hop
  std::vector<Addressee> addressees;  // only those it speaks for, in the message's order, once each
};

struct RemoteRouting {
  std::vector<PeerRoute> routes;     // one per next hop, in the order the addressees first need it
  std::vector<Addressee> unresolved;  // neither local nor spoken for by any peer, once each
};

// Where a message's remote addressees go: each addressee that is not local is
// given to its next hop, so that a message is forwarded once per next hop
// carrying only that hop's names. Local addressees are left out (expand()
// resolves them).
RemoteRouting route_remote(const CompiledPolicy& policy, std::span<const Addressee> addressees);

// ---- Accreditation ---------------------------------------------------------------

enum class PeerRefusal {
  none,                    // allowed
  unknown_classification,  // the portion's classification is not in the scheme: nothing can be said to dominate it
  above_ceiling,           // above the peer's max_classification
  category_not_held,       // the label carries a category the peer's `holds` does not list
  category_not_received,   // the message's information category is not in the peer's `receives`
  purpose_not_received,    // the message's purpose is not in the peer's `receives` (or it states none)
};

std::string_view to_string(PeerRefusal refusal);

struct PeerCheck {
  PeerRefusal refusal = PeerRefusal::none;
  std::string detail;  // one sentence for the audit trail and the sender; empty when allowed

  bool allowed() const { return refusal == PeerRefusal::none; }
};

// Whether `peer` may hold a portion labelled `label`: the peer's accreditation
// dominates the label (its classification at or below max_classification,
// every category on it in `holds`). An unknown classification on the label, or
// a ceiling the scheme does not define (hand-built policies only), is refused.
PeerCheck may_hold(const CompiledPolicy& policy, const Peer& peer, const Label& label);

// Whether `peer` may be sent a message of this information category and
// purpose: both listed in its `receives`. A message with no purpose ("") is
// refused: it cannot be shown to be for a purpose the peer receives.
PeerCheck may_receive(const Peer& peer, std::string_view category, std::string_view purpose);

// ---- Files ---------------------------------------------------------------------------

// Every peer's `ca` file: P054 when it cannot be read, P055 when it holds no
// PEM certificate (or one that does not parse). Located at the peer's `ca`.
Diagnostics check_peer_files(const Policy& policy);

}  // namespace icegate::policy

// Routing to peers and their accreditation (peers.hpp).
#include "gateway/policy/peers.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gateway/policy/engine.hpp"
#include "gateway/pki/pki.hpp"
#include "gateway/policy/parser.hpp"

namespace icegate::policy {
namespace {

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// A DNS name as RFC 1123 allows one: dot-separated labels of letters, digits
// and hyphens, none empty, none starting or ending with a hyphen.
bool valid_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(host.find('.', start), host.size());
    const std::string_view label = host.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-') return false;
    }
    if (end == host.size()) return true;
    start = end + 1;
  }
}

bool is_ip_address(const std::string& host, int family) {
  unsigned char buffer[16];
  return ::inet_pton(family, host.c_str(), buffer) == 1;
}

// "a, b and c", or `none` for an empty list.
std::string listing(const std::vector<std::string>& names, std::string_view none) {
  if (names.empty()) return std::string(none);
  if (names.size() == 1) return names.front();
  return fmt::format("{} and {}", fmt::join(names.begin(), names.end() - 1, ", "), names.back());
}

const std::vector<std::string>* spoken_names(const PeerSpeaksFor& speaks_for, AddresseeKind kind) {
  switch (kind) {
    case AddresseeKind::node: return &speaks_for.nodes;
    case AddresseeKind::role: return &speaks_for.roles;
    case AddresseeKind::organisation: return &speaks_for.organisations;
    case AddresseeKind::list: return nullptr;  // lists are local only
  }
  return nullptr;
}

}  // namespace

std::optional<PeerAddress> parse_peer_address(std::string_view text, std::string* why) {
  auto fail = [why](std::string reason) -> std::optional<PeerAddress> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  PeerAddress address;
  std::string_view port;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return fail("an IPv6 address opened with '[' is not closed with ']'");
    address.host = std::string(text.substr(1, close - 1));
    if (!is_ip_address(address.host, AF_INET6)) return fail(fmt::format("'{}' is not an IPv6 address", address.host));
    if (close + 1 >= text.size() || text[close + 1] != ':') return fail("no port: write [address]:port");
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("no port: write host:port");
    address.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (address.host.empty()) return fail("no host before the ':'");
    if (address.host.find(':') != std::string::npos) {
      return fail("an IPv6 address must be written in brackets: [address]:port");
    }
    const bool numeric = std::all_of(address.host.begin(), address.host.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.';
    });
    if (numeric ? !is_ip_address(address.host, AF_INET) : !valid_host_name(address.host)) {
      return fail(fmt::format("'{}' is not a host name or an IPv4 address", address.host));
    }
  }
  if (port.empty()) return fail("no port after the ':'");
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (error == std::errc::result_out_of_range) return fail(fmt::format("port {} is not 1 to 65535", port));
  if (error != std::errc() || end != port.data() + port.size()) {
    return fail(fmt::format("port '{}' is not a number", port));
  }
  if (value == 0 || value > 65535) return fail(fmt::format("port {} is not 1 to 65535", port));
  address.port = static_cast<std::uint16_t>(value);
  return address;
}

const Peer* find_peer(const Policy& policy, std::string_view id) {
  for (const Peer& peer : policy.peers) {
    if (peer.id == id) return &peer;
  }
  return nullptr;
}

bool is_local(const CompiledPolicy& policy, const Addressee& addressee) {
  const Policy& source = policy.source();
  auto defined = [&addressee](const auto& entries) {
    return std::any_of(entries.begin(), entries.end(), [&addressee](const auto& entry) { return entry.id == addressee.name; });
  };
  switch (addressee.kind) {
    case AddresseeKind::node: return policy.has_node(addressee.name);
    case AddresseeKind::role: return defined(source.roles);
    case AddresseeKind::list: return defined(source.lists);
    case AddresseeKind::organisation: return defined(source.organisations);
  }
  return false;
}

const Peer* next_hop(const Policy& policy, const Addressee& addressee) {
  for (const Peer& peer : policy.peers) {
    const std::vector<std::string>* names = spoken_names(peer.speaks_for, addressee.kind);
    if (names && contains(*names, addressee.name)) return &peer;
  }
  return nullptr;
}

RemoteRouting route_remote(const CompiledPolicy& policy, std::span<const Addressee> addressees) {
  RemoteRouting routing;
  for (const Addressee& addressee : addressees) {
    if (is_local(policy, addressee)) continue;
    const Peer* peer = next_hop(policy.source(), addressee);
    if (!peer) {
      if (std::find(routing.unresolved.begin(), routing.unresolved.end(), addressee) == routing.unresolved.end()) {
        routing.unresolved.push_back(addressee);
      }
      continue;
    }
    auto route = std::find_if(routing.routes.begin(), routing.routes.end(),
                              [peer](const PeerRoute& r) { return r.peer == peer; });
    if (route == routing.routes.end()) route = routing.routes.insert(routing.routes.end(), PeerRoute{peer, {}});
    if (std::find(route->addressees.begin(), route->addressees.end(), addressee) == route->addressees.end()) {
      route->addressees.push_back(addressee);
    }
  }
  return routing;
}

std::string_view to_string(PeerRefusal refusal) {
  switch (refusal) {
    case PeerRefusal::none: return "none";
    case PeerRefusal::unknown_classification: return "unknown_classification";
    case PeerRefusal::above_ceiling: return "above_ceiling";
    case PeerRefusal::category_not_held: return "category_not_held";
    case PeerRefusal::category_not_received: return "category_not_received";
    case PeerRefusal::purpose_not_received: return "purpose_not_received";
  }
  return "unknown";
}

PeerCheck may_hold(const CompiledPolicy& policy, const Peer& peer, const Label& label) {
  const int rank = policy.classification_rank(label.classification);
  if (rank < 0) {
    return {PeerRefusal::unknown_classification,
            fmt::format("unknown classification '{}': {}'s accreditation cannot be shown to cover it",
                        label.classification, peer.id)};
  }
  const int ceiling = policy.classification_rank(peer.holds.max_classification);
  if (ceiling < 0) {
    return {PeerRefusal::unknown_classification,
            fmt::format("{}'s ceiling '{}' is not a classification of the scheme, so it may hold nothing", peer.id,
                        peer.holds.max_classification)};
  }
  if (rank > ceiling) {
    return {PeerRefusal::above_ceiling,
            fmt::format("{} is above {}'s accreditation, which holds up to {}", label.classification, peer.id,
                        peer.holds.max_classification)};
  }
  std::vector<std::string> missing;
  for (const std::string& category : label.categories) {
    if (!contains(peer.holds.categories, category) && !contains(missing, category)) missing.push_back(category);
  }
  if (!missing.empty()) {
    return {PeerRefusal::category_not_held,
            fmt::format("{} may not hold {} {} (it holds {})", peer.id, missing.size() == 1 ? "category" : "categories",
                        listing(missing, ""), listing(peer.holds.categories, "no categories"))};
  }
  return {};
}

PeerCheck may_receive(const Peer& peer, std::string_view category, std::string_view purpose) {
  const PeerReceives& receives = peer.receives;
  if (!contains(receives.categories, category)) {
    return {PeerRefusal::category_not_received,
            fmt::format("{} may not receive information category '{}' (it receives {})", peer.id, category,
                        listing(receives.categories, "none"))};
  }
  if (purpose.empty()) {
    return {PeerRefusal::purpose_not_received,
            fmt::format("the message states no purpose, and {} receives only for {}", peer.id,
                        listing(receives.purposes, "none"))};
  }
  if (!contains(receives.purposes, purpose)) {
    return {PeerRefusal::purpose_not_received,
            fmt::format("{} may not receive for purpose '{}' (it receives for {})", peer.id, purpose,
                        listing(receives.purposes, "none"))};
  }
  return {};
}

Diagnostics check_peer_files(const Policy& policy) {
  Diagnostics diagnostics;
  for (const Peer& peer : policy.peers) {
    std::string error;
    const std::optional<std::string> text = read_text_file(peer.ca, error);
    if (!text) {
      diagnostics.error(Code::P054, peer.ca_location,
                        fmt::format("cannot read the CA file of peer '{}', '{}': {}", peer.id, peer.ca, error));
      continue;
    }
    if (!pki::is_pem_certificate(*text)) {
      diagnostics.error(Code::P055, peer.ca_location,
                        fmt::format("the CA file of peer '{}', '{}', holds no PEM certificate (-----BEGIN "
                                    "CERTIFICATE-----) that parses",
                                    peer.id, peer.ca));
    }
  }
  return diagnostics;
}

}  // namespace icegate::policy

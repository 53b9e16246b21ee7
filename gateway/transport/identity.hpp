// Who is at the other end of an accepted connection: a node, a peer gateway,
// or no one this gateway admits (docs/FEDERATION.md, "Identity at accept").
//
// Identity is the pair (trust anchor that verified the chain, Common Name):
//   - chained to the node CA (PKI/ca.crt)            -> the node named by the CN;
//   - chained to peer P's CA and CN == P's id        -> the peer gateway P;
//   - chained to a peer's CA with any other CN       -> refused: a peer's CA
//     vouches for that peer alone, never for a node of ours or another gateway;
//   - chained to no CA this gateway trusts           -> refused (the TLS
//     handshake already fails; and a CA dropped by a reload is refused here).
// The anchor is the verified chain's last certificate (verified_anchor),
// compared with each CA certificate read when the anchors were made.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gateway/transport/tls.hpp"

namespace icegate::transport {

struct Identity {
  enum class Kind { node, peer, refused };
  Kind kind = Kind::refused;
  std::string name;    // the certificate's Common Name ("" when it has none)
  std::string reason;  // why it is refused: one sentence for the log and the audit trail
};

class TrustAnchors {
 public:
  // Reads the node CA and each peer's CA. Throws std::runtime_error naming
  // the file (and the peer) when one cannot be read.
  TrustAnchors(const std::filesystem::path& node_ca, const std::vector<PeerCa>& peers);

  // After the TLS handshake of an accepted connection.
  Identity identify(SSL* ssl) const;

  // Whether `other` trusts the same CA certificate for `peer_id` as this
  // does (false when either does not name the peer): a policy reload that
  // changes a peer's CA ends its live link.
  bool same_peer_ca(const TrustAnchors& other, const std::string& peer_id) const;

 private:
  struct Anchor {
    std::string peer_id;
    std::shared_ptr<X509> ca;
  };
  const Anchor* find(const std::string& peer_id) const;

  std::shared_ptr<X509> node_ca_;
  std::vector<Anchor> peers_;
};

}  // namespace icegate::transport

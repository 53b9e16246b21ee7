// TLS contexts for the gateway and for nodes: TLS 1.3 only, mutual
// certificates, verified against the PKI directory's CA.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "gateway/transport/verify_cache.hpp"

typedef struct ssl_st SSL;
typedef struct x509_st X509;

namespace icegate::transport {

// A peer gateway's CA (docs/FEDERATION.md): trusted to verify that peer's
// own certificate, and nothing else (identity.hpp says how).
struct PeerCa {
  std::string peer_id;
  std::filesystem::path certificate;
};

struct ServerContextOptions {
  // Remember client chains that verified, so that a node reconnecting with
  // the same certificate skips the chain and CRL signature checks
  // (verify_cache.hpp says what that relies on). The cache lives and dies
  // with the context, so a context made after a revocation starts empty.
  bool verified_chain_cache = true;
  VerifiedChainCacheOptions cache;
  // Peer gateways' CAs, trusted beside DIR/ca.crt. A certificate that chains
  // to one is not yet an identity: TrustAnchors::identify (identity.hpp)
  // admits only the peer itself. DIR/crl.pem revokes DIR's certificates
  // only; a peer's certificate is not checked against a CRL (the policy
  // names none: a peer is withdrawn by removing it or changing its CA).
  std::vector<PeerCa> peer_cas;
};

// Server side: presents DIR/gateway.crt; requires and verifies a client
// certificate chaining to DIR/ca.crt (SSL_VERIFY_PEER|FAIL_IF_NO_PEER_CERT),
// and not listed in DIR/crl.pem when there is one (read now, not later), or
// chaining to one of options.peer_cas.
// Throws std::runtime_error naming the file (and, for a peer's CA, the peer)
// when something cannot be loaded.
boost::asio::ssl::context make_server_context(const std::filesystem::path& pki_dir,
                                              const ServerContextOptions& options = {});

// Client side: presents DIR/nodes/NODE.crt; verifies the gateway's certificate
// against DIR/ca.crt. `certificate`/`key` override the node paths (tests use
// them to present certificates from another CA).
struct ClientCredentials {
  std::filesystem::path ca_certificate;
  std::filesystem::path certificate;
  std::filesystem::path key;
};
ClientCredentials node_credentials(const std::filesystem::path& pki_dir, std::string_view node_id);
boost::asio::ssl::context make_client_context(const ClientCredentials& credentials);

// The subject Common Name of the verified peer certificate, if any.
std::optional<std::string> peer_common_name(SSL* ssl);

// The trust anchor the handshake verified the other side's chain to: the last
// certificate of its verified chain (a CA of the trust store), or null when
// the chain did not verify. A chain answered from the verified-chain cache
// carries the anchor it was first verified to (verify_cache.hpp keeps the
// issuers), so the answer is the same either way.
X509* verified_anchor(SSL* ssl);

}  // namespace icegate::transport

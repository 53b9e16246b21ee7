#include "gateway/transport/identity.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gateway/pki/pki.hpp"

namespace icegate::transport {
namespace {

std::shared_ptr<X509> read_ca(const std::filesystem::path& file) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error))
    throw std::runtime_error(fmt::format("cannot load CA certificate {}: no such file", file.string()));
  try {
    const std::string pem = pki::read_certificate_pem(file);
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* certificate = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    if (certificate == nullptr)
      throw std::runtime_error(fmt::format("cannot load CA certificate {}: {}", file.string(),
                                           pki::drain_openssl_errors()));
    return std::shared_ptr<X509>(certificate, X509_free);
  } catch (const pki::PkiError& failure) {
    throw std::runtime_error(fmt::format("cannot load CA certificate {}: {}", file.string(), failure.what()));
  }
}

}  // namespace

TrustAnchors::TrustAnchors(const std::filesystem::path& node_ca, const std::vector<PeerCa>& peers)
    : node_ca_(read_ca(node_ca)) {
  for (const PeerCa& peer : peers) {
    try {
      peers_.push_back({peer.peer_id, read_ca(peer.certificate)});
    } catch (const std::runtime_error& error) {
      throw std::runtime_error(fmt::format("peer {}: {}", peer.peer_id, error.what()));
    }
  }
}

const TrustAnchors::Anchor* TrustAnchors::find(const std::string& peer_id) const {
  for (const Anchor& anchor : peers_)
    if (anchor.peer_id == peer_id) return &anchor;
  return nullptr;
}

bool TrustAnchors::same_peer_ca(const TrustAnchors& other, const std::string& peer_id) const {
  const Anchor* mine = find(peer_id);
  const Anchor* theirs = other.find(peer_id);
  return mine != nullptr && theirs != nullptr && X509_cmp(mine->ca.get(), theirs->ca.get()) == 0;
}

Identity TrustAnchors::identify(SSL* ssl) const {
  Identity identity;
  X509* anchor = verified_anchor(ssl);
  if (anchor == nullptr) {
    identity.reason = "the client certificate did not verify";
    return identity;
  }
  const auto common_name = peer_common_name(ssl);
  if (!common_name) {
    identity.reason = "client certificate has no Common Name";
    return identity;
  }
  identity.name = *common_name;
  // The node CA first: a CA that is both ours and a peer's (a misconfigured
  // policy) authenticates nodes, as it did before there were peers.
  if (X509_cmp(anchor, node_ca_.get()) == 0) {
    identity.kind = Identity::Kind::node;
    return identity;
  }
  std::vector<std::string> vouching;  // the peers whose CA this is (several may share one)
  for (const Anchor& peer : peers_) {
    if (X509_cmp(anchor, peer.ca.get()) != 0) continue;
    if (peer.peer_id == *common_name) {
      identity.kind = Identity::Kind::peer;
      return identity;
    }
    vouching.push_back(peer.peer_id);
  }
  if (vouching.empty()) {
    identity.reason = fmt::format("certificate '{}' chains to a CA this gateway no longer trusts", *common_name);
  } else {
    identity.reason = fmt::format(
        "certificate '{}' is issued by the CA of peer {}, which vouches only for {} itself: a peer's CA never "
        "authenticates a node of this gateway or another gateway",
        *common_name, fmt::join(vouching, ", "), vouching.size() == 1 ? vouching.front() : "each peer");
  }
  return identity;
}

}  // namespace icegate::transport

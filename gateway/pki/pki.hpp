// A small certificate authority for icegate nodes, built on OpenSSL's own API
// (no shelling out to `openssl`).
//
// Directory layout (DIR):
//   ca.key, ca.crt            the CA (ECDSA P-256, self-signed, CA:TRUE)
//   gateway.key, gateway.crt  the gateway's server certificate (CN=gateway, SAN 127.0.0.1, localhost)
//   nodes/ID.key, nodes/ID.crt   one per node; CN = node id, clientAuth
//   serial                    next serial number
// Keys are written with mode 0600.
#pragma once

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace icegate::pki {

class PkiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct IssueOptions {
  std::chrono::hours validity{24 * 365};
  // For tests of expiry handling: a certificate whose validity ended already.
  bool already_expired = false;
};

struct Paths {
  std::filesystem::path key;
  std::filesystem::path certificate;
};

// Creates DIR (if needed), a CA, and the gateway's server certificate.
// Refuses (PkiError) when DIR already holds a CA, unless `overwrite`.
void init_ca(const std::filesystem::path& dir, std::string_view ca_name = "icegate test CA",
             bool overwrite = false);

// Issues a node key and certificate signed by DIR's CA; CN = node_id.
// Node ids are [A-Za-z0-9._-]{1,64}; anything else is refused.
Paths issue_node(const std::filesystem::path& dir, std::string_view node_id,
                 const IssueOptions& options = {});

Paths ca_paths(const std::filesystem::path& dir);
Paths gateway_paths(const std::filesystem::path& dir);
Paths node_paths(const std::filesystem::path& dir, std::string_view node_id);

bool valid_node_id(std::string_view node_id);

// The subject Common Name of a PEM certificate file (for `pki show` and tests).
std::string certificate_common_name(const std::filesystem::path& certificate);

}  // namespace icegate::pki

// Certificates for the bench's nodes, through gateway/pki, kept in the work
// directory between runs: issuing 10,000 ECDSA P-256 node certificates takes
// seconds, so it is done once and only the missing ones are issued later.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "gateway/pki/pki.hpp"

namespace icegate::bench {

struct PkiReport {
  std::size_t issued = 0;   // certificates issued by this call
  double seconds = 0;       // spent issuing them
};

// Makes `dir` a PKI (CA and gateway certificate) if it is not one, and makes
// sure it holds pool_node_id(0 .. count-1). Issues on `threads` threads.
// Throws pki::PkiError naming the file on failure.
PkiReport ensure_pool_certificates(const std::filesystem::path& dir, std::size_t count, std::size_t threads = 2,
                                   pki::KeyType key_type = pki::KeyType::ecdsa_p256);

// The same for any node ids: makes `dir` a PKI (its CA named `ca_name`) if it
// is not one, and issues a certificate for each id that has none yet.
// `key_type` is every key's, the CA's and the gateway's included, for a PKI
// this call creates; a PKI that exists keeps its CA, so keep one directory
// per key type.
PkiReport ensure_node_certificates(const std::filesystem::path& dir, const std::vector<std::string>& ids,
                                   std::size_t threads = 2, const std::string& ca_name = "icegate bench CA",
                                   pki::KeyType key_type = pki::KeyType::ecdsa_p256);

}  // namespace icegate::bench

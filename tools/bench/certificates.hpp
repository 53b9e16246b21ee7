// Certificates for the bench's nodes, through gateway/pki, kept in the work
// directory between runs: issuing 10,000 ECDSA P-256 node certificates takes
// seconds, so it is done once and only the missing ones are issued later.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace icegate::bench {

struct PkiReport {
  std::size_t issued = 0;   // certificates issued by this call
  double seconds = 0;       // spent issuing them
};

// Makes `dir` a PKI (CA and gateway certificate) if it is not one, and makes
// sure it holds pool_node_id(0 .. count-1). Issues on `threads` threads.
// Throws pki::PkiError naming the file on failure.
PkiReport ensure_pool_certificates(const std::filesystem::path& dir, std::size_t count, std::size_t threads = 2);

// The same for any node ids: makes `dir` a PKI (its CA named `ca_name`) if it
// is not one, and issues a certificate for each id that has none yet.
PkiReport ensure_node_certificates(const std::filesystem::path& dir, const std::vector<std::string>& ids,
                                   std::size_t threads = 2, const std::string& ca_name = "icegate bench CA");

}  // namespace icegate::bench

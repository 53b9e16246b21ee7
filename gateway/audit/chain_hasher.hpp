// The chain's hash, hex(SHA-256(previous_hash_hex + "\n" + canonical)), with
// one reusable digest context: shared by the writer (AuditChain) and verify.
// Inside the audit library; the public form is audit::chain_hash.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "gateway/model/digest.hpp"

namespace icegate::audit::detail {

// Computes chain hashes with one reusable digest context.
class ChainHasher {
 public:
  static constexpr std::size_t hex_size = 64;

  // Writes hex(SHA-256(previous + "\n" + canonical)) to hex[0..64).
  void hash(std::string_view previous, std::string_view canonical, char* hex) {
    sha256_.update(previous).update("\n").update(canonical).finish_hex(hex);
  }

  std::string hash(std::string_view previous, std::string_view canonical) {
    return sha256_.update(previous).update("\n").update(canonical).finish_hex();
  }

 private:
  Sha256 sha256_;
};

}  // namespace icegate::audit::detail

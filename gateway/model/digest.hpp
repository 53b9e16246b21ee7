// SHA-256, in one place: the audit chain's hashes, a policy's version, the
// router's recognition of re-sent content, the verified-chain cache's keys
// and name-based message ids all use this, not OpenSSL's EVP calls directly.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace icegate {

using Sha256Digest = std::array<std::uint8_t, 32>;

// An incremental SHA-256 with one reusable context: update() any number of
// times, then finish(), after which it starts again. Not thread-safe; cheap
// to keep for hashing many small inputs (the audit chain does). Throws
// std::runtime_error if OpenSSL fails, std::bad_alloc if it cannot allocate.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(const void* data, std::size_t size);
  Sha256& update(std::string_view text) { return update(text.data(), text.size()); }
  Sha256Digest finish();
  // Lower-case hex of finish(), 64 characters; or written to out[0..64)
  // without allocating (the audit chain hashes every record).
  std::string finish_hex();
  void finish_hex(char* out);

 private:
  void start();
  evp_md_ctx_st* context_;
};

// Lower-case hex of `bytes`; or written to out[0..2*size).
std::string to_hex(const std::uint8_t* bytes, std::size_t size);
void to_hex(const std::uint8_t* bytes, std::size_t size, char* out);
template <std::size_t N>
std::string to_hex(const std::array<std::uint8_t, N>& bytes) {
  return to_hex(bytes.data(), N);
}

// SHA-256 of `text`, as raw bytes and as hex.
Sha256Digest sha256(std::string_view text);
std::string sha256_hex(std::string_view text);

}  // namespace icegate

#include "gateway/model/digest.hpp"

#include <new>
#include <stdexcept>

#include <openssl/evp.h>

namespace icegate {
namespace {

const EVP_MD* sha256_md() {
  // Fetched once: EVP_sha256() would look the implementation up on every init.
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

}  // namespace

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  if (context_ == nullptr) throw std::bad_alloc();
  try {
    start();
  } catch (...) {
    EVP_MD_CTX_free(context_);
    throw;
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(context_); }

void Sha256::start() {
  if (EVP_DigestInit_ex(context_, sha256_md(), nullptr) != 1) throw std::runtime_error("SHA-256: cannot start");
}

Sha256& Sha256::update(const void* data, std::size_t size) {
  if (EVP_DigestUpdate(context_, data, size) != 1) throw std::runtime_error("SHA-256: cannot hash");
  return *this;
}

Sha256Digest Sha256::finish() {
  Sha256Digest digest{};
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(context_, digest.data(), &size) != 1 || size != digest.size())
    throw std::runtime_error("SHA-256: cannot finish");
  start();
  return digest;
}

std::string Sha256::finish_hex() { return to_hex(finish()); }

void Sha256::finish_hex(char* out) {
  const Sha256Digest digest = finish();
  to_hex(digest.data(), digest.size(), out);
}

void to_hex(const std::uint8_t* bytes, std::size_t size, char* out) {
  static constexpr char digits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0x0f];
  }
}

std::string to_hex(const std::uint8_t* bytes, std::size_t size) {
  std::string hex(2 * size, '\0');
  to_hex(bytes, size, hex.data());
  return hex;
}

Sha256Digest sha256(std::string_view text) { return Sha256{}.update(text).finish(); }

std::string sha256_hex(std::string_view text) { return to_hex(sha256(text)); }

}  // namespace icegate

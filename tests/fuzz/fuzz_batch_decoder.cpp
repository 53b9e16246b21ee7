// Fuzzes the store's batch decoder (store::decode_batch), which reads back
// every record of the log when a gateway opens its data directory after a
// crash (gateway/store/batch.hpp).
//
// Besides "never crash, never read out of bounds": the encoding has one form
// per batch, so a batch decoded from the input, encoded again, gives exactly
// the input; and an input that does not decode says why.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/store/batch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string why;
  const auto batch = icegate::store::decode_batch(bytes, &why);
  if (!batch) {
    if (why.empty()) __builtin_trap();
    return 0;
  }
  std::string again;
  icegate::store::encode_batch(*batch, again);
  if (again != bytes) __builtin_trap();
  return 0;
}

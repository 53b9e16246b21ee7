// Finding where a run of bytes a JSON string holds as they are ends: the
// scan under json::Writer (every audit record's detail) and under the audit
// record's canonical JSON, writer and reader. Sixteen bytes a step where
// SSE2 is there (every x86-64 CPU): the text is mostly plain.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace icegate::json {

// What ends a plain run: always a quote, a backslash or a control character
// below 0x20; with `non_ascii`, also any byte from 0x80 up (for a writer that
// checks UTF-8 sequences one by one).
enum class StopAt { escapes, escapes_and_non_ascii };

// The first position at or after `from` of a byte `stop` names, or
// text.size() if there is none.
inline std::size_t plain_run_end(std::string_view text, std::size_t from, StopAt stop = StopAt::escapes) {
  std::size_t at = from;
  const bool non_ascii = stop == StopAt::escapes_and_non_ascii;
#if defined(__SSE2__)
  // A byte is special if it equals '"' or '\\', or if it is at most 0x1f
  // (unsigned: max(byte, 0x1f) is then 0x1f); movemask gives every byte's
  // top bit, set from 0x80 up.
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i last_control = _mm_set1_epi8(0x1f);
  const auto special_in = [&](const char* sixteen) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sixteen));
    const __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(bytes, last_control), last_control);
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)), control);
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(special));
    if (non_ascii) mask |= static_cast<unsigned>(_mm_movemask_epi8(bytes));
    return mask;
  };
  for (; at + 16 <= text.size(); at += 16)
    if (const unsigned mask = special_in(text.data() + at); mask != 0)
      return at + static_cast<std::size_t>(__builtin_ctz(mask));
  // The last bytes (fewer than sixteen: most keys and values are), copied
  // into a step of their own; the bytes past them are not looked at.
  if (at < text.size()) {
    const std::size_t left = text.size() - at;
    char tail[16] = {};
    std::memcpy(tail, text.data() + at, left);
    if (const unsigned mask = special_in(tail) & ((1u << left) - 1); mask != 0)
      return at + static_cast<std::size_t>(__builtin_ctz(mask));
    return text.size();
  }
#endif
  for (; at < text.size(); ++at) {
    const auto byte = static_cast<unsigned char>(text[at]);
    if (byte == '"' || byte == '\\' || byte < 0x20 || (non_ascii && byte >= 0x80)) return at;
  }
  return text.size();
}

}  // namespace icegate::json

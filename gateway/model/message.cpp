#include "gateway/model/message.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <random>

#include <fmt/format.h>

namespace icegate {

void normalise(Label& label) {
  std::sort(label.categories.begin(), label.categories.end());
  label.categories.erase(std::unique(label.categories.begin(), label.categories.end()),
                         label.categories.end());
}

std::string to_string(const Label& label) {
  if (label.categories.empty()) return label.classification;
  return fmt::format("{} [{}]", label.classification, fmt::join(label.categories, ", "));
}

std::string_view to_string(AddresseeKind kind) {
  switch (kind) {
    case AddresseeKind::node: return "node";
    case AddresseeKind::role: return "role";
    case AddresseeKind::list: return "list";
    case AddresseeKind::organisation: return "org";
  }
  return "unknown";
}

std::string_view to_string(Decision decision) {
  switch (decision) {
    case Decision::release: return "RELEASE";
    case Decision::release_redacted: return "RELEASE_REDACTED";
    case Decision::hold: return "HOLD";
    case Decision::deny: return "DENY";
  }
  return "UNKNOWN";
}

std::string make_uuid() {
  // One generator per thread: UUIDs are made on client and gateway threads alike.
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    std::uint64_t value = generator();
    for (std::size_t j = 0; j < 8; ++j) bytes[i + j] = static_cast<std::uint8_t>(value >> (8 * j));
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::string text;
  text.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text += fmt::format("{:02x}", bytes[i]);
  }
  return text;
}

bool looks_like_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

Message releasable_version(const Message& message, const RecipientDecision& decision) {
  Message version = message;
  version.portions.clear();
  for (const Portion& portion : message.portions) {
    if (std::find(decision.released_portion_ids.begin(), decision.released_portion_ids.end(),
                  portion.id) != decision.released_portion_ids.end()) {
      version.portions.push_back(portion);
    }
  }
  version.label = decision.released_label;
  // A translated message's overall original label describes the whole; a
  // redacted version keeps only its portions' own original labels.
  if (version.portions.size() != message.portions.size()) version.original_label = Label{};
  return version;
}

}  // namespace icegate

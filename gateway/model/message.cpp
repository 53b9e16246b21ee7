#include "gateway/model/message.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <random>

#include <fmt/format.h>

#include "gateway/model/digest.hpp"

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

std::string label_text(const Label& label) {
  std::string text = label.classification;
  for (const std::string& category : label.categories) text += "/" + category;
  return text;
}

std::optional<Label> parse_label_text(std::string_view text, std::string* problem) {
  const auto trim = [](std::string_view part) {
    const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!part.empty() && space(part.front())) part.remove_prefix(1);
    while (!part.empty() && space(part.back())) part.remove_suffix(1);
    return part;
  };
  Label label;
  bool first = true;
  std::string_view rest = text;
  while (true) {
    const std::size_t slash = rest.find('/');
    const std::string_view part = trim(rest.substr(0, slash));
    if (part.empty()) {
      if (problem != nullptr) {
        *problem = first ? "an empty classification" : "an empty category (check the '/' separators)";
      }
      return std::nullopt;
    }
    if (first) {
      label.classification = std::string(part);
      first = false;
    } else {
      label.categories.emplace_back(part);
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  normalise(label);
  return label;
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

namespace {

// Canonical text of 16 bytes, with the version and the RFC 4122/9562 variant set.
std::string uuid_text(std::array<std::uint8_t, 16> bytes, unsigned version) {
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | (version << 4));
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);
  std::string text;
  text.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text += to_hex(&bytes[i], 1);
  }
  return text;
}

}  // namespace

std::string make_uuid() {
  // One generator per thread: UUIDs are made on client and gateway threads alike.
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    std::uint64_t value = generator();
    for (std::size_t j = 0; j < 8; ++j) bytes[i + j] = static_cast<std::uint8_t>(value >> (8 * j));
  }
  return uuid_text(bytes, 4);
}

std::string make_name_based_uuid(std::string_view name) {
  const Sha256Digest digest = sha256(name);
  std::array<std::uint8_t, 16> bytes{};
  std::copy_n(digest.begin(), bytes.size(), bytes.begin());
  return uuid_text(bytes, 8);
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

bool same_version(const RecipientDecision& a, const RecipientDecision& b) {
  return a.decision == b.decision && a.released_portion_ids == b.released_portion_ids &&
         a.released_label == b.released_label && a.withheld == b.withheld && a.rule_ids == b.rule_ids &&
         a.reason == b.reason;
}

bool same_outcome(const RecipientDecision& a, const RecipientDecision& b) {
  return same_version(a, b) && a.hold_id == b.hold_id && a.held_for == b.held_for && a.occasional == b.occasional;
}

}  // namespace icegate

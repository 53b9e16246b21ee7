#include "gateway/policy/diagnostic_codes.hpp"

#include <array>
#include <ostream>
#include <stdexcept>
#include <string>

namespace icegate::policy {

namespace {

constexpr std::array kCodes = {
#define ICEGATE_DIAGNOSTIC_INFO(code, severity, title) CodeInfo{Code::code, #code, Severity::severity, title},
    ICEGATE_DIAGNOSTIC_CODES(ICEGATE_DIAGNOSTIC_INFO)
#undef ICEGATE_DIAGNOSTIC_INFO
};

// The table is indexed by the enum's value; this holds as long as the enum
// and the array are made from the same list, which the check below proves.
constexpr bool indexed_by_code() {
  for (std::size_t i = 0; i < kCodes.size(); ++i) {
    if (static_cast<std::size_t>(kCodes[i].code) != i) return false;
  }
  return true;
}
static_assert(indexed_by_code());

}  // namespace

std::span<const CodeInfo> all_codes() { return kCodes; }

const CodeInfo& info(Code code) { return kCodes[static_cast<std::size_t>(code)]; }

std::string_view to_string(Code code) { return info(code).name; }

std::ostream& operator<<(std::ostream& out, Code code) { return out << to_string(code); }

std::string_view to_string(Severity severity) { return severity == Severity::error ? "error" : "warning"; }

Severity severity_of(Code code) { return info(code).severity; }

std::optional<Code> code_from_string(std::string_view name) {
  for (const CodeInfo& entry : kCodes) {
    if (entry.name == name) return entry.code;
  }
  return std::nullopt;
}

Code with_letter(Code code, char letter) {
  std::string name(to_string(code));
  name.front() = letter;
  if (auto found = code_from_string(name)) return *found;
  throw std::logic_error("no diagnostic code " + name + " (the twin of " + std::string(to_string(code)) + ")");
}

}  // namespace icegate::policy

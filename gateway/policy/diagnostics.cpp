#include "gateway/policy/diagnostics.hpp"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

namespace icegate::policy {

std::string to_string(const SourceLocation& location) {
  // An unknown line or column is left out rather than printed as 0, so that
  // editors that jump to `file:line:col` never land on a line that does not exist.
  const std::string& file = location.file.empty() ? std::string("<input>") : location.file;
  if (location.line <= 0) return file;
  if (location.column <= 0) return fmt::format("{}:{}", file, location.line);
  return fmt::format("{}:{}:{}", file, location.line, location.column);
}

std::string to_string(const Diagnostic& diagnostic) {
  const char* severity = diagnostic.severity == Severity::error ? "error" : "warning";
  return fmt::format("{}: {}[{}]: {}", to_string(diagnostic.location), severity, diagnostic.code,
                     diagnostic.message);
}

void Diagnostics::error(std::string code, SourceLocation location, std::string message) {
  items_.push_back(Diagnostic{Severity::error, std::move(code), std::move(location), std::move(message)});
}

void Diagnostics::warning(std::string code, SourceLocation location, std::string message) {
  items_.push_back(Diagnostic{Severity::warning, std::move(code), std::move(location), std::move(message)});
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

bool Diagnostics::has_errors() const { return error_count() > 0; }

std::size_t Diagnostics::error_count() const {
  return static_cast<std::size_t>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
    return d.severity == Severity::error;
  }));
}

std::vector<Diagnostic> Diagnostics::sorted() const {
  std::vector<Diagnostic> result = items_;
  // Stable, so that two problems reported at the same place keep the order the
  // stage found them in (usually the more fundamental one first).
  std::stable_sort(result.begin(), result.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.location.file, a.location.line, a.location.column, a.code) <
           std::tie(b.location.file, b.location.line, b.location.column, b.code);
  });
  return result;
}

}  // namespace icegate::policy

#include "gateway/policy/diagnostics.hpp"

#include <algorithm>
#include <stdexcept>
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
  return fmt::format("{}: {}[{}]: {}", to_string(diagnostic.location), to_string(diagnostic.severity),
                     to_string(diagnostic.code), diagnostic.message);
}

namespace {

Diagnostic make(Severity expected, Code code, SourceLocation location, std::string message,
                DiagnosticDetails details) {
  if (severity_of(code) != expected) {
    throw std::logic_error(fmt::format("{} is a{} in the diagnostic table", to_string(code),
                                       expected == Severity::error ? " warning" : "n error"));
  }
  return Diagnostic{expected, code, std::move(location), std::move(message), std::move(details)};
}

}  // namespace

void Diagnostics::error(Code code, SourceLocation location, std::string message, DiagnosticDetails details) {
  items_.push_back(make(Severity::error, code, std::move(location), std::move(message), std::move(details)));
}

void Diagnostics::warning(Code code, SourceLocation location, std::string message, DiagnosticDetails details) {
  items_.push_back(make(Severity::warning, code, std::move(location), std::move(message), std::move(details)));
}

void Diagnostics::add(Diagnostic diagnostic) {
  diagnostic.severity = severity_of(diagnostic.code);
  items_.push_back(std::move(diagnostic));
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
    // By the code's name, not the enum's order, so letters sort as text.
    return std::tuple(std::tie(a.location.file, a.location.line, a.location.column), to_string(a.code)) <
           std::tuple(std::tie(b.location.file, b.location.line, b.location.column), to_string(b.code));
  });
  return result;
}

}  // namespace icegate::policy

// Source locations and diagnostics shared by every policy stage.
//
// Errors carry a stable code and a location and render as
// `file:line:col: severity[code]: message`. Stages collect every problem they
// find; nothing stops at the first one.
#pragma once

#include <string>
#include <vector>

namespace icegate::policy {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown

  friend auto operator<=>(const SourceLocation&, const SourceLocation&) = default;
};

std::string to_string(const SourceLocation& location);

enum class Severity { error, warning };

struct Diagnostic {
  Severity severity = Severity::error;
  std::string code;  // stable, e.g. "P011"; every code is documented in policies/README.md
  SourceLocation location;
  std::string message;
};

// "file:line:col: error[P011]: message"
std::string to_string(const Diagnostic& diagnostic);

class Diagnostics {
 public:
  void error(std::string code, SourceLocation location, std::string message);
  void warning(std::string code, SourceLocation location, std::string message);
  void append(const Diagnostics& other);

  bool has_errors() const;
  std::size_t error_count() const;
  // Sorted by file, line, column, then code: the order a reader scans a file in.
  std::vector<Diagnostic> sorted() const;
  const std::vector<Diagnostic>& all() const { return items_; }
  bool empty() const { return items_.empty(); }

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace icegate::policy

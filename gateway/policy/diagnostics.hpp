// Source locations and diagnostics shared by every policy stage.
//
// Errors carry a stable code and a location and render as
// `file:line:col: severity[code]: message`. Stages collect every problem they
// find; nothing stops at the first one.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gateway/policy/diagnostic_codes.hpp"

namespace icegate::policy {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown

  friend auto operator<=>(const SourceLocation&, const SourceLocation&) = default;
};

std::string to_string(const SourceLocation& location);

// What a diagnostic can say besides its message, as values a tool can use
// without reading the text: the nearest defined name ("did you mean"), the rule
// the problem is about, and another place that matters (where a duplicate was
// first defined, the rule that shadows another).
struct DiagnosticDetails {
  // Initialised, so that `{.rule = id}` names only what it sets.
  std::optional<std::string> suggestion = {};
  std::string rule = {};  // a rule id, or empty
  std::optional<SourceLocation> related = {};
};

struct Diagnostic {
  Severity severity = Severity::error;  // the code's severity in the table
  Code code = Code::P001;               // every code is documented (diagnostic_codes.hpp)
  SourceLocation location;
  std::string message;
  DiagnosticDetails details = {};
};

// "file:line:col: error[P011]: message"
std::string to_string(const Diagnostic& diagnostic);

class Diagnostics {
 public:
  // The severity is the code's own (diagnostic_codes.hpp); error() and
  // warning() say at the call which one it is, and refuse a code of the other
  // kind (std::logic_error), so the table and the emit sites cannot disagree.
  void error(Code code, SourceLocation location, std::string message, DiagnosticDetails details = {});
  void warning(Code code, SourceLocation location, std::string message, DiagnosticDetails details = {});
  // Keeps the code's severity: for passing on diagnostics another stage found.
  void add(Diagnostic diagnostic);
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

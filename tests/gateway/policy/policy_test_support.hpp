// Helpers shared by the policy tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "gateway/policy/engine.hpp"

namespace icegate::policy::testing {

// Every diagnostic, sorted and rendered as `file:line:col: severity[code]: message`.
inline std::vector<std::string> rendered(const Diagnostics& diagnostics) {
  std::vector<std::string> lines;
  for (const Diagnostic& diagnostic : diagnostics.sorted()) lines.push_back(to_string(diagnostic));
  return lines;
}

// A diagnostic's code and place, without its text: what most tests assert,
// so that rewording a message for the analysts breaks no test. A few tests
// keep the rendered text, which is what analysts read.
struct Found {
  Code code;
  int line = 0;
  int column = 0;

  friend bool operator==(const Found&, const Found&) = default;
  friend std::ostream& operator<<(std::ostream& out, const Found& found) {
    return out << found.code << " at " << found.line << ":" << found.column;
  }
};

// Every diagnostic's code and place, sorted as reported.
inline std::vector<Found> found(const Diagnostics& diagnostics) {
  std::vector<Found> result;
  for (const Diagnostic& d : diagnostics.sorted()) result.push_back({d.code, d.location.line, d.location.column});
  return result;
}

// Every diagnostic's code, sorted as reported.
inline std::vector<Code> codes(const Diagnostics& diagnostics) {
  std::vector<Code> result;
  for (const Diagnostic& d : diagnostics.sorted()) result.push_back(d.code);
  return result;
}

inline std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

// A fresh directory under the system temporary directory, removed on destruction.
class TempDir {
 public:
  explicit TempDir(std::string_view name)
      : path_(std::filesystem::temp_directory_path() /
              (std::string("icegate-policy-") + std::string(name) + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  std::filesystem::path write(const std::string& relative, std::string_view text) const {
    std::filesystem::path file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary);
    out << text;
    return file;
  }

 private:
  std::filesystem::path path_;
};

// A small scheme for inline policies: LOW < MID < HIGH, one set of each type.
inline constexpr std::string_view kSmallScheme = R"(scheme:
  scheme: small
  classifications:
    - name: LOW
    - name: MID
      marking: MIDDLING
    - name: HIGH
  tag_sets:
    - name: caveats
      type: restrictive
      categories:
        - name: EYES
          excluded_at: [LOW]
        - name: EARS
    - name: releasable
      type: permissive
      categories:
        - name: REL A
          marking: "REL TO A"
        - name: REL B
          marking: "REL TO B"
    - name: descriptors
      type: informative
      categories:
        - name: PERSONAL
          requires: [EYES]
)";

// Loads `body` (everything after the scheme) as an inline-scheme policy and
// fails the test on any diagnostic.
inline std::shared_ptr<const CompiledPolicy> load_inline(std::string_view body,
                                                         std::string_view name = "inline.yaml") {
  std::string text = std::string("policy: inline\n") + std::string(kSmallScheme) + std::string(body);
  LoadResult result = load_policy_text(text, std::string(name));
  if (!result.diagnostics.empty() || !result.policy) {
    ADD_FAILURE() << "policy did not load cleanly:\n" << joined(rendered(result.diagnostics));
  }
  return result.policy;
}

}  // namespace icegate::policy::testing

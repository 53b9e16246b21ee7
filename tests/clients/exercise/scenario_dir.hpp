// A scenario file next to a copy of tests/data/handling-policy.yaml, so that
// `policy: policies/handling.yaml` resolves, for tests that load, check or run
// small scenarios.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/support/temporary_directory.hpp"

namespace icegate::exercise::testing {

inline std::filesystem::path source_file(const std::string& relative) {
  return std::filesystem::path(ICEGATE_SOURCE_DIR) / relative;
}

class ScenarioDir {
 public:
  ScenarioDir() {
    std::filesystem::create_directories(dir_.path() / "policies/schemes");
    std::filesystem::copy_file(source_file("policies/schemes/gpms-2008.yaml"),
                               dir_.path() / "policies/schemes/gpms-2008.yaml");
    std::string policy = read(source_file("tests/data/handling-policy.yaml"));
    policy.replace(policy.find("../../policies/schemes/"), std::string("../../policies/schemes/").size(), "schemes/");
    write("policies/handling.yaml", policy);
  }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_.path() / name, std::ios::binary) << text;
    return dir_.path() / name;
  }
  std::filesystem::path operator/(const std::string& name) const { return dir_.path() / name; }
  static std::string read(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  icegate::testing::TemporaryDirectory dir_;
};

// "line:col" (1-based) of the first occurrence of `needle` in `text`.
inline std::string position_of(const std::string& text, const std::string& needle) {
  const auto at = text.find(needle);
  if (at == std::string::npos) return "?:?";
  const auto line_start = text.rfind('\n', at);
  const std::size_t column = at - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
  const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
  return std::to_string(line) + ":" + std::to_string(column);
}

}  // namespace icegate::exercise::testing

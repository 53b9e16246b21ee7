// Output helpers the `icegate policy` commands share (policy_output.hpp).
#include "tools/icegate/policy_output.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/policy/check.hpp"

namespace icegate::cli {

using policy::json_string;

void print_diagnostics(std::ostream& out, const policy::Diagnostics& diagnostics) {
  for (const policy::Diagnostic& diagnostic : diagnostics.sorted()) fmt::print(out, "{}\n", to_string(diagnostic));
}

std::string json_diagnostics(const policy::Diagnostics& diagnostics) {
  std::string json = "[";
  bool first = true;
  for (const policy::Diagnostic& diagnostic : diagnostics.sorted()) {
    if (!first) json += ",";
    first = false;
    json += policy::to_json(diagnostic);
  }
  return json + "]";
}

std::string json_strings(const std::vector<std::string>& items) {
  std::string json = "[";
  for (std::size_t i = 0; i < items.size(); ++i) json += (i ? "," : "") + json_string(items[i]);
  return json + "]";
}

std::string counted(std::size_t count, std::string_view noun) {
  return fmt::format("{} {}{}", count, noun, count == 1 ? "" : "s");
}

}  // namespace icegate::cli

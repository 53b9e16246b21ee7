// Output helpers the `icegate policy` commands share (policy_output.hpp).
#include "tools/icegate/policy_output.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/policy/check.hpp"

namespace icegate::cli {


void print_diagnostics(std::ostream& out, const policy::Diagnostics& diagnostics) {
  for (const policy::Diagnostic& diagnostic : diagnostics.sorted()) fmt::print(out, "{}\n", to_string(diagnostic));
}

std::string counted(std::size_t count, std::string_view noun) {
  return fmt::format("{} {}{}", count, noun, count == 1 ? "" : "s");
}

bool is_readable_file(const std::filesystem::path& file) {
  std::error_code ignored;
  return std::filesystem::is_regular_file(file, ignored);
}

}  // namespace icegate::cli

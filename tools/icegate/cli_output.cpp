#include "tools/icegate/cli_output.hpp"

#include <fstream>

#include <fmt/format.h>
#include <fmt/ostream.h>

namespace icegate::cli {

void print_error(std::ostream& err, std::string_view message) { fmt::print(err, "error: {}\n", message); }

bool write_output(const std::filesystem::path& output, const std::string& text, std::ostream& out, std::ostream& err) {
  if (output.empty()) {
    out << text;
    return true;
  }
  std::ofstream file(output, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) {
    print_error(err, fmt::format("cannot write {}", output.string()));
    return false;
  }
  return true;
}

}  // namespace icegate::cli

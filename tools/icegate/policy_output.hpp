// Helpers the `icegate policy` commands share: errors and diagnostics as
// lines, counted nouns, and whether a file argument is there to read. (Their
// JSON: policy::to_json and json::strings.)
#pragma once

#include <cstddef>
#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/policy/diagnostics.hpp"
#include "tools/icegate/cli_output.hpp"

namespace icegate::cli {

// One `file:line:col: severity[code]: message` line per diagnostic, sorted.
void print_diagnostics(std::ostream& out, const policy::Diagnostics& diagnostics);
// "1 warning", "2 errors"
std::string counted(std::size_t count, std::string_view noun);
// Whether `file` is a regular file (following links); false, not an
// exception, when it cannot be examined.
bool is_readable_file(const std::filesystem::path& file);

}  // namespace icegate::cli

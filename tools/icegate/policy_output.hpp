// Output helpers the `icegate policy` commands share: diagnostics as lines or
// as a JSON array, a JSON array of strings, and counted nouns.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/policy/diagnostics.hpp"

namespace icegate::cli {

// One `file:line:col: severity[code]: message` line per diagnostic, sorted.
void print_diagnostics(std::ostream& out, const policy::Diagnostics& diagnostics);
// The diagnostics, sorted, as a JSON array.
std::string json_diagnostics(const policy::Diagnostics& diagnostics);
// ["a","b"]
std::string json_strings(const std::vector<std::string>& items);
// "1 warning", "2 errors"
std::string counted(std::size_t count, std::string_view noun);

}  // namespace icegate::cli

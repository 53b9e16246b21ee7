// Output helpers the `icegate policy` commands share: diagnostics as lines
// and counted nouns. (Their JSON: policy::to_json and json::strings.)
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
// "1 warning", "2 errors"
std::string counted(std::size_t count, std::string_view noun);

}  // namespace icegate::cli

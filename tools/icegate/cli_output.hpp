// What every `icegate` subcommand writes the same way: an error line, and a
// result written to a file (--out) or to standard output. A library of its
// own so that the tests that compile one subcommand's file directly
// (cli_pki_test, cli_audit_test, shadow_test) link it without the rest.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>

namespace icegate::cli {

// "error: MESSAGE" on a line of its own.
void print_error(std::ostream& err, std::string_view message);
// Writes `text` to `output`, or to `out` when no file is given. False, with
// "error: cannot write FILE" on `err`, when the file cannot be written.
bool write_output(const std::filesystem::path& output, const std::string& text, std::ostream& out, std::ostream& err);

}  // namespace icegate::cli

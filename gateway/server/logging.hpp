// The gateway's log: one line per event, whatever a node puts in the text it
// sends. Every message is passed through text::printable before it is
// formatted, so a newline or an escape sequence in a Hello's software
// version, an Error's text or a refused name cannot forge a log line or
// reach the reader's terminal.
#pragma once

#include <memory>
#include <string>

#include <spdlog/formatter.h>
#include <spdlog/logger.h>

namespace icegate::server {

// The pattern `icegate serve` logs with: time, level, message.
inline constexpr const char* log_pattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v";

// A formatter that escapes each message (not the pattern around it).
std::unique_ptr<spdlog::formatter> safe_log_formatter(std::string pattern = log_pattern);

// Makes `logger` the default one, escaping every message, at `level`
// ("info", "debug", ...).
void install_logger(std::shared_ptr<spdlog::logger> logger, const std::string& level);

}  // namespace icegate::server

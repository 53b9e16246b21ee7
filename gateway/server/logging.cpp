#include "gateway/server/logging.hpp"

#include <string_view>

#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include "gateway/model/printable.hpp"

namespace icegate::server {

namespace {

class SafeFormatter final : public spdlog::formatter {
 public:
  explicit SafeFormatter(std::string pattern)
      : pattern_(std::move(pattern)), inner_(std::make_unique<spdlog::pattern_formatter>(pattern_)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (text::is_printable(payload)) return inner_->format(msg, dest);
    const std::string safe = text::printable(payload);
    spdlog::details::log_msg escaped(msg);
    escaped.payload = spdlog::string_view_t(safe.data(), safe.size());
    inner_->format(escaped, dest);
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<SafeFormatter>(pattern_); }

 private:
  std::string pattern_;
  std::unique_ptr<spdlog::pattern_formatter> inner_;
};

}  // namespace

std::unique_ptr<spdlog::formatter> safe_log_formatter(std::string pattern) {
  return std::make_unique<SafeFormatter>(std::move(pattern));
}

void install_logger(std::shared_ptr<spdlog::logger> logger, const std::string& level) {
  logger->set_formatter(safe_log_formatter());
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace icegate::server

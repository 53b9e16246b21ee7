#include "gateway/wire/error_frame.hpp"

#include <string_view>
#include <utility>

namespace icegate::wire {

v1::Frame error_frame(v1::ErrorCode code, std::string text, bool fatal, std::string message_id) {
  v1::Frame frame;
  auto* error = frame.mutable_error();
  error->set_code(code);
  error->set_message(std::move(text));
  error->set_fatal(fatal);
  error->set_message_id(std::move(message_id));
  return frame;
}

std::string error_code_name(v1::ErrorCode code) {
  std::string name = v1::ErrorCode_Name(code);
  constexpr std::string_view prefix = "ERROR_CODE_";
  return name.starts_with(prefix) ? name.substr(prefix.size()) : name;
}

}  // namespace icegate::wire

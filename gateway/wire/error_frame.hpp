// The Error frame, built in one place for the gateway's node sessions and its
// peer links, and an error code as logs and audit records name it.
#pragma once

#include <string>

#include "icegate/v1/icegate.pb.h"

namespace icegate::wire {

v1::Frame error_frame(v1::ErrorCode code, std::string text, bool fatal, std::string message_id = {});

// "NOT_PERMITTED" for ERROR_CODE_NOT_PERMITTED.
std::string error_code_name(v1::ErrorCode code);

}  // namespace icegate::wire

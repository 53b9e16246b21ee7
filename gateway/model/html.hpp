// Text for HTML: the one escaper the generated reports (exercise after-action
// reports, policy matrices) use for text and attribute values.
#pragma once

#include <string>
#include <string_view>

namespace icegate::html {

// & < > " ' as character references; everything else as it is.
std::string escape(std::string_view text);

}  // namespace icegate::html

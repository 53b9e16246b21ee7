// A file compiled into the binary by gateway/http/embed_assets.cmake, so that
// an installed icegate reads nothing from the source tree. Each embedded set
// (the dashboard's page, the exercise consoles, the report's and the policy
// pages' templates) is a sorted span of these, returned by its namespace's
// embedded_assets().
#pragma once

#include <string_view>

namespace icegate {

struct EmbeddedFile {
  std::string_view name;  // path relative to the set's folder, '/'-separated: "app.js", "run.html.mustache"
  std::string_view body;  // the bytes, as they are in the file
};

}  // namespace icegate

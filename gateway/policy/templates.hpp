// The policy pages' templates (gateway/policy/templates/), embedded in the
// binary at build time by gateway/http/embed_assets.cmake, so that an installed
// icegate reads nothing from the source tree.
#pragma once

#include <span>
#include <string_view>

namespace icegate::policy::templates {

struct Asset {
  std::string_view name;  // file name under templates/: "matrix.html.mustache"
  std::string_view body;
};

// Every embedded template, sorted by name (generated: policy_templates.cpp in the build tree).
std::span<const Asset> embedded_assets();

}  // namespace icegate::policy::templates

// The after-action report's templates (clients/exercise/templates/), embedded
// in the binary at build time by gateway/http/embed_assets.cmake, so that an
// installed icegate reads nothing from the source tree.
#pragma once

#include <span>

#include "gateway/model/embedded_file.hpp"

namespace icegate::exercise::templates {

using Asset = EmbeddedFile;

// Every embedded template, sorted by name (generated: report_templates.cpp in the build tree).
std::span<const Asset> embedded_assets();

}  // namespace icegate::exercise::templates

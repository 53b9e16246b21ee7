// The consoles' files (clients/exercise/host/web/: player.html,
// facilitator.html, evaluator.html and their scripts), embedded at build time
// by gateway/http/embed_assets.cmake as the dashboard's are: nothing is read
// from disk or fetched at run time.
#pragma once

#include <span>
#include <string_view>

#include "gateway/http/assets.hpp"

namespace icegate::exercise::host {

using Asset = http::Asset;

// Every embedded file, sorted by name (generated: host_web_assets.cpp in the build tree).
std::span<const Asset> embedded_assets();
// The file called `name`, or null. Names with "..", a leading '/' or a backslash are never found.
const Asset* find_asset(std::string_view name);

}  // namespace icegate::exercise::host

// The page's files (gateway/http/web/), embedded in the binary at build time
// by gateway/http/embed_assets.cmake: nothing is read from disk or fetched at
// run time.
#pragma once

#include <span>
#include <string_view>

#include "gateway/model/embedded_file.hpp"

namespace icegate::http {

using Asset = EmbeddedFile;  // name: relative to web/, "app.js", "vendor/x.js"

// Every embedded file, sorted by name (generated: web_assets.cpp in the build tree).
std::span<const Asset> embedded_assets();
// The file called `name`, or null. Names with "..", a leading '/' or a backslash are never found.
const Asset* find_asset(std::string_view name);
// The same in another embedded set (sorted by name), such as the exercise host's consoles.
const Asset* find_asset(std::span<const Asset> assets, std::string_view name);
// By extension; application/octet-stream when unknown.
std::string_view content_type_for(std::string_view name);

}  // namespace icegate::http

#include "gateway/http/assets.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace icegate::http {

const Asset* find_asset(std::string_view name) { return find_asset(embedded_assets(), name); }

const Asset* find_asset(std::span<const Asset> assets, std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos ||
      name.find('\\') != std::string_view::npos)
    return nullptr;
  const auto it = std::lower_bound(assets.begin(), assets.end(), name,
                                   [](const Asset& asset, std::string_view wanted) { return asset.name < wanted; });
  return it != assets.end() && it->name == name ? &*it : nullptr;
}

std::string_view content_type_for(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> types{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"},
      {".webp", "image/webp"},
      {".jpg", "image/jpeg"},
  }};
  for (const auto& [extension, type] : types)
    if (name.size() > extension.size() && name.ends_with(extension)) return type;
  return "application/octet-stream";
}

}  // namespace icegate::http

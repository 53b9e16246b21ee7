#include "clients/exercise/host/assets.hpp"

#include <algorithm>

namespace icegate::exercise::host {

const Asset* find_asset(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos ||
      name.find('\\') != std::string_view::npos)
    return nullptr;
  const auto assets = embedded_assets();
  const auto it = std::lower_bound(assets.begin(), assets.end(), name,
                                   [](const Asset& asset, std::string_view wanted) { return asset.name < wanted; });
  return it != assets.end() && it->name == name ? &*it : nullptr;
}

}  // namespace icegate::exercise::host

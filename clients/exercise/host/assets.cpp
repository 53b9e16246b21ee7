#include "clients/exercise/host/assets.hpp"

namespace icegate::exercise::host {

const Asset* find_asset(std::string_view name) { return http::find_asset(embedded_assets(), name); }

}  // namespace icegate::exercise::host

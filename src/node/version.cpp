#include <warpgate/version.hpp>

namespace warpgate {

std::string_view version() noexcept { return WARPGATE_VERSION_STRING; }

}  // namespace warpgate

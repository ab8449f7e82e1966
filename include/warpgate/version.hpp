// The warpgate version, from project(VERSION) in CMakeLists.txt (checked at configure time:
// a project(VERSION) change must be made here too).
#pragma once
#include <string_view>

#define WARPGATE_VERSION_MAJOR 0
#define WARPGATE_VERSION_MINOR 1
#define WARPGATE_VERSION_PATCH 0
#define WARPGATE_VERSION_STRING "0.1.0"

namespace warpgate {
// The version of the library linked in (the macros above are the headers' version).
std::string_view version() noexcept;
}  // namespace warpgate

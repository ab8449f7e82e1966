// Where the library's log lines go. By default a logger named "warpgate" writing to stderr
// (stdout stays the application's), registered with spdlog so spdlog::set_level() and
// spdlog::set_pattern() reach it; a logger the application registered under that name first
// is used as it is.
#pragma once
#include <memory>
#include <spdlog/logger.h>

namespace warpgate {

// The logger every library message goes to.
std::shared_ptr<spdlog::logger> logger();
// Sends every later library message to `replacement` (its sinks, level and pattern);
// nullptr restores the default.
void set_logger(std::shared_ptr<spdlog::logger> replacement);

}  // namespace warpgate

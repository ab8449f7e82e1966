// The library's log calls: spdlog's free functions, but on warpgate::logger() (warpgate/log.hpp)
// instead of spdlog's default logger, which writes to stdout.
#pragma once
#include <spdlog/spdlog.h>
#include <utility>
#include <warpgate/log.hpp>

namespace warpgate::log {

template <typename... Args>
void debug(spdlog::format_string_t<Args...> format, Args&&... args) {
    logger()->debug(format, std::forward<Args>(args)...);
}
template <typename... Args>
void info(spdlog::format_string_t<Args...> format, Args&&... args) {
    logger()->info(format, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(spdlog::format_string_t<Args...> format, Args&&... args) {
    logger()->warn(format, std::forward<Args>(args)...);
}

}  // namespace warpgate::log

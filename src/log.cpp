#include <atomic>
#include <mutex>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <warpgate/log.hpp>

namespace warpgate {
namespace {

constexpr const char* logger_name = "warpgate";

std::shared_ptr<spdlog::logger> default_logger() {
    static std::mutex creating;
    std::lock_guard lock(creating);
    if (auto existing = spdlog::get(logger_name)) return existing;
    auto created = std::make_shared<spdlog::logger>(logger_name, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    spdlog::initialize_logger(created);  // the registry's level and pattern, and registered
    return created;
}

// Read on every log call from any thread, replaced rarely: an atomic shared_ptr keeps a logger
// alive while a message is written to it during set_logger().
std::atomic<std::shared_ptr<spdlog::logger>>& current() {
    static std::atomic<std::shared_ptr<spdlog::logger>> held{default_logger()};
    return held;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger() { return current().load(std::memory_order_acquire); }

void set_logger(std::shared_ptr<spdlog::logger> replacement) {
    current().store(replacement ? std::move(replacement) : default_logger(), std::memory_order_release);
}

}  // namespace warpgate

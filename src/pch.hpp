// Precompiled header: the heavy, stable headers every translation unit pays for.
#pragma once
#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <tl/expected.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

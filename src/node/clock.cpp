#include "node/clock.hpp"

namespace warpgate::node {
namespace {

// RFC 5905 §7.3 / Appendix A: the frequency tolerance φ = 15 ppm.
constexpr double phi = 15e-6;

}  // namespace

ClockOptions clock_options(const NodeConfig& conf) {
    ClockOptions o;
    o.servers = conf.ntp_servers;
    o.sntp.timeout = conf.ntp_timeout;
    // Three transmissions fit the budget (at 0, 1/6 and 1/2 of it); the last has half to answer.
    o.sntp.rto = std::max(std::chrono::milliseconds(1), conf.ntp_timeout / 6);
    o.max_age = conf.clock_max_age;
    o.injected_offset = std::chrono::milliseconds(conf.inject_clock_offset_ms);
    return o;
}

Clock::Clock(ClockOptions options) : options_(std::move(options)) {
    auto injected = options_.injected_offset;
    options_.sntp.local_clock = [injected] { return ntp::WallTime(std::chrono::system_clock::now()) + injected; };
}

ntp::WallTime Clock::local_now() const { return options_.sntp.local_clock(); }

ntp::WallTime Clock::now() const { return local_now() + offset(); }

std::optional<ntp::Duration> Clock::uncertainty() const {
    if (!measurement_) return std::nullopt;
    auto age = std::chrono::duration<double>(steady_now() - measurement_->measured).count();
    return measurement_->uncertainty + std::chrono::duration_cast<ntp::Duration>(std::chrono::duration<double>(age * phi));
}

bool Clock::fresh() const { return measurement_ && steady_now() - measurement_->measured < options_.max_age; }

asio::awaitable<Result<sntp::Measurement>> Clock::sync(asio::any_io_executor executor, bool force) {
    if (!force && fresh()) co_return *measurement_;
    auto measured = co_await sntp::measure(executor, options_.servers, options_.sntp);
    if (measured) measurement_ = *measured;
    last_error_ = measured ? "" : measured.error().message;
    co_return measured;
}

}  // namespace warpgate::node

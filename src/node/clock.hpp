// The node's clock: steady time for intervals, and wall time corrected by SNTP
// (proto/sntp_client.hpp) for what two machines must agree on (when to punch). The
// measurement is cached and refreshed by sync() once it is older than max_age; between
// measurements the uncertainty grows by RFC 5905's φ, 15 ppm of the measurement's age (the
// drift a crystal may have). Depends on no node internals: a plugin context can hand it out.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>
#include <warpgate/config.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>
#include "proto/sntp_client.hpp"

namespace warpgate::node {

struct ClockOptions {
    std::vector<HostPort> servers;
    sntp::Options sntp;  // its local_clock is the Clock's own
    std::chrono::milliseconds max_age{std::chrono::minutes(15)};
    // Test only: added to every reading of the system clock, so a test can prove that the
    // measured offset corrects it (the machine's real clock is never touched).
    ntp::Duration injected_offset{0};
};

// The clock a NodeConfig describes: ntp_servers, ntp_timeout, clock_max_age, inject_clock_offset_ms.
ClockOptions clock_options(const NodeConfig& conf);

class Clock {
public:
    explicit Clock(ClockOptions options = {});

    static std::chrono::steady_clock::time_point steady_now() { return std::chrono::steady_clock::now(); }
    // The machine's wall clock as this process reads it (with the injected offset).
    ntp::WallTime local_now() const;
    // local_now() + the measured offset; local_now() until a measurement exists.
    ntp::WallTime now() const;
    ntp::Duration offset() const { return measurement_ ? measurement_->offset : ntp::Duration::zero(); }
    // The bound on |now() - true time|: the measurement's, grown by 15 ppm of its age;
    // nullopt before any measurement.
    std::optional<ntp::Duration> uncertainty() const;

    const std::optional<sntp::Measurement>& measurement() const { return measurement_; }
    // A measurement younger than max_age exists.
    bool fresh() const;
    const ClockOptions& options() const { return options_; }
    // Why the last sync() failed; empty after a success.
    const std::string& last_error() const { return last_error_; }

    // Measures unless the cached measurement is fresh (force: always) and returns the one in
    // use. A failed measurement keeps the previous one and returns the error.
    asio::awaitable<Result<sntp::Measurement>> sync(asio::any_io_executor executor, bool force = false);

private:
    ClockOptions options_;
    std::optional<sntp::Measurement> measurement_;
    std::string last_error_;
};

}  // namespace warpgate::node

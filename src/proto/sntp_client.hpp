// SNTP client (RFC 4330 / RFC 5905 client mode) over UDP: asks several servers in parallel,
// a short burst of samples each, keeps each server's lowest-delay sample, rejects outliers
// and takes the median offset with an error bound. docs/clock.md gives the arithmetic.
// Every wait is bounded by Options::timeout and stops when the caller is cancelled.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>
#include "proto/ntp.hpp"

namespace warpgate::sntp {

struct Options {
    // Per server, everything included (resolution, every sample and retransmission); the
    // servers run in parallel, so this bounds the whole measurement.
    std::chrono::milliseconds timeout{1500};
    // A request unanswered this long is sent again (with a new cookie); the interval doubles.
    std::chrono::milliseconds rto{250};
    // Samples per server, sent back to back (a burst like ntpd's iburst, without its 2 s
    // gaps). A server that rate-limits may drop or kiss later ones: what arrived is kept.
    int samples = 3;
    // Outlier rule: a server whose offset is farther from the median than outlier_mads * MAD
    // plus its own error bound plus the largest error bound of any server.
    double outlier_mads = 3.0;
    // The local wall clock the offset is measured against (Clock passes an injected skew).
    std::function<ntp::WallTime()> local_clock;
};

// One valid exchange with a server (RFC 5905 §8).
struct Sample {
    ntp::Duration offset{0};         // θ: add to the local clock to read the server's
    ntp::Duration delay{0};          // δ: round trip less the server's holding time
    ntp::Duration root_distance{0};  // the server's own error bound: root delay / 2 + root dispersion
    int stratum = 0;
    ntp::Duration error_bound() const { return delay / 2 + root_distance; }
};

struct ServerOutcome {
    HostPort server;
    std::optional<Endpoint> endpoint;  // as resolved
    std::optional<Sample> best;        // the lowest-delay sample; none: see error
    int samples = 0;                   // valid replies
    int requests = 0;                  // datagrams sent
    bool outlier = false;              // answered, but left out of the median
    std::string error;                 // why there is no sample, or why the burst ended early
    std::string describe() const;      // "127.0.0.1:123: offset +0.012 ms, delay 0.051 ms, stratum 8"
};

struct Measurement {
    ntp::Duration offset{0};       // median offset of the servers kept
    ntp::Duration uncertainty{0};  // max over kept servers of δ/2 + root distance, plus the largest distance from the median
    std::size_t used = 0;          // servers in the median
    std::vector<ServerOutcome> servers;
    ntp::WallTime local_time;      // the local clock (as Options::local_clock reads it) at the end
    std::chrono::steady_clock::time_point measured;
    // "offset +12.3 ms ± 0.4 ms from 3 of 3 servers"
    std::string describe() const;
};

// Asks every server at once. Errc::unreachable when none gave a sample (the message names
// each server's reason), Errc::cancelled when the caller was cancelled, Errc::config for an
// empty list.
asio::awaitable<Result<Measurement>> measure(asio::any_io_executor executor, std::vector<HostPort> servers, Options options);

// The pure part of measure(): outliers marked, the median and its uncertainty. Needs at
// least one server with a sample.
Result<Measurement> combine(std::vector<ServerOutcome> servers, double outlier_mads);

// "+12.345 ms" with a sign.
std::string format_ms(ntp::Duration d);

}  // namespace warpgate::sntp

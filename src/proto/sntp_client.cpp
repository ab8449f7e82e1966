#include "proto/sntp_client.hpp"

#include <algorithm>
#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cmath>
#include <fmt/format.h>
#include <span>
#include "log.hpp"

namespace warpgate::sntp {
namespace {

using namespace asio::experimental::awaitable_operators;
using Steady = std::chrono::steady_clock;
using asio::ip::udp;
constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

Error io_error(const asio::error_code& ec, std::string_view what) {
    if (ec == asio::error::operation_aborted) return {Errc::cancelled, fmt::format("{}: cancelled", what)};
    if (ec == asio::error::connection_refused) return {Errc::refused, fmt::format("{}: nothing listens there (port unreachable)", what)};
    return {Errc::io, fmt::format("{}: {}", what, ec.message())};
}

double ms(ntp::Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Datagrams thrown away while waiting, so a timeout can say why nothing was accepted (a
// hostile or confused server is told apart from a silent one).
struct Ignored {
    int count = 0;
    std::string last_reason;
    void add(std::string reason) {
        ++count;
        last_reason = std::move(reason);
    }
    std::string describe() const {
        return count == 0 ? "" : fmt::format(" (ignored {} replies, last: {})", count, last_reason);
    }
};

// One datagram, or nullopt when the deadline passes first.
asio::awaitable<Result<std::optional<std::size_t>>> receive_until(udp::socket& socket, asio::mutable_buffer buffer,
                                                                  Steady::time_point deadline, std::string_view what) {
    asio::steady_timer timer(socket.get_executor(), deadline);
    auto first = co_await (socket.async_receive(buffer, as_tuple_awaitable) || timer.async_wait(as_tuple_awaitable));
    if (first.index() == 1) {
        auto [ec] = std::get<1>(first);
        if (ec) co_return tl::unexpected(io_error(ec, what));
        co_return std::optional<std::size_t>{};
    }
    auto [ec, size] = std::get<0>(first);
    if (ec) co_return tl::unexpected(io_error(ec, what));
    co_return std::optional<std::size_t>{size};
}

// IP literals directly; names by the system resolver (any family, the first answer).
asio::awaitable<Result<Endpoint>> resolve(asio::any_io_executor executor, const HostPort& server, Steady::time_point deadline) {
    asio::error_code ec;
    auto literal = asio::ip::make_address(server.host, ec);
    if (!ec) co_return Endpoint{literal, server.port};
    udp::resolver resolver(executor);
    asio::steady_timer timer(executor, deadline);
    auto first = co_await (resolver.async_resolve(server.host, std::to_string(server.port), as_tuple_awaitable) ||
                           timer.async_wait(as_tuple_awaitable));
    if (first.index() == 1) co_return fail(Errc::timeout, fmt::format("resolving {} timed out", server.host));
    auto [resolve_ec, results] = std::get<0>(first);
    if (resolve_ec) co_return tl::unexpected(io_error(resolve_ec, "resolving " + server.host));
    if (results.empty()) co_return fail(Errc::unreachable, fmt::format("{} has no address", server.host));
    auto e = results.begin()->endpoint();
    co_return Endpoint{e.address(), e.port()};
}

struct Pending {
    ntp::Timestamp cookie;
    ntp::WallTime sent;  // t1
};

// One sample: a request, sent again with a fresh cookie every RTO (doubling), until a valid
// reply to any of them or the deadline. A reply that answers one of our requests but fails
// the checks (kiss-o'-death, bad mode, unsynchronised) ends the sample with its reason;
// datagrams that answer none of them are ignored.
asio::awaitable<Result<Sample>> take_sample(udp::socket& socket, const Options& options, Steady::time_point deadline,
                                            ServerOutcome& out) {
    auto what = fmt::format("NTP to {}", out.endpoint->to_string());
    std::vector<Pending> pending;
    std::array<std::uint8_t, 512> buffer;  // longer datagrams are cut and fail the size check
    Ignored ignored;
    auto interval = options.rto;
    auto started = Steady::now();
    auto next_send = started;
    for (;;) {
        if (Steady::now() >= next_send) {
            auto cookie = ntp::random_cookie();
            auto request = ntp::encode_request(cookie);
            pending.push_back({cookie, options.local_clock()});
            auto [send_ec, sent] = co_await socket.async_send(asio::buffer(request), as_tuple_awaitable);
            if (send_ec) co_return tl::unexpected(io_error(send_ec, what));
            ++out.requests;
            next_send = Steady::now() + interval;
            interval *= 2;
        }
        auto received = co_await receive_until(socket, asio::buffer(buffer), std::min(next_send, deadline), what);
        auto t4 = options.local_clock();
        if (!received) co_return tl::unexpected(received.error());
        if (!*received) {
            if (Steady::now() >= deadline) break;
            continue;
        }
        auto packet = ntp::decode(ByteView(buffer.data(), **received));
        if (!packet) {
            ignored.add(packet.error().message);
            continue;
        }
        auto answered = std::find_if(pending.begin(), pending.end(), [&](const Pending& p) { return p.cookie == packet->origin; });
        if (answered == pending.end()) {
            ignored.add(ntp::check_reply(*packet, pending.back().cookie).error().message);
            continue;
        }
        auto reply = ntp::check_reply(*packet, answered->cookie);
        if (!reply) co_return tl::unexpected(reply.error());
        auto e = ntp::exchange(answered->sent, *reply, t4);
        co_return Sample{ntp::offset(e), ntp::delay(e), reply->root_delay / 2 + reply->root_dispersion, reply->stratum};
    }
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - started);
    co_return fail(Errc::timeout, fmt::format("no valid reply after {} requests over {} ms{}", pending.size(), waited.count(),
                                              ignored.describe()));
}

// One server: resolution, then a burst of samples within options.timeout. The first sample
// may use the whole budget (retransmissions); once one arrived, a later one gets two RTOs,
// so a lost packet does not hold up a measurement that already has a result.
asio::awaitable<void> ask(asio::any_io_executor executor, const Options& options, ServerOutcome& out) {
    auto deadline = Steady::now() + options.timeout;
    auto endpoint = co_await resolve(executor, out.server, deadline);
    if (!endpoint) {
        out.error = endpoint.error().message;
        co_return;
    }
    out.endpoint = *endpoint;
    udp::socket socket(executor);
    asio::error_code ec;
    socket.open(endpoint->ip.is_v6() ? udp::v6() : udp::v4(), ec);
    // Connected: the kernel drops datagrams from any other source, and a closed port shows
    // as ICMP port unreachable instead of a silent timeout.
    if (!ec) socket.connect({endpoint->ip, endpoint->port}, ec);
    if (ec) {
        out.error = io_error(ec, "NTP socket").message;
        co_return;
    }
    for (int n = 0; n < options.samples; ++n) {
        auto sample_deadline = n == 0 ? deadline : std::min(deadline, Steady::now() + 2 * options.rto);
        auto sample = co_await take_sample(socket, options, sample_deadline, out);
        if (!sample) {
            out.error = sample.error().message;
            break;
        }
        ++out.samples;
        if (!out.best || sample->delay < out.best->delay) out.best = *sample;
    }
    if (out.best && !out.error.empty()) log::debug("ntp: {}: burst ended after {} samples: {}", out.server.to_string(), out.samples, out.error);
    if (out.best) out.error.clear();
}

// Every server at once: a chain of awaitable && over a list whose length is known only at
// run time; cancelling the caller cancels every branch.
asio::awaitable<void> ask_all(asio::any_io_executor executor, const Options& options, std::span<ServerOutcome> outcomes) {
    if (outcomes.empty()) co_return;
    if (outcomes.size() == 1) {
        co_await ask(executor, options, outcomes.front());
        co_return;
    }
    co_await (ask(executor, options, outcomes.front()) && ask_all(executor, options, outcomes.subspan(1)));
}

ntp::Duration median(std::vector<ntp::Duration> values) {
    std::sort(values.begin(), values.end());
    auto n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

std::string format_ms(ntp::Duration d) { return fmt::format("{:+.3f} ms", ms(d)); }

std::string ServerOutcome::describe() const {
    if (!best) return fmt::format("{}: {}", server.to_string(), error);
    return fmt::format("{}: offset {}, delay {:.3f} ms, stratum {}{}", server.to_string(), format_ms(best->offset), ms(best->delay),
                       best->stratum, outlier ? " (outlier)" : "");
}

std::string Measurement::describe() const {
    auto text = fmt::format("offset {} ± {:.3f} ms from {} of {} servers", format_ms(offset), ms(uncertainty), used, servers.size());
    for (auto& s : servers)
        if (!s.best || s.outlier) text += "; " + s.describe();
    return text;
}

Result<Measurement> combine(std::vector<ServerOutcome> servers, double outlier_mads) {
    std::vector<ntp::Duration> offsets;
    for (auto& s : servers)
        if (s.best) offsets.push_back(s.best->offset);
    if (offsets.empty()) {
        std::string reasons;
        for (auto& s : servers) reasons += (reasons.empty() ? "" : "; ") + s.describe();
        return fail(Errc::unreachable, "no NTP server gave a sample: " + (reasons.empty() ? std::string("none configured") : reasons));
    }
    // Outliers: farther from the median than k MADs plus the error bounds of this sample and
    // of the widest sample. Truthful servers' intervals (θ ± bound) all hold the true offset,
    // so they overlap: a server is called wrong only when its interval cannot reach the
    // median's neighbourhood, however tightly the others agree (on loopback MAD is a few µs,
    // less than scheduling jitter). At least half lie within one MAD, so some always remain.
    auto first_median = median(offsets);
    std::vector<ntp::Duration> deviations;
    for (auto o : offsets) deviations.push_back(std::chrono::abs(o - first_median));
    auto spread_allowed = std::chrono::duration_cast<ntp::Duration>(median(deviations) * outlier_mads);
    ntp::Duration widest{0};
    for (auto& s : servers)
        if (s.best) widest = std::max(widest, s.best->error_bound());
    Measurement m;
    std::vector<ntp::Duration> kept;
    for (auto& s : servers) {
        if (!s.best) continue;
        s.outlier = std::chrono::abs(s.best->offset - first_median) > spread_allowed + s.best->error_bound() + widest;
        if (!s.outlier) kept.push_back(s.best->offset);
    }
    m.offset = median(kept);
    m.used = kept.size();
    // Each kept server's offset is within its error bound of the truth (as far as that server
    // knows it); the median is within the spread of each, hence the sum.
    ntp::Duration bound{0}, spread{0};
    for (auto& s : servers) {
        if (!s.best || s.outlier) continue;
        bound = std::max(bound, s.best->error_bound());
        spread = std::max(spread, std::chrono::abs(s.best->offset - m.offset));
    }
    m.uncertainty = bound + spread;
    m.servers = std::move(servers);
    return m;
}

asio::awaitable<Result<Measurement>> measure(asio::any_io_executor executor, std::vector<HostPort> servers, Options options) {
    if (servers.empty()) co_return fail(Errc::config, "no NTP servers configured");
    if (!options.local_clock) options.local_clock = [] { return ntp::WallTime(std::chrono::system_clock::now()); };
    options.samples = std::max(options.samples, 1);
    std::vector<ServerOutcome> outcomes;
    for (auto& s : servers) {
        ServerOutcome outcome;
        outcome.server = s;
        outcomes.push_back(std::move(outcome));
    }
    try {
        co_await ask_all(executor, options, outcomes);
    } catch (const std::system_error& e) {
        if (e.code() != asio::error::operation_aborted) throw;
    }
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return fail(Errc::cancelled, "NTP measurement cancelled");
    for (auto& o : outcomes)
        log::debug("ntp: {} ({} requests, {} samples)", o.describe(), o.requests, o.samples);
    auto m = combine(std::move(outcomes), options.outlier_mads);
    if (m) {
        m->local_time = options.local_clock();
        m->measured = Steady::now();
    }
    co_return m;
}

}  // namespace warpgate::sntp

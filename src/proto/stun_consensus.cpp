#include "proto/stun_consensus.hpp"

#include <algorithm>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <functional>
#include <memory>

namespace warpgate::stun {

namespace {

struct Finished {
    std::size_t index = 0;
    Result<BindingResult> result;
};

// Shared with the per-server tasks' completion handlers, which send into the channel. The
// grace timer's expiry arrives through the channel too (index n), so that no answer is lost
// to a race between the two.
struct Flight {
    Flight(asio::any_io_executor executor, std::size_t n)
        : channel(executor, n + 1), signals(new asio::cancellation_signal[n]), grace(executor) {}
    asio::experimental::channel<void(asio::error_code, Finished)> channel;
    std::unique_ptr<asio::cancellation_signal[]> signals;
    asio::steady_timer grace;
};

std::string port_name(const StunPort& port) { return fmt::format("UDP port {}", port.local_endpoint().to_string()); }

using Ask = std::function<asio::awaitable<Result<BindingResult>>(HostPort)>;

asio::awaitable<Result<BindingResult>> ask_fresh_socket(asio::any_io_executor executor, Transport transport, asio::ip::address local_ip,
                                                        HostPort server, ClientOptions options) {
    auto endpoint = co_await resolve_server(executor, server, family_of(local_ip));
    if (!endpoint) co_return tl::unexpected(endpoint.error());
    co_return co_await binding(executor, transport, Endpoint{local_ip, 0}, *endpoint, options);
}

asio::awaitable<Result<BindingResult>> ask_on_port(StunPort& port, HostPort server, ClientOptions options) {
    auto endpoint = co_await resolve_server(port.executor(), server, port.local_endpoint().family());
    if (!endpoint) co_return tl::unexpected(endpoint.error());
    co_return co_await udp_binding(port, *endpoint, std::nullopt, options);
}

// Votes per mapped IP, in the order the IPs were first seen.
std::vector<std::pair<asio::ip::address, std::size_t>> tally(const std::vector<ServerAnswer>& answers) {
    std::vector<std::pair<asio::ip::address, std::size_t>> votes;
    for (const auto& a : answers) {
        if (!a.result) continue;
        auto ip = a.result->response.mapped.ip;
        auto it = std::find_if(votes.begin(), votes.end(), [&](const auto& v) { return v.first == ip; });
        if (it == votes.end()) votes.emplace_back(ip, 1);
        else ++it->second;
    }
    std::stable_sort(votes.begin(), votes.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    return votes;
}

std::string describe_failures(const std::vector<ServerAnswer>& answers) {
    std::string text;
    for (const auto& a : answers) {
        text += text.empty() ? "" : "; ";
        text += a.result ? fmt::format("{} says {}", a.server.to_string(), a.result->response.mapped.ip.to_string())
                         : fmt::format("{}: {}", a.server.to_string(), a.result.error().message);
    }
    return text;
}

}  // namespace

std::size_t Consensus::agreeing() const {
    return static_cast<std::size_t>(std::count_if(answers.begin(), answers.end(), [](const ServerAnswer& a) { return a.agrees; }));
}

Result<Consensus> settle(std::vector<ServerAnswer> answers, std::string_view what) {
    Consensus c;
    c.answers = std::move(answers);
    auto votes = tally(c.answers);
    if (votes.empty()) return fail(Errc::unreachable, fmt::format("no STUN server answered for {}: {}", what, describe_failures(c.answers)));
    if (votes.size() > 1 && votes[0].second == votes[1].second)
        return fail(Errc::unreachable, fmt::format("STUN servers disagree for {}: {}", what, describe_failures(c.answers)));
    bool first = true;
    for (auto& a : c.answers) {
        a.agrees = a.result && a.result->response.mapped.ip == votes[0].first;
        if (a.agrees && first) c.mapped = a.result->response.mapped;
        first = first && !a.agrees;
    }
    return c;
}

namespace {

// Asks the servers `parallel` at a time until a quorum agrees, every server is done or the
// grace after the first answer ran out; then cancels the rest and waits for them to finish.
asio::awaitable<Result<std::vector<ServerAnswer>>> ask_all(asio::any_io_executor executor, Ask ask, const std::vector<HostPort>& servers,
                                                           const ConsensusOptions& options, std::string what) {
    if (servers.empty()) co_return fail(Errc::config, fmt::format("no STUN servers configured for {}", what));
    const std::size_t n = servers.size();
    auto flight = std::make_shared<Flight>(executor, n);
    std::vector<bool> running(n, false);
    std::size_t next = 0, in_flight = 0;
    auto launch = [&] {
        std::size_t i = next++;
        running[i] = true;
        ++in_flight;
        asio::co_spawn(executor, ask(servers[i]),
                       asio::bind_cancellation_slot(flight->signals[i].slot(), [flight, i](std::exception_ptr e, Result<BindingResult> r) {
                           if (e) r = fail(Errc::cancelled, "cancelled");
                           flight->channel.try_send(asio::error_code{}, Finished{i, std::move(r)});
                       }));
    };
    std::vector<ServerAnswer> answers;
    auto finish = [&](Finished done) {
        running[done.index] = false;
        --in_flight;
        answers.push_back({servers[done.index], std::move(done.result), false});
    };
    auto top_votes = [&] { auto v = tally(answers); return v.empty() ? std::size_t{0} : v.front().second; };
    bool grace_started = false, cancelled = false;
    std::string why_stopped = "not needed: enough servers agreed";
    constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);
    while (in_flight < std::max<std::size_t>(1, options.parallel) && next < n) launch();
    while (in_flight > 0) {
        auto [ec, done] = co_await flight->channel.async_receive(as_tuple_awaitable);
        if (ec) {
            cancelled = true;
            break;
        }
        if (done.index == n) {
            why_stopped = fmt::format("no answer within {} ms of the first one", options.grace->count());
            break;
        }
        finish(std::move(done));
        if (options.grace && !grace_started && top_votes() > 0) {
            grace_started = true;
            flight->grace.expires_after(*options.grace);
            flight->grace.async_wait([flight, n](asio::error_code timer_ec) {
                if (!timer_ec) flight->channel.try_send(asio::error_code{}, Finished{n, fail(Errc::timeout, "grace")});
            });
        }
        if (top_votes() >= options.quorum) break;
        // Unsettled: ask more servers when those still out could not settle it even if they agreed.
        while (top_votes() + in_flight < options.quorum && next < n) launch();
    }
    // The requests still out are cancelled and awaited: they may use the caller's port.
    flight->grace.cancel();
    for (std::size_t i = 0; i < n; ++i)
        if (running[i]) flight->signals[i].emit(asio::cancellation_type::terminal);
    while (in_flight > 0) {
        if (cancelled) co_await asio::this_coro::reset_cancellation_state();
        auto [ec, done] = co_await flight->channel.async_receive(as_tuple_awaitable);
        if (ec) {
            cancelled = true;  // cancelled meanwhile: the tasks are ending anyway
            continue;
        }
        if (done.index == n) continue;  // the grace ran out meanwhile
        if (!done.result && done.result.error().code == Errc::cancelled)
            done.result = fail(Errc::cancelled, cancelled ? "cancelled" : why_stopped);
        finish(std::move(done));
    }
    if (cancelled) co_return fail(Errc::cancelled, fmt::format("asking STUN servers for {}: cancelled", what));
    co_return answers;
}

}  // namespace

asio::awaitable<Result<Consensus>> ask_servers(asio::any_io_executor executor, Transport transport, asio::ip::address local_ip,
                                               std::vector<HostPort> servers, ConsensusOptions options) {
    Ask ask = [executor, transport, local_ip, client = options.client](HostPort server) {
        return ask_fresh_socket(executor, transport, local_ip, std::move(server), client);
    };
    auto what = fmt::format("{}/{}", to_string(family_of(local_ip)), to_string(transport));
    auto answers = co_await ask_all(executor, std::move(ask), servers, options, what);
    if (!answers) co_return tl::unexpected(answers.error());
    co_return settle(std::move(*answers), what);
}

asio::awaitable<Result<std::vector<ServerAnswer>>> ask_each(StunPort& port, std::vector<HostPort> servers, ConsensusOptions options) {
    Ask ask = [&port, client = options.client](HostPort server) { return ask_on_port(port, std::move(server), client); };
    options.parallel = servers.size();
    co_return co_await ask_all(port.executor(), std::move(ask), servers, options, port_name(port));
}

asio::awaitable<Result<Consensus>> ask_servers(StunPort& port, std::vector<HostPort> servers, ConsensusOptions options) {
    auto answers = co_await ask_each(port, std::move(servers), options);
    if (!answers) co_return tl::unexpected(answers.error());
    co_return settle(std::move(*answers), port_name(port));
}

}  // namespace warpgate::stun

#include "proto/stun_consensus.hpp"

#include <algorithm>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <map>
#include <memory>

namespace warpgate::stun {

namespace {

struct Finished {
    std::size_t index = 0;
    Result<BindingResult> result;
};

// Outlives ask_servers() when it returns early: the per-server tasks it cancelled still
// complete into the channel, which their handlers keep alive.
struct Flight {
    Flight(asio::any_io_executor executor, std::size_t n)
        : channel(executor, n), signals(new asio::cancellation_signal[n]) {}
    asio::experimental::channel<void(asio::error_code, Finished)> channel;
    std::unique_ptr<asio::cancellation_signal[]> signals;
};

asio::awaitable<Result<BindingResult>> ask_one(asio::any_io_executor executor, Transport transport, asio::ip::address local_ip,
                                               HostPort server, ClientOptions options) {
    auto endpoint = co_await resolve_server(executor, server, family_of(local_ip));
    if (!endpoint) co_return tl::unexpected(endpoint.error());
    co_return co_await binding(executor, transport, Endpoint{local_ip, 0}, *endpoint, options);
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

asio::awaitable<Result<Consensus>> ask_servers(asio::any_io_executor executor, Transport transport, asio::ip::address local_ip,
                                               std::vector<HostPort> servers, ConsensusOptions options) {
    const auto what = fmt::format("{}/{}", to_string(family_of(local_ip)), to_string(transport));
    if (servers.empty()) co_return fail(Errc::config, fmt::format("no STUN servers configured for {}", what));
    const std::size_t n = servers.size();
    auto flight = std::make_shared<Flight>(executor, n);
    std::vector<bool> running(n, false);
    std::size_t next = 0, in_flight = 0;
    auto launch = [&] {
        std::size_t i = next++;
        running[i] = true;
        ++in_flight;
        asio::co_spawn(executor, ask_one(executor, transport, local_ip, servers[i], options.client),
                       asio::bind_cancellation_slot(flight->signals[i].slot(), [flight, i](std::exception_ptr e, Result<BindingResult> r) {
                           if (e) r = fail(Errc::cancelled, "cancelled");
                           flight->channel.try_send(asio::error_code{}, Finished{i, std::move(r)});
                       }));
    };
    auto cancel_running = [&] {
        for (std::size_t i = 0; i < n; ++i)
            if (running[i]) flight->signals[i].emit(asio::cancellation_type::terminal);
    };

    Consensus c;
    auto top_votes = [&] { auto v = tally(c.answers); return v.empty() ? std::size_t{0} : v.front().second; };
    while (in_flight < std::max<std::size_t>(1, options.parallel) && next < n) launch();
    while (in_flight > 0) {
        auto [ec, done] = co_await flight->channel.async_receive(asio::experimental::as_tuple(asio::use_awaitable));
        if (ec) {
            cancel_running();
            co_return fail(Errc::cancelled, fmt::format("asking STUN servers for {}: cancelled", what));
        }
        running[done.index] = false;
        --in_flight;
        c.answers.push_back({servers[done.index], std::move(done.result), false});
        if (top_votes() >= options.quorum) break;
        // Unsettled: ask more servers when those still out could not settle it even if they agreed.
        while (top_votes() + in_flight < options.quorum && next < n) launch();
    }
    cancel_running();
    for (std::size_t i = 0; i < n; ++i)
        if (running[i]) c.answers.push_back({servers[i], fail(Errc::cancelled, "not needed: enough servers agreed"), false});

    auto votes = tally(c.answers);
    if (votes.empty()) co_return fail(Errc::unreachable, fmt::format("no STUN server answered for {}: {}", what, describe_failures(c.answers)));
    if (votes.size() > 1 && votes[0].second == votes[1].second)
        co_return fail(Errc::unreachable, fmt::format("STUN servers disagree for {}: {}", what, describe_failures(c.answers)));
    bool first = true;
    for (auto& a : c.answers) {
        a.agrees = a.result && a.result->response.mapped.ip == votes[0].first;
        if (a.agrees && first) c.mapped = a.result->response.mapped;
        first = first && !a.agrees;
    }
    co_return c;
}

}  // namespace warpgate::stun

// Relayed links (issue 16) through a real coturn on loopback, with mosquitto carrying the
// turn plugin's offer and answer, side by side with a direct link between the same kind of
// nodes: the time from auto_connect() to the first byte at the peer, the round trip of a
// 64-byte message, and 1,200-byte datagrams delivered per second. Both links are sealed UDP
// links; the relayed one is forced (plugins = turn) and never leaves the relay (leave_relay
// has no other plugin to race).
#include <algorithm>
#include <asio/use_awaitable.hpp>
#include <stdexcept>
#include <string>
#include <warpgate/auto_connect.hpp>

#include "summary.hpp"
#include "support/mosquitto.hpp"
#include "support/turn_server.hpp"

namespace warpgate::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto wait = std::chrono::seconds(5);

double ms_since(Clock::time_point begin) { return std::chrono::duration<double, std::milli>(Clock::now() - begin).count(); }

struct Servers {
    test::Mosquitto broker;
    test::TurnServer coturn;
};

// A loopback node that signals through the broker and may relay through coturn; `identity`
// keeps the two ends apart (the broker routes by node id).
NodeOptions relaying_node(const Servers& servers, const char* identity) {
    auto options = test_node(true);
    options.identity = identity;
    options.conf.mqtt_servers = {servers.broker.host_port()};
    options.conf.sig_pipe_no = 1;
    TurnServer relay;
    relay.server = {"127.0.0.1", servers.coturn.endpoint().port};
    relay.user = servers.coturn.options().user;
    relay.password = servers.coturn.options().password;
    options.conf.turn_servers = {relay};
    return options;
}

ConnectOptions over(const char* plugin) {
    ConnectOptions options;
    options.transport = UDP;
    options.timeout = std::chrono::seconds(10);
    options.plugins = {plugin};
    return options;
}

// The figures are only worth their names when the forced plugin made the link.
void check_relayed(const LinkPair& link, const char* plugin) {
    if (link.client->relayed() != (std::string_view(plugin) == "turn"))
        throw std::runtime_error(std::string("relay figures: the ") + plugin + " link is " + (link.client->relayed() ? "" : "not ") + "relayed");
}

// From auto_connect() to the first message's arrival at the peer, on fresh started nodes.
double first_byte_ms(const Servers& servers, const char* plugin) {
    double ms = 0;
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        auto link = co_await open_nodes(io, relaying_node(servers, "relay-bench-a"), relaying_node(servers, "relay-bench-b"));
        auto begin = Clock::now();
        co_await link_nodes(io, link, over(plugin));
        check_relayed(link, plugin);
        co_await link.client->send(as_bytes(std::string_view("first")));
        auto first = co_await link.server->recv(wait);
        ms = ms_since(begin);
        co_await close_link(link);
    });
    return ms;
}

// Median round trip of a 64-byte message echoed by the peer, over one link.
double round_trip_ms(const Servers& servers, const char* plugin, int repetitions) {
    std::vector<double> samples;
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        auto link = co_await open_link(io, relaying_node(servers, "relay-bench-a"), relaying_node(servers, "relay-bench-b"), over(plugin));
        check_relayed(link, plugin);
        Bytes message(64, 7);
        for (int i = 0; i <= repetitions; ++i) {  // the first one warms up
            auto begin = Clock::now();
            co_await link.client->send(message);
            auto there = co_await link.server->recv(wait);
            co_await link.server->send(there);
            auto back = co_await link.client->recv(wait);
            if (i > 0) samples.push_back(ms_since(begin));
        }
        co_await close_link(link);
    });
    return median(samples);
}

double delivery_rate(const Servers& servers, const char* plugin, std::size_t count) {
    double rate = 0;
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        auto link = co_await open_link(io, relaying_node(servers, "relay-bench-a"), relaying_node(servers, "relay-bench-b"), over(plugin));
        check_relayed(link, plugin);
        rate = co_await udp_delivery_rate(link, count);
        co_await close_link(link);
    });
    return rate;
}

}  // namespace

std::vector<Figure> relay_figures(const Sizes& sizes) {
    // Each relayed link takes two of the test coturn's 40 relay ports; a port a closed link
    // gave back is not at once free again, so the first-byte runs get a coturn of their own.
    std::vector<double> relayed_first, direct_first, relayed_rate, direct_rate;
    auto first_runs = std::min(sizes.repetitions, 15);
    {
        Servers servers;
        for (int i = 0; i < first_runs; ++i) {
            relayed_first.push_back(first_byte_ms(servers, "turn"));
            direct_first.push_back(first_byte_ms(servers, "direct_connect"));
        }
    }
    Servers servers;
    auto relayed_rtt = round_trip_ms(servers, "turn", sizes.repetitions * 10);
    auto direct_rtt = round_trip_ms(servers, "direct_connect", sizes.repetitions * 10);
    for (int i = 0; i < 3; ++i) {
        relayed_rate.push_back(delivery_rate(servers, "turn", sizes.datagrams));
        direct_rate.push_back(delivery_rate(servers, "direct_connect", sizes.datagrams));
    }
    return {
        {"UDP link via coturn: connect to first byte", "ms", median(relayed_first), median(direct_first), "direct UDP link", ""},
        {"UDP link via coturn: round trip, 64 B", "ms", relayed_rtt, direct_rtt, "direct UDP link", ""},
        {"UDP link via coturn, 1,200-byte datagrams", "dgram/s", median(relayed_rate), median(direct_rate), "direct UDP link", ""},
    };
}

}  // namespace warpgate::bench

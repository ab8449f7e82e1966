// Link throughput against raw Asio sockets, side by side in one run (the median of three
// interleaved runs each): 64 KiB messages over TCP, plaintext and sealed; 1,200-byte
// datagrams over UDP, sealed, counted as datagrams received per second.
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <warpgate/auto_connect.hpp>

#include "summary.hpp"

namespace warpgate::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;
constexpr std::size_t message_size = 64 * 1024;

double seconds_since(Clock::time_point begin) { return std::chrono::duration<double>(Clock::now() - begin).count(); }

// Raw Asio TCP: the same bytes in the same message sizes, no framing, no queues. MiB/s.
double raw_tcp_mibps(std::size_t total) {
    double seconds = 0;
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        asio::ip::tcp::socket client(io);
        co_await client.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
        auto server = co_await acceptor.async_accept(asio::use_awaitable);
        client.set_option(asio::ip::tcp::no_delay(true));
        auto begin = Clock::now();
        auto writer = [&]() -> asio::awaitable<void> {
            Bytes chunk(message_size, 1);
            for (std::size_t sent = 0; sent < total; sent += message_size)
                co_await asio::async_write(client, asio::buffer(chunk), asio::use_awaitable);
        };
        auto reader = [&]() -> asio::awaitable<void> {
            Bytes chunk(message_size);
            for (std::size_t got = 0; got < total; got += message_size)
                co_await asio::async_read(server, asio::buffer(chunk), asio::use_awaitable);
        };
        co_await (writer() && reader());
        seconds = seconds_since(begin);
    });
    return static_cast<double>(total) / seconds / (1 << 20);
}

// Raw Asio UDP: datagrams received per second while the sender sends `count` as fast as it can.
double raw_udp_rate(std::size_t count) {
    double rate = 0;
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        asio::ip::udp::socket server(io, {asio::ip::make_address("127.0.0.1"), 0});
        asio::ip::udp::socket client(io, {asio::ip::make_address("127.0.0.1"), 0});
        client.connect(server.local_endpoint());
        std::size_t got = 0;
        auto begin = Clock::now();
        auto last = begin;
        auto writer = [&]() -> asio::awaitable<void> {
            Bytes datagram(datagram_size, 1);
            asio::error_code ec;
            for (std::size_t i = 0; i < count; ++i)
                co_await client.async_send(asio::buffer(datagram), asio::redirect_error(asio::use_awaitable, ec));
        };
        auto reader = [&]() -> asio::awaitable<void> {
            Bytes datagram(2048);
            asio::steady_timer silence(io);
            // Errors as codes: an exception per datagram (the cancelled timer's) would cost the
            // baseline more than the receive itself.
            asio::error_code received, waited;
            while (got < count) {
                silence.expires_after(udp_quiet);
                auto outcome = co_await (server.async_receive(asio::buffer(datagram), asio::redirect_error(asio::use_awaitable, received)) ||
                                         silence.async_wait(asio::redirect_error(asio::use_awaitable, waited)));
                if (outcome.index() == 1 || received) break;
                ++got;
                last = Clock::now();
            }
        };
        co_await (writer() && reader());
        rate = static_cast<double>(got) / std::chrono::duration<double>(last - begin).count();
    });
    return rate;
}

double link_tcp_mibps(std::size_t total, bool encrypted) {
    double seconds = 0;
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        auto link = co_await open_link(io, test_node(encrypted), test_node(encrypted), {TCP, std::chrono::seconds(5)});
        auto begin = Clock::now();
        auto writer = [&]() -> asio::awaitable<void> {
            Bytes chunk(message_size, 1);
            for (std::size_t sent = 0; sent < total; sent += message_size) co_await link.client->send(chunk);
        };
        auto reader = [&]() -> asio::awaitable<void> {
            for (std::size_t got = 0; got < total;) {
                auto message = co_await link.server->recv(std::chrono::seconds(10));
                got += message.size();
            }
        };
        co_await (writer() && reader());
        seconds = seconds_since(begin);
        co_await close_link(link);
    });
    return static_cast<double>(total) / seconds / (1 << 20);
}

double link_udp_rate(std::size_t count) {
    double rate = 0;
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        auto link = co_await open_link(io, test_node(true), test_node(true), {UDP, std::chrono::seconds(5)});
        rate = co_await udp_delivery_rate(link, count);
        co_await close_link(link);
    });
    return rate;
}

}  // namespace

std::vector<Figure> throughput_figures(const Sizes& sizes) {
    std::vector<double> raw, plain, sealed, raw_udp, sealed_udp;
    for (int i = 0; i < 3; ++i) {
        raw.push_back(raw_tcp_mibps(sizes.stream_bytes));
        plain.push_back(link_tcp_mibps(sizes.stream_bytes, false));
        sealed.push_back(link_tcp_mibps(sizes.stream_bytes, true));
        raw_udp.push_back(raw_udp_rate(sizes.datagrams));
        sealed_udp.push_back(link_udp_rate(sizes.datagrams));
    }
    return {
        {"TCP link, plaintext, 64 KiB messages", "MiB/s", median(plain), median(raw), "raw Asio TCP", ">= 0.9x"},
        {"TCP link, sealed, 64 KiB messages", "MiB/s", median(sealed), median(raw), "raw Asio TCP", ">= 0.7x"},
        {"UDP link, sealed, 1,200-byte datagrams", "dgram/s", median(sealed_udp), median(raw_udp), "raw Asio UDP",
         ">= 0.7x"},
    };
}

}  // namespace warpgate::bench

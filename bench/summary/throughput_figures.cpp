// Link throughput against raw Asio sockets, side by side in one run (the median of three
// interleaved runs each): 64 KiB messages over TCP, plaintext and sealed; 1,200-byte
// datagrams over UDP, sealed, counted as datagrams received per second. The TCP figures run
// both ends on one thread (one core does the sender's and the receiver's work); the sealed
// one also on two, sender and receiver each on an io_context thread of its own (between two
// machines each end has its own core), with the raw baseline measured the same way.
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <thread>
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

// --- two threads: the sender's io_context on one, the receiver's on the other ---

// Runs `sender` and `receiver`, each on a single-threaded io_context of its own, on two threads.
void run_apart(const std::function<asio::awaitable<void>(asio::io_context&)>& sender,
               const std::function<asio::awaitable<void>(asio::io_context&)>& receiver) {
    asio::io_context sender_io(1), receiver_io(1);
    std::exception_ptr sender_error, receiver_error;
    asio::co_spawn(sender_io, sender(sender_io), [&](std::exception_ptr e) { sender_error = e; });
    asio::co_spawn(receiver_io, receiver(receiver_io), [&](std::exception_ptr e) { receiver_error = e; });
    std::thread other([&] { sender_io.run(); });
    receiver_io.run();
    other.join();
    if (sender_error) std::rethrow_exception(sender_error);
    if (receiver_error) std::rethrow_exception(receiver_error);
}

// Sleeps (polling) until the other thread raised `flag`.
asio::awaitable<void> wait_for(asio::io_context& io, const std::atomic<bool>& flag) {
    asio::steady_timer poll(io);
    while (!flag.load(std::memory_order_acquire)) {
        poll.expires_after(std::chrono::milliseconds(1));
        co_await poll.async_wait(asio::use_awaitable);
    }
}

double raw_tcp_mibps_apart(std::size_t total) {
    std::atomic<bool> listening = false, sent = false;
    asio::ip::tcp::endpoint where;
    Clock::time_point begin, end;
    run_apart(
        [&](asio::io_context& io) -> asio::awaitable<void> {
            co_await wait_for(io, listening);
            asio::ip::tcp::socket client(io);
            co_await client.async_connect(where, asio::use_awaitable);
            client.set_option(asio::ip::tcp::no_delay(true));
            begin = Clock::now();
            Bytes chunk(message_size, 1);
            for (std::size_t done = 0; done < total; done += message_size)
                co_await asio::async_write(client, asio::buffer(chunk), asio::use_awaitable);
            sent = true;
        },
        [&](asio::io_context& io) -> asio::awaitable<void> {
            asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
            where = acceptor.local_endpoint();
            listening.store(true, std::memory_order_release);
            auto server = co_await acceptor.async_accept(asio::use_awaitable);
            Bytes chunk(message_size);
            for (std::size_t got = 0; got < total; got += message_size)
                co_await asio::async_read(server, asio::buffer(chunk), asio::use_awaitable);
            end = Clock::now();
            co_await wait_for(io, sent);
        });
    return static_cast<double>(total) / std::chrono::duration<double>(end - begin).count() / (1 << 20);
}

double link_tcp_mibps_apart(std::size_t total, bool encrypted) {
    std::atomic<bool> addressed = false, accepted = false, received = false;
    std::optional<NodeAddress> address;
    Clock::time_point begin, end;
    run_apart(
        [&](asio::io_context& io) -> asio::awaitable<void> {
            co_await wait_for(io, addressed);  // one node opens after the other (one install path)
            auto a = co_await Node::open(io.get_executor(), test_node(encrypted));
            ConnectOptions tcp(TCP, std::chrono::seconds(5));
            auto result = co_await auto_connect(*a, *address, tcp);
            co_await wait_for(io, accepted);
            begin = Clock::now();
            Bytes chunk(message_size, 1);
            for (std::size_t sent = 0; sent < total; sent += message_size) co_await result.pipe->send(chunk);
            co_await wait_for(io, received);
            result.pipe->close();
            co_await a->close();
        },
        [&](asio::io_context& io) -> asio::awaitable<void> {
            auto b = co_await Node::open(io.get_executor(), test_node(encrypted));
            PipePtr server;
            b->on_inbound([&](PipePtr pipe) { server = pipe; });
            address = b->node_address();
            addressed.store(true, std::memory_order_release);
            while (!server) co_await asio::post(io, asio::use_awaitable);
            accepted.store(true, std::memory_order_release);
            for (std::size_t got = 0; got < total;) {
                auto message = co_await server->recv(std::chrono::seconds(10));
                got += message.size();
            }
            end = Clock::now();
            received.store(true, std::memory_order_release);
            server->close();
            co_await b->close();
        });
    return static_cast<double>(total) / std::chrono::duration<double>(end - begin).count() / (1 << 20);
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
    std::vector<double> raw, plain, sealed, raw_apart, sealed_apart, raw_udp, sealed_udp;
    for (int i = 0; i < 3; ++i) {
        raw.push_back(raw_tcp_mibps(sizes.stream_bytes));
        plain.push_back(link_tcp_mibps(sizes.stream_bytes, false));
        sealed.push_back(link_tcp_mibps(sizes.stream_bytes, true));
        raw_apart.push_back(raw_tcp_mibps_apart(sizes.stream_bytes));
        sealed_apart.push_back(link_tcp_mibps_apart(sizes.stream_bytes, true));
        raw_udp.push_back(raw_udp_rate(sizes.datagrams));
        sealed_udp.push_back(link_udp_rate(sizes.datagrams));
    }
    return {
        {"TCP link, plaintext, 64 KiB messages", "MiB/s", median(plain), median(raw), "raw Asio TCP", ">= 0.9x"},
        {"TCP link, sealed, 64 KiB messages", "MiB/s", median(sealed), median(raw), "raw Asio TCP", ">= 0.7x"},
        {"TCP link, sealed, 64 KiB, two threads", "MiB/s", median(sealed_apart), median(raw_apart), "raw Asio TCP, 2 threads",
         ">= 0.7x"},
        {"UDP link, sealed, 1,200-byte datagrams", "dgram/s", median(sealed_udp), median(raw_udp), "raw Asio UDP",
         ">= 0.7x"},
    };
}

}  // namespace warpgate::bench

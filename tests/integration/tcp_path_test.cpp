// TcpPath's write side on a real loopback stream: concurrent senders take turns (a sender that
// finds the stream free writes at once, the others wait for the turn), so records never
// interleave, also when they do not fit in the socket buffer and a write has to wait.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <map>

#include "session/path.hpp"
#include "support/run_async.hpp"

using namespace warpgate;
using warpgate::test::run_async;

namespace {

constexpr std::size_t senders = 6;
constexpr std::size_t records_each = 30;
constexpr std::size_t record_size = 200 * 1024;  // 36 MB in all: far more than a socket buffer

// sender (1 byte) | sequence (1 byte) | the byte sender * 31 + sequence, repeated
Bytes record_of(std::size_t sender, std::size_t sequence) {
    Bytes record(record_size + sender, static_cast<std::uint8_t>(sender * 31 + sequence));
    record[0] = static_cast<std::uint8_t>(sender);
    record[1] = static_cast<std::uint8_t>(sequence);
    return record;
}

TEST(TcpPathWrites, ConcurrentSendersNeverInterleaveRecords) {
    std::map<std::size_t, std::size_t> next_of;  // sender -> the sequence number due
    std::size_t received = 0, mangled = 0;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        auto port = acceptor.local_endpoint().port();
        std::shared_ptr<session::TcpPath> server;
        asio::co_spawn(io, [&]() -> asio::awaitable<void> {
            auto socket = co_await acceptor.async_accept(asio::use_awaitable);
            server = std::make_shared<session::TcpPath>(std::move(socket));
            auto sink = [&](std::span<std::uint8_t> record) -> asio::awaitable<bool> {
                std::size_t sender = record[0], sequence = record[1];
                Bytes expected = record_of(sender, sequence);
                if (!std::equal(record.begin(), record.end(), expected.begin(), expected.end()) || next_of[sender] != sequence)
                    ++mangled;
                next_of[sender] = sequence + 1;
                ++received;
                co_return true;
            };
            server->start(sink, [](Error) {}, 2 * record_size);
        }, asio::detached);
        auto client = co_await session::dial_tcp({asio::ip::make_address("127.0.0.1"), port}, std::nullopt);
        std::size_t done = 0;
        for (std::size_t s = 0; s < senders; ++s) {
            asio::co_spawn(io, [&, s]() -> asio::awaitable<void> {
                for (std::size_t i = 0; i < records_each; ++i) {
                    auto record = record_of(s, i);
                    co_await client->send(record);
                }
            }, [&](std::exception_ptr e) { ++done; if (e) std::rethrow_exception(e); });
        }
        asio::steady_timer poll(io);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (received < senders * records_each && std::chrono::steady_clock::now() < deadline) {
            poll.expires_after(std::chrono::milliseconds(5));
            co_await poll.async_wait(asio::use_awaitable);
        }
        EXPECT_EQ(done, senders);
        client->close();
        if (server) server->close();
    });
    EXPECT_EQ(received, senders * records_each);
    EXPECT_EQ(mangled, 0u);
    for (std::size_t s = 0; s < senders; ++s) EXPECT_EQ(next_of[s], records_each) << "sender " << s;
}

}  // namespace

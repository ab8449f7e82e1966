// TcpPath on a real loopback stream. Writes: concurrent senders take turns (a sender that
// finds the stream free writes at once, the others wait for the turn), so records never
// interleave, also when they do not fit in the socket buffer and a write has to wait. Reads:
// records cut at any byte arrive whole (large sealed and plain ones in pieces, their bodies
// read straight into place), and a length over the limit ends the stream before any body.
#include <gtest/gtest.h>
#include <sys/ioctl.h>

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
            auto sink = [&](session::StreamRecord& piece) -> asio::awaitable<bool> {
                auto record = piece.head;  // whole: not a sealed or plain record
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

// A TcpPath reading the server end of a loopback stream, and the raw client end that writes
// to it (`unread()`: the bytes the reader has not taken from the socket yet).
struct ReadingPath {
    asio::ip::tcp::socket client;
    std::shared_ptr<session::TcpPath> server;
    int server_fd = -1;
    std::size_t unread() const {
        int n = 0;
        ::ioctl(server_fd, FIONREAD, &n);
        return static_cast<std::size_t>(n);
    }
};

asio::awaitable<ReadingPath> open_reading_path(asio::io_context& io, session::StreamSink sink, session::EndSink on_end,
                                               std::size_t max_record) {
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    ReadingPath out{asio::ip::tcp::socket(io), nullptr};
    co_await out.client.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
    auto socket = co_await acceptor.async_accept(asio::use_awaitable);
    out.server_fd = socket.native_handle();
    out.server = std::make_shared<session::TcpPath>(std::move(socket));
    out.server->start(std::move(sink), std::move(on_end), max_record);
    co_return out;
}

// A record of `size` bytes of `type`, the rest a pattern of `seed`.
Bytes record_of_type(std::uint8_t type, std::size_t size, std::uint8_t seed) {
    Bytes record(size);
    record[0] = type;
    for (std::size_t i = 1; i < size; ++i) record[i] = static_cast<std::uint8_t>(seed + i * 7);
    return record;
}

TEST(TcpPathReads, RecordsCutAtEveryByteArriveWhole) {
    // A large plain record, a small refuse record, a large sealed one: the large ones (over
    // TcpPath::split_from) are read in pieces, with their bodies read straight into place.
    const std::vector<Bytes> records{record_of_type(0xD4, 4200, 1), record_of_type(0xD5, 40, 2), record_of_type(0xD3, 4500, 3)};
    Bytes stream;
    for (const auto& r : records) {
        auto length = session::encode_length(r.size());
        stream.insert(stream.end(), length.begin(), length.end());
        stream.insert(stream.end(), r.begin(), r.end());
    }
    std::size_t received = 0, mangled = 0, split = 0, cuts = 0;
    std::optional<Error> ended;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        session::StreamSink sink = [&](session::StreamRecord& record) -> asio::awaitable<bool> {
            Bytes whole(record.head.begin(), record.head.end());
            whole.insert(whole.end(), record.body.begin(), record.body.end());
            whole.insert(whole.end(), record.tail.begin(), record.tail.end());
            if (whole != records[received % records.size()]) ++mangled;
            if (record.split) ++split;
            ++received;
            co_return true;
        };
        session::EndSink on_end = [&](Error e) { ended = e; };  // (no temporaries in a co_await: GCC 12)
        auto path = co_await open_reading_path(io, sink, on_end, 8192);
        // The stream in two writes, cut after byte `cut`; the second waits until the reader
        // took the first, so every cut is a cut between two reads.
        for (std::size_t cut = 1; cut < stream.size(); ++cut, ++cuts) {
            asio::write(path.client, asio::buffer(stream.data(), cut));
            while (path.unread() > 0) co_await asio::post(io, asio::use_awaitable);
            asio::write(path.client, asio::buffer(stream.data() + cut, stream.size() - cut));
            while (path.unread() > 0) co_await asio::post(io, asio::use_awaitable);
        }
        while (received < cuts * records.size() && !ended) co_await asio::post(io, asio::use_awaitable);
        path.client.close();
        path.server->close();
    });
    EXPECT_EQ(received, cuts * records.size());
    EXPECT_EQ(mangled, 0u);
    EXPECT_GE(split, cuts) << "the large records were not read in pieces";
}

TEST(TcpPathReads, LengthOverTheLimitEndsTheStreamBeforeAnyBody) {
    constexpr std::size_t limit = 70000;
    for (std::size_t length : {std::size_t(0), limit + 1, std::size_t(0xFFFFFFFF)}) {
        std::optional<Error> ended;
        bool sunk = false;
        run_async([&](asio::io_context& io) -> asio::awaitable<void> {
            session::StreamSink sink = [&](session::StreamRecord&) -> asio::awaitable<bool> {
                sunk = true;
                co_return true;
            };
            session::EndSink on_end = [&](Error e) { ended = e; };
            auto path = co_await open_reading_path(io, sink, on_end, limit);
            // The length prefix and the first bytes of a sealed record, no more: the reader
            // must refuse without waiting for the body.
            auto prefix = session::encode_length(length);
            Bytes bytes(prefix.begin(), prefix.end());
            bytes.insert(bytes.end(), {0xD3, 0, 0, 0, 1});
            asio::write(path.client, asio::buffer(bytes));
            asio::steady_timer poll(io);
            auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
            while (!ended && std::chrono::steady_clock::now() < deadline) {
                poll.expires_after(std::chrono::milliseconds(2));
                co_await poll.async_wait(asio::use_awaitable);
            }
            path.client.close();
        });
        ASSERT_TRUE(ended) << "length " << length;
        EXPECT_EQ(ended->code, Errc::malformed) << ended->message;
        EXPECT_FALSE(sunk);
    }
}

}  // namespace

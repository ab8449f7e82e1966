// Links outlive their paths (session/session.hpp, migration): a stream link moves to a new
// TCP connection while its old one silently drops everything, and the application on either
// side sees every message once, in order; a stranger's join is refused; a UDP link moves to
// a new socket and the peer follows.
#include <gtest/gtest.h>

#include <asio.hpp>

#include "session/session.hpp"
#include "support/run_async.hpp"
#include "support/session_server.hpp"

using namespace warpgate;
using namespace std::chrono_literals;
using warpgate::test::run_async;

namespace {

// One TCP connection relayed to `target`, until freeze(): from then on both directions are
// read and thrown away, as a path that died on the way (a NAT that forgot the mapping).
class FreezableProxy {
public:
    FreezableProxy(asio::io_context& io, Endpoint target)
        : acceptor_(io, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0)), target_(target) {
        asio::co_spawn(io, run(), asio::detached);
    }
    Endpoint endpoint() const { return {acceptor_.local_endpoint().address(), acceptor_.local_endpoint().port()}; }
    void freeze() { *frozen_ = true; }
    void close() {
        asio::error_code ec;
        acceptor_.close(ec);
        for (auto& s : sockets_) s->close(ec);
    }

private:
    asio::awaitable<void> run() {
        asio::error_code ec;
        auto inbound = std::make_shared<asio::ip::tcp::socket>(co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec)));
        if (ec) co_return;
        auto outbound = std::make_shared<asio::ip::tcp::socket>(acceptor_.get_executor());
        co_await outbound->async_connect({target_.ip, target_.port}, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        sockets_ = {inbound, outbound};
        auto ex = acceptor_.get_executor();
        asio::co_spawn(ex, pump(inbound, outbound, frozen_), asio::detached);
        asio::co_spawn(ex, pump(outbound, inbound, frozen_), asio::detached);
    }
    static asio::awaitable<void> pump(std::shared_ptr<asio::ip::tcp::socket> from, std::shared_ptr<asio::ip::tcp::socket> to,
                                      std::shared_ptr<bool> frozen) {
        std::array<std::uint8_t, 16384> buffer;
        for (;;) {
            asio::error_code ec;
            auto n = co_await from->async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            if (*frozen) continue;
            co_await asio::async_write(*to, asio::buffer(buffer.data(), n), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
        }
        asio::error_code ignored;
        to->close(ignored);
    }

    asio::ip::tcp::acceptor acceptor_;
    Endpoint target_;
    std::shared_ptr<bool> frozen_ = std::make_shared<bool>(false);
    std::vector<std::shared_ptr<asio::ip::tcp::socket>> sockets_;
};

Bytes numbered(int i) { return to_bytes("message " + std::to_string(i)); }

// Receives `count` messages from `pipe` and checks they are 0..count-1, each once, in order.
asio::awaitable<void> expect_sequence(PipePtr pipe, int count, std::string side) {
    for (int i = 0; i < count; ++i) {
        Message got;
        try {
            got = co_await pipe->recv(5s);
        } catch (const Exception& e) {
            ADD_FAILURE() << side << " stopped at message " << i << ": " << e.what();
            co_return;
        }
        if (got != numbered(i)) {
            ADD_FAILURE() << side << " got '" << std::string(got.begin(), got.end()) << "' where message " << i << " was due";
            co_return;
        }
    }
}

asio::awaitable<void> send_range(PipePtr pipe, int from, int to) {
    for (int i = from; i < to; ++i) co_await pipe->send(numbered(i));
}

}  // namespace

TEST(Migration, StreamLinkMovesOffADeadPathWithoutLossOrRepeat) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        test::SessionServer server(io);
        PipePtr accepted;
        asio::steady_timer arrived(io, std::chrono::steady_clock::time_point::max());
        server.on_link([&](const PipePtr& link) {
            accepted = link;
            arrived.cancel();
        });
        FreezableProxy proxy(io, server.endpoint());
        auto demux = std::make_shared<session::Demux>();
        auto pipe = co_await test::dial_session(TCP, proxy.endpoint(), server.public_key(), demux);
        asio::error_code ec;
        if (!accepted) co_await arrived.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        EXPECT_TRUE(accepted);
        if (!accepted) co_return;
        auto initiator = std::static_pointer_cast<session::Session>(pipe);
        auto responder = std::static_pointer_cast<session::Session>(accepted);

        constexpr int total = 300;
        co_await send_range(pipe, 0, 100);
        co_await send_range(accepted, 0, 100);
        // The path dies: what either side sends now is lost on the way, acknowledgements too.
        proxy.freeze();
        co_await send_range(pipe, 100, 200);
        co_await send_range(accepted, 100, 200);
        EXPECT_GT(initiator->unacknowledged(), 0u);
        auto old_remote = pipe->remote_endpoint();

        auto fresh = co_await session::dial_tcp(server.endpoint(), std::nullopt);
        co_await initiator->migrate(fresh);
        EXPECT_NE(pipe->remote_endpoint(), old_remote);
        EXPECT_EQ(pipe->remote_endpoint(), server.endpoint());
        co_await send_range(pipe, 200, total);
        co_await send_range(accepted, 200, total);

        co_await expect_sequence(accepted, total, "the accepting side");
        co_await expect_sequence(pipe, total, "the dialling side");
        // Acknowledgements flow again on the new path: the resend buffer drains.
        auto rtt = co_await pipe->ping(2s);
        EXPECT_GT(rtt.count(), 0);
        EXPECT_TRUE(pipe->is_open());
        EXPECT_TRUE(accepted->is_open());
        EXPECT_LT(responder->unacknowledged(), 40u);
        pipe->close();
        proxy.close();
        server.close();
    });
}

TEST(Migration, AStrangersJoinIsRefusedAndTheLinkGoesOn) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        test::SessionServer server(io);
        auto demux = std::make_shared<session::Demux>();
        auto pipe = co_await test::dial_session(TCP, server.endpoint(), server.public_key(), demux);
        auto initiator = std::static_pointer_cast<session::Session>(pipe);
        // The server's session id is on the wire in every record: a stranger knows it.
        Bytes forged{0xD3, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 1};
        session::put_id(forged.data() + 1, initiator->remote_id());
        forged.resize(forged.size() + 1 + 8 + 16, 0x5A);
        asio::ip::tcp::socket stranger(io);
        co_await stranger.async_connect({server.endpoint().ip, server.endpoint().port}, asio::use_awaitable);
        auto length = session::encode_length(forged.size());
        std::array<asio::const_buffer, 2> out{asio::buffer(length), asio::buffer(forged)};
        co_await asio::async_write(stranger, out, asio::use_awaitable);
        std::array<std::uint8_t, 64> reply;
        asio::error_code ec;
        co_await stranger.async_read_some(asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
        EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
        EXPECT_EQ(server.acceptor().refusals().count("bad join"), 1u);

        co_await pipe->send(to_bytes("still here"));
        auto echo = co_await pipe->recv(2s);
        EXPECT_EQ(echo, to_bytes("still here"));
        EXPECT_EQ(pipe->remote_endpoint(), server.endpoint());
        pipe->close();
        server.close();
    });
}

TEST(Migration, DatagramLinkMovesToANewSocketAndThePeerFollows) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        test::SessionServer server(io);
        PipePtr accepted;
        server.on_link([&](const PipePtr& link) {
            accepted = link;
            link->subscribe({}, [](Message m, Endpoint, Pipe& p) -> asio::awaitable<void> { co_await p.send(m); });
        });
        auto demux = std::make_shared<session::Demux>();
        auto pipe = co_await test::dial_session(UDP, server.endpoint(), server.public_key(), demux);
        co_await pipe->send(to_bytes("before"));
        auto echo = co_await pipe->recv(2s);
        EXPECT_EQ(echo, to_bytes("before"));
        EXPECT_TRUE(accepted);
        if (!accepted) co_return;
        auto before = accepted->remote_endpoint();

        auto fresh = session::open_udp(io.get_executor(), server.endpoint(), std::nullopt);
        auto initiator = std::static_pointer_cast<session::Session>(pipe);
        co_await initiator->migrate(fresh);
        co_await pipe->send(to_bytes("after"));
        echo = co_await pipe->recv(2s);
        EXPECT_EQ(echo, to_bytes("after"));
        EXPECT_NE(accepted->remote_endpoint(), before);
        EXPECT_EQ(accepted->remote_endpoint().port, fresh->local().port);
        pipe->close();
        server.close();
    });
}

// Issue 11 on the wire, in-process: a man in the middle between an honest UDP client and a
// session server captures the client's records; a third socket forges and replays records
// naming the live session. None may end, move or disturb the link, and a replayed message
// is not delivered twice.
#include <gtest/gtest.h>

#include <asio.hpp>

#include "support/run_async.hpp"
#include "support/session_server.hpp"

using namespace warpgate;
using namespace std::chrono_literals;

namespace {

using udp = asio::ip::udp;

// Forwards datagrams between one client and the server, keeping the sealed records the
// client sent.
class UdpProxy {
public:
    UdpProxy(asio::io_context& io, Endpoint server)
        : front_(io, udp::endpoint(asio::ip::address_v4::loopback(), 0)),
          back_(io, udp::endpoint(asio::ip::address_v4::loopback(), 0)),
          server_(server.ip, server.port) {
        asio::co_spawn(io, client_to_server(), asio::detached);
        asio::co_spawn(io, server_to_client(), asio::detached);
    }
    Endpoint endpoint() const { return {front_.local_endpoint().address(), front_.local_endpoint().port()}; }
    const std::vector<Bytes>& sealed_from_client() const { return sealed_; }
    // Sends `record` to the server from the proxy's own socket: the path the session knows.
    void replay(const Bytes& record) { back_.send_to(asio::buffer(record), server_); }
    // Sends `record` to the client as if from the server.
    void inject_to_client(const Bytes& record) { front_.send_to(asio::buffer(record), client_); }
    void close() {
        asio::error_code ec;
        front_.close(ec);
        back_.close(ec);
    }

private:
    asio::awaitable<void> client_to_server() {
        Bytes buf(65536);
        for (;;) {
            asio::error_code ec;
            auto n = co_await front_.async_receive_from(asio::buffer(buf), client_, asio::redirect_error(asio::use_awaitable, ec));
            if (ec == asio::error::operation_aborted || !front_.is_open()) co_return;
            if (ec) continue;
            Bytes datagram(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
            if (!datagram.empty() && datagram[0] == static_cast<std::uint8_t>(session::RecordType::sealed)) sealed_.push_back(datagram);
            back_.send_to(asio::buffer(datagram), server_, 0, ec);
        }
    }
    asio::awaitable<void> server_to_client() {
        Bytes buf(65536);
        udp::endpoint from;
        for (;;) {
            asio::error_code ec;
            auto n = co_await back_.async_receive_from(asio::buffer(buf), from, asio::redirect_error(asio::use_awaitable, ec));
            if (ec == asio::error::operation_aborted || !back_.is_open()) co_return;
            if (ec) continue;
            front_.send_to(asio::buffer(buf.data(), n), client_, 0, ec);
        }
    }

    udp::socket front_, back_;
    udp::endpoint server_, client_;
    std::vector<Bytes> sealed_;
};

asio::awaitable<void> sleep(asio::io_context& io, std::chrono::milliseconds d) {
    asio::steady_timer t(io, d);
    co_await t.async_wait(asio::use_awaitable);
}

asio::awaitable<void> expect_echo(const PipePtr& pipe, const std::string& text) {
    co_await pipe->send(to_bytes(text));
    auto reply = co_await pipe->recv(1s);
    EXPECT_EQ(as_chars(reply), text);
}

Bytes forged(session::RecordType type, session::SessionId receiver, ByteView rest) {
    Bytes out(session::sealed_prefix);
    out[0] = static_cast<std::uint8_t>(type);
    session::put_id(out.data() + 1, receiver);
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
}

}  // namespace

TEST(HostileSession, ForgedAndReplayedUdpRecordsFromAnotherSourceAreIgnored) {
    test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        test::SessionServer server(io);
        UdpProxy proxy(io, server.endpoint());
        auto demux = std::make_shared<session::Demux>();
        auto pipe = co_await test::dial_session(UDP, proxy.endpoint(), server.public_key(), demux);
        co_await expect_echo(pipe, "before the forgeries");
        auto served = std::dynamic_pointer_cast<session::Session>(server.links().back());
        auto client = std::dynamic_pointer_cast<session::Session>(pipe);
        EXPECT_TRUE(served && client);
        if (!served || !client) co_return;
        auto server_path = served->remote_endpoint();

        // The spoofer knows both session ids (it watched the wire) but not the keys. It writes
        // to the server from a socket of its own, and as the man in the middle from the
        // proxy's sockets, to both ends. (The client's socket is connected to the proxy: the
        // kernel would drop the spoofer's datagrams before the session sees them.)
        udp::socket spoofer(io, udp::endpoint(asio::ip::address_v4::loopback(), 0));
        udp::endpoint to_server(server.endpoint().ip, server.endpoint().port);
        auto forgeries_for = [](session::SessionId id) {
            std::vector<Bytes> out;
            out.push_back(forged(session::RecordType::sealed, id, Bytes(48, 0xA5)));
            out.push_back(session::encode_plain(id, session::Kind::close, as_bytes(std::string("spoofed close"))).to_bytes());
            out.push_back(session::encode_plain(id, session::Kind::ping, Bytes(8, 0x42)).to_bytes());
            out.push_back(session::encode_plain(id, session::Kind::data, as_bytes(std::string("forged data"))).to_bytes());
            out.push_back(session::encode_refuse(session::Refuse{id, "spoofed refusal"}));
            out.push_back(session::encode_reply(session::Reply{id, 7, false, Bytes()}));
            return out;
        };
        auto server_before = served->dropped();
        auto client_before = client->dropped();
        for (auto& record : forgeries_for(served->local_id())) {
            spoofer.send_to(asio::buffer(record), to_server);
            proxy.replay(record);
        }
        for (auto& record : forgeries_for(client->local_id())) proxy.inject_to_client(record);
        co_await sleep(io, 200ms);
        EXPECT_TRUE(pipe->is_open());
        EXPECT_TRUE(served->is_open());
        // Every forgery reached its session and was dropped there (not lost on the way): all
        // but the refusal on the server (only an initiator reads one); on the client the
        // refusal and the reply are ignored once it is established.
        EXPECT_EQ(served->dropped() - server_before, 2u * 5u);
        EXPECT_EQ(client->dropped() - client_before, 4u);
        EXPECT_EQ(served->remote_endpoint().to_string(), server_path.to_string()) << "a forged record moved the session";
        EXPECT_EQ(spoofer.available(), 0u) << "the forger got an answer";
        co_await expect_echo(pipe, "after the forgeries");

        // A captured data record, replayed from the path itself and from another source.
        auto captured_before = proxy.sealed_from_client().size();
        co_await expect_echo(pipe, "only once");
        EXPECT_GT(proxy.sealed_from_client().size(), captured_before);
        auto captured = proxy.sealed_from_client().back();
        auto replays_before = served->dropped();
        for (int i = 0; i < 3; ++i) proxy.replay(captured);
        spoofer.send_to(asio::buffer(captured), to_server);
        co_await sleep(io, 200ms);
        EXPECT_EQ(served->dropped() - replays_before, 4u) << "each replay is dropped as one";
        EXPECT_EQ(served->remote_endpoint().to_string(), server_path.to_string()) << "a replay from another source moved the session";
        co_await pipe->send(to_bytes("after the replay"));
        auto next = co_await pipe->recv(1s);
        EXPECT_EQ(as_chars(next), "after the replay") << "a replayed record was delivered again";
        EXPECT_EQ(spoofer.available(), 0u);
        EXPECT_TRUE(pipe->is_open());

        pipe->close();
        proxy.close();
        server.close();
    });
}

namespace {

using tcp = asio::ip::tcp;

// Passes one TCP connection through to the server, slipping `inject` (raw bytes) to the
// client before the server's first record, or right after it.
class InjectingTcpProxy {
public:
    enum class When { before_reply, after_reply };
    InjectingTcpProxy(asio::io_context& io, Endpoint server, Bytes inject, When when)
        : acceptor_(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)), client_(io), server_(io),
          to_(server.ip, server.port), inject_(std::move(inject)), when_(when) {
        asio::co_spawn(io, run(), asio::detached);
    }
    Endpoint endpoint() const { return {acceptor_.local_endpoint().address(), acceptor_.local_endpoint().port()}; }
    void close() {
        asio::error_code ec;
        acceptor_.close(ec);
        client_.close(ec);
        server_.close(ec);
    }
    // Its tasks use its sockets: the owner waits for them after close() before destroying it.
    bool running() const { return running_ > 0; }

private:
    struct Running {
        explicit Running(int& count) : count(count) { ++count; }
        ~Running() { --count; }
        int& count;
    };

    asio::awaitable<void> run() {
        Running running(running_);
        asio::error_code ec;
        client_ = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        co_await server_.async_connect(to_, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        auto ex = co_await asio::this_coro::executor;
        asio::co_spawn(ex, pump(client_, server_), asio::detached);
        if (when_ == When::before_reply) co_await asio::async_write(client_, asio::buffer(inject_), asio::redirect_error(asio::use_awaitable, ec));
        std::array<std::uint8_t, session::tcp_length_size> length{};
        co_await asio::async_read(server_, asio::buffer(length), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        Bytes first(session::get_id(length.data()));  // the u32 length prefix
        co_await asio::async_read(server_, asio::buffer(first), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        co_await asio::async_write(client_, asio::buffer(length), asio::redirect_error(asio::use_awaitable, ec));
        co_await asio::async_write(client_, asio::buffer(first), asio::redirect_error(asio::use_awaitable, ec));
        if (when_ == When::after_reply) co_await asio::async_write(client_, asio::buffer(inject_), asio::redirect_error(asio::use_awaitable, ec));
        co_await pump(server_, client_);
    }
    asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to) {
        Running running(running_);
        std::array<std::uint8_t, 16384> buf{};
        for (;;) {
            asio::error_code ec;
            auto n = co_await from.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            co_await asio::async_write(to, asio::buffer(buf.data(), n), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
        }
        asio::error_code ignored;
        to.shutdown(tcp::socket::shutdown_send, ignored);
    }

    tcp::acceptor acceptor_;
    tcp::socket client_, server_;
    tcp::endpoint to_;
    Bytes inject_;
    When when_;
    int running_ = 0;
};

}  // namespace

// Issue 11's first finding: a proxy that passes the handshake through but slips a plaintext
// data record in had the dialler deliver it as the peer's reply on an "encrypted" link.
TEST(HostileSession, PlaintextInjectedIntoATcpIntroductionIsNeverDelivered) {
    for (auto when : {InjectingTcpProxy::When::before_reply, InjectingTcpProxy::When::after_reply}) {
        SCOPED_TRACE(when == InjectingTcpProxy::When::before_reply ? "before the reply" : "after the reply");
        test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
            auto t0 = std::chrono::steady_clock::now();
            test::SessionServer server(io);
            // The injected record names an id the proxy cannot know yet; 1 is as good as any.
            auto record = session::encode_plain(1, session::Kind::data, as_bytes(std::string("injected by the proxy"))).to_bytes();
            auto framed_length = session::encode_length(record.size());
            Bytes framed(framed_length.begin(), framed_length.end());
            framed.insert(framed.end(), record.begin(), record.end());
            InjectingTcpProxy proxy(io, server.endpoint(), framed, when);
            auto demux = std::make_shared<session::Demux>();
            std::string outcome;
            try {
                auto pipe = co_await test::dial_session(TCP, proxy.endpoint(), server.public_key(), demux);
                try {
                    auto got = co_await pipe->recv(500ms);
                    outcome = "delivered: " + std::string(as_chars(got));
                } catch (const Exception& e) {
                    outcome = "link ended: " + e.error().message;
                }
                pipe->close();
            } catch (const Exception& e) {
                outcome = "dial failed: " + e.error().message;
            }
            std::printf("[figure] tcp injection: %s\n", outcome.c_str());
            EXPECT_EQ(outcome.find("injected"), std::string::npos) << outcome;
            EXPECT_EQ(outcome.rfind("delivered", 0), std::string::npos) << outcome;
            // ...and at once: the introduction notices its session ended (it slept out the
            // whole 5 s handshake budget when the record came during the confirmation).
            auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
            EXPECT_LT(took, 1000ms);
            std::printf("[figure] tcp injection: outcome after %ld ms\n", long(took.count()));
            proxy.close();
            while (proxy.running()) co_await asio::post(io, asio::use_awaitable);
            server.close();
        });
    }
}

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

        // The spoofer knows both session ids (it watched the wire) but not the keys.
        udp::socket spoofer(io, udp::endpoint(asio::ip::address_v4::loopback(), 0));
        udp::endpoint to_server(server.endpoint().ip, server.endpoint().port);
        udp::endpoint to_client(client->local_endpoint().ip, client->local_endpoint().port);
        Bytes nonce(8, 0x42);
        std::vector<std::pair<udp::endpoint, Bytes>> forgeries;
        std::vector<std::pair<udp::endpoint, session::SessionId>> targets;
        targets.emplace_back(to_server, served->local_id());
        targets.emplace_back(to_client, client->local_id());
        for (auto& [to, id] : targets) {
            Bytes junk(48, 0xA5);
            forgeries.push_back({to, forged(session::RecordType::sealed, id, junk)});
            forgeries.push_back({to, session::encode_plain(id, session::Kind::close, as_bytes(std::string("spoofed close")))});
            forgeries.push_back({to, session::encode_plain(id, session::Kind::ping, nonce)});
            forgeries.push_back({to, session::encode_plain(id, session::Kind::data, as_bytes(std::string("forged data")))});
            forgeries.push_back({to, session::encode_refuse(session::Refuse{id, "spoofed refusal"})});
            forgeries.push_back({to, session::encode_reply(session::Reply{id, 7, false, Bytes()})});
        }
        for (auto& [to, record] : forgeries) spoofer.send_to(asio::buffer(record), to);
        co_await sleep(io, 200ms);
        EXPECT_TRUE(pipe->is_open());
        EXPECT_TRUE(served->is_open());
        EXPECT_EQ(served->remote_endpoint().to_string(), server_path.to_string()) << "a forged record moved the session";
        EXPECT_EQ(spoofer.available(), 0u) << "the forger got an answer";
        co_await expect_echo(pipe, "after the forgeries");

        // A captured data record, replayed from the path itself and from another source.
        auto captured_before = proxy.sealed_from_client().size();
        co_await expect_echo(pipe, "only once");
        EXPECT_GT(proxy.sealed_from_client().size(), captured_before);
        auto captured = proxy.sealed_from_client().back();
        for (int i = 0; i < 3; ++i) proxy.replay(captured);
        spoofer.send_to(asio::buffer(captured), to_server);
        co_await sleep(io, 200ms);
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

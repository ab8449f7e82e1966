// A TURN client closes within its bound when the server stops answering: the Deallocate waits
// at most close_timeout, a transaction another caller has in flight ends with "closed" at once,
// and nothing is left running that would keep the process alive (close_in_background runs
// detached: whatever it waits for, the CLI's io_context waits for too).
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/udp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "proto/turn_client.hpp"
#include "support/gate_helpers.hpp"
#include "support/run_async.hpp"
#include "support/turn_server.hpp"
#include "traversal/turn_relay.hpp"

using namespace warpgate;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using warpgate::test::run_async;

namespace {

const auto loopback = asio::ip::make_address("127.0.0.1");

// Relays one client's datagrams to the server and the server's back, dropping the server's
// while `drop_answers` is set: a server whose answers are lost, as on a lossy WAN link.
class AnswerDroppingProxy {
public:
    AnswerDroppingProxy(asio::any_io_executor ex, Endpoint server)
        : front_(ex, asio::ip::udp::endpoint(loopback, 0)), back_(ex, asio::ip::udp::endpoint(loopback, 0)) {
        back_.connect({server.ip, server.port});
        asio::co_spawn(ex, from_client(), asio::detached);
        asio::co_spawn(ex, from_server(), asio::detached);
    }
    Endpoint endpoint() const { return {loopback, front_.local_endpoint().port()}; }
    void close() {
        asio::error_code ec;
        front_.close(ec);
        back_.close(ec);
    }
    bool drop_answers = false;
    int dropped = 0;

private:
    asio::awaitable<void> from_client() {
        std::array<std::uint8_t, 65536> buffer;
        for (;;) {
            asio::error_code ec;
            auto n = co_await front_.async_receive_from(asio::buffer(buffer), client_, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            co_await back_.async_send(asio::buffer(buffer.data(), n), asio::redirect_error(asio::use_awaitable, ec));
        }
    }
    asio::awaitable<void> from_server() {
        std::array<std::uint8_t, 65536> buffer;
        for (;;) {
            asio::error_code ec;
            auto n = co_await back_.async_receive(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            if (drop_answers) {
                ++dropped;
                continue;
            }
            co_await front_.async_send_to(asio::buffer(buffer.data(), n), client_, asio::redirect_error(asio::use_awaitable, ec));
        }
    }
    asio::ip::udp::socket front_, back_;
    asio::ip::udp::endpoint client_;
};

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

constexpr auto close_timeout = 300ms;

turn::ClientOptions through(const test::TurnServer& server, const AnswerDroppingProxy& proxy) {
    turn::ClientOptions o;
    o.server = proxy.endpoint();
    o.username = server.options().user;
    o.password = server.options().password;
    o.local_ip = loopback;
    o.udp = stun::RetransmitPolicy::within(5000ms);  // long: a wait that close() does not end shows
    o.close_timeout = close_timeout;
    return o;
}

}  // namespace

TEST(TurnClose, ServerSilentAfterAllocationCloseEndsWithinItsBoundAndEndsATransactionInFlight) {
    test::TurnServer server;
    double close_ms = -1, bind_ended_after_close_ms = -1, linger_ms = -1;
    std::string bind_outcome;
    Clock::time_point closed_at;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        AnswerDroppingProxy proxy(io.get_executor(), server.endpoint());
        auto client = co_await turn::Client::allocate(io.get_executor(), through(server, proxy));
        proxy.drop_answers = true;
        bool bind_ended = false;
        Clock::time_point close_begin;
        // A ChannelBind whose answer is lost, in flight while the client closes.
        asio::co_spawn(io, [&, client]() -> asio::awaitable<void> {
            try {
                co_await client->bind_channel({loopback, 40000});
                bind_outcome = "bound";
            } catch (const Exception& e) {
                bind_outcome = e.what();
            }
            bind_ended = true;
            bind_ended_after_close_ms = ms_since(close_begin);
        }, asio::detached);
        co_await test::eventually([] { return false; }, 50ms);  // the ChannelBind is sent
        close_begin = Clock::now();
        co_await client->close();
        close_ms = ms_since(close_begin);
        EXPECT_TRUE(co_await test::eventually([&] { return bind_ended; }, 200ms)) << "the ChannelBind still waits after close()";
        EXPECT_GT(proxy.dropped, 0);
        proxy.close();
        closed_at = Clock::now();
    });
    linger_ms = ms_since(closed_at);
    std::cout << "close " << close_ms << " ms, ChannelBind ended " << bind_ended_after_close_ms << " ms after close began (" << bind_outcome
              << "), left running " << linger_ms << " ms\n";
    EXPECT_LT(close_ms, 2 * close_timeout.count() + 200);
    EXPECT_LT(bind_ended_after_close_ms, 2 * close_timeout.count() + 200);
    EXPECT_LT(linger_ms, 500);
}

// The way the turn plugin lets go of an allocation: a detached close that must end by itself.
TEST(TurnClose, CloseInBackgroundEndsWhenTheServerNoLongerAnswers) {
    test::TurnServer server;
    Clock::time_point released;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto proxy = std::make_shared<AnswerDroppingProxy>(io.get_executor(), server.endpoint());
        auto client = co_await turn::Client::allocate(io.get_executor(), through(server, *proxy));
        proxy->drop_answers = true;
        released = Clock::now();
        traversal::close_in_background(std::move(client));
        // The proxy goes once the close had time to end; io.run() returns only then.
        asio::steady_timer timer(io, 2 * close_timeout + 100ms);
        timer.async_wait([proxy](asio::error_code) { proxy->close(); });
    });
    auto ms = ms_since(released);
    std::cout << "the background close and the proxy ended after " << ms << " ms\n";
    EXPECT_LT(ms, 2 * close_timeout.count() + 600);
}

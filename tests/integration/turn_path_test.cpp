// TurnPath, the turn plugin's path: a session's records through two coturn allocations, both
// ways, and what closing it does (the allocation goes, the reader ends).
#include <gtest/gtest.h>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "support/run_async.hpp"
#include "support/turn_server.hpp"
#include "traversal/turn_relay.hpp"

using namespace warpgate;
using namespace std::chrono_literals;
using warpgate::test::run_async;

namespace {

turn::ClientOptions options_for(const test::TurnServer& server) {
    turn::ClientOptions o;
    o.server = server.endpoint();
    o.username = server.options().user;
    o.password = server.options().password;
    o.local_ip = asio::ip::make_address("127.0.0.1");
    o.udp = stun::RetransmitPolicy::within(1500ms);
    return o;
}

// Records a path's sink received, and why it ended.
struct Received {
    std::vector<std::string> records;
    std::optional<Error> end;
    session::RecordSink sink() {
        return [this](std::span<std::uint8_t> r) -> asio::awaitable<bool> {
            records.emplace_back(reinterpret_cast<const char*>(r.data()), r.size());
            co_return true;
        };
    }
    session::EndSink on_end() {
        return [this](Error why) { end = std::move(why); };
    }
};

asio::awaitable<bool> eventually(std::function<bool()> done) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (int i = 0; i < 300 && !done(); ++i) {
        timer.expires_after(10ms);
        co_await timer.async_wait(asio::use_awaitable);
    }
    co_return done();
}

asio::awaitable<void> send_text(session::Path& path, std::string_view text) { co_await path.send(as_bytes(text)); }

}  // namespace

TEST(TurnPath, CarriesRecordsBothWaysAndDeallocatesOnClose) {
    test::TurnServer server;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await turn::Client::allocate(io.get_executor(), options_for(server));
        auto b = co_await turn::Client::allocate(io.get_executor(), options_for(server));
        auto a_relayed = a->relayed();
        auto b_relayed = b->relayed();
        auto ab = co_await traversal::TurnPath::open(a, b_relayed);
        auto ba = co_await traversal::TurnPath::open(b, a_relayed);
        EXPECT_EQ(ab->local(), a_relayed);
        EXPECT_EQ(ab->remote(), b_relayed);
        EXPECT_EQ(ab->transport(), UDP);
        Received at_a, at_b;
        ab->start(at_a.sink(), at_a.on_end());
        ba->start(at_b.sink(), at_b.on_end());

        co_await send_text(*ab, "record 1");
        co_await send_text(*ab, "record 2");
        co_await send_text(*ba, "reply");
        ba->send_now(as_bytes("close record"));
        EXPECT_TRUE(co_await eventually([&] { return at_b.records.size() == 2 && at_a.records.size() == 2; }));
        EXPECT_EQ(at_b.records, (std::vector<std::string>{"record 1", "record 2"}));
        EXPECT_EQ(at_a.records, (std::vector<std::string>{"reply", "close record"}));

        ab->close();
        EXPECT_FALSE(ab->is_open());
        EXPECT_EQ(at_a.end.value_or(Error{}).code, Errc::closed) << "the sink's end handler hears of the close";
        EXPECT_TRUE(co_await eventually([&] { return !a->is_open(); })) << "closing the path deallocates";
        co_await eventually([&] { return server.log().find("lifetime=0") != std::string::npos; });
        EXPECT_NE(server.log().find("lifetime=0"), std::string::npos);
        ba->close();
        EXPECT_TRUE(co_await eventually([&] { return !b->is_open(); }));
    });
}

// Gate by nickname against a real warpgate-pnpd on loopback: a gate that registers "alice" at
// start is found by another gate (find) and linked to by name (connect), with or without the
// TLD; an unknown name and a gate without servers fail with errors that say why.
#include <gtest/gtest.h>

#include <warpgate/gate.hpp>

#include "support/node_fixture.hpp"
#include "support/pnpd.hpp"
#include "support/run_async.hpp"

namespace warpgate::test {
namespace {

using namespace std::chrono_literals;

GateOptions naming_gate(const TempDir& dir, const Pnpd& server, std::string nickname = {}) {
    auto options = loopback_gate(dir);
    options.conf.nickname_servers = {server.server()};
    options.conf.enable_nickname = !nickname.empty();
    options.conf.nickname = std::move(nickname);
    return options;
}

TEST(GateFind, AGateIsFoundAndLinkedByItsNickname) {
    Pnpd server;
    TempDir dir_a, dir_b;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto alice = co_await Gate::open(io.get_executor(), "alice", naming_gate(dir_a, server, "alice"));
        auto bob = co_await Gate::open(io.get_executor(), "bob", naming_gate(dir_b, server));
        alice.on_link([ex = io.get_executor()](Link link) {
            asio::co_spawn(ex, [link = std::make_shared<Link>(std::move(link))]() -> asio::awaitable<void> {
                auto m = co_await link->recv(5s);
                co_await link->send(m);
            }, asio::detached);
        });

        auto found = co_await bob.find("alice.p2p");
        EXPECT_EQ(to_text(found), alice.address_text());
        auto bare = co_await bob.find("alice");
        EXPECT_EQ(to_text(bare), alice.address_text());

        LinkOptions options{TCP, 10s};
        auto link = co_await bob.connect("alice.p2p", options);
        EXPECT_EQ(link.peer_id(), alice.node().node_id());
        co_await link.send(std::string_view("by name"));
        auto echo = co_await link.recv(5s);
        EXPECT_EQ(std::string(as_chars(echo)), "by name");
        link.close();

        Errc unknown = Errc::ok;
        try {
            co_await bob.find("nobody.p2p");
        } catch (const Exception& e) {
            unknown = e.errc();
            EXPECT_NE(std::string(e.what()).find("nobody"), std::string::npos) << e.what();
        }
        EXPECT_EQ(unknown, Errc::unreachable);
        co_await alice.close();
        co_await bob.close();
    });
}

TEST(GateFind, WithoutServersFindSaysHowToNameOne) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto gate = co_await Gate::open(io.get_executor(), "lonely", loopback_gate(dir));
        std::string message;
        Errc code = Errc::ok;
        try {
            co_await gate.connect("alice.p2p");
        } catch (const Exception& e) {
            code = e.errc();
            message = e.what();
        }
        EXPECT_EQ(code, Errc::config);
        EXPECT_NE(message.find("warpgate-pnpd"), std::string::npos) << message;
        co_await gate.close();
    });
}

}  // namespace
}  // namespace warpgate::test

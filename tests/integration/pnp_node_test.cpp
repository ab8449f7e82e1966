// Node::start's setup_nickname_service phase against a real warpgate-pnpd: the node's name
// resolves to its address the moment start() returns.
#include <gtest/gtest.h>

#include "proto/pnp_client.hpp"
#include "support/node_fixture.hpp"
#include "support/pnpd.hpp"
#include "support/run_async.hpp"

namespace warpgate::test {
namespace {

std::string phase_outcome(const Node& node, std::string_view name) {
    for (auto& p : node.phases())
        if (p.name == name) return p.outcome;
    return "(no such phase)";
}

TEST(PnpNode, StartRegistersTheNodesNickname) {
    Pnpd server;
    TempDir dir;
    auto options = loopback_node(dir);
    options.conf.enable_nickname = true;
    options.conf.nickname = "nodey";
    options.conf.nickname_servers.push_back(server.server());
    auto servers = options.conf.nickname_servers;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        Node node(io.get_executor(), options);
        co_await node.start();
        EXPECT_EQ(phase_outcome(node, "setup_nickname_service"), "registered nodey.p2p on 1 server(s)");
        pnp::Client client(io.get_executor(), servers, crypto::IdentityKey::generate());
        auto found = co_await client.lookup("nodey.p2p");
        EXPECT_TRUE(found && found->status == pnp::Status::ok);
        if (found) EXPECT_EQ(as_chars(found->value), node.address_text());
        co_await node.close();
    });
}

TEST(PnpNode, WithoutServersThePhaseSaysHowToNameOne) {
    TempDir dir;
    auto options = loopback_node(dir);
    options.conf.enable_nickname = true;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        Node node(io.get_executor(), options);
        co_await node.start();
        auto outcome = phase_outcome(node, "setup_nickname_service");
        EXPECT_NE(outcome.find("no nickname server configured"), std::string::npos) << outcome;
        EXPECT_NE(outcome.find("warpgate-pnpd"), std::string::npos) << outcome;
        co_await node.close();
    });
}

}  // namespace
}  // namespace warpgate::test

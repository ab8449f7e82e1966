#include <gtest/gtest.h>

#include <asio.hpp>
#include <warpgate/auto_connect.hpp>
#include <warpgate/node.hpp>

#include "support/node_fixture.hpp"
#include "support/run_async.hpp"

using namespace warpgate;
using namespace warpgate::test;

TEST(Node, StartsAndClosesOnLoopbackWithTheTestPreset) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        Node node(io.get_executor(), loopback_node(dir));
        std::vector<std::string> progress;
        co_await node.start({[&](std::string_view line) { progress.emplace_back(line); }});
        EXPECT_TRUE(node.started());
        EXPECT_EQ(node.node_id().size(), 25u);
        EXPECT_NE(node.listen_port(), 0);
        EXPECT_EQ(node.supported(), std::vector<Family>{IP4});
        auto parsed = parse_address(node.address());
        EXPECT_TRUE(parsed && *parsed == node.node_address());
        EXPECT_EQ(node.node_address().public_key, node.public_key());
        EXPECT_EQ(node.node_address().v4.size(), 1u);
        if (!node.node_address().v4.empty()) EXPECT_EQ(node.node_address().v4[0].nic_ip, ip("127.0.0.1"));
        // The original's twelve phases, in its order, each reported.
        std::vector<std::string> names;
        for (auto& p : node.phases()) names.push_back(p.name);
        std::vector<std::string> expected = {
            "load_network_interfaces", "load_machine_identity", "load_cryptography_and_auth",
            "initialize_system_clock", "load_p2p_stun_clients", "setup_router_and_signal",
            "initialize_punch_coordination", "start_maintenance_tasks", "listen_on_ifs",
            "build_node_address", "start_background_port_forwarding", "setup_nickname_service",
            "setup_traversal_plugins", "finalize_port_forwarding"};
        auto sorted_names = names, sorted_expected = expected;
        std::sort(sorted_names.begin(), sorted_names.end());
        std::sort(sorted_expected.begin(), sorted_expected.end());
        EXPECT_EQ(sorted_names, sorted_expected);  // phase 4's three finish in any order
        EXPECT_EQ(names.front(), expected.front());
        EXPECT_EQ(names.back(), expected.back());
        EXPECT_EQ(progress.size(), expected.size());
        for (auto& p : node.phases())
            if (p.name == "load_p2p_stun_clients" || p.name == "setup_router_and_signal") EXPECT_EQ(p.outcome, "disabled");
        co_await node.close();
        co_await node.close();  // a second close is a no-op
    });
}

TEST(Node, IdentityIsStableAcrossRestarts) {
    TempDir dir;
    std::string first, second;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await Node::open(io.get_executor(), loopback_node(dir));
        first = a->node_id();
        co_await a->close();
        auto b = co_await Node::open(io.get_executor(), loopback_node(dir));
        second = b->node_id();
        co_await b->close();
    });
    EXPECT_EQ(first, second);
    TempDir other;
    std::string third;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto c = co_await Node::open(io.get_executor(), loopback_node(other));
        third = c->node_id();
        co_await c->close();
    });
    EXPECT_NE(first, third);
}

TEST(Node, PortInUseIsAClearError) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto first = co_await Node::open(io.get_executor(), loopback_node(dir));
        auto options = loopback_node(dir);
        options.port = first->listen_port();
        Node second(io.get_executor(), options);
        try {
            co_await second.start();
            ADD_FAILURE() << "a second node bound the same port";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::address_in_use);
            EXPECT_NE(std::string(e.what()).find(std::to_string(first->listen_port())), std::string::npos) << e.what();
        }
        co_await first->close();
    });
}

TEST(Node, RejectsAnAddressThatIsNotLocal) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        Node node(io.get_executor(), loopback_node(dir, "198.51.100.77"));
        try {
            co_await node.start();
            ADD_FAILURE() << "started on an address this machine does not have";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::config);
        }
    });
}

TEST(Node, DestructionWithoutCloseIsSafe) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await Node::open(io.get_executor(), loopback_node(dir));
        auto b = co_await Node::open(io.get_executor(), loopback_node(dir));
        auto result = co_await auto_connect(*a, b->node_address(), {});
        co_await result.pipe->send(to_bytes("x"));
        a.reset();  // no close(): sockets and tasks must still go
        b.reset();
    });  // run_async returns only once the io_context has no work left
}

TEST(Node, MessageCallbacksSeeMessagesOfUnclaimedLinksOnly) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto server = co_await Node::open(io.get_executor(), loopback_node(dir));
        auto client = co_await Node::open(io.get_executor(), loopback_node(dir));
        std::vector<std::string> seen;
        server->add_msg_cb([&](Message m, Endpoint from, Pipe& pipe) -> asio::awaitable<void> {
            seen.emplace_back(as_chars(m));
            EXPECT_EQ(from, pipe.remote_endpoint());
            EXPECT_EQ(pipe.peer_node_id(), client->node_id());
            co_await pipe.send(to_bytes("ack " + std::string(as_chars(m))));
        });
        // A raw datagram that never introduced itself reaches nobody (and gets no answer).
        asio::ip::udp::socket raw(io, asio::ip::udp::endpoint(ip("127.0.0.1"), 0));
        std::vector<std::uint8_t> datagram = {0, 'r', 'a', 'w'};
        co_await raw.async_send_to(asio::buffer(datagram), {ip("127.0.0.1"), server->listen_port()}, asio::use_awaitable);
        // An introduced link nobody claimed (no on_inbound) stays with the callbacks.
        for (auto transport : {TCP, UDP}) {
            ConnectOptions options;
            options.transport = transport;
            auto result = co_await auto_connect(*client, server->node_address(), options);
            co_await result.pipe->send(to_bytes("abc"));
            auto reply = co_await result.pipe->recv(2s);
            EXPECT_EQ(as_chars(reply), "ack abc");
            result.pipe->close();
        }
        EXPECT_EQ(seen, (std::vector<std::string>{"abc", "abc"}));
        co_await client->close();
        co_await server->close();
    });
}

#include <gtest/gtest.h>

#include <asio.hpp>
#include <warpgate/auto_connect.hpp>
#include <warpgate/gate.hpp>

#include "crypto/identity.hpp"
#include "support/node_fixture.hpp"
#include "support/run_async.hpp"

using namespace warpgate;
using namespace warpgate::test;

namespace {

class SecureLink : public ::testing::TestWithParam<Transport> {};

}  // namespace

TEST_P(SecureLink, BothSidesLearnTheVerifiedPeer) {
    TempDir dir;
    auto transport = GetParam();
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = loopback_gate(dir);
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", options);
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", options);
        auto out = co_await alpha.connect(bravo.node().node_address(), {transport, std::chrono::seconds(5)});
        auto in = co_await bravo.accept(std::chrono::seconds(5));
        EXPECT_TRUE(out.encrypted());
        EXPECT_TRUE(in.encrypted());
        EXPECT_EQ(out.peer_id(), bravo.node().node_id());
        EXPECT_EQ(in.peer_id(), alpha.node().node_id());
        co_await out.send(std::string_view("sealed"));
        auto got = co_await in.recv(std::chrono::seconds(5));
        EXPECT_EQ(got, to_bytes("sealed"));
        co_await alpha.close();
        co_await bravo.close();
    });
}

// A node answers at the dialled address, but it is not the node whose key the address
// carries (a man in the middle substituting its own key, or another node on that port):
// the handshake fails and nothing connects.
TEST_P(SecureLink, AnotherNodeAtTheDialledAddressIsRejected) {
    TempDir dir;
    auto transport = GetParam();
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = loopback_gate(dir);
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", options);
        auto mallory = co_await Gate::open(io.get_executor(), "mallory", options);
        auto forged = mallory.node().node_address();
        forged.public_key = crypto::IdentityKey::generate().public_key();  // the key alpha expects
        try {
            co_await alpha.connect(forged, {transport, std::chrono::seconds(5)});
            ADD_FAILURE() << "connected to a node that does not hold the address's key";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::unreachable) << e.what();
            EXPECT_NE(std::string(e.what()).find("authentication failed"), std::string::npos) << e.what();
        }
        co_await alpha.close();
        co_await mallory.close();
    });
}

INSTANTIATE_TEST_SUITE_P(Loopback, SecureLink, ::testing::Values(TCP, UDP),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(PlaintextLinks, WorkWhenBothSidesTurnEncryptionOff) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = loopback_gate(dir);
        options.conf.encrypt_links = false;
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", options);
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", options);
        auto out = co_await alpha.connect(bravo.node().node_address(), {});
        auto in = co_await bravo.accept(std::chrono::seconds(5));
        EXPECT_FALSE(out.encrypted());
        EXPECT_EQ(out.peer_id(), "");
        co_await out.send(std::string_view("plain"));
        auto got = co_await in.recv(std::chrono::seconds(5));
        EXPECT_EQ(got, to_bytes("plain"));
        co_await alpha.close();
        co_await bravo.close();
    });
}

TEST(PlaintextLinks, ANodeRequiringEncryptionRefusesThem) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto plain = loopback_gate(dir);
        plain.conf.encrypt_links = false;
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", plain);
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", loopback_gate(dir));
        try {
            co_await alpha.connect(bravo.node().node_address(), {TCP, std::chrono::seconds(5)});
            ADD_FAILURE() << "a plaintext link reached a node that requires encryption";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::unreachable) << e.what();
            // The refused side is told why, in the peer's words.
            EXPECT_NE(std::string(e.what()).find("refused the link: needs encryption"), std::string::npos) << e.what();
        }
        co_await alpha.close();
        co_await bravo.close();
    });
}

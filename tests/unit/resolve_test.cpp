// net::resolve without the network: literals, a family mismatch, and a name from /etc/hosts.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include "net/resolve.hpp"
#include "support/run_async.hpp"

using namespace warpgate;
using namespace std::chrono_literals;

namespace {
// Built out here: GCC 12 mishandles braced temporaries inside a co_await expression.
HostPort host(const char* name, std::uint16_t port) { return HostPort{name, port}; }
}  // namespace

TEST(Resolve, LiteralsNeedNoLookup) {
    test::run_async([](asio::io_context& io) -> asio::awaitable<void> {
        auto any_family = std::optional<Family>();
        auto v4 = co_await net::resolve(io.get_executor(), host("192.0.2.7", 3478), any_family, 1s);
        Endpoint expected{asio::ip::make_address("192.0.2.7"), 3478};
        EXPECT_TRUE(v4 && v4->size() == 1 && v4->front() == expected);
        auto v6 = co_await net::resolve(io.get_executor(), host("::1", 5), IP6, 1s);
        EXPECT_TRUE(v6 && v6->front().ip.is_loopback());
        auto mismatch = co_await net::resolve(io.get_executor(), host("192.0.2.7", 3478), IP6, 1s);
        EXPECT_TRUE(!mismatch && mismatch.error().code == Errc::unsupported);
    });
}

TEST(Resolve, NamesFromTheHostsFileWithinTheTimeout) {
    test::run_async([](asio::io_context& io) -> asio::awaitable<void> {
        auto begin = std::chrono::steady_clock::now();
        auto found = co_await net::resolve(io.get_executor(), host("localhost", 1883), IP4, 3s);
        EXPECT_TRUE(found) << found.error().to_string();
        if (found) {
            EXPECT_TRUE(found->front().ip.is_loopback());
            EXPECT_EQ(found->front().port, 1883);
        }
        EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
    });
}

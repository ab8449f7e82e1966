// The CLI's long-running commands as a service manager sees them: SIGTERM or SIGINT ends them
// with exit 0 and no error line, also while the node is still starting; a node started again
// on its port at once is not refused because of that port's connections in TIME_WAIT.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/cli_process.hpp"
#include "support/free_port.hpp"
#include "support/temp_dir.hpp"

namespace warpgate::test {
namespace {

using namespace std::chrono_literals;

struct Service {
    std::string name;
    std::vector<std::string> args;
};

std::vector<Service> services() {
    return {{"listen", {"listen"}}, {"pipe", {"pipe", "listen"}}, {"forward", {"forward", "listen", "--to", "127.0.0.1:9"}}};
}

TEST(CliService, EveryServiceExitsZeroOnSigtermAndSigint) {
    if (!std::filesystem::exists(cli_path())) GTEST_SKIP() << "the CLI is not built: " << cli_path();
    TempDir dir;
    for (auto& service : services()) {
        for (int sig : {SIGTERM, SIGINT}) {
            SCOPED_TRACE(service.name + " " + strsignal(sig));
            auto addr = dir.path() / (service.name + std::to_string(sig) + ".addr");
            auto args = service.args;
            args.insert(args.end(), {"--test", "--ip", "127.0.0.1", "--port", "0", "--addr-out", addr.string()});
            CliProcess process(args, {.dir = dir.path(), .name = service.name + std::to_string(sig)});
            ASSERT_TRUE(process.wait_for_file(addr, 20s)) << process.err();
            process.signal(sig);
            EXPECT_EQ(process.wait(10s), 0) << process.err();
            EXPECT_EQ(process.err().find("warpgate:"), std::string::npos) << process.err();
        }
    }
}

TEST(CliService, ListenStoppedWhileStartingExitsZero) {
    if (!std::filesystem::exists(cli_path())) GTEST_SKIP() << "the CLI is not built: " << cli_path();
    TempDir dir;
    auto addr = dir.path() / "listener.addr";
    // A STUN server that never answers holds start() in its STUN phase.
    auto silent = free_port();
    CliProcess process({"listen", "--test", "--ip", "127.0.0.1", "--port", "0", "--stun", "127.0.0.1:" + std::to_string(silent), "--addr-out",
                        addr.string()},
                       {.dir = dir.path(), .name = "listener"});
    std::this_thread::sleep_for(400ms);
    ASSERT_FALSE(std::filesystem::exists(addr)) << "start() ended before the signal; the test would not test it";
    process.signal(SIGTERM);
    EXPECT_EQ(process.wait(10s), 0) << process.err();
    EXPECT_EQ(process.err().find("warpgate:"), std::string::npos) << process.err();
}

// Whether /proc/net/tcp lists a TIME_WAIT connection from local port `port`.
bool time_wait_on(std::uint16_t port) {
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state;
        fields >> slot >> local >> remote >> state;
        if (state == "06" && std::stoul(local.substr(local.rfind(':') + 1), nullptr, 16) == port) return true;
    }
    return false;
}

TEST(CliService, ListenRestartsOnAPortWhoseConnectionsAreInTimeWait) {
    if (!std::filesystem::exists(cli_path())) GTEST_SKIP() << "the CLI is not built: " << cli_path();
    TempDir dir;
    auto port = free_port();
    // A connection from the port, closed by this side first so that it sits in TIME_WAIT,
    // made with SO_REUSEADDR but not SO_REUSEPORT (so the listener's SO_REUSEPORT alone does
    // not cover it): without SO_REUSEADDR on the listener the kernel refuses the bind.
    {
        asio::io_context io;
        using asio::ip::tcp;
        auto loopback = asio::ip::make_address("127.0.0.1");
        tcp::acceptor peer(io, tcp::endpoint(loopback, 0));
        tcp::socket dialled(io);
        dialled.open(tcp::v4());
        dialled.set_option(tcp::socket::reuse_address(true));
        dialled.bind(tcp::endpoint(loopback, port));
        dialled.connect(peer.local_endpoint());
        auto accepted = peer.accept();
        dialled.close();
        std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(time_wait_on(port)) << "no TIME_WAIT connection on port " << port << "; the test would not test it";
    auto addr = dir.path() / "listener.addr";
    CliProcess process({"listen", "--test", "--ip", "127.0.0.1", "--port", std::to_string(port), "--addr-out", addr.string()},
                       {.dir = dir.path(), .name = "listener"});
    EXPECT_TRUE(process.wait_for_file(addr, 20s)) << process.err();
    EXPECT_EQ(process.err().find("already in use"), std::string::npos) << process.err();
    process.signal(SIGTERM);
    EXPECT_EQ(process.wait(10s), 0) << process.err();
}

}  // namespace
}  // namespace warpgate::test

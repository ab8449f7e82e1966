// `warpgate pipe` and `warpgate forward` between two processes on loopback (test preset,
// encrypted links, each process with its own identity): a 100 MiB file through a pipe with
// the same sha256, and HTTP requests through a forward to a real python3 http.server.
#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <random>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "crypto/digest.hpp"
#include "support/cli_process.hpp"
#include "support/free_port.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace warpgate::test {
namespace {

using namespace std::chrono_literals;

Bytes random_bytes(std::size_t size, std::uint64_t seed) {
    Bytes out(size);
    std::mt19937_64 gen(seed);
    for (std::size_t i = 0; i + 8 <= size; i += 8) {
        auto v = gen();
        std::memcpy(out.data() + i, &v, 8);
    }
    return out;
}

void write_file(const std::filesystem::path& file, ByteView bytes) {
    std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Bytes read_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

const std::vector<std::string> loopback = {"--test", "--ip", "127.0.0.1"};

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

TEST(CliPipe, Carries100MiBBothWaysAndBothSidesExitZero) {
    if (!std::filesystem::exists(cli_path())) GTEST_SKIP() << "the CLI is not built: " << cli_path();
    TempDir dir;
    auto big = random_bytes(100 * 1024 * 1024, 19);
    auto reply = random_bytes(300 * 1000 + 3, 20);  // the other direction, not a multiple of a chunk
    write_file(dir.path() / "big.bin", big);
    write_file(dir.path() / "reply.bin", reply);
    auto addr = dir.path() / "listener.addr";

    CliProcess listener(with({"pipe", "listen", "--port", "0", "--addr-out", addr.string()}, loopback),
                        {.dir = dir.path(), .name = "listener", .stdin_from = dir.path() / "reply.bin"});
    ASSERT_TRUE(listener.wait_for_file(addr, 20s)) << listener.err();
    auto begin = std::chrono::steady_clock::now();
    // No --port: a dialler takes any free port (the listener may hold the derived one).
    CliProcess connector(with({"pipe", "connect", "@" + addr.string()}, loopback),
                         {.dir = dir.path(), .name = "connector", .stdin_from = dir.path() / "big.bin"});
    auto connector_code = connector.wait(60s);
    auto listener_code = listener.wait(10s);
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    ASSERT_EQ(connector_code, 0) << connector.err();
    ASSERT_EQ(listener_code, 0) << listener.err();
    EXPECT_EQ(connector.err().find("warpgate:"), std::string::npos) << connector.err();
    EXPECT_EQ(listener.err().find("warpgate:"), std::string::npos) << listener.err();
    auto received = read_file(listener.stdout_path());
    EXPECT_EQ(received.size(), big.size());
    EXPECT_EQ(crypto::sha256(received), crypto::sha256(big));
    EXPECT_EQ(read_file(connector.stdout_path()), reply);
    std::cout << "100 MiB through warpgate pipe in " << seconds << " s (" << 100 / seconds << " MiB/s)" << std::endl;
    RecordProperty("pipe_mib_per_s", std::to_string(100 / seconds));
}

TEST(CliPipe, TheListenerFailsWhenTheLinkEndsBeforeThePeersStream) {
    if (!std::filesystem::exists(cli_path())) GTEST_SKIP() << "the CLI is not built: " << cli_path();
    TempDir dir;
    auto addr = dir.path() / "listener.addr";
    CliProcess listener(with({"pipe", "listen", "--port", "0", "--addr-out", addr.string()}, loopback), {.dir = dir.path(), .name = "listener"});
    ASSERT_TRUE(listener.wait_for_file(addr, 20s)) << listener.err();
    // A fifo nobody writes: the connector's stdin never ends, so its stream is cut by SIGKILL.
    auto fifo = dir.path() / "stdin.fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    int keep_open = open(fifo.c_str(), O_RDWR);  // the connector's open of the fifo does not block
    {
        CliProcess connector(with({"pipe", "connect", "@" + addr.string()}, loopback),
                             {.dir = dir.path(), .name = "connector", .stdin_from = fifo});
        std::this_thread::sleep_for(1500ms);  // linked by then (loopback, direct_connect)
        connector.signal(SIGKILL);
        connector.wait(5s);
    }
    close(keep_open);
    auto code = listener.wait(40s);
    EXPECT_EQ(code, 1) << listener.err();
    EXPECT_NE(listener.err().find("before the peer's stream ended"), std::string::npos) << listener.err();
}

struct HttpReply {
    std::string head;
    Bytes body;
};

HttpReply http_get(std::uint16_t port, const std::string& path) {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    asio::write(socket, asio::buffer(request));
    Bytes all;
    asio::error_code ec;
    asio::read(socket, asio::dynamic_buffer(all), ec);  // until the server closes (HTTP/1.0)
    std::string text(all.begin(), all.end());
    auto split = text.find("\r\n\r\n");
    if (split == std::string::npos) return {text, {}};
    return {text.substr(0, split), Bytes(all.begin() + static_cast<std::ptrdiff_t>(split) + 4, all.end())};
}

bool wait_for_text(CliProcess& process, const std::string& text, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (process.out().find(text) == std::string::npos) {
        if (process.wait(0ms) || std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

TEST(CliForward, HttpRequestsThroughTheForwardGetTheFile) {
    if (!std::filesystem::exists(cli_path())) GTEST_SKIP() << "the CLI is not built: " << cli_path();
    TempDir dir;
    auto site = dir.path() / "site";
    std::filesystem::create_directory(site);
    auto file = random_bytes(3 * 1024 * 1024 + 5, 21);
    write_file(site / "file.bin", file);
    std::uint16_t http_port = 0;
    std::unique_ptr<ServerProcess> http;
    start_on_free_ports([&] {
        http_port = free_port();
        http = std::make_unique<ServerProcess>(
            std::vector<std::string>{"python3", "-m", "http.server", std::to_string(http_port), "--bind", "127.0.0.1", "--directory", site.string()},
            ServerProcess::Options{.tcp_ports = {http_port}});
    });

    auto addr = dir.path() / "listener.addr";
    CliProcess listener(with({"forward", "listen", "--to", "127.0.0.1:" + std::to_string(http_port), "--port", "0", "--addr-out", addr.string()}, loopback),
                        {.dir = dir.path(), .name = "listener"});
    ASSERT_TRUE(listener.wait_for_file(addr, 20s)) << listener.err();
    auto local_port = free_port();
    CliProcess connector(with({"forward", "connect", "@" + addr.string(), "--local", "127.0.0.1:" + std::to_string(local_port)}, loopback),
                         {.dir = dir.path(), .name = "connector"});
    ASSERT_TRUE(wait_for_text(connector, "forwarding", 20s)) << connector.err();

    for (int i = 0; i < 2; ++i) {  // each request its own connection, so its own link
        auto reply = http_get(local_port, "/file.bin");
        EXPECT_NE(reply.head.find(" 200 "), std::string::npos) << reply.head;
        EXPECT_EQ(reply.body.size(), file.size());
        EXPECT_TRUE(reply.body == file);
    }
    auto missing = http_get(local_port, "/nothing-here");
    EXPECT_NE(missing.head.find(" 404 "), std::string::npos) << missing.head;

    connector.signal(SIGTERM);
    listener.signal(SIGINT);
    EXPECT_EQ(connector.wait(10s), 0) << connector.err();
    EXPECT_EQ(listener.wait(10s), 0) << listener.err();
    EXPECT_EQ(connector.err().find("warpgate:"), std::string::npos) << connector.err();
    EXPECT_EQ(listener.err().find("warpgate:"), std::string::npos) << listener.err();
    EXPECT_NE(listener.out().find("link from"), std::string::npos) << listener.out();
}

}  // namespace
}  // namespace warpgate::test

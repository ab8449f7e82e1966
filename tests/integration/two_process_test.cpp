// Two processes on this machine: `warpgate listen` and `warpgate connect`, over loopback.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/free_port.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

using namespace warpgate;
using namespace warpgate::test;

namespace {

std::string cli() { return std::string(WARPGATE_BINARY_DIR) + "/apps/warpgate"; }

std::string run_and_capture(const std::string& command, int& status) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    std::array<char, 4096> buf;
    while (auto n = fread(buf.data(), 1, buf.size(), pipe.get())) out.append(buf.data(), n);
    status = pclose(pipe.release());
    return out;
}

}  // namespace

TEST(TwoProcesses, ListenAndConnectOverLoopback) {
    if (!std::filesystem::exists(cli())) GTEST_SKIP() << "the CLI is not built: " << cli();
    TempDir dir;
    auto addr_file = dir.path() / "listener.addr";
    auto config = dir.path() / "conf.json";
    std::ofstream(config) << R"({"preset": "test", "install_path": ")" << dir.path().string() << R"("})";
    for (std::string transport : {"tcp", "udp"}) {
        std::filesystem::remove(addr_file);
        ServerProcess listener({cli(), "listen", "--config", config.string(), "--ip", "127.0.0.1", "--port", "0", "--echo",
                                "--addr-out", addr_file.string()},
                               {.ready = [&] { return std::filesystem::exists(addr_file); }});
        int status = 0;
        auto out = run_and_capture(cli() + " connect @" + addr_file.string() + " --config " + config.string() +
                                       " --ip 127.0.0.1 --port 0 --transport " + transport + " --send 'over two processes' --json",
                                   status);
        EXPECT_EQ(status, 0) << out;
        auto json = nlohmann::json::parse(out, nullptr, false);
        EXPECT_FALSE(json.is_discarded()) << out;
        if (json.is_discarded()) continue;
        EXPECT_EQ(json.value("reply", ""), "over two processes");
        EXPECT_EQ(json.value("plugin", ""), "direct_connect");
    }
}

TEST(TwoProcesses, ConnectToNobodyFailsWithAClearMessage) {
    if (!std::filesystem::exists(cli())) GTEST_SKIP() << "the CLI is not built: " << cli();
    TempDir dir;
    int status = 0;
    auto out = run_and_capture(cli() + " connect wg1notanaddress --test --ip 127.0.0.1 --port 0 2>&1", status);
    EXPECT_NE(status, 0);
    EXPECT_NE(out.find("warpgate:"), std::string::npos) << out;
}

// The CLI by nickname against a real warpgate-pnpd: `listen --pnp --nickname alice` registers
// at start, `connect alice.p2p` resolves and links, `nickname lookup` prints the address and a
// second key cannot take the name.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/pnpd.hpp"

namespace warpgate::test {
namespace {

std::string cli() { return std::string(WARPGATE_BINARY_DIR) + "/apps/warpgate"; }

struct Outcome {
    int status = -1;
    std::string output;  // stdout and stderr
};

// Runs a CLI command line with its data dir under `home`.
Outcome run_cli(const TempDir& dir, const std::string& home, const std::string& args) {
    auto out = dir.path() / "cli.out";
    auto command = "XDG_DATA_HOME=" + (dir.path() / home).string() + " " + cli() + " " + args + " > " + out.string() + " 2>&1";
    Outcome o;
    auto raw = std::system(command.c_str());
    o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    std::stringstream text;
    text << std::ifstream(out).rdbuf();
    o.output = text.str();
    return o;
}

TEST(PnpCli, ListenByNicknameConnectByNickname) {
    if (!std::filesystem::exists(cli())) GTEST_SKIP() << "the CLI is not built: " << cli();
    Pnpd server;
    TempDir dir;
    auto pnp = "--pnp " + server.server().to_string();
    auto addr_file = dir.path() / "alice.addr";
    // --addr-out is written once start() returned, so the name is registered by then.
    ServerProcess listener({"env", "XDG_DATA_HOME=" + (dir.path() / "alice").string(), cli(), "listen", "--test", "--ip", "127.0.0.1",
                            "--port", "0", "--echo", "--pnp", server.server().to_string(), "--nickname", "alice", "--addr-out",
                            addr_file.string()},
                           {.ready = [&] { return std::filesystem::exists(addr_file) && std::filesystem::file_size(addr_file) > 0; }});
    std::string address;
    std::ifstream(addr_file) >> address;

    auto lookup = run_cli(dir, "bob", "nickname lookup alice.p2p --test " + pnp);
    EXPECT_EQ(lookup.status, 0) << lookup.output;
    EXPECT_EQ(lookup.output, address + "\n");

    auto connect = run_cli(dir, "bob", "connect alice.p2p --test --ip 127.0.0.1 --port 0 --send 'by name' " + pnp);
    EXPECT_EQ(connect.status, 0) << connect.output;
    EXPECT_NE(connect.output.find("reply: by name"), std::string::npos) << connect.output;

    auto take = run_cli(dir, "bob", "nickname register alice --value wg1bob --test " + pnp);
    EXPECT_EQ(take.status, 1) << take.output;
    EXPECT_NE(take.output.find("owned_by_other_key"), std::string::npos) << take.output;

    auto missing = run_cli(dir, "bob", "connect carol.p2p --test --ip 127.0.0.1 --port 0 " + pnp);
    EXPECT_EQ(missing.status, 1) << missing.output;
    EXPECT_NE(missing.output.find("not_found"), std::string::npos) << missing.output;

    auto unconfigured = run_cli(dir, "bob", "connect alice.p2p --test --ip 127.0.0.1 --port 0");
    EXPECT_NE(unconfigured.status, 0);
    EXPECT_NE(unconfigured.output.find("warpgate-pnpd"), std::string::npos) << unconfigured.output;
}

}  // namespace
}  // namespace warpgate::test

// What the CLI tells its user (issue 19): connect says it connected before it waits for a
// reply, --json failures are objects with "error", listen --json prints one event per line,
// ping reports round trip, path and plugin, and each mistake gets an error saying what to do.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/cli_process.hpp"
#include "support/free_port.hpp"
#include "support/temp_dir.hpp"

namespace warpgate::test {
namespace {

using namespace std::chrono_literals;

// A listener on loopback with its own identity, and one-shot commands run to their end.
class CliOutput : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(cli_path())) GTEST_SKIP() << "the CLI is not built: " << cli_path();
    }

    std::unique_ptr<CliProcess> start_listener(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"listen", "--test", "--ip", "127.0.0.1", "--port", "0", "--addr-out", addr().string()};
        args.insert(args.end(), extra.begin(), extra.end());
        auto listener = std::make_unique<CliProcess>(args, CliProcess::Options{.dir = dir.path(), .name = "listener"});
        EXPECT_TRUE(listener->wait_for_file(addr(), 20s)) << listener->err();
        return listener;
    }

    struct Ran {
        std::optional<int> code;
        std::string out, err;
    };
    Ran run(std::vector<std::string> args) {
        CliProcess process(args, {.dir = dir.path(), .name = "run" + std::to_string(++runs)});
        auto code = process.wait(60s);
        return {code, process.out(), process.err()};
    }

    std::filesystem::path addr() const { return dir.path() / "listener.addr"; }
    std::string at_addr() const { return "@" + addr().string(); }

    TempDir dir;
    int runs = 0;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_F(CliOutput, ConnectToAListenerWithoutEchoSaysItConnectedButGotNoReply) {
    auto listener = start_listener();
    auto r = run({"connect", at_addr(), "--test", "--ip", "127.0.0.1", "--timeout", "1", "--send", "unanswered"});
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_TRUE(contains(r.out, "connected (direct_connect, direct TCP)")) << r.out;
    EXPECT_TRUE(contains(r.err, "connected (direct_connect, direct TCP) and sent the message, but no reply came within 1000 ms")) << r.err;
    EXPECT_TRUE(contains(r.err, "--echo")) << r.err;
}

TEST_F(CliOutput, ConnectJsonFailuresAreObjectsWithError) {
    {
        auto listener = start_listener();
        listener->signal(SIGTERM);
        ASSERT_EQ(listener->wait(10s), 0) << listener->err();
    }
    auto gone = run({"connect", at_addr(), "--test", "--ip", "127.0.0.1", "--timeout", "1", "--json"});
    EXPECT_EQ(gone.code, 1) << gone.err;
    auto json = nlohmann::json::parse(gone.out, nullptr, false);
    ASSERT_TRUE(json.is_object()) << gone.out;
    EXPECT_FALSE(json.value("error", "").empty()) << gone.out;
    EXPECT_TRUE(json["plugins"].is_array()) << gone.out;

    auto bad = run({"connect", "wg1notanaddress", "--test", "--json"});
    EXPECT_NE(bad.code, 0);
    json = nlohmann::json::parse(bad.out, nullptr, false);
    ASSERT_TRUE(json.is_object()) << bad.out;
    EXPECT_FALSE(json.value("error", "").empty()) << bad.out;
}

TEST_F(CliOutput, ListenJsonPrintsOneLinePerEvent) {
    auto listener = start_listener({"--json", "--echo"});
    auto r = run({"connect", at_addr(), "--test", "--ip", "127.0.0.1", "--send", "hi there"});
    EXPECT_EQ(r.code, 0) << r.err;
    std::this_thread::sleep_for(300ms);  // the link_closed event
    listener->signal(SIGTERM);
    ASSERT_EQ(listener->wait(10s), 0) << listener->err();
    std::map<std::string, nlohmann::json> events;
    std::istringstream lines(listener->out());
    std::string line;
    std::string address;
    std::getline(std::ifstream(addr()), address);
    while (std::getline(lines, line)) {
        auto event = nlohmann::json::parse(line, nullptr, false);
        ASSERT_TRUE(event.is_object()) << "not a JSON line: " << line;
        events.emplace(event.value("event", ""), event);
    }
    ASSERT_TRUE(events.contains("listening")) << listener->out();
    EXPECT_EQ(events["listening"].value("address", ""), address);
    ASSERT_TRUE(events.contains("link")) << listener->out();
    EXPECT_EQ(events["link"].value("path", ""), "direct TCP");
    EXPECT_EQ(events["link"].value("peer", "").size(), 25u) << events["link"];
    ASSERT_TRUE(events.contains("message")) << listener->out();
    EXPECT_EQ(events["message"].value("text", ""), "hi there");
    EXPECT_EQ(events["message"].value("peer", ""), events["link"].value("peer", ""));
    ASSERT_TRUE(events.contains("link_closed")) << listener->out();
    EXPECT_TRUE(events.contains("stats")) << listener->out();
}

TEST_F(CliOutput, PingSaysRoundTripPathAndPlugin) {
    auto listener = start_listener();  // no --echo: pings are answered by the peer's session
    auto r = run({"ping", at_addr(), "--test", "--ip", "127.0.0.1", "--count", "3", "--interval", "50"});
    EXPECT_EQ(r.code, 0) << r.err;
    for (auto seq : {"ping 1: rtt ", "ping 2: rtt ", "ping 3: rtt "}) EXPECT_TRUE(contains(r.out, seq)) << r.out;
    EXPECT_TRUE(contains(r.out, "ms, direct TCP, plugin direct_connect")) << r.out;
    EXPECT_TRUE(contains(r.out, "3 sent, 3 answered, rtt min/median/max ")) << r.out;
}

TEST_F(CliOutput, MistakesGetErrorsThatSayWhatToDo) {
    std::ofstream(dir.path() / "empty.addr").close();
    auto empty = run({"connect", "@" + (dir.path() / "empty.addr").string(), "--test"});
    EXPECT_EQ(empty.code, 2);
    EXPECT_TRUE(contains(empty.err, "empty.addr is empty")) << empty.err;
    EXPECT_FALSE(contains(empty.err, "nickname")) << empty.err;

    for (auto timeout : {"1e10", "1e300"}) {
        auto r = run({"connect", "wg1x", "--test", "--timeout", timeout});
        EXPECT_NE(r.code, 0);
        EXPECT_TRUE(contains(r.err, "--timeout")) << r.err;
        EXPECT_TRUE(contains(r.err, "not in range")) << r.err;
    }

    auto plugin = run({"connect", "wg1x", "--test", "--plugins", "foo"});
    EXPECT_EQ(plugin.code, 2);
    EXPECT_TRUE(contains(plugin.err, "no plugin named 'foo' (valid: direct_connect,")) << plugin.err;

    auto silent = free_port();
    auto nat = run({"nat", "--test", "--ip", "127.0.0.1", "--stun", "127.0.0.1:" + std::to_string(silent)});
    EXPECT_EQ(nat.code, 1) << nat.out << nat.err;
    EXPECT_TRUE(contains(nat.out, "no STUN server answered")) << nat.out;
    EXPECT_FALSE(contains(nat.out, "NAT blocked")) << nat.out;

    auto no_servers = run({"nat", "--test"});
    EXPECT_EQ(no_servers.code, 2);
    EXPECT_TRUE(contains(no_servers.err, "no STUN servers: pass --stun")) << no_servers.err;
}

}  // namespace
}  // namespace warpgate::test

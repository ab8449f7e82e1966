// PNP on loopback against a real warpgate-pnpd (SQLite, WAL, synchronous=FULL): registrations
// and lookups per second from one client, one request in flight, over UDP and TCP.
#include <benchmark/benchmark.h>

#include <asio.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>

#include "proto/pnp_client.hpp"

using namespace warpgate;

namespace {

// A port the kernel just handed out (free for UDP; TCP on it is checked by the start probe).
std::uint16_t free_port() {
    asio::io_context io;
    asio::ip::udp::socket probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    return probe.local_endpoint().port();
}

// One server for the whole run, stopped (SIGTERM) at exit.
class BenchServer {
public:
    BenchServer() : key_(crypto::IdentityKey::generate()) {
        dir_ = std::filesystem::temp_directory_path() / ("warpgate-pnp-bench-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        std::ofstream(dir_ / "server.key") << to_hex(key_.private_bytes()) << "\n";
        std::ofstream(dir_ / "pnpd.json") << R"({"listen": "127.0.0.1:)" << port_
                                           << R"(", "key_file": "server.key", "store": "sqlite:names.db", "names_per_source": 100000000,
                                                 "rate_per_source": 100000000, "rate_total": 100000000, "log_level": "warn"})";
        std::string program = std::string(WARPGATE_BINARY_DIR) + "/apps/warpgate-pnpd";
        std::string config = (dir_ / "pnpd.json").string();
        char* argv[] = {program.data(), const_cast<char*>("--config"), config.data(), nullptr};
        if (posix_spawn(&pid_, program.c_str(), nullptr, nullptr, argv, environ) != 0) throw std::runtime_error("cannot start " + program);
        for (int i = 0; i < 200; ++i) {
            asio::io_context io;
            asio::ip::tcp::socket probe(io);
            asio::error_code ec;
            probe.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
            if (!ec) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        throw std::runtime_error("warpgate-pnpd did not start");
    }
    ~BenchServer() {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        std::filesystem::remove_all(dir_);
    }
    NicknameServer server() const { return {HostPort{"127.0.0.1", port_}, key_.public_key()}; }

private:
    crypto::IdentityKey key_;
    std::uint16_t port_ = free_port();
    std::filesystem::path dir_;
    pid_t pid_ = -1;
};

BenchServer& server() {
    static BenchServer s;
    return s;
}

std::vector<NicknameServer> servers() { return {server().server()}; }

// Runs `n` operations (register when `do_register`, else lookups of a registered name) and
// fails the benchmark on the first that is not ok.
void run_ops(benchmark::State& state, bool do_register, bool tcp) {
    static int run = 0;
    auto prefix = "b" + std::to_string(++run) + "-";
    auto list = servers();
    static const auto key = crypto::IdentityKey::generate();  // one owner: every run may refresh "looked-up"
    pnp::ClientOptions options;
    options.tcp = tcp;
    asio::io_context io;
    std::string failure;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        pnp::Client client(io.get_executor(), list, key, options);
        auto seeded = co_await client.register_name("looked-up", as_bytes("wg1bench"));
        if (!seeded || seeded->status != pnp::Status::ok)
            failure = "seed registration: " + (seeded ? std::string(pnp::status_name(seeded->status)) + " " + seeded->detail : seeded.error().message);
        int i = 0;
        for (auto _ : state) {
            if (!failure.empty()) break;
            Result<pnp::Reply> r;
            if (do_register) {
                auto registered = co_await client.register_name(prefix + std::to_string(i++), as_bytes("wg1bench"));
                r = std::move(registered);
            } else {
                auto looked_up = co_await client.lookup("looked-up");
                r = std::move(looked_up);
            }
            if (!r || r->status != pnp::Status::ok) failure = r ? std::string(pnp::status_name(r->status)) : r.error().message;
        }
    }, asio::detached);
    io.run();
    if (!failure.empty()) state.SkipWithError(failure.c_str());
    state.SetItemsProcessed(state.iterations());
}

void BM_PnpRegisterUdp(benchmark::State& state) { run_ops(state, true, false); }
void BM_PnpLookupUdp(benchmark::State& state) { run_ops(state, false, false); }
void BM_PnpRegisterTcp(benchmark::State& state) { run_ops(state, true, true); }
void BM_PnpLookupTcp(benchmark::State& state) { run_ops(state, false, true); }
BENCHMARK(BM_PnpRegisterUdp)->Unit(benchmark::kMicrosecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_PnpLookupUdp)->Unit(benchmark::kMicrosecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_PnpRegisterTcp)->Unit(benchmark::kMicrosecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_PnpLookupTcp)->Unit(benchmark::kMicrosecond)->MinTime(2.0)->UseRealTime();

}  // namespace

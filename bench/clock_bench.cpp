// Time for one SNTP measurement (three samples) against a chronyd on loopback, with the
// offset and uncertainty it reports as counters. Skipped where /usr/sbin/chronyd is missing.
#include <benchmark/benchmark.h>

#include <asio.hpp>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "proto/sntp_client.hpp"

using namespace warpgate;

namespace {

std::uint16_t free_udp_port() {
    asio::io_context io;
    asio::ip::udp::socket s(io, {asio::ip::make_address("127.0.0.1"), 0});
    return s.local_endpoint().port();
}

Result<sntp::Measurement> measure_once(const HostPort& server) {
    asio::io_context io;
    Result<sntp::Measurement> result = fail(Errc::cancelled, "not run");
    std::vector<HostPort> servers{server};
    asio::co_spawn(io, sntp::measure(io.get_executor(), servers, sntp::Options{}),
                   [&](std::exception_ptr, Result<sntp::Measurement> r) { result = std::move(r); });
    io.run();
    return result;
}

// chronyd -x (never touches the clock) from its local reference, for the whole run.
struct Chronyd {
    std::filesystem::path dir;
    pid_t pid = -1;
    HostPort server{"127.0.0.1", 0};
    std::string why_not;

    Chronyd() {
        if (access("/usr/sbin/chronyd", X_OK) != 0) {
            why_not = "no /usr/sbin/chronyd";
            return;
        }
        char tmpl[] = "/tmp/warpgate-bench-chrony-XXXXXX";
        dir = mkdtemp(tmpl);
        server.port = free_udp_port();
        std::ofstream(dir / "chrony.conf") << "port " << server.port << "\nbindaddress 127.0.0.1\nallow 127.0.0.1\n"
                                           << "local stratum 8\ncmdport 0\nbindcmdaddress /\npidfile " << (dir / "pid").string()
                                           << "\ndriftfile " << (dir / "drift").string() << "\n";
        std::string conf = (dir / "chrony.conf").string();
        std::vector<std::string> args{"/usr/sbin/chronyd", "-d", "-x", "-f", conf};
        if (geteuid() == 0) args.insert(args.begin() + 3, {"-u", "root"});
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
        posix_spawn_file_actions_destroy(&actions);
        if (pid < 0) {
            why_not = "cannot start chronyd";
            return;
        }
        for (int i = 0; i < 50; ++i) {
            if (measure_once(server)) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        why_not = "chronyd did not answer within 5 s";
    }
    ~Chronyd() {
        if (pid > 0) {
            kill(pid, SIGTERM);
            waitpid(pid, nullptr, 0);
        }
        if (!dir.empty()) std::filesystem::remove_all(dir);
    }
};

void BM_SntpSyncLoopback(benchmark::State& state) {
    static Chronyd chrony;
    if (!chrony.why_not.empty()) {
        state.SkipWithError(chrony.why_not.c_str());
        return;
    }
    double offset_us = 0, uncertainty_us = 0;
    for (auto _ : state) {
        auto m = measure_once(chrony.server);
        if (!m) {
            state.SkipWithError(m.error().message.c_str());
            return;
        }
        offset_us = std::chrono::duration<double, std::micro>(m->offset).count();
        uncertainty_us = std::chrono::duration<double, std::micro>(m->uncertainty).count();
    }
    state.counters["offset_us"] = offset_us;
    state.counters["uncertainty_us"] = uncertainty_us;
}

BENCHMARK(BM_SntpSyncLoopback)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

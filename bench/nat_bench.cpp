// Time to classify one interface in the NAT lab (tests/lab/lab.sh), per NAT mode: the whole
// nat::discover_nat() from host ha to the lab's coturn (test I with the node's default budget,
// 1.5 s; the probes a NAT drops bounded by the measured round trip; STUN over TCP; the delta
// sockets), reported as the median of several runs (target: each under 500 ms). Needs root
// and WARPGATE_BENCH_LAB=1 (it builds network namespaces); skipped otherwise.
#include <benchmark/benchmark.h>

#include <asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <memory>
#include <sched.h>
#include <string>
#include <unistd.h>

#include "nat/nat_discovery.hpp"

using namespace warpgate;

namespace {

const std::string lab_sh = std::string(WARPGATE_SOURCE_DIR) + "/tests/lab/lab.sh";
const std::string prefix = "WG_LAB_PREFIX=wgbench ";

std::string output_of(const std::string& command) {
    std::string out;
    if (FILE* p = popen(command.c_str(), "r")) {
        char buffer[256];
        while (fgets(buffer, sizeof buffer, p)) out += buffer;
        pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

// The lab, up for the whole run once a benchmark needs it, down at exit.
struct Lab {
    bool up = false;
    std::string why_not;
    Lab() {
        if (!std::getenv("WARPGATE_BENCH_LAB")) {
            why_not = "set WARPGATE_BENCH_LAB=1 to run the NAT lab benchmarks";
            return;
        }
        if (geteuid() != 0 || std::system((prefix + lab_sh + " check >/dev/null 2>&1").c_str()) != 0) {
            why_not = "the NAT lab cannot run here (needs root and network namespaces)";
            return;
        }
        up = std::system((prefix + lab_sh + " up >/dev/null 2>&1").c_str()) == 0;
        if (!up) why_not = "lab.sh up failed";
    }
    ~Lab() {
        if (up) std::system((prefix + lab_sh + " down >/dev/null 2>&1").c_str());
    }
};

Lab& lab() {
    static Lab instance;
    return instance;
}

// Moves this thread into a lab host's network namespace for its lifetime.
class InNetns {
public:
    explicit InNetns(const std::string& name)
        : home_(open("/proc/self/ns/net", O_RDONLY)), target_(open(("/run/netns/" + name).c_str(), O_RDONLY)) {
        ok_ = home_ >= 0 && target_ >= 0 && setns(target_, CLONE_NEWNET) == 0;
    }
    ~InNetns() {
        if (ok_) setns(home_, CLONE_NEWNET);
        if (home_ >= 0) close(home_);
        if (target_ >= 0) close(target_);
    }
    bool ok() const { return ok_; }

private:
    int home_, target_;
    bool ok_ = false;
};

void BM_ClassifyInLab(benchmark::State& state, const std::string& mode, NatType expected, MappingBehaviour mapping) {
    if (!lab().up) {
        state.SkipWithError(lab().why_not.c_str());
        return;
    }
    // Once per mode, not per repetition (re-applying "restricted" trips over its own ipset).
    static std::string current_mode;
    if (mode != current_mode) std::system((prefix + lab_sh + " set-nat ra " + mode + " >/dev/null").c_str());
    current_mode = mode;
    auto ip = asio::ip::make_address(output_of(prefix + lab_sh + " ip ha"));
    InNetns inside("wgbench-ha");
    if (!inside.ok()) {
        state.SkipWithError("cannot enter the namespace of ha");
        return;
    }
    nat::DiscoveryOptions options;
    options.client.udp = stun::RetransmitPolicy::within(std::chrono::milliseconds(1500));
    for (auto _ : state) {
        asio::io_context io;
        Result<nat::NatReport> report = fail(Errc::cancelled, "not run");
        asio::co_spawn(io, nat::discover_nat(io.get_executor(), ip, {HostPort{"198.51.100.100", 3478}}, options),
                       [&](std::exception_ptr, Result<nat::NatReport> r) { report = std::move(r); });
        io.run();
        if (!report || report->nat.type != expected || report->nat.mapping != mapping) {
            state.SkipWithError(report ? "classified differently than the mode" : report.error().message.c_str());
            return;
        }
        // Conntrack state of this run must not help the next one (a mapping reused).
        state.PauseTiming();
        std::system((prefix + lab_sh + " flush >/dev/null").c_str());
        state.ResumeTiming();
    }
}

BENCHMARK_CAPTURE(BM_ClassifyInLab, none, std::string("none"), NatType::open_internet, MappingBehaviour::endpoint_independent)
    ->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(7)->ReportAggregatesOnly(true)->UseRealTime();
BENCHMARK_CAPTURE(BM_ClassifyInLab, full_cone, std::string("full-cone"), NatType::full_cone, MappingBehaviour::endpoint_independent)
    ->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(7)->ReportAggregatesOnly(true)->UseRealTime();
BENCHMARK_CAPTURE(BM_ClassifyInLab, restricted, std::string("restricted"), NatType::restricted, MappingBehaviour::endpoint_independent)
    ->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(7)->ReportAggregatesOnly(true)->UseRealTime();
BENCHMARK_CAPTURE(BM_ClassifyInLab, port_restricted, std::string("port-restricted"), NatType::port_restricted, MappingBehaviour::endpoint_independent)
    ->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(7)->ReportAggregatesOnly(true)->UseRealTime();
BENCHMARK_CAPTURE(BM_ClassifyInLab, symmetric, std::string("symmetric"), NatType::symmetric, MappingBehaviour::address_and_port_dependent)
    ->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(7)->ReportAggregatesOnly(true)->UseRealTime();
BENCHMARK_CAPTURE(BM_ClassifyInLab, sequential, std::string("sequential"), NatType::symmetric, MappingBehaviour::address_and_port_dependent)
    ->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(7)->ReportAggregatesOnly(true)->UseRealTime();

}  // namespace

#include "nat/nat_discovery.hpp"

#include <algorithm>
#include <asio/experimental/awaitable_operators.hpp>
#include <fmt/format.h>
#include "log.hpp"

#include "proto/stun_consensus.hpp"

namespace warpgate::nat {

namespace {

using namespace asio::experimental::awaitable_operators;
using stun::BindingResult;
using stun::ChangeRequest;
using stun::OwnedUdpStunPort;

// Why a server cannot run the behaviour tests, or nullopt when it can.
std::optional<std::string> rfc5780_unusable(const Endpoint& server, const std::optional<Endpoint>& other) {
    if (!other) return "no OTHER-ADDRESS: no NAT behaviour tests (RFC 5780)";
    if (other->family() != server.family() || other->ip == server.ip || other->port == server.port)
        return fmt::format("OTHER-ADDRESS {} does not differ from {} in both IP and port", other->to_string(), server.to_string());
    return std::nullopt;
}

// Probes after test I: three transmissions (at 0, D/4 and 3D/4) within D = max(n x RTT, floor).
stun::ClientOptions probe_options(const DiscoveryOptions& o, std::chrono::microseconds rtt) {
    auto wait = std::max<std::chrono::milliseconds>(std::chrono::ceil<std::chrono::milliseconds>(rtt * o.probe_rtts), o.probe_floor);
    auto client = o.client;
    client.udp = {std::max<std::chrono::milliseconds>(wait / 4, std::chrono::milliseconds(1)), 3, 1};
    client.tcp_timeout = 2 * wait;  // connect and request: two round trips
    return client;
}

// One filtering test from a fresh socket that sends to the primary address only: answered
// only when the answer came from where the CHANGE-REQUEST asked. An answer from elsewhere, or
// an error response, means the server does not do RFC 5780 (Errc::unsupported).
asio::awaitable<Result<Outcome>> filtering_test(asio::any_io_executor executor, asio::ip::address local_ip, Endpoint server,
                                                ChangeRequest change, Endpoint expected_source, stun::ClientOptions options) {
    auto port = OwnedUdpStunPort::open(executor, {local_ip, 0});
    if (!port) co_return tl::unexpected(port.error());
    auto r = co_await stun::udp_binding(**port, server, change, options);
    if (!r && r.error().code == Errc::timeout) co_return Outcome::silent;
    if (!r && r.error().code == Errc::cancelled) co_return tl::unexpected(r.error());
    if (!r) co_return fail(Errc::unsupported, r.error().message);
    if (r->source != expected_source)
        co_return fail(Errc::unsupported, fmt::format("ignored CHANGE-REQUEST (answered from {}, not {})", r->source.to_string(),
                                                      expected_source.to_string()));
    co_return Outcome::answered;
}

asio::awaitable<Result<BindingResult>> tcp_test(asio::any_io_executor executor, Endpoint local, Endpoint server,
                                                stun::ClientOptions options, bool run) {
    if (!run) co_return fail(Errc::config, "not measured");
    co_return co_await stun::tcp_binding(executor, local, server, options);
}

Outcome outcome_of(const Result<BindingResult>& r, Endpoint& mapped) {
    if (!r) return Outcome::silent;
    mapped = r->response.mapped;
    return Outcome::answered;
}

// RFC 5780's tests against the tester, all at once, and STUN over TCP beside them.
asio::awaitable<Result<void>> behaviour_tests(stun::StunPort& port, Endpoint primary, Endpoint other, const DiscoveryOptions& options,
                                              NatReport& report) {
    auto executor = port.executor();
    const auto local = port.local_endpoint();
    const auto probe = probe_options(options, report.rtt);
    auto all = stun::udp_binding(port, {other.ip, primary.port}, std::nullopt, probe) &&
               stun::udp_binding(port, other, std::nullopt, probe) &&
               filtering_test(executor, local.ip, primary, {true, true}, other, probe) &&
               filtering_test(executor, local.ip, primary, {false, true}, {primary.ip, other.port}, probe) &&
               tcp_test(executor, local, primary, probe, options.measure_tcp);
    auto [alternate, alternate_port, both, change_port, tcp] = co_await std::move(all);
    for (const auto* r : {&alternate, &alternate_port, &tcp})
        if (!*r && r->error().code == Errc::cancelled) co_return tl::unexpected(r->error());
    for (const auto* r : {&both, &change_port})
        if (!*r && r->error().code == Errc::cancelled) co_return tl::unexpected(r->error());

    auto& o = report.observations;
    o.alternate = outcome_of(alternate, o.alternate_mapped);
    o.alternate_port = outcome_of(alternate_port, o.alternate_port_mapped);
    o.filtering_testable = both && change_port;
    if (both) o.change_ip_and_port = *both;
    if (change_port) o.change_port = *change_port;
    if (tcp) report.tcp_external = tcp->response.mapped;
    else report.tcp_note = tcp.error().message;
    if (!o.filtering_testable) co_return tl::unexpected((both ? change_port : both).error());
    co_return Result<void>{};
}

// Sockets on local ports base + sample_offsets; a few bases are tried when a port is taken.
std::vector<std::unique_ptr<OwnedUdpStunPort>> sample_ports(asio::any_io_executor executor, const asio::ip::address& ip) {
    for (int attempt = 0; attempt < 10; ++attempt) {
        std::vector<std::unique_ptr<OwnedUdpStunPort>> ports;
        auto first = OwnedUdpStunPort::open(executor, {ip, 0});
        if (!first) continue;
        auto base = (*first)->local_endpoint().port;
        if (base + sample_offsets.back() > 65535) continue;
        ports.push_back(std::move(*first));
        for (std::size_t i = 1; i < sample_offsets.size(); ++i) {
            auto p = OwnedUdpStunPort::open(executor, {ip, static_cast<std::uint16_t>(base + sample_offsets[i])});
            if (!p) break;
            ports.push_back(std::move(*p));
        }
        if (ports.size() == sample_offsets.size()) return ports;
    }
    return {};
}

// One new mapping per socket, in order, to the same server. After the other tests: a
// sequential NAT gives every new flow the next port, so no other flow may start meanwhile.
asio::awaitable<Result<std::vector<PortSample>>> port_samples(asio::any_io_executor executor, const asio::ip::address& ip,
                                                              Endpoint server, stun::ClientOptions options) {
    std::vector<PortSample> samples;
    auto ports = sample_ports(executor, ip);
    for (auto& port : ports) {
        auto r = co_await stun::udp_binding(*port, server, std::nullopt, options);
        if (!r && r.error().code == Errc::cancelled) co_return tl::unexpected(r.error());
        if (!r) break;  // too few samples: classify_delta says unknown
        samples.push_back({r->local.port, r->response.mapped.port});
    }
    co_return samples;
}

ServerStatus& status_of(NatReport& report, const HostPort& server) {
    return *std::find_if(report.servers.begin(), report.servers.end(), [&](const auto& s) { return s.server == server; });
}

bool of_family(const HostPort& server, Family family) {
    asio::error_code ec;
    auto literal = asio::ip::make_address(server.host, ec);
    return ec || family_of(literal) == family;  // names are resolved per family later
}

// The consensus over test I's answers, into the report's server list.
void record_votes(const std::vector<stun::ServerAnswer>& answers, const Result<stun::Consensus>& consensus, NatReport& report) {
    for (auto& status : report.servers) {
        auto it = std::find_if(answers.begin(), answers.end(), [&](const auto& a) { return a.server == status.server; });
        if (it == answers.end()) continue;
        if (!it->result) {
            status.note = it->result.error().message;
            continue;
        }
        status.answered = true;
        status.mapped = it->result->response.mapped;
        status.agrees = consensus && consensus->mapped.ip == status.mapped->ip;
        report.servers_disagree = report.servers_disagree || !status.agrees;
        status.note = status.agrees ? "agrees on the external address" : "names another external address";
    }
}

}  // namespace

asio::awaitable<Result<NatReport>> discover_nat(stun::StunPort& port, std::vector<HostPort> servers, DiscoveryOptions options) {
    const auto local = port.local_endpoint();
    const auto family = local.family();
    NatReport report;
    report.local_ip = local.ip;
    std::vector<HostPort> usable;
    for (const auto& server : servers) {
        report.servers.push_back({server, false, std::nullopt, false, ""});
        if (of_family(server, family)) usable.push_back(server);
        else report.servers.back().note = fmt::format("not {}", to_string(family));
    }
    if (usable.empty()) co_return fail(Errc::config, fmt::format("no usable {} STUN server among {}", to_string(family), servers.size()));

    // Test I, to every server from the measured port.
    stun::ConsensusOptions ask{options.client, usable.size(), usable.size(), options.consensus_grace};
    auto answers = co_await stun::ask_each(port, usable, ask);
    if (!answers) co_return tl::unexpected(answers.error());
    auto consensus = stun::settle(*answers, fmt::format("UDP port {}", local.to_string()));
    record_votes(*answers, consensus, report);

    // Test I in configured order: the first answer, and the servers offering RFC 5780. A second
    // server's answer (another IP) stands in for mapping test II when no server offers it.
    auto& o = report.observations;
    o.local = local;
    o.filtering_testable = false;
    std::optional<Endpoint> primary;
    std::vector<std::pair<HostPort, BindingResult>> testers;
    for (const auto& server : usable) {
        auto it = std::find_if(answers->begin(), answers->end(), [&](const auto& a) { return a.server == server; });
        if (it == answers->end() || !it->result) continue;
        const auto& r = *it->result;
        if (!primary) {
            primary = r.server;
            o.mapped = r.response.mapped;
            report.rtt = r.rtt;
        } else if (o.alternate == Outcome::not_run && r.server.ip != primary->ip) {
            o.alternate = Outcome::answered;
            o.alternate_mapped = r.response.mapped;
        }
        if (auto why = rfc5780_unusable(r.server, r.response.other_address)) status_of(report, server).note += "; " + *why;
        else testers.emplace_back(server, r);
    }
    // The behaviour tests against the first server that turns out to do RFC 5780.
    const auto fallback = o;
    const auto first_answer = primary;
    const auto first_rtt = report.rtt;
    for (const auto& [server, r] : testers) {
        o = fallback;
        o.mapped = r.response.mapped;
        o.alternate = Outcome::not_run;
        primary = r.server;
        report.rtt = r.rtt;
        auto tested = co_await behaviour_tests(port, r.server, *r.response.other_address, options, report);
        if (!tested && tested.error().code == Errc::cancelled) co_return tl::unexpected(tested.error());
        if (tested) {
            status_of(report, server).note += "; ran the NAT behaviour tests";
            report.tested_with = server;
            break;
        }
        status_of(report, server).note += "; not trusted for the behaviour tests: " + tested.error().message;
    }
    if (!report.tested_with) {
        o = fallback;
        primary = first_answer;
        report.rtt = first_rtt;
    }
    if (!report.tested_with && primary && options.measure_tcp) {
        auto tcp = co_await stun::tcp_binding(port.executor(), local, *primary, probe_options(options, report.rtt));
        if (tcp) report.tcp_external = tcp->response.mapped;
        else report.tcp_note = tcp.error().message;
    }
    if (!primary) report.tcp_note = "no server answered over UDP";

    // The first answering server's view (the tester's) when it agrees: behind a symmetric NAT
    // each server sees another port, and the configured order keeps the choice stable.
    report.external = o.mapped;
    if (consensus && (!o.mapped || o.mapped->ip != consensus->mapped.ip)) report.external = consensus->mapped;
    report.nat.type = classify(o);
    report.nat.mapping = classify_mapping(o);
    if (options.measure_delta && primary && report.nat.type != NatType::blocked) {
        auto samples = co_await port_samples(port.executor(), local.ip, *primary, probe_options(options, report.rtt));
        if (!samples) co_return tl::unexpected(samples.error());
        report.port_samples = *samples;
    }
    auto delta = classify_delta(report.nat.type, report.port_samples);
    report.nat.delta_type = delta.type;
    report.nat.delta_value = delta.value;
    log::debug("nat: {} is behind {} ({} mapping, delta {} {}), external {}{}", local.to_string(), to_string(report.nat.type),
                  to_string(report.nat.mapping), to_string(report.nat.delta_type), report.nat.delta_value,
                  report.external ? report.external->to_string() : "none", report.servers_disagree ? " (servers disagree)" : "");
    co_return report;
}

asio::awaitable<Result<NatReport>> discover_nat(asio::any_io_executor executor, asio::ip::address local_ip, std::vector<HostPort> servers,
                                                DiscoveryOptions options) {
    auto port = OwnedUdpStunPort::open(executor, {local_ip, 0});
    if (!port) co_return tl::unexpected(port.error());
    co_return co_await discover_nat(**port, std::move(servers), options);
}

}  // namespace warpgate::nat

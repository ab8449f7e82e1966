#include "nat/nat_discovery.hpp"

#include <asio/ip/udp.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace warpgate::nat {

namespace {

using stun::BindingResult;
using stun::ChangeRequest;
using Socket = asio::ip::udp::socket;

struct Primary {
    HostPort server;
    Endpoint endpoint;
    Endpoint mapped;
};

// Why a server cannot run the behaviour tests, or nullopt when it can.
std::optional<std::string> rfc5780_unusable(const Endpoint& server, const std::optional<Endpoint>& other) {
    if (!other) return "no OTHER-ADDRESS: no NAT behaviour tests (RFC 5780)";
    if (other->family() != server.family() || other->ip == server.ip || other->port == server.port)
        return fmt::format("OTHER-ADDRESS {} does not differ from {} in both IP and port", other->to_string(), server.to_string());
    return std::nullopt;
}

// One filtering test: answered only when the answer came from where the CHANGE-REQUEST asked.
// An answer from elsewhere, or an error response, means the server does not do RFC 5780.
asio::awaitable<Result<Outcome>> filtering_test(Socket& socket, Endpoint server, ChangeRequest change, Endpoint expected_source,
                                                const stun::ClientOptions& options) {
    auto r = co_await stun::udp_binding(socket, server, change, options);
    if (!r && r.error().code == Errc::timeout) co_return Outcome::silent;
    if (!r) co_return tl::unexpected(r.error());
    if (r->source != expected_source)
        co_return fail(Errc::unsupported, fmt::format("ignored CHANGE-REQUEST (answered from {}, not {})", r->source.to_string(),
                                                      expected_source.to_string()));
    co_return Outcome::answered;
}

// Runs the tests decide() asks for against a server whose test I answered. Errc::unsupported
// when the server turns out not to do RFC 5780.
asio::awaitable<Result<NatObservations>> behaviour_tests(Socket& socket, const Primary& primary, Endpoint other,
                                                         NatObservations o, const stun::ClientOptions& options) {
    for (;;) {
        auto next = decide(o);
        if (std::holds_alternative<NatType>(next)) co_return o;
        switch (std::get<NatTest>(next)) {
            case NatTest::change_ip_and_port: {
                auto r = co_await filtering_test(socket, primary.endpoint, {true, true}, other, options);
                if (!r) co_return tl::unexpected(r.error());
                o.change_ip_and_port = *r;
                break;
            }
            case NatTest::alternate_mapping: {
                // RFC 5780 §4.3 test II: the other IP, the primary port.
                auto r = co_await stun::udp_binding(socket, {other.ip, primary.endpoint.port}, std::nullopt, options);
                if (!r && r.error().code != Errc::timeout) co_return tl::unexpected(r.error());
                o.alternate = r ? Outcome::answered : Outcome::silent;
                if (r) o.alternate_mapped = r->response.mapped;
                break;
            }
            case NatTest::change_port: {
                auto r = co_await filtering_test(socket, primary.endpoint, {false, true}, {primary.endpoint.ip, other.port}, options);
                if (!r) co_return tl::unexpected(r.error());
                o.change_port = *r;
                break;
            }
        }
    }
}

Result<Socket> open_socket(asio::any_io_executor executor, Endpoint local) {
    Socket socket(executor);
    asio::error_code ec;
    socket.open(local.ip.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
    if (!ec) socket.bind({local.ip, local.port}, ec);
    if (ec) return fail(Errc::io, fmt::format("cannot bind UDP {}: {}", local.to_string(), ec.message()));
    return socket;
}

// Sockets on local ports base + sample_offsets; a few bases are tried when a port is taken.
std::vector<Socket> sample_sockets(asio::any_io_executor executor, const asio::ip::address& ip) {
    for (int attempt = 0; attempt < 10; ++attempt) {
        std::vector<Socket> sockets;
        auto first = open_socket(executor, {ip, 0});
        if (!first) continue;
        auto base = first->local_endpoint().port();
        if (base + sample_offsets.back() > 65535) continue;
        sockets.push_back(std::move(*first));
        for (std::size_t i = 1; i < sample_offsets.size(); ++i) {
            auto s = open_socket(executor, {ip, static_cast<std::uint16_t>(base + sample_offsets[i])});
            if (!s) break;
            sockets.push_back(std::move(*s));
        }
        if (sockets.size() == sample_offsets.size()) return sockets;
    }
    return {};
}

// One new mapping per socket, in order, to the same server.
asio::awaitable<Result<std::vector<PortSample>>> port_samples(asio::any_io_executor executor, const asio::ip::address& ip,
                                                              Endpoint server, const stun::ClientOptions& options) {
    std::vector<PortSample> samples;
    auto sockets = sample_sockets(executor, ip);
    for (auto& socket : sockets) {
        auto r = co_await stun::udp_binding(socket, server, std::nullopt, options);
        if (!r && r.error().code == Errc::cancelled) co_return tl::unexpected(r.error());
        if (!r) break;  // too few samples: classify_delta says unknown
        samples.push_back({r->local.port, r->response.mapped.port});
    }
    co_return samples;
}

}  // namespace

asio::awaitable<Result<NatReport>> discover_nat(asio::any_io_executor executor, asio::ip::address local_ip,
                                                std::vector<HostPort> servers, DiscoveryOptions options) {
    const auto family = family_of(local_ip);
    auto socket = open_socket(executor, {local_ip, 0});
    if (!socket) co_return tl::unexpected(socket.error());

    NatReport report;
    report.local_ip = local_ip;
    NatObservations o;
    o.local = {local_ip, socket->local_endpoint().port()};
    o.filtering_testable = false;
    std::optional<Primary> primary;
    std::size_t usable = 0;  // servers of this family
    for (const auto& server : servers) {
        auto& status = report.servers.emplace_back(ServerStatus{server, false, ""});
        auto endpoint = co_await stun::resolve_server(executor, server, family);
        if (!endpoint) {
            status.note = endpoint.error().message;
            continue;
        }
        ++usable;
        auto first = co_await stun::udp_binding(*socket, *endpoint, std::nullopt, options.client);
        if (!first && first.error().code == Errc::cancelled) co_return tl::unexpected(first.error());
        if (!first) {
            status.note = first.error().message;
            continue;
        }
        status.answered = true;
        Primary candidate{server, *endpoint, first->response.mapped};
        if (!primary) {
            primary = candidate;
            o.mapped = candidate.mapped;
        } else if (o.alternate == Outcome::not_run) {
            // Without RFC 5780, a second server still shows whether the mapping depends on
            // the destination.
            o.alternate = Outcome::answered;
            o.alternate_mapped = candidate.mapped;
        }
        if (auto why = rfc5780_unusable(*endpoint, first->response.other_address)) {
            status.note = *why;
            continue;
        }
        NatObservations tests = o;
        tests.mapped = candidate.mapped;
        tests.filtering_testable = true;
        tests.alternate = Outcome::not_run;
        auto observed = co_await behaviour_tests(*socket, candidate, *first->response.other_address, tests, options.client);
        if (!observed && observed.error().code == Errc::cancelled) co_return tl::unexpected(observed.error());
        if (!observed) {
            status.note = observed.error().message;
            continue;
        }
        status.note = "ran the NAT behaviour tests";
        o = *observed;
        primary = candidate;
        report.tested_with = server;
        break;
    }

    if (usable == 0) co_return fail(Errc::config, fmt::format("no usable {} STUN server among {}", to_string(family), servers.size()));
    report.observations = o;
    report.external = o.mapped;
    report.nat.type = classify(o);
    if (options.measure_delta && primary) {
        auto samples = co_await port_samples(executor, local_ip, primary->endpoint, options.client);
        if (!samples) co_return tl::unexpected(samples.error());
        report.port_samples = *samples;
    }
    auto delta = classify_delta(report.nat.type, report.port_samples);
    report.nat.delta_type = delta.type;
    report.nat.delta_value = delta.value;
    spdlog::debug("nat: {} is behind {} (delta {} {}), external {}", local_ip.to_string(), to_string(report.nat.type),
                 to_string(report.nat.delta_type), report.nat.delta_value, o.mapped ? o.mapped->to_string() : "none");
    co_return report;
}

}  // namespace warpgate::nat

// Node::start(): the original's twelve phases, in order, phase 4's three concurrently.
// Each phase is timed and reported; a phase its configuration disables costs nothing.
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <fmt/format.h>
#include "log.hpp"
#include <warpgate/node.hpp>

#include "crypto/keystore.hpp"
#include "node/node_impl.hpp"
#include "proto/pnp_client.hpp"
#include "signal/signal_router.hpp"

namespace warpgate {
namespace {

using node::NodeImpl;
using Clock = std::chrono::steady_clock;

class StartRun {
public:
    StartRun(NodeImpl& node, StartOptions options) : node_(node), options_(std::move(options)) {}

    // Runs `body` as the named phase; its result string is the phase's outcome.
    template <class Body>
    asio::awaitable<void> phase(std::string name, Body body) {
        auto begin = Clock::now();
        auto outcome = co_await body();
        auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - begin);
        report(name, took, outcome);
        node_.phases.push_back({std::move(name), took, std::move(outcome)});
    }

private:
    void report(const std::string& name, std::chrono::microseconds took, const std::string& outcome) {
        auto line = fmt::format("[{:7.2f} ms] {}: {}", took.count() / 1000.0, name, outcome);
        log::debug("node start {}", line);
        if (options_.progress) options_.progress(line);
    }

    NodeImpl& node_;
    StartOptions options_;
};

bool valid_identity_name(const std::string& name) {
    if (name.empty() || name.size() > 64 || name.front() == '.') return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; });
}

// Phase 1: the NICs, filtered to the ones owning the requested IPs (loopback included then).
std::string load_network_interfaces(NodeImpl& node) {
    auto& opts = node.options;
    if (!opts.ifs.empty()) {
        node.ifs = opts.ifs;
        return fmt::format("{} pre-loaded interfaces", node.ifs.size());
    }
    auto found = discover_interfaces({.include_loopback = !opts.ips.empty()});
    if (!found) throw Exception(found.error());
    node.ifs = std::move(*found);
    if (!opts.ips.empty()) {
        std::vector<Interface> owning;
        for (auto& ip : opts.ips) {
            auto nic = std::find_if(node.ifs.begin(), node.ifs.end(), [&](const Interface& i) {
                return std::any_of(i.addresses.begin(), i.addresses.end(), [&](const IfAddress& a) { return a.ip == ip; });
            });
            if (nic == node.ifs.end()) throw Exception(Errc::config, ip.to_string() + " is not an address of any interface here");
            if (std::none_of(owning.begin(), owning.end(), [&](const Interface& i) { return i.index == nic->index; }))
                owning.push_back(*nic);
        }
        node.ifs = std::move(owning);
    }
    if (node.ifs.empty()) throw Exception(Errc::unreachable, "no usable network interface (all down or loopback-only)");
    std::string names;
    for (auto& i : node.ifs) names += (names.empty() ? "" : ", ") + i.name;
    return fmt::format("{} interfaces ({})", node.ifs.size(), names);
}

// Phase 2: key from the keystore, machine id, listen port.
std::string load_machine_identity(NodeImpl& node) {
    auto& opts = node.options;
    if (!valid_identity_name(opts.identity))
        throw Exception(Errc::config, "identity name '" + opts.identity + "' must be 1-64 of [A-Za-z0-9._-]");
    auto file = node.conf().data_dir() / "keys" / (opts.identity + ".key");
    node.identity = value_or_throw(crypto::load_or_create_identity(file));
    node.machine_id = node::load_machine_id(node.ifs);
    if (opts.port) node.port = *opts.port;
    else node.port = node::derive_port(node.machine_id, opts.identity == "node" ? "" : opts.identity);
    return fmt::format("key {}, port {}", file.string(), node.port == 0 ? std::string("any") : std::to_string(node.port));
}

std::string load_cryptography_and_auth(NodeImpl& node) {
    node.node_id = crypto::node_id(node.identity->public_key());
    return "node id " + node.node_id;
}

std::vector<asio::ip::address> listen_ips(const NodeImpl& node) {
    if (!node.options.ips.empty()) return node.options.ips;
    std::vector<asio::ip::address> ips;
    for (auto& nic : node.ifs)
        for (auto& a : nic.addresses) ips.push_back(a.ip);
    return ips;
}

// The addresses the node address carries (phase 8) and STUN measures (phase 4): per interface
// and family the first one listened on, at most four per family.
std::vector<std::pair<const Interface*, IfAddress>> published_addresses(const NodeImpl& node) {
    auto listened = listen_ips(node);
    std::vector<std::pair<const Interface*, IfAddress>> out;
    std::size_t per_family[2] = {0, 0};
    for (auto& nic : node.ifs) {
        for (auto family : {IP4, IP6}) {
            auto& count = per_family[family == IP6 ? 1 : 0];
            if (count >= NodeAddress::max_entries_per_family) continue;
            for (auto& addr : nic.addresses_of(family)) {
                if (std::find(listened.begin(), listened.end(), addr.ip) == listened.end()) continue;
                out.emplace_back(&nic, addr);
                ++count;
                break;
            }
        }
    }
    return out;
}

// Phase 4 members. The clock's offset from NTP (node/clock.hpp); a failure leaves the local
// clock in use and the node still starts.
asio::awaitable<std::string> initialize_system_clock(NodeImpl& node) {
    if (!node.conf().init_clock_skew) co_return "disabled";
    if (node.conf().ntp_servers.empty()) co_return "no NTP servers configured";
    auto measured = co_await node.clock.sync(node.executor);
    if (!measured) co_return "local clock in use: " + measured.error().message;
    co_return measured->describe();
}

// Learns each address's external address, NAT type and delta type (nat/nat_discovery.hpp).
// A failure leaves that entry "unknown": the node still starts.
asio::awaitable<std::string> load_p2p_stun_clients(NodeImpl& node) {
    if (!node.conf().enable_stun_clients) co_return "disabled";
    if (node.conf().stun_servers.empty()) co_return "no STUN servers configured";
    nat::DiscoveryOptions options;
    options.client.udp = stun::RetransmitPolicy::within(node.conf().stun_timeout);
    std::string outcome;
    for (auto& published : published_addresses(node)) {
        auto ip = published.second.ip;
        auto port = std::find_if(node.stun_ports.begin(), node.stun_ports.end(),
                                 [&](const auto& p) { return p->local_endpoint().ip == ip; });
        if (port == node.stun_ports.end()) continue;
        auto report = co_await nat::discover_nat(**port, node.conf().stun_servers, options);
        outcome += outcome.empty() ? "" : "; ";
        if (!report) {
            outcome += fmt::format("{}: {}", ip.to_string(), report.error().message);
            continue;
        }
        outcome += fmt::format("{}: {} ({} mapping), delta {}, external {}{}", ip.to_string(), to_string(report->nat.type),
                               to_string(report->nat.mapping), to_string(report->nat.delta_type),
                               report->external ? report->external->ip.to_string() : "none",
                               report->servers_disagree ? " (servers disagree)" : "");
        node.nat_reports.insert_or_assign(ip, std::move(*report));
    }
    co_return outcome.empty() ? "no address to measure" : outcome;
}

// The first sig_pipe_no brokers (the ones build_node_address names in the hints); a broker that
// is down costs at most signal_timeout here and keeps retrying in the background.
asio::awaitable<std::string> setup_router_and_signal(NodeImpl& node) {
    auto& conf = node.conf();
    if (conf.sig_pipe_no == 0) co_return "disabled";
    if (conf.mqtt_servers.empty()) co_return "no MQTT brokers configured";
    auto count = std::min<std::size_t>(static_cast<std::size_t>(conf.sig_pipe_no), conf.mqtt_servers.size());
    signal::RouterOptions options;
    options.brokers.assign(conf.mqtt_servers.begin(), conf.mqtt_servers.begin() + static_cast<std::ptrdiff_t>(count));
    options.connect_timeout = conf.signal_timeout;
    node.signaling = signal::SignalRouter::create(node.executor, *node.identity, node.tasks, std::move(options));
    auto ready = co_await node.signaling->start();
    co_return fmt::format("{} of {} MQTT brokers ready, listening on {}", ready, count, signal::topic_for(node.node_id));
}

// Phase 9, run with phase 4: maps the listen port on the gateway (nat/port_mapper.hpp) so
// the node address can carry the mapped endpoint; renewals then run in the background. A
// gateway that offers nothing costs port_mapping_timeout, and the node still starts.
asio::awaitable<std::string> start_background_port_forwarding(NodeImpl& node) {
    auto& conf = node.conf();
    if (!conf.enable_upnp) co_return "disabled";
    nat::PortMapperOptions options;
    options.protocol = conf.port_mapping_protocol;
    options.timeout = conf.port_mapping_timeout;
    options.lease = std::chrono::duration_cast<std::chrono::seconds>(conf.port_mapping_lease);
    node.port_mapper = std::make_shared<nat::PortMapper>(node.executor, options);
    auto outcome = co_await node.port_mapper->start(node.port);
    co_return outcome;
}

Result<void> bind_all(NodeImpl& node, const std::vector<asio::ip::address>& ips, std::uint16_t port) {
    for (auto& ip : ips) {
        auto tcp = net::TcpServer::bind(node.executor, {ip, port}, node.conf().reuse_addr);
        if (!tcp) return tl::unexpected(tcp.error());
        if (port == 0) port = (*tcp)->local_endpoint().port;
        auto udp = net::UdpServer::bind(node.executor, {ip, port}, node.conf().reuse_addr);
        if (!udp) return tl::unexpected(udp.error());
        node.tcp_servers.push_back(std::move(*tcp));
        node.udp_servers.push_back(std::move(*udp));
    }
    node.port = port;
    return {};
}

// Phase 7: TCP and UDP servers on every address at one port. Port 0 picks a port free for
// both protocols on every address (retrying when another program holds it on one of them).
std::string listen_on_ifs(NodeImpl& node) {
    auto ips = listen_ips(node);
    if (ips.empty()) throw Exception(Errc::unreachable, "no address to listen on");
    Result<void> bound;
    for (int tries = 0; tries < (node.port == 0 ? 20 : 1); ++tries) {
        node.tcp_servers.clear();
        node.udp_servers.clear();
        bound = bind_all(node, ips, node.port == 0 && tries > 0 ? 0 : node.port);
        if (bound || bound.error().code != Errc::address_in_use) break;
    }
    if (!bound) throw Exception(bound.error());
    node.start_accepting();
    std::string where;
    for (auto& ip : ips) where += (where.empty() ? "" : ", ") + ip.to_string();
    return fmt::format("TCP+UDP port {} on {}", node.port, where);
}

// Phase 8: at most four entries per family, one per interface.
std::string build_node_address(NodeImpl& node) {
    NodeAddress a;
    a.public_key = node.identity->public_key();
    a.machine_id = node.machine_id;
    a.os = OsKind::linux_os;
    for (auto& [nic, addr] : published_addresses(node)) {
        AddressEntry entry{nic->index, addr.ip, addr.prefix_len, addr.ip, node.port, NatInfo{}};
        if (auto nat = node.nat_reports.find(addr.ip); nat != node.nat_reports.end()) {
            if (nat->second.external) entry.external_ip = nat->second.external->ip;
            // Only a mapping measured on the listen socket itself is the listen port's.
            if (nat->second.external && nat->second.observations.local.port == node.port && nat->second.external->port != node.port)
                entry.external_port = nat->second.external->port;
            entry.nat = nat->second.nat;
        }
        if (auto mapped = node.port_mapper ? node.port_mapper->external_for(addr.ip) : std::nullopt) {
            // The router forwards any sender to the listen port there: endpoint-independent
            // filtering, which is what the race plan checks before dialling it directly.
            entry.external_ip = mapped->ip;
            entry.external_port = mapped->port != node.port ? mapped->port : 0;
            entry.nat.type = NatType::full_cone;
        }
        (addr.ip.is_v6() ? a.v6 : a.v4).push_back(entry);
    }
    auto& conf = node.conf();
    for (int i = 0; i < conf.sig_pipe_no && i < static_cast<int>(conf.mqtt_servers.size()) && a.hints.size() < NodeAddress::max_hints; ++i)
        a.hints.push_back({ServerKind::mqtt, conf.mqtt_servers[i]});
    for (auto& turn : conf.turn_servers)
        if (a.hints.size() < NodeAddress::max_hints) a.hints.push_back({ServerKind::turn, turn.server});
    node.address_bytes = value_or_throw(serialize(a));
    node.address = std::move(a);
    return fmt::format("{} bytes, {} IPv4 + {} IPv6 entries", node.address_bytes.size(), node.address.v4.size(), node.address.v6.size());
}

// Phase 6: drops closed pipes from the node's table every minute.
asio::awaitable<void> maintenance(std::weak_ptr<NodeImpl> weak) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        timer.expires_after(std::chrono::minutes(1));
        co_await timer.async_wait(asio::use_awaitable);
        auto node = weak.lock();
        if (!node) co_return;
        node->prune_pipes();
    }
}

// Phase 9: registers the node's nickname (conf.nickname, else its node id) with its address
// on the configured PNP servers. A refusal (the name is another key's) or silent servers are
// reported, not fatal: the node works without a name.
asio::awaitable<std::string> setup_nickname_service(NodeImpl& n) {
    if (!n.conf().enable_nickname) co_return "disabled";
    if (n.conf().nickname_servers.empty())
        co_return "skipped: no nickname server configured (run warpgate-pnpd, see docs/pnp.md, and name it in "
                  "nickname_servers as HOST:PORT=PUBKEY)";
    pnp::Client client(n.executor, n.conf().nickname_servers, *n.identity);
    auto name = n.conf().nickname.empty() ? n.node_id : n.conf().nickname;
    auto text = to_text(n.address);
    auto reply = co_await client.register_name(name, as_bytes(text));
    if (!reply || reply->status != pnp::Status::ok) {
        auto reason = reply ? pnp::refusal_error(*reply, "", name).message : reply.error().message;
        log::warn("nickname '{}' not registered: {}", name, reason);
        co_return "failed: " + reason;
    }
    co_return fmt::format("registered {}{} on {} server(s)", name, client.tld(), n.conf().nickname_servers.size());
}

}  // namespace

asio::awaitable<void> Node::start(StartOptions options) {
    using namespace asio::experimental::awaitable_operators;
    auto& node = *impl_;
    if (node.started) throw Exception(Errc::config, "node already started");
    if (node.closed) throw Exception(Errc::closed, "node was closed");
    node.phases.clear();
    StartRun run(node, std::move(options));
    auto sync = [&node](auto fn) {
        return [&node, fn]() -> asio::awaitable<std::string> { co_return fn(node); };
    };
    auto async = [&node](auto fn) {
        return [&node, fn]() -> asio::awaitable<std::string> { return fn(node); };
    };
    try {
        co_await run.phase("load_network_interfaces", sync(load_network_interfaces));
        co_await run.phase("load_machine_identity", sync(load_machine_identity));
        co_await run.phase("load_cryptography_and_auth", sync(load_cryptography_and_auth));
        // Listening comes before phase 4 (the original's phase 7): the NAT mapping that matters
        // is the listen socket's own, so STUN measures on it.
        co_await run.phase("listen_on_ifs", sync(listen_on_ifs));
        co_await (run.phase("initialize_system_clock", async(initialize_system_clock)) &&
                  run.phase("load_p2p_stun_clients", async(load_p2p_stun_clients)) &&
                  run.phase("setup_router_and_signal", async(setup_router_and_signal)) &&
                  run.phase("start_background_port_forwarding", async(start_background_port_forwarding)));
        co_await run.phase("initialize_punch_coordination", sync([](NodeImpl& n) -> std::string {
                               if (!n.conf().init_clock_skew) return "disabled";
                               if (!n.clock.measurement()) return "clock skew unknown: punches use the local clock";
                               return "punches use the NTP-corrected clock (offset " + sntp::format_ms(n.clock.offset()) + ")";
                           }));
        co_await run.phase("start_maintenance_tasks", sync([](NodeImpl& n) -> std::string {
                               n.tasks.spawn(maintenance(n.weak_from_this()), "maintenance");
                               return "pipe table pruning every 60 s";
                           }));
        co_await run.phase("build_node_address", sync(build_node_address));
        co_await run.phase("setup_nickname_service", async(setup_nickname_service));
        co_await run.phase("setup_traversal_plugins", sync([](NodeImpl& n) -> std::string {
                               std::string names;
                               for (auto& p : n.plugins.all()) {
                                   p->serve(n.context_for(*p));  // the callee sides (answering signals)
                                   names += (names.empty() ? "" : ", ") + std::string(p->name());
                               }
                               return names;
                           }));
        co_await run.phase("finalize_port_forwarding", sync([](NodeImpl& n) -> std::string {
                               if (!n.conf().enable_upnp) return "disabled";
                               auto count = n.port_mapper->mappings().size();
                               return count == 0 ? "nothing mapped" : fmt::format("{} mappings renewed in the background", count);
                           }));
    } catch (...) {
        node.shutdown();
        node.closed = false;  // a failed start leaves a node that can be destroyed or closed
        throw;
    }
    node.started = true;
}

}  // namespace warpgate

// The lab's independent witness of NAT behaviour, with plain sockets (no warpgate code):
//
//   udp_punch map [--bind PORT] SERVER...
//       One socket asks every STUN SERVER (ip:port) in turn for its mapped address and prints
//       "SERVER MAPPED" per line: equal mappings = endpoint-independent mapping.
//   udp_punch punch --stun SERVER --me FILE --peer FILE [--bind PORT] [--timeout SEC]
//       Learns its mapped address by STUN, writes it to FILE (--me), waits for the peer's in
//       the other FILE (--peer), then both sides fire probes at each other's mapping. Success
//       needs traffic both ways: a probe heard from the peer and an ack of our own probes.
//   udp_punch probe SERVER COUNT
//       Sends COUNT single STUN requests (no retransmission) and prints "answered N of COUNT":
//       the loss on the path, both ways.
//
// Exit status: 0 success, 1 the NAT(s) did not let it through, 2 usage or setup error.
#include "stun_min.hpp"
#include "udp_min.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using lab::udp::Socket;

constexpr std::string_view probe_text = "warpgate-lab-punch";
constexpr std::string_view ack_text = "warpgate-lab-ack";

struct Options {
    std::uint16_t bind_port = 0;
    std::string stun;
    std::string me_file;
    std::string peer_file;
    std::chrono::seconds timeout{5};
    std::vector<std::string> servers;
};

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "udp_punch: " << why
              << "\nusage: udp_punch map [--bind PORT] SERVER...\n"
                 "       udp_punch punch --stun SERVER --me FILE --peer FILE [--bind PORT] "
                 "[--timeout SEC]\n"
                 "       udp_punch probe SERVER COUNT\n";
    std::exit(2);
}

sockaddr_in endpoint_or_die(const std::string& text) {
    auto ep = lab::udp::parse_endpoint(text);
    if (!ep) usage("not an ipv4:port endpoint: " + text);
    return *ep;
}

// RFC 8489 section 6.2.1 retransmits at 500 ms, doubling; the lab's round trips take well
// under a millisecond, so a fixed 200 ms interval is plenty and keeps failures fast.
constexpr auto stun_interval = 200ms;

// Asks `server` for our mapped address, sending the request at most `attempts` times.
std::optional<sockaddr_in> stun_mapping(const Socket& sock, const sockaddr_in& server,
                                        int attempts = 15,
                                        std::chrono::milliseconds interval = stun_interval) {
    const auto id = lab::stun::random_transaction_id();
    const auto request = lab::stun::header(lab::stun::binding_request, 0, id);
    for (int i = 0; i < attempts; ++i) {
        sock.send_to(request, server);
        const auto resend_at = Clock::now() + interval;
        while (Clock::now() < resend_at) {
            auto d = sock.receive(std::chrono::duration_cast<std::chrono::milliseconds>(
                resend_at - Clock::now()));
            if (!d) break;
            if (!lab::udp::same(d->from, server)) continue;
            if (auto mapped = lab::stun::mapped_address(d->data, id)) return mapped;
        }
    }
    return std::nullopt;
}

// Loss seen from here: `count` single requests, no retransmission, one answer expected each.
int run_probe(const Options& o) {
    if (o.servers.size() != 2) usage("probe needs SERVER COUNT");
    const auto server = endpoint_or_die(o.servers[0]);
    int count = 0;
    try {
        count = std::stoi(o.servers[1]);
    } catch (const std::logic_error&) {
        usage("probe COUNT must be a number");
    }
    Socket sock(lab::udp::any_port(o.bind_port));
    int answered = 0;
    for (int i = 0; i < count; ++i) answered += stun_mapping(sock, server, 1, 50ms) ? 1 : 0;
    std::cout << "answered " << answered << " of " << count << '\n';
    return 0;
}

int run_map(const Options& o) {
    if (o.servers.empty()) usage("map needs at least one STUN server");
    Socket sock(lab::udp::any_port(o.bind_port));
    int status = 0;
    for (const auto& text : o.servers) {
        const auto mapped = stun_mapping(sock, endpoint_or_die(text));
        std::cout << text << ' ' << (mapped ? lab::udp::to_string(*mapped) : "none") << '\n';
        if (!mapped) status = 1;
    }
    return status;
}

void write_atomically(const std::string& path, const std::string& text) {
    const auto tmp = path + ".tmp";
    std::ofstream(tmp) << text << '\n';
    std::filesystem::rename(tmp, path);
}

std::optional<std::string> wait_for_file(const std::string& path, Clock::time_point deadline) {
    while (Clock::now() < deadline) {
        std::ifstream in(path);
        std::string line;
        if (in && std::getline(in, line) && !line.empty()) return line;
        std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
}

bool has_text(const std::vector<std::uint8_t>& data, std::string_view text) {
    return std::string_view(reinterpret_cast<const char*>(data.data()), data.size()) == text;
}

std::span<const std::uint8_t> bytes_of(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

int run_punch(const Options& o) {
    if (o.stun.empty() || o.me_file.empty() || o.peer_file.empty())
        usage("punch needs --stun, --me and --peer");
    Socket sock(lab::udp::any_port(o.bind_port));
    const auto server = endpoint_or_die(o.stun);
    const auto mapped = stun_mapping(sock, server);
    if (!mapped) {
        std::cerr << "udp_punch: no STUN answer from " << o.stun << '\n';
        return 2;
    }
    std::cout << "local " << lab::udp::to_string(sock.local()) << " mapped "
              << lab::udp::to_string(*mapped) << std::endl;
    write_atomically(o.me_file, lab::udp::to_string(*mapped));

    const auto deadline = Clock::now() + o.timeout;
    const auto peer_text = wait_for_file(o.peer_file, deadline);
    if (!peer_text) {
        std::cerr << "udp_punch: peer never published its mapping in " << o.peer_file << '\n';
        return 2;
    }
    const auto peer = endpoint_or_die(*peer_text);
    std::cout << "peer " << lab::udp::to_string(peer) << std::endl;

    bool heard = false; // a probe from the peer got in
    bool acked = false; // a probe of ours got out and the peer answered
    // Like ICE's peer-reflexive candidates: a probe from an unknown source (the peer's NAT
    // gave it a new mapping) becomes a target of ours too.
    std::vector<sockaddr_in> targets{peer};
    std::optional<Clock::time_point> linger_until;
    while (Clock::now() < deadline && (!linger_until || Clock::now() < *linger_until)) {
        for (const auto& target : targets) sock.send_to(bytes_of(probe_text), target);
        const auto next_probe = Clock::now() + 50ms;
        while (Clock::now() < next_probe) {
            auto d = sock.receive(std::chrono::duration_cast<std::chrono::milliseconds>(
                next_probe - Clock::now()));
            if (!d) break;
            if (has_text(d->data, probe_text)) {
                // Answer wherever it came from: a NAT may have given the peer a new mapping.
                sock.send_to(bytes_of(ack_text), d->from);
                if (!heard) std::cout << "heard from " << lab::udp::to_string(d->from) << std::endl;
                heard = true;
                const bool known = std::any_of(targets.begin(), targets.end(), [&](const auto& t) {
                    return lab::udp::same(t, d->from);
                });
                if (!known) targets.push_back(d->from);
            } else if (has_text(d->data, ack_text)) {
                if (!acked) std::cout << "acked by " << lab::udp::to_string(d->from) << std::endl;
                acked = true;
            }
        }
        // Keep answering a little so the peer sees our acks too before we leave.
        if (heard && acked && !linger_until) linger_until = Clock::now() + 500ms;
    }
    if (heard && acked) {
        std::cout << "punch: success" << std::endl;
        return 0;
    }
    std::cout << "punch: failed (heard=" << heard << " acked=" << acked << ")" << std::endl;
    return 1;
}

Options parse(int argc, char** argv, int first) {
    Options o;
    for (int i = first; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(arg + " needs a value");
            return argv[++i];
        };
        try {
            if (arg == "--bind") o.bind_port = static_cast<std::uint16_t>(std::stoul(value()));
            else if (arg == "--stun") o.stun = value();
            else if (arg == "--me") o.me_file = value();
            else if (arg == "--peer") o.peer_file = value();
            else if (arg == "--timeout") o.timeout = std::chrono::seconds(std::stoul(value()));
            else if (arg.starts_with("--")) usage("unknown option " + arg);
            else o.servers.push_back(arg);
        } catch (const std::logic_error&) {
            usage("bad number for " + arg);
        }
    }
    return o;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) usage("missing command");
    const std::string command = argv[1];
    try {
        const auto options = parse(argc, argv, 2);
        if (command == "map") return run_map(options);
        if (command == "punch") return run_punch(options);
        if (command == "probe") return run_probe(options);
        usage("unknown command " + command);
    } catch (const std::exception& e) {
        std::cerr << "udp_punch: " << e.what() << '\n';
        return 2;
    }
}

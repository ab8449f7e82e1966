// Node configuration: every knob of the original NODE_CONF plus the server lists, with a
// production preset (public infrastructure) and a test preset (nothing leaves the machine).
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>
#include <nlohmann/json_fwd.hpp>
#include <warpgate/bytes.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>
#include <warpgate/port_mapping.hpp>

namespace warpgate {

// How a node reaches a TURN server (RFC 8656 §3.1): TCP or TLS when a network blocks UDP.
enum class TurnTransport : std::uint8_t { udp, tcp, tls };
const char* to_string(TurnTransport t) noexcept;  // "udp", "tcp", "tls"
Result<TurnTransport> parse_turn_transport(std::string_view text);

struct TurnServer {
    HostPort server;
    std::string user;
    std::string password;
    std::string realm;
    TurnTransport transport = TurnTransport::udp;
    std::string ca_file;  // TLS: the CA (PEM) to verify the server against; empty: the system's roots
    friend bool operator==(const TurnServer&, const TurnServer&) = default;
};

// A PNP nickname server (docs/pnp.md): where it listens and the public key requests are sealed
// to, written "HOST:PORT=PUBKEY" (PUBKEY: the 33-byte compressed key in hex, as
// `warpgate-pnpd --print-public-key` prints it).
struct NicknameServer {
    HostPort server;
    Bytes public_key;
    std::string to_string() const;
    static Result<NicknameServer> parse(std::string_view text);
    friend bool operator==(const NicknameServer&, const NicknameServer&) = default;
};

struct NodeConfig {
    // --- the original's NODE_CONF knobs ---
    bool reuse_addr = false;           // SO_REUSEADDR on the UDP listen sockets (TCP listeners always)
    bool enable_upnp = true;           // ask the router for port mappings at start (UPnP-IGD, NAT-PMP or PCP)
    int sig_pipe_no = 1;               // MQTT brokers to keep a signaling connection to (0: none)
    std::filesystem::path install_path;  // keys and state; empty: $XDG_DATA_HOME/warpgate or ~/.local/share/warpgate
    bool init_clock_skew = true;       // measure clock skew by NTP (hole punching timing)
    bool enable_punching = true;       // load the hole-punching plugins
    bool enable_nickname = true;       // register the node's nickname at start
    bool enable_stun_clients = true;   // learn external addresses and NAT types by STUN
    bool encrypt_links = true;         // authenticated, encrypted links; off: plaintext pipes (logged)

    // --- infrastructure (host:port; names are resolved when used) ---
    std::vector<HostPort> stun_servers;
    std::vector<HostPort> mqtt_servers;
    std::vector<TurnServer> turn_servers;
    std::vector<HostPort> ntp_servers;
    std::vector<NicknameServer> nickname_servers;
    std::string nickname;  // registered at start (enable_nickname); empty: the node id

    // --- timeouts (every network wait has one) ---
    std::chrono::milliseconds connect_timeout{3000};   // one connection attempt
    std::chrono::milliseconds stun_timeout{1500};      // one STUN server, all retransmissions
    std::chrono::milliseconds signal_timeout{3000};    // connecting to one MQTT broker
    std::chrono::milliseconds handshake_timeout{5000}; // a link's introduction, either side
    std::chrono::milliseconds keepalive_interval{25000};  // idle links send one (NAT UDP timeouts)
    std::chrono::milliseconds link_dead_timeout{75000};   // nothing authenticated heard: the link is dead
    std::chrono::milliseconds ntp_timeout{1500};       // one NTP server, every sample and retransmission
    std::chrono::milliseconds port_mapping_timeout{2000};  // finding a mapping protocol and mapping; each renewal or removal

    // --- port mapping (enable_upnp) ---
    PortMappingProtocol port_mapping_protocol = PortMappingProtocol::any;  // any: PCP, NAT-PMP, then UPnP-IGD
    std::chrono::milliseconds port_mapping_lease{3600 * 1000};  // asked of the router; renewed at half

    // --- clock (init_clock_skew) ---
    std::chrono::milliseconds clock_max_age{15 * 60 * 1000};  // a measurement older than this is refreshed
    // Test only: shifts this node's reading of the system clock by this many ms (either
    // sign), so a test can show that the NTP offset corrects it. 0 in both presets.
    std::int64_t inject_clock_offset_ms = 0;

    // --- limits ---
    std::size_t max_message_size = 16 * 1024 * 1024;  // a larger TCP frame closes the pipe
    std::size_t inbox_capacity = 256;                 // messages queued per pipe / subscription
    // What strangers can make a listener hold before they authenticate (docs/pipes.md).
    std::size_t max_half_open = 1024;         // introductions awaiting key confirmation
    std::size_t max_half_open_per_ip = 32;
    std::size_t max_pending_tcp = 512;        // TCP connections that sent no hello yet
    std::size_t max_pending_tcp_per_ip = 16;

    // --- dials a peer asks for over signaling (connect_back; docs/signaling.md) ---
    // Loopback targets are refused unless this is set: for tests and nodes sharing one machine
    // (a requester's machine id is its own claim, so it cannot decide this).
    bool dial_back_loopback = false;
    std::size_t connect_back_per_key_burst = 3;                    // dials for one requesting key...
    std::chrono::milliseconds connect_back_per_key_window{10000};  // ...refilled over this time
    std::size_t connect_back_total_burst = 20;                     // dials for all keys together...
    std::chrono::milliseconds connect_back_total_window{10000};    // ...refilled over this time
    std::size_t connect_back_max_concurrent = 4;                   // dial-backs in progress at once

    // Public STUN/MQTT/NTP servers: for real users, never for tests.
    static NodeConfig production();
    // Nothing external: no UPnP, no MQTT, no NTP, no STUN, no nickname (the original's NODE_TEST_CONF).
    static NodeConfig test();

    // Applies the JSON object's fields over this config (the original's dict_child). Unknown
    // keys and wrongly typed values are errors, so a typo never passes silently. A "preset"
    // key ("production" or "test") is only accepted by load_config().
    Result<void> apply(const nlohmann::json& overrides);
    nlohmann::json to_json() const;

    // The directory used for keys when install_path is empty.
    std::filesystem::path data_dir() const;
};

// Reads a JSON config file: {"preset": "test", "enable_upnp": true, "stun_servers": [...]}.
// The preset (default "production") is applied first, then every other field.
Result<NodeConfig> load_config(const std::filesystem::path& file);
Result<NodeConfig> load_config_json(std::string_view text);

}  // namespace warpgate

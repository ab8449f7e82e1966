#include <warpgate/config.hpp>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace warpgate {
namespace {

using nlohmann::json;

std::vector<HostPort> hosts(std::initializer_list<const char*> list, std::uint16_t default_port) {
    std::vector<HostPort> out;
    for (auto text : list) out.push_back(*HostPort::parse(text, default_port));
    return out;
}

// Visits every configurable field with its JSON key, so apply() and to_json() cannot drift.
template <class Config, class Visitor>
void visit_fields(Config& c, Visitor&& v) {
    v("reuse_addr", c.reuse_addr);
    v("enable_upnp", c.enable_upnp);
    v("sig_pipe_no", c.sig_pipe_no);
    v("install_path", c.install_path);
    v("init_clock_skew", c.init_clock_skew);
    v("enable_punching", c.enable_punching);
    v("enable_nickname", c.enable_nickname);
    v("enable_stun_clients", c.enable_stun_clients);
    v("encrypt_links", c.encrypt_links);
    v("stun_servers", c.stun_servers);
    v("mqtt_servers", c.mqtt_servers);
    v("turn_servers", c.turn_servers);
    v("ntp_servers", c.ntp_servers);
    v("nickname_servers", c.nickname_servers);
    v("nickname", c.nickname);
    v("connect_timeout_ms", c.connect_timeout);
    v("stun_timeout_ms", c.stun_timeout);
    v("signal_timeout_ms", c.signal_timeout);
    v("handshake_timeout_ms", c.handshake_timeout);
    v("keepalive_interval_ms", c.keepalive_interval);
    v("link_dead_timeout_ms", c.link_dead_timeout);
    v("ntp_timeout_ms", c.ntp_timeout);
    v("port_mapping_timeout_ms", c.port_mapping_timeout);
    v("port_mapping_protocol", c.port_mapping_protocol);
    v("port_mapping_lease_ms", c.port_mapping_lease);
    v("clock_max_age_ms", c.clock_max_age);
    v("inject_clock_offset_ms", c.inject_clock_offset_ms);
    v("max_message_size", c.max_message_size);
    v("inbox_capacity", c.inbox_capacity);
    v("max_half_open", c.max_half_open);
    v("max_half_open_per_ip", c.max_half_open_per_ip);
    v("max_pending_tcp", c.max_pending_tcp);
    v("max_pending_tcp_per_ip", c.max_pending_tcp_per_ip);
    v("dial_back_loopback", c.dial_back_loopback);
    v("connect_back_per_key_burst", c.connect_back_per_key_burst);
    v("connect_back_per_key_window_ms", c.connect_back_per_key_window);
    v("connect_back_total_burst", c.connect_back_total_burst);
    v("connect_back_total_window_ms", c.connect_back_total_window);
    v("connect_back_max_concurrent", c.connect_back_max_concurrent);
}

json to_json_value(bool v) { return v; }
json to_json_value(int v) { return v; }
json to_json_value(std::size_t v) { return v; }
json to_json_value(std::int64_t v) { return v; }
json to_json_value(const std::filesystem::path& v) { return v.string(); }
json to_json_value(std::chrono::milliseconds v) { return v.count(); }
json to_json_value(PortMappingProtocol v) { return to_string(v); }
json to_json_value(const std::vector<HostPort>& v) {
    json out = json::array();
    for (auto& h : v) out.push_back(h.to_string());
    return out;
}
json to_json_value(const std::string& v) { return v; }
json to_json_value(const std::vector<NicknameServer>& v) {
    json out = json::array();
    for (auto& n : v) out.push_back(n.to_string());
    return out;
}
json to_json_value(const std::vector<TurnServer>& v) {
    json out = json::array();
    for (auto& t : v)
        out.push_back({{"server", t.server.to_string()}, {"user", t.user}, {"password", t.password}, {"realm", t.realm},
                       {"transport", to_string(t.transport)}, {"ca_file", t.ca_file}});
    return out;
}

Result<void> type_error(std::string_view key, std::string_view expected) {
    return fail(Errc::config, "config field '" + std::string(key) + "' must be " + std::string(expected));
}

Result<void> from_json_value(std::string_view key, const json& j, bool& out) {
    if (!j.is_boolean()) return type_error(key, "true or false");
    out = j.get<bool>();
    return {};
}
Result<void> from_json_value(std::string_view key, const json& j, int& out) {
    if (!j.is_number_integer() || j.get<long long>() < 0 || j.get<long long>() > 64) return type_error(key, "an integer in [0, 64]");
    out = j.get<int>();
    return {};
}
Result<void> from_json_value(std::string_view key, const json& j, std::size_t& out) {
    if (!j.is_number_integer() || j.get<std::int64_t>() < 1) return type_error(key, "a positive integer");
    out = j.get<std::size_t>();
    return {};
}
// A signed offset in ms (inject_clock_offset_ms): at most a day either way.
Result<void> from_json_value(std::string_view key, const json& j, std::int64_t& out) {
    constexpr std::int64_t day_ms = 86'400'000;
    if (!j.is_number_integer() || j.get<std::int64_t>() < -day_ms || j.get<std::int64_t>() > day_ms)
        return type_error(key, "an integer in [-86400000, 86400000]");
    out = j.get<std::int64_t>();
    return {};
}
Result<void> from_json_value(std::string_view key, const json& j, std::chrono::milliseconds& out) {
    if (!j.is_number_integer() || j.get<std::int64_t>() < 1 || j.get<std::int64_t>() > 3'600'000)
        return type_error(key, "milliseconds in [1, 3600000]");
    out = std::chrono::milliseconds(j.get<std::int64_t>());
    return {};
}
Result<void> from_json_value(std::string_view key, const json& j, PortMappingProtocol& out) {
    const char* expected = "one of \"any\", \"pcp\", \"natpmp\", \"upnp\"";
    if (!j.is_string()) return type_error(key, expected);
    auto parsed = parse_port_mapping_protocol(j.get<std::string>());
    if (!parsed) return type_error(key, expected);
    out = *parsed;
    return {};
}
Result<void> from_json_value(std::string_view key, const json& j, std::filesystem::path& out) {
    if (!j.is_string()) return type_error(key, "a path string");
    out = j.get<std::string>();
    return {};
}
// An array of strings, each parsed by `parse` (a Result-returning function).
template <class T, class Parse>
Result<void> string_list(std::string_view key, const json& j, std::vector<T>& out, const char* shape, Parse parse) {
    if (!j.is_array()) return type_error(key, shape);
    std::vector<T> parsed;
    for (auto& item : j) {
        if (!item.is_string()) return type_error(key, shape);
        auto value = parse(item.get<std::string>());
        if (!value) return fail(Errc::config, "config field '" + std::string(key) + "': " + value.error().message);
        parsed.push_back(std::move(*value));
    }
    out = std::move(parsed);
    return {};
}
Result<void> from_json_value(std::string_view key, const json& j, std::vector<HostPort>& out) {
    return string_list(key, j, out, "an array of \"host:port\" strings", [](const std::string& t) { return HostPort::parse(t); });
}
Result<void> from_json_value(std::string_view key, const json& j, std::string& out) {
    if (!j.is_string()) return type_error(key, "a string");
    out = j.get<std::string>();
    return {};
}
Result<void> from_json_value(std::string_view key, const json& j, std::vector<NicknameServer>& out) {
    return string_list(key, j, out, "an array of \"host:port=public key hex\" strings",
                       [](const std::string& t) { return NicknameServer::parse(t); });
}
Result<void> from_json_value(std::string_view key, const json& j, std::vector<TurnServer>& out) {
    const char* shape = "an array of {\"server\": \"host:port\", \"user\", \"password\", \"realm\", \"transport\", \"ca_file\"}";
    if (!j.is_array()) return type_error(key, shape);
    std::vector<TurnServer> parsed;
    for (auto& item : j) {
        if (!item.is_object() || !item.contains("server") || !item["server"].is_string()) return type_error(key, shape);
        auto hp = HostPort::parse(item["server"].get<std::string>(), 3478);
        if (!hp) return fail(Errc::config, "config field '" + std::string(key) + "': " + hp.error().message);
        TurnServer t;
        t.server = *hp;
        t.user = item.value("user", "");
        t.password = item.value("password", "");
        t.realm = item.value("realm", "");
        if (item.contains("transport")) {
            auto transport = item["transport"].is_string() ? parse_turn_transport(item["transport"].get<std::string>())
                                                           : parse_turn_transport("");
            if (!transport) return fail(Errc::config, "config field '" + std::string(key) + "': " + transport.error().message);
            t.transport = *transport;
        }
        t.ca_file = item.value("ca_file", "");
        parsed.push_back(std::move(t));
    }
    out = std::move(parsed);
    return {};
}

}  // namespace

std::string NicknameServer::to_string() const { return server.to_string() + "=" + to_hex(public_key); }

Result<NicknameServer> NicknameServer::parse(std::string_view text) {
    auto eq = text.rfind('=');
    if (eq == std::string_view::npos)
        return fail(Errc::config, "nickname server '" + std::string(text) + "' is not HOST:PORT=PUBKEY (the server's public key, in hex)");
    auto hp = HostPort::parse(text.substr(0, eq), 5300);
    if (!hp) return tl::unexpected(hp.error());
    auto key = from_hex(text.substr(eq + 1));
    if (key.size() != 33 || (key[0] != 2 && key[0] != 3))
        return fail(Errc::config, "nickname server '" + std::string(text) + "': the public key is not 66 hex digits of a compressed key");
    return NicknameServer{*hp, std::move(key)};
}

const char* to_string(TurnTransport t) noexcept {
    if (t == TurnTransport::tcp) return "tcp";
    if (t == TurnTransport::tls) return "tls";
    return "udp";
}

Result<TurnTransport> parse_turn_transport(std::string_view text) {
    for (auto t : {TurnTransport::udp, TurnTransport::tcp, TurnTransport::tls})
        if (text == to_string(t)) return t;
    return fail(Errc::config, "TURN transport '" + std::string(text) + "' is not one of udp, tcp, tls");
}

NodeConfig NodeConfig::production() {
    NodeConfig c;
    c.stun_servers = hosts({"stun.l.google.com:19302", "stun1.l.google.com:19302", "stun.cloudflare.com:3478",
                            "stun.nextcloud.com:3478", "stun.sipgate.net:3478", "stun.voip.blackberry.com:3478"},
                           3478);
    c.mqtt_servers = hosts({"test.mosquitto.org:1883", "broker.hivemq.com:1883", "broker.emqx.io:1883"}, 1883);
    c.ntp_servers = hosts({"pool.ntp.org:123", "time.google.com:123", "time.cloudflare.com:123"}, 123);
    // The project runs no public TURN relay or nickname server yet: users add their own.
    return c;
}

NodeConfig NodeConfig::test() {
    NodeConfig c;
    c.enable_upnp = false;
    c.sig_pipe_no = 0;
    c.init_clock_skew = false;
    c.enable_nickname = false;
    c.enable_stun_clients = false;
    return c;
}

Result<void> NodeConfig::apply(const json& overrides) {
    if (!overrides.is_object()) return fail(Errc::config, "config must be a JSON object");
    for (auto& item : overrides.items()) {
        const std::string& key = item.key();  // (named variables: clang 14 cannot capture bindings)
        const json& value = item.value();
        bool known = false;
        Result<void> result;
        visit_fields(*this, [&](std::string_view name, auto& field) {
            if (known || name != key) return;
            known = true;
            result = from_json_value(name, value, field);
        });
        if (!known) return fail(Errc::config, "unknown config field '" + key + "'");
        if (!result) return result;
    }
    return {};
}

json NodeConfig::to_json() const {
    json out = json::object();
    visit_fields(*this, [&](std::string_view name, const auto& field) { out[std::string(name)] = to_json_value(field); });
    return out;
}

std::filesystem::path NodeConfig::data_dir() const {
    if (!install_path.empty()) return install_path;
    if (auto xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "warpgate";
    if (auto home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".local/share/warpgate";
    return std::filesystem::temp_directory_path() / "warpgate";
}

Result<NodeConfig> load_config_json(std::string_view text) {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
    if (j.is_discarded()) return fail(Errc::config, "config is not valid JSON");
    if (!j.is_object()) return fail(Errc::config, "config must be a JSON object");
    std::string preset = "production";
    if (j.contains("preset")) {
        if (!j["preset"].is_string()) return fail(Errc::config, "config field 'preset' must be \"production\" or \"test\"");
        preset = j["preset"].get<std::string>();
        j.erase("preset");
    }
    NodeConfig config;
    if (preset == "production") config = NodeConfig::production();
    else if (preset == "test") config = NodeConfig::test();
    else return fail(Errc::config, "unknown preset '" + preset + "' (production or test)");
    if (auto r = config.apply(j); !r) return tl::unexpected(r.error());
    return config;
}

Result<NodeConfig> load_config(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) return fail(Errc::io, "cannot read config file " + file.string());
    std::stringstream text;
    text << in.rdbuf();
    auto config = load_config_json(text.str());
    if (!config) return fail(config.error().code, file.string() + ": " + config.error().message);
    return config;
}

}  // namespace warpgate

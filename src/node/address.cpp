// The node address binary codec; docs/node-address.md is the format it implements.
#include <warpgate/address.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <optional>

#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"

namespace warpgate {
namespace {

using net::ByteReader;
using net::ByteWriter;

constexpr std::size_t key_size = 33;  // SEC 1 section 2.3.3 compressed point: 0x02/0x03 || x
constexpr std::size_t max_host_size = 253;  // RFC 1035 section 2.3.4, without the final dot
constexpr std::uint8_t max_os = static_cast<std::uint8_t>(OsKind::android);
constexpr std::uint8_t max_nat_type = static_cast<std::uint8_t>(NatType::blocked);
constexpr std::uint8_t max_delta_type = static_cast<std::uint8_t>(DeltaType::random);

// The entry's NAT byte: external-address flag, NAT type, a reserved bit, delta type.
constexpr std::uint8_t external_flag = 0x80;
constexpr unsigned nat_type_shift = 4;
constexpr std::uint8_t reserved_nat_bit = 0x08;
constexpr std::uint8_t delta_type_mask = 0x07;
// The entry's behaviour byte (version 2): external-port flag, reserved bits, mapping behaviour.
constexpr std::uint8_t external_port_flag = 0x80;
constexpr std::uint8_t mapping_mask = 0x03;
constexpr std::uint8_t reserved_behaviour_bits = 0x7c;

constexpr std::size_t ip_size(Family f) { return f == IP6 ? 16 : 4; }
constexpr std::uint8_t max_prefix(Family f) { return f == IP6 ? 128 : 32; }

// Worst cases: 5-byte varints, external address and port present, longest hosts.
constexpr std::size_t max_entry_size(Family f) { return 5 + 2 + ip_size(f) + 1 + 1 + 1 + ip_size(f) + 2 + 5; }
constexpr std::size_t max_hint_size = 1 + 1 + max_host_size + 2;
static_assert(NodeAddress::max_encoded_size ==
              1 + key_size + 16 + 1 + 3 + NodeAddress::max_entries_per_family * max_entry_size(IP4) +
                  NodeAddress::max_entries_per_family * max_entry_size(IP6) + NodeAddress::max_hints * max_hint_size);

const char* entry_count_name(Family f) { return f == IP6 ? "IPv6 entry count" : "IPv4 entry count"; }

// An IPv4-mapped IPv6 address (RFC 4291 section 2.5.5.2) is IPv4 in disguise: it belongs in
// the IPv4 list, so an IPv6 list never holds one.
bool fits_family(const asio::ip::address& ip, Family f) {
    if (family_of(ip) != f) return false;
    return !(ip.is_v6() && ip.to_v6().is_v4_mapped());
}

// Letters, digits, '-', '.' for names (RFC 1123 section 2.1); ':' for IPv6 literals; '_' seen
// in real service names.
bool is_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == ':' || c == '_';
}

// ---- serialize ---------------------------------------------------------------------------

std::optional<std::string> entry_violation(const AddressEntry& e, Family f) {
    if (!fits_family(e.nic_ip, f)) return fmt::format("NIC address {} is not {}", e.nic_ip.to_string(), to_string(f));
    if (!fits_family(e.external_ip, f))
        return fmt::format("external address {} is not {}", e.external_ip.to_string(), to_string(f));
    if (e.prefix_len > max_prefix(f)) return fmt::format("prefix length {} is over {}", e.prefix_len, max_prefix(f));
    if (static_cast<std::uint8_t>(e.nat.type) > max_nat_type)
        return fmt::format("NAT type {} is out of range", static_cast<int>(e.nat.type));
    if (static_cast<std::uint8_t>(e.nat.delta_type) > max_delta_type)
        return fmt::format("delta type {} is out of range", static_cast<int>(e.nat.delta_type));
    if (e.external_port != 0 && e.external_port == e.port)
        return fmt::format("external port {} repeats the listen port (leave it 0)", e.external_port);
    if (static_cast<std::uint8_t>(e.nat.mapping) > mapping_mask)
        return fmt::format("mapping behaviour {} is out of range", static_cast<int>(e.nat.mapping));
    return std::nullopt;
}

std::optional<std::string> hint_violation(const ServerHint& h) {
    if (h.kind != ServerKind::mqtt && h.kind != ServerKind::turn)
        return fmt::format("server kind {} is out of range", static_cast<int>(h.kind));
    const auto& host = h.server.host;
    if (host.empty() || host.size() > max_host_size)
        return fmt::format("host length {} is not 1..{}", host.size(), max_host_size);
    if (!std::all_of(host.begin(), host.end(), is_host_char)) return fmt::format("host '{}' has a bad character", host);
    if (h.server.port == 0) return "port 0";
    return std::nullopt;
}

std::optional<std::string> address_violation(const NodeAddress& a) {
    if (a.public_key.size() != key_size)
        return fmt::format("public key is {} bytes, not {} (compressed secp256k1)", a.public_key.size(), key_size);
    if (a.public_key[0] != 0x02 && a.public_key[0] != 0x03)
        return fmt::format("public key prefix 0x{:02x} is not 0x02/0x03 (compressed)", a.public_key[0]);
    if (static_cast<std::uint8_t>(a.os) > max_os) return fmt::format("OS {} is out of range", static_cast<int>(a.os));
    for (auto f : {IP4, IP6}) {
        const auto& list = a.entries(f);
        if (list.size() > NodeAddress::max_entries_per_family)
            return fmt::format("{} {} entries, at most {}", list.size(), to_string(f), NodeAddress::max_entries_per_family);
        for (std::size_t i = 0; i < list.size(); ++i)
            if (auto v = entry_violation(list[i], f)) return fmt::format("{} entry {}: {}", to_string(f), i, *v);
    }
    if (a.hints.size() > NodeAddress::max_hints)
        return fmt::format("{} server hints, at most {}", a.hints.size(), NodeAddress::max_hints);
    for (std::size_t i = 0; i < a.hints.size(); ++i)
        if (auto v = hint_violation(a.hints[i])) return fmt::format("server hint {}: {}", i, *v);
    return std::nullopt;
}

void write_ip(ByteWriter& out, const asio::ip::address& ip) {
    if (ip.is_v6()) {
        out.bytes(ip.to_v6().to_bytes());
    } else {
        out.bytes(ip.to_v4().to_bytes());
    }
}

void write_entry(ByteWriter& out, const AddressEntry& e) {
    const bool external = e.external_ip != e.nic_ip;
    const bool external_port = e.external_port != 0;
    out.varint32(e.if_index);
    out.u16(e.port);
    write_ip(out, e.nic_ip);
    out.u8(e.prefix_len);
    out.u8(static_cast<std::uint8_t>((external ? external_flag : 0) |
                                     static_cast<std::uint8_t>(e.nat.type) << nat_type_shift |
                                     static_cast<std::uint8_t>(e.nat.delta_type)));
    out.u8(static_cast<std::uint8_t>((external_port ? external_port_flag : 0) | static_cast<std::uint8_t>(e.nat.mapping)));
    if (external) write_ip(out, e.external_ip);
    if (external_port) out.u16(e.external_port);
    out.zigzag32(e.nat.delta_value);
}

void write_hint(ByteWriter& out, const ServerHint& h) {
    out.u8(static_cast<std::uint8_t>(h.kind));
    out.u8(static_cast<std::uint8_t>(h.server.host.size()));
    out.bytes(as_bytes(h.server.host));
    out.u16(h.server.port);
}

// ---- parse -------------------------------------------------------------------------------

asio::ip::address read_ip(ByteReader& in, Family f, std::string_view what) {
    const auto at = in.offset();
    const auto b = in.bytes(ip_size(f), what);
    if (b.empty()) return {};
    if (f == IP4) return asio::ip::address_v4({b[0], b[1], b[2], b[3]});
    asio::ip::address_v6::bytes_type raw;
    std::copy(b.begin(), b.end(), raw.begin());
    const asio::ip::address_v6 ip(raw);
    if (ip.is_v4_mapped()) in.reject(at, fmt::format("{} {} is IPv4-mapped, not IPv6", what, ip.to_string()));
    return ip;
}

AddressEntry read_entry(ByteReader& in, Family f) {
    AddressEntry e;
    e.if_index = in.varint32("interface index");
    e.port = in.u16("port");
    e.nic_ip = read_ip(in, f, "NIC address");

    auto at = in.offset();
    e.prefix_len = in.u8("prefix length");
    if (e.prefix_len > max_prefix(f))
        in.reject(at, fmt::format("prefix length {} is over {}", e.prefix_len, max_prefix(f)));

    at = in.offset();
    const auto nat = in.u8("NAT byte");
    if (nat & reserved_nat_bit) in.reject(at, "reserved bit 0x08 of the NAT byte is set");
    if ((nat & delta_type_mask) > max_delta_type)
        in.reject(at, fmt::format("delta type {} is out of range", nat & delta_type_mask));
    e.nat.type = static_cast<NatType>((nat >> nat_type_shift) & 0x07);  // 3 bits: every value is a type
    e.nat.delta_type = static_cast<DeltaType>(nat & delta_type_mask);

    at = in.offset();
    const auto behaviour = in.u8("behaviour byte");
    if (behaviour & reserved_behaviour_bits)
        in.reject(at, fmt::format("reserved bits 0x{:02x} of the behaviour byte are set", behaviour & reserved_behaviour_bits));
    e.nat.mapping = static_cast<MappingBehaviour>(behaviour & mapping_mask);  // 2 bits: every value is one

    e.external_ip = e.nic_ip;
    if (nat & external_flag) {
        at = in.offset();
        e.external_ip = read_ip(in, f, "external address");
        // The writer omits an external address equal to the NIC's; allowing it here would give
        // one address two encodings.
        if (in.ok() && e.external_ip == e.nic_ip) in.reject(at, "external address repeats the NIC address");
    }
    if (behaviour & external_port_flag) {
        at = in.offset();
        e.external_port = in.u16("external port");
        if (in.ok() && e.external_port == 0) in.reject(at, "external port 0");
        // The writer omits an external port equal to the listen port (one address, one encoding).
        if (in.ok() && e.external_port == e.port) in.reject(at, "external port repeats the listen port");
    }
    e.nat.delta_value = in.zigzag32("delta value");
    return e;
}

void read_entries(ByteReader& in, Family f, std::vector<AddressEntry>& out) {
    const auto at = in.offset();
    const auto count = in.u8(entry_count_name(f));
    if (count > NodeAddress::max_entries_per_family)
        in.reject(at, fmt::format("{} {} entries, at most {}", count, to_string(f), NodeAddress::max_entries_per_family));
    for (unsigned i = 0; i < count && in.ok(); ++i) out.push_back(read_entry(in, f));
}

ServerHint read_hint(ByteReader& in) {
    ServerHint h;
    auto at = in.offset();
    const auto kind = in.u8("server kind");
    if (kind != static_cast<std::uint8_t>(ServerKind::mqtt) && kind != static_cast<std::uint8_t>(ServerKind::turn))
        in.reject(at, fmt::format("server kind {} is not 1 (MQTT) or 2 (TURN)", kind));
    h.kind = static_cast<ServerKind>(kind);

    at = in.offset();
    const auto length = in.u8("host length");
    if (length == 0) in.reject(at, "empty host");
    if (length > max_host_size) in.reject(at, fmt::format("host length {} is over {}", length, max_host_size));
    const auto host = as_chars(in.bytes(length, "host"));
    const auto bad = std::find_if_not(host.begin(), host.end(), is_host_char);
    if (bad != host.end())
        in.reject(at + 1 + static_cast<std::size_t>(bad - host.begin()),
                  fmt::format("host has a bad character 0x{:02x}", static_cast<unsigned char>(*bad)));
    h.server.host = std::string(host);

    at = in.offset();
    h.server.port = in.u16("port");
    if (in.ok() && h.server.port == 0) in.reject(at, "server port 0");
    return h;
}

}  // namespace

Result<Bytes> serialize(const NodeAddress& address) {
    if (auto v = address_violation(address)) return fail(Errc::config, "node address: " + *v);
    ByteWriter out;
    out.u8(NodeAddress::version);
    out.bytes(address.public_key);
    out.bytes(address.machine_id);
    out.u8(static_cast<std::uint8_t>(address.os));
    for (auto f : {IP4, IP6}) {
        out.u8(static_cast<std::uint8_t>(address.entries(f).size()));
        for (const auto& e : address.entries(f)) write_entry(out, e);
    }
    out.u8(static_cast<std::uint8_t>(address.hints.size()));
    for (const auto& h : address.hints) write_hint(out, h);
    return std::move(out).take();
}

Result<NodeAddress> parse_address(ByteView bytes) {
    if (bytes.size() > NodeAddress::max_encoded_size)
        return fail(Errc::malformed, fmt::format("node address: {} bytes is over the maximum of {}", bytes.size(),
                                                 NodeAddress::max_encoded_size));
    ByteReader in(bytes, "node address");
    const auto version = in.u8("version");
    if (version > NodeAddress::version)
        in.reject(0, fmt::format("version {} is newer than this build reads ({})", version, NodeAddress::version),
                  Errc::unsupported);
    else if (in.ok() && version == 1)
        in.reject(0, fmt::format("version 1 is older than this build reads ({}): it has no external port", NodeAddress::version),
                  Errc::unsupported);
    else if (in.ok() && version != NodeAddress::version)
        in.reject(0, fmt::format("version {} does not exist", version));

    NodeAddress a;
    const auto key_at = in.offset();
    const auto key = in.bytes(key_size, "public key");
    if (!key.empty() && key[0] != 0x02 && key[0] != 0x03)
        in.reject(key_at, fmt::format("public key prefix 0x{:02x} is not 0x02/0x03 (compressed)", key[0]));
    a.public_key.assign(key.begin(), key.end());

    const auto id = in.bytes(a.machine_id.size(), "machine id");
    std::copy(id.begin(), id.end(), a.machine_id.begin());

    const auto os_at = in.offset();
    const auto os = in.u8("OS");
    if (os > max_os) in.reject(os_at, fmt::format("OS {} is out of range", os));
    a.os = static_cast<OsKind>(os);

    read_entries(in, IP4, a.v4);
    read_entries(in, IP6, a.v6);

    const auto hints_at = in.offset();
    const auto hints = in.u8("server hint count");
    if (hints > NodeAddress::max_hints)
        in.reject(hints_at, fmt::format("{} server hints, at most {}", hints, NodeAddress::max_hints));
    for (unsigned i = 0; i < hints && in.ok(); ++i) a.hints.push_back(read_hint(in));

    in.expect_end();
    if (!in.ok()) return tl::unexpected(in.error());
    return a;
}

}  // namespace warpgate

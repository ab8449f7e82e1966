// The node address text form: "wg1" + base32(binary || first 4 bytes of SHA-256(binary)).
#include <warpgate/address.hpp>

#include <algorithm>
#include <array>
#include <fmt/format.h>

#include "crypto/digest.hpp"
#include "net/base32.hpp"

namespace warpgate {
namespace {

constexpr std::string_view prefix = "wg1";
constexpr std::size_t checksum_size = 4;
constexpr std::size_t max_text_size =
    prefix.size() + net::base32_encoded_size(NodeAddress::max_encoded_size + checksum_size);

// Four bytes catch a mistyped character with certainty 1 - 2^-32; this is a typo check, not
// an integrity check (the public key authenticates the peer).
std::array<std::uint8_t, checksum_size> checksum(ByteView binary) {
    const auto digest = crypto::sha256(binary);
    std::array<std::uint8_t, checksum_size> out{};
    std::copy_n(digest.begin(), checksum_size, out.begin());
    return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool starts_with_prefix(std::string_view s) {
    return s.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), s.begin(), [](char p, char c) {
               return p == (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
           });
}

}  // namespace

std::string to_text(const NodeAddress& address) {
    auto binary = value_or_throw(serialize(address));
    const auto sum = checksum(binary);
    binary.insert(binary.end(), sum.begin(), sum.end());
    return std::string(prefix) + net::base32_encode(binary);
}

Result<NodeAddress> parse_address_text(std::string_view text) {
    text = trim(text);
    if (text.size() > max_text_size)
        return fail(Errc::malformed,
                    fmt::format("node address text: {} characters is over the maximum of {}", text.size(), max_text_size));
    if (!starts_with_prefix(text)) return fail(Errc::malformed, "node address text: does not start with 'wg1'");
    auto decoded = net::base32_decode(text.substr(prefix.size()), prefix.size());
    if (!decoded) return fail(Errc::malformed, "node address text: " + decoded.error().message);
    if (decoded->size() < checksum_size) return fail(Errc::malformed, "node address text: too short");

    const ByteView all(*decoded);
    const auto binary = all.first(all.size() - checksum_size);
    const auto expected = checksum(binary);
    if (!std::equal(expected.begin(), expected.end(), all.last(checksum_size).begin()))
        return fail(Errc::malformed, "checksum mismatch: typo in address?");
    return parse_address(binary);
}

}  // namespace warpgate

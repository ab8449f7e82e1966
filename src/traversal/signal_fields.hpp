// Fields the traversal plugins' signal messages share (tcp_punch, turn): an IP address with
// its family, and a decline's reason.
//
//   ip:     | family (1: 4 or 6) | address (4 or 16 bytes) |
//   reason: | 1..max bytes of text, to the end of the message |
#pragma once
#include <asio/ip/address.hpp>
#include <string>
#include <string_view>

#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"

namespace warpgate::traversal {

void write_ip(net::ByteWriter& w, const asio::ip::address& ip);
// An unknown family is rejected (Errc::malformed).
asio::ip::address read_ip(net::ByteReader& r);

// "declined" for an empty reason; a longer one than `max` bytes is cut.
void write_reason(net::ByteWriter& w, std::string_view reason, std::size_t max);
// The rest of the message; rejected when empty or longer than `max`.
std::string read_reason(net::ByteReader& r, std::size_t max);

}  // namespace warpgate::traversal

// Feeds arbitrary datagrams to the STUN port's demultiplexer: it must never crash, and must
// hand a datagram to a waiting transaction only when the datagram is a STUN message header
// (first two bits zero, the magic cookie) naming exactly that transaction id.
#include <asio/io_context.hpp>
#include <cstdio>
#include <cstdlib>

#include "proto/stun_port.hpp"

using namespace warpgate;

namespace {

void check(bool condition, const char* what) {
    if (condition) return;
    std::fprintf(stderr, "stun_port_fuzz: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static asio::io_context io;
    const ByteView input(data, size);
    stun::StunTransactions transactions;
    // The waiter's id is the input's own bytes 8..19 when present, so that matches happen.
    stun::TransactionId id{};
    for (std::size_t i = 0; i < id.size() && 8 + i < size; ++i) id[i] = data[8 + i];
    stun::StunTransactions::Registration waiter(transactions, id, io.get_executor());
    const bool handed = transactions.on_datagram(input, Endpoint{asio::ip::make_address("127.0.0.1"), 3478});
    const bool header = size >= stun::header_size && (data[0] & 0xc0) == 0 && data[4] == 0x21 && data[5] == 0x12 &&
                        data[6] == 0xa4 && data[7] == 0x42;
    check(handed == header, "a datagram was handed over iff it has a STUN header naming the waiter");
    check(transactions.pending() == 1, "one waiter registered");
    return 0;
}

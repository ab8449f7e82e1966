// The STUN port's demultiplexer: a datagram reaches the transaction its header names, and
// nothing else does.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include "proto/stun_binding.hpp"
#include "proto/stun_client.hpp"
#include "proto/stun_port.hpp"

using namespace warpgate;
using namespace warpgate::stun;

namespace {

const Endpoint server = *Endpoint::parse("192.0.2.1:3478");

Bytes request_with(const TransactionId& id) { return encode(BindingRequest{id, std::nullopt, true}); }

}  // namespace

TEST(StunTransactions, HandsEachDatagramToTheTransactionItNames) {
    asio::io_context io;
    StunTransactions transactions;
    const auto a = random_transaction_id(), b = random_transaction_id();
    auto first = std::make_unique<StunTransactions::Registration>(transactions, a, io.get_executor());
    StunTransactions::Registration second(transactions, b, io.get_executor());
    EXPECT_EQ(transactions.pending(), 2u);

    EXPECT_TRUE(transactions.on_datagram(request_with(b), server));
    EXPECT_TRUE(transactions.on_datagram(request_with(a), server));
    EXPECT_FALSE(transactions.on_datagram(request_with(random_transaction_id()), server)) << "nobody waits for it";
    auto not_stun = request_with(a);
    not_stun[4] ^= 0x01;  // the magic cookie
    EXPECT_FALSE(transactions.on_datagram(not_stun, server));
    not_stun = request_with(a);
    not_stun[0] |= 0x40;  // RFC 7983: not in STUN's first-byte range
    EXPECT_FALSE(transactions.on_datagram(not_stun, server));
    EXPECT_FALSE(transactions.on_datagram(ByteView(request_with(a)).first(header_size - 1), server));
    EXPECT_EQ(transactions.dropped().not_stun, 3u);
    EXPECT_EQ(transactions.dropped().unmatched, 1u);

    Datagram got;
    EXPECT_TRUE(first->queue().try_receive([&](asio::error_code, Datagram d) { got = std::move(d); }));
    EXPECT_EQ(got.bytes, request_with(a));
    EXPECT_EQ(got.from, server);
    EXPECT_FALSE(first->queue().try_receive([](asio::error_code, Datagram) {})) << "one datagram for a";

    first.reset();  // the transaction ended: its id is free again
    EXPECT_EQ(transactions.pending(), 1u);
    EXPECT_FALSE(transactions.on_datagram(request_with(a), server));
}

TEST(StunTransactions, AFloodOfDuplicatesIsBounded) {
    asio::io_context io;
    StunTransactions transactions;
    const auto id = random_transaction_id();
    StunTransactions::Registration waiter(transactions, id, io.get_executor());
    int taken = 0;
    for (int i = 0; i < 100; ++i) taken += transactions.on_datagram(request_with(id), server) ? 1 : 0;
    EXPECT_LT(taken, 100);
    EXPECT_GT(taken, 0);
    EXPECT_EQ(transactions.dropped().unmatched, static_cast<std::uint64_t>(100 - taken));
}

// Where STUN transactions run: a UDP port that sends datagrams and is handed the STUN
// responses that arrive on it. The same client code runs over a socket of its own
// (OwnedUdpStunPort) or over the node's listen socket, whose receive loop demultiplexes by the
// first byte (0-3 is STUN, RFC 7983 section 7) and passes STUN datagrams to on_datagram().
//
// Several transactions run at once on one port: responses are matched to their waiter by
// transaction id (RFC 8489 section 6.3). Everything here runs on one executor (one thread or
// a strand): on_datagram() must be called from it.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/ip/udp.hpp>
#include <map>
#include <memory>
#include <warpgate/bytes.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>
#include "proto/stun.hpp"

namespace warpgate::stun {

struct Datagram {
    Bytes bytes;
    Endpoint from;
};

// Pending transactions keyed by transaction id. A waiter is registered for the lifetime of a
// Registration; datagrams for no registered id are dropped.
class StunTransactions {
public:
    using Queue = asio::experimental::channel<void(asio::error_code, Datagram)>;

    class Registration {
    public:
        Registration(StunTransactions& owner, const TransactionId& id, asio::any_io_executor executor);
        ~Registration();
        Registration(const Registration&) = delete;
        Registration& operator=(const Registration&) = delete;
        Queue& queue() { return queue_; }

    private:
        StunTransactions& owner_;
        TransactionId id_;
        Queue queue_;
    };

    // Hands a datagram to the transaction its header names. False when it is not a STUN
    // message (too short, no magic cookie) or no transaction waits for it; also false when
    // the waiter's queue is full (a flood of duplicates: the surplus is dropped).
    bool on_datagram(ByteView datagram, const Endpoint& from);
    std::size_t pending() const { return waiters_.size(); }

    // Datagrams dropped so far, so that a transaction that timed out can say what came instead.
    struct Dropped {
        std::uint64_t not_stun = 0;   // too short, first bits set or no magic cookie
        std::uint64_t unmatched = 0;  // a transaction id nobody waits for (or a full queue)
    };
    Dropped dropped() const { return dropped_; }

private:
    std::map<TransactionId, Queue*> waiters_;
    Dropped dropped_;
};

// The transport a STUN client runs over. Implementations provide sending and their address;
// whatever receives on the socket calls on_datagram() for every STUN datagram.
class StunPort {
public:
    virtual ~StunPort() = default;
    virtual asio::any_io_executor executor() const = 0;
    // The bound local address (a real port, never 0).
    virtual Endpoint local_endpoint() const = 0;
    // Sends one datagram; Errc::io on failure, Errc::cancelled when cancelled.
    virtual asio::awaitable<Result<void>> send_to(ByteView datagram, Endpoint to) = 0;

    bool on_datagram(ByteView datagram, const Endpoint& from) { return transactions_.on_datagram(datagram, from); }
    StunTransactions& transactions() { return transactions_; }

private:
    StunTransactions transactions_;
};

// A UDP socket of its own, bound to a local address, with a receive loop feeding its
// transactions until destruction.
class OwnedUdpStunPort final : public StunPort {
public:
    // Binds local (port 0: any port). Errc::io when the address cannot be bound.
    static Result<std::unique_ptr<OwnedUdpStunPort>> open(asio::any_io_executor executor, Endpoint local);
    ~OwnedUdpStunPort() override;

    asio::any_io_executor executor() const override;
    Endpoint local_endpoint() const override { return local_; }
    asio::awaitable<Result<void>> send_to(ByteView datagram, Endpoint to) override;

private:
    struct Shared;
    explicit OwnedUdpStunPort(std::shared_ptr<Shared> shared);
    static asio::awaitable<void> receive_loop(std::shared_ptr<Shared> shared);
    std::shared_ptr<Shared> shared_;  // shared with the receive loop, which may outlive us briefly
    Endpoint local_;
};

}  // namespace warpgate::stun

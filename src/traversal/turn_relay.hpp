// The path the turn plugin produces: a session's records carried through a TURN allocation
// (proto/turn_client.hpp) to the peer's relayed address, as ChannelData (RFC 8656 §12). The
// relay sees only what the session sends, i.e. sealed records. The path owns the allocation:
// closing it deallocates.
//
// Records arrive through the client's data handler and reach the sink one at a time, in
// arrival order, like a UDP path's (loss is possible, nothing is retransmitted here).
#pragma once
#include <asio/awaitable.hpp>
#include <asio/experimental/channel.hpp>
#include <memory>

#include "proto/turn_client.hpp"
#include "session/path.hpp"

namespace warpgate::traversal {

// Deallocates `client` (turn::Client::close) in a task of its own, for owners that cannot
// await it (destructors, a path closed synchronously).
void close_in_background(std::shared_ptr<turn::Client> client);

class TurnPath final : public session::Path, public std::enable_shared_from_this<TurnPath> {
public:
    // Binds a channel on `client` to `peer` (the permission comes with it). Throws Exception.
    static asio::awaitable<std::shared_ptr<TurnPath>> open(std::shared_ptr<turn::Client> client, Endpoint peer);
    TurnPath(std::shared_ptr<turn::Client> client, Endpoint peer);  // use open()
    ~TurnPath() override;

    bool is_open() const override { return open_ && client_->is_open(); }
    asio::awaitable<void> send_parts(ByteView head, ByteView body) override;
    void send_now(ByteView record) noexcept override;
    // Stops delivery and deallocates in the background.
    void close() noexcept override;
    bool relayed() const noexcept override { return true; }
    void read_datagrams(session::RecordSink sink, session::EndSink on_end) override { start(std::move(sink), std::move(on_end)); }

    // Hands the peer's records to `sink` until it returns false or the path ends; `on_end`
    // then gets why (the allocation ended, or the path was closed).
    void start(session::RecordSink sink, session::EndSink on_end);
    const std::shared_ptr<turn::Client>& client() const { return client_; }

private:
    asio::awaitable<void> deliver();
    void finish(Error why);

    std::shared_ptr<turn::Client> client_;
    // Records waiting for the sink; beyond its capacity they are dropped, as a full socket
    // buffer would.
    asio::experimental::channel<void(asio::error_code, Bytes)> inbox_;
    session::RecordSink sink_;
    session::EndSink on_end_;
    bool open_ = true;
};

}  // namespace warpgate::traversal

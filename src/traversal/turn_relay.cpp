#include "traversal/turn_relay.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace warpgate::traversal {

namespace {
constexpr std::size_t inbox_records = 256;
constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);
}  // namespace

void close_in_background(std::shared_ptr<turn::Client> client) {
    auto ex = client->executor();
    asio::co_spawn(ex, [](std::shared_ptr<turn::Client> c) -> asio::awaitable<void> { co_await c->close(); }(std::move(client)), asio::detached);
}

asio::awaitable<std::shared_ptr<TurnPath>> TurnPath::open(std::shared_ptr<turn::Client> client, Endpoint peer) {
    co_await client->bind_channel(peer);
    co_return std::make_shared<TurnPath>(std::move(client), peer);
}

TurnPath::TurnPath(std::shared_ptr<turn::Client> client, Endpoint peer)
    : Path(UDP, client->relayed(), peer), client_(std::move(client)), inbox_(client_->executor(), inbox_records) {}

TurnPath::~TurnPath() { close(); }

asio::awaitable<void> TurnPath::send_parts(ByteView head, ByteView body) {
    if (!is_open()) throw Exception(Errc::closed, "the TURN path to " + remote().to_string() + " is closed");
    if (body.empty()) {
        co_await client_->send(remote(), head);
        co_return;
    }
    // One datagram to the relay: the parts are joined (a relayed record is at most a datagram).
    Bytes record(head.begin(), head.end());
    record.insert(record.end(), body.begin(), body.end());
    co_await client_->send(remote(), record);
}

void TurnPath::send_now(ByteView record) noexcept {
    if (!is_open()) return;
    // The client's send is a coroutine: the record is copied into one that runs on its own.
    auto send = [](std::shared_ptr<turn::Client> client, Endpoint peer, Bytes bytes) -> asio::awaitable<void> {
        co_await client->send(peer, bytes);
    };
    asio::co_spawn(client_->executor(), send(client_, remote(), Bytes(record.begin(), record.end())), asio::detached);
}

void TurnPath::start(session::RecordSink sink, session::EndSink on_end) {
    sink_ = std::move(sink);
    on_end_ = std::move(on_end);
    std::weak_ptr<TurnPath> weak = shared_from_this();
    client_->on_data(remote(), [weak](ByteView data) {
        if (auto self = weak.lock()) self->inbox_.try_send(asio::error_code{}, Bytes(data.begin(), data.end()));
    });
    client_->on_end([weak](const Error& why) {
        if (auto self = weak.lock()) self->finish(why);
    });
    asio::co_spawn(client_->executor(), [](std::shared_ptr<TurnPath> self) -> asio::awaitable<void> { co_await self->deliver(); }(shared_from_this()),
                   asio::detached);
}

asio::awaitable<void> TurnPath::deliver() {
    for (;;) {
        auto received = co_await inbox_.async_receive(as_tuple_awaitable);
        if (std::get<0>(received) || !sink_) co_return;
        auto& record = std::get<1>(received);
        auto more = co_await sink_(std::span<std::uint8_t>(record));
        if (!more) {
            finish({Errc::closed, "the session stopped reading the TURN path"});
            co_return;
        }
    }
}

void TurnPath::finish(Error why) {
    if (!open_) return;
    open_ = false;
    inbox_.close();
    client_->on_data(remote(), nullptr);
    client_->on_end(nullptr);
    sink_ = nullptr;
    // A Deallocate that nobody waits for: the path is gone when close() returns.
    close_in_background(client_);
    if (auto on_end = std::exchange(on_end_, nullptr)) on_end(why);
}

void TurnPath::close() noexcept { finish({Errc::closed, "the TURN path to " + remote().to_string() + " was closed"}); }

}  // namespace warpgate::traversal

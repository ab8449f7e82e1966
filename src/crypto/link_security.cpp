#include "crypto/link_security.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "crypto/secure_channel.hpp"
#include "net/frame.hpp"
#include "net/timeout.hpp"

namespace warpgate::crypto {
namespace {

class ChannelCipher final : public MessageCipher {
public:
    ChannelCipher(const Keys& keys, ChannelMode mode) : channel_(keys, mode) {}
    Bytes seal(ByteView plaintext) override { return channel_.seal(plaintext); }
    Result<Bytes> open(ByteView record) override { return channel_.open(record); }
    const Bytes& peer_public_key() const override { return channel_.peer_public_key(); }
    const std::string& peer_node_id() const override { return channel_.peer_node_id(); }

private:
    SecureChannel channel_;
};

ChannelMode mode_for(const Pipe& pipe) { return pipe.transport() == TCP ? ChannelMode::stream : ChannelMode::datagram; }

}  // namespace

asio::awaitable<void> secure_as_initiator(Pipe& pipe, const IdentityKey& identity, ByteView expected_peer_pub,
                                          std::chrono::milliseconds timeout) {
    auto handshake = Handshake::initiator(identity, expected_peer_pub);
    struct Slot {
        explicit Slot(asio::any_io_executor ex) : wake(ex) {}
        std::optional<Bytes> reply;
        asio::steady_timer wake;
    };
    auto slot = std::make_shared<Slot>(pipe.get_executor());
    pipe.on_control([slot](net::FrameType type, ByteView payload) {
        if (type != net::FrameType::handshake || slot->reply) return;
        slot->reply = Bytes(payload.begin(), payload.end());
        slot->wake.cancel();
    });
    int tries = pipe.transport() == UDP ? 3 : 1;
    for (int i = 0; i < tries && !slot->reply; ++i) {
        co_await pipe.send_control(net::FrameType::handshake, handshake.hello());
        if (slot->reply) break;
        slot->wake.expires_after(timeout / tries);
        asio::error_code ec;
        co_await slot->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        auto stop = co_await net::cancelled();
        if (stop) throw Exception(Errc::cancelled, "link handshake cancelled");
        if (!pipe.is_open()) throw Exception(*pipe.close_reason());
    }
    pipe.on_control(nullptr);
    if (!slot->reply) {
        pipe.close();
        throw Exception(Errc::timeout, "no link handshake answer from " + pipe.remote_endpoint().to_string() + " within " +
                                           net::describe(timeout));
    }
    auto keys = handshake.on_reply(*slot->reply);
    if (!keys) {
        pipe.close();
        throw Exception(keys.error().code, "link handshake with " + pipe.remote_endpoint().to_string() + ": " + keys.error().message);
    }
    pipe.set_cipher(std::make_unique<ChannelCipher>(*keys, mode_for(pipe)));
}

bool Responder::on_hello(Pipe& pipe, ByteView hello) {
    if (reply_) {
        // A retransmitted hello (its answer was lost): answer again; anything else is a protocol error.
        if (!hello_ || !std::equal(hello.begin(), hello.end(), hello_->begin(), hello_->end())) return false;
    } else {
        auto answer = Handshake::responder(identity_).on_hello(hello);
        if (!answer) {
            spdlog::info("link handshake from {} refused: {}", pipe.remote_endpoint().to_string(), answer.error().message);
            return false;
        }
        pipe.set_cipher(std::make_unique<ChannelCipher>(answer->second, mode_for(pipe)));
        hello_ = Bytes(hello.begin(), hello.end());
        reply_ = std::move(answer->first);
    }
    asio::co_spawn(pipe.get_executor(),
                   [self = pipe.shared_from_this(), reply = *reply_]() -> asio::awaitable<void> {
                       co_await self->send_control(net::FrameType::handshake, reply);
                   },
                   asio::detached);
    return true;
}

}  // namespace warpgate::crypto

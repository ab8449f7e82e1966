#include "session/demux.hpp"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "crypto/random.hpp"
#include "session/session.hpp"

namespace warpgate::session {

SessionId random_session_id() {
    SessionId id = 0;
    while (id == 0) {
        std::array<std::uint8_t, id_size> bytes{};
        crypto::random_bytes(bytes);
        id = get_id(bytes.data());
    }
    return id;
}

SessionId Demux::reserve() {
    for (;;) {
        auto id = random_session_id();
        if (sessions_.emplace(id, std::weak_ptr<Session>()).second) return id;
    }
}

void Demux::bind(SessionId id, const std::shared_ptr<Session>& session) { sessions_[id] = session; }

void Demux::remove(SessionId id) { sessions_.erase(id); }

std::shared_ptr<Session> Demux::find(SessionId id) const {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.lock();
}

asio::awaitable<void> Demux::serve(UdpSocketPtr socket, bool accepts_links, std::function<void()> on_refused) {
    auto self = shared_from_this();
    // One buffer per socket, large enough for any datagram (a truncated one would not open).
    std::vector<std::uint8_t> buffer(65536);
    asio::ip::udp::endpoint sender;
    while (socket->is_open()) {
        asio::error_code ec;
        auto n = co_await socket->async_receive_from(asio::buffer(buffer), sender, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !socket->is_open()) break;
        if (ec == asio::error::connection_refused && on_refused) {
            on_refused();
            break;
        }
        if (ec || n == 0) continue;  // ICMP errors from earlier sends surface here on Linux; empty keepalives
        auto datagram = std::span<std::uint8_t>(buffer.data(), n);
        Endpoint from{sender.address(), sender.port()};
        auto first = datagram[0];
        if (first <= 3) {
            if (stun_) stun_(datagram, socket, from);
            continue;
        }
        if (!is_record(first)) {
            ++stats_.not_ours;
            continue;
        }
        if (first == static_cast<std::uint8_t>(RecordType::hello)) {
            if (accepts_links && hello_) hello_(datagram, socket, from);
            else ++stats_.hello_elsewhere;
            continue;
        }
        if (first == static_cast<std::uint8_t>(RecordType::punch)) {
            auto token = punch_token_of(datagram);
            auto punch = token ? punches_.find(*token) : punches_.end();
            if (punch == punches_.end()) {
                ++stats_.unknown_punch;
                continue;
            }
            auto handler = punch->second;  // the handler may remove itself
            handler(datagram, socket, from);
            continue;
        }
        auto id = receiver_of(datagram);
        auto session = id ? find(*id) : nullptr;
        if (!session) {
            ++stats_.unknown_session;
            continue;
        }
        co_await session->on_datagram(datagram, socket, from);
    }
}

}  // namespace warpgate::session

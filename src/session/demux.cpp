#include "session/demux.hpp"

#include <asio/post.hpp>
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
    // One buffer per socket, grown to the datagrams that arrive (FIONREAD gives the next one's
    // size, so none is truncated): an idle link's socket holds 2 KiB, not the 64 KiB the
    // largest datagram would need.
    std::vector<std::uint8_t> buffer(2048);
    asio::ip::udp::endpoint sender;
    asio::error_code mode;
    socket->non_blocking(true, mode);  // queued datagrams are taken without a scheduler round
    std::size_t in_a_row = 0;
    while (socket->is_open()) {
        if (in_a_row == 64) {  // a long burst: other tasks get their turn first
            in_a_row = 0;
            co_await asio::post(socket->get_executor(), asio::use_awaitable);
            if (!socket->is_open()) break;
        }
        asio::error_code ec;
        auto next = socket->available(ec);
        if (!ec && next > buffer.size()) buffer.resize(std::min<std::size_t>(next, 65536));
        auto n = socket->receive_from(asio::buffer(buffer), sender, 0, ec);
        if (ec == asio::error::would_block) {
            in_a_row = 0;
            co_await socket->async_wait(asio::socket_base::wait_read, asio::redirect_error(asio::use_awaitable, ec));
            if (ec == asio::error::operation_aborted || !socket->is_open()) break;
            continue;
        }
        ++in_a_row;
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

void Demux::serve_path(const PathPtr& path, bool accepts_links) {
    std::weak_ptr<Demux> weak = shared_from_this();
    std::weak_ptr<Path> weak_path = path;
    path->read_datagrams(
        [weak, weak_path, accepts_links](std::span<std::uint8_t> record) -> asio::awaitable<bool> {
            auto self = weak.lock();
            auto via = weak_path.lock();
            if (!self || !via) co_return false;
            if (record.empty() || !is_record(record[0])) {
                ++self->stats_.not_ours;
                co_return true;
            }
            if (record[0] == static_cast<std::uint8_t>(RecordType::hello)) {
                if (accepts_links && self->path_hello_) self->path_hello_(record, via);
                else ++self->stats_.hello_elsewhere;
                co_return true;
            }
            auto id = receiver_of(record);
            auto session = id ? self->find(*id) : nullptr;
            if (!session) {
                ++self->stats_.unknown_session;
                co_return true;
            }
            co_await session->on_path_datagram(record, via);
            co_return true;
        },
        [weak, raw = path.get()](Error reason) {
            // The link on this relay ends with it (a link that moved to a direct path and
            // keeps the relay as its standby goes on).
            auto self = weak.lock();
            if (!self) return;
            std::vector<std::shared_ptr<Session>> on_it;
            for (auto& [id, session] : self->sessions_)
                if (auto s = session.lock(); s && s->path().get() == raw) on_it.push_back(s);
            for (auto& s : on_it) s->on_path_end(raw, reason);
        });
}

}  // namespace warpgate::session

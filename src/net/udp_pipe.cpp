#include "net/udp_pipe.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "net/frame.hpp"
#include "net/inbox.hpp"

namespace warpgate::net {
namespace {

Endpoint to_endpoint(const asio::ip::udp::endpoint& e) { return {e.address(), e.port()}; }

void check_size(ByteView payload) {
    if (payload.size() > max_udp_payload)
        throw Exception(Errc::malformed, "UDP message of " + std::to_string(payload.size()) + " bytes exceeds the datagram limit of " +
                                             std::to_string(max_udp_payload));
}

}  // namespace

// The datagram layer both UDP pipes share: splitting the type byte off and dispatching.
class UdpPipeBase : public Pipe {
protected:
    using Pipe::Pipe;

    // False when the pipe must stop reading.
    asio::awaitable<bool> on_datagram(ByteView datagram) {
        if (datagram.empty()) co_return true;  // keepalives some NATs need; nothing to deliver
        auto type = decode_frame_type(datagram[0]);
        if (!type) co_return true;  // stray datagram (a late probe, noise): UDP peers ignore it
        bool keep_reading = co_await dispatch(*type, Bytes(datagram.begin() + 1, datagram.end()));
        co_return keep_reading;
    }

    static std::array<asio::const_buffer, 2> frame_buffers(const std::uint8_t& type, ByteView payload) {
        return {asio::buffer(&type, 1), asio::buffer(payload.data(), payload.size())};
    }
};

namespace {

class UdpClientPipe final : public UdpPipeBase {
public:
    UdpClientPipe(asio::ip::udp::socket socket, PipeOptions options)
        : UdpPipeBase(socket.get_executor(), UDP, to_endpoint(socket.local_endpoint()),
                      to_endpoint(socket.remote_endpoint()), options),
          socket_(std::move(socket)) {}

    void start() override {
        asio::co_spawn(get_executor(), read_loop(std::static_pointer_cast<UdpClientPipe>(shared_from_this())),
                       asio::detached);
    }

protected:
    asio::awaitable<void> write_frame(FrameType type, ByteView payload) override {
        check_size(payload);
        if (!is_open()) throw Exception(*close_reason());
        auto type_byte = static_cast<std::uint8_t>(type);
        try {
            co_await socket_.async_send(frame_buffers(type_byte, payload), asio::use_awaitable);
        } catch (const std::system_error& e) {
            throw Exception(Errc::io, "sending to " + remote_endpoint().to_string() + ": " + e.code().message());
        }
    }

    void close_transport() override {
        asio::error_code ec;
        if (closed_locally()) {
            std::uint8_t close_frame = static_cast<std::uint8_t>(FrameType::close);
            socket_.send(asio::buffer(&close_frame, 1), 0, ec);
        }
        socket_.close(ec);
    }

private:
    static asio::awaitable<void> read_loop(std::shared_ptr<UdpClientPipe> self) {
        std::vector<std::uint8_t> buffer(65536);
        try {
            for (;;) {
                auto n = co_await self->socket_.async_receive(asio::buffer(buffer), asio::use_awaitable);
                bool keep_reading = co_await self->on_datagram(ByteView(buffer.data(), n));
                if (!keep_reading) co_return;
            }
        } catch (const std::system_error& e) {
            if (e.code() == asio::error::connection_refused)
                self->finish({Errc::refused, "nothing listens at " + self->remote_endpoint().to_string() + " (ICMP port unreachable)"});
            else
                self->finish({Errc::io, "receiving from " + self->remote_endpoint().to_string() + ": " + e.code().message()});
        }
    }

    asio::ip::udp::socket socket_;
};

}  // namespace

class UdpServerPipe final : public UdpPipeBase {
public:
    UdpServerPipe(std::shared_ptr<asio::ip::udp::socket> socket, Endpoint remote, PipeOptions options,
                  std::function<void()> forget)
        : UdpPipeBase(socket->get_executor(), UDP, to_endpoint(socket->local_endpoint()), remote, options),
          socket_(std::move(socket)), forget_(std::move(forget)), datagrams_(get_executor(), options.inbox_capacity) {}

    void start() override {
        asio::co_spawn(get_executor(), read_loop(std::static_pointer_cast<UdpServerPipe>(shared_from_this())),
                       asio::detached);
    }

    void feed(Bytes datagram) { datagrams_.try_push(std::move(datagram)); }

protected:
    asio::awaitable<void> write_frame(FrameType type, ByteView payload) override {
        check_size(payload);
        if (!is_open()) throw Exception(*close_reason());
        auto type_byte = static_cast<std::uint8_t>(type);
        try {
            co_await socket_->async_send_to(frame_buffers(type_byte, payload),
                                            asio::ip::udp::endpoint(remote_endpoint().ip, remote_endpoint().port),
                                            asio::use_awaitable);
        } catch (const std::system_error& e) {
            throw Exception(Errc::io, "sending to " + remote_endpoint().to_string() + ": " + e.code().message());
        }
    }

    void close_transport() override {
        if (closed_locally() && socket_->is_open()) {
            asio::error_code ec;
            std::uint8_t close_frame = static_cast<std::uint8_t>(FrameType::close);
            socket_->send_to(asio::buffer(&close_frame, 1), {remote_endpoint().ip, remote_endpoint().port}, 0, ec);
        }
        datagrams_.close({Errc::closed, "closed"});
        if (auto forget = std::exchange(forget_, nullptr)) forget();
    }

private:
    static asio::awaitable<void> read_loop(std::shared_ptr<UdpServerPipe> self) {
        try {
            for (;;) {
                auto datagram = co_await self->datagrams_.pop(std::chrono::hours(24 * 365));
                bool keep_reading = co_await self->on_datagram(datagram);
                if (!keep_reading) co_return;
            }
        } catch (const Exception&) {
            // The queue closed: the pipe or its server is gone.
        }
    }

    std::shared_ptr<asio::ip::udp::socket> socket_;
    std::function<void()> forget_;
    Inbox<Bytes> datagrams_;
};

std::shared_ptr<UdpServerPipe> make_udp_server_pipe(std::shared_ptr<asio::ip::udp::socket> socket, Endpoint remote,
                                                    PipeOptions options, std::function<void()> forget) {
    return std::make_shared<UdpServerPipe>(std::move(socket), remote, options, std::move(forget));
}

void feed(UdpServerPipe& pipe, Bytes datagram) { pipe.feed(std::move(datagram)); }

PipePtr as_pipe(std::shared_ptr<UdpServerPipe> pipe) { return pipe; }

asio::awaitable<PipePtr> connect_udp(Endpoint remote, std::optional<asio::ip::address> local_ip, PipeOptions options) {
    asio::ip::udp::socket socket(co_await asio::this_coro::executor);
    asio::ip::udp::endpoint target(remote.ip, remote.port);
    socket.open(target.protocol());
    if (local_ip) socket.bind({*local_ip, 0});
    socket.connect(target);  // UDP connect only sets the default destination: no packet
    co_return std::make_shared<UdpClientPipe>(std::move(socket), options);
}

}  // namespace warpgate::net

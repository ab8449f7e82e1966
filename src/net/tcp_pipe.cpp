#include "net/tcp_pipe.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <cstring>

#include "net/frame.hpp"

namespace warpgate::net {
namespace {

Endpoint to_endpoint(const asio::ip::tcp::endpoint& e) { return {e.address(), e.port()}; }

class TcpPipe final : public Pipe {
public:
    TcpPipe(asio::ip::tcp::socket socket, PipeOptions options)
        : Pipe(socket.get_executor(), TCP, to_endpoint(socket.local_endpoint()), to_endpoint(socket.remote_endpoint()),
               options),
          socket_(std::move(socket)), write_lock_(socket_.get_executor(), 1) {
        socket_.set_option(asio::ip::tcp::no_delay(true));
    }

    void start() override {
        asio::co_spawn(get_executor(), read_loop(std::static_pointer_cast<TcpPipe>(shared_from_this())), asio::detached);
    }

protected:
    asio::awaitable<void> write_frame(FrameType type, ByteView payload) override {
        // Frames from concurrent senders must not interleave: a one-slot channel is the lock.
        co_await write_lock_.async_send(asio::error_code{}, true, asio::use_awaitable);
        struct Unlock {
            asio::experimental::channel<void(asio::error_code, bool)>& lock;
            ~Unlock() { lock.try_receive([](asio::error_code, bool) {}); }
        } unlock{write_lock_};
        if (!is_open()) throw Exception(*close_reason());
        auto header = encode_tcp_header(type, payload.size());
        std::array<asio::const_buffer, 2> buffers{asio::buffer(header), asio::buffer(payload.data(), payload.size())};
        try {
            co_await asio::async_write(socket_, buffers, asio::use_awaitable);
        } catch (const std::system_error& e) {
            // A frame cut short leaves the stream unusable, whatever the cause.
            finish({Errc::io, "sending to " + remote_endpoint().to_string() + ": " + e.code().message()});
            throw Exception(*close_reason());
        }
    }

    void close_transport() override {
        asio::error_code ec;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
        socket_.close(ec);
    }

private:
    static asio::awaitable<void> read_loop(std::shared_ptr<TcpPipe> self) { co_await self->read_frames(); }

    asio::awaitable<void> read_frames() {
        // Small frames are parsed out of one buffer (few syscalls); a large payload is read
        // straight into its own message.
        std::vector<std::uint8_t> buffer(64 * 1024);
        std::size_t begin = 0, end = 0;
        try {
            for (;;) {
                while (end - begin < tcp_header_size) {
                    if (begin == end) begin = end = 0;
                    if (buffer.size() - end < tcp_header_size) {
                        std::memmove(buffer.data(), buffer.data() + begin, end - begin);
                        end -= begin;
                        begin = 0;
                    }
                    end += co_await socket_.async_read_some(asio::buffer(buffer.data() + end, buffer.size() - end),
                                                            asio::use_awaitable);
                }
                auto header = decode_tcp_header(ByteView(buffer.data() + begin, tcp_header_size), options_.max_message_size + 64);
                if (!header) {
                    finish({Errc::malformed, "from " + remote_endpoint().to_string() + ": " + header.error().message});
                    co_return;
                }
                begin += tcp_header_size;
                Bytes payload(header->payload_size);
                auto have = std::min(end - begin, payload.size());
                std::memcpy(payload.data(), buffer.data() + begin, have);
                begin += have;
                if (have < payload.size())
                    co_await asio::async_read(socket_, asio::buffer(payload.data() + have, payload.size() - have),
                                              asio::use_awaitable);
                bool keep_reading = co_await dispatch(header->type, std::move(payload));
                if (!keep_reading) co_return;
            }
        } catch (const std::system_error& e) {
            if (e.code() == asio::error::eof || e.code() == asio::error::connection_reset)
                finish({Errc::closed, "peer closed the connection"});
            else
                finish({Errc::io, "receiving from " + remote_endpoint().to_string() + ": " + e.code().message()});
        }
    }

    asio::ip::tcp::socket socket_;
    asio::experimental::channel<void(asio::error_code, bool)> write_lock_;
};

}  // namespace

PipePtr make_tcp_pipe(asio::ip::tcp::socket socket, PipeOptions options) {
    return std::make_shared<TcpPipe>(std::move(socket), options);
}

asio::awaitable<PipePtr> connect_tcp(Endpoint remote, std::optional<asio::ip::address> local_ip, PipeOptions options) {
    asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
    asio::ip::tcp::endpoint target(remote.ip, remote.port);
    socket.open(target.protocol());
    if (local_ip) socket.bind({*local_ip, 0});
    co_await socket.async_connect(target, asio::use_awaitable);
    co_return make_tcp_pipe(std::move(socket), options);
}

}  // namespace warpgate::net

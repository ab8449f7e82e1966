#include <warpgate/link.hpp>

namespace warpgate {

Link::Link(PipePtr pipe, std::string plugin) : pipe_(std::move(pipe)), plugin_(std::move(plugin)) {}

Link::~Link() { close(); }

Link& Link::operator=(Link&& other) noexcept {
    if (this != &other) {
        close();
        pipe_ = std::move(other.pipe_);
        plugin_ = std::move(other.plugin_);
    }
    return *this;
}

asio::awaitable<void> Link::send(ByteView message) {
    if (!pipe_) throw Exception(Errc::closed, "empty link");
    co_await pipe_->send(message);
}

asio::awaitable<Message> Link::recv(std::chrono::milliseconds timeout) {
    if (!pipe_) throw Exception(Errc::closed, "empty link");
    auto message = co_await pipe_->recv(timeout);
    co_return message;
}

void Link::close() {
    if (pipe_) pipe_->close();
}

}  // namespace warpgate

// A byte stream carried over a pipe both ways, as `warpgate pipe` carries stdin/stdout and
// `warpgate forward` a TCP connection. Each message on the link is one frame:
//
//    0        1                                   n
//   +--------+-----------------------------------+
//   |  kind  |  body                             |
//   +--------+-----------------------------------+
//   kind 'd' (0x64): body = the next 1 .. 64 KiB of the sender's stream
//   kind 'e' (0x65): no body; the sender's input ended (a half close, as TCP's FIN: the
//                    sender still takes what comes back)
//   kind 'a' (0x61): no body; the peer's 'e' arrived and everything before it was written out
//
// A relay is done when the peer's end came in and our end was acknowledged ('a'). Only then
// may a side close the link: closing a TCP socket with unread bytes resets it, and a reset
// throws away what still sits in the send buffer, so a side that closed as soon as it had
// sent its end would cut its own stream short. A link that closes after the peer's end came
// and ours went out counts as done too (the peer, done first, closed; its reset may have
// eaten our 'a'); one that closes earlier cut the stream short, which is an error.
#pragma once
#include <asio/buffer.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/multiple_exceptions.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdint>
#include <optional>
#include <tuple>
#include <warpgate/pipe.hpp>

namespace warpgate::cli {

inline constexpr std::size_t relay_chunk = 64 * 1024;
inline constexpr std::uint8_t relay_data = 'd';
inline constexpr std::uint8_t relay_end = 'e';
inline constexpr std::uint8_t relay_end_ack = 'a';

struct RelayFrame {
    std::uint8_t kind;
    ByteView body;  // 'd' only
};
// Checks one frame. Throws Errc::malformed.
RelayFrame parse_relay_frame(ByteView frame);

struct RelayTotals {
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
};

// Where each half stands; both directions' coroutines share it.
struct RelayState {
    bool sent_end = false;
    bool got_end = false;
    bool end_acked = false;
};

// Reads `in` until its end, one frame per read, then sends the end frame.
template <class Input>
asio::awaitable<std::uint64_t> send_stream(Pipe& pipe, Input& in, RelayState& state) {
    Bytes frame(1 + relay_chunk);
    frame[0] = relay_data;
    std::uint64_t total = 0;
    for (;;) {
        asio::error_code ec;
        auto n = co_await in.async_read_some(asio::buffer(frame.data() + 1, relay_chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (n > 0) {
            co_await pipe.send(ByteView(frame.data(), n + 1));
            total += n;
        }
        if (ec == asio::error::eof) break;
        if (ec) throw Exception(Errc::io, "reading the local stream: " + ec.message());
    }
    co_await pipe.send(ByteView(&relay_end, 1));
    state.sent_end = true;
    co_return total;
}

// Writes what the peer sends to `out`; at the peer's end calls end_output() and acknowledges
// it. Returns once the peer's end came and ours was acknowledged.
template <class Output, class EndOutput>
asio::awaitable<std::uint64_t> receive_stream(Pipe& pipe, Output& out, EndOutput end_output, RelayState& state) {
    std::uint64_t total = 0;
    while (!(state.got_end && state.end_acked)) {
        Message message;
        try {
            message = co_await pipe.recv(std::chrono::hours(24));
        } catch (const Exception& e) {
            if (e.errc() != Errc::closed && e.errc() != Errc::io) throw;
            if (state.got_end && state.sent_end) break;
            throw Exception(Errc::closed, std::string("the link closed before ") +
                                              (state.got_end ? "this side's stream was sent" : "the peer's stream ended") + " (" +
                                              e.error().message + ")");
        }
        auto frame = parse_relay_frame(message);
        if (frame.kind == relay_end_ack) {
            state.end_acked = true;
            continue;
        }
        if (state.got_end) throw Exception(Errc::malformed, "stream relay: a frame after the peer's end");
        if (frame.kind == relay_end) {
            end_output();
            state.got_end = true;
            bool acked = true;
            try {
                co_await pipe.send(ByteView(&relay_end_ack, 1));
            } catch (const Exception&) {
                acked = false;  // the link closed meanwhile: done if our end went out, as above
            }
            if (!acked && !state.sent_end) throw Exception(Errc::closed, "the link closed before this side's stream was sent");
            if (!acked) break;
            continue;
        }
        asio::error_code ec;
        co_await asio::async_write(out, asio::buffer(frame.body.data(), frame.body.size()), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) throw Exception(Errc::io, "writing the local stream: " + ec.message());
        total += frame.body.size();
    }
    co_return total;
}

// Both directions at once; the first failure cancels the other.
template <class Input, class Output, class EndOutput>
asio::awaitable<RelayTotals> relay_stream(Pipe& pipe, Input& in, Output& out, EndOutput end_output) {
    using namespace asio::experimental::awaitable_operators;
    RelayState state;
    auto both = send_stream(pipe, in, state) && receive_stream(pipe, out, end_output, state);
    std::tuple<std::uint64_t, std::uint64_t> counts;
    try {
        counts = co_await std::move(both);
    } catch (const asio::multiple_exceptions& e) {
        std::rethrow_exception(e.first_exception());  // the cause; the other direction's failure followed from it
    }
    RelayTotals totals;
    totals.sent = std::get<0>(counts);
    totals.received = std::get<1>(counts);
    co_return totals;
}

}  // namespace warpgate::cli

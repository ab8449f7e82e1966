// libFuzzer target for the TURN codec: the response, indication and ChannelData readers (with
// RFC 6062's Connect response and ConnectionAttempt), the stream framer and the integrity
// check must reject anything malformed without crashing or reading out of bounds; what they
// accept re-encodes to the same values.
#include <cstddef>
#include <cstdint>

#include "proto/turn.hpp"
#include "proto/turn_auth.hpp"

using namespace warpgate;

namespace {

void check_channel_data(ByteView bytes) {
    auto c = turn::decode_channel_data(bytes);
    if (!c) return;
    auto again = turn::encode_channel_data(c->channel, c->data, true);
    auto back = turn::decode_channel_data(again);
    if (!back || back->channel != c->channel || !std::equal(back->data.begin(), back->data.end(), c->data.begin(), c->data.end()))
        __builtin_trap();
    if (turn::stream_frame_size(again).value_or(0) != again.size()) __builtin_trap();
}

void check_message(ByteView bytes) {
    auto m = stun::decode(bytes);
    if (!m) return;
    static const auto key = turn::long_term_key("test", "lab", "test");
    (void)turn::verify_integrity(bytes, *m, key);
    (void)turn::read_error_response(*m);
    (void)turn::read_refresh_success(*m);
    (void)turn::read_empty_success(*m, turn::method::channel_bind);
    (void)turn::read_empty_success(*m, turn::method::connection_bind);
    (void)turn::read_connect_success(*m);
    for (const auto& a : m->attributes)
        if (a.type == stun::attr::password_algorithms) (void)turn::read_password_algorithms(a);
    if (auto a = turn::read_allocate_success(*m); a && a->relayed.empty()) __builtin_trap();
    if (auto c = turn::read_connection_attempt(*m)) {
        auto again = turn::encode_connection_attempt(m->transaction_id, *c);
        auto back = stun::decode(again);
        if (!back) __builtin_trap();
        auto read = turn::read_connection_attempt(*back);
        if (!read || read->connection_id != c->connection_id || read->peer != c->peer) __builtin_trap();
    }
    auto d = turn::read_data_indication(*m);
    if (!d) return;
    auto again = turn::encode_send(m->transaction_id, d->peer, d->data);
    auto back = stun::decode(again);
    if (!back || back->find(turn::attr::data)->value.size() != d->data.size()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView bytes(data, size);
    (void)turn::stream_frame_size(bytes);
    check_channel_data(bytes);
    check_message(bytes);
    return 0;
}

// Cost of the crypto layer: secure records of 16 KiB (the size the link layer writes), the
// link handshake, signatures, and a loopback TCP stream with and without record sealing, which
// is the number issue 7 asks about (encrypted >= 0.7x plaintext).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "crypto/handshake.hpp"
#include "crypto/secure_channel.hpp"

using namespace warpgate;
using namespace warpgate::crypto;

namespace {

constexpr std::size_t record_payload = 16 * 1024;

struct LinkKeys {
    Keys initiator, responder;
};

LinkKeys handshake(const IdentityKey& alice, const IdentityKey& bob) {
    Handshake initiator = Handshake::initiator(alice, bob.public_key());
    auto [reply, responder_keys] = *Handshake::responder(bob).on_hello(initiator.hello());
    return {*initiator.on_reply(reply), std::move(responder_keys)};
}

LinkKeys some_link() {
    static const LinkKeys keys = handshake(IdentityKey::generate(), IdentityKey::generate());
    return keys;
}

void BM_Seal16K(benchmark::State& state) {
    SecureChannel channel(some_link().initiator, ChannelMode::stream);
    Bytes plaintext(record_payload, 0x5a), record(record_payload + SecureChannel::overhead);
    for (auto _ : state) benchmark::DoNotOptimize(channel.seal_into(plaintext, record));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * record_payload));
}
BENCHMARK(BM_Seal16K);

void BM_SealAndOpen16K(benchmark::State& state) {
    LinkKeys keys = some_link();
    SecureChannel sender(keys.initiator, ChannelMode::stream), receiver(keys.responder, ChannelMode::stream);
    Bytes plaintext(record_payload, 0x5a), record(record_payload + SecureChannel::overhead), out(record_payload);
    for (auto _ : state) {
        std::size_t size = sender.seal_into(plaintext, record);
        if (!receiver.open_into(ByteView(record).first(size), out)) state.SkipWithError("record did not open");
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * record_payload));
}
BENCHMARK(BM_SealAndOpen16K);

void BM_Handshake(benchmark::State& state) {
    IdentityKey alice = IdentityKey::generate(), bob = IdentityKey::generate();
    for (auto _ : state) benchmark::DoNotOptimize(handshake(alice, bob));
}
BENCHMARK(BM_Handshake)->Unit(benchmark::kMicrosecond);

void BM_Sign(benchmark::State& state) {
    IdentityKey key = IdentityKey::generate();
    Bytes message(128, 1);
    for (auto _ : state) benchmark::DoNotOptimize(key.sign(message));
}
BENCHMARK(BM_Sign)->Unit(benchmark::kMicrosecond);

void BM_Verify(benchmark::State& state) {
    IdentityKey key = IdentityKey::generate();
    Bytes message(128, 1), signature = key.sign(message);
    for (auto _ : state) benchmark::DoNotOptimize(verify(key.public_key(), message, signature));
}
BENCHMARK(BM_Verify)->Unit(benchmark::kMicrosecond);

// --- loopback TCP: 4-byte length framing, one receiver thread --------------------------------

bool send_all(int fd, ByteView data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return true;
}

bool recv_all(int fd, std::span<std::uint8_t> data) {
    while (!data.empty()) {
        ssize_t n = ::recv(fd, data.data(), data.size(), 0);
        if (n <= 0) return false;
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return true;
}

// A connected pair of loopback TCP sockets (127.0.0.1, ephemeral port).
std::pair<int, int> loopback_pair() {
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(listener, reinterpret_cast<sockaddr*>(&addr), len);
    ::listen(listener, 1);
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    int client = ::socket(AF_INET, SOCK_STREAM, 0);
    ::connect(client, reinterpret_cast<sockaddr*>(&addr), len);
    int server = ::accept(listener, nullptr, nullptr);
    ::close(listener);
    return {client, server};
}

// Sends records of 16 KiB (sealed or not) and has the peer read (and open) every one.
void loopback_stream(benchmark::State& state, bool encrypted) {
    auto [client, server] = loopback_pair();
    if (client < 0 || server < 0) return state.SkipWithError("no loopback socket");
    LinkKeys keys = some_link();
    SecureChannel sender(keys.initiator, ChannelMode::stream), receiver(keys.responder, ChannelMode::stream);
    std::thread reader([&, fd = server] {
        Bytes frame(record_payload + SecureChannel::overhead);
        std::uint32_t size = 0;
        while (recv_all(fd, std::span(reinterpret_cast<std::uint8_t*>(&size), 4)) && size > 0) {
            if (!recv_all(fd, std::span(frame).first(size))) break;
            if (encrypted && !receiver.open_in_place(std::span(frame).first(size))) break;
        }
    });
    Bytes plaintext(record_payload, 0x5a), frame(4 + record_payload + SecureChannel::overhead);
    for (auto _ : state) {
        std::uint32_t size = static_cast<std::uint32_t>(record_payload);
        if (encrypted)
            size = static_cast<std::uint32_t>(sender.seal_into(plaintext, std::span(frame).subspan(4)));
        else
            std::copy(plaintext.begin(), plaintext.end(), frame.begin() + 4);
        std::memcpy(frame.data(), &size, 4);
        if (!send_all(client, ByteView(frame).first(4 + size))) state.SkipWithError("send failed");
    }
    std::uint32_t end = 0;
    send_all(client, ByteView(reinterpret_cast<std::uint8_t*>(&end), 4));
    reader.join();
    ::close(client);
    ::close(server);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * record_payload));
}

void BM_LoopbackPlain16K(benchmark::State& state) { loopback_stream(state, false); }
void BM_LoopbackSealed16K(benchmark::State& state) { loopback_stream(state, true); }
BENCHMARK(BM_LoopbackPlain16K)->UseRealTime();
BENCHMARK(BM_LoopbackSealed16K)->UseRealTime();

}  // namespace

// lab_delay_bridge IF1 IF2 DELAY_MS [JITTER_MS]: bridges raw Ethernet frames between two
// interfaces (AF_PACKET), holding each frame DELAY_MS +- JITTER_MS before passing it on.
// The lab's stand-in for netem, which this kernel lacks. The interfaces carry no address;
// their peers' checksum and segmentation offloads must be off (lab.sh does it with ethtool),
// since frames are passed on as read.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>
#include <queue>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// A raw socket on one interface, promiscuous: frames are addressed to the far ends' MACs.
class Port {
public:
    explicit Port(const std::string& name)
        : fd_(::socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))), index_(if_nametoindex(name.c_str())) {
        if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
        if (index_ == 0) throw std::runtime_error("no interface " + name);
        sockaddr_ll addr{};
        addr.sll_family = AF_PACKET;
        addr.sll_protocol = htons(ETH_P_ALL);
        addr.sll_ifindex = static_cast<int>(index_);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error("bind " + name + ": " + std::strerror(errno));
        packet_mreq mr{};
        mr.mr_ifindex = static_cast<int>(index_);
        mr.mr_type = PACKET_MR_PROMISC;
        if (::setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0)
            throw std::runtime_error("promiscuous " + name + ": " + std::strerror(errno));
    }
    Port(const Port&) = delete;
    Port& operator=(const Port&) = delete;
    ~Port() { ::close(fd_); }

    int fd() const { return fd_; }

    // One frame that arrived on the interface (not one we sent out of it), if any.
    std::optional<std::vector<std::uint8_t>> receive() const {
        std::vector<std::uint8_t> frame(65536);
        sockaddr_ll from{};
        socklen_t len = sizeof from;
        const auto n = ::recvfrom(fd_, frame.data(), frame.size(), MSG_DONTWAIT,
                                  reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING) return std::nullopt;
        frame.resize(static_cast<std::size_t>(n));
        return frame;
    }

    void send(const std::vector<std::uint8_t>& frame) const {
        // A frame the far end cannot take is lost, as on a wire.
        (void)::send(fd_, frame.data(), frame.size(), 0);
    }

private:
    int fd_;
    unsigned index_;
};

struct Held {
    Clock::time_point due;
    std::uint64_t order; // keeps frames of equal due time in arrival order
    const Port* out;
    std::vector<std::uint8_t> frame;
    bool operator>(const Held& o) const { return due != o.due ? due > o.due : order > o.order; }
};

} // namespace

int main(int argc, char** argv) {
    if (argc != 4 && argc != 5) {
        std::cerr << "usage: lab_delay_bridge IF1 IF2 DELAY_MS [JITTER_MS]\n";
        return 2;
    }
    try {
        const Port a(argv[1]);
        const Port b(argv[2]);
        const auto delay = std::chrono::microseconds(static_cast<long>(std::stod(argv[3]) * 1000));
        const auto jitter =
            std::chrono::microseconds(argc == 5 ? static_cast<long>(std::stod(argv[4]) * 1000) : 0);
        std::mt19937_64 random(std::random_device{}());
        std::uniform_int_distribution<long> spread(-jitter.count(), jitter.count());
        std::priority_queue<Held, std::vector<Held>, std::greater<>> held;
        std::uint64_t order = 0;
        std::cout << "bridging " << argv[1] << " <-> " << argv[2] << ", delay "
                  << delay.count() / 1000.0 << " ms +- " << jitter.count() / 1000.0 << " ms"
                  << std::endl;
        for (;;) {
            int wait_ms = -1;
            if (!held.empty()) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    held.top().due - Clock::now());
                wait_ms = static_cast<int>(std::max<long>(0, left.count()));
            }
            pollfd fds[2] = {{a.fd(), POLLIN, 0}, {b.fd(), POLLIN, 0}};
            if (::poll(fds, 2, wait_ms) < 0 && errno != EINTR)
                throw std::runtime_error("poll: " + std::string(std::strerror(errno)));
            for (int i = 0; i < 2; ++i) {
                if (!(fds[i].revents & POLLIN)) continue;
                const Port& in = i == 0 ? a : b;
                const Port& out = i == 0 ? b : a;
                while (auto frame = in.receive()) {
                    auto due = Clock::now() + delay;
                    if (jitter.count() > 0) due += std::chrono::microseconds(spread(random));
                    held.push({due, order++, &out, std::move(*frame)});
                }
            }
            while (!held.empty() && held.top().due <= Clock::now()) {
                held.top().out->send(held.top().frame);
                held.pop();
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "lab_delay_bridge: " << e.what() << '\n';
        return 2;
    }
}

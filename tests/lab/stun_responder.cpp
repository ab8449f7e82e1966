// lab_stun_responder IP PORT: answers every STUN Binding request with its XOR-MAPPED-ADDRESS,
// always from the address it was asked on, ignoring CHANGE-REQUEST (RFC 5780 section 7.2).
// miniupnpd's ext_perform_stun check needs exactly that to accept a documentation-range
// external address (a full RFC 5780 server would make it see filtering and refuse).
#include "stun_min.hpp"
#include "udp_min.hpp"

#include <iostream>
#include <string>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: lab_stun_responder IP PORT\n";
        return 2;
    }
    const auto local = lab::udp::parse_endpoint(std::string(argv[1]) + ":" + argv[2]);
    if (!local) {
        std::cerr << "lab_stun_responder: bad address " << argv[1] << ':' << argv[2] << '\n';
        return 2;
    }
    try {
        lab::udp::Socket sock(*local);
        std::cout << "answering STUN on " << lab::udp::to_string(*local) << std::endl;
        for (;;) {
            auto d = sock.receive(std::chrono::milliseconds(1000));
            if (!d || !lab::stun::is_stun(d->data) ||
                lab::stun::read16(d->data, 0) != lab::stun::binding_request)
                continue;
            sock.send_to(lab::stun::binding_response(lab::stun::transaction_id(d->data), d->from),
                         d->from);
        }
    } catch (const std::exception& e) {
        std::cerr << "lab_stun_responder: " << e.what() << '\n';
        return 2;
    }
}

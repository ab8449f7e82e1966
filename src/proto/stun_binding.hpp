// The STUN Binding transaction's messages (RFC 8489 §3), with RFC 5780's CHANGE-REQUEST for
// NAT behaviour discovery and the RFC 3489 attributes older servers still send.
#pragma once
#include <optional>
#include <string>
#include "proto/stun.hpp"

namespace warpgate::stun {

// RFC 5780 §7.2: CHANGE-REQUEST asks the server to answer from its other IP and/or port.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 A B 0|
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    A: change IP, B: change port.
struct ChangeRequest {
    bool change_ip = false;
    bool change_port = false;
    friend bool operator==(const ChangeRequest&, const ChangeRequest&) = default;
};

struct BindingRequest {
    TransactionId transaction_id{};
    std::optional<ChangeRequest> change;
    bool fingerprint = true;  // RFC 8489 §7: SHOULD, so servers can tell STUN from other traffic
};

Bytes encode(const BindingRequest& request);

// What a success response tells the client.
struct BindingResponse {
    Endpoint mapped;                          // XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS (RFC 3489)
    std::optional<Endpoint> other_address;    // OTHER-ADDRESS, else CHANGED-ADDRESS (RFC 3489)
    std::optional<Endpoint> response_origin;  // RESPONSE-ORIGIN, else SOURCE-ADDRESS (RFC 3489)
    std::string software;                     // SOFTWARE, empty when absent
};

// Reads a decoded Binding response. A success response becomes a BindingResponse; an error
// response becomes Errc::refused with the server's code and reason ("STUN error 420 (Unknown
// Attribute)"). Malformed: a request or indication, another method, no mapped address, a bad
// address attribute, or an unknown comprehension-required attribute (RFC 8489 §6.3.3).
Result<BindingResponse> read_binding_response(const Message& m);

}  // namespace warpgate::stun

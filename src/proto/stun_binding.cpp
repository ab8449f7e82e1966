#include "proto/stun_binding.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace warpgate::stun {

namespace {

// Comprehension-required attributes a Binding response may carry without being rejected.
bool known_required(std::uint16_t type) {
    static constexpr std::uint16_t known[] = {
        attr::mapped_address, attr::response_address, attr::change_request, attr::source_address,
        attr::changed_address, attr::username, attr::password, attr::message_integrity,
        attr::error_code, attr::unknown_attributes, attr::reflected_from, attr::realm, attr::nonce,
        attr::message_integrity_sha256, attr::password_algorithm, attr::userhash,
        attr::xor_mapped_address, attr::padding, attr::response_port};
    return std::find(std::begin(known), std::end(known), type) != std::end(known);
}

// The first of the preferred attribute, else of its RFC 3489 ancestor; nullopt when neither.
Result<std::optional<Endpoint>> read_optional_address(const Message& m, std::uint16_t preferred, std::uint16_t legacy) {
    const Attribute* a = m.find(preferred);
    if (!a) a = m.find(legacy);
    if (!a) return std::optional<Endpoint>{};
    auto e = read_address(*a);
    if (!e) return tl::unexpected(e.error());
    return std::optional<Endpoint>{*e};
}

Result<Endpoint> read_mapped(const Message& m) {
    if (const auto* x = m.find(attr::xor_mapped_address)) return read_xor_address(*x, m.transaction_id);
    if (const auto* plain = m.find(attr::mapped_address)) return read_address(*plain);
    return fail(Errc::malformed, "Binding response without XOR-MAPPED-ADDRESS or MAPPED-ADDRESS");
}

Error error_response(const Message& m) {
    const auto* a = m.find(attr::error_code);
    if (!a) return {Errc::malformed, "STUN error response without ERROR-CODE"};
    auto code = read_error_code(*a);
    if (!code) return code.error();
    return {Errc::refused, fmt::format("STUN error {} ({})", code->code, code->reason)};
}

}  // namespace

Bytes encode(const BindingRequest& request) {
    MessageWriter w(Method::binding, MessageClass::request, request.transaction_id);
    if (request.change) {
        std::uint8_t flags = static_cast<std::uint8_t>((request.change->change_ip ? 0x04 : 0) |
                                                       (request.change->change_port ? 0x02 : 0));
        const std::uint8_t value[4] = {0, 0, 0, flags};
        w.add(attr::change_request, value);
    }
    return w.finish(request.fingerprint);
}

Result<BindingResponse> read_binding_response(const Message& m) {
    if (m.method != Method::binding)
        return fail(Errc::malformed, fmt::format("expected a Binding response, got method 0x{:03x}", static_cast<unsigned>(m.method)));
    if (m.cls == MessageClass::error) return tl::unexpected(error_response(m));
    if (m.cls != MessageClass::success) return fail(Errc::malformed, "expected a Binding response, got a request or indication");
    for (const auto& a : m.attributes)
        if (attr::comprehension_required(a.type) && !known_required(a.type))
            return fail(Errc::malformed, fmt::format("Binding response carries unknown required attribute 0x{:04x}", a.type));

    BindingResponse r;
    auto mapped = read_mapped(m);
    if (!mapped) return tl::unexpected(mapped.error());
    r.mapped = *mapped;
    auto other = read_optional_address(m, attr::other_address, attr::changed_address);
    if (!other) return tl::unexpected(other.error());
    r.other_address = *other;
    auto origin = read_optional_address(m, attr::response_origin, attr::source_address);
    if (!origin) return tl::unexpected(origin.error());
    r.response_origin = *origin;
    if (const auto* s = m.find(attr::software)) {
        auto text = read_text(*s);
        if (!text) return tl::unexpected(text.error());
        r.software = *text;
    }
    return r;
}

}  // namespace warpgate::stun

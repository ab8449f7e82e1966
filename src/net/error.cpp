#include <warpgate/error.hpp>

namespace warpgate {
namespace {

class Category final : public std::error_category {
public:
    const char* name() const noexcept override { return "warpgate"; }
    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
            case Errc::ok: return "ok";
            case Errc::malformed: return "malformed input";
            case Errc::unsupported: return "unsupported";
            case Errc::timeout: return "timed out";
            case Errc::cancelled: return "cancelled";
            case Errc::closed: return "closed";
            case Errc::unreachable: return "unreachable";
            case Errc::refused: return "refused";
            case Errc::auth_failed: return "authentication failed";
            case Errc::replayed: return "replayed or stale";
            case Errc::config: return "invalid configuration";
            case Errc::io: return "i/o error";
            case Errc::address_in_use: return "address in use";
        }
        return "unknown warpgate error";
    }
};

}  // namespace

const std::error_category& error_category() noexcept {
    static const Category category;
    return category;
}

std::string Error::to_string() const {
    return error_category().message(static_cast<int>(code)) + ": " + message;
}

}  // namespace warpgate

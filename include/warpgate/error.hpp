// Errors: one error category for warpgate, results for protocol boundaries, and one
// exception type for awaitable APIs whose callers cannot be expected to check.
#pragma once
#include <stdexcept>
#include <string>
#include <system_error>
#include <tl/expected.hpp>

namespace warpgate {

enum class Errc {
    ok = 0,
    malformed,        // network or file input that breaks its format
    unsupported,      // a version, family or feature this build does not handle
    timeout,          // a network wait ran out of time
    cancelled,        // the operation was cancelled (close(), a lost race)
    closed,           // the peer or the local side closed the link
    unreachable,      // no strategy produced a working pipe
    refused,          // the peer or a server said no
    auth_failed,      // a signature, key or MAC did not verify
    replayed,         // a message seen before, or too old
    config,           // a configuration value is invalid
    io,               // an operating-system call failed
    address_in_use,   // the listen port is taken
};

const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), error_category()}; }

// An error a user can act on: what kind, and a sentence that says what happened.
struct Error {
    Errc code = Errc::ok;
    std::string message;
    std::string to_string() const;
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Errc code, std::string message) {
    return tl::unexpected<Error>(Error{code, std::move(message)});
}

// Thrown by awaitable APIs (Node::start, auto_connect, Link::recv, ...).
class Exception : public std::system_error {
public:
    explicit Exception(Error e) : std::system_error(make_error_code(e.code), e.message), error_(std::move(e)) {}
    Exception(Errc code, std::string message) : Exception(Error{code, std::move(message)}) {}
    const Error& error() const noexcept { return error_; }
    Errc errc() const noexcept { return error_.code; }

private:
    Error error_;
};

// Unwraps a Result or throws its error: the bridge from codecs to awaitable APIs.
template <class T>
T value_or_throw(Result<T> r) {
    if (!r) throw Exception(std::move(r.error()));
    return std::move(*r);
}

}  // namespace warpgate

template <>
struct std::is_error_code_enum<warpgate::Errc> : std::true_type {};

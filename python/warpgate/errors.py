"""warpgate's exceptions: one class per kind of failure, each a warpgate.Error carrying the C++
message; the kinds a Python caller already catches also derive from the built-in ones."""


class Error(Exception):
    """A warpgate failure; `code` names its kind (warpgate::Errc)."""

    code = "io"

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code


class TimeoutError(Error, TimeoutError):  # noqa: A001 - the built-in, too
    code = "timeout"


class ClosedError(Error, ConnectionError):
    code = "closed"


class UnreachableError(Error, ConnectionError):
    code = "unreachable"


class ConfigError(Error, ValueError):
    code = "config"


class AddressInUseError(Error, OSError):
    code = "address_in_use"


_BY_CODE = {cls.code: cls for cls in (TimeoutError, ClosedError, UnreachableError, ConfigError, AddressInUseError)}


def from_code(code, message):
    """The exception for a C++ warpgate::Exception (called by the extension module)."""
    return _BY_CODE.get(code, Error)(message, code)

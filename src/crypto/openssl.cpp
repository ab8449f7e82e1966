#include "crypto/openssl.hpp"

#include <openssl/err.h>

#include <stdexcept>
#include <string>

namespace warpgate::crypto {

void throw_openssl(std::string_view step) {
    std::string message = "OpenSSL failed in " + std::string(step);
    while (unsigned long e = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(e, text, sizeof text);
        message += "; ";
        message += text;
    }
    throw std::runtime_error(message);
}

}  // namespace warpgate::crypto

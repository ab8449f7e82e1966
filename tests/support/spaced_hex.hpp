// Test vectors written as hex with spaces between fields, the way RFC diagrams group them.
#pragma once
#include <string>
#include <string_view>
#include <warpgate/bytes.hpp>

namespace warpgate::test {

inline Bytes spaced_hex(std::string_view text) {
    std::string compact;
    for (char c : text)
        if (c != ' ') compact.push_back(c);
    return from_hex(compact);
}

}  // namespace warpgate::test

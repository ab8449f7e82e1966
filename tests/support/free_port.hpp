// Ports for servers the tests start: free at the time of asking on loopback.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace warpgate::test {

// A port P such that P .. P+count-1 are all free for both TCP and UDP on every given local
// address (default 127.0.0.1). Racy by nature (another process may take it before the server
// binds) but the kernel hands out ephemeral ports in a spread, so collisions are rare.
std::uint16_t free_port(unsigned count = 1, const std::vector<std::string>& addresses = {"127.0.0.1"});

}  // namespace warpgate::test

// Feeds arbitrary bytes to the node address parsers. The binary encoding is canonical: whatever
// parse_address accepts, serialize must give back byte for byte. The same bytes as text go to
// parse_address_text, whose result must survive a round trip through to_text.
#include <cstdio>
#include <cstdlib>
#include <warpgate/address.hpp>

using namespace warpgate;

namespace {

void check(bool condition, const char* what) {
    if (condition) return;
    std::fprintf(stderr, "address_fuzz: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);
    if (auto parsed = parse_address(input)) {
        auto again = serialize(*parsed);
        check(again.has_value(), "serialize refused a parsed address");
        check(*again == Bytes(input.begin(), input.end()), "serialize did not reproduce the input");
    }
    if (auto parsed = parse_address_text(as_chars(input))) {
        auto back = parse_address_text(to_text(*parsed));
        check(back && *back == *parsed, "text round trip changed the address");
    }
    return 0;
}

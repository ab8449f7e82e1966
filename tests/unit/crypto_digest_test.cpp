// HKDF-SHA256 (and under it HMAC-SHA256, crypto/digest.cpp's own) against RFC 5869's test
// vectors (Appendix A.1-A.3: a short salt, keys and salt longer than SHA-256's block, no salt
// and no info), and a derivation longer than one block split over two calls.
#include <gtest/gtest.h>

#include <string>

#include "crypto/digest.hpp"

using namespace warpgate;
using namespace warpgate::crypto;

namespace {

Bytes range(int from, int to) {
    Bytes out;
    for (int b = from; b < to; ++b) out.push_back(static_cast<std::uint8_t>(b));
    return out;
}

std::string text(const Bytes& bytes) { return std::string(bytes.begin(), bytes.end()); }

struct Rfc5869Case {
    Bytes ikm, salt, info;
    std::string prk, okm;
};

std::vector<Rfc5869Case> rfc5869_cases() {
    return {
        {Bytes(22, 0x0b), range(0x00, 0x0d), range(0xf0, 0xfa),
         "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
        {range(0x00, 0x50), range(0x60, 0xb0), range(0xb0, 0x100),
         "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
         "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09"
         "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
        {Bytes(22, 0x0b), {}, {},
         "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
         "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
    };
}

}  // namespace

TEST(Hkdf, Rfc5869VectorsExtractThenExpand) {
    for (auto& c : rfc5869_cases()) {
        auto prk = hkdf_extract(c.salt, c.ikm);
        EXPECT_EQ(to_hex(prk), c.prk);
        Bytes okm(c.okm.size() / 2);
        hkdf_expand(prk, text(c.info), okm);
        EXPECT_EQ(to_hex(okm), c.okm);
    }
}

TEST(Hkdf, Rfc5869VectorsInOneCall) {
    for (auto& c : rfc5869_cases()) {
        Bytes okm(c.okm.size() / 2);
        hkdf_sha256(c.ikm, c.salt, text(c.info), okm);
        EXPECT_EQ(to_hex(okm), c.okm);
    }
}

TEST(Hkdf, ShorterOutputIsAPrefixAndTooLongIsRefused) {
    auto c = rfc5869_cases()[1];
    auto prk = hkdf_extract(c.salt, c.ikm);
    Bytes first(33);  // one block and a byte of the next
    hkdf_expand(prk, text(c.info), first);
    EXPECT_EQ(to_hex(first), c.okm.substr(0, 66));
    Bytes too_long(255 * 32 + 1);
    EXPECT_THROW(hkdf_expand(prk, text(c.info), too_long), std::length_error);
}

// Test vectors from an independent implementation (scripts/crypto_vectors.py, Python
// `cryptography`), also listed in docs/link-handshake.md. Scalars are the byte repeated 32 times.
#pragma once
#include <cstdint>
#include <string_view>

#include <warpgate/bytes.hpp>

namespace warpgate::test::vectors {

inline Bytes scalar_of(std::uint8_t byte) { return Bytes(32, byte); }
inline constexpr std::uint8_t initiator_identity = 0x11, initiator_ephemeral = 0x22;
inline constexpr std::uint8_t responder_identity = 0x33, responder_ephemeral = 0x44;
inline constexpr std::uint8_t hello_nonce_byte = 0x55;

inline constexpr std::string_view initiator_identity_public =
    "034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa";
inline constexpr std::string_view responder_identity_public =
    "023c72addb4fdf09af94f0c94d7fe92a386a7e70cf8a1d85916386bb2535c7b1b1";
inline constexpr std::string_view responder_node_id = "5b13f98f676551539e1e1668e";

inline constexpr std::string_view hello_body =
    "010102466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27034f355bdcb7cc0af728ef3cceb9615d9068"
    "4bb5b2ca5f859ab0f0b704075871aa5555555555555555555555555555555555555555555555555555555555555555";
inline constexpr std::string_view hello =
    "010102466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27034f355bdcb7cc0af728ef3cceb9615d9068"
    "4bb5b2ca5f859ab0f0b704075871aa5555555555555555555555555555555555555555555555555555555555555555"
    "4fe3154fc8aeb2178fdee44ee2cb56ab9a14e9de48a2a6bb05c9436af7e00a1122007eda9ed810a071756ced5cc9fc74cd370d21a2"
    "bad4d9cc4f28a9eab25855";
inline constexpr std::string_view reply_body =
    "0102032c0b7cf95324a07d05398b240174dc0c2be444d96b159aa6c7f7b1e668680991023c72addb4fdf09af94f0c94d7fe92a386a"
    "7e70cf8a1d85916386bb2535c7b1b1";
inline constexpr std::string_view reply =
    "0102032c0b7cf95324a07d05398b240174dc0c2be444d96b159aa6c7f7b1e668680991023c72addb4fdf09af94f0c94d7fe92a386a"
    "7e70cf8a1d85916386bb2535c7b1b1"
    "147d3eb3331c956054280f530df519efb7e120ef45c24a1d5b1a0fae6e0f42047ab5fab556d2fe369e68e7ac40689fd61515b64cd3"
    "40d8b930e2357105284beb";
inline constexpr std::string_view transcript_hash = "3de2195e98a554b975a035700134a1a515aa6a8a8c03325b8b0755d3f93b158d";
inline constexpr std::string_view key_initiator_to_responder =
    "aa078f0c1d7b2e4f138d392aa9916efb95742bb9560dcb1e523a8c7453612e5d";
inline constexpr std::string_view key_responder_to_initiator =
    "52a7dace74d459b6212b45112556ec83c5305604d8bb4d5c2012ff577fbaac5a";

// Stream records: initiator->responder #0 "hello, warpgate", #1 "", responder->initiator #0 "hi".
inline constexpr std::string_view record_i2r_0 =
    "000000000000000085e7e1ee549322587f80cc1bf076ca96cb279434c2206a0a70baa5f2f82086";
inline constexpr std::string_view record_i2r_1 = "000000000000000185129cc1343c7d1c7c825478fd42cb32";
inline constexpr std::string_view record_r2i_0 = "0000000000000000738667a0a9eb8f326e36accaa198047b0e14";

// Sealed box of "offer" with aad "signal" to the responder's identity key.
inline constexpr std::string_view sealed_offer =
    "0102ed35f1ce5e43c58129224886f3ec3bacdb335158a0562ae18361e117e3f8456b8e191fcf9e9a997ad6182cd22ee6fd1575d25a"
    "3bc1";

}  // namespace warpgate::test::vectors

// The node's identity key on disk (format in docs/keystore.md).
#pragma once
#include <filesystem>

#include <warpgate/error.hpp>

#include "crypto/identity.hpp"

namespace warpgate::crypto {

inline constexpr int keystore_version = 1;

// Loads the key in `file`, or creates it (parent dirs too, mode 0700) when absent: file mode
// 0600, atomic write (temp file + fsync + link into place, so a concurrent creator never
// overwrites the winner's key). The key's folder must be writable by this user alone: one
// writable by group or others is tightened to 0700 when ours, refused (Errc::io) when not or
// when sticky. A key file that is a symbolic link or not a regular file is refused (Errc::io).
// A corrupt file is Errc::malformed, a newer version Errc::unsupported, an unreadable one
// Errc::io; each message names the file, and the file is never replaced.
Result<IdentityKey> load_or_create_identity(const std::filesystem::path& file);

// The file's bytes for a key (JSON, ends with a newline).
std::string encode_keystore(const IdentityKey& key);
// Parses encode_keystore's output; `origin` names the source in error messages.
Result<IdentityKey> decode_keystore(std::string_view text, const std::string& origin);

}  // namespace warpgate::crypto

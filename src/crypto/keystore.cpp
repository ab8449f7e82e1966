#include "crypto/keystore.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include "log.hpp"

#include "crypto/openssl.hpp"

namespace warpgate::crypto {
namespace {

namespace fs = std::filesystem;

std::string quoted(const fs::path& file) { return "'" + file.string() + "'"; }

tl::unexpected<Error> io_error(const std::string& what, const fs::path& file, int err) {
    return fail(Errc::io, what + " " + quoted(file) + ": " + std::strerror(err));
}

// Closes the descriptor and removes the temp file unless released.
class TempFile {
public:
    explicit TempFile(fs::path pattern) : path_(std::move(pattern)) {
        std::string buffer = path_.string();
        fd_ = ::mkstemp(buffer.data());  // creates the file with mode 0600
        path_ = buffer;
    }
    ~TempFile() {
        if (fd_ >= 0) ::close(fd_);
        ::unlink(path_.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    int fd() const { return fd_; }
    const fs::path& path() const { return path_; }
    int close() {
        int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

private:
    fs::path path_;
    int fd_ = -1;
};

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// Makes the new directory entry durable (the rename/link itself), not only the file's bytes.
void sync_directory(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

enum class Placed { created, already_exists };

fs::path folder_of(const fs::path& file) { return file.parent_path().empty() ? fs::path(".") : file.parent_path(); }

// Creates the missing directories on the way to `dir` with mode 0700: a key folder is for
// this user alone.
Result<void> create_key_folder(const fs::path& dir) {
    fs::path built;
    for (auto& part : dir) {
        built /= part;
        if (::mkdir(built.c_str(), 0700) == 0 || errno == EEXIST) continue;
        return io_error("cannot create the identity key's directory", built, errno);
    }
    return {};
}

// Whoever can write to the key's folder can replace the key file (and so the node's identity):
// a folder writable by group or others is tightened to 0700 when it is ours, refused when not
// (or when it is a shared sticky folder such as /tmp).
Result<void> secure_key_folder(const fs::path& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return io_error("cannot inspect the key folder", dir, errno);
    if (!S_ISDIR(st.st_mode)) return fail(Errc::io, "key folder " + quoted(dir) + " is not a directory");
    auto mode = st.st_mode & 07777;
    if ((mode & 022) == 0) return {};
    if (st.st_uid != ::geteuid() || (mode & S_ISVTX))
        return fail(Errc::io, fmt::format("key folder {} is writable by other users (mode {:o}) and is not this user's own folder to "
                                          "tighten: keep the identity key in a folder only you can write (chmod go-w it, or set "
                                          "install_path)", quoted(dir), mode));
    if (::chmod(dir.c_str(), mode & 0700) != 0) return io_error("cannot tighten the permissions of key folder", dir, errno);
    log::warn("key folder {} was writable by other users (mode {:o}): tightened to {:o}", quoted(dir), mode, mode & 0700);
    return {};
}

Result<Placed> write_new_file(const fs::path& file, std::string_view contents) {
    fs::path dir = folder_of(file);
    TempFile temp(dir / (file.filename().string() + ".tmp-XXXXXX"));
    if (temp.fd() < 0) return io_error("cannot create a temporary file next to", file, errno);
    if (!write_all(temp.fd(), contents) || ::fsync(temp.fd()) != 0)
        return io_error("cannot write the identity key to a temporary file for", file, errno);
    if (temp.close() != 0) return io_error("cannot write the identity key for", file, errno);
    // link() fails with EEXIST instead of replacing: if another process created the key
    // meanwhile, theirs stays and we load it.
    if (::link(temp.path().c_str(), file.c_str()) != 0) {
        if (errno == EEXIST) return Placed::already_exists;
        return io_error("cannot create", file, errno);
    }
    sync_directory(dir);
    return Placed::created;
}

constexpr std::size_t max_key_file_size = 64 * 1024;  // a key file is ~200 bytes

// Reads the key file itself, never what a symbolic link points to: a link planted in the key
// folder could make the node load (and trust) another file. O_NONBLOCK keeps a FIFO from
// hanging the open; anything but a regular file is refused.
Result<std::string> read_file(const fs::path& file) {
    int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ELOOP)
        return fail(Errc::io, "identity key file " + quoted(file) +
                                  " is a symbolic link: refused (replace the link with the key file itself)");
    if (fd < 0) return io_error("cannot read identity key file", file, errno);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return io_error("cannot inspect identity key file", file, errno);
    if (S_ISDIR(st.st_mode)) return fail(Errc::io, "identity key path " + quoted(file) + " is a directory");
    if (!S_ISREG(st.st_mode)) return fail(Errc::io, "identity key path " + quoted(file) + " is not a regular file");
    if (static_cast<std::size_t>(st.st_size) > max_key_file_size)
        return fail(Errc::malformed, fmt::format("identity key file {} has {} bytes, far more than a key file", quoted(file), st.st_size));
    if ((st.st_mode & 077) != 0)
        log::warn("identity key file {} is readable by other users (mode {:o}); chmod 600 it", quoted(file), st.st_mode & 0777);
    std::string text;
    char buffer[4096];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_error("cannot read identity key file", file, errno);
        if (n == 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
        if (text.size() > max_key_file_size) return fail(Errc::malformed, "identity key file " + quoted(file) + " keeps growing");
    }
    return text;
}

Result<IdentityKey> load(const fs::path& file) {
    auto text = read_file(file);
    if (!text) return tl::unexpected(text.error());
    auto key = decode_keystore(*text, quoted(file));
    OPENSSL_cleanse(text->data(), text->size());
    return key;
}

}  // namespace

std::string encode_keystore(const IdentityKey& key) {
    nlohmann::ordered_json doc;
    doc["version"] = keystore_version;
    doc["secp256k1_private"] = to_hex(key.private_bytes());
    doc["public_key"] = to_hex(key.public_key());
    return doc.dump(2) + "\n";
}

Result<IdentityKey> decode_keystore(std::string_view text, const std::string& origin) {
    auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object())
        return fail(Errc::malformed, "identity key file " + origin + " is not a JSON object (corrupt or truncated)");
    auto version = doc.find("version");
    if (version == doc.end() || !version->is_number_integer())
        return fail(Errc::malformed, "identity key file " + origin + " has no integer \"version\"");
    if (*version != keystore_version)
        return fail(Errc::unsupported, "identity key file " + origin + " has version " + version->dump() +
                                           "; this build reads version " + std::to_string(keystore_version));
    auto field = [&](const char* name) -> Bytes {
        auto it = doc.find(name);
        return it != doc.end() && it->is_string() ? from_hex(it->get<std::string>()) : Bytes{};
    };
    Bytes scalar = field("secp256k1_private");
    auto key = IdentityKey::from_private_bytes(scalar);
    OPENSSL_cleanse(scalar.data(), scalar.size());
    if (!key)
        return fail(Errc::malformed, "identity key file " + origin +
                                         " has no valid \"secp256k1_private\" (64 hex digits): " + key.error().message);
    // The stored public key catches a damaged private key that is still a valid scalar.
    if (field("public_key") != key->public_key())
        return fail(Errc::malformed, "identity key file " + origin +
                                         ": \"public_key\" does not match the private key (corrupt file)");
    return key;
}

Result<IdentityKey> load_or_create_identity(const fs::path& file) {
    if (auto made = create_key_folder(folder_of(file)); !made) return tl::unexpected(made.error());
    if (auto secured = secure_key_folder(folder_of(file)); !secured) return tl::unexpected(secured.error());
    std::error_code ec;
    auto status = fs::symlink_status(file, ec);
    if (ec && ec != std::errc::no_such_file_or_directory)
        return fail(Errc::io, "cannot inspect identity key file " + quoted(file) + ": " + ec.message());
    if (fs::exists(status)) return load(file);

    IdentityKey key = IdentityKey::generate();
    std::string contents = encode_keystore(key);
    auto placed = write_new_file(file, contents);
    OPENSSL_cleanse(contents.data(), contents.size());
    if (!placed) return tl::unexpected(placed.error());
    if (*placed == Placed::already_exists) return load(file);
    log::info("created identity key {} (node id {})", quoted(file), node_id(key.public_key()));
    return key;
}

}  // namespace warpgate::crypto

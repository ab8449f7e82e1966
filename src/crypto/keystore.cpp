#include "crypto/keystore.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

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

Result<Placed> write_new_file(const fs::path& file, std::string_view contents) {
    fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return fail(Errc::io, "cannot create directory " + quoted(dir) + " for the identity key: " + ec.message());

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

Result<std::string> read_file(const fs::path& file) {
    std::error_code ec;
    if (fs::is_directory(file, ec)) return fail(Errc::io, "identity key path " + quoted(file) + " is a directory");
    std::ifstream in(file, std::ios::binary);
    if (!in) return io_error("cannot read identity key file", file, errno);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return io_error("cannot read identity key file", file, errno);
    return text.str();
}

void warn_if_exposed(const fs::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
        spdlog::warn("identity key file {} is readable by other users (mode {:o}); chmod 600 it", quoted(file),
                     st.st_mode & 0777);
}

Result<IdentityKey> load(const fs::path& file) {
    auto text = read_file(file);
    if (!text) return tl::unexpected(text.error());
    warn_if_exposed(file);
    return decode_keystore(*text, quoted(file));
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
    spdlog::info("created identity key {} (node id {})", quoted(file), node_id(key.public_key()));
    return key;
}

}  // namespace warpgate::crypto

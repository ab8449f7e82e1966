#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "crypto/keystore.hpp"
#include "support/temp_dir.hpp"

using namespace warpgate;
using namespace warpgate::crypto;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write(const fs::path& file, std::string_view contents) {
    std::ofstream(file, std::ios::binary) << contents;
}

int mode_of(const fs::path& file) {
    struct stat st {};
    EXPECT_EQ(::stat(file.c_str(), &st), 0);
    return st.st_mode & 07777;
}

}  // namespace

TEST(Keystore, CreatesTheKeyWithParentsAndMode0600) {
    test::TempDir dir;
    fs::path file = dir.path() / "a" / "b" / "identity.json";
    auto key = load_or_create_identity(file);
    ASSERT_TRUE(key) << key.error().to_string();
    EXPECT_EQ(mode_of(file), 0600);
    EXPECT_EQ(std::distance(fs::directory_iterator(file.parent_path()), fs::directory_iterator{}), 1)
        << "the temporary file is left behind";

    auto doc = nlohmann::json::parse(slurp(file));
    EXPECT_EQ(doc["version"], 1);
    EXPECT_EQ(doc["secp256k1_private"], to_hex(key->private_bytes()));
    EXPECT_EQ(doc["public_key"], to_hex(key->public_key()));
}

TEST(Keystore, ReloadGivesTheSameKeyAndLeavesTheFile) {
    test::TempDir dir;
    fs::path file = dir.path() / "identity.json";
    auto first = load_or_create_identity(file);
    ASSERT_TRUE(first);
    std::string before = slurp(file);
    auto second = load_or_create_identity(file);
    ASSERT_TRUE(second) << second.error().to_string();
    EXPECT_EQ(second->public_key(), first->public_key());
    EXPECT_EQ(slurp(file), before);
}

TEST(Keystore, LoadsAHandWrittenFile) {
    test::TempDir dir;
    fs::path file = dir.path() / "identity.json";
    write(file, R"({"version": 1,
      "secp256k1_private": "0000000000000000000000000000000000000000000000000000000000000001",
      "public_key": "0279BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798"})");
    auto key = load_or_create_identity(file);
    ASSERT_TRUE(key) << key.error().to_string();
    EXPECT_EQ(node_id(key->public_key()), "0f715baf5d4c2ed329785cef2");
}

TEST(Keystore, CorruptFilesAreErrorsThatNameTheFileAndLeaveItUntouched) {
    IdentityKey key = IdentityKey::generate();
    std::string valid = encode_keystore(key);
    std::string other_public = encode_keystore(key);
    std::string wrong_public = to_hex(IdentityKey::generate().public_key());
    other_public.replace(other_public.find(to_hex(key.public_key())), wrong_public.size(), wrong_public);
    struct Case {
        const char* name;
        std::string contents;
        Errc expected;
    } cases[] = {
        {"empty", "", Errc::malformed},
        {"truncated", valid.substr(0, valid.size() / 2), Errc::malformed},
        {"garbage", std::string("\x00\xff\x13garbage\n", 11), Errc::malformed},
        {"array", "[1, 2]", Errc::malformed},
        {"no version", R"({"secp256k1_private": "01"})", Errc::malformed},
        {"newer version", R"({"version": 2, "secp256k1_private": "00"})", Errc::unsupported},
        {"no private key", R"({"version": 1})", Errc::malformed},
        {"short private key", R"({"version": 1, "secp256k1_private": "0101"})", Errc::malformed},
        {"zero private key", R"({"version": 1, "secp256k1_private": ")" + std::string(64, '0') + "\"}",
         Errc::malformed},
        {"mismatched public key", other_public, Errc::malformed},
    };
    for (const auto& c : cases) {
        test::TempDir dir;
        fs::path file = dir.path() / "identity.json";
        write(file, c.contents);
        auto loaded = load_or_create_identity(file);
        ASSERT_FALSE(loaded) << c.name;
        EXPECT_EQ(loaded.error().code, c.expected) << c.name << ": " << loaded.error().message;
        EXPECT_NE(loaded.error().message.find(file.string()), std::string::npos) << c.name;
        EXPECT_EQ(slurp(file), c.contents) << c.name;
    }
}

TEST(Keystore, UnreadablePathIsAnIoError) {
    test::TempDir dir;
    fs::path file = dir.path() / "identity.json";
    fs::create_directory(file);
    auto loaded = load_or_create_identity(file);
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().code, Errc::io);
    EXPECT_NE(loaded.error().message.find(file.string()), std::string::npos);
    EXPECT_TRUE(fs::is_directory(file));
}

TEST(Keystore, UncreatableParentIsAnIoError) {
    test::TempDir dir;
    write(dir.path() / "blocker", "a file where a directory should be");
    auto created = load_or_create_identity(dir.path() / "blocker" / "identity.json");
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().code, Errc::io);
}

TEST(Keystore, ConcurrentCreatorsAgreeOnOneKey) {
    test::TempDir dir;
    fs::path file = dir.path() / "identity.json";
    std::vector<Bytes> keys(8);
    std::vector<std::thread> threads;
    for (auto& key : keys)
        threads.emplace_back([&file, &key] {
            auto loaded = load_or_create_identity(file);
            if (loaded) key = loaded->public_key();
        });
    for (auto& t : threads) t.join();
    auto on_disk = load_or_create_identity(file);
    ASSERT_TRUE(on_disk);
    for (const auto& key : keys) EXPECT_EQ(key, on_disk->public_key());
}

TEST(Keystore, CreatesItsFoldersWithMode0700) {
    test::TempDir dir;
    fs::path file = dir.path() / "new" / "keys" / "identity.json";
    ASSERT_TRUE(load_or_create_identity(file));
    EXPECT_EQ(mode_of(dir.path() / "new"), 0700);
    EXPECT_EQ(mode_of(dir.path() / "new" / "keys"), 0700);
}

TEST(Keystore, AKeyFileThatIsASymlinkIsRefused) {
    test::TempDir dir;
    fs::path real = dir.path() / "elsewhere.json";
    ASSERT_TRUE(load_or_create_identity(real));
    std::string before = slurp(real);
    fs::path file = dir.path() / "identity.json";
    fs::create_symlink(real, file);
    auto loaded = load_or_create_identity(file);
    ASSERT_FALSE(loaded) << "a symlinked key file loaded";
    EXPECT_EQ(loaded.error().code, Errc::io);
    EXPECT_NE(loaded.error().message.find("symbolic link"), std::string::npos) << loaded.error().message;
    EXPECT_NE(loaded.error().message.find(file.string()), std::string::npos) << loaded.error().message;
    EXPECT_TRUE(fs::is_symlink(file)) << "the link is left for the user to fix";
    EXPECT_EQ(slurp(real), before);

    fs::path dangling = dir.path() / "dangling.json";
    fs::create_symlink(dir.path() / "missing.json", dangling);
    auto created = load_or_create_identity(dangling);
    ASSERT_FALSE(created) << "a dangling link made a key appear at its target";
    EXPECT_NE(created.error().message.find("symbolic link"), std::string::npos) << created.error().message;
    EXPECT_FALSE(fs::exists(dir.path() / "missing.json"));
}

TEST(Keystore, AKeyPathThatIsAFifoIsRefusedWithoutHanging) {
    test::TempDir dir;
    fs::path file = dir.path() / "identity.json";
    ASSERT_EQ(::mkfifo(file.c_str(), 0600), 0);
    auto loaded = load_or_create_identity(file);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message.find("not a regular file"), std::string::npos) << loaded.error().message;
}

TEST(Keystore, AFolderWritableByOthersIsTightened) {
    test::TempDir dir;
    fs::path folder = dir.path() / "keys";
    fs::create_directory(folder);
    ASSERT_EQ(::chmod(folder.c_str(), 0777), 0);
    ASSERT_TRUE(load_or_create_identity(folder / "identity.json"));
    EXPECT_EQ(mode_of(folder), 0700);
    ASSERT_EQ(::chmod(folder.c_str(), 0770), 0);
    ASSERT_TRUE(load_or_create_identity(folder / "identity.json")) << "the existing key loads after tightening";
    EXPECT_EQ(mode_of(folder), 0700);
}

TEST(Keystore, ASharedStickyFolderIsRefused) {
    test::TempDir dir;
    fs::path folder = dir.path() / "shared";
    fs::create_directory(folder);
    ASSERT_EQ(::chmod(folder.c_str(), 01777), 0);
    auto created = load_or_create_identity(folder / "identity.json");
    ASSERT_FALSE(created) << "a key was written to a folder everyone can write";
    EXPECT_EQ(created.error().code, Errc::io);
    EXPECT_NE(created.error().message.find("writable by other users"), std::string::npos) << created.error().message;
    EXPECT_EQ(mode_of(folder), 01777) << "a shared folder is not ours to change";
    EXPECT_FALSE(fs::exists(folder / "identity.json"));
}

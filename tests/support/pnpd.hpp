// A real warpgate-pnpd (the nickname server) run by a test, and a real PostgreSQL for it.
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <warpgate/config.hpp>

#include "crypto/identity.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace warpgate::test {

class Pnpd {
public:
    // `settings` are config keys over the test defaults (loopback, a free port, SQLite in the
    // temp dir, no rate limit to speak of); "store" may name a PostgreSQL database.
    explicit Pnpd(nlohmann::json settings = nlohmann::json::object());
    NicknameServer server() const;
    const crypto::IdentityKey& key() const { return key_; }
    std::uint16_t port() const { return port_; }
    pid_t pid() const { return process_->pid(); }
    std::string log() const { return process_->log(); }
    // SIGKILL, nothing else: what a crash leaves behind is what the next start finds.
    void kill9();
    // SIGTERM; true when the server exited by itself within `wait`.
    bool terminate(std::chrono::milliseconds wait);
    // Starts again on the same config, key and store.
    void start();

private:
    TempDir dir_;
    crypto::IdentityKey key_;
    std::uint16_t port_ = 0;
    std::filesystem::path config_;
    int starts_ = 0;
    std::unique_ptr<ServerProcess> process_;
};

// A PostgreSQL cluster in a temp dir on a loopback port (initdb + pg_ctl, as the postgres
// user when run as root), stopped with the test. unavailable() says why when it cannot run.
class Postgres {
public:
    Postgres();
    ~Postgres();
    static std::optional<std::string> unavailable();  // the reason, when no binaries are installed
    std::string conninfo() const;                       // for "postgresql:" + conninfo()

private:
    std::filesystem::path data_;
    std::uint16_t port_;
};

}  // namespace warpgate::test

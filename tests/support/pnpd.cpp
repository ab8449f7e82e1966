#include "support/pnpd.hpp"

#include <csignal>
#include <fstream>
#include <pwd.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "support/free_port.hpp"

namespace warpgate::test {
namespace {

const std::filesystem::path postgres_bin = "/usr/lib/postgresql/15/bin";

// Runs a command to its end; its exit status.
int run_command(const std::string& command) { return std::system(command.c_str()); }

// As root, PostgreSQL refuses to run: its tools run as the postgres user then.
std::string as_postgres(const std::string& command) {
    if (::geteuid() != 0) return command;
    return "runuser -u postgres -- " + command;
}

}  // namespace

Pnpd::Pnpd(nlohmann::json settings) : key_(crypto::IdentityKey::generate()) {
    config_ = dir_.path() / "pnpd.json";
    std::ofstream(dir_.path() / "server.key") << to_hex(key_.private_bytes()) << "\n";
    start_on_free_ports([&] {
        port_ = free_port();
        nlohmann::json config = {{"listen", "127.0.0.1:" + std::to_string(port_)}, {"key_file", "server.key"},
                                 {"store", "sqlite:names.db"}, {"names_per_source", 1000000}, {"rate_per_source", 100000},
                                 {"rate_total", 1000000}, {"log_level", "debug"}};
        config.update(settings);
        std::ofstream(config_) << config.dump(2);
        start();
    });
}

void Pnpd::start() {
    process_.reset();
    Endpoint probe{asio::ip::make_address("127.0.0.1"), port_};
    auto log = dir_.path() / ("pnpd-" + std::to_string(++starts_) + ".log");
    process_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{std::string(WARPGATE_BINARY_DIR) + "/apps/warpgate-pnpd", "--config", config_.string()},
        [&] {
            ServerProcess::Options options{[probe] { return tcp_accepts(probe); }, std::chrono::milliseconds(10000), log};
            options.tcp_ports = {port_};
            return options;
        }());
}

void Pnpd::kill9() {
    ::kill(process_->pid(), SIGKILL);
    for (int i = 0; i < 200 && process_->running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

bool Pnpd::terminate(std::chrono::milliseconds wait) {
    ::kill(process_->pid(), SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (process_->running())
        if (std::chrono::steady_clock::now() > deadline) return false;
        else std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return true;
}

NicknameServer Pnpd::server() const { return NicknameServer{HostPort{"127.0.0.1", port_}, key_.public_key()}; }

std::optional<std::string> Postgres::unavailable() {
    if (!std::filesystem::exists(postgres_bin / "initdb") || !std::filesystem::exists(postgres_bin / "pg_ctl"))
        return "PostgreSQL server binaries are not installed (" + (postgres_bin / "initdb").string() +
               "; Debian package postgresql-15, scripts/install-deps.sh)";
    if (::geteuid() == 0 && !::getpwnam("postgres")) return "running as root and there is no postgres user to run PostgreSQL as";
    return std::nullopt;
}

Postgres::Postgres() : port_(free_port()) {
    char pattern[] = "/tmp/warpgate-postgres-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("postgres: cannot create a temp dir");
    data_ = pattern;
    if (::geteuid() == 0 && run_command("chown postgres: " + data_.string()) != 0)
        throw std::runtime_error("postgres: cannot hand " + data_.string() + " to the postgres user");
    auto db = data_ / "db";
    if (run_command(as_postgres((postgres_bin / "initdb").string() + " -D " + db.string() +
                                " -U postgres --auth=trust -E UTF8 > " + (data_ / "initdb.log").string() + " 2>&1")) != 0)
        throw std::runtime_error("postgres: initdb failed, see " + (data_ / "initdb.log").string());
    auto options = "-c listen_addresses=127.0.0.1 -c port=" + std::to_string(port_) + " -c unix_socket_directories=" + data_.string();
    if (run_command(as_postgres((postgres_bin / "pg_ctl").string() + " -D " + db.string() + " -l " + (data_ / "server.log").string() +
                                " -w -t 30 -o '" + options + "' start > /dev/null")) != 0)
        throw std::runtime_error("postgres: pg_ctl start failed, see " + (data_ / "server.log").string());
}

Postgres::~Postgres() {
    run_command(as_postgres((postgres_bin / "pg_ctl").string() + " -D " + (data_ / "db").string() + " -m immediate -w stop > /dev/null 2>&1"));
    std::error_code ec;
    std::filesystem::remove_all(data_, ec);
}

std::string Postgres::conninfo() const { return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres"; }

}  // namespace warpgate::test

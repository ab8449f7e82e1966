// The warpgate CLI run by a test as a user would: its own data dir, stdin from a file, stdout
// and stderr to files, an exit status to wait for, signals to send. Killed when destroyed.
#pragma once
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace warpgate::test {

// build/apps/warpgate.
std::filesystem::path cli_path();

class CliProcess {
public:
    struct Options {
        std::filesystem::path dir;    // stdout, stderr and the data dir (XDG_DATA_HOME) go here
        std::string name = "cli";     // file names under dir: NAME.out, NAME.err, NAME.data/
        std::filesystem::path stdin_from = "/dev/null";
    };
    // args without the program. Throws std::runtime_error when it cannot start.
    CliProcess(std::vector<std::string> args, Options options);
    ~CliProcess();
    CliProcess(const CliProcess&) = delete;
    CliProcess& operator=(const CliProcess&) = delete;

    // The exit code once it exited within `timeout`; -1 when a signal ended it; nullopt while it runs.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    void signal(int sig);
    const std::filesystem::path& stdout_path() const { return out_; }
    std::string out() const;
    std::string err() const;
    // Polls until `file` exists and is not empty (an --addr-out file): false after timeout or
    // when the process exited first.
    bool wait_for_file(const std::filesystem::path& file, std::chrono::milliseconds timeout);

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::filesystem::path out_, err_;
};

}  // namespace warpgate::test

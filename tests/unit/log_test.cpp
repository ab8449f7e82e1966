// The library logs through warpgate::logger(): stderr by default, the application's logger
// after set_logger(), and never spdlog's default logger on stdout.
#include <gtest/gtest.h>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <warpgate/log.hpp>

#include "crypto/keystore.hpp"
#include "support/temp_dir.hpp"

namespace warpgate::test {
namespace {

// A library call that logs one info line: creating an identity key.
void create_key(const TempDir& dir, const char* name) {
    ASSERT_TRUE(crypto::load_or_create_identity(dir.path() / name));
}

TEST(Log, LibraryLinesGoToTheApplicationsLoggerNotStdout) {
    TempDir dir;
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
    auto replacement = std::make_shared<spdlog::logger>("application", sink);
    replacement->set_level(spdlog::level::info);
    set_logger(replacement);
    EXPECT_EQ(logger(), replacement);
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    create_key(dir, "replaced.key");
    auto out = testing::internal::GetCapturedStdout();
    auto err = testing::internal::GetCapturedStderr();
    set_logger(nullptr);

    auto lines = sink->last_formatted();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("created identity key"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("replaced.key"), std::string::npos) << lines[0];
    EXPECT_EQ(out, "") << "nothing on stdout";
    EXPECT_EQ(err, "") << "the default logger is out of the way";
}

TEST(Log, DefaultLoggerWritesToStderrAndFollowsSpdlogsLevel) {
    TempDir dir;
    set_logger(nullptr);
    EXPECT_EQ(logger()->name(), "warpgate");
    EXPECT_EQ(spdlog::get("warpgate"), logger()) << "registered: spdlog::set_level reaches it";
    auto level = spdlog::get_level();
    spdlog::set_level(spdlog::level::info);
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    create_key(dir, "default.key");
    spdlog::set_level(spdlog::level::warn);
    create_key(dir, "quiet.key");  // below the level: not written
    auto out = testing::internal::GetCapturedStdout();
    auto err = testing::internal::GetCapturedStderr();
    spdlog::set_level(level);

    EXPECT_EQ(out, "");
    EXPECT_NE(err.find("created identity key"), std::string::npos) << err;
    EXPECT_NE(err.find("default.key"), std::string::npos) << err;
    EXPECT_EQ(err.find("quiet.key"), std::string::npos) << err;
}

}  // namespace
}  // namespace warpgate::test

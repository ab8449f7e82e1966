// docs/config.md is the reference of every NodeConfig field: its key and the two presets'
// values must be the code's. On a mismatch the test prints the rows as they should read.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <warpgate/config.hpp>

using namespace warpgate;

namespace {

struct Row {
    std::string production;
    std::string test;
    friend bool operator==(const Row&, const Row&) = default;
};

// The documented rows: "| `key` | `production` | `test` | meaning |".
std::map<std::string, Row> documented_rows() {
    std::ifstream in(std::string(WARPGATE_SOURCE_DIR) + "/docs/config.md");
    std::map<std::string, Row> rows;
    const std::regex row(R"(^\| `([a-z_0-9]+)` \| `([^`]*)` \| `([^`]*)` \| .*\|$)");
    std::string line;
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_match(line, m, row)) rows[m[1]] = {m[2], m[3]};
    }
    return rows;
}

std::map<std::string, Row> code_rows() {
    auto production = NodeConfig::production().to_json();
    auto test = NodeConfig::test().to_json();
    std::map<std::string, Row> rows;
    for (auto& item : production.items()) {
        const std::string& key = item.key();
        rows[key] = {item.value().dump(), test.at(key).dump()};
    }
    return rows;
}

}  // namespace

TEST(ConfigDoc, EveryFieldIsDocumentedWithBothPresetsValues) {
    auto documented = documented_rows();
    auto code = code_rows();
    ASSERT_GT(documented.size(), 0u) << "no table rows found in docs/config.md";
    std::ostringstream fix;
    for (const auto& [key, row] : code) {
        auto found = documented.find(key);
        if (found == documented.end() || found->second != row)
            fix << "| `" << key << "` | `" << row.production << "` | `" << row.test << "` | ... |\n";
    }
    for (const auto& [key, row] : documented)
        if (!code.contains(key)) fix << "remove `" << key << "`: NodeConfig has no such field\n";
    EXPECT_EQ(fix.str(), "") << "docs/config.md is out of date; the rows as they should read:\n" << fix.str();
}

TEST(ConfigDoc, TheDocumentedTestPresetLoadsAsTheCodesOwn) {
    // The file form the reference describes: a preset, then overrides.
    auto config = load_config_json(R"({"preset": "test", "stun_servers": ["127.0.0.1:3478"]})");
    ASSERT_TRUE(config) << config.error().to_string();
    auto expected = NodeConfig::test();
    expected.stun_servers = {HostPort{"127.0.0.1", 3478}};
    EXPECT_EQ(config->to_json(), expected.to_json());
}

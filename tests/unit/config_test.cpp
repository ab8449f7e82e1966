#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <warpgate/config.hpp>

#include "support/temp_dir.hpp"

using namespace warpgate;

TEST(Config, PresetsMatchTheOriginal) {
    auto prod = NodeConfig::production();
    EXPECT_TRUE(prod.enable_upnp);
    EXPECT_EQ(prod.sig_pipe_no, 1);
    EXPECT_TRUE(prod.init_clock_skew);
    EXPECT_TRUE(prod.enable_nickname);
    EXPECT_TRUE(prod.enable_stun_clients);
    EXPECT_FALSE(prod.stun_servers.empty());
    EXPECT_FALSE(prod.mqtt_servers.empty());

    auto test = NodeConfig::test();
    EXPECT_FALSE(test.enable_upnp);
    EXPECT_EQ(test.sig_pipe_no, 0);
    EXPECT_FALSE(test.init_clock_skew);
    EXPECT_TRUE(test.enable_punching);
    EXPECT_FALSE(test.enable_nickname);
    EXPECT_FALSE(test.enable_stun_clients);
}

TEST(Config, OverridesApplyFieldByFieldOverAPreset) {
    auto c = NodeConfig::test();
    auto before = c.to_json();
    ASSERT_TRUE(c.apply(nlohmann::json{{"enable_upnp", true}, {"stun_servers", {"127.0.0.1:3478", "[::1]:3479"}}}));
    EXPECT_TRUE(c.enable_upnp);
    ASSERT_EQ(c.stun_servers.size(), 2u);
    EXPECT_EQ(c.stun_servers[1].host, "::1");
    EXPECT_EQ(c.stun_servers[1].port, 3479);
    // Every other field kept the preset's value.
    auto after = c.to_json();
    after.erase("enable_upnp");
    after.erase("stun_servers");
    before.erase("enable_upnp");
    before.erase("stun_servers");
    EXPECT_EQ(before, after);
}

TEST(Config, RejectsUnknownFieldsAndWrongTypes) {
    auto c = NodeConfig::test();
    auto r = c.apply(nlohmann::json{{"enable_upnpp", true}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::config);
    EXPECT_NE(r.error().message.find("enable_upnpp"), std::string::npos);
    EXPECT_FALSE(c.apply(nlohmann::json{{"enable_upnp", "yes"}}));
    EXPECT_FALSE(c.apply(nlohmann::json{{"stun_servers", {"no-port"}}}));
    EXPECT_FALSE(c.apply(nlohmann::json{{"connect_timeout_ms", 0}}));
    EXPECT_FALSE(c.apply(nlohmann::json{{"sig_pipe_no", -1}}));
    EXPECT_FALSE(c.apply(nlohmann::json::array()));
}

TEST(Config, JsonRoundTrip) {
    auto c = NodeConfig::production();
    c.turn_servers.push_back({*HostPort::parse("127.0.0.1:3478"), "u", "p", "lab"});
    auto d = NodeConfig::test();
    ASSERT_TRUE(d.apply(c.to_json()));
    EXPECT_EQ(d.to_json(), c.to_json());
}

TEST(Config, LoadsFileWithPreset) {
    test::TempDir dir;
    auto file = dir.path() / "conf.json";
    std::ofstream(file) << R"({"preset": "test", // comments are allowed
                               "enable_stun_clients": true, "stun_servers": ["127.0.0.1:3478"]})";
    auto c = load_config(file);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_TRUE(c->enable_stun_clients);
    EXPECT_FALSE(c->enable_upnp);  // from the test preset
    EXPECT_FALSE(load_config(dir.path() / "missing.json"));
    EXPECT_FALSE(load_config_json(R"({"preset": "staging"})"));
    EXPECT_FALSE(load_config_json("{not json"));
    EXPECT_TRUE(load_config_json("{}")->enable_upnp);  // default preset: production
}

TEST(Config, ConnectBackLimitsHaveDefaultsAndJsonOverrides) {
    auto c = NodeConfig::production();
    EXPECT_FALSE(c.dial_back_loopback);
    EXPECT_EQ(c.connect_back_per_key_burst, 3u);
    EXPECT_EQ(c.connect_back_per_key_window, std::chrono::milliseconds(10000));
    EXPECT_EQ(c.connect_back_total_burst, 20u);
    EXPECT_EQ(c.connect_back_max_concurrent, 4u);
    EXPECT_FALSE(NodeConfig::test().dial_back_loopback) << "the test preset is attacked too: loopback only when asked";
    ASSERT_TRUE(c.apply(nlohmann::json{{"dial_back_loopback", true}, {"connect_back_per_key_burst", 1},
                                       {"connect_back_total_window_ms", 60000}, {"connect_back_max_concurrent", 2}}));
    EXPECT_TRUE(c.dial_back_loopback);
    EXPECT_EQ(c.connect_back_per_key_burst, 1u);
    EXPECT_EQ(c.connect_back_total_window, std::chrono::milliseconds(60000));
    EXPECT_EQ(c.connect_back_max_concurrent, 2u);
    EXPECT_FALSE(c.apply(nlohmann::json{{"connect_back_total_burst", 0}})) << "a limit of zero would refuse every request";
}

TEST(Config, ClockFields) {
    auto c = NodeConfig::test();
    EXPECT_EQ(c.ntp_timeout, std::chrono::milliseconds(1500));
    EXPECT_EQ(c.clock_max_age, std::chrono::minutes(15));
    EXPECT_EQ(c.inject_clock_offset_ms, 0);
    EXPECT_EQ(NodeConfig::production().inject_clock_offset_ms, 0);  // never in production
    ASSERT_TRUE(c.apply(nlohmann::json{{"ntp_timeout_ms", 400}, {"clock_max_age_ms", 60000}, {"inject_clock_offset_ms", -250},
                                       {"ntp_servers", {"127.0.0.1:11123"}}}));
    EXPECT_EQ(c.ntp_timeout, std::chrono::milliseconds(400));
    EXPECT_EQ(c.clock_max_age, std::chrono::minutes(1));
    EXPECT_EQ(c.inject_clock_offset_ms, -250);
    EXPECT_EQ(c.ntp_servers.at(0).port, 11123);
    EXPECT_EQ(c.to_json()["inject_clock_offset_ms"], -250);
    auto d = NodeConfig::production();
    ASSERT_TRUE(d.apply(c.to_json()));
    EXPECT_EQ(d.to_json(), c.to_json());
    EXPECT_FALSE(c.apply(nlohmann::json{{"inject_clock_offset_ms", 86'400'001}}));
    EXPECT_FALSE(c.apply(nlohmann::json{{"inject_clock_offset_ms", 1.5}}));
    EXPECT_FALSE(c.apply(nlohmann::json{{"ntp_timeout_ms", 0}}));
    EXPECT_EQ(c.inject_clock_offset_ms, -250);  // a rejected value changes nothing
}

TEST(Config, PortMappingFields) {
    auto c = NodeConfig::test();
    EXPECT_EQ(c.port_mapping_protocol, PortMappingProtocol::any);
    ASSERT_TRUE(c.apply(nlohmann::json{{"port_mapping_protocol", "natpmp"}, {"port_mapping_timeout_ms", 1500}, {"port_mapping_lease_ms", 10000}}));
    EXPECT_EQ(c.port_mapping_protocol, PortMappingProtocol::natpmp);
    EXPECT_EQ(c.port_mapping_timeout, std::chrono::milliseconds(1500));
    EXPECT_EQ(c.port_mapping_lease, std::chrono::milliseconds(10000));
    EXPECT_EQ(c.to_json()["port_mapping_protocol"], "natpmp");
    auto r = c.apply(nlohmann::json{{"port_mapping_protocol", "igd"}});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("port_mapping_protocol"), std::string::npos);
    EXPECT_FALSE(c.apply(nlohmann::json{{"port_mapping_protocol", 2}}));
}

#include "pnpd_config.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

namespace warpgate::pnpd {
namespace {

using nlohmann::json;

Result<std::uint64_t> positive(const json& j, std::string_view key) {
    if (!j.is_number_unsigned() || j.get<std::uint64_t>() == 0)
        return fail(Errc::config, fmt::format("pnpd config '{}' must be a positive integer", key));
    return j.get<std::uint64_t>();
}

Result<std::string> text(const json& j, std::string_view key) {
    if (!j.is_string()) return fail(Errc::config, fmt::format("pnpd config '{}' must be a string", key));
    return j.get<std::string>();
}

std::filesystem::path relative_to(const std::filesystem::path& base, const std::filesystem::path& p) {
    return p.is_absolute() ? p : base / p;
}

// Applies one key; false when the key is unknown.
Result<bool> apply(PnpdConfig& c, const std::string& key, const json& v) {
    using std::chrono::milliseconds;
    auto number = [&](auto& out, std::uint64_t scale = 1) -> Result<bool> {
        auto n = positive(v, key);
        if (!n) return tl::unexpected(n.error());
        out = static_cast<std::remove_reference_t<decltype(out)>>(*n * scale);
        return true;
    };
    auto duration = [&](milliseconds& out) -> Result<bool> {
        auto n = positive(v, key);
        if (!n) return tl::unexpected(n.error());
        out = milliseconds(*n);
        return true;
    };
    if (key == "listen") {
        auto t = text(v, key);
        if (!t) return tl::unexpected(t.error());
        auto hp = HostPort::parse(*t, 5300);
        if (!hp) return tl::unexpected(hp.error());
        c.listen = *hp;
        return true;
    }
    if (key == "key_file" || key == "store" || key == "log_level") {
        auto t = text(v, key);
        if (!t) return tl::unexpected(t.error());
        if (key == "key_file") c.key_file = *t;
        else if (key == "store") c.store = *t;
        else c.log_level = *t;
        return true;
    }
    if (key == "bump") {
        if (!v.is_boolean()) return fail(Errc::config, "pnpd config 'bump' must be true or false");
        c.limits.bump = v.get<bool>();
        return true;
    }
    if (key == "name_ttl_s") return number(c.limits.name_ttl_ms, 1000);
    if (key == "names_per_source") return number(c.limits.names_per_source);
    if (key == "max_names") return number(c.limits.max_names);
    if (key == "clock_skew_ms") return number(c.limits.clock_skew_ms);
    if (key == "rate_per_source") return number(c.per_source.burst);
    if (key == "rate_total") return number(c.total.burst);
    if (key == "max_tcp_connections") return number(c.max_tcp_connections);
    if (key == "replay_cache_size") return number(c.replay_cache_size);
    if (key == "tcp_idle_timeout_ms") return duration(c.tcp_idle_timeout);
    if (key == "purge_interval_ms") return duration(c.purge_interval);
    return false;
}

}  // namespace

Result<PnpdConfig> PnpdConfig::load(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) return fail(Errc::config, fmt::format("cannot read pnpd config {}", file.string()));
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(Errc::config, fmt::format("pnpd config {} is not a JSON object", file.string()));
    PnpdConfig c;
    for (auto& item : j.items()) {
        auto known = apply(c, item.key(), item.value());
        if (!known) return fail(Errc::config, fmt::format("{}: {}", file.string(), known.error().message));
        if (!*known) return fail(Errc::config, fmt::format("{}: unknown key '{}'", file.string(), item.key()));
    }
    auto base = file.parent_path();
    c.key_file = relative_to(base, c.key_file);
    if (c.store.starts_with("sqlite:")) c.store = "sqlite:" + relative_to(base, c.store.substr(7)).string();
    return c;
}

Result<crypto::IdentityKey> load_or_create_key(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (in) {
        std::stringstream hex;
        hex << in.rdbuf();
        auto text = hex.str();
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
        auto key = crypto::IdentityKey::from_private_bytes(from_hex(text));
        if (!key) return fail(Errc::config, fmt::format("{} does not hold a private key (64 hex digits): {}", file.string(), key.error().message));
        return key;
    }
    auto key = crypto::IdentityKey::generate();
    auto fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return fail(Errc::io, fmt::format("cannot create key file {}: {}", file.string(), std::strerror(errno)));
    auto hex = to_hex(key.private_bytes()) + "\n";
    auto written = ::write(fd, hex.data(), hex.size());
    ::fsync(fd);
    ::close(fd);
    if (written != static_cast<ssize_t>(hex.size())) return fail(Errc::io, fmt::format("cannot write key file {}", file.string()));
    return key;
}

}  // namespace warpgate::pnpd

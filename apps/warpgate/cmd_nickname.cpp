// warpgate nickname register|lookup|delete NAME: the PNP client by hand (docs/pnp.md). The
// owner key is the node's identity key (the one `listen` uses), so a name registered here is
// the node's to update or delete.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "crypto/keystore.hpp"
#include "proto/pnp_client.hpp"

namespace warpgate::cli {
namespace {

pnp::Client make_client(asio::io_context& io, const NodeConfig& conf, crypto::IdentityKey key, bool tcp) {
    pnp::ClientOptions options;
    options.tcp = tcp;
    return pnp::Client(io.get_executor(), conf.nickname_servers, std::move(key), options);
}

crypto::IdentityKey node_key(const NodeConfig& conf) {
    return value_or_throw(crypto::load_or_create_identity(conf.data_dir() / "keys" / (NodeOptions{}.identity + ".key")));
}

// The reply, or the refusal as an Exception naming the server's reason.
pnp::Reply accepted(Result<pnp::Reply> reply, std::string_view name) {
    auto r = value_or_throw(std::move(reply));
    if (r.status != pnp::Status::ok) throw Exception(pnp::refusal_error(r, "", name));
    return r;
}

nlohmann::json reply_json(const pnp::Client& client, std::string_view name, const pnp::Reply& r) {
    return {{"name", std::string(name)}, {"full_name", value_or_throw(client.bare_name(name)) + client.tld()},
            {"owner", to_hex(r.owner)}, {"value", std::string(as_chars(r.value))}, {"expires_ms", r.expires_ms}, {"detail", r.detail}};
}

}  // namespace

asio::awaitable<std::string> resolve_nickname(asio::io_context& io, const NodeConfig& conf, std::string_view name) {
    auto value = co_await pnp::resolve(io.get_executor(), conf.nickname_servers, name);
    co_return value_or_throw(std::move(value));
}

void add_nickname_command(CLI::App& app, std::function<int()>& action) {
    auto* cmd = app.add_subcommand("nickname", "Register, look up or delete a nickname on the PNP servers (docs/pnp.md)");
    cmd->require_subcommand(1);
    struct Args {
        NodeFlags flags;
        std::string name;
        std::string value;
        bool tcp = false;
        bool json = false;
    };
    for (auto verb : {"register", "lookup", "delete"}) {
        auto args = std::make_shared<Args>();
        std::string op = verb;
        auto* sub = cmd->add_subcommand(op, op == "register"   ? "Register NAME for this node's key (value: --value, else this node's address)"
                                            : op == "lookup" ? "Print the value (a node address) NAME maps to"
                                                             : "Delete NAME (only its owner key can)");
        args->flags.add_to(*sub);
        sub->add_option("name", args->name, "The nickname, with or without its TLD (alice or alice.p2p)")->required();
        if (op == "register") sub->add_option("--value", args->value, "The value to register (default: this node's address text)");
        sub->add_flag("--tcp", args->tcp, "Over TCP instead of UDP");
        sub->add_flag("--json", args->json, "Print the reply as JSON");
        sub->callback([&action, args, op] {
            action = [args, op] {
                return run([args, op](asio::io_context& io) -> asio::awaitable<int> {
                    auto options = args->flags.node_options();
                    auto conf = options.conf;
                    auto client = make_client(io, conf, node_key(conf), args->tcp);
                    Result<pnp::Reply> reply;
                    if (op == "lookup") {
                        auto looked_up = co_await client.lookup(args->name);
                        reply = std::move(looked_up);
                    } else if (op == "delete") {
                        auto removed = co_await client.remove(args->name);
                        reply = std::move(removed);
                    } else {
                        auto value = args->value;
                        if (value.empty()) {
                            options.conf.enable_nickname = false;  // this command registers it, with its own errors
                            Node node(io.get_executor(), std::move(options));
                            co_await node.start({progress_printer(args->flags.verbose)});
                            value = node.address_text();
                            co_await node.close();
                        }
                        auto registered = co_await client.register_name(args->name, as_bytes(value));
                        reply = std::move(registered);
                    }
                    auto r = accepted(std::move(reply), args->name);
                    if (args->json) std::cout << reply_json(client, args->name, r).dump(2) << std::endl;
                    else if (op == "lookup") std::cout << as_chars(r.value) << std::endl;
                    else std::cout << value_or_throw(client.bare_name(args->name)) << client.tld() << ": " << r.detail << std::endl;
                    co_return 0;
                });
            };
        });
    }
}

}  // namespace warpgate::cli

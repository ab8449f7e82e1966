// warpgate._warpgate: Node, Pipe, auto_connect, Gate, Link and NodeConfig for Python. Every
// coroutine returns an asyncio future (runtime.hpp); the package (python/warpgate/) adds the
// Python idioms on top: `await Node().start()`, `async with`, NODE_CONF, dict_child.
#include <pybind11/stl.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <warpgate/log.hpp>
#include <warpgate/auto_connect.hpp>
#include <warpgate/gate.hpp>
#include <warpgate/link.hpp>
#include <warpgate/node.hpp>

#include "runtime.hpp"

namespace warpgate::python {
namespace {

using std::chrono::milliseconds;

milliseconds to_ms(double seconds) {
    if (!(seconds > 0)) throw Exception(Errc::config, "a timeout must be a positive number of seconds");
    return milliseconds(static_cast<std::int64_t>(seconds * 1000.0 + 0.5));
}

Bytes to_bytes(const std::string& data) { return Bytes(data.begin(), data.end()); }
py::bytes to_py(ByteView data) { return py::bytes(reinterpret_cast<const char*>(data.data()), data.size()); }
py::tuple to_py(const Endpoint& e) { return py::make_tuple(e.ip.to_string(), e.port); }
// The original's IP4 / IP6 are the socket module's address families.
int to_py(Family f) { return f == IP6 ? AF_INET6 : AF_INET; }

// "tcp" / "udp", as Python passes them in.
Transport transport_of(const std::string& name) { return value_or_throw(parse_transport(name)); }
std::string transport_name(Transport t) { return t == UDP ? "udp" : "tcp"; }

// A peer as Python names it: the binary address (bytes) or its text form ("wg1...").
NodeAddress peer_of(const py::object& destination) {
    auto peer = py::isinstance<py::bytes>(destination) ? parse_address(to_bytes(destination.cast<std::string>()))
                                                       : parse_address_text(destination.cast<std::string>());
    if (!peer) throw Exception(Errc::malformed, "bad peer address: " + peer.error().message);
    return *peer;
}

// ip: None, one address or a list of them.
std::vector<asio::ip::address> ips_of(const py::object& ip) {
    std::vector<std::string> texts;
    if (py::isinstance<py::str>(ip))
        texts.push_back(ip.cast<std::string>());
    else if (!ip.is_none())
        texts = ip.cast<std::vector<std::string>>();
    std::vector<asio::ip::address> out;
    for (auto& text : texts) {
        asio::error_code ec;
        out.push_back(asio::ip::make_address(text, ec));
        if (ec) throw Exception(Errc::config, "ip " + text + ": not an IP address");
    }
    return out;
}

// Config values cross as JSON: the C++ side validates every key and type (NodeConfig::apply).
py::object json_to_py(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

NodeConfig child_of(const NodeConfig& parent, const py::dict& overrides) {
    auto text = py::module_::import("json").attr("dumps")(overrides, py::arg("default") = py::module_::import("builtins").attr("str"));
    auto copy = parent;
    auto applied = copy.apply(nlohmann::json::parse(text.cast<std::string>()));
    if (!applied) throw Exception(applied.error());
    return copy;
}

template <class T>
asio::awaitable<void> close_if_alive(std::weak_ptr<T> weak) {
    if (auto object = weak.lock()) co_await object->close();
}

template <class T>
py::object wrap(std::shared_ptr<T> object) {
    return py::cast(new Held<T>(std::move(object)), py::return_value_policy::take_ownership);
}

Deliver deliver_bytes(Bytes message) {
    return [message = std::move(message)] { return to_py(message); };
}

template <class T>
Deliver deliver_wrapped(std::shared_ptr<T> object) {
    return [object = std::move(object)] { return wrap(object); };
}

Deliver deliver_connect(ConnectResult result) {
    return [pipe = result.pipe, plugin = result.plugin, attempt = result.attempt.describe()] {
        py::dict report;
        report["plugin"] = plugin;
        report["attempt"] = attempt;
        return py::object(py::make_tuple(wrap(pipe), report));
    };
}

asio::awaitable<void> no_wait() { co_return; }

// Message callbacks run on the asyncio loop (warpgate/_callbacks.py); the C++ handler only
// queues them there, so a slow callback never holds up the io thread.
Handler queue_on_loop(py::object callback) {
    struct Target {
        PyRef loop, run, callback;
    };
    // Node copies its callback list for every message: shared, so a copy never takes the GIL.
    auto target = std::make_shared<const Target>(Target{PyRef(py::module_::import("asyncio").attr("get_running_loop")()),
                                                        PyRef(py::module_::import("warpgate._callbacks").attr("run_msg_cb")),
                                                        PyRef(std::move(callback))});
    return [target](Message message, Endpoint from, Pipe& pipe) {
        auto held = pipe.shared_from_this();
        py::gil_scoped_acquire locked;
        try {
            auto& loop = target->loop.get();
            if (!loop.attr("is_closed")().cast<bool>())
                loop.attr("call_soon_threadsafe")(target->run.get(), target->callback.get(), to_py(message), to_py(from), wrap(held));
        } catch (py::error_already_set& e) {
            e.discard_as_unraisable("warpgate: queueing a message callback");
        }
        return no_wait();
    };
}

std::function<void(std::string_view)> progress_to(py::object printer) {
    PyRef target(std::move(printer));
    return [target](std::string_view line) {
        py::gil_scoped_acquire locked;
        try {
            target.get()(std::string(line));
        } catch (py::error_already_set& e) {
            e.discard_as_unraisable("warpgate: start progress");
        }
    };
}

// send/recv/close and the path facts, the same for a Pipe and a Link.
template <class T>
void def_messages(py::class_<Held<T>>& cls, double default_timeout) {
    cls.def("send", [](Held<T>& self, const std::string& data) {
           return Runtime::get().submit([object = self.ptr, message = to_bytes(data)]() -> asio::awaitable<Deliver> {
               co_await object->send(message);
               co_return none();
           });
       }, py::arg("message"), "Sends one message (bytes or str); returns an awaitable.")
        .def("recv", [](Held<T>& self, double timeout) {
            return Runtime::get().submit([object = self.ptr, ms = to_ms(timeout)]() -> asio::awaitable<Deliver> {
                auto message = co_await object->recv(ms);
                co_return deliver_bytes(std::move(message));
            });
        }, py::arg("timeout") = default_timeout, "The next message (bytes); raises TimeoutError, or ClosedError at the end.")
        .def("close", [](Held<T>& self) { Runtime::get().call([&] { self.ptr->close(); }); })
        .def_property_readonly("is_open", [](Held<T>& self) { return Runtime::get().call([&] { return self.ptr->is_open(); }); })
        .def_property_readonly("transport", [](Held<T>& self) {
            return transport_name(Runtime::get().call([&] { return self.ptr->transport(); }));
        })
        .def_property_readonly("remote_endpoint", [](Held<T>& self) {
            return to_py(Runtime::get().call([&] { return self.ptr->remote_endpoint(); }));
        })
        .def_property_readonly("encrypted", [](Held<T>& self) { return Runtime::get().call([&] { return self.ptr->encrypted(); }); });
}

void bind_config(py::module_& m) {
    py::class_<NodeConfig>(m, "NodeConfig", "Node configuration (C++ NodeConfig); read it like a dict.")
        .def_static("production", &NodeConfig::production, "The original's NODE_CONF: public infrastructure.")
        .def_static("test", &NodeConfig::test, "The original's NODE_TEST_CONF: nothing leaves the machine.")
        .def("child", &child_of, py::arg("overrides"), "A copy with `overrides` applied (unknown keys and wrong types raise).")
        .def("to_dict", [](const NodeConfig& c) { return json_to_py(c.to_json()); })
        .def("__getitem__", [](const NodeConfig& c, const std::string& key) {
            auto j = c.to_json();
            if (!j.contains(key)) throw py::key_error(key);
            return json_to_py(j[key]);
        })
        .def("__eq__", [](const NodeConfig& a, const NodeConfig& b) { return a.to_json() == b.to_json(); })
        .def("__repr__", [](const NodeConfig& c) { return "NodeConfig(" + c.to_json().dump() + ")"; });
}

void bind_node(py::module_& m) {
    py::class_<Held<Pipe>> pipe(m, "Pipe", "One end of a link: whole messages, liveness.");
    def_messages(pipe, 5.0);
    pipe.def_property_readonly("local_endpoint", [](Held<Pipe>& self) {
            return to_py(Runtime::get().call([&] { return self.ptr->local_endpoint(); }));
        })
        .def_property_readonly("peer_node_id", [](Held<Pipe>& self) { return Runtime::get().call([&] { return self.ptr->peer_node_id(); }); });

    py::class_<Held<Node>>(m, "Node")
        .def(py::init([](const py::object& ip, std::optional<std::uint16_t> port, const NodeConfig& conf, std::string identity) {
            NodeOptions options;
            options.ips = ips_of(ip);
            options.port = port;
            options.conf = conf;
            options.identity = std::move(identity);
            auto& runtime = Runtime::get();
            auto node = runtime.call([&] { return std::make_shared<Node>(runtime.executor(), std::move(options)); });
            runtime.track(node, [weak = std::weak_ptr<Node>(node)] { return close_if_alive(weak); });
            return new Held<Node>(std::move(node));
        }), py::arg("ip") = py::none(), py::arg("port") = py::none(), py::arg("conf"), py::arg("identity") = "node")
        .def("_start", [](Held<Node>& self, py::object printer) {
            StartOptions options;
            if (!printer.is_none()) options.progress = progress_to(std::move(printer));
            return Runtime::get().submit([node = self.ptr, options = std::move(options)]() mutable -> asio::awaitable<Deliver> {
                co_await node->start(std::move(options));
                co_return none();
            });
        })
        .def("close", [](Held<Node>& self) {
            return Runtime::get().submit([node = self.ptr]() -> asio::awaitable<Deliver> {
                co_await node->close();
                co_return none();
            });
        }, "Closes every pipe and server (awaitable). Idempotent.")
        .def("address", [](Held<Node>& self) { return to_py(Runtime::get().call([&] { return self.ptr->address(); })); },
             "The binary node address to share with peers.")
        .def("address_text", [](Held<Node>& self) { return Runtime::get().call([&] { return self.ptr->address_text(); }); })
        .def("supported", [](Held<Node>& self) {
            std::vector<int> out;
            for (auto f : Runtime::get().call([&] { return self.ptr->supported(); })) out.push_back(to_py(f));
            return out;
        }, "[IP4], [IP6] or [IP4, IP6]")
        .def("add_msg_cb", [](Held<Node>& self, py::object callback) {
            auto handler = queue_on_loop(std::move(callback));
            Runtime::get().call([&] { self.ptr->add_msg_cb(std::move(handler)); });
        }, py::arg("callback"), "callback(msg, client_tup, pipe), sync or async, runs on this asyncio loop.")
        .def_property_readonly("started", [](Held<Node>& self) { return Runtime::get().call([&] { return self.ptr->started(); }); })
        .def_property_readonly("node_id", [](Held<Node>& self) { return Runtime::get().call([&] { return self.ptr->node_id(); }); })
        .def_property_readonly("listen_port", [](Held<Node>& self) { return Runtime::get().call([&] { return self.ptr->listen_port(); }); })
        .def("phases", [](Held<Node>& self) {
            py::list out;
            for (auto& p : Runtime::get().call([&] { return self.ptr->phases(); }))
                out.append(py::make_tuple(p.name, std::chrono::duration<double>(p.duration).count(), p.outcome));
            return out;
        }, "[(name, seconds, outcome)] for every start phase");

    m.def("_auto_connect", [](Held<Node>& node, const py::object& destination, const std::string& transport, double timeout,
                              std::vector<std::string> plugins) {
        ConnectOptions options;
        options.transport = transport_of(transport);
        options.timeout = to_ms(timeout);
        options.plugins = std::move(plugins);
        return Runtime::get().submit([node = node.ptr, peer = peer_of(destination), options]() mutable -> asio::awaitable<Deliver> {
            auto result = co_await auto_connect(*node, peer, std::move(options));
            co_return deliver_connect(std::move(result));
        });
    });
}

void bind_gate(py::module_& m) {
    py::class_<Held<Link>> link(m, "Link", "A conversation with one peer; closes when dropped.");
    def_messages(link, 30.0);
    link.def_property_readonly("plugin", [](Held<Link>& self) { return Runtime::get().call([&] { return self.ptr->plugin(); }); })
        .def_property_readonly("peer_id", [](Held<Link>& self) { return Runtime::get().call([&] { return self.ptr->peer_id(); }); });

    py::class_<Held<Gate>>(m, "Gate")
        .def_static("_open", [](std::string name, const NodeConfig& conf, const py::object& ip, std::optional<std::uint16_t> port) {
            GateOptions options;
            options.conf = conf;
            options.ips = ips_of(ip);
            options.port = port;
            return Runtime::get().submit([name = std::move(name), options]() mutable -> asio::awaitable<Deliver> {
                auto& runtime = Runtime::get();
                auto gate = co_await Gate::open(runtime.executor(), std::move(name), std::move(options));
                auto held = std::make_shared<Gate>(std::move(gate));
                runtime.track(held, [weak = std::weak_ptr<Gate>(held)] { return close_if_alive(weak); });
                co_return deliver_wrapped(std::move(held));
            });
        })
        .def("connect", [](Held<Gate>& self, const py::object& destination, const std::string& transport, double timeout) {
            LinkOptions options;
            options.transport = transport_of(transport);
            options.timeout = to_ms(timeout);
            return Runtime::get().submit([gate = self.ptr, peer = peer_of(destination), options]() mutable -> asio::awaitable<Deliver> {
                auto link = co_await gate->connect(peer, std::move(options));
                co_return deliver_wrapped(std::make_shared<Link>(std::move(link)));
            });
        }, py::arg("peer"), py::arg("transport") = "tcp", py::arg("timeout") = 10.0)
        .def("accept", [](Held<Gate>& self, double timeout) {
            return Runtime::get().submit([gate = self.ptr, ms = to_ms(timeout)]() -> asio::awaitable<Deliver> {
                auto link = co_await gate->accept(ms);
                co_return deliver_wrapped(std::make_shared<Link>(std::move(link)));
            });
        }, py::arg("timeout") = 30.0, "The next inbound Link; raises TimeoutError.")
        .def("close", [](Held<Gate>& self) {
            return Runtime::get().submit([gate = self.ptr]() -> asio::awaitable<Deliver> {
                co_await gate->close();
                co_return none();
            });
        })
        .def_property_readonly("name", [](Held<Gate>& self) { return self.ptr->name(); })
        .def("address", [](Held<Gate>& self) { return to_py(Runtime::get().call([&] { return self.ptr->node().address(); })); })
        .def("address_text", [](Held<Gate>& self) { return Runtime::get().call([&] { return self.ptr->address_text(); }); });
}

}  // namespace
}  // namespace warpgate::python

PYBIND11_MODULE(_warpgate, m) {
    using namespace warpgate;
    using namespace warpgate::python;
    m.doc() = "warpgate's C++ core; use the warpgate package";
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Exception&) {
            auto error = python_error(p);
            PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
        }
    });
    // A library's log goes to stderr, warnings and worse unless the program asks for more.
    spdlog::set_default_logger(warpgate::logger());  // the library's, on stderr
    spdlog::set_level(spdlog::level::warn);
    m.def("set_log_level", [](const std::string& level) {
        auto parsed = spdlog::level::from_str(level);
        if (parsed == spdlog::level::off && level != "off") throw Exception(Errc::config, "unknown log level '" + level + "'");
        spdlog::set_level(parsed);
    }, py::arg("level"), "trace, debug, info, warning, error, critical or off (default: warning)");
    m.attr("IP4") = to_py(IP4);
    m.attr("IP6") = to_py(IP6);
    bind_config(m);
    bind_node(m);
    bind_gate(m);
    m.def("_shutdown", [] { Runtime::get().shutdown(); }, "atexit: closes what is still open and joins the io thread.");
}

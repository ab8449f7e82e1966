"""The seed's Node examples (../shared/spec/nodes.md) against the C++ core on loopback."""
import asyncio
import contextlib
import socket
import time

import pytest

import warpgate
from warpgate import (IP4, NODE_CONF, NODE_TEST_CONF, ConfigError, Node, NodeConfig, auto_connect,
                      dict_child)

from warpgate.errors import AddressInUseError

from conftest import HERE, last_json_line, run_python


def local_node(conf, **kw):
    return Node(conf=conf, ip="127.0.0.1", port=0, **kw)


@contextlib.asynccontextmanager
async def started_pair(conf):
    """A started server node and a started client node, closed on exit."""
    async with local_node(conf) as server, local_node(conf, identity="client") as client:
        await server.start()
        await client.start()
        yield server, client


def test_start_returns_the_node_with_its_address(conf):
    async def main():
        node = await local_node(conf).start()
        try:
            assert isinstance(node, Node) and node.started
            addr = node.address()
            assert isinstance(addr, bytes) and len(addr) > 33
            assert node.address_text().startswith("wg1")
            assert len(node.node_id) == 25 and node.listen_port > 0
            names = [name for name, _, _ in node.phases()]
            assert names[0] == "load_network_interfaces" and "listen_on_ifs" in names
        finally:
            await node.close()
    asyncio.run(main())


def test_start_prints_progress_when_asked(conf):
    async def main():
        lines = []
        node = await local_node(conf).start(cout=lines.append)
        await node.close()
        assert any("listen_on_ifs" in line for line in lines), lines
    asyncio.run(main())


def test_supported_lists_the_families_listened_on(conf):
    async def main():
        async with local_node(conf) as node:
            await node.start()
            assert node.supported() == [IP4] and IP4 == socket.AF_INET
    asyncio.run(main())


def test_address_in_a_file_and_auto_connect_from_another_process(conf, tmp_path):
    async def main():
        seen = []

        async def on_message(msg, client_tup, pipe):
            seen.append((msg, client_tup))
            await pipe.send(b"echo: " + msg)

        async with local_node(conf) as node:
            await node.start()
            node.add_msg_cb(on_message)
            addr_file = tmp_path / "my_addr.bin"
            with open(addr_file, "wb") as f:
                f.write(node.address())
            rc, out, err = await run_python(HERE / "peer.py", addr_file, tmp_path / "peer", "from another process")
        assert rc == 0, err
        result = last_json_line(out)
        assert result["reply"] == "echo: from another process"
        assert result["plugin"] == "direct_connect"
        assert seen == [(b"from another process", tuple(result["local"]))]
    asyncio.run(main())


def test_add_msg_cb_takes_sync_and_async_callbacks(conf):
    async def main():
        got_sync, got_async = asyncio.Queue(), asyncio.Queue()

        def on_sync(msg, client_tup, pipe):
            got_sync.put_nowait(msg)

        async def on_async(msg, client_tup, pipe):
            await asyncio.sleep(0)
            got_async.put_nowait((msg, client_tup[0], pipe.transport))

        async with started_pair(conf) as (server, client):
            server.add_msg_cb(on_sync)
            server.add_msg_cb(on_async)
            for transport in ("tcp", "udp"):
                pipe, report = await auto_connect(client, server.address(), transport=transport)
                assert pipe.transport == transport and pipe.encrypted and pipe.peer_node_id == server.node_id
                await pipe.send(transport)
                assert await asyncio.wait_for(got_sync.get(), 5) == transport.encode()
                assert await asyncio.wait_for(got_async.get(), 5) == (transport.encode(), "127.0.0.1", transport)
                pipe.close()
    asyncio.run(main())


def test_close_and_the_context_manager_form(conf):
    async def main():
        async with local_node(conf, identity="client") as client:
            await client.start()
            async with local_node(conf) as node:
                await node.start()
                addr = node.address()
                pipe, _ = await auto_connect(client, addr)
                assert pipe.is_open
            # node.close() ran on exit: its pipe ended and nobody answers at its address
            with pytest.raises(warpgate.ClosedError):
                await pipe.recv(timeout=5)
            with pytest.raises(ConnectionError):
                await auto_connect(client, addr, timeout=2)
            await node.close()  # idempotent
    asyncio.run(main())


def test_node_conf_names_and_dict_child_overrides(conf, tmp_path):
    assert NODE_CONF["enable_upnp"] is True and NODE_CONF["sig_pipe_no"] == 1
    assert NODE_TEST_CONF["enable_upnp"] is False and NODE_TEST_CONF["sig_pipe_no"] == 0
    my_conf = dict_child({"enable_upnp": True}, NODE_TEST_CONF)
    assert isinstance(my_conf, NodeConfig) and my_conf["enable_upnp"] is True
    assert NODE_TEST_CONF["enable_upnp"] is False, "the parent is unchanged"
    assert my_conf.to_dict() == {**NODE_TEST_CONF.to_dict(), "enable_upnp": True}
    assert dict_child({"a": 2}, {"a": 1, "b": 1}) == {"a": 2, "b": 1}
    with pytest.raises(ConfigError, match="enable_upnpp"):
        dict_child({"enable_upnpp": True}, NODE_TEST_CONF)
    with pytest.raises(ConfigError, match="sig_pipe_no"):
        dict_child({"sig_pipe_no": "one"}, NODE_TEST_CONF)

    # An override reaches the C++ node: plaintext links when encrypt_links is off.
    async def main():
        async with started_pair(dict_child({"encrypt_links": False}, conf)) as (server, client):
            pipe, _ = await auto_connect(client, server.address())
            assert not pipe.encrypted
    asyncio.run(main())


def test_cpp_errors_arrive_as_python_exceptions_with_the_message(conf):
    async def main():
        async with started_pair(conf) as (server, client):
            with pytest.raises(warpgate.Error, match="bad peer address"):
                await auto_connect(client, b"\x02not an address")
            pipe, _ = await auto_connect(client, server.address())
            with pytest.raises(TimeoutError, match="no message within"):  # the built-in, too
                await pipe.recv(timeout=0.1)
            with pytest.raises(ConfigError, match="no_such_plugin"):
                await auto_connect(client, server.address(), plugins=["no_such_plugin"])
            with pytest.raises(AddressInUseError):
                await Node(conf=conf, ip="127.0.0.1", port=server.listen_port, identity="third").start()
    asyncio.run(main())


def test_cancelling_the_task_cancels_the_cpp_receive(conf):
    async def main():
        async with started_pair(conf) as (server, client):
            server.add_msg_cb(lambda msg, tup, pipe: asyncio.ensure_future(pipe.send(msg)))
            pipe, _ = await auto_connect(client, server.address())
            waiting = asyncio.ensure_future(pipe.recv(timeout=30))
            await asyncio.sleep(0.1)
            began = time.monotonic()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert time.monotonic() - began < 1
            # The cancelled C++ receive is gone: the echo goes to the next one, not to it.
            await pipe.send(b"after the cancel")
            assert await pipe.recv(timeout=5) == b"after the cancel"
    asyncio.run(main())


def test_the_gil_is_free_while_python_waits_for_cpp(conf):
    async def main():
        got = []
        async with started_pair(conf) as (server, client):
            server.add_msg_cb(lambda msg, tup, pipe: got.append(msg))
            pipe, _ = await auto_connect(client, server.address())
            sends = [pipe.send(b"%d" % i) for i in range(200)]
            # Synchronous calls wait for the io thread, which meanwhile needs the GIL to hand each
            # message to the loop: holding the GIL while waiting would deadlock here.
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                assert server.supported() == [IP4]
            await asyncio.gather(*sends)
            for _ in range(250):
                if len(got) == 200:
                    break
                await asyncio.sleep(0.02)
            assert sorted(got, key=int) == [b"%d" % i for i in range(200)]
    asyncio.run(main())


def test_a_program_that_exits_without_closing_ends_promptly(tmp_path):
    async def main():
        began = time.monotonic()
        rc, out, err = await run_python(HERE / "exit_open.py", tmp_path, timeout=20)
        return rc, out, err, time.monotonic() - began
    rc, out, err, took = asyncio.run(main())
    assert rc == 0, err
    assert out.strip() == "open"
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert took < 10

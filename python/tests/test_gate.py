"""Gate and Link between a Python process and the C++ CLI (`warpgate listen`, `warpgate connect`)."""
import asyncio
import json
import os

import pytest

from warpgate import Gate, Link, TimeoutError

from conftest import wait_for_file


def cli_config(tmp_path):
    path = tmp_path / "conf.json"
    path.write_text(json.dumps({"preset": "test", "install_path": str(tmp_path / "cli")}))
    return path


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_gate_links_to_the_cpp_listener(conf, cli, tmp_path, transport):
    async def main():
        addr_file = tmp_path / "listener.addr"
        listener = await asyncio.create_subprocess_exec(
            cli, "listen", "--config", str(cli_config(tmp_path)), "--ip", "127.0.0.1", "--port", "0", "--echo",
            "--addr-out", str(addr_file), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            await wait_for_file(addr_file)
            async with Gate("python", conf=conf, ip="127.0.0.1", port=0) as gate:
                link = await gate.connect(addr_file.read_text().strip(), transport=transport)
                assert isinstance(link, Link) and link.plugin == "direct_connect"
                assert link.transport == transport and link.encrypted and len(link.peer_id) == 25
                for message in (b"hello from python", "text too"):
                    await link.send(message)
                    reply = await link.recv(timeout=5)
                    assert reply == (message if isinstance(message, bytes) else message.encode())
                link.close()
                assert not link.is_open
        finally:
            listener.terminate()
            _, err = await asyncio.wait_for(listener.communicate(), 10)
        assert listener.returncode == 0, err.decode()
    asyncio.run(main())


def test_the_cpp_cli_connects_to_a_python_gate(conf, cli, tmp_path):
    async def main():
        async with Gate("python", conf=conf, ip="127.0.0.1", port=0) as gate:
            addr_file = tmp_path / "gate.addr"
            addr_file.write_text(gate.address_text())
            assert gate.address() and gate.name == "python"

            async def echo_one():
                link = await gate.accept(timeout=20)
                await link.send(await link.recv(timeout=5))
                return link

            accepting = asyncio.ensure_future(echo_one())
            connect = await asyncio.create_subprocess_exec(
                cli, "connect", f"@{addr_file}", "--config", str(cli_config(tmp_path)), "--ip", "127.0.0.1",
                "--port", "0", "--send", "to a python gate", "--json", stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(connect.communicate(), 30)
            assert connect.returncode == 0, err.decode()
            assert json.loads(out)["reply"] == "to a python gate"
            link = await accepting
            assert link.plugin == "inbound"
            with pytest.raises(TimeoutError):
                await gate.accept(timeout=0.1)
    asyncio.run(main())


def test_a_gate_must_be_open_first(conf):
    with pytest.raises(AttributeError, match="not open"):
        Gate("closed", conf=conf).connect

"""Node, auto_connect and Gate with the original's asyncio idioms over the C++ core."""
from . import _warpgate
from .config import NODE_CONF, as_config

Pipe = _warpgate.Pipe
Link = _warpgate.Link


class Node(_warpgate.Node):
    """node = await Node(conf=NODE_TEST_CONF, ip="127.0.0.1").start()

    ip: one address or a list to listen on (all interfaces when None); port: None derives it
    from the machine id, 0 takes any free port; identity: the key file's name."""

    def __init__(self, ip=None, port=None, conf=NODE_CONF, identity="node"):
        super().__init__(ip=ip, port=port, conf=as_config(conf), identity=identity)

    async def start(self, out=False, cout=None):
        """Runs the start phases in order; returns self. out=True prints progress, cout=f
        calls f(line) instead."""
        await self._start(cout if cout is not None else (print if out else None))
        return self

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


async def auto_connect(node, addr, transport="tcp", timeout=10.0, plugins=()):
    """Races every traversal plugin to the peer at `addr` (address bytes or "wg1..." text).
    Returns (pipe, report) where report names the winning plugin and attempt."""
    return await _warpgate._auto_connect(node, addr, transport, timeout, list(plugins))


class Gate:
    """async with Gate("alice", conf=NODE_TEST_CONF, ip="127.0.0.1") as gate: ...

    A node with a stable identity derived from `name`, started on entry and closed on exit;
    connect() gives outbound Links, accept() inbound ones."""

    def __init__(self, name="default", conf=NODE_CONF, ip=None, port=None):
        self._args = (name, as_config(conf), ip, port)
        self._gate = None

    async def open(self):
        self._gate = await _warpgate.Gate._open(*self._args)
        return self

    async def close(self):
        if self._gate is not None:
            await self._gate.close()

    async def __aenter__(self):
        return await self.open()

    async def __aexit__(self, *exc):
        await self.close()

    def __getattr__(self, name):  # connect, accept, address, address_text, name
        if self.__dict__.get("_gate") is None:
            raise AttributeError(f"Gate.{name}: the gate is not open (await gate.open() or use async with)")
        return getattr(self._gate, name)

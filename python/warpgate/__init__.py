"""warpgate: NAT traversal for asyncio, on the C++ core.

    node = await Node(conf=NODE_TEST_CONF).start()
    pipe, _ = await auto_connect(node, peer_addr)
"""
import atexit

from . import _warpgate
from ._warpgate import IP4, IP6, NodeConfig, set_log_level
from .config import NODE_CONF, NODE_TEST_CONF, dict_child
from .errors import ClosedError, ConfigError, Error, TimeoutError, UnreachableError
from .node import Gate, Link, Node, Pipe, auto_connect

# Closes what the program left open and joins the C++ io thread before the interpreter ends.
atexit.register(_warpgate._shutdown)

__all__ = ["Node", "Pipe", "auto_connect", "Gate", "Link", "NodeConfig", "NODE_CONF", "NODE_TEST_CONF",
           "dict_child", "IP4", "IP6", "set_log_level", "Error", "TimeoutError", "ClosedError", "UnreachableError", "ConfigError"]

"""Another process for the tests: reads a node address from a file, auto_connects to it, sends
one message, and prints {"reply", "plugin", "local"} as JSON."""
import asyncio
import json
import sys

from warpgate import NODE_TEST_CONF, Node, auto_connect, dict_child


async def main(addr_file, install_path, message):
    conf = dict_child({"install_path": install_path}, NODE_TEST_CONF)
    async with Node(conf=conf, ip="127.0.0.1", port=0) as node:
        await node.start()
        with open(addr_file, "rb") as f:
            peer_addr = f.read()
        pipe, report = await auto_connect(node, peer_addr)
        await pipe.send(message.encode())
        reply = await pipe.recv(timeout=5)
        print(json.dumps({"reply": reply.decode(), "plugin": report["plugin"], "local": list(pipe.local_endpoint)}))


asyncio.run(main(*sys.argv[1:4]))

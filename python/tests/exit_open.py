"""Exits without closing anything: a started node, a live pipe, a receive still waiting and a
node kept in a global past the event loop. The process must end promptly and quietly."""
import asyncio
import sys

from warpgate import NODE_TEST_CONF, Node, auto_connect, dict_child

kept = []


async def close_later(node):
    await asyncio.sleep(30)
    await node.close()


async def main(install_path):
    conf = dict_child({"install_path": install_path}, NODE_TEST_CONF)
    a = await Node(conf=conf, ip="127.0.0.1", port=0).start()
    b = await Node(conf=conf, ip="127.0.0.1", port=0, identity="b").start()
    pipe, _ = await auto_connect(a, b.address())
    kept.extend([a, b, pipe])
    asyncio.ensure_future(pipe.recv(timeout=60))  # a bare future still waiting when the loop ends
    asyncio.create_task(close_later(b))  # and a task, which asyncio.run cancels
    print("open", flush=True)


asyncio.run(main(sys.argv[1]))

#!/usr/bin/env python3
"""connect-to-first-echo from Python: auto_connect, one 32-byte message, its echo; the median
over --repetitions (the first run warms caches and is not counted), next to the C++ figure in
bench/results.json. The echoing peer is a second Python node (add_msg_cb), as the C++ bench's
second node, or with --listen CLI the C++ `warpgate listen --echo`.

    PYTHONPATH=build/python python3 python/bench_connect.py [--listen build/apps/warpgate]
"""
import argparse
import asyncio
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
# This folder holds the package's sources, not the built extension: import the PYTHONPATH one.
if sys.path and pathlib.Path(sys.path[0]).resolve() == HERE:
    del sys.path[0]
from warpgate import NODE_TEST_CONF, Node, auto_connect, dict_child  # noqa: E402

RESULTS = HERE.parent / "bench" / "results.json"


def cpp_figure(transport):
    name = f"connect() to first echo, {transport.upper()}, encrypted"
    try:
        return next(f["value"] for f in json.loads(RESULTS.read_text()) if f["figure"] == name)
    except (OSError, StopIteration, ValueError):
        return None


async def python_echo_peer(conf):
    node = await Node(conf=conf, ip="127.0.0.1", port=0, identity="echo").start()

    async def echo(msg, client_tup, pipe):
        await pipe.send(msg)

    node.add_msg_cb(echo)
    return node, node.address()


def cpp_echo_peer(cli, folder):
    config = folder / "conf.json"
    config.write_text(json.dumps({"preset": "test", "install_path": str(folder / "cli")}))
    addr_file = folder / "listener.addr"
    proc = subprocess.Popen([cli, "listen", "--config", str(config), "--ip", "127.0.0.1", "--port", "0", "--echo",
                             "--addr-out", str(addr_file)], stdout=subprocess.DEVNULL)
    for _ in range(500):
        if addr_file.exists():
            return proc, addr_file.read_text().strip()
        time.sleep(0.02)
    proc.kill()
    raise SystemExit("the listener wrote no address")


async def connect_first_echo_ms(node, peer_addr, transport, repetitions):
    hello = b"x" * 32
    samples = []
    for i in range(repetitions + 1):
        began = time.perf_counter()
        pipe, _ = await auto_connect(node, peer_addr, transport=transport, timeout=5)
        await pipe.send(hello)
        if await pipe.recv(timeout=5) != hello:
            raise SystemExit("the echo differs")
        if i > 0:
            samples.append((time.perf_counter() - began) * 1000)
        pipe.close()
    return statistics.median(samples)


async def bridge_round_trip_us(conf, repetitions):
    """One awaited C++ call that does nothing (closing a closed node): the asyncio <-> io thread hops."""
    node = Node(conf=conf, ip="127.0.0.1", port=0, identity="idle")
    await node.close()
    samples = []
    for _ in range(repetitions):
        began = time.perf_counter()
        await node.close()
        samples.append((time.perf_counter() - began) * 1e6)
    return statistics.median(samples)


async def main(args):
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        conf = dict_child({"install_path": str(folder)}, NODE_TEST_CONF)
        listener = None
        if args.listen:
            listener, peer_addr = cpp_echo_peer(args.listen, folder)
            peer = None
        else:
            peer, peer_addr = await python_echo_peer(conf)
        try:
            async with Node(conf=conf, ip="127.0.0.1", port=0) as node:
                await node.start()
                for transport in ("tcp", "udp"):
                    median = await connect_first_echo_ms(node, peer_addr, transport, args.repetitions)
                    print(json.dumps({"figure": f"Python connect() to first echo, {transport.upper()}, encrypted",
                                      "peer": "C++ warpgate listen" if listener else "Python node",
                                      "unit": "ms", "value": round(median, 3), "cpp_value": cpp_figure(transport)}))
            print(json.dumps({"figure": "Python await of a no-op C++ call (bridge round trip)", "unit": "us",
                              "value": round(await bridge_round_trip_us(conf, 20 * args.repetitions), 1)}))
        finally:
            if peer:
                await peer.close()
            if listener:
                listener.terminate()
                listener.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=50)
    parser.add_argument("--listen", metavar="CLI", help="echo from the C++ `warpgate listen` at this path")
    asyncio.run(main(parser.parse_args()))

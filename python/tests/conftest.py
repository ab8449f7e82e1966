"""Shared pieces: a test config whose keys live in the test's own folder, the C++ CLI's path,
and running a Python helper process with the same package on its path."""
import asyncio
import json
import os
import pathlib
import sys

import pytest

from warpgate import NODE_TEST_CONF, dict_child

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture
def conf(tmp_path):
    """NODE_TEST_CONF with the keys under the test's temporary folder."""
    return dict_child({"install_path": str(tmp_path)}, NODE_TEST_CONF)


@pytest.fixture
def cli():
    """The C++ `warpgate` binary (WARPGATE_CLI, set by CTest)."""
    path = os.environ.get("WARPGATE_CLI", "")
    if not path or not os.access(path, os.X_OK):
        pytest.skip(f"the warpgate CLI is not built (WARPGATE_CLI={path!r})")
    return path


async def run_python(*args, timeout=30):
    """Runs `python3 <args>` as another process; returns (returncode, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(sys.executable, *map(str, args), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE, env=dict(os.environ))
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode, out.decode(), err.decode()


async def wait_for_file(path, timeout=10):
    for _ in range(int(timeout / 0.02)):
        if path.exists() and path.stat().st_size > 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def last_json_line(text):
    return json.loads(text.strip().splitlines()[-1])

"""Message callbacks, run on the asyncio loop that registered them (the C++ side queues them
there with call_soon_threadsafe)."""
import asyncio
import inspect

# Tasks of running async callbacks: asyncio keeps only weak references to tasks.
_running = set()


def run_msg_cb(callback, msg, client_tup, pipe):
    try:
        result = callback(msg, client_tup, pipe)
    except Exception as error:  # a callback's failure must not end the node's other callbacks
        _report(error, callback)
        return
    if not inspect.isawaitable(result):
        return
    task = asyncio.ensure_future(result)
    _running.add(task)
    task.add_done_callback(_finished)


def _finished(task):
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _report(task.exception(), task)


def _report(error, source):
    asyncio.get_running_loop().call_exception_handler(
        {"message": "warpgate message callback failed", "exception": error, "source": source})

"""CPU-heavy or blocking calls (argon2, Pillow) off the event loop, a few at a time, and
behind the work that answers requests.

On the loop, one password hash (~0.1 s) or one photo resize stalls every request of the
process, /healthz included; in unbounded threads, a burst of them takes all the memory
(argon2 asks 64 MiB a hash, a large PNG hundreds of MB). `run` gives them `threads()`
threads of their own; callers queue for one, the loop stays free.

On Linux those threads run at the lowest priority (nice 19; argon2's own threads
inherit it): otherwise 4 hashes of 4 lanes each take the cores from the event loop and
from PostgreSQL, and /healthz waited seconds for its `SELECT 1` although the loop was
free (bench/healthz_bench.py). A login then waits for the cores the requests leave, which
a server that is not saturated has. They are threads of their own, not anyio's or
asyncio's shared ones, which must keep their priority.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

# One thread per core, up to 4 (each argon2 hash already runs 4 lanes in threads).
DEFAULT_THREADS = min(4, os.cpu_count() or 1)
NICENESS = 19
_threads = DEFAULT_THREADS
_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_running = 0
_waiting = 0


def configure(threads: int) -> None:
    """The pool's size (the CPU_THREADS setting, 0 for the default); calls already
    running finish."""
    global _threads, _executor
    with _lock:
        _threads = threads if threads > 0 else DEFAULT_THREADS
        old, _executor = _executor, None
    if old is not None:
        old.shutdown(wait=False)


def threads() -> int:
    return _threads


def statistics() -> tuple[int, int]:
    """(calls running, calls waiting for a thread)."""
    return _running, _waiting


def _lower_priority() -> None:
    if sys.platform == "linux":  # per thread there (elsewhere it would be the process)
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
        except OSError:
            pass


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=_threads, thread_name_prefix="cpu", initializer=_lower_priority
            )
        return _executor


async def run(fn: Callable[..., T], *args, **kwargs) -> T:
    """`fn(*args, **kwargs)` in a thread of the pool; its result or its error. Cancelled
    while it waits for a thread, it never runs."""
    global _waiting
    state = ["waiting"]

    def call() -> T:
        global _running, _waiting
        with _lock:
            if state[0] == "waiting":
                _waiting -= 1
            state[0] = "running"
            _running += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with _lock:
                _running -= 1

    with _lock:
        _waiting += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(_pool(), call)
    finally:
        with _lock:
            if state[0] == "waiting":  # cancelled before a thread took it
                _waiting -= 1
                state[0] = "abandoned"

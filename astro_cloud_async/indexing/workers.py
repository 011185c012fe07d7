"""The worker processes of an index run: how they start.

Strategy: footprints are background work for a run whose event loop (and, in tests and
benchmarks, the server on the same machine) should keep the CPU it needs. So each worker runs
with a lower priority (``nice`` 10 more than the run: it gets the cycles nothing else wants,
which on a machine with a core to spare is all it needs), set by the run as soon as the process
exists, so that even its start (an interpreter, numpy) yields; and it ignores SIGINT (a
terminal's Ctrl-C reaches the whole process group; the run, not its workers, decides what an
interruption does, and they stop when it shuts the pool down); and it ends when the run's
process does, however that ends. Workers are spawned, not forked: the run's process has
threads. This module imports nothing of the package, so a worker loads only what its calls
need.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

__all__ = ["NICENESS", "start_pool", "start_worker"]

NICENESS = 10
"""How much lower than the run's a worker's priority is."""


def _lower(pid: int, priority: int) -> None:
    with contextlib.suppress(OSError):  # gone already, or a system that refuses it
        if os.getpriority(os.PRIO_PROCESS, pid) < priority:
            os.setpriority(os.PRIO_PROCESS, pid, priority)


def _end_with(parent: multiprocessing.process.BaseProcess) -> None:
    multiprocessing.connection.wait([parent.sentinel])  # ready when the run's process ends
    os._exit(0)


def start_worker(priority: int) -> None:
    """Run first in each worker process: ignore SIGINT, take the lower ``priority``, and end
    with the run's process, even one killed outright (a pool's workers otherwise outlive it,
    waiting for work that never comes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _lower(0, priority)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent,), name="end-with-run", daemon=True).start()


def start_pool(
    workers: int, first: Callable[..., Any], *args: Any
) -> tuple[ProcessPoolExecutor, Future[Any]]:
    """A pool of ``workers`` processes started by :func:`start_worker`, and the future of
    ``first(*args)``, submitted at once so that a worker starts now (raises here when no
    process can start, e.g. a main module without a main guard, re-run by the worker)."""
    priority = min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICENESS)
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=start_worker,
        initargs=(priority,),
    )
    before = {child.pid for child in multiprocessing.active_children()}
    future = pool.submit(first, *args)
    for child in multiprocessing.active_children():
        if child.pid not in before and child.pid is not None:
            _lower(child.pid, priority)
    return pool, future

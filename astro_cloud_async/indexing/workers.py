"""The footprint worker processes of an index run: how they start, take work and end.

Strategy: footprints are background work for a run whose event loop (and, in tests and
benchmarks, the server on the same machine) should keep the CPU it needs. So each worker is a
child interpreter running :mod:`astro_cloud_async.sky.worker`, which loads numpy and the
footprint code and nothing else (a ``multiprocessing`` worker would import the run's main
module and its packages again: several times the CPU, spent just as the scan starts). It runs
with a lower priority (``nice`` 10 more than the run: it gets the cycles nothing else wants),
set by the run as soon as the process exists and by the worker itself; it is in a session of
its own, so a terminal's Ctrl-C reaches the run alone (the run decides what an interruption
does), and it ends at the end of its input: when the run closes it, or when the run's process
dies however it dies.

The run talks to it through pipes driven by its own event loop (no thread of the run's process
takes the GIL to feed or read a worker): a batch goes out as one frame on the worker's stdin,
and its columns come back as one frame on its stdout, in order. A worker that ends while it
holds batches fails them with :class:`~concurrent.futures.process.BrokenProcessPool`, and the
run computes them itself.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import pickle
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..sky.worker import FRAME, encode_frame

__all__ = ["NICENESS", "WORKER_MODULE", "WorkerProcess", "Workers", "start_workers"]

NICENESS = 10
"""How much lower than the run's a worker's priority is."""

WORKER_MODULE = "astro_cloud_async.sky.worker"


def _lower(pid: int, priority: int) -> None:
    with contextlib.suppress(OSError):  # gone already, or a system that refuses it
        if os.getpriority(os.PRIO_PROCESS, pid) < priority:
            os.setpriority(os.PRIO_PROCESS, pid, priority)


class WorkerProcess:
    """One worker process and the batches it holds (answered in the order they were sent)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._waiting: collections.deque[asyncio.Future[list[Any]]] = collections.deque()
        self.ended: str | None = None
        """Why the worker can take no more batches (None while it can)."""
        self._reader = asyncio.ensure_future(self._read())

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def load(self) -> int:
        """Batches sent and not answered yet."""
        return len(self._waiting)

    def call(self, jobs: Sequence[Any]) -> asyncio.Future[list[Any]]:
        """Send one batch; the future gives its columns (or raises ``BrokenProcessPool``)."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        stdin = self.process.stdin
        if self.ended is not None or stdin is None or stdin.is_closing():
            future.set_exception(BrokenProcessPool(self.ended or "the worker's input is closed"))
            return future
        stdin.write(encode_frame(list(jobs)))
        self._waiting.append(future)
        return future

    async def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        why = f"worker process {self.pid} ended: killed, or out of memory?"
        try:
            while True:
                head = await stdout.readexactly(FRAME.size)
                (size,) = FRAME.unpack(head)
                ok, value = pickle.loads(await stdout.readexactly(size))
                if not self._waiting:
                    why = f"worker process {self.pid} answered a batch it was not sent"
                    break
                future = self._waiting.popleft()
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(
                        BrokenProcessPool(f"a batch failed in worker process {self.pid}: {value}")
                    )
        except Exception:  # the worker ended (killed, out of memory) or wrote no frame
            pass  # whatever broke the conversation, the batches it holds fail below: none hangs
        self._end(why)

    def _end(self, why: str) -> None:
        if self.ended is None:
            self.ended = why
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(BrokenProcessPool(self.ended))

    async def close(self, timeout: float = 5.0) -> None:
        """Close the worker's input and wait for it to end (killed after ``timeout`` s)."""
        stdin = self.process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        finally:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._end(f"worker process {self.pid} was closed")


class Workers:
    """The run's worker processes: each batch goes to the one holding the fewest."""

    def __init__(self, processes: Sequence[WorkerProcess]) -> None:
        self.processes = list(processes)

    def call(self, jobs: Sequence[Any]) -> asyncio.Future[list[Any]]:
        live = [p for p in self.processes if p.ended is None] or self.processes
        return min(live, key=lambda p: p.load).call(jobs)

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.processes))


def _environment() -> dict[str, str]:
    """The run's environment, with this package's folder first on the worker's path (it is
    found there however the run found it: installed, or a checkout on ``sys.path``)."""
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


async def start_workers(count: int) -> Workers:
    """Start ``count`` worker processes (each loads numpy and the footprint code at once,
    while the run goes on). Raises ``OSError`` when no process can start here."""
    priority = min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICENESS)
    processes = []
    try:
        for _ in range(max(1, count)):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                WORKER_MODULE,
                str(priority),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,
                env=_environment(),
            )
            _lower(process.pid, priority)
            processes.append(WorkerProcess(process))
    except BaseException:
        await Workers(processes).close()
        raise
    return Workers(processes)

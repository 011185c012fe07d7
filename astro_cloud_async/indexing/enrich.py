"""Columns an index run adds to each object after its headers are read: footprints and data
checksums.

Strategy: neither may slow the scan, whose event loop is the busiest part of a run.

Footprints are CPU work, and most of it is reading the WCS numbers out of the cards, so the
loop does only what is tiny: per header that may hold a celestial WCS (two axes and a CTYPE1),
it takes the few cards the numpy path reads, unread, as one string
(:func:`~astro_cloud_async.sky.footprints.footprint_job`: which cards depends only on the
header's keywords, looked up once per layout; about 7 microseconds a TESS header). Those go
into the current batch, and a batch goes to a worker process in one call when it holds
``batch_hdus`` headers (or ``batch_objects`` objects), or ``batch_seconds`` after its first
header. The worker reads the values, projects the whole batch in numpy and gives astropy what
the numpy path does not do (:func:`~astro_cloud_async.sky.footprints.footprint_columns_of_jobs`);
a header whose cards turn out not to decide comes back and goes again whole, in the next batch.
Sending a batch costs the loop's process a few microseconds a header (pickling the cards,
unpickling the columns), about a tenth of computing it there; see ``docs/answers.md`` for the
figures. The workers (:mod:`.workers`: child interpreters at a lower priority, fed through
pipes by the loop itself) start with the run, importing numpy and the projection while the
scan begins. At most ``in_flight`` batches are with the workers; the others wait in a queue.

At most ``max_pending`` objects wait at once, which bounds memory. When that many are pending
and one more comes, the loop computes the oldest queued batch itself rather than make the scan
wait (the workers are still starting, or cannot keep up); only when no batch is queued does the
scan wait. Reading the data for ``verify_data`` is I/O through the client's pool, one task per
object.

An object goes to ``sink`` with its extra columns as soon as all of them are known: the objects
of one batch together, in the order they came; so objects reach the catalog in completion
order, which the catalog does not mind.

A worker that ends early (killed, out of memory) loses nothing: from then on the loop computes
every batch itself, the batches that were with the worker included, and the run ends with a
``RuntimeWarning`` saying so. (The workers never import the run's main module, so a script
without ``if __name__ == "__main__":`` runs as well as one with it.)

At the end of a run the batch being filled is sent and every pending batch and task is waited
for. On an interruption they are given a few seconds; an object still waiting then is left out
of the catalog (and of the counts), and a resumed run reads it again.
"""

from __future__ import annotations

import asyncio
import collections
import os
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any

from ..audit.data import verify_data
from ..client import Client
from ..errors import AstroCloudError, ConfigurationError
from ..records import HDURecord, ObjectFailed
from ..sky.footprints import FootprintJob, footprint_columns_of_jobs, footprint_job
from .workers import Workers, start_workers

__all__ = ["BATCH_HDUS", "BATCH_SECONDS", "MAX_PENDING", "Enrichment", "Sink", "may_have_wcs"]

MAX_PENDING = 512
"""Objects waiting for their extra columns at most."""
BATCH_HDUS = 64
"""Headers in a footprint batch that send it at once."""
BATCH_SECONDS = 0.02
"""How long a footprint batch waits for more headers after its first."""

Sink = Callable[[tuple[HDURecord, ...] | ObjectFailed, Sequence[Mapping[str, Any]] | None], None]
"""Takes one whole object (or its failure) and its extra columns."""


def may_have_wcs(record: HDURecord) -> bool:
    """True when ``record``'s header could describe an image with a celestial WCS (two or
    more axes and a CTYPE1); cheap, so only those headers travel to the workers."""
    header = record.header
    naxis = header.get("ZNAXIS" if header.get("ZIMAGE") is True else "NAXIS")
    return isinstance(naxis, int) and naxis >= 2 and "CTYPE1" in header


def _default_workers() -> int:
    return max(1, (os.cpu_count() or 2) - 1)


class _Pending:
    """One object on its way to the sink: its records, its columns so far, and how many
    jobs (a footprint batch, a data check) it still waits for."""

    __slots__ = ("extra", "failure", "records", "waiting")

    def __init__(self, records: tuple[HDURecord, ...]) -> None:
        self.records = records
        self.extra: list[dict[str, Any]] = [{} for _ in records]
        self.waiting = 0
        self.failure: ObjectFailed | None = None


class _Batch:
    """Footprint jobs that go to a worker in one call, and where their columns belong."""

    __slots__ = ("jobs", "objects", "places")

    def __init__(self) -> None:
        self.jobs: list[FootprintJob] = []
        self.places: list[tuple[_Pending, int]] = []
        """(object, record index) of each job."""
        self.objects: list[_Pending] = []


class Enrichment:
    """Footprints and data checksums for the objects of one run; an async context manager
    that owns its worker processes (unless ``executor`` is given: then batches go to it, and
    it is never shut down here)."""

    def __init__(
        self,
        client: Client,
        sink: Sink,
        *,
        footprints: bool,
        verify_data: bool,
        workers: int | None = None,
        max_pending: int = MAX_PENDING,
        batch_hdus: int = BATCH_HDUS,
        batch_objects: int | None = None,
        batch_seconds: float = BATCH_SECONDS,
        in_flight: int = 2,
        executor: Executor | None = None,
        drain_seconds: float = 5.0,
    ) -> None:
        self.client = client
        self.sink = sink
        self.footprints = footprints
        self.verify = verify_data
        self.workers = workers or _default_workers()
        self.batch_hdus = batch_hdus
        self.batch_objects = batch_objects or max(1, max_pending // 4)
        """Objects in a batch that send it (so that several batches fit in ``max_pending``)."""
        self.batch_seconds = batch_seconds
        self.drain_seconds = drain_seconds
        self._executor = executor
        self._workers: Workers | None = None
        """The run's own worker processes (when no ``executor`` is given)."""
        self._gate = asyncio.Semaphore(max_pending)
        self._batch = _Batch()
        self._queued: collections.deque[_Batch] = collections.deque()
        """Batches made, waiting for a worker."""
        self.in_flight = in_flight
        self._in_flight = 0
        self._timer: asyncio.TimerHandle | None = None
        self._jobs: set[asyncio.Task[None]] = set()
        self._error: BaseException | None = None
        self._broken: BrokenProcessPool | None = None
        """Why the worker pool stopped working (then the loop computes every batch)."""
        self.batches = 0
        """Batches made so far."""
        self.inline_batches = 0
        """Batches computed on the loop (see :meth:`submit`)."""

    @property
    def active(self) -> bool:
        return self.footprints or self.verify

    def __repr__(self) -> str:
        return (
            f"<Enrichment footprints={self.footprints} verify_data={self.verify} "
            f"filling={len(self._batch.jobs)} queued={len(self._queued)} "
            f"in_flight={self._in_flight} batches={self.batches} inline={self.inline_batches}>"
        )

    async def __aenter__(self) -> Enrichment:
        if self.footprints and self._executor is None and self._workers is None:
            try:
                self._workers = await start_workers(self.workers)
            except OSError as err:  # no process can be made here
                raise ConfigurationError(
                    f"footprints are computed in a worker process, and none can start here"
                    f" ({err}); index without --footprints"
                ) from err
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.drain(None if exc_type is None else self.drain_seconds)
        finally:
            workers, self._workers = self._workers, None
            if workers is not None:
                await workers.close()

    async def submit(self, item: tuple[HDURecord, ...] | ObjectFailed) -> None:
        """Take one object: its footprint headers join the current batch, its data check
        starts; an object that needs nothing (and every failure) goes to the sink at once.
        When ``max_pending`` objects are pending, a batch still waiting for a worker is
        computed here; only when there is none does the scan wait."""
        if isinstance(item, ObjectFailed) or not self.active:
            self.sink(item, None)
            return
        if self._gate.locked():
            self._relieve()
        await self._gate.acquire()
        pending = _Pending(item)
        if self.footprints:
            self._add_to_batch(pending)
        if self.verify:
            pending.waiting += 1
            self._track(self._verify(pending))
        if pending.waiting == 0:
            self._finish(pending)

    # --- footprints, in batches -------------------------------------------------------------

    def _add_to_batch(self, pending: _Pending) -> None:
        batch = self._batch
        added = False
        for i, record in enumerate(pending.records):
            if may_have_wcs(record):
                batch.jobs.append(footprint_job(record.header))
                batch.places.append((pending, i))
                added = True
        if added:
            pending.waiting += 1
            batch.objects.append(pending)
            self._batch_grown()

    def _batch_grown(self) -> None:
        batch = self._batch
        if len(batch.jobs) >= self.batch_hdus or len(batch.objects) >= self.batch_objects:
            self._send()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.batch_seconds, self._send)

    def _send(self) -> None:
        """Queue the batch being filled (nothing when it is empty) and send what the workers
        can take."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._batch = self._batch, _Batch()
        if batch.jobs:
            self.batches += 1
            self._queued.append(batch)
        self._pump()

    def _pump(self) -> None:
        """Send queued batches while fewer than ``in_flight`` are with the workers (or compute
        them here, once a worker has ended, or with no worker at all)."""
        while self._queued and self._in_flight < self.in_flight:
            batch = self._queued.popleft()
            sent: asyncio.Future[list[dict[str, Any] | None]]
            if self._broken is not None or (self._executor is None and self._workers is None):
                self._compute_here(batch)
                continue
            if self._workers is not None:
                sent = self._workers.call(batch.jobs)
            else:
                loop = asyncio.get_running_loop()
                try:
                    sent = loop.run_in_executor(
                        self._executor, footprint_columns_of_jobs, batch.jobs
                    )
                except BrokenProcessPool as err:
                    self._pool_broken(err)
                    self._queued.appendleft(batch)  # the next turn computes it here
                    continue
            self._in_flight += 1
            self._track(self._footprints(batch, sent))

    def _relieve(self) -> None:
        """Compute the oldest batch still waiting for a worker here, on the loop: the workers
        are behind (or still starting) and the scan would wait for them otherwise."""
        self._send()
        if self._queued:
            self._compute_here(self._queued.popleft())

    async def _footprints(
        self, batch: _Batch, sent: asyncio.Future[list[dict[str, Any] | None]]
    ) -> None:
        try:
            found = await sent
        except asyncio.CancelledError:
            self._in_flight -= 1
            raise
        except BrokenProcessPool as err:
            self._in_flight -= 1
            self._pool_broken(err)
            self._compute_here(batch)
            self._pump()
            return
        except Exception:
            self._in_flight -= 1
            self._pump()
            raise
        self._in_flight -= 1
        self._pump()
        self._batch_done(batch, found)

    def _compute_here(self, batch: _Batch) -> None:
        """Compute ``batch`` on the loop and finish its objects."""
        self.inline_batches += 1
        self._batch_done(batch, footprint_columns_of_jobs(batch.jobs))

    def _batch_done(self, batch: _Batch, found: Sequence[dict[str, Any] | None]) -> None:
        self._apply(batch, found)
        for pending in batch.objects:
            self._job_done(pending)

    def _pool_broken(self, err: BrokenProcessPool) -> None:
        if self._broken is None:
            self._broken = err

    def _apply(self, batch: _Batch, found: Sequence[dict[str, Any] | None]) -> None:
        """Put a batch's columns in place; the headers whose cards did not decide join the
        batch being filled, whole."""
        again = self._batch
        for (pending, i), columns in zip(batch.places, found, strict=True):
            if columns is None:
                again.jobs.append(pending.records[i].header.raw)
                again.places.append((pending, i))
                if not again.objects or again.objects[-1] is not pending:
                    pending.waiting += 1
                    again.objects.append(pending)
            else:
                pending.extra[i].update(columns)
        if again.jobs:
            self._batch_grown()

    # --- data checks, one task per object ---------------------------------------------------

    async def _verify(self, pending: _Pending) -> None:
        records = pending.records
        try:
            verdicts = await verify_data(self.client, records)
        except AstroCloudError as err:
            pending.failure = ObjectFailed(records[0].url, err.with_url(records[0].url), records)
        else:
            for row, verdict in zip(pending.extra, verdicts, strict=True):
                row.update(verdict)
        self._job_done(pending)

    # --- bookkeeping ------------------------------------------------------------------------

    def _track(self, job: Awaitable[object]) -> None:
        task = asyncio.ensure_future(self._guard(job))
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def _guard(self, job: Awaitable[object]) -> None:
        try:
            await job
        except Exception as err:  # a defect: raised again by drain()
            self._error = self._error or err

    def _job_done(self, pending: _Pending) -> None:
        pending.waiting -= 1
        if pending.waiting == 0:
            self._finish(pending)

    def _finish(self, pending: _Pending) -> None:
        self._gate.release()
        if pending.failure is not None:
            self.sink(pending.failure, None)
        else:
            self.sink(pending.records, pending.extra)

    async def drain(self, timeout: float | None = None) -> None:
        """Send the batch being filled and wait for every pending object (at most ``timeout``
        seconds: an interrupted run), then cancel what is left: those objects never reach the
        sink. Raises what a data check (or a defect) raised; a broken worker pool is not an
        error: the loop computed its batches, and a ``RuntimeWarning`` says so."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            self._send()  # the batch being filled, and whole headers a batch sent back
            if not self._jobs:
                break
            left = None if deadline is None else max(0.0, deadline - loop.time())
            _, late = await asyncio.wait(set(self._jobs), timeout=left)
            if late and deadline is not None and loop.time() >= deadline:
                self._queued.clear()
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
                break
        error, self._error = self._error, None
        if self._broken is not None and timeout is None:
            warnings.warn(
                f"footprints could not be computed in their worker ({self._broken}), so this"
                " process computed them itself; none is missing",
                RuntimeWarning,
                stacklevel=2,
            )
        if error is not None:
            raise error

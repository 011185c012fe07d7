"""Columns an index run adds to each object after its headers are read: footprints and data
checksums.

Strategy: neither may slow the scan. A plain TAN or TAN-SIP footprint costs some 40
microseconds in numpy and is computed here; any other WCS needs astropy (a millisecond or more
per HDU), so those headers go, as raw bytes, to a process pool in one call per object, and the
event loop only waits. Reading
the data for ``verify_data`` is I/O through the client's pool. Each object is enriched in a
task of its own, at most ``max_pending`` at once (when that many are pending, the scan waits,
which bounds memory), and the task hands the object with its extra columns to ``sink`` as it
completes. So objects reach the catalog in completion order, which the catalog does not mind.

At the end of a run every pending task is waited for. On an interruption they are given a few
seconds; an object whose task is still running then is left out of the catalog (and of the
counts), and a resumed run reads it again.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from types import TracebackType
from typing import Any

from ..audit.data import verify_data
from ..client import Client
from ..errors import AstroCloudError
from ..records import HDURecord, ObjectFailed
from ..sky.footprints import footprint_columns_of_raw, quick_footprint

__all__ = ["Enrichment", "Sink", "may_have_wcs"]

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


class Enrichment:
    """Footprints and data checksums for the objects of one run; an async context manager
    that owns its process pool (unless ``executor`` is given, which it never shuts down)."""

    def __init__(
        self,
        client: Client,
        sink: Sink,
        *,
        footprints: bool,
        verify_data: bool,
        workers: int | None = None,
        max_pending: int = 256,
        executor: Executor | None = None,
        drain_seconds: float = 5.0,
    ) -> None:
        self.client = client
        self.sink = sink
        self.footprints = footprints
        self.verify = verify_data
        self.workers = workers or _default_workers()
        self.drain_seconds = drain_seconds
        self._executor = executor
        self._own_executor = executor is None
        self._gate = asyncio.Semaphore(max_pending)
        self._pending: set[asyncio.Task[None]] = set()
        self._error: BaseException | None = None

    @property
    def active(self) -> bool:
        return self.footprints or self.verify

    async def __aenter__(self) -> Enrichment:
        return self

    def _start_pool(self) -> Executor:
        """The process pool, started when the first header needs astropy."""
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.drain(None if exc_type is None else self.drain_seconds)
        finally:
            if self._own_executor and self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None

    async def submit(self, item: tuple[HDURecord, ...] | ObjectFailed) -> None:
        """Enrich ``item`` in a task of its own (waiting while ``max_pending`` are pending);
        failures and objects that need nothing go to the sink at once."""
        if isinstance(item, ObjectFailed) or not self.active:
            self.sink(item, None)
            return
        await self._gate.acquire()
        task = asyncio.create_task(self._one(item))
        self._pending.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        self._gate.release()

    async def _one(self, records: tuple[HDURecord, ...]) -> None:
        try:
            extra = await self.columns(records)
        except AstroCloudError as err:
            self.sink(ObjectFailed(records[0].url, err.with_url(records[0].url), records), None)
            return
        except Exception as err:  # a broken worker pool, a defect: raised again by drain()
            self._error = self._error or err
            return
        self.sink(records, extra)

    async def columns(self, records: Sequence[HDURecord]) -> list[dict[str, Any]]:
        """The extra columns of one object's records."""
        extra: list[dict[str, Any]] = [{} for _ in records]
        jobs = []
        if self.footprints:
            jobs.append(self._footprints(records, extra))
        if self.verify:
            jobs.append(self._verify(records, extra))
        await asyncio.gather(*jobs)
        return extra

    async def _footprints(self, records: Sequence[HDURecord], extra: list[dict[str, Any]]) -> None:
        chosen = []
        for i, record in enumerate(records):
            if not may_have_wcs(record):
                continue
            quick = quick_footprint(record.header)
            if quick is not None:
                extra[i].update(quick.columns())
            else:
                chosen.append(i)
        if not chosen:
            return
        if self._executor is None:
            self._executor = self._start_pool()
        raws = [records[i].header.raw for i in chosen]
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(self._executor, footprint_columns_of_raw, raws)
        for i, columns in zip(chosen, found, strict=True):
            extra[i].update(columns)

    async def _verify(self, records: Sequence[HDURecord], extra: list[dict[str, Any]]) -> None:
        verdicts = await verify_data(self.client, records)
        for row, verdict in zip(extra, verdicts, strict=True):
            row.update(verdict)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the pending objects (at most ``timeout`` seconds), then cancel the rest."""
        pending = set(self._pending)
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout)
            for task in late:
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
        if self._error is not None:
            error, self._error = self._error, None
            raise error

"""The index job in this process, on one event loop: :func:`index`.

Strategy: one pass, streaming end to end. Sources (arguments, then URL-file lines) are pulled
one at a time and expanded (prefixes and folders listed) by the client; each object URL is
checked against what the catalog and failure report already hold (:mod:`.plan`) and passed to
the scan only when new, so a resumed run never fetches a finished object again and never
writes one twice. The scan's records are grouped into whole objects and handed to the catalog
writer, which makes a batch durable every ``batch_objects`` objects or ``flush_seconds``
seconds (see :mod:`astro_cloud_async.catalog.writers` for why a kill keeps every flushed
object). Failures go to the failure report at the same moments. Cancelling the task (Ctrl-C,
SIGTERM) ends the scan, keeps every whole object received, and returns a result marked
interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import AsyncIterator, Container, Iterable, Mapping, Sequence
from typing import Any

from ..catalog.failures import FailureEntry
from ..catalog.resume import url_key
from ..catalog.rows import agroup_objects
from ..client import Client
from ..errors import AstroCloudError, ConfigurationError
from ..pool.stats import PoolStats
from ..records import HDURecord, ObjectFailed
from .enrich import Enrichment
from .job import IndexJob, Reporter
from .plan import RunPlan
from .result import IndexResult
from .sources import asource_lines

__all__ = ["index"]

_TICK = 0.2
"""Seconds between two calls of the reporter (and checks of the flush interval)."""


class _Run:
    """The state of one run: the plan, the pending failures and the reporter."""

    def __init__(self, plan: RunPlan, reporter: Reporter | None):
        self.plan = plan
        self.counts = plan.counts
        self.reporter = reporter
        self.new_failures: list[FailureEntry] = []
        self._unflushed: list[FailureEntry] = []
        self.resolved: set[str] = set()
        """Keys of sources that expanded without error."""
        self.last_flush = time.monotonic()

    def take(
        self,
        item: tuple[HDURecord, ...] | ObjectFailed,
        extra: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        if isinstance(item, ObjectFailed):
            entry = FailureEntry.from_failure(item)
            self.new_failures.append(entry)
            self._unflushed.append(entry)
            self.counts.failed += 1
        else:
            self.plan.writer.add(item, extra)
            self.counts.objects += 1
            self.counts.hdus += len(item)
        if self.plan.writer.pending_objects + len(self._unflushed) >= self.plan.job.batch_objects:
            self.flush()

    def flush(self) -> None:
        self.plan.writer.flush()
        if self._unflushed:
            self.plan.log.append(self._unflushed)
            self._unflushed = []
        self.last_flush = time.monotonic()

    async def urls(
        self, client: Client, sources: AsyncIterator[str], skip: Container[str]
    ) -> AsyncIterator[str]:
        """Object URLs to scan: expanded, without duplicates or objects already done."""
        seen: set[str] = set()
        counts = self.counts
        async for source in sources:
            source_key = url_key(source)
            if source_key in skip:
                counts.skipped += 1
                continue
            try:
                async for url in client.expand(source):
                    key = url_key(url)
                    if key in skip:
                        counts.skipped += 1
                    elif key not in seen:
                        seen.add(key)
                        counts.listed += 1
                        yield url
            except AstroCloudError as err:
                counts.listed += 1
                self.take(ObjectFailed(source, err.with_url(source)))
            else:
                self.resolved.add(source_key)
        counts.listing_done = True

    async def tick(self, stats: PoolStats) -> None:
        """Report and flush on time, a few times a second."""
        while True:
            self.report(stats)
            if time.monotonic() - self.last_flush >= self.plan.job.flush_seconds:
                self.flush()
            await asyncio.sleep(_TICK)

    def report(self, stats: PoolStats) -> None:
        self.counts.requests = stats.requests
        self.counts.bytes = stats.bytes
        self.counts.retries = stats.retries
        self.counts.throttled = stats.throttled
        self.counts.limit = stats.limit
        if self.reporter is not None:
            self.reporter(self.counts)


def _refuse_in_worker_start() -> None:
    """Raise when called while a spawned ``multiprocessing`` worker (the caller's own, or a
    local Dask cluster's) imports the main module: a script whose run is not under
    ``if __name__ == "__main__":`` would otherwise start it again in that worker, and the
    second run would open (with ``overwrite``, empty) the first one's catalog. (The footprint
    workers never import the main module.)"""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise ConfigurationError(
            "an index run was started while a worker process imports the main module: start"
            " it under `if __name__ == '__main__':` (worker processes import the main module)"
        )


async def index(job: IndexJob, *, reporter: Reporter | None = None) -> IndexResult:
    """Run ``job`` here; see the module docstring. Raises ``FileExistsError`` when the
    catalog exists and neither ``resume``, ``retry_failed`` nor ``overwrite`` is set.

    ``reporter`` is called with the run's counts a few times a second and once at the end.
    """
    _refuse_in_worker_start()
    plan = RunPlan(job)
    given = _iterate(plan.retry_sources) if plan.retry_sources is not None else asource_lines(job)
    run = _Run(plan, reporter)
    if reporter is not None:
        plan.expect()
    interrupted = False
    try:
        async with Client(job.options) as client:
            ticker = asyncio.create_task(run.tick(client.stats))
            scan = client.scan(run.urls(client, given, plan.skip))
            enrichment = Enrichment(
                client, run.take, footprints=job.footprints, verify_data=job.verify_data
            )
            try:
                async with enrichment, contextlib.aclosing(agroup_objects(scan)) as objects:
                    async for item in objects:
                        await enrichment.submit(item)
            except asyncio.CancelledError:
                interrupted = True
                _uncancel()
            finally:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
                await scan.aclose()
                run.report(client.stats)
    except asyncio.CancelledError:
        interrupted = True
        _uncancel()
    finally:
        run.flush()
        plan.writer.close()
    return plan.result(run.new_failures, run.resolved, interrupted=interrupted)


def _uncancel() -> None:
    """Accept a cancellation as the end of the run (the task then finishes normally)."""
    task = asyncio.current_task()
    uncancel = getattr(task, "uncancel", None)
    if uncancel is not None:
        uncancel()


async def _iterate(items: Iterable[str]) -> AsyncIterator[str]:
    for item in items:
        yield item

"""Many objects at once: a bounded set of object walks, fed lazily, drained as they finish.

Strategy: one feeder task pulls object URLs from the sources, but only after taking a slot, so
at most ``limit`` objects are being walked *or waiting to be handed to the caller*; a slow
consumer therefore stops the pulling of sources instead of letting results pile up. Each object
is its own task (its reads run concurrently with every other object's, the pool bounding the
requests), and a done-callback puts its outcome on a queue. The async generator the caller
iterates takes outcomes off that queue, gives the slot back and yields the records, so records
come out in completion order, each object's together.

Bookkeeping is synchronous (callbacks, counters); only waiting for the next outcome is awaited.
Whatever way the generator ends (exhausted, ``break`` followed by ``aclose()``, an error, the
caller's task cancelled), its ``finally`` cancels the feeder and every walk still in flight and
waits for them, so nothing is left running.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Protocol

from ..errors import AstroCloudError
from ..options import Options
from ..records import ObjectFailed, ScanResult
from .inflate import compressed_name
from .prediction import FolderPredictors
from .sources import PagePool, Resolver, Sources, object_urls
from .walk import Fetcher, ObjectOutcome, walk_object

__all__ = ["ScanCounts", "ScanPool", "object_limit", "run_scan"]


class ScanPool(Fetcher, PagePool, Protocol):
    """What a scan needs from the pool: range reads for walks, listing pages for sources."""


@dataclass(slots=True)
class ScanCounts:
    """Live object counts of one or more scans (a ``Client`` shares one between its scans)."""

    in_flight: int = 0
    """Objects being walked."""
    ready: int = 0
    """Objects walked, waiting for the caller to take their records."""
    done: int = 0
    """Objects handed to the caller (records or failure)."""
    failed: int = 0
    """Of those, the objects that ended in an :class:`ObjectFailed`."""


@dataclass(frozen=True, slots=True)
class _Crash:
    """An exception that must end the scan: from the caller's sources, or a bug."""

    error: BaseException


class _Done:
    """The feeder has pulled every source."""


_DONE = _Done()


def object_limit(options: Options) -> int:
    """How many objects one scan walks at once."""
    limit = options.max_objects_in_flight or options.concurrency
    return max(limit, 1)


async def _walk_one(
    resolver: Resolver,
    pool: Fetcher,
    url: str,
    options: Options,
    predictors: FolderPredictors | None,
) -> ObjectOutcome:
    try:
        store = resolver.for_url(url)
    except AstroCloudError as err:
        return ObjectFailed(url, err.with_url(url))
    # A name that says the object is compressed: nothing to predict, nobody to wait for.
    predictor = (
        predictors.for_url(url) if predictors is not None and not compressed_name(url) else None
    )
    return await walk_object(pool, store, url, options, predictor)


async def run_scan(
    resolver: Resolver,
    pool: ScanPool,
    sources: Sources,
    options: Options,
    *,
    raise_errors: bool = False,
    expand: bool = True,
    counts: ScanCounts | None = None,
) -> AsyncGenerator[ScanResult, None]:
    """Yield the records of every object of ``sources`` as objects complete.

    With ``raise_errors`` the first failure is raised (after cancelling the rest) instead of
    being yielded as an :class:`ObjectFailed`. With ``expand=False`` sources are taken as
    object URLs without listing anything.
    """
    counts = counts if counts is not None else ScanCounts()
    predictors = FolderPredictors() if options.predict_layout else None
    slots = asyncio.Semaphore(object_limit(options))
    queue: asyncio.Queue[ObjectOutcome | _Crash | _Done] = asyncio.Queue()
    walks: set[asyncio.Task[ObjectOutcome]] = set()
    started = 0  # objects given a slot (walked, or failed before a walk)
    taken = 0  # objects whose outcome the caller has taken
    ready = 0  # outcomes on the queue, not yet taken
    closing = False  # set once the scan is ending and cancels what is left

    def put(outcome: ObjectOutcome) -> None:
        nonlocal ready
        ready += 1
        counts.ready += 1
        queue.put_nowait(outcome)

    def walked(task: asyncio.Task[ObjectOutcome]) -> None:
        walks.discard(task)
        counts.in_flight -= 1
        if task.cancelled():
            if not closing:  # not by us: the outcome will never come, so do not wait for it
                queue.put_nowait(_Crash(asyncio.CancelledError("an object walk was cancelled")))
            return
        error = task.exception()
        if error is not None:
            queue.put_nowait(_Crash(error))
        else:
            put(task.result())

    async def pull() -> None:
        nonlocal started
        urls = object_urls(
            resolver, pool, sources, suffixes=options.suffixes, expand_sources=expand
        )
        try:
            while True:
                await slots.acquire()
                try:
                    item = await anext(urls)
                except StopAsyncIteration:
                    slots.release()
                    return
                started += 1
                if isinstance(item, ObjectFailed):
                    put(item)
                    continue
                task = asyncio.create_task(_walk_one(resolver, pool, item, options, predictors))
                counts.in_flight += 1
                walks.add(task)
                task.add_done_callback(walked)
        finally:
            await urls.aclose()

    async def feed() -> None:
        try:
            await pull()
        except Exception as error:  # the caller's sources raised: end the scan with it
            queue.put_nowait(_Crash(error))
        else:
            queue.put_nowait(_DONE)

    feeder = asyncio.create_task(feed())
    feeding = True
    try:
        while feeding or taken < started:
            item = await queue.get()
            if isinstance(item, _Done):
                feeding = False
                continue
            if isinstance(item, _Crash):
                raise item.error
            taken += 1
            ready -= 1
            counts.ready -= 1
            counts.done += 1
            slots.release()
            if isinstance(item, ObjectFailed):
                counts.failed += 1
                if raise_errors:
                    raise item.error
                yield item
            else:
                for record in item:
                    yield record
    finally:
        closing = True
        pending = [feeder, *walks]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        counts.ready -= ready  # outcomes never taken (the caller stopped early)

"""Work split into partitions: listed on the client side, scanned inside the workers.

Strategy: the client expands the sources (prefixes and folders are listed page by page as the
listing streams) into object URLs and cuts them into partitions of a fixed number of objects;
a source that cannot be listed travels with the first partition as a ready-made failure, so it
reaches the output like any other failure. A partition is a small frozen value (URLs and
failures as plain strings) that pickles cheaply into the task graph.

Inside a worker, :func:`scan_partition` runs one ordinary scan of its URLs on an event loop of
its own (through :func:`~astro_cloud_async.tasks.run_sync`) and turns whole objects into
catalog rows with :mod:`astro_cloud_async.catalog.rows`, so rows are made by the same code as
in a single process. Objects come back in the order of the partition's URLs, whatever order
they completed in, so a partition's output is deterministic.

Secrets: the options sent to workers carry no HTTP headers or auth (a task graph is pickled in
plain text and may be logged or shown); workers add headers from the JSON object in their own
``ASTRO_CLOUD_ASYNC_HTTP_HEADERS`` environment variable, and S3 credentials come from each
worker's own credential chain (environment, profile, instance role).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Any

from ..catalog.failures import FailureEntry
from ..catalog.resume import url_key
from ..catalog.rows import Keywords, group_objects, object_rows
from ..client import Client
from ..errors import AstroCloudError, ConfigurationError, redact_url
from ..options import Options
from ..pool.stats import StatsSnapshot
from ..records import HDURecord, ObjectFailed, ScanResult
from ..scanner.sources import Sources, iter_sources
from ..sky.footprints import columns_of
from ..sky.footprints import footprints as footprints_of
from ..tasks import run_sync

__all__ = [
    "HEADERS_ENV",
    "ListedSources",
    "Partition",
    "ScannedPartition",
    "failure_entry",
    "list_partitions",
    "options_for_workers",
    "scan_partition",
    "worker_options",
]

HEADERS_ENV = "ASTRO_CLOUD_ASYNC_HTTP_HEADERS"
"""Environment variable read by workers: a JSON object of extra HTTP request headers."""


@dataclass(frozen=True, slots=True)
class Partition:
    """One task's share of the objects: URLs, plus failures found while listing."""

    index: int
    urls: tuple[str, ...]
    listing_failures: tuple[FailureEntry, ...] = ()

    def __repr__(self) -> str:
        extra = f" +{len(self.listing_failures)} listing failures" if self.listing_failures else ""
        return f"<Partition {self.index}: {len(self.urls)} objects{extra}>"


@dataclass(frozen=True, slots=True)
class ListedSources:
    """The partitions of a listing, and how many objects were left out as already done."""

    partitions: tuple[Partition, ...]
    objects: int
    skipped: int
    resolved: frozenset[str] = frozenset()
    """Keys of the sources that expanded without error."""


@dataclass(frozen=True, slots=True)
class ScannedPartition:
    """What a worker made of one partition: catalog rows of whole objects, in the
    partition's order, the failures, and the requests it took."""

    index: int
    rows: list[dict[str, Any]]
    objects: tuple[str, ...]
    """URLs of the objects that gave rows."""
    failures: tuple[FailureEntry, ...]
    requests: int = 0
    bytes: int = 0
    retries: int = 0
    throttled: int = 0
    """Answers that asked the worker to slow down (429, 503)."""


def failure_entry(failed: ObjectFailed) -> FailureEntry:
    return FailureEntry.from_failure(failed)


# --- options ------------------------------------------------------------------------------


def options_for_workers(options: Options) -> Options:
    """``options`` checked for sending to workers: no headers or auth may travel in a graph."""
    if options.headers or options.auth is not None:
        raise ConfigurationError(
            "HTTP headers and auth are not sent to Dask workers: set them on each worker in "
            f"the {HEADERS_ENV} environment variable (a JSON object) instead"
        )
    return options


def worker_options(options: Options) -> Options:
    """The options a worker scans with: ``options`` plus the headers of its environment."""
    text = os.environ.get(HEADERS_ENV)
    if not text:
        return options
    try:
        headers = json.loads(text)
    except ValueError as err:
        raise ConfigurationError(f"{HEADERS_ENV} is not valid JSON") from err
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigurationError(f"{HEADERS_ENV} must be a JSON object of strings")
    return dataclasses.replace(options, headers=headers)


# --- client side: listing -----------------------------------------------------------------


async def _list(
    sources: Sources, options: Options, per_partition: int, skip: Container[str]
) -> ListedSources:
    partitions: list[Partition] = []
    current: list[str] = []
    failures: list[FailureEntry] = []
    seen: set[str] = set()
    resolved: set[str] = set()
    objects = skipped = 0
    async with Client(options) as client:
        async for source in iter_sources(sources):
            if url_key(source) in skip:
                skipped += 1
                continue
            try:
                async for url in client.expand(source):
                    key = url_key(url)
                    if key in skip:
                        skipped += 1
                        continue
                    if key in seen:
                        continue
                    seen.add(key)
                    objects += 1
                    current.append(url)
                    if len(current) == per_partition:
                        partitions.append(Partition(len(partitions), tuple(current)))
                        current = []
            except AstroCloudError as err:
                failures.append(failure_entry(ObjectFailed(source, err.with_url(source))))
            else:
                resolved.add(url_key(source))
    if current or not partitions:
        partitions.append(Partition(len(partitions), tuple(current)))
    if failures:
        first = partitions[0]
        partitions[0] = dataclasses.replace(first, listing_failures=tuple(failures))
    return ListedSources(tuple(partitions), objects, skipped, frozenset(resolved))


def list_partitions(
    sources: Sources,
    options: Options | None = None,
    *,
    objects_per_partition: int = 1000,
    skip: Container[str] = (),
) -> ListedSources:
    """Expand ``sources`` on this machine (listing streamed) into partitions of at most
    ``objects_per_partition`` objects. URLs whose :func:`url_key` is in ``skip`` and
    duplicates are left out; there is always at least one (possibly empty) partition."""
    if objects_per_partition < 1:
        raise ConfigurationError(
            f"objects_per_partition must be at least 1, got {objects_per_partition}"
        )
    return run_sync(lambda: _list(sources, options or Options(), objects_per_partition, skip))


# --- worker side: scanning ----------------------------------------------------------------


async def _scan(urls: Sequence[str], options: Options) -> tuple[list[ScanResult], StatsSnapshot]:
    async with Client(options) as client:
        results = [item async for item in client.scan(list(urls), expand=False)]
        return results, client.stats.snapshot()


def scan_partition(
    partition: Partition, keywords: Keywords, options: Options, *, footprints: bool = False
) -> ScannedPartition:
    """Scan one partition's objects and make their catalog rows (runs inside a worker, where
    ``footprints`` are computed too: the worker is a process of its own)."""
    results, stats = run_sync(lambda: _scan(partition.urls, worker_options(options)))
    order = {url: i for i, url in enumerate(partition.urls)}
    objects: list[tuple[HDURecord, ...]] = []
    failed: list[ObjectFailed] = []
    for item in group_objects(results):
        if isinstance(item, ObjectFailed):
            failed.append(item)
        else:
            objects.append(item)
    objects.sort(key=lambda records: order.get(records[0].url, len(order)))
    failed.sort(key=lambda f: order.get(f.url, len(order)))
    headers = [r.header for records in objects for r in records] if footprints else []
    found = iter(footprints_of(headers))  # all of the partition projected together
    rows: list[dict[str, Any]] = []
    for records in objects:
        extra = [columns_of(next(found)) for _ in records] if footprints else None
        rows.extend(object_rows(records, keywords, extra))
    return ScannedPartition(
        index=partition.index,
        rows=rows,
        objects=tuple(redact_url(r[0].url) or r[0].url for r in objects),
        failures=partition.listing_failures + tuple(failure_entry(f) for f in failed),
        requests=stats.requests,
        bytes=stats.bytes,
        retries=stats.retries,
        throttled=stats.throttled,
    )

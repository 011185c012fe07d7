"""``astro-cloud-async index``: scan sources into a catalog, resumable, with a failure report.

Strategy: one pass, streaming end to end. Sources (arguments, then ``--from-file`` lines) are
pulled one at a time and expanded (prefixes and folders listed) by the client's own resolver;
each object URL is checked against what the catalog and failure report already hold and passed
to the scan only when new, so a resumed run never fetches a finished object again and never
writes one twice. The scan's records are grouped into whole objects and handed to the catalog
writer, which makes a batch durable every ``--batch-size`` objects or ``--flush-interval``
seconds (see :mod:`astro_cloud_async.catalog.writers` for why a kill keeps every flushed
object). Failures go to the failure report at the same moments. Ctrl-C or SIGTERM ends the scan,
keeps every whole object received, and exits with status 130.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import stat
import sys
import time
from collections.abc import AsyncIterator, Callable, Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..catalog.failures import FailureEntry, FailureLog, failures_path
from ..catalog.resume import url_key
from ..catalog.rows import Keywords, agroup_objects, normalize_keywords
from ..catalog.writers import CatalogWriter, open_catalog
from ..errors import AstroCloudError, ConfigurationError
from ..options import Options
from ..records import HDURecord, ObjectFailed
from .options import add_option_flags, options_from_args
from .progress import Progress, RunCounts, format_bytes, format_duration

__all__ = ["IndexJob", "IndexResult", "add_parser", "index", "run"]

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
SHOWN_FAILURES = 10


@dataclass
class IndexJob:
    """Everything one ``index`` run needs; built from the command line or by a caller."""

    output: Path
    sources: list[str] = field(default_factory=list)
    from_files: list[str] = field(default_factory=list)
    """Files of URLs, one per line; ``-`` is standard input."""
    keywords: Keywords = ()
    options: Options = field(default_factory=Options)
    format: str | None = None
    resume: bool = False
    retry_failed: bool = False
    overwrite: bool = False
    batch_objects: int = 1000
    flush_seconds: float = 30.0
    progress: bool = False


@dataclass
class IndexResult:
    """What a run did."""

    counts: RunCounts
    elapsed: float
    output: Path
    failures_file: Path
    new_failures: list[FailureEntry]
    """Objects that failed in this run."""
    outstanding: int
    """Failures in the report once the run ended (this run's and earlier ones)."""
    interrupted: bool
    rows: int
    """Rows written by this run."""

    @property
    def exit_status(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILURES if self.outstanding else EXIT_OK

    def summary(self) -> str:
        """The one-line summary printed at the end of every run."""
        c = self.counts
        parts = [f"indexed {c.objects} objects ({c.hdus} HDUs)"]
        if c.failed:
            parts.append(f"{c.failed} failed")
        if c.skipped:
            parts.append(f"{c.skipped} skipped (already done)")
        head = ", ".join(parts)
        verb = "interrupted after" if self.interrupted else "in"
        return (
            f"{head}; {c.requests} requests, {format_bytes(c.bytes)} fetched, {c.retries} retries"
            f" {verb} {format_duration(self.elapsed)} -> {self.output}"
        )

    def report(self, stream: TextIO) -> None:
        """The summary line, then the failures of this run and where the report is."""
        print(self.summary(), file=stream)
        for entry in self.new_failures[:SHOWN_FAILURES]:
            print(f"  failed: {entry.describe()}", file=stream)
        if len(self.new_failures) > SHOWN_FAILURES:
            print(f"  ... and {len(self.new_failures) - SHOWN_FAILURES} more", file=stream)
        if self.outstanding:
            earlier = self.outstanding - len(self.new_failures)
            also = f" ({earlier} from earlier runs)" if earlier > 0 else ""
            print(
                f"{self.outstanding} failed objects{also} are listed in {self.failures_file}; "
                "re-run them with --retry-failed",
                file=stream,
            )


# --- sources --------------------------------------------------------------------------------


async def _file_lines(name: str) -> AsyncIterator[str]:
    """The lines of a file of URLs (``-``: standard input), streamed, never read whole."""
    if name == "-":
        stream = sys.stdin.buffer
        if stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            for raw in stream:
                yield raw.decode()
            return
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), stream
        )
        try:
            while raw := await reader.readline():
                yield raw.decode()
        finally:
            transport.close()
        return
    with open(name, encoding="utf-8") as f:  # noqa: ASYNC230 -- a local file: short reads
        for line in f:
            yield line


async def _given_sources(job: IndexJob) -> AsyncIterator[str]:
    for source in job.sources:
        yield source
    for name in job.from_files:
        async for line in _file_lines(name):
            line = line.strip()
            if line and not line.startswith("#"):
                yield line


def expected_objects(job: IndexJob) -> int | None:
    """How many objects the run should see, when that is cheap to know: every source is an
    object URL (no folder or prefix to list) and the URL files are regular files, whose lines
    are counted (fast, whatever their length). ``None`` otherwise."""
    total = 0
    for source in job.sources:
        if source.endswith("/") or ("://" not in source and os.path.isdir(source)):
            return None
        total += 1
    for name in job.from_files:
        if name == "-" or not os.path.isfile(name):
            return None
        with open(name, "rb") as f:
            while chunk := f.read(1 << 20):
                total += chunk.count(b"\n")
    return total


Expander = Callable[[str], AsyncIterator[str]]


def _expander(client: Any) -> Expander:
    """The client's expansion of a source into object URLs (listing prefixes and folders)."""
    expand = getattr(client, "expand", None)
    if expand is None:
        expand = client._open_stores().expand
    result: Expander = expand
    return result


# --- the run --------------------------------------------------------------------------------


class _Run:
    """The state of one run: the writer, the failure report and the counters."""

    def __init__(self, job: IndexJob, writer: CatalogWriter, log: FailureLog, stream: TextIO):
        self.job = job
        self.writer = writer
        self.log = log
        self.counts = RunCounts()
        self.new_failures: list[FailureEntry] = []
        self._unflushed: list[FailureEntry] = []
        self.resolved: set[str] = set()
        """Keys of failed sources that expanded without error this time."""
        self.progress = Progress(self.counts, enabled=job.progress, stream=stream)
        self.last_flush = time.monotonic()

    def take(self, item: tuple[HDURecord, ...] | ObjectFailed) -> None:
        if isinstance(item, ObjectFailed):
            entry = FailureEntry.from_failure(item)
            self.new_failures.append(entry)
            self._unflushed.append(entry)
            self.counts.failed += 1
        else:
            self.writer.add(item)
            self.counts.objects += 1
            self.counts.hdus += len(item)
        if self.writer.pending_objects + len(self._unflushed) >= self.job.batch_objects:
            self.flush()

    def flush(self) -> None:
        self.writer.flush()
        if self._unflushed:
            self.log.append(self._unflushed)
            self._unflushed = []
        self.last_flush = time.monotonic()

    async def urls(
        self, expand: Expander, sources: AsyncIterator[str], skip: Container[str]
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
                async for url in expand(source):
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

    async def tick(self, stats: Any) -> None:
        """Redraw the display and flush on time, a few times a second."""
        while True:
            self.read_stats(stats)
            self.progress.refresh()
            if time.monotonic() - self.last_flush >= self.job.flush_seconds:
                self.flush()
            await asyncio.sleep(0.2)

    def read_stats(self, stats: Any) -> None:
        self.counts.requests = stats.requests
        self.counts.bytes = stats.bytes
        self.counts.retries = stats.retries


async def index(job: IndexJob, *, stream: TextIO | None = None) -> IndexResult:
    """Run one ``index`` job; see the module docstring. Raises ``FileExistsError`` when the
    catalog exists and neither ``resume``, ``retry_failed`` nor ``overwrite`` is set."""
    from ..client import Client

    stream = stream if stream is not None else sys.stderr
    started = time.monotonic()
    log = FailureLog(failures_path(job.output))
    resuming = job.resume or job.retry_failed
    writer = open_catalog(
        job.output,
        keywords=job.keywords,
        format=job.format,
        resume=resuming,
        overwrite=job.overwrite,
    )
    if not resuming:
        log.remove()  # a new catalog starts a new report
    earlier = log.load(writer.completed)
    if job.retry_failed:
        given: AsyncIterator[str] = _iterate(list(earlier))
        skip: Container[str] = writer.completed
    else:
        given = _given_sources(job)
        skip = _Either(writer.completed, {url_key(u) for u in earlier})
    run = _Run(job, writer, log, stream)
    if job.progress:
        run.counts.expected = len(earlier) if job.retry_failed else expected_objects(job)
    rows_before = writer.rows_written
    interrupted = False
    try:
        async with Client(job.options) as client:
            ticker = asyncio.create_task(run.tick(client.stats))
            scan = client.scan(run.urls(_expander(client), given, skip))
            try:
                async with contextlib.aclosing(agroup_objects(scan)) as objects:
                    async for item in objects:
                        run.take(item)
            except asyncio.CancelledError:
                interrupted = True
                _uncancel()
            finally:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
                await scan.aclose()
                run.read_stats(client.stats)
    except asyncio.CancelledError:
        interrupted = True
        _uncancel()
    finally:
        run.progress.close()
        run.flush()
        writer.close()
    # A source that expanded without error but then failed keeps its entry in the report.
    failed_now = {url_key(entry.url) for entry in run.new_failures}
    outstanding = log.compact(_Either(writer.completed, run.resolved - failed_now))
    return IndexResult(
        counts=run.counts,
        elapsed=time.monotonic() - started,
        output=job.output,
        failures_file=log.path,
        new_failures=run.new_failures,
        outstanding=len(outstanding),
        interrupted=interrupted,
        rows=writer.rows_written - rows_before,
    )


class _Either(Container[str]):
    """Membership in either of two sets, without copying the (large) first one."""

    def __init__(self, first: Container[str], second: Container[str]):
        self.first, self.second = first, second

    def __contains__(self, key: object) -> bool:
        return key in self.first or key in self.second


def _uncancel() -> None:
    """Accept a cancellation as the end of the run (the task then finishes normally)."""
    task = asyncio.current_task()
    uncancel = getattr(task, "uncancel", None)
    if uncancel is not None:
        uncancel()


async def _iterate(items: Iterable[str]) -> AsyncIterator[str]:
    for item in items:
        yield item


# --- command line -------------------------------------------------------------------------


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "index",
        help="index the headers of many objects into a catalog",
        description=(
            "Read the headers of every FITS object under SOURCES (URLs, s3:// prefixes, local "
            "folders) and write one row per HDU to a catalog: Parquet (a dataset directory; "
            "the default), JSON Lines (.jsonl) or CSV (.csv), chosen by the output's suffix."
        ),
    )
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="object URL, prefix or folder")
    p.add_argument(
        "--from-file",
        action="append",
        default=[],
        metavar="FILE",
        dest="from_files",
        help="read more sources from FILE, one per line ('-' for standard input)",
    )
    p.add_argument("-o", "--output", required=True, type=Path, help="the catalog to write")
    p.add_argument(
        "--format",
        choices=("parquet", "jsonl", "csv"),
        help="catalog format (default: from the output's suffix; else Parquet)",
    )
    p.add_argument(
        "-k",
        "--keywords",
        default=None,
        metavar="K1,K2,...",
        help="keyword columns: a comma-separated list, 'all' (every keyword seen) or 'none' "
        "(default: BITPIX,NAXIS,NAXIS1,NAXIS2,OBJECT,DATE-OBS,EXPTIME)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--resume",
        action="store_true",
        help="add to an existing catalog, skipping objects already in it",
    )
    mode.add_argument(
        "--retry-failed",
        action="store_true",
        help="re-run only the objects listed in the failure report",
    )
    mode.add_argument("--overwrite", action="store_true", help="replace an existing catalog")
    p.add_argument(
        "--batch-size",
        type=int,
        default=1000,
        metavar="N",
        help="objects per durable batch (default 1000)",
    )
    p.add_argument(
        "--flush-interval",
        type=float,
        default=30.0,
        metavar="S",
        help="write a batch at least every S seconds (default 30)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="run the job on the Dask cluster at ADDRESS (e.g. tcp://host:8786); Parquet only",
    )
    p.add_argument(
        "--objects-per-task",
        type=int,
        default=1000,
        metavar="N",
        help="with --dask-scheduler: objects scanned by one task (default 1000)",
    )
    add_option_flags(p)
    p.set_defaults(run=run)


def job_from_args(args: argparse.Namespace) -> IndexJob:
    if not args.sources and not args.from_files and not args.retry_failed:
        raise ConfigurationError("give SOURCES, --from-file or --retry-failed")
    for name in args.from_files:
        if name != "-" and not os.path.isfile(name):
            raise ConfigurationError(f"--from-file {name}: no such file")
    if args.batch_size < 1 or args.flush_interval <= 0:
        raise ConfigurationError("--batch-size and --flush-interval must be positive")
    return IndexJob(
        output=args.output,
        sources=list(args.sources),
        from_files=list(args.from_files),
        keywords=normalize_keywords(args.keywords),
        options=options_from_args(args),
        format=args.format,
        resume=args.resume,
        retry_failed=args.retry_failed,
        overwrite=args.overwrite,
        batch_objects=args.batch_size,
        flush_seconds=args.flush_interval,
        progress=Progress.wanted(args.no_progress),
    )


async def _main(job: IndexJob) -> IndexResult:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
    return await index(job)


def run(args: argparse.Namespace) -> int:
    job = job_from_args(args)
    if args.retry_failed and args.sources:
        print(
            "note: --retry-failed re-runs the failure report; SOURCES are not read", file=sys.stderr
        )
    if args.dask_scheduler:
        from ..dask import index_on_dask

        if args.objects_per_task < 1:
            raise ConfigurationError("--objects-per-task must be at least 1")
        result = index_on_dask(
            job, args.dask_scheduler, objects_per_partition=args.objects_per_task
        )
        result.report(sys.stderr)
        return result.exit_status
    try:
        result = asyncio.run(_main(job))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    result.report(sys.stderr)
    return result.exit_status

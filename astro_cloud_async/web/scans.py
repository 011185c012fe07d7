"""Scans started from the page: ``Client.scan`` in a task, its rows kept as a growing table.

Strategy: a :class:`ScanJob` runs one scan with a client of its own (the options typed into
the page) and keeps what it yields: whole objects as catalog rows (the catalog's own
:func:`~astro_cloud_async.catalog.rows.object_rows`, so a downloaded result is the catalog
``index`` would write) and failures as the failure log's entries. The page follows a job
through server-sent events (:meth:`ScanJob.events`): a progress snapshot whenever something
changed, each failure once, and a last event when the scan ends, was stopped or could not
start. Rows are not pushed: the job is a :class:`~.tables.TableSource`, and the page asks for
the page of rows it shows (sorted and filtered like any catalog) when the count grows.

The table is built incrementally: new rows become one arrow chunk, and the chunks are
conformed to the current column types when read (the catalog's promotion rule), so a scan of
many objects does not rebuild its whole table each time the page looks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import secrets
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..catalog.failures import FailureEntry
from ..catalog.rows import KeywordColumns, Keywords, agroup_objects, object_rows
from ..catalog.tables import arrow_schema, conform, rows_to_arrow
from ..client import Client
from ..errors import AstroCloudError
from ..options import Options
from ..records import HDURecord, ObjectFailed
from .errors import BadRequestError, error_json

if TYPE_CHECKING:
    import pyarrow

__all__ = ["ScanJob", "catalog_bytes"]

T = TypeVar("T")

PROGRESS_INTERVAL = 0.25
"""Seconds between two progress events at most (while something changes)."""
KEEPALIVE_SECONDS = 15.0


class ScanJob:
    """One scan of the sources typed into the page, run in a task; also a table source."""

    kind = "scan"

    def __init__(self, sources: list[str], options: Options, keywords: Keywords) -> None:
        self.id = "s" + secrets.token_urlsafe(6)
        more = f" (+{len(sources) - 1} more)" if len(sources) > 1 else ""
        self.name = sources[0] + more
        self.sources = sources
        self.options = options
        self.keywords = keywords
        self.state = "running"
        self.error: dict[str, Any] | None = None
        self.objects: list[tuple[HDURecord, ...]] = []
        self.failures: list[FailureEntry] = []
        self.hdus = 0
        self.started = time.monotonic()
        self.ended: float | None = None
        self.stats: dict[str, Any] = {}
        self._columns = KeywordColumns(keywords)
        self._pending: list[dict[str, Any]] = []
        self._chunks: list[pyarrow.Table] = []
        self._table: pyarrow.Table | None = None
        self._changed = asyncio.Event()
        self._stop = asyncio.Event()
        self._lock = threading.Lock()  # the table is read from worker threads
        self._task: asyncio.Task[None] | None = None

    # --- running ---------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"scan {self.id}")

    async def _run(self) -> None:
        client = Client(self.options)
        try:
            async with client, contextlib.aclosing(client.scan(self.sources)) as results:
                stoppable = _until(results, self._stop)
                async for outcome in agroup_objects(stoppable):
                    if isinstance(outcome, ObjectFailed):
                        self.failures.append(FailureEntry.from_failure(outcome))
                    else:
                        self._add(outcome)
                    self._take_stats(client)
                    self._changed.set()
            self.state = "stopped" if self._stop.is_set() else "finished"
        except asyncio.CancelledError:
            self.state = "stopped"
        except AstroCloudError as err:
            self.state = "failed"
            self.error = error_json(err)
        except Exception as err:  # anything else: say so on the page, never a traceback
            self.state = "failed"
            self.error = error_json(err)
        finally:
            self._take_stats(client)
            self.ended = time.monotonic()
            self._changed.set()

    def _take_stats(self, client: Client) -> None:
        stats = client.stats
        counts = client.counts
        self.stats = {
            "requests": stats.requests,
            "bytes": stats.bytes,
            "list_requests": stats.list_requests,
            "retries": stats.retries,
            "in_flight": counts.in_flight,
        }

    def _add(self, records: tuple[HDURecord, ...]) -> None:
        rows = object_rows(records, self.keywords)
        with self._lock:
            self._columns.observe(rows)
            self.objects.append(records)
            self._pending.extend(rows)
            self.hdus += len(rows)

    def whole_objects(self) -> list[tuple[HDURecord, ...]]:
        """The records of every object read so far (a copy: the scan may go on)."""
        with self._lock:
            return list(self.objects)

    async def stop(self, *, cancel: bool = False) -> None:
        """End the scan; the objects read so far stay. ``cancel``: do not wait for the walks
        in flight to be closed (the app is shutting down)."""
        task = self._task
        if task is None or task.done():
            return
        self._stop.set()
        if cancel:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    @property
    def running(self) -> bool:
        return self.state == "running"

    # --- the table -------------------------------------------------------------------------

    def table(self) -> pyarrow.Table:
        """The rows so far (called from worker threads while the scan adds rows)."""
        with self._lock:
            return self._build()

    def _build(self) -> pyarrow.Table:
        import pyarrow as pa

        if self._pending:
            rows, self._pending = self._pending, []
            self._chunks.append(rows_to_arrow(rows, self._columns.types, final=True))
            self._table = None
        if self._table is None:
            schema = arrow_schema(self._columns.types, final=True)
            chunks = [conform(chunk, schema) for chunk in self._chunks]
            self._chunks = chunks
            self._table = pa.concat_tables(chunks) if chunks else schema.empty_table()
        return self._table

    # --- what the page follows -------------------------------------------------------------

    def progress(self) -> dict[str, Any]:
        end = self.ended if self.ended is not None else time.monotonic()
        return {
            "state": self.state,
            "objects": len(self.objects) + len(self.failures),
            "failed": len(self.failures),
            "hdus": self.hdus,
            "seconds": round(end - self.started, 3),
            **self.stats,
        }

    async def events(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """``(event, data)`` pairs for the page, from the start, until the scan has ended."""
        sent_failures = 0
        last: dict[str, Any] | None = None
        while True:
            self._changed.clear()
            ended = not self.running
            for entry in self.failures[sent_failures:]:
                yield "failed", dataclasses.asdict(entry)
            sent_failures = len(self.failures)
            progress = self.progress()
            if progress != last or ended:
                yield "progress", progress
                last = progress
            if ended:
                yield "end", {"state": self.state, "error": self.error}
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), KEEPALIVE_SECONDS)
                await asyncio.sleep(PROGRESS_INTERVAL)
            if not self._changed.is_set() and self.running:
                yield "keepalive", {}


async def _until(items: AsyncIterator[T], stop: asyncio.Event) -> AsyncIterator[T]:
    """``items`` until ``stop`` is set; then the iteration ends as if ``items`` had.

    Ending (rather than cancelling the consumer) lets it finish what it holds: the grouping of
    records into objects keeps the last whole object read before the stop.
    """
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while True:
            step = asyncio.ensure_future(anext(items))
            await asyncio.wait({step, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                step.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await step
                return
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        stopped.cancel()


def catalog_bytes(job: ScanJob, fmt: str) -> bytes:
    """The scan's result so far as a catalog file: Parquet (one file) or CSV."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(job.table(), buffer, compression="zstd")
        return buffer.getvalue()
    if fmt in ("csv", "jsonl"):
        from ..catalog.writers import open_catalog

        with tempfile.TemporaryDirectory(prefix="aca-web-") as folder:
            path = Path(folder) / f"catalog.{fmt}"
            with open_catalog(path, keywords=job.keywords, format=fmt) as writer:
                for records in job.whole_objects():
                    writer.add(records)
            return path.read_bytes()
    raise BadRequestError(f"no catalog format {fmt!r} (parquet, csv or jsonl)")

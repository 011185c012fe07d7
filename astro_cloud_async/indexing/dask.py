"""``astro-cloud-async index --dask-scheduler``: the index job, run on a Dask cluster.

Strategy: the catalog is the same Parquet dataset directory the single-process writer makes
(:class:`~astro_cloud_async.catalog.ParquetWriter`), written by the workers: each task scans
its partition and writes its rows as one part file, typed from its own rows exactly as the
writer types a batch, named after the run and the partition (so a task run twice, after a
worker was lost, replaces its own part instead of adding a copy) and renamed into place whole.
When every task is done, the client closes the catalog with the writer itself, which unifies
the parts' schemas by the catalog's promotion rule. So a catalog made on a cluster reads back
exactly as one made in a single process, with the same columns and types.

Failures return to the client as values and go to the same failure report
(``<output>.failures.jsonl``); a task that fails as a whole (its worker died for good, its part
could not be written) turns into one failure per object of its partition. The output must be a
path that the client and every worker see (a shared filesystem). Resuming and
``--retry-failed`` work as in a single process.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..catalog.failures import FailureEntry
from ..catalog.files import atomic_write, part_name
from ..catalog.resume import catalog_format, url_key
from ..catalog.rows import KeywordColumns, Keywords
from ..catalog.tables import rows_to_arrow
from ..dask.partitions import Partition, list_partitions, options_for_workers, scan_partition
from ..errors import ConfigurationError
from ..options import Options
from .job import IndexJob, Reporter
from .plan import RunPlan
from .result import IndexResult
from .sources import source_lines

if TYPE_CHECKING:
    import distributed

__all__ = ["PartitionReport", "index_on_dask", "index_partition"]


@dataclass(frozen=True, slots=True)
class PartitionReport:
    """What one task did, sent back to the client (small: no rows)."""

    index: int
    objects: tuple[str, ...]
    hdus: int
    failures: tuple[FailureEntry, ...]
    requests: int
    bytes: int
    retries: int
    throttled: int = 0


def index_partition(
    partition: Partition,
    *,
    output: str,
    run: int,
    keywords: Keywords,
    options: Options,
    footprints: bool = False,
) -> PartitionReport:
    """Scan one partition and write its rows as a part of the catalog at ``output``
    (runs inside a worker; footprints are computed there too)."""
    scanned = scan_partition(partition, keywords, options, footprints=footprints)
    rows = scanned.rows
    if rows:
        columns = KeywordColumns(keywords)
        columns.observe(rows)
        names = columns.names
        if keywords == "all":
            present = {k for row in rows for k in row}
            names = [n for n in names if n in present]
        table = rows_to_arrow(rows, KeywordColumns.batch_types(names, rows), final=False)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        atomic_write(Path(output) / part_name(run, partition.index), sink.getvalue().to_pybytes())
    return PartitionReport(
        index=partition.index,
        objects=scanned.objects,
        hdus=len(rows),
        failures=scanned.failures,
        requests=scanned.requests,
        bytes=scanned.bytes,
        retries=scanned.retries,
        throttled=scanned.throttled,
    )


def _task_failed(partition: Partition, error: BaseException) -> list[FailureEntry]:
    message = str(error) or repr(error)
    return [FailureEntry(url=url_key(u), error=type(error).__name__, message=message)
            for u in partition.urls]  # fmt: skip


def index_on_dask(
    job: IndexJob,
    scheduler: str | distributed.Client,
    *,
    objects_per_partition: int = 1000,
    reporter: Reporter | None = None,
) -> IndexResult:
    """Run the index job ``job`` on the Dask cluster at ``scheduler`` (an address such as
    ``tcp://host:8786``, or a ``distributed.Client``, which is left open).

    Sources are listed here and cut into partitions of ``objects_per_partition`` objects; each
    partition is scanned and written by a worker. The catalog must be Parquet. Returns the
    same :class:`~astro_cloud_async.indexing.IndexResult` as a run in this process.
    """
    distributed: Any = importlib.import_module("distributed")  # the optional 'dask' extra

    if catalog_format(job.output, job.format) != "parquet":
        raise ConfigurationError("a catalog written on a Dask cluster must be Parquet")
    options = options_for_workers(job.options)
    plan = RunPlan(job, format="parquet")
    counts = plan.counts
    if reporter is not None:
        plan.expect()
    new_failures: list[FailureEntry] = []
    completed: set[str] = set(plan.writer.completed)
    rows = 0
    interrupted = False
    listed_ok: set[str] = set()
    try:
        sources = plan.retry_sources if plan.retry_sources is not None else source_lines(job)
        listed = list_partitions(
            sources, options, objects_per_partition=objects_per_partition, skip=plan.skip
        )
        counts.listed, counts.skipped, counts.listing_done = listed.objects, listed.skipped, True
        listed_ok = set(listed.resolved)
        run = time.time_ns()
        client = (
            scheduler if isinstance(scheduler, distributed.Client)
            else distributed.Client(scheduler, set_as_default=False)
        )  # fmt: skip
        try:
            futures = client.map(
                index_partition,
                list(listed.partitions),
                output=str(job.output),
                run=run,
                keywords=job.keywords,
                options=options,
                footprints=job.footprints,
                pure=False,
                key=[f"index-fits-{run:x}-{p.index}" for p in listed.partitions],
            )
            partitions = {f.key: p for f, p in zip(futures, listed.partitions, strict=True)}
            try:
                for future in distributed.as_completed(futures, loop=client.loop):
                    try:
                        report: PartitionReport = future.result()
                    except Exception as error:  # the task as a whole failed
                        failures = _task_failed(partitions[future.key], error)
                    else:
                        failures = list(report.failures)
                        counts.objects += len(report.objects)
                        counts.hdus += report.hdus
                        counts.requests += report.requests
                        counts.bytes += report.bytes
                        counts.retries += report.retries
                        counts.throttled += report.throttled
                        rows += report.hdus
                        completed.update(url_key(u) for u in report.objects)
                    counts.failed += len(failures)
                    new_failures.extend(failures)
                    plan.log.append(failures)
                    if reporter is not None:
                        reporter(counts)
            except KeyboardInterrupt:
                interrupted = True
                client.cancel(futures)
        finally:
            if client is not scheduler:
                client.close()
    finally:
        # Closing the writer after the tasks unifies the schemas of the workers' parts.
        plan.writer.close()
    return plan.result(
        new_failures, listed_ok, interrupted=interrupted, completed=completed, rows=rows
    )

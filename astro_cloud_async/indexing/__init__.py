"""The index job: sources in, a catalog and a failure report out, resumable.

:mod:`.job` says what a run is asked to do (:class:`IndexJob`) and counts what it does,
:mod:`.sources` streams its sources, :mod:`.plan` opens the catalog and failure report and
decides what a resumed run skips, :mod:`.result` says what a run did. Two executors run a job:
:func:`index` on one event loop in this process (:mod:`.local`) and :func:`index_on_dask` on a
Dask cluster (:mod:`.dask`, with the ``dask`` extra). The command line only parses arguments
and prints; everything a run does is here::

    import asyncio
    from pathlib import Path
    from astro_cloud_async.indexing import IndexJob, index

    job = IndexJob(output=Path("survey.parquet"), sources=["s3://bucket/survey/"])
    result = asyncio.run(index(job))
    print(result.summary())
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .dask import PartitionReport as PartitionReport
    from .dask import index_on_dask as index_on_dask
    from .dask import index_partition as index_partition
    from .job import IndexJob as IndexJob
    from .job import Reporter as Reporter
    from .job import RunCounts as RunCounts
    from .local import index as index
    from .result import EXIT_FAILURES as EXIT_FAILURES
    from .result import EXIT_INTERRUPTED as EXIT_INTERRUPTED
    from .result import EXIT_OK as EXIT_OK
    from .result import IndexResult as IndexResult
    from .result import format_bytes as format_bytes
    from .result import format_duration as format_duration

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "EXIT_FAILURES": ".result",
        "EXIT_INTERRUPTED": ".result",
        "EXIT_OK": ".result",
        "IndexJob": ".job",
        "IndexResult": ".result",
        "PartitionReport": ".dask",
        "Reporter": ".job",
        "RunCounts": ".job",
        "format_bytes": ".result",
        "format_duration": ".result",
        "index": ".local",
        "index_on_dask": ".dask",
        "index_partition": ".dask",
    },
)

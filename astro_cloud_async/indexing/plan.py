"""What every executor does before and after the scan: open the catalog, read the failure
report, decide what to skip, and assemble the result.

Strategy: the catalog itself is the record of finished work (see
:mod:`astro_cloud_async.catalog.resume`); the failure report next to it lists what failed. A
new run starts both afresh; ``resume`` skips what either holds; ``retry_failed`` takes the
report's objects as its sources. When the run ends the report is compacted: an object now in
the catalog, or a source that expanded without error this time and did not fail again, leaves
it. Both executors share this module, so a job resumes the same way wherever it ran.
"""

from __future__ import annotations

import time
from collections.abc import Container, Iterable
from typing import Literal

from ..catalog.failures import FailureEntry, FailureLog, failures_path
from ..catalog.resume import url_key
from ..catalog.writers import CatalogWriter, open_catalog
from .job import IndexJob, RunCounts
from .result import IndexResult
from .sources import expected_objects

__all__ = ["Either", "RunPlan"]


class Either(Container[str]):
    """Membership in either of two sets, without copying the (large) first one."""

    def __init__(self, first: Container[str], second: Container[str]):
        self.first, self.second = first, second

    def __contains__(self, key: object) -> bool:
        return key in self.first or key in self.second


class RunPlan:
    """One run's catalog writer, failure report, skip set and counts."""

    def __init__(self, job: IndexJob, *, format: Literal["parquet"] | None = None):
        self.job = job
        self.started = time.monotonic()
        self.log = FailureLog(failures_path(job.output))
        self.resuming = job.resume or job.retry_failed
        self.writer: CatalogWriter = open_catalog(
            job.output,
            keywords=job.keywords,
            format=format or job.format,
            resume=self.resuming,
            overwrite=job.overwrite,
        )
        try:
            if not self.resuming:
                self.log.remove()  # a new catalog starts a new report
            earlier = self.log.load(self.writer.completed)
        except BaseException:
            self.writer.close()
            raise
        self.retry_sources: list[str] | None = list(earlier) if job.retry_failed else None
        """The sources of a ``retry_failed`` run (``None``: the job's own)."""
        self.skip: Container[str] = (
            self.writer.completed
            if job.retry_failed
            else Either(self.writer.completed, {url_key(u) for u in earlier})
        )
        self.counts = RunCounts()
        self.rows_before = self.writer.rows_written

    def expect(self) -> None:
        """Count the objects the run should see, where that is cheap (for a display)."""
        retry = self.retry_sources
        self.counts.expected = len(retry) if retry is not None else expected_objects(self.job)

    def result(
        self,
        new_failures: list[FailureEntry],
        resolved: Iterable[str],
        *,
        interrupted: bool,
        completed: Container[str] | None = None,
        rows: int | None = None,
    ) -> IndexResult:
        """Compact the failure report and say what the run did (call after the writer closed).

        ``resolved``: keys of sources that expanded without error; ``completed``: keys of the
        objects now in the catalog (default: what the writer knows); ``rows``: rows written
        (default: the writer's count).
        """
        failed_now = {url_key(entry.url) for entry in new_failures}
        done = completed if completed is not None else self.writer.completed
        outstanding = self.log.compact(Either(done, set(resolved) - failed_now))
        return IndexResult(
            counts=self.counts,
            elapsed=time.monotonic() - self.started,
            output=self.job.output,
            failures_file=self.log.path,
            new_failures=new_failures,
            outstanding=len(outstanding),
            interrupted=interrupted,
            rows=rows if rows is not None else self.writer.rows_written - self.rows_before,
        )

"""What an index job is asked to do, and what it has done so far.

An :class:`IndexJob` is plain data, built by the command line or by a caller; the executors
(:mod:`.local` in this process, :mod:`.dask` on a cluster) run it and keep a :class:`RunCounts`
current, which a display may read at any time (a reporter is called with it a few times a
second).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..catalog.rows import Keywords
from ..options import Options

__all__ = ["IndexJob", "Reporter", "RunCounts"]


@dataclass
class IndexJob:
    """Everything one index run needs."""

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
    footprints: bool = False
    """Compute each image's sky footprint (``footprint_*`` columns; see :mod:`.enrich` for
    where, and ``docs/answers.md`` for what it costs). They start a worker process (a child
    interpreter that loads only numpy and the footprint code, never the caller's script)."""
    verify_data: bool = False
    """Read every HDU's data to check DATASUM (and CHECKSUM with it): reads everything."""


@dataclass(slots=True)
class RunCounts:
    """What one index run has done so far."""

    objects: int = 0
    """Objects written to the catalog."""
    hdus: int = 0
    failed: int = 0
    skipped: int = 0
    """Sources left out because the catalog (or failure report) already has them."""
    listed: int = 0
    """Objects handed to the scan (and sources whose listing failed)."""
    listing_done: bool = False
    expected: int | None = None
    """Objects expected before listing ends (from counting the lines of the URL files)."""
    requests: int = 0
    bytes: int = 0
    retries: int = 0
    throttled: int = 0
    """Answers that asked the run to slow down (429, 503)."""
    limit: int | None = None
    """The lowest per-host concurrency limit in force, while throttling keeps one lowered."""

    @property
    def finished(self) -> int:
        return self.objects + self.failed


Reporter = Callable[[RunCounts], None]
"""Called with the run's counts a few times a second and once at the end (a display)."""

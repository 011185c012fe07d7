"""The progress display of ``index`` and its final summary line.

Strategy: the display only reads counters (the run's object and HDU counts, the pool's
:class:`~astro_cloud_async.stats.PoolStats`) when it redraws, a few times a second; nothing in
the fetch path calls it. It is a tqdm bar on stderr, shown only when stderr is a terminal (and
``--no-progress`` is not given), so logs and pipes stay clean. The summary line is printed
always.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = ["Progress", "RunCounts", "format_bytes", "format_duration"]


def format_bytes(n: float) -> str:
    """``n`` bytes in decimal units: ``512 B``, ``4.5 kB``, ``2.1 GB``."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(int(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m{s:02d}s" if hours else f"{m}m{s:02d}s"


@dataclass(slots=True)
class RunCounts:
    """What one ``index`` run has done so far."""

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

    @property
    def finished(self) -> int:
        return self.objects + self.failed


class Progress:
    """A live line on stderr: objects done/total, HDUs, bytes, requests, retries, failures."""

    def __init__(self, counts: RunCounts, *, enabled: bool, stream: TextIO | None = None):
        self.counts = counts
        self.stream = stream if stream is not None else sys.stderr
        self._bar: Any = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:  # the display is optional; the summary is not
                return
            self._bar = tqdm(
                total=None,
                unit=" obj",
                file=self.stream,
                dynamic_ncols=True,
                mininterval=0.2,
                leave=False,
                desc="indexing",
            )

    @staticmethod
    def wanted(no_progress: bool, stream: TextIO | None = None) -> bool:
        stream = stream if stream is not None else sys.stderr
        return not no_progress and bool(getattr(stream, "isatty", lambda: False)())

    def refresh(self) -> None:
        bar = self._bar
        if bar is None:
            return
        c = self.counts
        total = c.listed if c.listing_done else None
        if total is None and c.expected is not None:
            total = max(c.expected - c.skipped, c.finished)
        if bar.total != total:
            bar.total = total
        bar.n = c.finished
        bar.set_postfix_str(
            f"{c.hdus} HDUs, {format_bytes(c.bytes)} in {c.requests} req, "
            f"{c.retries} retries, {c.failed} failed",
            refresh=False,
        )
        bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self.refresh()
            self._bar.close()
            self._bar = None

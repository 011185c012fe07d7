"""What an index run did: counts, failures, and the summary a person reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..catalog.failures import FailureEntry
from .job import RunCounts

__all__ = [
    "EXIT_FAILURES",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "IndexResult",
    "format_bytes",
    "format_duration",
]

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_INTERRUPTED = 130
SHOWN_FAILURES = 10


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
        throttled = f" ({c.throttled} throttled)" if c.throttled else ""
        return (
            f"{head}; {c.requests} requests, {format_bytes(c.bytes)} fetched, {c.retries} retries"
            f"{throttled} {verb} {format_duration(self.elapsed)} -> {self.output}"
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

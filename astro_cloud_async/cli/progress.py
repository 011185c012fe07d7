"""The live progress line of ``index``: a reporter for the index job's counts.

Strategy: the display only reads the run's counters when the job calls it, a few times a
second; nothing in the fetch path calls it. It is a tqdm bar on stderr, shown only when stderr
is a terminal (and ``--no-progress`` is not given), so logs and pipes stay clean. tqdm is
imported only when a bar is shown.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, TextIO

from ..indexing.job import RunCounts
from ..indexing.result import format_bytes

__all__ = ["Progress", "status_text"]


def status_text(c: RunCounts) -> str:
    """What the progress line says after the bar."""
    text = (
        f"{c.hdus} HDUs, {format_bytes(c.bytes)} in {c.requests} req, "
        f"{c.retries} retries, {c.failed} failed"
    )
    if c.limit is not None:
        text += f", throttled: {c.limit} per host"
    return text


class Progress:
    """A live line on stderr: objects done/total, HDUs, bytes, requests, retries, failures,
    and, while a server's throttling keeps it lowered, the per-host concurrency limit.

    Call it with a run's :class:`RunCounts` to redraw; use it as a context manager (or call
    :meth:`close`) to take the line away at the end.
    """

    def __init__(self, *, enabled: bool, stream: TextIO | None = None):
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

    def __call__(self, counts: RunCounts) -> None:
        bar = self._bar
        if bar is None:
            return
        c = counts
        total = c.listed if c.listing_done else None
        if total is None and c.expected is not None:
            total = max(c.expected - c.skipped, c.finished)
        if bar.total != total:
            bar.total = total
        bar.n = c.finished
        bar.set_postfix_str(status_text(c), refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
